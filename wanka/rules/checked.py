"""What checking one cluster file gives: `Checked`, filled in by `wanka.pipeline.check`.

Every problem is a finding: of loading and the schema (the document), of building the
model, and of the rules, which read the model and its topology. The model is built only
from a schema-valid document, so rules never see half-typed data; schema errors are
reported on their own. The reporters of `wanka validate` (`wanka.rules.output`) and the
commands after it read this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wanka.derive.topology import Topology
from wanka.findings import Finding, Severity
from wanka.language.document import Document
from wanka.model.types import Cluster


@dataclass(kw_only=True)
class Checked:
    path: str
    document: Document
    cluster: Cluster | None = None  # None: the document did not get as far as the model
    topology: Topology | None = None  # the one topology of the cluster, which rules read
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
