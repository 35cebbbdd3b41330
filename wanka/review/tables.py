"""The plan's tables, once, for every output: `wanka plan` prints them, `wanka report` shows them.

A `Table` is plain data (title, columns, string cells, which columns are numbers, where a
new section starts, a note): plan.py turns it into a rich table for the terminal,
review/htmlreport.py into HTML. The number formats people read are here too (`n`, `kw`, `pct`, ...):
the JSON plan keeps the raw figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from wanka.jsonfmt import Json

Plan = Json  # what build_plan returns


class Link(NamedTuple):
    """A cell that links to another page or an anchor (HTML; text shows `text`)."""

    text: str
    href: str


@dataclass(slots=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str | Link]] = field(default_factory=list)
    right: frozenset[int] = frozenset()  # indices of numeric (right-aligned) columns
    sections: set[int] = field(default_factory=set)  # row indices that start a new section
    note: str = ""

    def add(self, *cells: object) -> None:
        self.rows.append([c if isinstance(c, Link) else "" if c is None else str(c) for c in cells])

    def section(self) -> None:
        """The next row starts a new section (a rule above it)."""
        if self.rows:
            self.sections.add(len(self.rows))


def table(title: str, *columns: str, right: Iterable[str] = (), note: str = "") -> Table:
    rights = set(right)
    return Table(
        title,
        list(columns),
        right=frozenset(i for i, c in enumerate(columns) if c in rights),
        note=note,
    )


# ---- numbers for people ------------------------------------------------------------------


def n(x: Any) -> str:
    """A number for people: thousands separators, few decimals; '-' for none."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    v = float(x)
    digits = 0 if v.is_integer() or abs(v) >= 1000 else 1 if abs(v) >= 100 else 2
    text = f"{v:,.{digits}f}"
    return "0" if text.strip("-0.,") == "" else text


def kw(x: Any) -> str:
    """kW for people: one decimal (whole kW from 1 MW up); the JSON keeps two."""
    if x is None:
        return "-"
    v = float(x)
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.1f}"


def heat(load: Any, capacity: Any) -> str:
    """'33.3/45' (kW of heat / kW of cooling), '-' where the rack has neither."""
    if not load and not capacity:
        return "-"
    return f"{kw(load)}/{n(capacity)}"


def signed(x: Any) -> str:
    if x is None:
        return "-"
    text = n(x)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def pct(x: Any, sign: str = "") -> str:
    return "-" if x is None else f"{float(x):{sign}.1f}%"


def bw(gbps: int) -> str:
    """Bandwidth: 400G, 12.8T, 7,680T."""
    if gbps >= 1000:
        return f"{gbps / 1000:,.{0 if gbps >= 100_000 else 1}f}T"
    return f"{gbps}G" if gbps else "-"


def plural(count: int, one: str, many: str) -> str:
    return f"{n(count)} {one if count == 1 else many}"


def ratio(lo: Any, hi: Any) -> str:
    if lo is None:
        return "-"
    if lo == hi:
        return f"{float(lo):.2f}:1"
    return f"{float(lo):.2f}-{float(hi):.2f}:1"


# ---- the tables ----------------------------------------------------------------------------


def phases(plan: Plan) -> Table:
    t = table(
        f"Capacity per phase (PFLOPS at {plan['cluster']['precision']})",
        "Phase",
        "Status",
        "Target",
        "Achieved",
        "Margin",
        "Available",
        "Cards",
        "Servers",
        "Racks",
        "IT kW",
        right=("Target", "Achieved", "Margin", "Available", "Cards", "Servers", "Racks", "IT kW"),
    )
    for p in plan["phases"]:
        margin = signed(p["margin_pflops"])
        if p["margin_pct"] is not None:
            margin += f" ({pct(p['margin_pct'], '+')})"
        t.add(
            p["name"],
            p["status"],
            n(p["target_pflops"]),
            n(p["achieved_pflops"]),
            margin,
            n(p["available_pflops"]),
            n(p["cards"]),
            n(p["servers"]),
            n(p["rack_count"]),
            kw(p["it_nominal_kw"]),
        )
    if len(plan["phases"]) > 1:
        tot = plan["cluster"]["totals"]
        t.section()
        t.add(
            "total",
            "",
            n(tot["target_pflops"]),
            n(tot["achieved_pflops"]),
            signed(tot["margin_pflops"]),
            n(tot["available_pflops"]),
            n(tot["cards"]),
            n(tot["servers"]),
            n(tot["racks"]),
            kw(tot["it_nominal_kw"]),
        )
    return t


def power(plan: Plan) -> Table:
    t = table(
        "IT power and heat (kW)",
        "Phase",
        "Nominal",
        "Max",
        "Liquid heat",
        "Air heat",
        "Rack feeds",
        right=("Nominal", "Max", "Liquid heat", "Air heat", "Rack feeds"),
    )
    power = plan["capacity"]["power"]
    rows = [(p["phase"], p) for p in power["phases"]]
    if len(rows) > 1:
        rows.append(("total", power["total"]))
    for name, p in rows:
        if name == "total":
            t.section()
        t.add(
            name,
            kw(p["it_nominal_kw"]),
            kw(p["it_max_kw"]),
            kw(p["liquid_heat_kw"]),
            kw(p["air_heat_kw"]),
            kw(p["feed_kw"]),
        )
    return t


def rack_types(plan: Plan) -> Table:
    cols = (
        "Racks",
        "Feed kW",
        "Peak nominal kW",
        "Peak max kW",
        "Least headroom",
        "Peak liquid use",
        "Peak air use",
        "Over at max",
    )
    t = table("Rack power and cooling per rack type", "Type", *cols, right=cols)
    for r in plan["capacity"]["racks"]["by_type"]:
        t.add(
            r["type"],
            n(r["racks"]),
            n(r["feed_kw"]),
            kw(r["peak_rack_nominal_kw"]),
            kw(r["peak_rack_max_kw"]),
            f"{kw(r['min_headroom_kw'])} kW ({pct(r['min_headroom_pct'])})",
            pct(r["peak_liquid_use_pct"]),
            pct(r["peak_air_use_pct"]),
            n(r["over_feed_at_max"] + r["over_cooling_at_max"]),
        )
    return t


def tightest_racks(plan: Plan) -> Table:
    cols = ("Like it", "Nominal kW", "Max kW", "Feed kW", "Headroom", "Liquid kW", "Air kW")
    t = table(
        "Least power headroom (racks with identical figures listed once)",
        "Rack",
        "Like it",
        "Type",
        *cols[1:],
        right=cols,
    )
    for r in plan["capacity"]["racks"]["tightest"]:
        t.add(
            r["rack"],
            n(r["like"]),
            r["type"],
            kw(r["nominal_kw"]),
            kw(r["max_kw"]),
            n(r["feed_kw"]),
            f"{kw(r['headroom_kw'])} kW ({pct(r['headroom_pct'])})",
            heat(r["liquid_kw"], r["liquid_capacity_kw"]),
            heat(r["air_kw"], r["air_capacity_kw"]),
        )
    return t


def fabric(plan: Plan, plane: str | None = None) -> Table:
    """Every plane's tiers (with a Plane column), or one plane's (`plane`)."""
    cols = ("Switches", "Uplinks", "Oversubscription", "Limit", "Down", "Up", "Ports used")
    first = ("Plane", "Tier") if plane is None else ("Tier",)
    t = table("Fabric" if plane is None else "Tiers", *first, "Model", *cols, right=cols)
    last = None
    for r in plan["fabric"]["planes"]:
        if plane is not None and r["plane"] != plane:
            continue
        if last is not None and r["plane"] != last:
            t.section()
        last = r["plane"]
        limit = r["max_oversubscription"]
        t.add(
            *((r["plane"],) if plane is None else ()),
            r["tier"],
            ", ".join(r["models"]),
            n(r["switches"]),
            n(r["uplinks_per_switch"]) if r["uplinks_per_switch"] else "-",
            ratio(r["oversubscription_min"], r["oversubscription_max"]),
            f"{float(limit):g}:1" if limit is not None else "-",
            bw(r["down_gbps"]),
            bw(r["up_gbps"]),
            f"{n(r['ports_used'])}/{n(r['ports'])} ({pct(r['port_use_pct'])})",
        )
    return t


def fabric_notes(plan: Plan) -> list[str]:
    """ASN blocks per phase and loopback use, one line each."""
    lines = []
    for a in plan["fabric"]["asns"]:
        if not a["switches"]:
            continue
        block = (
            f"block {a['block_first']}-{a['block_last']}, " if a["block_first"] is not None else ""
        )
        used = f"{a['first']}" if a["first"] == a["last"] else f"{a['first']}-{a['last']}"
        lines.append(
            f"ASNs {a['phase']}: {block}{n(a['used'])} used ({used}) by "
            f"{plural(a['switches'], 'switch', 'switches')}"
        )
    lb = plan["fabric"]["loopbacks"]
    if lb["cidr"] is not None:
        span = f" ({lb['first']}-{lb['last']})" if lb["first"] else ""
        lines.append(
            f"Loopbacks {lb['cidr']}: {n(lb['used'])} of {n(lb['size'])} used{span}, "
            f"{pct(lb['use_pct'])}"
        )
    return lines


def ports(plan: Plan) -> Table:
    cols = ("Switches", "Ports", "Used", "Use", "Least used", "Most used")
    t = table("Port use per switch model", "Model", *cols, right=cols)
    for r in plan["capacity"]["ports"]:
        t.add(
            r["model"],
            n(r["switches"]),
            n(r["ports"]),
            n(r["ports_used"]),
            pct(r["use_pct"]),
            pct(r["min_use_pct"]),
            pct(r["max_use_pct"]),
        )
    return t


def addresses(plan: Plan) -> Table:
    cols = ("Subnets", "Used", "Allocated", "Size", "Use", "Fill")
    t = table("Address plan", "Plane", "Role", "CIDR", *cols, right=cols)
    for r in plan["addresses"]:
        t.add(
            r["plane"],
            r["role"],
            r["cidr"],
            n(r["subnets"]),
            n(r["used"]),
            n(r["allocated"]),
            n(r["size"]),
            pct(r["use_pct"]),
            pct(r["fill_pct"]),
        )
    lb = plan["fabric"]["loopbacks"]
    if lb["cidr"] is not None:
        t.section()
        t.add("loopbacks", "", lb["cidr"], "-", n(lb["used"]), "-", n(lb["size"]),
              pct(lb["use_pct"]), "-")  # fmt: skip
    return t
