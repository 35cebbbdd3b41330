"""Capacity, power, fabric and bill of materials: the figures a plan reports.

Pure functions over a `Derived` bundle (optionally restricted to one phase by a
`Scope`), returning plain dicts and lists that serialise to JSON as they are.
Ordering is deterministic: phases, pods, racks, planes and switches in model
order; catalog items by name; tiers leaf, spine, core.

Units and conventions:
* PFLOPS at the cluster's precision: cards x TFLOPS / 1000 (`rules.phases.phase_pflops`,
  the figure validation checks targets with). Excluded nodes count: they are built.
* HBM and storage in decimal TB (GB / 1000), as vendors quote them.
* Power and heat in kW from `rules.racks.rack_draw` (the arithmetic the rack rules use):
  nominal and max draw of every node and switch, heat split by each model's liquid share.
  IT power is the sum over racks; PUE = facility power / IT power (nominal).
* Oversubscription of a switch = downlink / uplink bandwidth (`topology.Load`), for switches
  with uplinks. Loads and port use are those of the whole cluster: a phase-1 spine shared
  with phase 2 counts phase 2's leaves too, as it will carry them.
* Cables are counted physically: the lanes of a breakout share a `Cable.id`.
* Optics (transceivers) are counted on fibre (MMF, SMF) only: AOCs have theirs built in,
  DAC and CAT6 need none. See `OPTICS`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wanka.derive.bundle import Derived
from wanka.derive.cabling import Cable
from wanka.jsonfmt import Json
from wanka.model.types import TIERS, Node, Phase, Pod, Rack, Switch, breakout_lanes
from wanka.rules.phases import phase_pflops
from wanka.rules.racks import rack_draw

ROLES = ("server", "host", "storage")
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
    """The scope of a plan; ValueError (naming the phases) for an unknown phase."""
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
    ph = c.phase(phase)
    if ph is None:
        names = ", ".join(p.name for p in c.phases)
        raise ValueError(f"unknown phase '{phase}' (phases: {names})")
    pods = tuple(p for p in c.pods if p.phase is ph)
    racks = tuple(r for p in pods for r in p.racks)
    nodes = tuple(n for p in pods for n in p.nodes)
    switches = tuple(s for p in pods for s in p.switches)
    devices = frozenset([n.name for n in nodes] + [s.name for s in switches])
    cables = tuple(
        cb for cb in d.cabling.cables if cb.a.device in devices or cb.b.device in devices
    )
    return Scope(phase, (ph,), pods, racks, nodes, switches, cables, devices)


def _scope(d: Derived, sc: Scope | None) -> Scope:
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
    sc = _scope(d, sc)
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


def racks(d: Derived, sc: Scope | None = None) -> list[Json]:
    """Power and cooling of every rack: draw, feed, headroom, heat vs capacity."""
    sc = _scope(d, sc)
    out: list[Json] = []
    for r in sc.racks:
        nom, mx, liq, air, liq_max, air_max = (w / 1000 for w in rack_draw(r))
        t = r.type
        out.append(
            {
                "name": r.name,
                "type": t.key,
                "phase": r.pod.phase.name,
                "pod": r.pod.name,
                "role": r.role,
                "hall": r.pod.hall,
                "row": r.pod.row,
                "position": r.position,
                "nodes": len(r.nodes),
                "switches": len(r.switches),
                "units_used": sum(n.model.rack_units for n in r.nodes)
                + sum(s.model.rack_units for s in r.switches),
                "units": t.units,
                "nominal_kw": rnd(nom),
                "max_kw": rnd(mx),
                "feed_kw": rnd(t.power_kw),
                "headroom_kw": rnd(t.power_kw - nom),
                "headroom_pct": pct(t.power_kw - nom, t.power_kw),
                "max_headroom_kw": rnd(t.power_kw - mx),
                "liquid_kw": rnd(liq),
                "liquid_max_kw": rnd(liq_max),
                "liquid_capacity_kw": rnd(t.liquid_kw),
                "liquid_use_pct": pct(liq, t.liquid_kw),
                "air_kw": rnd(air),
                "air_max_kw": rnd(air_max),
                "air_capacity_kw": rnd(t.air_kw),
                "air_use_pct": pct(air, t.air_kw),
            }
        )
    return out


def _num(x: object) -> float:
    return float(x) if isinstance(x, int | float) else 0.0


def _over(heat: object, cap: object) -> bool:
    return _num(heat) > _num(cap) + 1e-9


_PROFILE = (
    "type",
    "nominal_kw",
    "max_kw",
    "feed_kw",
    "headroom_kw",
    "headroom_pct",
    "max_headroom_kw",
    "liquid_kw",
    "liquid_capacity_kw",
    "air_kw",
    "air_capacity_kw",
)


def rack_summary(rack_list: list[Json], worst: int = 5) -> Json:
    """Racks per type with their tightest figures, and the racks with the least power headroom.

    Racks with identical figures (the same contents in the same rack type) are listed once,
    with how many share them.
    """
    by_type: dict[str, list[Json]] = defaultdict(list)
    for r in rack_list:
        by_type[str(r["type"])].append(r)
    types: list[Json] = []
    for type_key in sorted(by_type):
        rs = by_type[type_key]
        tight = min(rs, key=lambda r: _num(r["headroom_kw"]))
        types.append(
            {
                "type": type_key,
                "racks": len(rs),
                "feed_kw": rs[0]["feed_kw"],
                "nominal_kw": rnd(sum(_num(r["nominal_kw"]) for r in rs)),
                "max_kw": rnd(sum(_num(r["max_kw"]) for r in rs)),
                "peak_rack_nominal_kw": max(_num(r["nominal_kw"]) for r in rs),
                "peak_rack_max_kw": max(_num(r["max_kw"]) for r in rs),
                "min_headroom_kw": tight["headroom_kw"],
                "min_headroom_pct": tight["headroom_pct"],
                "min_headroom_rack": tight["name"],
                "peak_liquid_use_pct": max(
                    (_num(r["liquid_use_pct"]) for r in rs if r["liquid_use_pct"] is not None),
                    default=None,
                ),
                "peak_air_use_pct": max(
                    (_num(r["air_use_pct"]) for r in rs if r["air_use_pct"] is not None),
                    default=None,
                ),
                "over_feed_at_max": sum(1 for r in rs if _num(r["max_headroom_kw"]) < 0),
                "over_cooling_at_max": sum(
                    1
                    for r in rs
                    if _over(r["liquid_max_kw"], r["liquid_capacity_kw"])
                    or _over(r["air_max_kw"], r["air_capacity_kw"])
                ),
            }
        )
    profiles: dict[tuple[Any, ...], Json] = {}
    for r in rack_list:
        key = tuple(r[f] for f in ("type", "nominal_kw", "max_kw", "liquid_kw", "air_kw"))
        if key in profiles:
            profiles[key]["like"] += 1
        else:
            profiles[key] = {"rack": r["name"], "like": 1} | {f: r[f] for f in _PROFILE}
    # stable sort: racks with equal headroom stay in model order
    ranked = sorted(profiles.values(), key=lambda p: _num(p["headroom_pct"]))
    tightest = ranked[:worst]
    return {"racks": len(rack_list), "by_type": types, "tightest": tightest}


def it_power(d: Derived, sc: Scope | None = None) -> Json:
    """IT power per phase and in total: what PUE is computed against (PUE = facility / IT)."""
    sc = _scope(d, sc)
    rows: list[Json] = []
    total = [0.0] * 5
    for ph in sc.phases:
        acc = [0.0] * 5  # nominal, max, liquid, air, feed
        for r in sc.racks:
            if r.pod.phase is not ph:
                continue
            nom, mx, liq, air, _, _ = rack_draw(r)
            for i, v in enumerate((nom / 1000, mx / 1000, liq / 1000, air / 1000, r.type.power_kw)):
                acc[i] += v
        total = [a + b for a, b in zip(total, acc, strict=True)]
        rows.append(_power_row(ph.name, acc))
    return {
        "phases": rows,
        "total": _power_row(None, total),
        "pue_it_kw": rnd(total[0]),
        "pue_basis": "PUE = facility power / IT power; IT power is the nominal draw of every "
        "node and switch (excluded nodes included)",
    }


def _power_row(name: str | None, v: list[float]) -> Json:
    row: Json = {} if name is None else {"phase": name}
    row.update(
        {
            "it_nominal_kw": rnd(v[0]),
            "it_max_kw": rnd(v[1]),
            "liquid_heat_kw": rnd(v[2]),
            "air_heat_kw": rnd(v[3]),
            "feed_kw": rnd(v[4]),
        }
    )
    return row


def oversubscription(d: Derived, sc: Scope | None = None) -> list[Json]:
    """Per plane and tier: switches, downlink/uplink ratio range, bandwidth and port use."""
    sc = _scope(d, sc)
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
    sc = _scope(d, sc)
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


def storage(d: Derived, sc: Scope | None = None) -> Json:
    """Raw capacity of the storage nodes (their drives with use 'storage'), and, apart from it,
    the nodes' local data drives (use 'data')."""
    sc = _scope(d, sc)
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


# ---- bill of materials ---------------------------------------------------------------------


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
    sc = _scope(d, sc)
    nodes: dict[str, list[Node]] = defaultdict(list)
    for n in sc.nodes:
        nodes[n.model.key].append(n)
    node_rows: list[Json] = []
    for role in ROLES:
        for key in sorted(k for k, ns in nodes.items() if ns[0].model.role == role):
            m = nodes[key][0].model
            acc = m.accelerator
            node_rows.append(
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
    sw_count = Counter(s.model.key for s in sc.switches)
    switch_rows: list[Json] = [
        {
            "model": key,
            "ports": d.cluster.switch_models[key].ports,
            "speed_gbps": d.cluster.switch_models[key].speed,
            "count": sw_count[key],
        }
        for key in sorted(sw_count)
    ]
    rack_count = Counter(r.type.key for r in sc.racks)
    rack_rows: list[Json] = [
        {
            "type": key,
            "units": d.cluster.rack_types[key].units,
            "feed_kw": rnd(d.cluster.rack_types[key].power_kw),
            "count": rack_count[key],
        }
        for key in sorted(rack_count)
    ]

    cables: Counter[tuple[int, int, str | None, int]] = Counter()  # media rank, speed, bo, m
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
    cable_rows: list[Json] = [
        {
            "media": MEDIA[rank] if 0 <= rank < len(MEDIA) else "?",
            "speed_gbps": speed,
            "breakout": bo,
            "length_m": length,
            "count": n,
        }
        for (rank, speed, bo, length), n in sorted(cables.items(), key=_cable_order)
    ]
    optic_rows: list[Json] = [
        {"optic": name, "speed_gbps": speed, "count": n}
        for (speed, name), n in sorted(optics.items(), key=lambda kv: (-kv[0][0], kv[0][1]))
    ]
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
        "nodes": node_rows,
        "switches": switch_rows,
        "racks": rack_rows,
        "cables": cable_rows,
        "optics": optic_rows,
        "totals": totals,
    }


def _media_rank(media: str) -> int:
    return _MEDIA_RANK.get(media, len(MEDIA))


def _cable_order(
    kv: tuple[tuple[int, int, str | None, int], int],
) -> tuple[int, int, str, int]:
    (rank, speed, bo, length), _ = kv
    return (rank, -speed, bo or "", length)


# ---- fabric and addresses ------------------------------------------------------------------


def asn_ranges(d: Derived, sc: Scope | None = None) -> list[Json]:
    """Per phase: the ASN block `asns_per_phase` sets aside and the ASNs its switches use."""
    sc = _scope(d, sc)
    bgp = d.cluster.bgp
    out: list[Json] = []
    for ph in sc.phases:
        asns = sorted({s.asn for s in sc.switches if s.pod.phase is ph and s.asn is not None})
        row: Json = {"phase": ph.name}
        if bgp is not None:
            first = bgp.asn_base + ph.index * bgp.asns_per_phase
            row.update({"block_first": first, "block_last": first + bgp.asns_per_phase - 1})
        else:
            row.update({"block_first": None, "block_last": None})
        row.update(
            {
                "used": len(asns),
                "first": asns[0] if asns else None,
                "last": asns[-1] if asns else None,
                "switches": sum(1 for s in sc.switches if s.pod.phase is ph and s.asn is not None),
            }
        )
        out.append(row)
    return out


def loopbacks(d: Derived, sc: Scope | None = None) -> Json:
    """The loopback range and the router ids taken in scope."""
    sc = _scope(d, sc)
    net = d.cluster.loopbacks
    ips = sorted(ip for name, ip in d.addressing.loopbacks.items() if name in sc.devices)
    return {
        "cidr": str(net) if net is not None else None,
        "size": net.num_addresses if net is not None else 0,
        "used": len(ips),
        "first": str(ips[0]) if ips else None,
        "last": str(ips[-1]) if ips else None,
        "use_pct": pct(len(ips), net.num_addresses) if net is not None else None,
    }


def addresses(d: Derived, sc: Scope | None = None) -> list[Json]:
    """Per plane: subnets, addresses used (hosts and gateways), addresses allocated in
    subnets, the plane's size, and every subnet with its use."""
    sc = _scope(d, sc)
    a = d.addressing
    owners = sc.devices | {p.name for p in sc.pods}
    used: Counter[tuple[str, str]] = Counter()  # (plane, subnet owner) -> host addresses
    pod_of = {n.name: n.pod.name for n in sc.nodes}
    for (node, plane_name, _), sub in a.port_subnet.items():
        if node in pod_of:
            used[(plane_name, sub.owner)] += 1
    for node, plane_name in a.bonds:
        if node in pod_of:
            used[(plane_name, pod_of[node])] += 1
    oob = next((p.name for p in d.cluster.planes.values() if p.role == "oob" and p.fabric), None)
    if oob is not None:
        for node in a.bmcs:
            if node in pod_of:
                used[(oob, pod_of[node])] += 1
    out: list[Json] = []
    for plane in d.cluster.planes.values():
        if plane.cidr is None:
            continue
        subs = [s for s in a.subnets if s.plane == plane.name and s.owner in owners]
        hosts = sum(used[(plane.name, s.owner)] for s in subs)
        allocated = sum(s.network.num_addresses for s in subs)
        size = plane.cidr.num_addresses
        out.append(
            {
                "plane": plane.name,
                "role": plane.role,
                "cidr": str(plane.cidr),
                "subnets": len(subs),
                "hosts": hosts,
                "used": hosts + len(subs),
                "allocated": allocated,
                "size": size,
                "use_pct": pct(allocated, size),
                "fill_pct": pct(hosts + len(subs), allocated),
                "first": str(subs[0].network) if subs else None,
                "last": str(subs[-1].network) if subs else None,
                "networks": [
                    {
                        "owner": s.owner,
                        "network": str(s.network),
                        "gateway": str(s.gateway),
                        "hosts": used[(plane.name, s.owner)],
                        "size": s.network.num_addresses,
                    }
                    for s in subs
                ],
            }
        )
    return out
