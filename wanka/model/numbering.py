"""Numbers given while the model is built: RFC 7938 ASNs and the rails a leaf serves.

Every leaf has its own ASN; the spines of one group share one (all spines of the
scope, or one rail's share of per-rail spines); the cores of a scope share one.
ASNs are handed out per phase from `asn_base + phase * asns_per_phase`, in the
order the switches are built (slot order), so a new phase, or a pod given the
next free slot, never renumbers an old one; a retired pod keeps its ASNs.
A pinned ASN (the manifest's `asn`) wins.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from wanka.model.types import Bgp, Plane, Pod, SwitchFacts

PlaneTier = tuple[str, str]  # (plane name, tier)


def type_totals(ptype: Mapping[str, Any]) -> Counter[PlaneTier]:
    """Switches per (plane, tier) in one pod of this type."""
    totals: Counter[PlaneTier] = Counter()
    for g in ptype["racks"]:
        for s in g.get("switches", []):
            totals[(s["plane"], s["tier"])] += s["count"] * g.get("count", 1)
    return totals


def asn_group(scope: str, plane: Plane, tier: str, ordinal: int, total: int) -> tuple[Any, ...]:
    """Switches with the same key share an ASN (RFC 7938): every leaf alone; the spines of one
    group together (all spines of the scope, or one rail's share of per-rail spines); the cores
    of the scope together. The scope is the pod for pod-local spines (3 tiers), and the phase
    for the spines and cores of its network pods, which its leaves reach as one set."""
    fab = plane.fabric
    if tier == "leaf":
        return ("leaf", scope, plane.name, ordinal)
    if tier == "spine" and fab is not None and fab.tiers == 2 and fab.spine_groups == "per_rail":
        rails = fab.rails or 1
        return ("spine", scope, plane.name, ordinal * rails // max(total, 1))
    return (tier, scope, plane.name)


def switch_rails(plane: Plane, tier: str, ordinal: int, leaves: int) -> tuple[int, ...]:
    """Rails a switch serves: those of a leaf of a rail-optimised fabric, else none."""
    fab = plane.fabric
    if tier != "leaf" or fab is None or not fab.rail_optimised or not fab.rails or leaves == 0:
        return ()
    return leaf_rails(ordinal, leaves, fab.rails)


def leaf_rails(ordinal: int, leaves: int, rails: int) -> tuple[int, ...]:
    """Rails leaf `ordinal` of a pod's `leaves` serves: leaf j of L serves rail j mod R
    (L >= R), or the j-th block of R/L rails (L < R; none when R/L is not whole)."""
    if leaves >= rails:
        return (ordinal % rails,)
    per = rails // leaves if rails % leaves == 0 else 0
    if per == 0:
        return ()
    return tuple(range(ordinal * per, (ordinal + 1) * per))


class AsnNumbering:
    """The ASNs of a cluster's switches, handed out in build order (one per cluster build)."""

    def __init__(self, bgp: Bgp | None) -> None:
        self.bgp = bgp
        self.next_in_phase: defaultdict[int, int] = defaultdict(int)
        self.shared: dict[tuple[Any, ...], int] = {}  # ASN of each group
        # spines and cores of each phase's network pods, counted across those pods
        self.scope_total: Counter[tuple[str, str, str]] = Counter()  # (phase, plane, tier)
        self.scope_ordinal: Counter[tuple[str, str, str]] = Counter()

    def start(
        self, pod_types: Mapping[str, Any], phases: Iterable[tuple[str, Iterable[Any]]]
    ) -> None:
        """Count every phase's spines and cores in network pods (pods without leaves of their
        plane): the leaves of a phase reach them as one set, so their ASN groups are numbered
        across those pods (`asn_group`), the way topology groups them. Counted up front, for
        pods are built in slot order, which may interleave phases."""
        for phase, placements in phases:
            for placement in placements:
                ptype = pod_types.get(placement["type"])
                if ptype is None:
                    continue
                totals = type_totals(ptype)
                for (plane, tier), n in totals.items():
                    if tier != "leaf" and not totals[(plane, "leaf")]:
                        self.scope_total[(phase, plane, tier)] += n * placement.get("count", 1)

    def group(
        self, pod: Pod, plane: Plane, tier: str, ordinal: int, totals: Counter[PlaneTier]
    ) -> tuple[Any, ...]:
        """The ASN group of the next switch of `pod` (its `ordinal` among the pod's)."""
        key = (plane.name, tier)
        if tier != "leaf" and not totals[(plane.name, "leaf")]:
            # a network pod: numbered per phase
            scope = (pod.phase.name, plane.name, tier)
            scope_ordinal = self.scope_ordinal[scope]
            self.scope_ordinal[scope] += 1
            return asn_group(
                f"{pod.phase.name}/", plane, tier, scope_ordinal, self.scope_total[scope]
            )
        return asn_group(pod.name, plane, tier, ordinal, totals[key])

    def asn(
        self, pod: Pod, plane: Plane, group: tuple[Any, ...], facts: SwitchFacts | None
    ) -> int | None:
        """RFC 7938 numbering: a leaf has its own ASN; a spine group shares one; so do cores."""
        if facts is not None and facts.asn is not None:
            return facts.asn
        if self.bgp is None or plane.fabric is None or plane.fabric.tiers < 2:
            return None
        phase = pod.phase.index
        if group not in self.shared:
            self.shared[group] = (
                self.bgp.asn_base + phase * self.bgp.asns_per_phase + self.next_in_phase[phase]
            )
            self.next_in_phase[phase] += 1
        return self.shared[group]
