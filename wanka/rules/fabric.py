"""Fabric rules: port budgets, speeds, breakouts, oversubscription, rails."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from wanka.derive.topology import Load, Topology
from wanka.findings import Finding, Mark, Severity, error, listed, warning
from wanka.model.types import Cluster, Pod, PortGroup, breakout_lanes
from wanka.rules import rule


def _grouped(loads: list[Load]) -> dict[tuple[Mark, str], list[Load]]:
    """Switches declared by one line behave alike: report them once, with a count."""
    out: dict[tuple[Mark, str], list[Load]] = defaultdict(list)
    for load in loads:
        out[(load.switch.at, load.switch.tier)].append(load)
    return out


def _more(group: list[Load], shown: Load) -> str:
    """The switches of a group besides the one a finding names: ` (and 2 more like it: 'b',
    'c')`, the first three of them named."""
    others = [ld.switch.name for ld in group if ld is not shown]
    if not others:
        return ""
    names = ", ".join(f"'{n}'" for n in others[:3]) + (", ..." if len(others) > 3 else "")
    return f" (and {len(others):,} more like it: {names})"


def _pods(pods: list[Pod]) -> str:
    """`pod 'a' (type t)`, or `pods of type t 'a', 'b', 'c' (and 9 more)` for the pods of one
    type a finding stands for."""
    if len(pods) == 1:
        return f"pod '{pods[0].name}' (type {pods[0].type})"
    return f"pods of type {pods[0].type} {listed([p.name for p in pods])}"


@rule(
    "PORT-CAPACITY",
    "No switch port is used twice: the ports a switch needs (node lanes after "
    "breakout, links from the tier below, uplinks) fit its port count.",
    "c.yaml:150:15: error[PORT-CAPACITY]: leaf 'lab-p1-pod01-param-leaf01' needs 36 ports (32 to nodes, 4 up), it has 32 (and 5 more like it: 'lab-p1-pod01-param-leaf02', 'lab-p2-pod01-param-leaf01', 'lab-p2-pod01-param-leaf02', ...)",
)
def ports(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    over = [ld for ld in topo.loads.values() if ld.ports_needed > ld.switch.model.ports]
    for group in _grouped(over).values():
        worst = max(group, key=lambda ld: ld.ports_needed)
        sw = worst.switch
        node_ports = -(-worst.node_lanes // worst.lanes_per_port)
        parts = [f"{node_ports} to nodes"] if node_ports else []
        if worst.below_links:
            parts.append(f"{worst.below_links} from below")
        if worst.uplinks:
            parts.append(f"{worst.uplinks} up")
        yield error(
            "PORT-CAPACITY",
            f"{sw.tier} '{sw.name}' needs {worst.ports_needed} ports "
            f"({', '.join(parts)}), it has {sw.model.ports}{_more(group, worst)}",
            sw.at,
            "more switches in this tier, fewer uplinks, a breakout, or a larger model",
        )


@rule(
    "NIC-SPEED",
    "Every node port runs at the speed of the switch port or breakout lane it is cabled to.",
    "c.yaml:150:15: error[NIC-SPEED]: leaf 'lab-p1-pod01-param-leaf01' has 400G ports but 32 node ports of 200G are cabled to it",
)
def nic_speed(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    bad = [ld for ld in topo.loads.values() if ld.slow_ports]
    for group in _grouped(bad).values():
        ld = group[0]
        sw = ld.switch
        for speed, count in sorted(ld.slow_ports.items()):
            lane = (
                f"{ld.lane_speed}G breakout lanes"
                if ld.lanes_per_port > 1
                else f"{sw.model.speed}G ports"
            )
            fits = [b for b in sw.model.breakouts if breakout_lanes(b)[1] == speed]
            hint = (
                f"set downlink_breakout: {fits[0]} on the {sw.plane.name} {sw.tier} tier"
                if fits
                else "use a switch model whose ports (or breakouts) match the NICs"
            )
            yield error(
                "NIC-SPEED",
                f"{sw.tier} '{sw.name}' has {lane} but {count} node ports of "
                f"{speed}G are cabled to it{_more(group, ld)}",
                sw.at,
                hint,
            )


@rule(
    "SWITCH-BREAKOUT",
    "A tier's downlink breakout is one its switch model supports and splits "
    "the model's port speed.",
    "c.yaml:105:60: error[SWITCH-BREAKOUT]: plane 'param' leaf: switch model lab-32x400g does not support breakout 4x200G",
)
def breakout(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for p in cluster.planes.values():
        if p.fabric is None:
            continue
        for tier in (p.fabric.leaf, p.fabric.spine, p.fabric.core):
            if tier is None or tier.downlink_breakout is None:
                continue
            sm = cluster.switch_models.get(tier.model)
            if sm is None:
                continue
            n, speed = breakout_lanes(tier.downlink_breakout)
            if tier.downlink_breakout not in sm.breakouts:
                yield error(
                    "SWITCH-BREAKOUT",
                    f"plane '{p.name}' {tier.name}: switch model {sm.key} "
                    f"does not support breakout {tier.downlink_breakout}",
                    tier.at,
                    f"supported: {', '.join(sm.breakouts) or 'none'}",
                )
            elif n * speed != sm.speed:
                yield error(
                    "SWITCH-BREAKOUT",
                    f"plane '{p.name}' {tier.name}: breakout "
                    f"{tier.downlink_breakout} does not split {sm.key}'s {sm.speed}G ports",
                    tier.at,
                )


@rule(
    "LINK-SPEED",
    "Switch-to-switch links join ports of the same speed: each uplink port (of its port "
    "group, on a model with mixed ports) and the port it lands on above.",
    "c.yaml:105:11: error[LINK-SPEED]: leaf 'sz1-p1-pod01-param-leaf01' uplinks from 400G ports to 800G ports of spines 'sz1-p1-core-param-spine01', 'sz1-p1-core-param-spine02', 'sz1-p1-core-param-spine03' (and 5 more)",
)
def link_speed(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    bad = [ld for ld in topo.loads.values() if ld.speed_mismatches]
    for group in _grouped(bad).values():
        ld = group[0]
        sw = ld.switch
        pairs: dict[tuple[int, int], list[str]] = {}
        tier_of = ""
        for t, mine, theirs in ld.speed_mismatches:
            names = pairs.setdefault((mine, theirs), [])
            if t.name not in names:
                names.append(t.name)
            tier_of = t.tier
        (mine, theirs), names = next(iter(pairs.items()))
        above = f"{tier_of} '{names[0]}'" if len(names) == 1 else f"{tier_of}s {listed(names)}"
        tier = sw.plane.fabric.tier(sw.tier) if sw.plane.fabric else None
        yield error(
            "LINK-SPEED",
            f"{sw.tier} '{sw.name}' uplinks from {mine}G ports to {theirs}G ports of "
            f"{above}{_more(group, ld)}",
            tier.at if tier else sw.at,
            "use models whose uplink and downlink ports match (on a model with mixed ports, "
            "list its port groups under ports: the uplinks take the last ports)",
        )


@rule(
    "FABRIC-OVERSUBSCRIPTION",
    "Each switch's downlink/uplink bandwidth ratio is within its tier's max_oversubscription.",
    "c.yaml:105:11: error[FABRIC-OVERSUBSCRIPTION]: leaf 'lab-p1-pod01-param-leaf01' is oversubscribed 8.00:1 (6,400G down, 800G up), the plane allows 4:1",
)
def oversubscription(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    bad = []
    for ld in topo.loads.values():
        sw = ld.switch
        tier = sw.plane.fabric.tier(sw.tier) if sw.plane.fabric else None
        if tier is None or not ld.up_targets or ld.up_bw == 0:
            continue
        if ld.down_bw / ld.up_bw > tier.max_oversubscription + 1e-9:
            bad.append(ld)
    for group in _grouped(bad).values():
        ld = max(group, key=lambda x: x.down_bw / x.up_bw)
        sw = ld.switch
        tier = sw.plane.fabric.tier(sw.tier)  # type: ignore[union-attr]
        assert tier is not None
        yield error(
            "FABRIC-OVERSUBSCRIPTION",
            f"{sw.tier} '{sw.name}' is oversubscribed "
            f"{ld.down_bw / ld.up_bw:.2f}:1 ({ld.down_bw:,}G down, {ld.up_bw:,}G up), the plane "
            f"allows {tier.max_oversubscription:g}:1{_more(group, ld)}",
            tier.at,
            "more uplinks, fewer nodes per leaf, or a higher max_oversubscription",
        )


@rule(
    "FABRIC-RAILS",
    "In a rail-optimised plane, rails = the plane's ports per server, and a pod's "
    "leaves divide evenly among the rails.",
    "c.yaml:100:18: error[FABRIC-RAILS]: plane 'param' has 8 rails but model 'a2-kunpeng' has 4 ports on it",
)
def rails(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for p in cluster.planes.values():
        fab = p.fabric
        if fab is None or not fab.rail_optimised or not fab.rails:
            continue
        used = {n.model.key for n in cluster.nodes}
        for m in cluster.node_models.values():
            nic = m.nic(p.name)
            if nic is not None and m.key in used and nic.count != fab.rails:
                yield error(
                    "FABRIC-RAILS",
                    f"plane '{p.name}' has {fab.rails} rails but model "
                    f"'{m.key}' has {nic.count} ports on it",
                    nic.at,
                    "rails must equal the NPU ports per server",
                )
        of_type: dict[str, list[Pod]] = {}
        for pod in cluster.pods:
            of_type.setdefault(pod.type, []).append(pod)
        for pods in of_type.values():
            pod_leaves = [s for s in pods[0].switches if s.plane is p and s.tier == "leaf"]
            leaves = len(pod_leaves)
            if leaves and leaves % fab.rails and fab.rails % leaves:
                each = " each" if len(pods) > 1 else ""
                yield error(
                    "FABRIC-RAILS",
                    f"{_pods(pods)} {'have' if each else 'has'} {leaves} {p.name} leaves{each} "
                    f"for {fab.rails} rails: one must be a multiple of the other",
                    pod_leaves[0].at,
                    "one leaf per rail (or per group of rails)",
                )


@rule(
    "SWITCH-PORT-MAP",
    "A switch model's port map works for its OS: on SONiC every port group gives its lanes "
    "(ports are named Ethernet<first lane>) and each breakout gives every child whole lanes; "
    "each group's breakouts split its speed.",
    "c.yaml:48:16: error[SWITCH-PORT-MAP]: switch model 'sn-64x400g' runs SONiC, which names ports by their lanes: ports 1-64 (400G) give none",
)
def port_map(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for sm in cluster.switch_models.values():
        for g in sm.groups:
            span = _span(g)
            if sm.os == "sonic" and g.lanes is None:
                yield error(
                    "SWITCH-PORT-MAP",
                    f"switch model '{sm.key}' runs SONiC, which names ports by their lanes: "
                    f"{span} ({g.speed}G) give none",
                    g.at,
                    "set lanes: 8 on a QSFP-DD/OSFP cage, 4 on QSFP28/QSFP112, 1 on SFP",
                )
            for b in g.breakouts:
                n, speed = breakout_lanes(b)
                if n * speed != g.speed:
                    yield error(
                        "SWITCH-PORT-MAP",
                        f"switch model '{sm.key}': breakout {b} does not split the {g.speed}G "
                        f"of {span}",
                        g.at,
                    )
                elif sm.os == "sonic" and g.lanes is not None and g.lanes % n:
                    yield error(
                        "SWITCH-PORT-MAP",
                        f"switch model '{sm.key}': breakout {b} splits the {g.lanes} lanes of "
                        f"{span} into {n}: SONiC gives each child whole lanes",
                        g.at,
                    )


_OS_NAMES = {
    "debian": "Debian/FRR, which names ports swpN",
    "vrp": "VRP, which names ports by slot/card/port",
    "sonic": "SONiC",
}


def _span(g: PortGroup) -> str:
    return f"ports {g.first}-{g.last}" if g.count > 1 else f"port {g.first}"


@rule(
    "SWITCH-SETTING-UNUSED",
    "A switch model setting its OS or its use makes meaningless: lanes on a Debian/FRR model "
    "(its ports are swpN), SONiC's platform/hwsku on a model no routed switch uses (no "
    "config_db.json carries them).",
    "c.yaml:58:9: warning[SWITCH-SETTING-UNUSED]: switch model 'lab-48x25g' runs Debian/FRR, which names ports swpN: the lanes of ports 1-48 name nothing",
    severity=Severity.WARNING,
)
def unused_setting(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    routed = {s.model.key for s in cluster.switches if s.plane.fabric and s.plane.fabric.tiers >= 2}
    used = {s.model.key for s in cluster.switches}
    for sm in cluster.switch_models.values():
        if (sm.platform or sm.hwsku) and sm.key in used and sm.key not in routed:
            yield warning(
                "SWITCH-SETTING-UNUSED",
                f"switch model '{sm.key}' gives SONiC's platform and hwsku, but none of its "
                "switches is routed: no config_db.json is rendered for them",
                sm.at,
                "drop sonic:, or use the model in a 2- or 3-tier fabric",
            )
        if sm.os == "sonic":
            continue
        for g in sm.groups:
            if g.lanes is not None:
                yield warning(
                    "SWITCH-SETTING-UNUSED",
                    f"switch model '{sm.key}' runs {_OS_NAMES[sm.os]}: the lanes "
                    f"of {_span(g)} name nothing",
                    g.at,
                    "drop lanes, or set os: sonic",
                )
