"""Capacity of a plan: its scope (the cluster, or one phase) and compute and storage per phase.

The figures a plan reports are pure functions over a `Derived` bundle (optionally
restricted to one phase by a `Scope`), returning plain dicts and lists that serialise to
JSON as they are: capacity here, rack power and cooling in `power`, fabric use in
`fabricuse`, the bill of materials in `bom`, ASNs, loopbacks and subnets in `addressplan`.
Ordering is deterministic: phases, pods, racks, planes and switches in model order;
catalog items by name; tiers leaf, spine, core.

Units and conventions:
* PFLOPS at the cluster's precision: cards x TFLOPS / 1000 (`rules.phases.phase_pflops`,
  the figure validation checks targets with). Excluded nodes count: they are built.
* HBM and storage in decimal TB (GB / 1000), as vendors quote them.
* Power in kW (`power`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from wanka.derive.bundle import Derived
from wanka.derive.cabling import Cable
from wanka.jsonfmt import Json
from wanka.model.types import TIERS, Node, Phase, Pod, Rack, Switch
from wanka.rules.phases import phase_pflops
from wanka.rules.racks import rack_draw

ROLES = ("server", "host", "storage")


def rnd(x: float, digits: int = 2) -> float:
    """Round for output; never -0.0."""
    return round(x, digits) + 0.0


def pct(part: float, whole: float) -> float | None:
    return rnd(100 * part / whole, 1) if whole else None


# ---- scope -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """What a plan covers: the whole cluster, or one phase's pods and everything in them.

    A cable belongs to a phase when either of its ends does (phase 2's uplinks to the
    phase-1 spines are in both phases' plans).
    """

    phase: str | None
    phases: tuple[Phase, ...]
    pods: tuple[Pod, ...]
    racks: tuple[Rack, ...]
    nodes: tuple[Node, ...]
    switches: tuple[Switch, ...]
    cables: tuple[Cable, ...]
    devices: frozenset[str]  # names of the nodes and switches in scope


def scope(d: Derived, phase: str | None = None) -> Scope:
    """The scope of a plan; UnknownPhase (a ValueError naming the phases) for an unknown one."""
    c = d.cluster
    if phase is None:
        return Scope(
            None,
            tuple(c.phases),
            tuple(c.pods),
            tuple(c.racks),
            tuple(c.nodes),
            tuple(c.switches),
            tuple(d.cabling.cables),
            frozenset([n.name for n in c.nodes] + [s.name for s in c.switches]),
        )
    ph = c.require_phase(phase)
    pods = tuple(p for p in c.pods if p.phase is ph)
    racks = tuple(r for p in pods for r in p.racks)
    nodes = tuple(n for p in pods for n in p.nodes)
    switches = tuple(s for p in pods for s in p.switches)
    devices = frozenset([n.name for n in nodes] + [s.name for s in switches])
    cables = tuple(
        cb for cb in d.cabling.cables if cb.a.device in devices or cb.b.device in devices
    )
    return Scope(phase, (ph,), pods, racks, nodes, switches, cables, devices)


def in_scope(d: Derived, sc: Scope | None) -> Scope:
    """`sc`, or the whole cluster when there is none."""
    return sc if sc is not None else scope(d)


# ---- compute -----------------------------------------------------------------------------


def _cards(nodes: Iterable[Node]) -> tuple[int, int, float]:
    """(cards, dies, HBM GB) of some nodes."""
    cards = dies = 0
    hbm = 0.0
    for n in nodes:
        acc = n.model.accelerator
        if acc is not None:
            cards += n.model.cards
            dies += n.model.cards * acc.dies
            hbm += n.model.cards * acc.hbm_gb
    return cards, dies, hbm


def _node_pflops(n: Node, precision: str) -> float:
    acc = n.model.accelerator
    return n.model.cards * acc.tflops.get(precision, 0) / 1000 if acc is not None else 0.0


def phases(d: Derived, sc: Scope | None = None) -> list[Json]:
    """Per phase: status, target and achieved PFLOPS, cards, nodes, switches, racks, power."""
    sc = in_scope(d, sc)
    c = d.cluster
    achieved = phase_pflops(c)
    out: list[Json] = []
    for ph in sc.phases:
        pods = [p for p in sc.pods if p.phase is ph]
        nodes = [n for p in pods for n in p.nodes]
        racks = [r for p in pods for r in p.racks]
        switches = [s for p in pods for s in p.switches]
        cards, dies, hbm = _cards(nodes)
        roles = Counter(n.model.role for n in nodes)
        got = achieved.get(ph.name, 0.0)
        excluded = [n for n in nodes if n.excluded]
        lost = sum(_node_pflops(n, c.precision) for n in excluded)
        per_tier = Counter((s.plane.name, s.tier) for s in switches)
        nom = mx = 0.0
        for r in racks:
            w = rack_draw(r)
            nom += w[0]
            mx += w[1]
        target = float(ph.target_pflops) if ph.target_pflops is not None else None
        supernodes = sum(
            sum(1 for n in p.nodes if n.model.role == "server") // p.supernode_servers
            for p in pods
            if p.supernode_servers
        )
        out.append(
            {
                "name": ph.name,
                "index": ph.index,
                "status": ph.status,
                "depends_on": list(ph.depends_on),
                "precision": c.precision,
                "target_pflops": target,
                "achieved_pflops": rnd(got, 3),
                "margin_pflops": rnd(got - target, 3) if target is not None else None,
                "margin_pct": pct(got - target, target) if target else None,
                "meets_target": got >= target if target is not None else None,
                "available_pflops": rnd(got - lost, 3),
                "pods": len(pods),
                "supernodes": supernodes,
                "cards": cards,
                "dies": dies,
                "hbm_tb": rnd(hbm / 1000, 3),
                "servers": roles["server"],
                "hosts": roles["host"],
                "storage_nodes": roles["storage"],
                "switches": [
                    {"plane": plane, "tier": tier, "count": per_tier[(plane, tier)]}
                    for plane in c.planes
                    for tier in TIERS
                    if per_tier[(plane, tier)]
                ],
                "racks": dict(sorted(Counter(r.type.key for r in racks).items())),
                "rack_count": len(racks),
                "excluded": [
                    {
                        "node": n.name,
                        "reason": n.facts.excluded if n.facts else None,
                        "cards": n.model.cards,
                    }
                    for n in excluded
                ],
                "it_nominal_kw": rnd(nom / 1000),
                "it_max_kw": rnd(mx / 1000),
            }
        )
    return out


def storage(d: Derived, sc: Scope | None = None) -> Json:
    """Raw capacity of the storage nodes (their drives with use 'storage'), and, apart from it,
    the nodes' local data drives (use 'data')."""
    sc = in_scope(d, sc)
    raw_gb = local_gb = 0.0
    drives = local_drives = 0
    nodes = Counter[str]()
    for n in sc.nodes:
        for dr in n.model.drives:
            if n.model.role == "storage" and dr.use == "storage":
                raw_gb += dr.count * dr.capacity_gb
                drives += dr.count
                nodes[n.model.key] += 1
            elif dr.use == "data":
                local_gb += dr.count * dr.capacity_gb
                local_drives += dr.count
    return {
        "storage_nodes": sum(1 for n in sc.nodes if n.model.role == "storage"),
        "raw_tb": rnd(raw_gb / 1000, 3),
        "raw_pb": rnd(raw_gb / 1e6, 3),
        "drives": drives,
        "by_model": dict(sorted(nodes.items())),
        "node_local_data_tb": rnd(local_gb / 1000, 3),
        "node_local_data_drives": local_drives,
    }
