"""Port rules: NPU ports against cards, node interface names, bonds, breakouts by tier."""

from __future__ import annotations

from collections.abc import Iterator

from wanka.derive.topology import Topology
from wanka.findings import Finding, error, listed
from wanka.model.types import Cluster, NodeModel, Plane, Pod
from wanka.rules import rule

IFNAME_MAX = 15  # Linux IFNAMSIZ - 1: the longest interface name the kernel takes
BOND_PREFIX = "bond-"  # a bonded plane's bond interface: bond-<plane> (render/inventory.py)


def _used_models(cluster: Cluster) -> list[NodeModel]:
    """The node models some node is built from, in catalog order."""
    used = {n.model.key for n in cluster.nodes}
    return [m for m in cluster.node_models.values() if m.key in used]


@rule(
    "NPU-PORTS",
    "An NPU server has as many ports on its parameter plane as it has cards, on one parameter "
    "plane: A2 (910B) one port per card; A3 (910C) one port per card, shared by its two dies "
    "(each die a device with its own address on that port). Other nodes have no "
    "parameter-plane ports.",
    "c.yaml:33:18: error[NPU-PORTS]: model 'a3-phytium' has 16 ports on parameter plane 'param' "
    "for 8 cards (A3, 2 dies each): the parameter plane has one port per card, shared by its dies",
)
def npu_ports(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for m in _used_models(cluster):
        on = [
            (nic, cluster.planes[nic.plane])
            for nic in m.nics
            if nic.plane in cluster.planes and cluster.planes[nic.plane].role == "parameter"
        ]
        if not on:
            continue
        nic, plane = on[0]
        acc = m.accelerator
        if acc is None:
            yield error(
                "NPU-PORTS",
                f"model '{m.key}' has no NPUs but {nic.count} ports on parameter plane "
                f"'{plane.name}': the parameter plane is the RoCE fabric between NPUs",
                nic.at,
                "put its ports on a storage or management plane",
            )
        elif len(on) > 1:
            names = ", ".join(f"'{p.name}'" for _, p in on)
            yield error(
                "NPU-PORTS",
                f"model '{m.key}' has ports on parameter planes {names}: an NPU server is on "
                "one parameter plane (its hccn.conf and rank-table entries come from it)",
                on[1][0].at,
                "give each server model its ports on one parameter plane",
            )
        elif nic.count != m.cards:
            shared = (
                f" (A3, {acc.dies} dies each): the parameter plane has one port per card, "
                "shared by its dies"
                if acc.dies > 1
                else f" ({acc.generation}): the parameter plane has one port per card"
            )
            yield error(
                "NPU-PORTS",
                f"model '{m.key}' has {nic.count} ports on parameter plane '{plane.name}' "
                f"for {m.cards} cards{shared}",
                nic.at,
                f"set nics.{plane.name}.count to {m.cards}",
            )


@rule(
    "NPU-MGMT",
    "An NPU server has ports on an addressed management plane (one with a cidr and a fabric): "
    "its address there is the rank tables' server_id and host_ip.",
    "c.yaml:11:7: error[NPU-MGMT]: model 'srv' has NPUs but no port on an addressed management "
    "plane: its servers would have no server_id in the HCCL rank tables",
)
def npu_mgmt(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for m in _used_models(cluster):
        if m.accelerator is None or m.role != "server":
            continue
        planes = [cluster.planes.get(nic.plane) for nic in m.nics]
        if not any(p is not None and p.role == "parameter" for p in planes):
            continue  # not on a parameter plane: it has no hccn.conf or rank table at all
        if not any(
            p is not None and p.role == "management" and p.cidr and p.fabric for p in planes
        ):
            yield error(
                "NPU-MGMT",
                f"model '{m.key}' has NPUs but no port on an addressed management plane: its "
                "servers would have no server_id in the HCCL rank tables",
                m.at,
                "give the model nics on a management plane with a cidr and a fabric",
            )


def _longest_port(cluster: Cluster, plane: Plane) -> tuple[str, str] | None:
    """(the longest port name of a used model on the plane, that model), if any."""
    best: tuple[str, str] | None = None
    for m in _used_models(cluster):
        nic = m.nic(plane.name)
        if nic is not None:
            name = f"{plane.name}{nic.count - 1}"
            if best is None or len(name) > len(best[0]):
                best = (name, m.key)
    return best


@rule(
    "NAME-IFNAME",
    "The interface names a plane gives nodes (ports `<plane><i>`, the bond `bond-<plane>` of "
    "a bonded plane, the VLAN interface `<bond or port>.<vlan>` of a tagged one) fit Linux's "
    "15 characters; they are never cut, so two planes cannot end up with one name.",
    "c.yaml:120:7: error[NAME-IFNAME]: plane 'management-net' gives model 'a2-kunpeng' the "
    "interface names 'management-net1', 'bond-management-net': Linux takes at most 15 "
    "characters ('bond-management-net' has 19)",
)
def ifnames(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for plane in cluster.planes.values():
        longest = _longest_port(cluster, plane)
        if longest is None:
            continue
        port, model = longest
        names = [port] + ([BOND_PREFIX + plane.name] if plane.bonded else [])
        if plane.vlan is not None:  # a tagged plane's VLAN interface on the bond or each port
            names.append(f"{names[-1]}.{plane.vlan}")
        over = [n for n in names if len(n) > IFNAME_MAX]
        if not over:
            continue
        worst = max(over, key=len)
        yield error(
            "NAME-IFNAME",
            f"plane '{plane.name}' gives model '{model}' the interface "
            f"name{'s' if len(names) > 1 else ''} {', '.join(repr(n) for n in names)}: Linux "
            f"takes at most {IFNAME_MAX} characters ('{worst}' has {len(worst)})",
            plane.at,
            f"a plane name of at most {IFNAME_MAX - max(len(n) - len(plane.name) for n in names)}"
            " characters",
        )


@rule(
    "NET-BOND-LEAVES",
    "A bonded plane has at most one leaf pair per pod: a node's ports form one bond (M-LAG "
    "across the pair) in the pod's one subnet, whose gateway is that pair.",
    "c.yaml:160:15: error[NET-BOND-LEAVES]: pod 'lab-p1-pod01' (type lab-pod) has 4 leaves on "
    "bonded plane 'mgmt': a bond spans one leaf pair (at most 2 leaves per pod)",
)
def bond_leaves(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    bonded = [p for p in cluster.planes.values() if p.bonded and p.fabric is not None]
    if not bonded:
        return
    of_type: dict[str, list[Pod]] = {}
    for pod in cluster.pods:
        of_type.setdefault(pod.type, []).append(pod)
    for plane in bonded:
        for pods in of_type.values():
            leaves = [s for s in pods[0].switches if s.plane is plane and s.tier == "leaf"]
            if len(leaves) <= 2:
                continue
            who = (
                f"pod '{pods[0].name}' (type {pods[0].type}) has {len(leaves)} leaves"
                if len(pods) == 1
                else f"pods of type {pods[0].type} {listed([p.name for p in pods])} have "
                f"{len(leaves)} leaves each"
            )
            yield error(
                "NET-BOND-LEAVES",
                f"{who} on bonded plane '{plane.name}': a bond spans one leaf pair (at most 2 "
                "leaves per pod)",
                leaves[0].at,
                "two leaves per pod on a bonded plane, or make the plane not bonded",
            )


@rule(
    "FABRIC-BREAKOUT-TIER",
    "Only the leaf tier takes a downlink_breakout: it splits the leaf ports that face nodes. "
    "Spine and core downlinks are switch-to-switch links at the port speed.",
    "c.yaml:106:11: error[FABRIC-BREAKOUT-TIER]: plane 'param' spine: downlink_breakout 2x200G "
    "applies to leaves (their ports to nodes); spine downlinks are links to switches",
)
def breakout_tier(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for p in cluster.planes.values():
        if p.fabric is None:
            continue
        for tier in (p.fabric.spine, p.fabric.core):
            if tier is not None and tier.downlink_breakout is not None:
                yield error(
                    "FABRIC-BREAKOUT-TIER",
                    f"plane '{p.name}' {tier.name}: downlink_breakout {tier.downlink_breakout} "
                    f"applies to leaves (their ports to nodes); {tier.name} downlinks are links "
                    "to switches",
                    tier.at,
                    f"remove downlink_breakout from the {tier.name} tier",
                )
