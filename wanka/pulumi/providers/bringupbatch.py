"""BringupBatch: the Ansible bring-up of a rack's nodes (wanka.bringup.run's run_playbook);
see the package."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi import dynamic

from wanka.pulumi.providers.common import ProviderError, changed

if TYPE_CHECKING:  # (only for the types: the bring-up loads inside `create`)
    from wanka.bringup.results import RunResult

# inputs that define the batch: any change replaces it (a new bring-up run)
BATCH_INPUTS = ("cluster", "phase", "nodes", "software", "lab", "outDir")
PREPARED = ".prepared"  # under outDir: the stack's shared, prepared bring-up runs


def _summary(report: RunResult) -> dict[str, Any]:
    """The batch's verification output, from the run's result."""
    hosts = report.hosts
    counts: dict[str, int] = {}
    for h in hosts.values():
        counts[h.status] = counts.get(h.status, 0) + 1
    return {
        "ok": bool(report.ok),
        "changed": int(report.changed),
        "summary": str(report.summary),
        "hosts": {name: str(h.status) for name, h in sorted(hosts.items())},
        "counts": dict(sorted(counts.items())),
        "failed": {
            name: [f"{f.id}: {f.reason}" for f in h.failed]
            for name, h in sorted(hosts.items())
            if h.failed
        },
    }


class BringupBatchProvider(dynamic.ResourceProvider):
    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        name = str(props["batch"])
        nodes = [str(n) for n in props["nodes"]]
        out_dir = Path(str(props["outDir"])) / name
        try:
            from wanka.bringup import apart
            from wanka.bringup.options import Options
            from wanka.bringup.prepare import shared

            opts = Options(
                cluster_file=str(props["cluster"]),
                phase=str(props["phase"]),
                limit=",".join(nodes),
                lab=props.get("lab") or None,
                out_dir=out_dir,
            )
            # the stack's batches share one prepared run: rendered once, not once a rack
            prepared = shared(opts, Path(str(props["outDir"])) / PREPARED)
            # Ansible runs in a process of its own: forked from this process's gRPC
            # threads, ansible-playbook was aborted before it started (wanka.bringup.apart)
            report = apart.run(opts, prepared.render.parent)
        except Exception as e:
            raise ProviderError(f"BringupBatch {name}: the bring-up did not run: {e}") from None
        summary = _summary(report)
        missing = sorted(set(nodes) - set(summary["hosts"]))
        if not summary["ok"] or missing:
            bad = {n: s for n, s in summary["hosts"].items() if s != "ok"}
            raise ProviderError(
                f"BringupBatch {name}: bring-up failed ({summary['summary'] or bad}); "
                + (f"no report for {', '.join(missing)}; " if missing else "")
                + f"report in {out_dir}"
            )
        return dynamic.CreateResult(id_=name, outs={**props, "verification": summary})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        names = changed(olds, news, BATCH_INPUTS)
        # `after` (what the batch waits for) orders the run and never replaces it
        return dynamic.DiffResult(changes=bool(names), replaces=names, stables=["batch"])

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        return dynamic.ReadResult(id_=id_, outs=props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """A bring-up cannot be undone: deleting the batch only forgets it."""


class BringupBatch(dynamic.Resource, module="wanka", name="BringupBatch"):
    """The Ansible bring-up of a batch of nodes; exports their verification summary."""

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(BringupBatchProvider(), name, {**props, "verification": None}, opts)
