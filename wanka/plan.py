"""`wanka plan`: what a cluster file builds, per phase, for people reviewing a change.

`build_plan(d, phase)` is the JSON document (`wanka plan --format json`): the cluster and
its totals, every phase (capacity against target), capacity (power, rack power and cooling
summary, storage, port use), the bill of materials, the fabric (oversubscription, ASNs,
loopbacks), the address plan, every rack's power and cooling, and the findings. With a
phase, everything is restricted to that phase's pods, racks, nodes and switches, and the
cables with an end in them. The document is deterministic: the same model gives the same
document, byte for byte once serialised.

`write_text(plan, out, color=...)` renders that document (not the model) as tables, so the
text and JSON forms cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from io import StringIO
from typing import Any, TextIO

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from . import capacity
from .derive import Derived
from .findings import Finding

Plan = dict[str, Any]


def build_plan(d: Derived, phase: str | None = None) -> Plan:
    """The plan document; ValueError (listing the phases) if `phase` is not one of them."""
    sc = capacity.scope(d, phase)
    c = d.cluster
    phase_rows = capacity.phases(d, sc)
    rack_rows = capacity.racks(d, sc)
    power = capacity.it_power(d, sc)
    store = capacity.storage(d, sc)
    bill = capacity.bom(d, sc)
    targets = [p["target_pflops"] for p in phase_rows if p["target_pflops"] is not None]
    target = float(sum(targets)) if targets else None
    achieved = capacity.rnd(sum(float(p["achieved_pflops"]) for p in phase_rows), 3)
    totals: Plan = {
        "target_pflops": target,
        "achieved_pflops": achieved,
        "margin_pflops": capacity.rnd(achieved - target, 3) if target is not None else None,
        "available_pflops": capacity.rnd(sum(float(p["available_pflops"]) for p in phase_rows), 3),
        "pods": len(sc.pods),
        "racks": len(sc.racks),
        "nodes": len(sc.nodes),
        **{
            k: sum(int(p[k]) for p in phase_rows)
            for k in ("supernodes", "cards", "dies", "servers", "hosts", "storage_nodes")
        },
        "hbm_tb": capacity.rnd(sum(float(p["hbm_tb"]) for p in phase_rows), 3),
        "excluded_nodes": sum(len(p["excluded"]) for p in phase_rows),
        "switches": len(sc.switches),
        "cables": bill["totals"]["cables"],
        "optics": bill["totals"]["optics"],
        "it_nominal_kw": power["total"]["it_nominal_kw"],
        "it_max_kw": power["total"]["it_max_kw"],
        "storage_raw_tb": store["raw_tb"],
    }
    return {
        "phase": phase,
        "cluster": {
            "name": c.name,
            "files": list(c.files),
            "precision": c.precision,
            "phases": [p.name for p in c.phases],
            "totals": totals,
        },
        "phases": phase_rows,
        "capacity": {
            "power": power,
            "racks": capacity.rack_summary(rack_rows),
            "storage": store,
            "ports": capacity.port_use(d, sc),
        },
        "bom": bill,
        "fabric": {
            "planes": capacity.oversubscription(d, sc),
            "asns": capacity.asn_ranges(d, sc),
            "loopbacks": capacity.loopbacks(d, sc),
        },
        "addresses": capacity.addresses(d, sc),
        "racks": rack_rows,
        "findings": [f.as_dict() for f in sorted([*d.warnings, *d.findings], key=Finding.sort_key)],
    }


# ---- text --------------------------------------------------------------------------------


def _n(x: Any) -> str:
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


def _kw(x: Any) -> str:
    """kW for people: one decimal (whole kW from 1 MW up); the JSON keeps two."""
    if x is None:
        return "-"
    v = float(x)
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.1f}"


def _heat(heat: Any, capacity: Any) -> str:
    """'33.3/45' (kW of heat / kW of cooling), '-' where the rack has neither."""
    if not heat and not capacity:
        return "-"
    return f"{_kw(heat)}/{_n(capacity)}"


def _signed(x: Any) -> str:
    if x is None:
        return "-"
    text = _n(x)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def _pct(x: Any, sign: str = "") -> str:
    return "-" if x is None else f"{float(x):{sign}.1f}%"


def _bw(gbps: int) -> str:
    if gbps >= 1000:
        return f"{gbps / 1000:,.{0 if gbps >= 100_000 else 1}f}T"
    return f"{gbps}G" if gbps else "-"


def _table(title: str, *columns: str, right: Iterable[str] = ()) -> Table:
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    rights = set(right)
    for col in columns:
        t.add_column(col, justify="right" if col in rights else "left", no_wrap=True)
    return t


def _phase_table(plan: Plan) -> Table:
    t = _table(
        f"Phases (PFLOPS at {plan['cluster']['precision']})",
        "Phase",
        "Status",
        "Target",
        "Achieved",
        "Margin",
        "Cards",
        "Servers",
        "Racks",
        "IT kW",
        right=("Target", "Achieved", "Margin", "Cards", "Servers", "Racks", "IT kW"),
    )
    phases = plan["phases"]
    for p in phases:
        margin = _signed(p["margin_pflops"])
        if p["margin_pct"] is not None:
            margin += f" ({_pct(p['margin_pct'], '+')})"
        t.add_row(
            p["name"],
            p["status"],
            _n(p["target_pflops"]),
            _n(p["achieved_pflops"]),
            margin,
            _n(p["cards"]),
            _n(p["servers"]),
            _n(p["rack_count"]),
            _kw(p["it_nominal_kw"]),
        )
    if len(phases) > 1:
        tot = plan["cluster"]["totals"]
        t.add_section()
        t.add_row(
            "total",
            "",
            _n(tot["target_pflops"]),
            _n(tot["achieved_pflops"]),
            _signed(tot["margin_pflops"]),
            _n(tot["cards"]),
            _n(tot["servers"]),
            _n(tot["racks"]),
            _kw(tot["it_nominal_kw"]),
        )
    return t


def _summary_lines(plan: Plan) -> list[str]:
    tot = plan["cluster"]["totals"]
    power = plan["capacity"]["power"]
    store = plan["capacity"]["storage"]
    servers = f"{_n(tot['servers'])} servers"
    if tot["supernodes"]:
        servers += f" ({_n(tot['supernodes'])} supernodes)"
    storage = (
        f"Storage raw {_n(store['raw_pb'])} PB ({_n(store['raw_tb'])} TB) on "
        f"{_n(store['drives'])} drives in {_n(store['storage_nodes'])} storage nodes"
        if store["storage_nodes"]
        else "Storage: no storage nodes"
    )
    lines = [
        f"Cards {_n(tot['cards'])} ({_n(tot['dies'])} dies, {_n(tot['hbm_tb'])} TB HBM) in "
        f"{servers}; {_n(tot['hosts'])} hosts; {_n(tot['switches'])} switches; "
        f"{_n(tot['racks'])} racks",
        f"{storage}; node-local data drives {_n(store['node_local_data_tb'])} TB",
        f"IT power {_kw(power['total']['it_nominal_kw'])} kW nominal, "
        f"{_kw(power['total']['it_max_kw'])} kW max; PUE = facility kW / "
        f"{_kw(power['pue_it_kw'])} kW",
    ]
    for p in plan["phases"]:
        ex = p["excluded"]
        if ex:
            shown = ", ".join(f"{e['node']} ({e['reason']})" for e in ex[:5])
            more = f" and {len(ex) - 5} more" if len(ex) > 5 else ""
            lines.append(
                f"Excluded in {p['name']}: {shown}{more}; available "
                f"{_n(p['available_pflops'])} PFLOPS"
            )
    return lines


def _power_table(plan: Plan) -> Table:
    t = _table(
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
    for i, (name, p) in enumerate(rows):
        if name == "total" and i:
            t.add_section()
        t.add_row(
            name,
            _kw(p["it_nominal_kw"]),
            _kw(p["it_max_kw"]),
            _kw(p["liquid_heat_kw"]),
            _kw(p["air_heat_kw"]),
            _kw(p["feed_kw"]),
        )
    return t


def _bom_table(plan: Plan) -> Table:
    bom = plan["bom"]
    t = _table("Bill of materials", "Kind", "Item", "Detail", "Count", right=("Count",))
    for r in bom["nodes"]:
        detail = f"{r['cpu']}"
        if r["accelerator"]:
            detail = f"{r['cards_per_node']} x {r['accelerator']}, {detail}"
        count = _n(r["count"]) + (f" ({_n(r['excluded'])} excluded)" if r["excluded"] else "")
        t.add_row(r["role"], r["model"], detail, count)
    t.add_section()
    for r in bom["switches"]:
        t.add_row("switch", r["model"], f"{r['ports']} x {r['speed_gbps']}G", _n(r["count"]))
    t.add_section()
    for r in bom["racks"]:
        t.add_row("rack", r["type"], f"{r['units']}U, {_n(r['feed_kw'])} kW", _n(r["count"]))
    t.add_section()
    for r in bom["cables"]:
        item = f"{r['media']} {r['speed_gbps']}G"
        if r["breakout"]:
            item += f" -> {r['breakout']}"
        t.add_row("cable", item, f"{r['length_m']} m", _n(r["count"]))
    tot = bom["totals"]
    t.add_row("", "cables (physical)", f"{_n(tot['cable_lanes'])} links", _n(tot["cables"]))
    if "cables_shared_with_other_phases" in tot:
        t.add_row("", "  of which to other phases", "", _n(tot["cables_shared_with_other_phases"]))
    t.add_section()
    for r in bom["optics"]:
        t.add_row("optic", r["optic"], "", _n(r["count"]))
    t.add_row("", "optics", "MMF/SMF only; AOCs built in", _n(tot["optics"]))
    return t


def _plural(n: int, one: str, many: str) -> str:
    return f"{_n(n)} {one if n == 1 else many}"


def _ratio(lo: Any, hi: Any) -> str:
    if lo is None:
        return "-"
    if lo == hi:
        return f"{float(lo):.2f}:1"
    return f"{float(lo):.2f}-{float(hi):.2f}:1"


def _fabric_table(plan: Plan) -> Table:
    t = _table(
        "Fabric",
        "Plane",
        "Tier",
        "Model",
        "Switches",
        "Uplinks",
        "Oversubscription",
        "Limit",
        "Down",
        "Up",
        "Ports used",
        right=("Switches", "Uplinks", "Oversubscription", "Limit", "Down", "Up", "Ports used"),
    )
    last = None
    for r in plan["fabric"]["planes"]:
        if last is not None and r["plane"] != last:
            t.add_section()
        last = r["plane"]
        limit = r["max_oversubscription"]
        t.add_row(
            r["plane"],
            r["tier"],
            ", ".join(r["models"]),
            _n(r["switches"]),
            _n(r["uplinks_per_switch"]) if r["uplinks_per_switch"] else "-",
            _ratio(r["oversubscription_min"], r["oversubscription_max"]),
            f"{float(limit):g}:1" if limit is not None else "-",
            _bw(r["down_gbps"]),
            _bw(r["up_gbps"]),
            f"{_n(r['ports_used'])}/{_n(r['ports'])} ({_pct(r['port_use_pct'])})",
        )
    return t


def _ports_table(plan: Plan) -> Table:
    t = _table(
        "Port use per switch model",
        "Model",
        "Switches",
        "Ports",
        "Used",
        "Use",
        "Least used",
        "Most used",
        right=("Switches", "Ports", "Used", "Use", "Least used", "Most used"),
    )
    for r in plan["capacity"]["ports"]:
        t.add_row(
            r["model"],
            _n(r["switches"]),
            _n(r["ports"]),
            _n(r["ports_used"]),
            _pct(r["use_pct"]),
            _pct(r["min_use_pct"]),
            _pct(r["max_use_pct"]),
        )
    return t


def _fabric_lines(plan: Plan) -> list[str]:
    lines = []
    for a in plan["fabric"]["asns"]:
        if not a["switches"]:
            continue
        block = (
            f"block {a['block_first']}-{a['block_last']}, " if a["block_first"] is not None else ""
        )
        used = f"{a['first']}" if a["first"] == a["last"] else f"{a['first']}-{a['last']}"
        lines.append(
            f"ASNs {a['phase']}: {block}{_n(a['used'])} used ({used}) by "
            f"{_plural(a['switches'], 'switch', 'switches')}"
        )
    lb = plan["fabric"]["loopbacks"]
    if lb["cidr"] is not None:
        span = f" ({lb['first']}-{lb['last']})" if lb["first"] else ""
        lines.append(
            f"Loopbacks {lb['cidr']}: {_n(lb['used'])} of {_n(lb['size'])} used{span}, "
            f"{_pct(lb['use_pct'])}"
        )
    return lines


def _rack_tables(plan: Plan) -> list[Table]:
    summ = plan["capacity"]["racks"]
    t = _table(
        "Rack power and cooling (per rack type)",
        "Type",
        "Racks",
        "Feed kW",
        "Peak nominal",
        "Peak max",
        "Least headroom",
        "Peak liquid",
        "Peak air",
        "Over at max",
        right=(
            "Racks",
            "Feed kW",
            "Peak nominal",
            "Peak max",
            "Least headroom",
            "Peak liquid",
            "Peak air",
            "Over at max",
        ),
    )
    for r in summ["by_type"]:
        t.add_row(
            r["type"],
            _n(r["racks"]),
            _n(r["feed_kw"]),
            _kw(r["peak_rack_nominal_kw"]),
            _kw(r["peak_rack_max_kw"]),
            f"{_kw(r['min_headroom_kw'])} kW ({_pct(r['min_headroom_pct'])})",
            _pct(r["peak_liquid_use_pct"]),
            _pct(r["peak_air_use_pct"]),
            _n(r["over_feed_at_max"] + r["over_cooling_at_max"]),
        )
    w = _table(
        "Least power headroom (racks with identical figures listed once)",
        "Rack",
        "Like it",
        "Type",
        "Nominal kW",
        "Max kW",
        "Feed kW",
        "Headroom",
        "Liquid kW",
        "Air kW",
        right=("Like it", "Nominal kW", "Max kW", "Feed kW", "Headroom", "Liquid kW", "Air kW"),
    )
    for r in summ["tightest"]:
        w.add_row(
            r["rack"],
            _n(r["like"]),
            r["type"],
            _kw(r["nominal_kw"]),
            _kw(r["max_kw"]),
            _n(r["feed_kw"]),
            f"{_kw(r['headroom_kw'])} kW ({_pct(r['headroom_pct'])})",
            _heat(r["liquid_kw"], r["liquid_capacity_kw"]),
            _heat(r["air_kw"], r["air_capacity_kw"]),
        )
    return [t, w]


def _address_table(plan: Plan) -> Table:
    t = _table(
        "Address plan",
        "Plane",
        "Role",
        "CIDR",
        "Subnets",
        "Used",
        "Allocated",
        "Size",
        "Use",
        "Fill",
        right=("Subnets", "Used", "Allocated", "Size", "Use", "Fill"),
    )
    for r in plan["addresses"]:
        t.add_row(
            r["plane"],
            r["role"],
            r["cidr"],
            _n(r["subnets"]),
            _n(r["used"]),
            _n(r["allocated"]),
            _n(r["size"]),
            _pct(r["use_pct"]),
            _pct(r["fill_pct"]),
        )
    lb = plan["fabric"]["loopbacks"]
    if lb["cidr"] is not None:
        t.add_section()
        t.add_row(
            "loopbacks",
            "",
            lb["cidr"],
            "-",
            _n(lb["used"]),
            "-",
            _n(lb["size"]),
            _pct(lb["use_pct"]),
            "-",
        )
    return t


def _findings_lines(plan: Plan) -> list[str]:
    fs = plan["findings"]
    if not fs:
        return ["Findings: none"]
    lines = [f"Findings: {len(fs)}"]
    for f in fs:
        where = f["file"] or "<input>"
        if f["line"] is not None:
            where += f":{f['line']}:{f['column']}"
        lines.append(f"  {where}: {f['severity']}[{f['rule']}]: {f['message']}")
    return lines


def _renderables(plan: Plan) -> list[RenderableType]:
    """The sections in order, a blank line after each."""
    c = plan["cluster"]
    scope = f"phase {plan['phase']}" if plan["phase"] else "all phases"
    head = Text(f"wanka plan: {c['name']} ({', '.join(c['files'])}), {scope}", style="bold")
    racks: list[RenderableType] = list(_rack_tables(plan))
    sections: list[list[RenderableType]] = [
        [head],
        [_phase_table(plan), *(Text(line) for line in _summary_lines(plan))],
        [_power_table(plan)],
        [_bom_table(plan)],
        [_fabric_table(plan), *(Text(line) for line in _fabric_lines(plan))],
        [_ports_table(plan)],
        [racks[0]],
        [racks[1]],
        [_address_table(plan)],
        [Text(line) for line in _findings_lines(plan)],
    ]
    out: list[RenderableType] = []
    for i, section in enumerate(sections):
        if i:
            out.append("")
        out.extend(section)
    return out


def write_text(plan: Plan, out: TextIO, *, color: bool) -> None:
    """The plan as tables for people (PR comments, terminals); plain text when not `color`."""
    parts = _renderables(plan)
    probe = Console(file=StringIO(), width=1000, markup=False, emoji=False, highlight=False)
    width = max(
        100,
        *(probe.measure(p).maximum for p in parts if isinstance(p, Table)),
    )
    buf = StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=True,
    )
    for p in parts:
        console.print(p)
    # tables pad their cells: drop the trailing blanks so the text diffs cleanly
    out.write("".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines()))
