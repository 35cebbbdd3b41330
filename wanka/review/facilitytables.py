"""The facility's tables, for `wanka plan` and the report's facility page (the plan document's
`capacity.facility`, made by `review.facility`), and its one-line summary."""

from __future__ import annotations

from typing import Any

from wanka.review.tables import Plan, Table, kw, n, pct, table


def money(x: Any, currency: str | None) -> str:
    """A yearly cost for people: millions with two decimals from a million up."""
    if x is None or currency is None:
        return "-"
    v = float(x)
    text = f"{v / 1e6:,.2f}M" if abs(v) >= 1e6 else f"{v:,.0f}"
    return f"{text} {currency}"


def _pue(r: Plan) -> str:
    if r.get("pue") is None:
        return "-"
    text = f"{float(r['pue']):.3f}"
    if r.get("pue_basis") == "measured":
        text += " (measured)"
    return text


def _headroom(heat: Any, usable: Any, headroom: Any, use: Any) -> str:
    if usable is None:
        return f"{kw(heat)} / none"
    return f"{kw(heat)} / {kw(usable)} ({kw(headroom)} free, {pct(use)})"


def summary_line(plan: Plan) -> str | None:
    """`Facility power 27,018 kW, PUE 1.081; ...` (None without a facility)."""
    fac = plan["capacity"]["facility"]
    if not fac["declared"]:
        return None
    t = fac["total"]
    line = f"facility power {kw(t['facility_kw'])} kW for {kw(t['it_kw'])} kW IT, PUE "
    line += f"{float(t['pue']):.3f}" if t["pue"] is not None else "-"
    if "facility_mwh_year" in t:
        line += (
            f"; {n(t['facility_mwh_year'])} MWh a year at {pct(100 * fac['utilisation'])} "
            "utilisation"
        )
    if "cost_year" in t:
        line += (
            f", {money(t['cost_year'], t['currency'])}; training in the cheapest hours: "
            f"{money(t['cost_year_shifted'], t['currency'])} ({pct(t['shift_change_pct'], '+')})"
        )
    return line


def halls(plan: Plan) -> Table:
    """Per hall: what its plant carries (every phase in it) against its capacity."""
    fac = plan["capacity"]["facility"]
    t = table(
        "Halls: power and cooling plant (kW; heat / usable capacity, redundant units held back)",
        "Hall",
        "Phases",
        "Racks",
        "IT / IT capacity",
        "Liquid heat / CDUs",
        "Air heat / air units",
        "Facility",
        "PUE",
        right=("Racks", "Facility", "PUE"),
        note=fac.get("basis", ""),
    )
    for h in fac.get("halls", []):
        liq, air = h["liquid"], h["air"]
        t.add(
            h["hall"],
            ", ".join(h["phases"]),
            n(h["racks"]),
            _headroom(h["it_kw"], h["it_capacity_kw"], h["it_headroom_kw"], h["it_use_pct"]),
            _headroom(
                h["liquid_kw"],
                liq["usable_kw"] if liq else None,
                h["liquid_headroom_kw"],
                h["liquid_use_pct"],
            )
            + (f" [{liq['cdus']} x {n(liq['cdu_kw'])}, N+{liq['redundant']}]" if liq else ""),
            _headroom(
                h["air_kw"],
                air["usable_kw"] if air else None,
                h["air_headroom_kw"],
                h["air_use_pct"],
            )
            + (
                f" [{air['units']} {air['kind'].upper()} x {n(air['unit_kw'])}, "
                f"N+{air['redundant']}]"
                if air
                else ""
            ),
            kw(h["facility_kw"]),
            _pue(h),
        )
    return t


def phases(plan: Plan) -> Table:
    """Per phase and hall: power, PUE, yearly energy and cost, and the cost shifted."""
    fac = plan["capacity"]["facility"]
    u = fac.get("utilisation")
    title = "Facility power, energy and cost per phase and hall"
    if u is not None:
        title += f" (a year at {pct(100 * u)} utilisation)"
    t = table(
        title,
        "Phase",
        "Hall",
        "IT kW",
        "Liquid overhead",
        "Air overhead",
        "Facility kW",
        "PUE",
        "MWh/year",
        "Cost/year",
        "In cheapest hours",
        right=(
            "IT kW",
            "Liquid overhead",
            "Air overhead",
            "Facility kW",
            "PUE",
            "MWh/year",
            "Cost/year",
            "In cheapest hours",
        ),
    )
    rows = [(r["phase"], r["hall"], r) for r in fac.get("phases", [])]
    if len(rows) > 1:
        rows.append(("total", "", fac["total"]))
    for phase, hall, r in rows:
        if phase == "total":
            t.section()
        cur = r.get("currency")
        shifted = (
            f"{money(r['cost_year_shifted'], cur)} ({pct(r['shift_change_pct'], '+')})"
            if "cost_year_shifted" in r
            else "-"
        )
        t.add(
            phase,
            hall,
            kw(r["it_kw"]),
            kw(r.get("liquid_overhead_kw")),
            kw(r.get("air_overhead_kw")),
            kw(r["facility_kw"]),
            _pue(r),
            n(r.get("facility_mwh_year")),
            money(r.get("cost_year"), cur),
            shifted,
        )
    return t


def tariffs(plan: Plan) -> Table:
    fac = plan["capacity"]["facility"]
    t = table(
        "Electricity tariffs",
        "Site",
        "Band",
        "Price/kWh",
        "Hours/day",
        "Hours",
        right=("Price/kWh", "Hours/day"),
    )
    for s in fac.get("tariffs", []):
        for b in s["bands"]:
            t.add(
                s["site"],
                b["band"],
                f"{b['price_per_kwh']:g} {s['currency']}",
                n(b["hours"]),
                ", ".join(b["spans"]),
            )
    return t


def tables(plan: Plan) -> list[Table]:
    """The facility's tables (none without a facility)."""
    if not plan["capacity"]["facility"]["declared"]:
        return []
    return [halls(plan), phases(plan), tariffs(plan)]
