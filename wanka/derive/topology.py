"""Who connects to whom: node ports to leaves, leaves to spines, spines to cores.

This is the connectivity the model implies, computed once and shared by the
fabric rules (port budgets, speeds, oversubscription) and by cabling. It
assigns no port numbers; cabling does that. Retired pods are in it (their
leaves keep their spine ports reserved), in slot order.

Node ports: on a rail-optimised plane, port i goes to a leaf serving rail i
(several leaves per rail share a rail's servers in turn); on other planes the
k-th node's port i goes to leaf (k * ports + i) mod leaves, so a node's ports
land on different leaves. BMCs go to the oob plane's leaves in turn.

Leaf pairs of active-backup bonded planes are joined by a peer link
(`peer_pairs`), which takes one port of each.

Uplinks: a switch spreads its `uplinks` ports evenly over the switches of the
tier above that it can reach: those in its own pod, else those in the same
phase's network pods (pods without leaves of that plane), else those of the
phases it depends on. With `spine_groups: per_rail`, a rail's leaves reach
only that rail's share of the spines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from wanka.findings import Finding, error, listed
from wanka.model.types import Cluster, Node, Plane, Pod, Switch, breakout_lanes

UP = {"leaf": "spine", "spine": "core"}


@dataclass(slots=True, eq=False)
class Load:
    """What one switch carries."""

    switch: Switch
    lanes_per_port: int  # on downlinks facing nodes (breakout)
    lane_speed: int  # Gb/s of a downlink lane
    node_lanes: int = 0  # node ports cabled to it
    nodes: int = 0  # distinct nodes cabled to it
    addresses: int = 0  # addresses behind its node ports (A3: one per die on the parameter plane)
    last_node: Node | None = None
    node_bw: int = 0  # Gb/s of those ports
    slow_ports: dict[int, int] = field(
        default_factory=dict
    )  # NIC speed -> count, if not lane speed
    below_links: int = 0  # links from the tier below
    below_bw: int = 0  # Gb/s of the ports those links take on this switch
    peer_links: int = 0  # to the other leaf of an active-backup pair (see peer_pairs)
    uplinks: int = 0  # ports reserved for the tier above
    up_bw: int = 0  # Gb/s of those ports (the last `uplinks` ports, of their port groups)
    up_targets: list[Switch] = field(default_factory=list)
    links_per_target: int = 0
    # uplinks whose two ends differ in speed: (switch above, speed here, speed there)
    speed_mismatches: list[tuple[Switch, int, int]] = field(default_factory=list)

    @property
    def ports_needed(self) -> int:
        node_ports = -(-self.node_lanes // self.lanes_per_port)
        return node_ports + self.below_links + self.peer_links + self.uplinks

    @property
    def down_bw(self) -> int:
        return self.node_bw + self.below_bw


@dataclass(slots=True)
class Topology:
    loads: dict[str, Load]
    findings: list[Finding]
    # the leaf pairs of active-backup bonded planes, each bridged over one peer link
    peer_pairs: list[tuple[Switch, Switch]] = field(default_factory=list)


def peer_pairs(cluster: Cluster) -> list[tuple[Switch, Switch]]:
    """The leaf pairs that carry active-backup bonds: a pod's two leaves of a bonded plane
    whose nodes have a port on each. The pair bridges the plane over one peer link (a cable
    between them) and both hold the pod's gateway address with one MAC, so a frame reaching
    the leaf whose host link is the backup crosses to the other: no M-LAG needed."""
    out: list[tuple[Switch, Switch]] = []
    bonded = [p for p in cluster.planes.values() if p.bonded and p.bond_mode == "active-backup"]
    if not bonded:
        return out
    for pod in cluster.allocated_pods():
        for plane in bonded:
            leaves = _leaves(pod, plane.name)
            across = any(
                (nic := n.model.nic(plane.name)) is not None and nic.count > 1 for n in pod.nodes
            )
            if len(leaves) == 2 and across:
                out.append((leaves[0], leaves[1]))
    return out


def _leaves(pod: Pod, plane: str) -> list[Switch]:
    return [s for s in pod.switches if s.plane.name == plane and s.tier == "leaf"]


def port_leaf_index(
    leaf_rails: Sequence[tuple[int, ...]], rail_optimised: bool, k: int, ports: int, i: int
) -> int:
    """Index among a pod's leaves of the leaf port i of the pod's k-th node lands on: on a
    rail-optimised plane the leaves serving rail i take its nodes in turn; otherwise the node's
    ports go to consecutive leaves, (k x ports + i) mod leaves."""
    if rail_optimised:
        serving = [j for j, rails in enumerate(leaf_rails) if i in rails]
        if serving:
            return serving[k % len(serving)]
    return (k * ports + i) % len(leaf_rails)


def node_attachments(
    cluster: Cluster, pod: Pod
) -> Iterator[tuple[Node, Plane, int, Switch | None]]:
    """(node, plane, port index, leaf) for every node port of a pod, BMCs as port -1 on oob."""
    oob = next((p for p in cluster.planes.values() if p.role == "oob" and p.fabric), None)
    leaves_of = {name: _leaves(pod, name) for name in cluster.planes}
    rails_of = {name: [s.rails for s in leaves] for name, leaves in leaves_of.items()}
    optimised = {
        name: p.fabric is not None and p.fabric.rail_optimised and bool(p.fabric.rails)
        for name, p in cluster.planes.items()
    }
    counters: dict[str, int] = defaultdict(int)
    for node in pod.nodes:
        for nic in node.model.nics:
            plane = cluster.planes.get(nic.plane)
            if plane is None or plane.fabric is None:
                continue
            leaves = leaves_of[plane.name]
            rails, rail_optimised = rails_of[plane.name], optimised[plane.name]
            k = counters[plane.name]
            counters[plane.name] += 1
            for i in range(nic.count):
                leaf = (
                    leaves[port_leaf_index(rails, rail_optimised, k, nic.count, i)]
                    if leaves
                    else None
                )
                yield node, plane, i, leaf
        if oob is not None:
            leaves = leaves_of[oob.name]
            k = counters["\0bmc"]
            counters["\0bmc"] += 1
            yield node, oob, -1, (leaves[k % len(leaves)] if leaves else None)


def addresses_per_port(node: Node, plane: Plane) -> int:
    """Addresses behind one node port: on the parameter plane every die of an A3 card (910C:
    two) has its own RoCE address on the card's port; elsewhere one."""
    acc = node.model.accelerator
    if plane.role == "parameter" and acc is not None:
        return acc.dies
    return 1


def compute(cluster: Cluster) -> Topology:
    """The loads of every switch: node ports onto leaves, then uplinks tier by tier."""
    findings: list[Finding] = []
    loads = _loads(cluster)
    _attach_node_ports(cluster, loads, findings)
    _attach_uplinks(cluster, loads, findings)
    pairs = peer_pairs(cluster)
    for a, b in pairs:
        loads[a.name].peer_links += 1
        loads[b.name].peer_links += 1
    return Topology(loads, findings, pairs)


def _loads(cluster: Cluster) -> dict[str, Load]:
    """An empty load per switch: its downlink lanes (breakout) and the uplinks it reserves."""
    loads: dict[str, Load] = {}
    for sw in cluster.allocated_switches():
        tier = sw.plane.fabric.tier(sw.tier) if sw.plane.fabric else None
        lanes, lane_speed = 1, sw.model.speed
        if tier is not None and tier.downlink_breakout:
            lanes, lane_speed = breakout_lanes(tier.downlink_breakout)
        uplinks = tier.uplinks if tier else 0
        m = sw.model
        up_bw = (
            sum(m.port_speed(p) for p in range(m.ports - uplinks + 1, m.ports + 1))
            if len(m.groups) > 1
            else uplinks * m.speed
        )
        loads[sw.name] = Load(sw, lanes, lane_speed, uplinks=uplinks, up_bw=up_bw)
    return loads


def _attach_node_ports(cluster: Cluster, loads: dict[str, Load], findings: list[Finding]) -> None:
    """Every node port (and BMC) onto its leaf; FABRIC-NO-LEAF where a pod has none."""
    missing: set[tuple[str, str]] = set()
    for pod in cluster.allocated_pods():
        for node, plane, port, leaf in node_attachments(cluster, pod):
            if leaf is None:
                # pods of one type miss the same leaf: report it once per type
                if cluster.complete and (pod.type, plane.name) not in missing:
                    missing.add((pod.type, plane.name))
                    findings.append(
                        error(
                            "FABRIC-NO-LEAF",
                            f"pod '{pod.name}' has nodes with ports on plane '{plane.name}' but no "
                            f"{plane.name} leaf",
                            node.at,
                            f"add switches {{plane: {plane.name}, tier: leaf}} "
                            f"to pod type '{pod.type}'",
                        )
                    )
                continue
            load = loads[leaf.name]
            speed = node.model.bmc_speed if port < 0 else node.model.nic(plane.name).speed  # type: ignore[union-attr]
            lane_speed = load.lane_speed
            if len(leaf.model.groups) > 1:  # the port group the lane lands in
                phys = load.node_lanes // load.lanes_per_port + 1
                lane_speed = leaf.model.port_speed(phys) // load.lanes_per_port
            load.node_lanes += 1
            load.node_bw += speed
            load.addresses += addresses_per_port(node, plane) if port >= 0 else 1
            if load.last_node is not node:
                load.nodes += 1
                load.last_node = node
            if speed != lane_speed:
                load.slow_ports[speed] = load.slow_ports.get(speed, 0) + 1


class _Reach:
    """The switches of the tier above that a switch can reach (see the module docstring)."""

    def __init__(self, cluster: Cluster) -> None:
        self.by_phase_plane_tier: dict[tuple[str, str, str], list[Switch]] = defaultdict(list)
        self.leaf_planes_of_pod: dict[str, set[str]] = defaultdict(set)
        for sw in cluster.allocated_switches():
            self.by_phase_plane_tier[(sw.pod.phase.name, sw.plane.name, sw.tier)].append(sw)
            if sw.tier == "leaf":
                self.leaf_planes_of_pod[sw.pod.name].add(sw.plane.name)

    def targets(self, sw: Switch, up: str) -> list[Switch]:
        """Those in its own pod, else the phase's network pods', else its phase's
        dependencies'."""
        own = [s for s in sw.pod.switches if s.plane is sw.plane and s.tier == up]
        targets = own or [
            s
            for s in self.by_phase_plane_tier[(sw.pod.phase.name, sw.plane.name, up)]
            if sw.plane.name not in self.leaf_planes_of_pod[s.pod.name]
        ]
        if not targets:
            for dep in sw.pod.phase.depends_on:
                targets.extend(self.by_phase_plane_tier[(dep, sw.plane.name, up)])
        return targets


def _attach_uplinks(cluster: Cluster, loads: dict[str, Load], findings: list[Finding]) -> None:
    """Every switch's uplinks spread evenly over the switches it reaches in the tier above."""
    reach = _Reach(cluster)
    reported: set[tuple[str, str, str]] = set()
    no_spine: dict[tuple[str, str, str], tuple[Switch, list[str]]] = {}  # first switch, pods

    def report(key: tuple[str, str, str], finding: Finding) -> None:
        if key not in reported:
            reported.add(key)
            findings.append(finding)

    for sw in cluster.allocated_switches():
        fab = sw.plane.fabric
        up = UP.get(sw.tier)
        if fab is None or up is None or fab.tier(up) is None:  # type: ignore[arg-type]
            continue
        load = loads[sw.name]
        targets = reach.targets(sw, up)
        # pods of one type in one phase behave alike: report once per (phase, pod type)
        key = (f"{sw.pod.phase.name}/{sw.pod.type}", sw.plane.name, sw.tier)
        if not targets:
            first, pods = no_spine.setdefault(key, (sw, []))
            if not pods or pods[-1] != sw.pod.name:
                pods.append(sw.pod.name)
            continue
        if sw.tier == "leaf" and fab.spine_groups == "per_rail" and fab.tiers == 2:
            rails = fab.rails or 1
            if len(targets) % rails or len(sw.rails) != 1:
                report(
                    key,
                    error(
                        "FABRIC-RAILS",
                        f"plane '{sw.plane.name}': per-rail spine groups need a spine count "
                        f"that is a "
                        f"multiple of the {rails} rails and one rail per leaf "
                        f"(found {len(targets)} spines, {len(sw.rails)} rail(s) on {sw.name})",
                        fab.at,
                        "use spine_groups: shared, or adjust the spine count",
                    ),
                )
                continue
            size = len(targets) // rails
            r = sw.rails[0]
            targets = targets[r * size : (r + 1) * size]
        if load.uplinks == 0 or load.uplinks % len(targets):
            report(
                key,
                error(
                    "FABRIC-UPLINKS",
                    f"{sw.tier} '{sw.name}' has {load.uplinks} uplinks to spread over "
                    f"{len(targets)} {up} switches; they must divide evenly",
                    fab.tier(sw.tier).at,  # type: ignore[union-attr]
                    f"set {sw.tier}.uplinks to a multiple of {len(targets)}",
                ),
            )
            continue
        if (gone := _retired_targets(sw, targets)) is not None:
            report((key[0], sw.plane.name, "retired"), gone)
        load.up_targets = targets
        load.links_per_target = load.uplinks // len(targets)
        _link(sw, load, loads)
    if cluster.complete:
        findings.extend(_no_spine(sw, pods) for sw, pods in no_spine.values())


def _no_spine(sw: Switch, pods: list[str]) -> Finding:
    """FABRIC-NO-SPINE for the pods of one type in one phase whose switches of one plane
    and tier have nothing above them: one finding naming the pods."""
    up = UP[sw.tier]
    where = f"pod '{pods[0]}'" if len(pods) == 1 else f"pods {listed(pods)}"
    return error(
        "FABRIC-NO-SPINE",
        f"{sw.tier} switches of plane '{sw.plane.name}' in {where} have no {up} to connect to",
        sw.at,
        f"add {up} switches to this phase, or depend on a phase that has them",
    )


def _link(sw: Switch, load: Load, loads: dict[str, Load]) -> None:
    """Take the ports of sw's uplinks on the switches above, in the order cabling numbers
    them: sw's last `uplinks` ports, over its targets in turn, onto each target's ports from
    port 1; add up the bandwidth and note ends of different speeds."""
    m = sw.model
    mixed = len(m.groups) > 1
    port = m.ports - load.uplinks + 1
    for t in load.up_targets:
        tl = loads[t.name]
        tm = t.model
        for _ in range(load.links_per_target):
            mine = m.port_speed(port) if mixed else m.speed
            tl.below_links += 1
            theirs = tm.port_speed(tl.below_links) if len(tm.groups) > 1 else tm.speed
            tl.below_bw += theirs
            if mine != theirs:
                load.speed_mismatches.append((t, mine, theirs))
            port += 1


def _retired_targets(sw: Switch, targets: list[Switch]) -> Finding | None:
    """POD-RETIRED: a switch that stays uplinks into a retired pod's switches."""
    gone = [t.name for t in targets if t.pod.retired]
    if not gone or sw.pod.retired:
        return None
    return error(
        "POD-RETIRED",
        f"pod '{sw.pod.name}' uplinks into switches of a retired pod: {listed(gone)}",
        sw.pod.at,
        "retire the pods that need them too, or keep their pod",
    )
