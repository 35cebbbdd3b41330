"""Fabric use of a plan: oversubscription per plane and tier, port use per switch model.

Oversubscription of a switch = downlink / uplink bandwidth (`topology.Load`), for switches
with uplinks. Loads and port use are those of the whole cluster: a phase-1 spine shared
with phase 2 counts phase 2's leaves too, as it will carry them.
"""

from __future__ import annotations

from collections import defaultdict

from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.model.types import TIERS, Switch
from wanka.review.capacity import Scope, in_scope, pct, rnd


def oversubscription(d: Derived, sc: Scope | None = None) -> list[Json]:
    """Per plane and tier: switches, downlink/uplink ratio range, bandwidth and port use."""
    sc = in_scope(d, sc)
    loads = d.topology.loads
    groups: dict[tuple[str, str], list[Switch]] = defaultdict(list)
    for s in sc.switches:
        groups[(s.plane.name, s.tier)].append(s)
    out: list[Json] = []
    for plane in d.cluster.planes.values():
        fab = plane.fabric
        for tier_name in TIERS:
            sws = groups.get((plane.name, tier_name))
            if not sws:
                continue
            tier = fab.tier(tier_name) if fab is not None else None
            ratios = [
                loads[s.name].down_bw / loads[s.name].up_bw for s in sws if loads[s.name].up_bw > 0
            ]
            ports = sum(s.model.ports for s in sws)
            used = sum(loads[s.name].ports_needed for s in sws)
            out.append(
                {
                    "plane": plane.name,
                    "role": plane.role,
                    "tier": tier_name,
                    "models": sorted({s.model.key for s in sws}),
                    "switches": len(sws),
                    "uplinks_per_switch": tier.uplinks if tier is not None else 0,
                    "downlink_breakout": tier.downlink_breakout if tier is not None else None,
                    "oversubscription_min": rnd(min(ratios), 3) if ratios else None,
                    "oversubscription_max": rnd(max(ratios), 3) if ratios else None,
                    "max_oversubscription": (
                        tier.max_oversubscription if tier is not None and ratios else None
                    ),
                    "down_gbps": sum(loads[s.name].down_bw for s in sws),
                    "up_gbps": sum(loads[s.name].up_bw for s in sws),
                    "ports": ports,
                    "ports_used": used,
                    "port_use_pct": pct(used, ports),
                }
            )
    return out


def port_use(d: Derived, sc: Scope | None = None) -> list[Json]:
    """Port utilisation per switch model: ports used (node ports after breakout, links from
    below, uplinks) over ports installed, with the least and most used switch."""
    sc = in_scope(d, sc)
    by_model: dict[str, list[Switch]] = defaultdict(list)
    for s in sc.switches:
        by_model[s.model.key].append(s)
    out: list[Json] = []
    for key in sorted(by_model):
        sws = by_model[key]
        m = sws[0].model
        used = [d.topology.loads[s.name].ports_needed for s in sws]
        out.append(
            {
                "model": key,
                "switches": len(sws),
                "ports_per_switch": m.ports,
                "speed_gbps": m.speed,
                "ports": m.ports * len(sws),
                "ports_used": sum(used),
                "use_pct": pct(sum(used), m.ports * len(sws)),
                "min_use_pct": pct(min(used), m.ports),
                "max_use_pct": pct(max(used), m.ports),
            }
        )
    return out
