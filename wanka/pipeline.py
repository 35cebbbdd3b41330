"""One way in: check (load, schema, model, topology, rules) then derive a cluster file, for every
command and stage after.

`open_cluster(path, phase=...)` is what `wanka plan`, `render`, `report`, `diff`, bring-up,
the lab and the Pulumi stacks call: it returns the `Derived` bundle of a valid cluster, or
raises `NotValid` carrying every finding (and whether the file was unreadable), or
`UnknownPhase` (from the model's one phase lookup) for a phase the cluster does not have.
Callers decide how to print: `NotValid.lines()` gives them, with "(and N more)" when cut.

`check(path)` is the validation half, all `wanka validate` runs: load -> schema -> build
the model -> its topology -> rules. It never raises on bad input: every problem becomes a
finding of the `Checked` it returns. The topology is derived here once, handed to the rules
and kept for `derive`, which adds the rest (addresses, cabling) for a valid cluster.
"""

from __future__ import annotations

from wanka import rules
from wanka.derive.addresses import allocate
from wanka.derive.bundle import Derived
from wanka.derive.cabling import derive as derive_cabling
from wanka.derive.topology import compute
from wanka.findings import Finding, unique
from wanka.language.document import load_document
from wanka.language.loader import MAX_BYTES
from wanka.model.build import build
from wanka.model.types import UnknownPhase
from wanka.rules.checked import Checked
from wanka.rules.output import line

__all__ = ["Checked", "Derived", "NotValid", "UnknownPhase", "check", "derive", "open_cluster"]


def check(path: str, *, max_bytes: int = MAX_BYTES) -> Checked:
    """Every problem of the cluster file at `path`, and what was made of it on the way."""
    doc = load_document(path, max_bytes)
    checked = Checked(path=path, document=doc, findings=list(doc.findings))
    if not doc.loaded or doc.findings:
        checked.findings.sort(key=Finding.sort_key)
        return checked
    if doc.data.get("kind") == "ClusterFragment":
        checked.fragment = True  # its rules run when the cluster that includes it is checked
        return checked
    cluster, found = build(doc.data, doc.files)
    topology = compute(cluster)
    checked.cluster, checked.topology = cluster, topology
    checked.findings.extend(found)
    checked.findings.extend(rules.run(cluster, topology))
    checked.findings = sorted(unique(checked.findings), key=Finding.sort_key)
    return checked


class NotValid(Exception):
    """The cluster has errors: nothing is derived from an invalid model.

    `findings` are the errors (of validation, or of deriving when a valid model still could
    not be allocated); `unreadable` is true when the file itself could not be read (exit 2
    rather than 1); `fragment` when the file is a ClusterFragment, checked only as a part."""

    def __init__(self, result: Checked, findings: list[Finding]) -> None:
        self.result = result
        self.findings = findings
        self.path = result.path
        self.unreadable = result.unreadable
        self.fragment = result.fragment
        first = line(findings[0]) if findings else "a ClusterFragment, not a cluster"
        super().__init__(f"{result.path} is not a valid cluster: {first}")

    def lines(self, limit: int | None = None, *, verb: str = "use") -> list[str]:
        """One `file:line:col: error[RULE]: message` line per finding; at most `limit` of them
        and then one line saying how many more there are, so nothing is cut silently. For a
        fragment, a last line: "PATH: a ClusterFragment: VERB the cluster file that includes
        it" (a command passes its own name: "diff the cluster file ...")."""
        shown = self.findings if limit is None else self.findings[:limit]
        out = [line(f) for f in shown]
        if len(self.findings) > len(shown):
            out.append(f"(and {len(self.findings) - len(shown)} more)")
        if self.fragment:
            out.append(f"{self.path}: a ClusterFragment: {verb} the cluster file that includes it")
        return out


def derive(result: Checked) -> Derived:
    """The derived bundle of a checked, valid file; NotValid if it has errors."""
    if result.fragment or result.errors or result.cluster is None or result.topology is None:
        raise NotValid(result, result.errors)
    cluster, topo = result.cluster, result.topology
    derived = Derived(
        cluster,
        topo,
        allocate(cluster, topo),
        derive_cabling(cluster, topo),
        list(result.warnings),
    )
    if derived.findings:
        raise NotValid(result, derived.findings)
    return derived


def open_cluster(path: str, *, phase: str | None = None, max_bytes: int = MAX_BYTES) -> Derived:
    """Load, validate and derive `path`; with `phase`, also check the cluster has it."""
    derived = derive(check(path, max_bytes=max_bytes))
    if phase is not None:
        derived.cluster.require_phase(phase)
    return derived
