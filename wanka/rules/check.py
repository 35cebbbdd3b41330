"""The validation pipeline: load -> schema -> build the model -> rules.

`check(path)` never raises on bad input: every problem becomes a finding.
The model is built only from a schema-valid document, so rules never see
half-typed data; schema errors are reported on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wanka import rules
from wanka.derive.topology import Topology, compute
from wanka.findings import Finding, Severity
from wanka.language.document import Document, load_document
from wanka.language.loader import MAX_BYTES
from wanka.model.build import build
from wanka.model.types import Cluster


@dataclass
class Result:
    path: str
    document: Document
    cluster: Cluster | None = None
    topology: Topology | None = None
    findings: list[Finding] = field(default_factory=list)
    fragment: bool = False  # a ClusterFragment checked on its own: schema only

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def unreadable(self) -> bool:
        return self.document.unreadable


def check(path: str, *, max_bytes: int = MAX_BYTES) -> Result:
    doc = load_document(path, max_bytes)
    result = Result(path, doc, findings=list(doc.findings))
    if not doc.loaded or doc.findings:
        result.findings.sort(key=Finding.sort_key)
        return result
    if doc.data.get("kind") == "ClusterFragment":
        result.fragment = True  # its rules run when the cluster that includes it is checked
        return result
    cluster, found = build(doc.data, doc.files)
    result.cluster = cluster
    result.findings.extend(found)
    topology = compute(cluster)
    result.topology = topology
    result.findings.extend(rules.run(cluster, topology))
    unique = {(f.rule, f.where, f.message): f for f in result.findings}
    result.findings = sorted(unique.values(), key=Finding.sort_key)
    return result
