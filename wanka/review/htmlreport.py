"""`wanka report`: a static, self-contained HTML report of a cluster.

    DIR/index.html           the cluster: summary, capacity per phase against its target,
                             power and cooling, the fabric per plane, the bill of materials,
                             the racks (elevations, or a map of the pods), the findings
    DIR/pod-<pod>.html       one page per pod with its rack elevations and switches, when the
                             report covers more than `INLINE_RACKS` racks

Every figure comes from the plan document (`plan.build_plan`: capacity, power and cooling
headroom, bill of materials, fabric) and from the derived model (racks, devices, cables);
this module arranges them into pages and `svg` draws them. Pages are rendered from
templates/report/*.j2 with autoescaping, CSS inline, no script, nothing loaded from
elsewhere: the report opens from a file system, a CI artifact or a mail attachment.

A cluster with errors gets a findings-only report (`findings_pages`): the findings are what
a reviewer needs, and nothing is derived from an invalid model.

Output is deterministic (no dates; the same cluster file gives the same bytes) and written
atomically with `outdir.write_tree`.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from markupsafe import Markup

from wanka import __version__, templates
from wanka.derive.bundle import Derived
from wanka.findings import Finding
from wanka.jsonfmt import Json
from wanka.model.types import TIERS, Cluster, Pod, Switch
from wanka.outdir import write_tree
from wanka.review import capacity, facilitytables, svg, tables
from wanka.review.facilitypage import facility_page
from wanka.review.plan import build_plan
from wanka.review.tables import Link, Table, kw, n, pct, plural, signed, table

INLINE_RACKS = 40  # up to this many racks, index.html draws them all; beyond, a page per pod


def _page(template: str, **values: Any) -> str:
    page = templates.environment(html=True).get_template(f"report/{template}")
    return page.render(version=__version__, **values)


def pod_page(pod: Pod) -> str:
    """File name of a pod's page."""
    return f"pod-{pod.name}.html"


# ---- tables from the plan document -----------------------------------------------------------


def _summary(plan: Json) -> list[tuple[str, str]]:
    c = plan["cluster"]
    tot = c["totals"]
    power = plan["capacity"]["power"]
    store = plan["capacity"]["storage"]
    servers = n(tot["servers"])
    if tot["supernodes"]:
        servers += f" ({n(tot['supernodes'])} supernodes)"
    rows = [
        ("cluster", c["name"]),
        ("files", ", ".join(c["files"])),
        (
            "phases",
            ", ".join(c["phases"]) + (f" (this report: {plan['phase']})" if plan["phase"] else ""),
        ),
        (
            f"PFLOPS ({c['precision']})",
            f"{n(tot['achieved_pflops'])} of {n(tot['target_pflops'])} targeted "
            f"({signed(tot['margin_pflops'])}); available {n(tot['available_pflops'])}",
        ),
        ("cards", f"{n(tot['cards'])} ({n(tot['dies'])} dies, {n(tot['hbm_tb'])} TB HBM)"),
        (
            "nodes",
            f"{servers} servers, {n(tot['hosts'])} hosts, {n(tot['storage_nodes'])} storage "
            f"nodes; {n(tot['excluded_nodes'])} excluded",
        ),
        ("pods, racks", f"{n(tot['pods'])} pods, {n(tot['racks'])} racks"),
        (
            "network",
            f"{n(tot['switches'])} switches, {n(tot['cables'])} cables, {n(tot['optics'])} optics",
        ),
        (
            "IT power",
            f"{kw(power['total']['it_nominal_kw'])} kW nominal, "
            f"{kw(power['total']['it_max_kw'])} kW max; "
            + (
                facilitytables.summary_line(plan)
                or f"PUE = facility kW / {kw(power['pue_it_kw'])} kW (no spec.facility)"
            ),
        ),
        (
            "storage",
            (
                f"{n(store['raw_pb'])} PB raw on {n(store['drives'])} drives in "
                f"{n(store['storage_nodes'])} storage nodes"
                if store["storage_nodes"]
                else "no storage nodes"
            )
            + f"; node-local data drives {n(store['node_local_data_tb'])} TB",
        ),
    ]
    return rows


def _power_tables(plan: Json) -> list[Table]:
    return [tables.power(plan), tables.rack_types(plan), tables.tightest_racks(plan)]


def _rack_table(title: str, rows: Iterable[Json]) -> Table:
    t = table(
        title,
        "Rack",
        "Type",
        "Role",
        "Position",
        "Units used",
        "Nominal kW",
        "Max kW",
        "Feed kW",
        "Headroom",
        "Liquid kW",
        "Air kW",
        right=("Units used", "Nominal kW", "Max kW", "Feed kW", "Headroom", "Liquid kW", "Air kW"),
    )
    for r in rows:
        t.add(
            r["name"],
            r["type"],
            r["role"] or "-",
            f"{r['hall']}/{r['row'] or '-'}/{r['position'] or '-'}",
            f"{r['units_used']}/{r['units']}",
            kw(r["nominal_kw"]),
            kw(r["max_kw"]),
            n(r["feed_kw"]),
            f"{kw(r['headroom_kw'])} kW ({pct(r['headroom_pct'])})",
            f"{kw(r['liquid_kw'])}/{n(r['liquid_capacity_kw'])}",
            f"{kw(r['air_kw'])}/{n(r['air_capacity_kw'])}",
        )
    return t


def _bom_tables(plan: Json) -> list[Table]:
    bom = plan["bom"]
    nodes = table("Nodes", "Role", "Model", "Accelerator", "CPU", "Count", right=("Count",))
    for r in bom["nodes"]:
        acc = f"{r['cards_per_node']} x {r['accelerator']}" if r["accelerator"] else "-"
        count = n(r["count"]) + (f" ({n(r['excluded'])} excluded)" if r["excluded"] else "")
        nodes.add(r["role"], r["model"], acc, r["cpu"], count)
    switches = table("Switches", "Model", "Ports", "Count", right=("Count",))
    for r in bom["switches"]:
        switches.add(r["model"], f"{r['ports']} x {r['speed_gbps']}G", n(r["count"]))
    racks = table("Racks", "Type", "Units", "Feed kW", "Count", right=("Units", "Feed kW", "Count"))
    for r in bom["racks"]:
        racks.add(r["type"], r["units"], n(r["feed_kw"]), n(r["count"]))
    tot = bom["totals"]
    shared = tot.get("cables_shared_with_other_phases")
    cables = table(
        "Cables",
        "Media",
        "Speed",
        "Breakout",
        "Length",
        "Count",
        right=("Length", "Count"),
        note=f"{n(tot['cables'])} physical cables carrying {n(tot['cable_lanes'])} links"
        + (f"; {n(shared)} of them to other phases" if shared is not None else ""),
    )
    for r in bom["cables"]:
        cables.add(
            r["media"],
            f"{r['speed_gbps']}G",
            r["breakout"] or "-",
            f"{r['length_m']} m",
            n(r["count"]),
        )
    optics = table(
        "Optics",
        "Optic",
        "Count",
        right=("Count",),
        note=f"{n(tot['optics'])} transceivers, on MMF and SMF runs only (AOCs have theirs "
        "built in; DAC and CAT6 need none)",
    )
    for r in bom["optics"]:
        optics.add(r["optic"], n(r["count"]))
    return [nodes, switches, racks, cables, optics]


def _findings(items: Iterable[Json]) -> Table:
    t = table("Findings", "Where", "Severity", "Rule", "Message", "Hint")
    for f in items:
        where = str(f["file"] or "<input>")
        if f["line"] is not None:
            where += f":{f['line']}:{f['column']}"
        t.add(where, f["severity"], f["rule"], f["message"], f["hint"] or "")
    return t


# ---- drawings from the model -----------------------------------------------------------------


def _rails(rails: tuple[int, ...]) -> str:
    if not rails:
        return "-"
    if len(rails) == 1:
        return f"rail {rails[0]}"
    if rails == tuple(range(rails[0], rails[-1] + 1)):
        return f"rails {rails[0]}-{rails[-1]}"
    return "rails " + ",".join(str(r) for r in rails)


TIER_ORDER = {"nodes": 0, "leaf": 1, "spine": 2, "core": 3}  # links drawn bottom up


def fabric_views(d: Derived, sc: capacity.Scope) -> list[svg.FabricView]:
    """Per plane with a fabric: its switches in scope per tier (leaves grouped by the rails
    they serve), and its links in scope between two tiers, counted from the cabling."""
    c = d.cluster
    tier_of = {s.name: s.tier for s in c.switches}
    model_of = {s.name: s.model.key for s in c.switches}
    uppers: dict[tuple[str, str], set[str]] = defaultdict(set)  # (plane, tier) -> switches
    by_plane: dict[str, list[Switch]] = defaultdict(list)
    for s in sc.switches:
        by_plane[s.plane.name].append(s)
    links: dict[tuple[str, str, str], svg.Links] = {}
    cable_ids: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    nodes: dict[str, set[str]] = defaultdict(set)
    for cb in (x for x in sc.cables if not x.peer):  # a pair's peer link joins no two tiers
        lower = tier_of.get(cb.a.device, "nodes")
        if lower == "nodes":
            nodes[cb.plane].add(cb.a.device)
        key = (cb.plane, lower, tier_of.get(cb.b.device, "?"))
        ln = links.get(key)
        if ln is None:
            ln = links[key] = svg.Links(key[1], key[2], 0, 0, {}, {})
        ln.links += 1
        ln.speeds[cb.speed] = ln.speeds.get(cb.speed, 0) + 1
        ln.media[cb.media] = ln.media.get(cb.media, 0) + 1
        cable_ids[key].add(cb.id)
        uppers[(cb.plane, key[2])].add(cb.b.device)
    for key, ln in links.items():
        ln.cables = len(cable_ids[key])
    out: list[svg.FabricView] = []
    for plane in c.planes.values():
        fab = plane.fabric
        sws = by_plane.get(plane.name)
        if fab is None or not sws:
            continue
        view = svg.FabricView(plane.name, plane.role, len(nodes[plane.name]), rails=fab.rails)
        for tier in TIERS:
            in_tier = [s for s in sws if s.tier == tier]
            if not in_tier:
                continue
            groups: dict[tuple[int, ...], list[Switch]] = defaultdict(list)
            for s in in_tier:
                groups[s.rails].append(s)
            view.tiers[tier] = [
                svg.TierBox(
                    _rails(rails) if rails else f"{tier} switches",
                    len(group),
                    sorted({s.model.key for s in group}),
                )
                for rails, group in sorted(groups.items())
            ]
        for tier in TIERS:  # switches of other phases that links in scope reach
            if tier not in view.tiers and uppers.get((plane.name, tier)):
                reached = uppers[(plane.name, tier)]
                view.tiers[tier] = [
                    svg.TierBox(
                        f"{tier} switches of other phases",
                        len(reached),
                        sorted({model_of[name] for name in reached}),
                    )
                ]
        view.links = [
            ln
            for (p, lower, upper), ln in sorted(
                links.items(), key=lambda kv: (TIER_ORDER.get(kv[0][1], 9), kv[0])
            )
            if p == plane.name
        ]
        out.append(view)
    return out


def _switch_table(pod: Pod, d: Derived) -> Table:
    t = table(
        "Switches",
        "Switch",
        "Plane",
        "Tier",
        "Model",
        "Rack",
        "Unit",
        "Rails",
        "ASN",
        "Ports used",
        right=("Unit", "ASN", "Ports used"),
    )
    loads = d.topology.loads
    for s in pod.switches:
        used = loads[s.name].ports_needed if s.name in loads else 0
        t.add(
            s.name,
            s.plane.name,
            s.tier,
            s.model.key,
            s.rack.name,
            s.unit,
            _rails(s.rails),
            s.asn if s.asn is not None else "-",
            f"{used}/{s.model.ports}",
        )
    return t


def _pod_info(pod: Pod, rack_rows: list[Json], href: str) -> Json:
    cards = sum(n.model.cards for n in pod.nodes if n.model.accelerator is not None)
    return {
        "name": pod.name,
        "short": pod.short,
        "href": href,
        "phase": pod.phase.name,
        "phase_index": pod.phase.index,
        "type": pod.type,
        "hall": pod.hall,
        "row": pod.row,
        "cards": cards,
        "nodes": len(pod.nodes),
        "switches": len(pod.switches),
        "racks": rack_rows,
    }


def _pod_table(pods: list[Json]) -> Table:
    t = table(
        "Pods",
        "Pod",
        "Phase",
        "Type",
        "Hall/row",
        "Racks",
        "Nodes",
        "Cards",
        "Switches",
        "Least headroom",
        right=("Racks", "Nodes", "Cards", "Switches", "Least headroom"),
    )
    for p in pods:
        tight = min(p["racks"], key=lambda r: float(r["headroom_kw"]), default=None)
        t.add(
            Link(p["name"], p["href"]),
            p["phase"],
            p["type"],
            f"{p['hall']}/{p['row'] or '-'}",
            n(len(p["racks"])),
            n(p["nodes"]),
            n(p["cards"]),
            n(p["switches"]),
            f"{kw(tight['headroom_kw'])} kW ({pct(tight['headroom_pct'])})" if tight else "-",
        )
    return t


# ---- pages -----------------------------------------------------------------------------------


def pages(
    d: Derived, phase: str | None = None, inline_racks: int = INLINE_RACKS
) -> Iterator[tuple[str, str]]:
    """(file name, HTML) of every page of the report of `d` (restricted to `phase`)."""
    plan = build_plan(d, phase)
    sc = capacity.scope(d, phase)
    split = len(sc.racks) > inline_racks
    pods: list[Json] = []  # every pod's summary, for the index
    inline: list[Json] = []  # the pods drawn on the index (when not split)
    yield from _pod_pages(d, plan, sc, split, pods, inline)
    yield from facility_page(d, plan)
    yield "index.html", _index_page(d, plan, sc, phase, split, inline_racks, pods, inline)


def _pod_pages(
    d: Derived,
    plan: Json,
    sc: capacity.Scope,
    split: bool,
    pods: list[Json],
    inline: list[Json],
) -> Iterator[tuple[str, str]]:
    """A page per pod when the report is split; else the pods' racks go to `inline`."""
    rack_rows: dict[str, Json] = {r["name"]: r for r in plan["racks"]}
    for pod in sc.pods:
        rows = [rack_rows[r.name] for r in pod.racks]
        info = _pod_info(pod, rows, pod_page(pod) if split else f"#{pod.name}")
        pods.append(info)
        if split:
            yield (
                pod_page(pod),
                _page(
                    "pod.html.j2",
                    title=f"{pod.name}: racks and switches",
                    cluster=d.cluster.name,
                    pod=info,
                    legend=Markup(svg.legend()),
                    racks=[Markup(svg.rack(r, rack_rows[r.name])) for r in pod.racks],
                    tables=[_rack_table("Rack power and cooling", rows), _switch_table(pod, d)],
                ),
            )
        else:
            inline.append(
                {
                    "info": info,
                    "racks": [Markup(svg.rack(r, rack_rows[r.name])) for r in pod.racks],
                }
            )


def _index_page(
    d: Derived,
    plan: Json,
    sc: capacity.Scope,
    phase: str | None,
    split: bool,
    inline_racks: int,
    pods: list[Json],
    inline: list[Json],
) -> str:
    fabrics = [
        {
            "plane": v.plane,
            "role": v.role,
            "svg": Markup(svg.fabric(v)),
            "table": tables.fabric(plan, v.plane),
        }
        for v in fabric_views(d, sc)
    ]
    return _page(
        "index.html.j2",
        title=f"{d.cluster.name}: cluster report" + (f", phase {phase}" if phase else ""),
        cluster=d.cluster.name,
        valid=True,
        summary=_summary(plan),
        facility=plan["capacity"]["facility"]["declared"],
        capacity_svg=Markup(svg.capacity(plan["phases"], plan["cluster"]["precision"])),
        phase_table=tables.phases(plan),
        power_tables=_power_tables(plan),
        fabrics=fabrics,
        fabric_notes=tables.fabric_notes(plan)
        + [
            f"Plane {p.name} ({p.role}): no switched fabric"
            + ("" if p.fabric is None else " in this report")
            for p in d.cluster.planes.values()
            if p.name not in {f["plane"] for f in fabrics}
        ],
        bom_tables=_bom_tables(plan),
        split=split,
        inline_racks=inline_racks,
        legend=Markup(svg.legend()),
        pods=inline,
        pod_map=Markup(svg.pod_map(pods)) if split else "",
        pod_table=_pod_table(pods),
        findings=_findings(plan["findings"]),
    )


def findings_pages(
    path: str, cluster: Cluster | None, findings: Iterable[Finding]
) -> Iterator[tuple[str, str]]:
    """The report of a cluster with errors: what was read (the model as far as it was built,
    if it was), and every finding (the validation's, and those found while deriving)."""
    c = cluster
    summary = [("file", path)]
    if c is not None:
        summary += [
            ("cluster", c.name),
            ("phases", ", ".join(p.name for p in c.phases)),
            (
                "as far as it was built",
                f"{n(len(c.pods))} pods, {n(len(c.racks))} racks, {n(len(c.nodes))} nodes, "
                f"{n(len(c.switches))} switches",
            ),
        ]
    found = sorted(set(findings), key=Finding.sort_key)
    counts = Counter(str(f.severity) for f in found)
    summary.append(
        (
            "findings",
            f"{plural(counts['error'], 'error', 'errors')}, "
            f"{plural(counts['warning'], 'warning', 'warnings')}",
        )
    )
    yield (
        "index.html",
        _page(
            "index.html.j2",
            title=f"{c.name if c is not None else path}: cluster report (invalid)",
            cluster=c.name if c is not None else os.path.basename(path),
            valid=False,
            summary=summary,
            findings=_findings(f.as_dict() for f in found),
        ),
    )


def write(
    d: Derived,
    out: str | os.PathLike[str],
    phase: str | None = None,
    inline_racks: int = INLINE_RACKS,
) -> int:
    """Write the report of `d` into `out` atomically; the number of pages."""
    return write_tree(pages(d, phase, inline_racks), out)


def write_findings(
    path: str, cluster: Cluster | None, findings: Iterable[Finding], out: str | os.PathLike[str]
) -> int:
    """Write the findings-only report of an invalid cluster into `out` atomically."""
    return write_tree(findings_pages(path, cluster, findings), out)
