"""The report's facility page (facility.html): per hall a stacked bar of facility power
against capacity and its heat against its cooling plant (`svg.facility`), and the facility's
tables (`facilitytables`), from the plan document. No page without a facility."""

from __future__ import annotations

from collections.abc import Iterator

from markupsafe import Markup

from wanka import __version__, templates
from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.review import facilitytables, svg
from wanka.review.tables import kw, pct

PAGE = "facility.html"


def _summary(fac: Json) -> list[tuple[str, str]]:
    t = fac["total"]
    rows = [
        ("IT power", f"{kw(t['it_kw'])} kW nominal ({kw(t['it_max_kw'])} kW max)"),
        ("facility power", f"{kw(t['facility_kw'])} kW"),
        ("PUE", f"{float(t['pue']):.3f}" if t["pue"] is not None else "-"),
        ("heat", f"{kw(t['liquid_kw'])} kW into liquid, {kw(t['air_kw'])} kW into air"),
    ]
    if fac["utilisation"] is not None:
        rows.append(("utilisation", pct(100 * fac["utilisation"])))
    if "facility_mwh_year" in t:
        rows.append(
            ("energy a year", f"{t['facility_mwh_year']:,.0f} MWh ({t['it_mwh_year']:,.0f} IT)")
        )
    if "cost_year" in t:
        cur = t["currency"]
        rows.append(("cost a year", facilitytables.money(t["cost_year"], cur)))
        rows.append(
            (
                "training in the cheapest hours",
                f"{facilitytables.money(t['cost_year_shifted'], cur)} "
                f"({facilitytables.money(t['shift_change'], cur)}, "
                f"{pct(t['shift_change_pct'], '+')})",
            )
        )
    return rows


def facility_page(d: Derived, plan: Json) -> Iterator[tuple[str, str]]:
    """(facility.html, HTML), when the cluster declares a facility."""
    fac = plan["capacity"]["facility"]
    if not fac["declared"]:
        return
    phase = plan["phase"]
    page = templates.environment(html=True).get_template("report/facility.html.j2")
    yield (
        PAGE,
        page.render(
            version=__version__,
            title=f"{d.cluster.name}: facility" + (f", phase {phase}" if phase else ""),
            cluster=d.cluster.name,
            summary=_summary(fac),
            chart=Markup(svg.facility(fac["halls"])),
            tables=facilitytables.tables(plan),
        ),
    )
