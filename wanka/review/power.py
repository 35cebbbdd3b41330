"""Rack power and cooling of a plan, and IT power per phase.

Power and heat in kW from `rules.racks.rack_draw` (the arithmetic the rack rules use):
nominal and max draw of every node and switch, heat split by each model's liquid share.
IT power is the sum over racks; PUE = facility power / IT power (nominal).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.review.capacity import Scope, in_scope, pct, rnd
from wanka.rules.racks import rack_draw


def racks(d: Derived, sc: Scope | None = None) -> list[Json]:
    """Power and cooling of every rack: draw, feed, headroom, heat vs capacity."""
    sc = in_scope(d, sc)
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
    sc = in_scope(d, sc)
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
