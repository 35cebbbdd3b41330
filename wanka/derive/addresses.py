"""Derive: every address of the cluster.

Subnets come from `ipam.plane_subnets` and `ipam.pack` (the plan validation
already proved fits), in model order, so adding a phase or a pod at the end
of the last phase never moves an existing subnet. Inside a subnet the gateway
(the leaf, or the pod's leaf pair) takes the first address and hosts follow in
cabling order, skipping pinned addresses; switch loopbacks are numbered in
model order from `networks.loopbacks`.

Keys:
  ports[(node, plane, index)]   per-port planes; on the parameter plane the index
                                is the NPU device id (A3: card x dies + die)
  bonds[(node, plane)]          bonded planes (one address per node)
  bmcs[node]                    oob plane
  loopbacks[switch]             router ids of routed switches
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from wanka.derive.ipam import pack, per_pod, plane_subnets, subnet_size
from wanka.derive.topology import Topology, addresses_per_port, node_attachments
from wanka.findings import Finding, error, listed
from wanka.model.types import Cluster, Node, Plane, Pod, Switch, npu_key


@dataclass(frozen=True, slots=True)
class Subnet:
    plane: str
    owner: str  # leaf switch name, or pod name on per-pod planes
    network: IPv4Network
    gateway: IPv4Address


@dataclass(slots=True)
class Addressing:
    subnets: list[Subnet] = field(default_factory=list)
    by_owner: dict[tuple[str, str], Subnet] = field(default_factory=dict)  # (plane, owner)
    ports: dict[tuple[str, str, int], IPv4Address] = field(default_factory=dict)
    port_subnet: dict[tuple[str, str, int], Subnet] = field(default_factory=dict)
    bonds: dict[tuple[str, str], IPv4Address] = field(default_factory=dict)
    bmcs: dict[str, IPv4Address] = field(default_factory=dict)
    loopbacks: dict[str, IPv4Address] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def subnet_of(self, plane: str, owner: str) -> Subnet:
        return self.by_owner[(plane, owner)]


def _owners(
    cluster: Cluster, topo: Topology, plane: Plane
) -> list[tuple[Pod | Switch, IPv4Network]]:
    assert plane.cidr is not None
    demand = plane_subnets(cluster, topo, plane)
    offsets, _ = pack((subnet_size(n) for _, n in demand), plane.cidr)
    base = int(plane.cidr.network_address)
    out = []
    for (owner, hosts), off in zip(demand, offsets, strict=True):
        size = subnet_size(hosts)
        out.append((owner, IPv4Network((base + off, 32 - (size.bit_length() - 1)))))
    return out


def _pins(cluster: Cluster) -> dict[tuple[str, str], IPv4Address]:
    """(node, key) -> pinned address; key is a port name, a plane name (bonded) or 'bmc'."""
    out: dict[tuple[str, str], IPv4Address] = {}
    for name, f in cluster.node_facts.items():
        for key, ip in f.addresses.items():
            out[(name, key)] = ip
        if f.bmc_address is not None:
            out[(name, "bmc")] = f.bmc_address
    return out


def _pin_key(plane: Plane, index: int) -> str:
    """Manifest key of a per-port address: NPU devices by device id (npu3), host ports by name."""
    return npu_key(index) if plane.role == "parameter" else f"{plane.name}{index}"


class _Hosts:
    """Hands out a subnet's host addresses in order, skipping pinned ones."""

    def __init__(self, net: IPv4Network, taken: set[IPv4Address]) -> None:
        self.next = int(net.network_address) + 2  # +1 is the gateway
        self.last = int(net.broadcast_address) - 1
        self.taken = taken

    def take(self) -> IPv4Address | None:
        while self.next <= self.last:
            ip = IPv4Address(self.next)
            self.next += 1
            if ip not in self.taken:
                return ip
        return None


def allocate(cluster: Cluster, topo: Topology) -> Addressing:
    """Every address of a validated cluster."""
    out = Addressing()
    pins = _pins(cluster)
    pinned = set(pins.values())
    by_leaf: dict[str, list[tuple[Node, Plane, int]]] = defaultdict(list)
    for pod in cluster.pods:
        for node, plane, port, leaf in node_attachments(cluster, pod):
            if leaf is not None:
                by_leaf[leaf.name].append((node, plane, port))

    for plane in cluster.planes.values():
        if plane.cidr is None or plane.fabric is None:
            continue
        for owner, net in _owners(cluster, topo, plane):
            sub = Subnet(plane.name, owner.name, net, net.network_address + 1)
            out.subnets.append(sub)
            out.by_owner[(plane.name, owner.name)] = sub
            hosts = _Hosts(net, pinned)
            if isinstance(owner, Pod):
                _fill_pod(out, owner, plane, sub, hosts, pins)
            else:
                _fill_leaf(out, by_leaf[owner.name], plane, sub, hosts, pins)

    if cluster.loopbacks is not None:
        taken = {f.loopback for f in cluster.switch_facts.values() if f.loopback is not None}
        hosts = _Hosts(cluster.loopbacks, taken)
        hosts.next -= 1  # a /32 per switch: no gateway to keep free
        for sw in cluster.switches:
            if sw.plane.fabric is None or sw.plane.fabric.tiers < 2:
                continue
            pin = sw.facts.loopback if sw.facts is not None else None
            ip = pin or hosts.take()
            if ip is None:
                out.findings.append(error("NET-CIDR-SIZE", "loopback range exhausted", sw.at))
                break
            out.loopbacks[sw.name] = ip
    return out


def pin_problem(
    sub: Subnet, pin: IPv4Address, node: Node, what: str, plane: IPv4Network | None = None
) -> Finding | None:
    """A pinned address must be a host address of the subnet its port gets (a pin outside
    its plane altogether, `plane`, or on the plane's network or broadcast address, is
    NET-PIN-OUTSIDE's to report)."""
    net = sub.network
    if pin in net and pin not in (net.network_address, sub.gateway, net.broadcast_address):
        return None
    if plane is not None and (
        pin not in plane or pin in (plane.network_address, plane.broadcast_address)
    ):
        return None
    at = node.facts.key_marks.get(what, node.at) if node.facts else node.at
    return error(
        "NET-PIN-SUBNET",
        f"pinned address {pin} of {node.name} is not a host address of its subnet {net} "
        f"({sub.owner})",
        at,
        f"pin an address in {net} other than {sub.gateway}",
    )


def pin_problems(cluster: Cluster, topo: Topology) -> list[Finding]:
    """NET-PIN-SUBNET for the pins, computing only the subnets and the pinned nodes' pods: one
    finding per pod and plane, at its first wrong pin, naming and counting the others (a
    renumbered plane would otherwise flood one finding per pin)."""
    pins = _pins(cluster)
    if not pins:
        return []
    nodes = {n.name: n for n in cluster.nodes}
    pods = {nodes[name].pod for name, _ in pins if name in nodes}
    subnets: dict[tuple[str, str], Subnet] = {}
    for plane in cluster.planes.values():
        if plane.cidr is not None and plane.fabric is not None:
            for owner, net in _owners(cluster, topo, plane):
                subnets[(plane.name, owner.name)] = Subnet(
                    plane.name, owner.name, net, net.network_address + 1
                )
    out: list[Finding] = []
    for pod in sorted(pods, key=lambda p: p.index):
        wrong: dict[str, list[tuple[Finding, str]]] = {}  # plane -> (finding, 'node key ip')
        for name, node, sub, pin, key in _pod_pins(cluster, pod, subnets, pins):
            problem = pin_problem(
                sub,
                pin,
                node,
                f"addresses.{key}" if key != "bmc" else "bmc.address",
                cluster.planes[name].cidr,
            )
            if problem is not None:
                wrong.setdefault(name, []).append((problem, f"{node.name} {key} {pin}"))
        for name, found in wrong.items():
            first = found[0][0]
            if len(found) > 1:
                others = listed([what for _, what in found[1:]])
                first = dataclasses.replace(
                    first,
                    message=f"{first.message} (and {len(found) - 1:,} more pins of pod "
                    f"'{pod.name}' on plane '{name}' like it: {others})",
                )
            out.append(first)
    return out


def _pod_pins(
    cluster: Cluster,
    pod: Pod,
    subnets: dict[tuple[str, str], Subnet],
    pins: dict[tuple[str, str], IPv4Address],
) -> Iterator[tuple[str, Node, Subnet, IPv4Address, str]]:
    """(plane, node, the subnet its pin must be in, the pin, its manifest key) of every pin of
    a pod's nodes; a bonded plane's or the oob plane's pin once per node."""
    oob = next((p for p in cluster.planes.values() if p.role == "oob"), None)
    for node, plane, port, leaf in node_attachments(cluster, pod):
        if leaf is None:
            continue
        if port < 0 or per_pod(plane):
            if port > 0:
                continue  # one check per bonded node, on its first port
            key = "bmc" if port < 0 or plane is oob else plane.name
            sub = subnets.get((plane.name, pod.name))
            pin = pins.get((node.name, key))
            if sub is not None and pin is not None:
                yield plane.name, node, sub, pin, key
            continue
        per = addresses_per_port(node, plane)
        for die in range(per):
            key = _pin_key(plane, port * per + die)
            pin = pins.get((node.name, key))
            sub = subnets.get((plane.name, leaf.name))
            if pin is not None and sub is not None:
                yield plane.name, node, sub, pin, key


def _give(
    out: Addressing, sub: Subnet, hosts: _Hosts, pin: IPv4Address | None, where: Node, what: str
) -> IPv4Address | None:
    if pin is not None:
        problem = pin_problem(sub, pin, where, what)
        if problem is not None:
            out.findings.append(problem)
        return pin
    ip = hosts.take()
    if ip is None:
        out.findings.append(
            error("NET-CIDR-SIZE", f"subnet {sub.network} of {sub.owner} is full", where.at)
        )
    return ip


def _fill_pod(
    out: Addressing,
    pod: Pod,
    plane: Plane,
    sub: Subnet,
    hosts: _Hosts,
    pins: dict[tuple[str, str], IPv4Address],
) -> None:
    for node in pod.nodes:
        if plane.role == "oob":
            ip = _give(out, sub, hosts, pins.get((node.name, "bmc")), node, "bmc.address")
            if ip is not None:
                out.bmcs[node.name] = ip
        elif node.model.nic(plane.name) is not None:
            ip = _give(
                out, sub, hosts, pins.get((node.name, plane.name)), node, f"addresses.{plane.name}"
            )
            if ip is not None:
                out.bonds[(node.name, plane.name)] = ip


def _fill_leaf(
    out: Addressing,
    attached: list[tuple[Node, Plane, int]],
    plane: Plane,
    sub: Subnet,
    hosts: _Hosts,
    pins: dict[tuple[str, str], IPv4Address],
) -> None:
    for node, p, port in attached:
        if p is not plane or port < 0:
            continue
        per = addresses_per_port(node, plane)
        for die in range(per):
            index = port * per + die
            key = _pin_key(plane, index)
            ip = _give(out, sub, hosts, pins.get((node.name, key)), node, f"addresses.{key}")
            if ip is not None:
                out.ports[(node.name, plane.name, index)] = ip
                out.port_subnet[(node.name, plane.name, index)] = sub
