"""Bill of materials of a plan: nodes, switches and racks by model, cables, optics.

* Cables are counted physically: the lanes of a breakout share a `Cable.id`.
* Optics (transceivers) are counted on fibre (MMF, SMF) only: AOCs have theirs built in,
  DAC and CAT6 need none. See `OPTICS`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from wanka.derive.bundle import Derived
from wanka.derive.cabling import Cable
from wanka.jsonfmt import Json
from wanka.model.types import Node, breakout_lanes
from wanka.review.capacity import ROLES, Scope, in_scope, rnd

MEDIA = ("CAT6", "DAC", "AOC", "MMF", "SMF")  # cheapest first; a breakout takes its worst lane
_MEDIA_RANK = {m: i for i, m in enumerate(MEDIA)}
FIBRE = ("MMF", "SMF")

# Transceiver per (port speed Gb/s, fibre). MMF runs here are at most 100 m (OM4), SMF
# runs 300 m (between halls): short-reach parallel optics on MMF, 500 m-2 km parallel or
# CWDM optics on SMF. Breakout lanes use the lane-speed module of the same family
# (an 800G DR8 splits into 2 x 400G DR4, an 800G SR8 into 2 x 400G SR4).
OPTICS: dict[tuple[int, str], str] = {
    (800, "MMF"): "800G SR8",
    (800, "SMF"): "800G DR8",
    (400, "MMF"): "400G SR4",
    (400, "SMF"): "400G DR4",
    (200, "MMF"): "200G SR4",
    (200, "SMF"): "200G FR4",
    (100, "MMF"): "100G SR4",
    (100, "SMF"): "100G DR",
    (50, "MMF"): "50G SR",
    (50, "SMF"): "50G LR",
    (25, "MMF"): "25G SR",
    (25, "SMF"): "25G LR",
    (10, "MMF"): "10G SR",
    (10, "SMF"): "10G LR",
    (1, "MMF"): "1G SX",
    (1, "SMF"): "1G LX",
}


def optic_name(speed: int, media: str) -> str:
    """The transceiver for a port of `speed` Gb/s on `media` (MMF or SMF)."""
    return OPTICS.get((speed, media), f"{speed}G {'SR' if media == 'MMF' else 'LR'}")


def _port_speed(cb: Cable) -> int:
    """Speed of the b-end (switch) port: the whole port for a breakout."""
    if cb.breakout:
        lanes, lane = breakout_lanes(cb.breakout)
        return lanes * lane
    return cb.speed


def physical_cables(cables: Iterable[Cable]) -> dict[str, list[Cable]]:
    """Cable id -> its lanes (one for a plain cable), in cabling order."""
    out: dict[str, list[Cable]] = {}
    for cb in cables:
        lanes = out.get(cb.id)
        if lanes is None:
            out[cb.id] = [cb]
        else:
            lanes.append(cb)
    return out


def bom(d: Derived, sc: Scope | None = None) -> Json:
    """Bill of materials: nodes, switches and racks by model, physical cables by media, speed
    and length class, and optics."""
    sc = in_scope(d, sc)
    cables, optics, cross = _count_cables(sc)
    totals: Json = {
        "nodes": len(sc.nodes),
        "switches": len(sc.switches),
        "racks": len(sc.racks),
        "cables": sum(cables.values()),
        "cable_lanes": len(sc.cables),
        "optics": sum(optics.values()),
    }
    if sc.phase is not None:
        totals["cables_shared_with_other_phases"] = cross
    return {
        "nodes": _node_rows(sc),
        "switches": _switch_rows(d, sc),
        "racks": _rack_rows(d, sc),
        "cables": _cable_rows(cables),
        "optics": _optic_rows(optics),
        "totals": totals,
    }


def _node_rows(sc: Scope) -> list[Json]:
    """Nodes by role, then model name."""
    nodes: dict[str, list[Node]] = defaultdict(list)
    for n in sc.nodes:
        nodes[n.model.key].append(n)
    rows: list[Json] = []
    for role in ROLES:
        for key in sorted(k for k, ns in nodes.items() if ns[0].model.role == role):
            m = nodes[key][0].model
            acc = m.accelerator
            rows.append(
                {
                    "role": role,
                    "model": key,
                    "description": m.description,
                    "cpu": f"{m.cpu.vendor} {m.cpu.model}",
                    "accelerator": acc.key if acc is not None else None,
                    "cards_per_node": m.cards,
                    "count": len(nodes[key]),
                    "excluded": sum(1 for n in nodes[key] if n.excluded),
                }
            )
    return rows


def _switch_rows(d: Derived, sc: Scope) -> list[Json]:
    count = Counter(s.model.key for s in sc.switches)
    return [
        {
            "model": key,
            "ports": d.cluster.switch_models[key].ports,
            "speed_gbps": d.cluster.switch_models[key].speed,
            "count": count[key],
        }
        for key in sorted(count)
    ]


def _rack_rows(d: Derived, sc: Scope) -> list[Json]:
    count = Counter(r.type.key for r in sc.racks)
    return [
        {
            "type": key,
            "units": d.cluster.rack_types[key].units,
            "feed_kw": rnd(d.cluster.rack_types[key].power_kw),
            "count": count[key],
        }
        for key in sorted(count)
    ]


CableClass = tuple[int, int, str | None, int]  # media rank, port speed, breakout, length m


def _count_cables(sc: Scope) -> tuple[Counter[CableClass], Counter[tuple[int, str]], int]:
    """Physical cables per class, optics per (speed, name), and the cables in scope that
    reach out of the phase."""
    cables: Counter[CableClass] = Counter()
    optics: Counter[tuple[int, str]] = Counter()
    cross = 0
    for lanes in physical_cables(sc.cables).values():
        first = lanes[0]
        media, length = first.media, first.length_m
        if len(lanes) > 1:  # one cable: the longest run, the media it needs
            media = max((cb.media for cb in lanes), key=_media_rank)
            length = max(cb.length_m for cb in lanes)
        speed = _port_speed(first)
        cables[(_media_rank(media), speed, first.breakout, length)] += 1
        if sc.phase is not None and not all(
            cb.a.device in sc.devices and cb.b.device in sc.devices for cb in lanes
        ):
            cross += 1
        if media in FIBRE:
            if first.breakout:  # the switch's port, then one per lane on the nodes' side
                optics[(speed, optic_name(speed, media))] += 1
                for cb in lanes:
                    optics[(cb.speed, optic_name(cb.speed, media))] += 1
            else:
                optics[(speed, optic_name(speed, media))] += 2
    return cables, optics, cross


def _cable_rows(cables: Counter[CableClass]) -> list[Json]:
    return [
        {
            "media": MEDIA[rank] if 0 <= rank < len(MEDIA) else "?",
            "speed_gbps": speed,
            "breakout": bo,
            "length_m": length,
            "count": n,
        }
        for (rank, speed, bo, length), n in sorted(cables.items(), key=_cable_order)
    ]


def _optic_rows(optics: Counter[tuple[int, str]]) -> list[Json]:
    """Optics, fastest first, then by name."""
    return [
        {"optic": name, "speed_gbps": speed, "count": n}
        for (speed, name), n in sorted(optics.items(), key=lambda kv: (-kv[0][0], kv[0][1]))
    ]


def _media_rank(media: str) -> int:
    return _MEDIA_RANK.get(media, len(MEDIA))


def _cable_order(kv: tuple[CableClass, int]) -> tuple[int, int, str, int]:
    (rank, speed, bo, length), _ = kv
    return (rank, -speed, bo or "", length)
