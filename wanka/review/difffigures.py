"""The figures `wanka diff` shows before and after: capacity per phase, power and cooling
per rack (the figures of `capacity.phases` and `power.racks`, the ones `wanka plan` prints),
the bill of materials (`bom.bom`) lines that change, and the totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.review import bom, capacity, power
from wanka.review.diffattrs import change_op, join_changed

_PHASE_FIGURES = (
    "status",
    "target_pflops",
    "achieved_pflops",
    "cards",
    "servers",
    "hosts",
    "storage_nodes",
    "rack_count",
    "it_nominal_kw",
    "it_max_kw",
)
_RACK_FIGURES = (
    "type",
    "nodes",
    "switches",
    "units_used",
    "nominal_kw",
    "max_kw",
    "feed_kw",
    "headroom_kw",
    "liquid_kw",
    "liquid_capacity_kw",
    "air_kw",
    "air_capacity_kw",
)


def _before_after(old: Json | None, new: Json | None, keys: Iterable[str]) -> dict[str, Json]:
    return {
        k: {"old": old.get(k) if old else None, "new": new.get(k) if new else None} for k in keys
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    phases: list[Json]  # capacity per phase, before and after
    racks: list[Json]  # racks whose power or cooling changes
    bom: list[Json]  # bill-of-materials lines that change
    totals: Json


def figures(old: Derived, new: Derived, rn: Mapping[str, str]) -> Figures:
    """Capacity per phase, rack power and cooling, the bill of materials, and the totals;
    rack names of `old` translated by `rn` (its renames)."""
    phases: list[Json] = []
    op = {p["name"]: p for p in capacity.phases(old)}
    np_ = {p["name"]: p for p in capacity.phases(new)}
    for name in [*op, *(n for n in np_ if n not in op)]:
        o, n = op.get(name), np_.get(name)
        phases.append({"name": name, **_before_after(o, n, _PHASE_FIGURES)})
    ob, nb = bom.bom(old), bom.bom(new)
    ot, nt = ob["totals"], nb["totals"]
    cards = {0: sum(p["cards"] for p in op.values()), 1: sum(p["cards"] for p in np_.values())}
    pflops = {
        0: capacity.rnd(sum(p["achieved_pflops"] for p in op.values()), 3),
        1: capacity.rnd(sum(p["achieved_pflops"] for p in np_.values()), 3),
    }
    totals: Json = {
        "pflops": {"old": pflops[0], "new": pflops[1]},
        "cards": {"old": cards[0], "new": cards[1]},
        **{
            k: {"old": ot[k], "new": nt[k]}
            for k in ("nodes", "switches", "racks", "cables", "optics")
        },
        "it_nominal_kw": {
            "old": capacity.rnd(sum(p["it_nominal_kw"] for p in op.values())),
            "new": capacity.rnd(sum(p["it_nominal_kw"] for p in np_.values())),
        },
    }
    return Figures(
        phases=phases, racks=_rack_figures(old, new, rn), bom=_bom_lines(ob, nb), totals=totals
    )


def _rack_figures(old: Derived, new: Derived, rn: Mapping[str, str]) -> list[Json]:
    out: list[Json] = []
    orr = {rn.get(r["name"], r["name"]): r for r in power.racks(old)}
    nr = {r["name"]: r for r in power.racks(new)}
    for name, o, n in join_changed(
        {k: tuple(r[f] for f in _RACK_FIGURES) for k, r in orr.items()},
        {k: tuple(r[f] for f in _RACK_FIGURES) for k, r in nr.items()},
    ):
        ro, rw = orr.get(name), nr.get(name)
        row: Json = {
            "name": name,
            "op": change_op(o, n),
            "phase": (rw or ro or {}).get("phase"),
            **_before_after(ro, rw, _RACK_FIGURES),
        }
        out.append(row)
    return out


_BOM_SECTIONS = ("nodes", "switches", "racks", "cables", "optics")


def _bom_lines(ob: Json, nb: Json) -> list[Json]:
    """The bill-of-materials lines whose count changes: what to order, what is freed."""
    out: list[Json] = []
    lines: dict[tuple[str, str], list[int]] = {}
    for side, b in ((0, ob), (1, nb)):
        for section, label, count in _bom_items(b):
            lines.setdefault((section, label), [0, 0])[side] += count
    order = {s: i for i, s in enumerate(_BOM_SECTIONS)}
    for (section, label), (o_count, n_count) in sorted(
        lines.items(), key=lambda kv: (order[kv[0][0]],)
    ):
        if o_count != n_count:
            out.append(
                {
                    "section": section,
                    "item": label,
                    "old": o_count,
                    "new": n_count,
                    "delta": n_count - o_count,
                }
            )
    return out


def _bom_items(b: Json) -> Iterable[tuple[str, str, int]]:
    """(section, label, count) of every line of a bill of materials."""
    for r in b["nodes"]:
        yield "nodes", f"{r['role']} {r['model']}", r["count"]
    for r in b["switches"]:
        yield "switches", f"{r['model']} ({r['ports']} x {r['speed_gbps']}G)", r["count"]
    for r in b["racks"]:
        yield "racks", f"{r['type']} ({r['feed_kw']:g} kW)", r["count"]
    for r in b["cables"]:
        bo = f" {r['breakout']} breakout" if r["breakout"] else ""
        yield "cables", f"{r['media']} {r['speed_gbps']}G{bo} {r['length_m']} m", r["count"]
    for r in b["optics"]:
        yield "optics", r["optic"], r["count"]
