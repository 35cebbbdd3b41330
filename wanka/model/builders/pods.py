"""Every pod, in slot order (`wanka.model.slots`): each placement's pods take the first row
of its row group with room for all their racks, side by side, and are filled by `racks`.

Pods that find no room are still built (without a row: LAYOUT-ROW-FULL); a pod name taken
twice is built once (NAME-UNIQUE). Retired pods are built and numbered like the others, so
that they keep what they were given, and are left out of the cluster's pods, racks, nodes
and switches (`Expansion`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from wanka.findings import Mark, error, listed
from wanka.language.loader import YMap
from wanka.model import slots
from wanka.model.builders.catalog import Catalog
from wanka.model.builders.layout import Layout, RowKey
from wanka.model.builders.manifest import Manifest
from wanka.model.builders.networks import Networks
from wanka.model.builders.phases import Phases
from wanka.model.builders.problems import Problems, at
from wanka.model.builders.racks import Built, Sources, fill_pod
from wanka.model.names import pod_name, pod_shorts
from wanka.model.numbering import AsnNumbering
from wanka.model.types import Node, Phase, Pod, Rack, Row, Switch


@dataclass(frozen=True, slots=True, kw_only=True)
class Expansion:
    """The expanded cluster: what is in service, and (`slots`, `all_switches`) every pod in
    slot order and every switch in that order, retired ones too: what allocation walks."""

    pods: list[Pod]
    racks: list[Rack]
    nodes: list[Node]
    switches: list[Switch]
    slots: list[Pod]
    all_switches: list[Switch]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Where:
    """What the pods of one placement are placed and numbered with."""

    group: list[Row]
    used_rows: dict[RowKey, int]
    pod_names: dict[str, Mark]
    slot: int  # of its first pod


def build_pods(
    *,
    spec: YMap,
    cluster_name: str,
    catalog: Catalog,
    networks: Networks,
    layout: Layout,
    manifest: Manifest,
    phases: Phases,
    problems: Problems,
) -> Expansion:
    pod_types = spec.get("pod_types", {})
    used_rows: dict[RowKey, int] = defaultdict(int)
    pod_names: dict[str, Mark] = {}
    numbering = AsnNumbering(networks.bgp)
    numbering.start(pod_types, [(ph.name, pd["pods"]) for ph, pd in phases.decls])
    sources = Sources(
        catalog=catalog,
        planes=networks.planes,
        manifest=manifest,
        numbering=numbering,
        problems=problems,
    )
    built = Built()
    placements, found = slots.ordered(phases.decls)
    problems.findings.extend(found)
    for slot, phase, placement in placements:
        ptype_name = placement["type"]
        ptype = pod_types.get(ptype_name)
        if ptype is None:
            problems.cut_short("pod type", ptype_name, pod_types, at(placement, "type", value=True))
            continue
        if placement["hall"] not in layout.halls:
            problems.cut_short(
                "hall", placement["hall"], layout.halls, at(placement, "hall", value=True)
            )
            continue
        group = _row_group(placement, layout, problems)
        if group is None:
            continue
        where = _Where(group=group, used_rows=used_rows, pod_names=pod_names, slot=slot)
        _placement(cluster_name, phase, placement, ptype, where, sources, built)
    return _in_service(built)


def _in_service(built: Built) -> Expansion:
    """Retired pods keep what they were given (`slots`), and leave the rest."""
    if not any(p.retired for p in built.pods):
        return Expansion(
            pods=built.pods,
            racks=built.racks,
            nodes=built.nodes,
            switches=built.switches,
            slots=built.pods,
            all_switches=built.switches,
        )
    return Expansion(
        pods=[p for p in built.pods if not p.retired],
        racks=[r for r in built.racks if not r.pod.retired],
        nodes=[n for n in built.nodes if not n.pod.retired],
        switches=[s for s in built.switches if not s.pod.retired],
        slots=built.pods,
        all_switches=built.switches,
    )


def _placement(
    cluster_name: str,
    phase: Phase,
    placement: YMap,
    ptype: YMap,
    where: _Where,
    sources: Sources,
    built: Built,
) -> None:
    """The pods of one placement, each in the first row of `group` with room for it. The
    pods that find no room, or whose names are taken, are one finding each for the
    placement (they share its position), naming them."""
    problems = sources.problems
    rack_total = sum(g.get("count", 1) for g in ptype["racks"])
    homeless: list[str] = []
    taken: list[str] = []
    name_at = at(placement, "name", value=True)
    pod_names, used_rows = where.pod_names, where.used_rows
    shorts = pod_shorts(placement)
    retired = set(placement.get("retired", []))
    _check_retired(phase, placement, shorts, retired, problems)
    for i, short in enumerate(shorts):
        full = pod_name(cluster_name, phase.name, short)
        if full in pod_names:
            taken.append(full)
            continue
        pod_names[full] = name_at
        row = _place(where.group, rack_total, used_rows)
        if row is None:
            homeless.append(full)
        pod = _pod(
            phase,
            placement,
            ptype,
            full=full,
            short=short,
            row=row,
            index=len(built.pods),
            slot=where.slot + i,
            retired=short in retired,
        )
        built.pods.append(pod)
        first_pos = (used_rows[(row.hall, row.name)] - rack_total + 1) if row else None
        fill_pod(pod, ptype, first_pos, sources=sources, built=built)
    if taken:
        who = f"pod {listed(taken)} is" if len(taken) == 1 else f"pods {listed(taken)} are"
        problems.add(
            error(
                "NAME-UNIQUE",
                f"{who} also defined at {pod_names[taken[0]]}",
                name_at,
                "pods of one phase need distinct names; set `first` to continue numbering",
            )
        )
    if homeless:
        _row_full(homeless, where.group, rack_total, used_rows, placement, problems)


def _check_retired(
    phase: Phase, placement: YMap, shorts: list[str], retired: set[str], problems: Problems
) -> None:
    unknown = sorted(retired - set(shorts))
    if unknown:
        problems.add(
            error(
                "POD-RETIRED",
                f"placement '{placement['name']}' of phase {phase.name} makes no pod "
                f"{listed(unknown)} (it makes {listed(shorts)})",
                at(placement, "retired", value=True),
                "name the retired pods as the placement numbers them",
            )
        )


def _pod(
    phase: Phase,
    placement: YMap,
    ptype: YMap,
    *,
    full: str,
    short: str,
    row: Row | None,
    index: int,
    slot: int,
    retired: bool,
) -> Pod:
    sn = ptype.get("supernode")
    return Pod(
        name=full,
        short=short,
        phase=phase,
        type=placement["type"],
        index=index,
        hall=placement["hall"],
        row=row.name if row else None,
        at=placement.at if isinstance(placement, YMap) else phase.at,
        slot=slot,
        retired=retired,
        supernode_servers=sn["servers"] if sn else None,
        supernode_cards=sn["cards"] if sn else None,
        supernode_at=at(ptype, "supernode") if sn else None,
    )


def _row_group(placement: YMap, layout: Layout, problems: Problems) -> list[Row] | None:
    hall, row = placement["hall"], placement["row"]
    group = layout.row_groups.get((hall, row))
    if group is None and (hall, row) in layout.rows:
        group = [layout.rows[(hall, row)]]
    if group is None:
        choices = {n for (h, n) in layout.rows if h == hall} | {
            g for (h, g) in layout.row_groups if h == hall
        }
        problems.cut_short(
            "row", row, choices, at(placement, "row", value=True), f"in hall '{hall}'"
        )
    return group


def _place(group: list[Row], racks: int, used: dict[RowKey, int]) -> Row | None:
    for row in group:
        if used[(row.hall, row.name)] + racks <= row.positions:
            used[(row.hall, row.name)] += racks
            return row
    return None


def _row_full(
    pods: list[str],
    group: list[Row],
    racks: int,
    used: dict[RowKey, int],
    placement: YMap,
    problems: Problems,
) -> None:
    """One LAYOUT-ROW-FULL for the pods of one placement that found no room: the pods
    after the first one that does not fit find none either (the rows only fill up)."""
    free = max((r.positions - used[(r.hall, r.name)] for r in group), default=0)
    kind = placement["type"]
    who = (
        f"pod {listed(pods)} (type {kind}) needs"
        if len(pods) == 1
        else f"pods of type {kind} {listed(pods)} need"
    )
    each = "" if len(pods) == 1 else " each"
    problems.add(
        error(
            "LAYOUT-ROW-FULL",
            f"{who} {racks} adjacent rack positions{each}; the most free in row "
            f"'{placement['row']}' is {free}",
            at(placement, "row", value=True),
            "add rows (or positions) to the hall, or place the pod in another row",
        )
    )
