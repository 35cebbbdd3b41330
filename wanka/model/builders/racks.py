"""A pod's racks, and the nodes and switches in each, as its pod type declares them.

Each rack is numbered in its pod (`r01`...) and takes the next row position; its nodes fill
it from the lowest unit up, its switches the units above them. Switches are numbered per
(plane, tier) across the pod, which gives their rails and, with `AsnNumbering`, their ASNs.
A rack type, node model, plane or tier that does not resolve leaves its part unbuilt.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from wanka.findings import error
from wanka.language.loader import YMap
from wanka.model.builders.catalog import Catalog
from wanka.model.builders.manifest import Manifest
from wanka.model.builders.problems import Problems, at
from wanka.model.names import NODE_PREFIX, node_name, rack_name, switch_name
from wanka.model.numbering import AsnNumbering, PlaneTier, switch_rails, type_totals
from wanka.model.types import Node, Plane, Pod, Rack, RackType, Switch, SwitchModel, TierName


@dataclass(frozen=True, slots=True, kw_only=True)
class Sources:
    """What racks are filled from: the earlier parts of the build."""

    catalog: Catalog
    planes: dict[str, Plane]
    manifest: Manifest
    numbering: AsnNumbering
    problems: Problems


@dataclass(slots=True)
class Built:
    """Everything expanded so far, in the order built (slot order): retired pods' too."""

    pods: list[Pod] = field(default_factory=list)
    racks: list[Rack] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)


@dataclass(slots=True)
class _Cursor:
    """Where a pod being filled is: its switch totals, and counts of what it has so far."""

    totals: Counter[PlaneTier]  # switches per (plane, tier): rails depend on the leaf count
    first_pos: int | None  # row position of its first rack
    racks: int = 0
    nodes: int = 0
    servers: int = 0
    ordinals: Counter[PlaneTier] = field(default_factory=Counter)


def fill_pod(
    pod: Pod, ptype: YMap, first_pos: int | None, *, sources: Sources, built: Built
) -> None:
    """The racks of `pod` (at row positions from `first_pos` on), with their nodes and
    switches, added to the pod and to `built`."""
    cursor = _Cursor(type_totals(ptype), first_pos)
    rack_types = sources.catalog.rack_types
    for g in ptype["racks"]:
        rtype = rack_types.get(g["rack"])
        if rtype is None:
            sources.problems.cut_short(
                "rack type", g["rack"], rack_types, at(g, "rack", value=True)
            )
            continue
        for _ in range(g.get("count", 1)):
            rack = _add_rack(pod, rtype, g, cursor, built)
            unit = _add_nodes(rack, g.get("nodes", []), cursor, sources, built)
            _add_switches(rack, g.get("switches", []), cursor, unit, sources, built)


def _add_rack(pod: Pod, rtype: RackType, g: YMap, cursor: _Cursor, built: Built) -> Rack:
    cursor.racks += 1
    first_pos = cursor.first_pos
    rack = Rack(
        name=rack_name(pod.name, cursor.racks),
        pod=pod,
        type=rtype,
        role=g.get("role"),
        position=first_pos + cursor.racks - 1 if first_pos is not None else None,
        at=g.at,
    )
    pod.racks.append(rack)
    built.racks.append(rack)
    return rack


def _add_nodes(
    rack: Rack, decls: list[YMap], cursor: _Cursor, sources: Sources, built: Built
) -> int:
    """The rack's nodes from its lowest unit up; the next free unit."""
    pod = rack.pod
    models = sources.catalog.node_models
    facts = sources.manifest.node_facts
    unit = 1
    per_prefix: Counter[str] = Counter()
    for nd in decls:
        model = models.get(nd["model"])
        if model is None:
            sources.problems.cut_short(
                "node model", nd["model"], models, at(nd, "model", value=True)
            )
            continue
        prefix = NODE_PREFIX[model.role]
        for _k in range(nd["count"]):
            per_prefix[prefix] += 1
            supernode = None
            if model.role == "server":
                if pod.supernode_servers:
                    supernode = cursor.servers // pod.supernode_servers
                cursor.servers += 1
            name = node_name(rack.name, prefix, per_prefix[prefix])
            node = Node(
                name=name,
                pod=pod,
                rack=rack,
                model=model,
                unit=unit,
                index_in_pod=cursor.nodes,
                at=nd.at,
                supernode=supernode,
                facts=facts.get(name),
            )
            cursor.nodes += 1
            unit += model.rack_units
            rack.nodes.append(node)
            pod.nodes.append(node)
            built.nodes.append(node)
    return unit


def _add_switches(
    rack: Rack, decls: list[YMap], cursor: _Cursor, unit: int, sources: Sources, built: Built
) -> None:
    """The rack's switches above its nodes, from `unit` up."""
    pod = rack.pod
    numbering = sources.numbering
    for sd in decls:
        resolved = _switch_decl(sd, sources)
        if resolved is None:
            continue
        plane, tier, smodel = resolved
        key = (plane.name, tier)
        for _k in range(sd["count"]):
            ordinal = cursor.ordinals[key]
            cursor.ordinals[key] += 1
            name = switch_name(pod.name, plane.name, tier, ordinal)
            rails = switch_rails(plane, tier, ordinal, cursor.totals[key])
            facts = sources.manifest.switch_facts.get(name)
            group = numbering.group(pod, plane, tier, ordinal, cursor.totals)
            sw = Switch(
                name=name,
                pod=pod,
                rack=rack,
                plane=plane,
                tier=tier,
                model=smodel,
                ordinal=ordinal,
                unit=unit,
                at=sd.at,
                rails=rails,
                asn=numbering.asn(pod, plane, group, facts),
                facts=facts,
                asn_group=group,
            )
            unit += smodel.rack_units
            rack.switches.append(sw)
            pod.switches.append(sw)
            built.switches.append(sw)


def _switch_decl(sd: YMap, sources: Sources) -> tuple[Plane, TierName, SwitchModel] | None:
    """The plane, tier and model of a rack's switch declaration; None if one is missing."""
    problems = sources.problems
    plane = sources.planes.get(sd["plane"])
    if plane is None:
        problems.cut_short("plane", sd["plane"], sources.planes, at(sd, "plane", value=True))
        return None
    tier = plane.fabric.tier(sd["tier"]) if plane.fabric else None
    if tier is None:
        problems.incomplete = True
        problems.add(
            error(
                "FABRIC-TIER",
                f"plane '{plane.name}' has no {sd['tier']} tier"
                + (
                    f" (its fabric has {plane.fabric.tiers} tier(s))"
                    if plane.fabric
                    else " (it has no fabric)"
                ),
                at(sd, "tier", value=True),
                "add the tier to the plane's fabric, or use one of its tiers",
            )
        )
        return None
    smodel = sources.catalog.switch_models.get(tier.model)
    if smodel is None:
        # reported with the fabric (REF-UNRESOLVED); its switches are not built, so the
        # rules that would miss them (FABRIC-NO-LEAF, port counts) stay quiet
        problems.incomplete = True
        return None
    return plane, sd["tier"], smodel
