"""What a change does to the facility, for `wanka diff`: per hall, per phase in a hall and in
total, IT and facility power, PUE, liquid and air headroom (halls) and the yearly cost
(spread, and shifted to the cheapest hours), before and after (the figures of
`review.facility`, which `wanka plan` prints), and the rows the text and Markdown reports
show of them."""

from __future__ import annotations

from typing import Any

from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.review.facility import facility
from wanka.review.facilitytables import money
from wanka.review.tables import kw

FIGURES = (
    "it_kw",
    "facility_kw",
    "pue",
    "liquid_headroom_kw",
    "air_headroom_kw",
    "facility_mwh_year",
    "cost_year",
    "cost_year_shifted",
)
_TOTAL_FIGURES = (
    "it_kw",
    "facility_kw",
    "pue",
    "facility_mwh_year",
    "cost_year",
    "cost_year_shifted",
)


def compare(old: Derived, new: Derived) -> Json:
    """{halls: [{hall, figure: {old, new}}...], total: {...}, currency, changed}; halls on
    neither side with a facility are left out."""
    of, nf = facility(old), facility(new)
    oh = {h["hall"]: h for h in of.get("halls", [])}
    nh = {h["hall"]: h for h in nf.get("halls", [])}
    halls: list[Json] = []
    for name in [*oh, *(h for h in nh if h not in oh)]:
        o, n = oh.get(name), nh.get(name)
        halls.append({"hall": name, **_before_after(o, n, FIGURES)})
    op = {(r["phase"], r["hall"]): r for r in of.get("phases", [])}
    np_ = {(r["phase"], r["hall"]): r for r in nf.get("phases", [])}
    phases = [
        {"phase": k[0], "hall": k[1], **_before_after(op.get(k), np_.get(k), _TOTAL_FIGURES)}
        for k in [*op, *(k for k in np_ if k not in op)]
    ]
    total = _before_after(of.get("total"), nf.get("total"), _TOTAL_FIGURES)
    changed = any(
        v["old"] != v["new"] for h in [*halls, *phases] for k, v in h.items() if isinstance(v, dict)
    )
    currency = (nf.get("total") or {}).get("currency") or (of.get("total") or {}).get("currency")
    return {
        "declared": {"old": of["declared"], "new": nf["declared"]},
        "currency": currency,
        "halls": halls,
        "phases": phases,
        "total": total,
        "changed": changed or of["declared"] != nf["declared"],
    }


def _before_after(old: Json | None, new: Json | None, keys: tuple[str, ...]) -> Json:
    return {k: {"old": (old or {}).get(k), "new": (new or {}).get(k)} for k in keys}


COLUMNS = (
    "Hall, phase",
    "IT kW",
    "Facility kW",
    "PUE",
    "Liquid headroom",
    "Air headroom",
    "Cost/year",
    "In cheapest hours",
)


def _arrow(v: Json, fmt: Any) -> str:
    o, n = v["old"], v["new"]
    if o == n:
        return fmt(n)
    return f"{fmt(o)} -> {fmt(n)}"


def _delta(v: Json) -> str:
    o, n = v["old"], v["new"]
    if not isinstance(o, int | float) or not isinstance(n, int | float) or o == n:
        return ""
    d = n - o
    return f" ({'+' if d > 0 else ''}{d:,.{3 if abs(d) < 1 else 0}f})"


def rows(doc: Json) -> list[list[str]]:
    """A row per hall whose figures change, then the total: before -> after (change)."""
    cur = doc["currency"]

    def pue(x: Any) -> str:
        return "-" if x is None else f"{float(x):.3f}"

    def cost(x: Any) -> str:
        return money(x, cur)

    out: list[list[str]] = []
    items = [(h["hall"], h) for h in doc["halls"]]
    items += [(f"{r['phase']} in {r['hall']}", r) for r in doc["phases"]]
    items.append(("total", doc["total"]))
    for name, h in items:
        same = all(v["old"] == v["new"] for v in h.values() if isinstance(v, dict))
        if name != "total" and same:
            continue
        out.append(
            [
                name,
                _arrow(h["it_kw"], kw) + _delta(h["it_kw"]),
                _arrow(h["facility_kw"], kw) + _delta(h["facility_kw"]),
                _arrow(h["pue"], pue) + _delta(h["pue"]),
                _arrow(h["liquid_headroom_kw"], kw) if "liquid_headroom_kw" in h else "",
                _arrow(h["air_headroom_kw"], kw) if "air_headroom_kw" in h else "",
                _arrow(h["cost_year"], cost) + _delta(h["cost_year"]),
                _arrow(h["cost_year_shifted"], cost) + _delta(h["cost_year_shifted"]),
            ]
        )
    return out
