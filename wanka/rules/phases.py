"""Phase rules: order, dependencies, capacity; supernodes."""

from __future__ import annotations

from collections.abc import Iterator

from wanka.derive.topology import Topology
from wanka.findings import Finding, Mark, Severity, error, listed, warning
from wanka.model.types import Cluster, Pod
from wanka.rules import rule


def _path(deps: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    """A dependency path start -> ... -> goal, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        if name == goal:
            return path
        if name in seen:
            continue
        seen.add(name)
        stack.extend((d, [*path, d]) for d in deps.get(name, []))
    return None


def _forward_edges(cluster: Cluster) -> Iterator[tuple[str, str, Mark, list[str] | None]]:
    """(phase, dependency, mark, cycle) for every dependency on the phase itself or a later
    one; `cycle` is the loop it closes (p -> d -> ... -> p), or None."""
    index = {p.name: p.index for p in cluster.phases}
    deps = {p.name: [d for d in p.depends_on if d in index] for p in cluster.phases}
    for p in cluster.phases:
        for d, at in zip(p.depends_on, p.depends_at, strict=False):
            if d in index and index[d] >= p.index:
                back = [p.name] if d == p.name else _path(deps, d, p.name)
                yield p.name, d, at, ([p.name, *back] if back else None)


@rule(
    "PHASE-CYCLE",
    "Phase dependencies have no cycle (reported at the dependency on a later phase).",
    "c.yaml:160:20: error[PHASE-CYCLE]: phases depend on each other in a cycle: p1 -> p2 -> p1",
)
def cycle(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    reported: set[frozenset[str]] = set()
    for name, dep, at, loop in _forward_edges(cluster):
        if loop is None or frozenset(loop) in reported:
            continue
        reported.add(frozenset(loop))
        yield error(
            "PHASE-CYCLE",
            "phases depend on each other in a cycle: " + " -> ".join(loop),
            at,
            f"phase '{name}' may depend only on phases before it; remove '{dep}'",
        )


@rule(
    "PHASE-ORDER",
    "A phase depends only on phases listed before it.",
    "c.yaml:160:20: error[PHASE-ORDER]: phase 'p1' depends on 'p2', which comes after it",
)
def order(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for name, dep, at, loop in _forward_edges(cluster):
        if loop is None:  # a cycle is PHASE-CYCLE
            yield error(
                "PHASE-ORDER",
                f"phase '{name}' depends on '{dep}', which comes after it",
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
    "c.yaml:120:7: error[SUPERNODE-SIZE]: pods of type a3-sn 'sz1-p1-pod01', 'sz1-p1-pod02', 'sz1-p1-pod03' (and 9 more): supernodes of 48 servers x 8 cards hold 384 cards, not 386",
)
def supernode(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    of_type: dict[str, list[Pod]] = {}
    for pod in cluster.pods:
        if pod.supernode_servers is not None:
            of_type.setdefault(pod.type, []).append(pod)
    for pods in of_type.values():
        yield from _supernode(pods)


def _supernode(pods: list[Pod]) -> Iterator[Finding]:
    """The supernodes of a pod type, checked on its first pod, reported for all of its pods."""
    pod = pods[0]
    assert pod.supernode_servers is not None
    many = len(pods) > 1
    who = (
        f"pods of type {pod.type} {listed([p.name for p in pods])}"
        if many
        else f"pod '{pod.name}' (type {pod.type})"
    )
    servers = [n for n in pod.nodes if n.model.role == "server"]
    per = {n.model.cards for n in servers}
    if len(per) > 1:
        yield error(
            "SUPERNODE-SIZE",
            f"{who} {'mix' if many else 'mixes'} servers with {sorted(per)} cards in supernodes",
            pod.supernode_at or pod.at,
        )
        return
    cards = per.pop() if per else 0
    if pod.supernode_servers * cards != pod.supernode_cards:
        yield error(
            "SUPERNODE-SIZE",
            f"{who}: supernodes of {pod.supernode_servers} "
            f"servers x {cards} cards hold {pod.supernode_servers * cards} cards, not "
            f"{pod.supernode_cards}",
            pod.supernode_at or pod.at,
            "fix supernode.cards or supernode.servers",
        )
    if len(servers) % pod.supernode_servers:
        yield error(
            "SUPERNODE-SIZE",
            f"{who} {'have' if many else 'has'} {len(servers)} servers{' each' if many else ''}, "
            f"not a multiple of {pod.supernode_servers} per supernode",
            pod.supernode_at or pod.at,
            "every supernode must be whole",
        )
