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

from typing import TextIO

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from wanka import console
from wanka.derive.bundle import Derived
from wanka.findings import Finding
from wanka.review import addressplan, bom, capacity, fabricuse, facilitytables, power, tables
from wanka.review import facility as facility_plan
from wanka.review.tables import Plan, kw, n


def build_plan(d: Derived, phase: str | None = None) -> Plan:
    """The plan document; ValueError (listing the phases) if `phase` is not one of them."""
    sc = capacity.scope(d, phase)
    c = d.cluster
    phase_rows = capacity.phases(d, sc)
    rack_rows = power.racks(d, sc)
    it_power = power.it_power(d, sc)
    store = capacity.storage(d, sc)
    bill = bom.bom(d, sc)
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
        "it_nominal_kw": it_power["total"]["it_nominal_kw"],
        "it_max_kw": it_power["total"]["it_max_kw"],
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
            "power": it_power,
            "racks": power.rack_summary(rack_rows),
            "storage": store,
            "ports": fabricuse.port_use(d, sc),
            "facility": facility_plan.facility(d, sc),
        },
        "bom": bill,
        "fabric": {
            "planes": fabricuse.oversubscription(d, sc),
            "asns": addressplan.asn_ranges(d, sc),
            "loopbacks": addressplan.loopbacks(d, sc),
        },
        "addresses": addressplan.addresses(d, sc),
        "slots": _slots(d, phase),
        "racks": rack_rows,
        "findings": [f.as_dict() for f in sorted([*d.warnings, *d.findings], key=Finding.sort_key)],
    }


# ---- text --------------------------------------------------------------------------------


def _rich(t: tables.Table) -> Table:
    """A rich table (left-aligned title, a rule under the header and between sections)."""
    out = Table(title=t.title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for i, col in enumerate(t.columns):
        out.add_column(col, justify="right" if i in t.right else "left", no_wrap=True)
    for i, row in enumerate(t.rows):
        if i in t.sections:
            out.add_section()
        out.add_row(*(c.text if isinstance(c, tables.Link) else c for c in row))
    return out


def _slots(d: Derived, phase: str | None) -> Plan:
    """Every pod's allocation slot (retired ones too, which keep theirs) and the next free
    slot of the cluster: the one a new pod, in any phase, takes to move nothing."""
    pods = d.cluster.allocated_pods()
    return {
        "pods": [
            {"pod": p.name, "phase": p.phase.name, "slot": p.slot, "retired": p.retired}
            for p in pods
            if phase is None or p.phase.name == phase
        ],
        "next_free": max((p.slot for p in pods), default=0) + 1,
    }


def _summary_lines(plan: Plan) -> list[str]:
    tot = plan["cluster"]["totals"]
    power = plan["capacity"]["power"]
    store = plan["capacity"]["storage"]
    servers = f"{n(tot['servers'])} servers"
    if tot["supernodes"]:
        servers += f" ({n(tot['supernodes'])} supernodes)"
    storage = (
        f"Storage raw {n(store['raw_pb'])} PB ({n(store['raw_tb'])} TB) on "
        f"{n(store['drives'])} drives in {n(store['storage_nodes'])} storage nodes"
        if store["storage_nodes"]
        else "Storage: no storage nodes"
    )
    lines = [
        f"Cards {n(tot['cards'])} ({n(tot['dies'])} dies, {n(tot['hbm_tb'])} TB HBM) in "
        f"{servers}; {n(tot['hosts'])} hosts; {n(tot['switches'])} switches; "
        f"{n(tot['racks'])} racks",
        f"{storage}; node-local data drives {n(store['node_local_data_tb'])} TB",
        f"IT power {kw(power['total']['it_nominal_kw'])} kW nominal, "
        f"{kw(power['total']['it_max_kw'])} kW max; "
        + (
            facilitytables.summary_line(plan)
            or f"PUE = facility kW / {kw(power['pue_it_kw'])} kW (no spec.facility)"
        ),
    ]
    slots = plan["slots"]
    retired = [s["pod"] for s in slots["pods"] if s["retired"]]
    lines.append(
        f"Slots: {n(len(slots['pods']))} taken; next free slot {slots['next_free']} "
        "(a new pod given it moves nothing)"
        + (f"; retired, slots kept: {', '.join(retired)}" if retired else "")
    )
    for p in plan["phases"]:
        ex = p["excluded"]
        if ex:
            shown = ", ".join(f"{e['node']} ({e['reason']})" for e in ex[:5])
            more = f" and {len(ex) - 5} more" if len(ex) > 5 else ""
            lines.append(
                f"Excluded in {p['name']}: {shown}{more}; available "
                f"{n(p['available_pflops'])} PFLOPS"
            )
    return lines


def _bom_table(plan: Plan) -> tables.Table:
    bill = plan["bom"]
    t = tables.table("Bill of materials", "Kind", "Item", "Detail", "Count", right=("Count",))
    for r in bill["nodes"]:
        detail = f"{r['cpu']}"
        if r["accelerator"]:
            detail = f"{r['cards_per_node']} x {r['accelerator']}, {detail}"
        count = n(r["count"]) + (f" ({n(r['excluded'])} excluded)" if r["excluded"] else "")
        t.add(r["role"], r["model"], detail, count)
    t.section()
    for r in bill["switches"]:
        t.add("switch", r["model"], f"{r['ports']} x {r['speed_gbps']}G", n(r["count"]))
    t.section()
    for r in bill["racks"]:
        t.add("rack", r["type"], f"{r['units']}U, {n(r['feed_kw'])} kW", n(r["count"]))
    t.section()
    for r in bill["cables"]:
        item = f"{r['media']} {r['speed_gbps']}G"
        if r["breakout"]:
            item += f" -> {r['breakout']}"
        t.add("cable", item, f"{r['length_m']} m", n(r["count"]))
    tot = bill["totals"]
    t.add("", "cables (physical)", f"{n(tot['cable_lanes'])} links", n(tot["cables"]))
    if "cables_shared_with_other_phases" in tot:
        t.add("", "  of which to other phases", "", n(tot["cables_shared_with_other_phases"]))
    t.section()
    for r in bill["optics"]:
        t.add("optic", r["optic"], "", n(r["count"]))
    t.add("", "optics", "MMF/SMF only; AOCs built in", n(tot["optics"]))
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
    facility: list[list[RenderableType]] = [[_rich(t)] for t in facilitytables.tables(plan)]
    sections: list[list[RenderableType]] = [
        [head],
        [_rich(tables.phases(plan)), *(Text(line) for line in _summary_lines(plan))],
        [_rich(tables.power(plan))],
        *facility,
        [_rich(_bom_table(plan))],
        [_rich(tables.fabric(plan)), *(Text(line) for line in tables.fabric_notes(plan))],
        [_rich(tables.ports(plan))],
        [_rich(tables.rack_types(plan))],
        [_rich(tables.tightest_racks(plan))],
        [_rich(tables.addresses(plan))],
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
    console.write(_renderables(plan), out, color=color)
