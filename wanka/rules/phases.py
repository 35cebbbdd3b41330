"""Phase rules: order, dependencies, capacity; supernodes."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding, Severity, error, warning
from ..model import Cluster
from ..topology import Topology
from . import rule


@rule(
    "PHASE-CYCLE",
    "Phase dependencies have no cycle.",
    "c.yaml:160:20: error[PHASE-CYCLE]: phases depend on each other in a cycle: p1 -> p2 -> p1",
)
def cycle(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    deps = {p.name: [d for d in p.depends_on if cluster.phase(d)] for p in cluster.phases}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    reported: set[frozenset[str]] = set()

    def visit(name: str, path: list[str]) -> Iterator[Finding]:
        state[name] = 1
        for d in deps[name]:
            if state.get(d) == 1:
                loop = path[path.index(d) :] + [d] if d in path else [name, d]
                key = frozenset(loop)
                if key not in reported:
                    reported.add(key)
                    ph = cluster.phase(name)
                    assert ph is not None
                    at = ph.depends_at[ph.depends_on.index(d)] if ph.depends_at else ph.at
                    yield error(
                        "PHASE-CYCLE",
                        "phases depend on each other in a cycle: " + " -> ".join(loop),
                        at,
                        "a phase may depend only on earlier phases",
                    )
            elif state.get(d) is None:
                yield from visit(d, [*path, d])
        state[name] = 2

    for p in cluster.phases:
        if p.name not in state:
            yield from visit(p.name, [p.name])


@rule(
    "PHASE-ORDER",
    "A phase depends only on phases listed before it.",
    "c.yaml:160:20: error[PHASE-ORDER]: phase 'p1' depends on 'p2', which comes after it",
)
def order(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    index = {p.name: p.index for p in cluster.phases}
    for p in cluster.phases:
        for d, at in zip(p.depends_on, p.depends_at, strict=False):
            if d == p.name:
                yield error("PHASE-ORDER", f"phase '{p.name}' depends on itself", at)
            elif d in index and index[d] > p.index:
                # a cycle through a later phase is reported as PHASE-CYCLE
                later = cluster.phase(d)
                if later is not None and p.name not in later.depends_on:
                    yield error(
                        "PHASE-ORDER",
                        f"phase '{p.name}' depends on '{d}', which comes after it",
                        at,
                        "list phases in build order",
                    )


def phase_pflops(cluster: Cluster) -> dict[str, float]:
    """PFLOPS per phase at the cluster's precision (excluded nodes count: they are built)."""
    out = {p.name: 0.0 for p in cluster.phases}
    for n in cluster.nodes:
        acc = n.model.accelerator
        if acc is not None:
            out[n.pod.phase.name] += n.model.cards * acc.tflops.get(cluster.precision, 0) / 1000
    return out


@rule(
    "PHASE-CAPACITY",
    "A phase reaches its target PFLOPS.",
    "c.yaml:164:7: warning[PHASE-CAPACITY]: phase 'p1' gives 2,940 PFLOPS (fp16), below its target of 3,000",
    Severity.WARNING,
)
def capacity(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for key, acc in cluster.accelerators.items():
        if cluster.precision not in acc.tflops:
            yield warning(
                "PHASE-CAPACITY",
                f"accelerator '{key}' has no {cluster.precision} figure; "
                "its cards count as 0 PFLOPS",
                acc.at,
                f"add tflops.{cluster.precision} to the accelerator",
            )
    if not cluster.complete:
        return
    got = phase_pflops(cluster)
    for p in cluster.phases:
        if p.target_pflops is not None and got[p.name] < p.target_pflops:
            yield warning(
                "PHASE-CAPACITY",
                f"phase '{p.name}' gives {got[p.name]:,.0f} PFLOPS "
                f"({cluster.precision}), below its target of {p.target_pflops:,g}",
                p.at,
                "add pods, or lower the target",
            )


@rule(
    "SUPERNODE-SIZE",
    "A supernode's cards = servers x cards per server, and the pod's servers "
    "split into whole supernodes.",
    "c.yaml:120:7: error[SUPERNODE-SIZE]: pod 'sz1-p1-pod01': supernodes of 48 servers x 8 cards hold 384 cards, not 386",
)
def supernode(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    seen: set[str] = set()
    for pod in cluster.pods:
        if pod.supernode_servers is None or pod.type in seen:
            continue
        seen.add(pod.type)
        servers = [n for n in pod.nodes if n.model.role == "server"]
        per = {n.model.cards for n in servers}
        if len(per) > 1:
            yield error(
                "SUPERNODE-SIZE",
                f"pod '{pod.name}' mixes servers with {sorted(per)} cards in supernodes",
                pod.at,
            )
            continue
        cards = per.pop() if per else 0
        if pod.supernode_servers * cards != pod.supernode_cards:
            yield error(
                "SUPERNODE-SIZE",
                f"pod '{pod.name}': supernodes of {pod.supernode_servers} "
                f"servers x {cards} cards hold {pod.supernode_servers * cards} cards, not "
                f"{pod.supernode_cards}",
                pod.at,
                "fix supernode.cards or supernode.servers",
            )
        if len(servers) % pod.supernode_servers:
            yield error(
                "SUPERNODE-SIZE",
                f"pod '{pod.name}' has {len(servers)} servers, not a "
                f"multiple of {pod.supernode_servers} per supernode",
                pod.at,
                "every supernode must be whole",
            )
