"""Derive: every address of the cluster.

Subnets come from `ipam.plane_subnets` and `ipam.pack` (the plan validation
already proved fits), in slot order (`wanka.model.slots`), so a pod given the
next free slot never moves an existing subnet, and a retired pod keeps its
subnets, places and loopbacks reserved. Inside a subnet the gateway
(the leaf, or the pod's leaf pair) takes the first address and every host has
its place: the k-th host in cabling order gets the k-th host address, pinned
or not. A pin takes its address without moving anyone: the pinned host's own
place stays free, and a pin on another (unpinned) host's place is refused
(NET-PIN-TAKEN), so pinning an address in a live pod never renumbers the rest.
Switch loopbacks are numbered in model order from `networks.loopbacks` the
same way: a pinned loopback leaves its switch's place free.

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
    # address -> who holds it by place (unpinned hosts: "node" or "node port"; switches)
    places: dict[IPv4Address, tuple[str, str]] = field(default_factory=dict)
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
    """Hands out a subnet's host addresses by place: every host, pinned or not, takes the next
    place (`skip` for a pinned one, whose place stays free), so a pin moves no one."""

    def __init__(self, net: IPv4Network) -> None:
        self.next = int(net.network_address) + 2  # +1 is the gateway
        self.last = int(net.broadcast_address) - 1

    def take(self) -> IPv4Address | None:
        if self.next > self.last:
            return None
        ip = IPv4Address(self.next)
        self.next += 1
        return ip

    def skip(self) -> None:
        self.next += 1


def allocate(cluster: Cluster, topo: Topology) -> Addressing:
    """Every address of a validated cluster."""
    out = Addressing()
    pins = _pins(cluster)
    by_leaf: dict[str, list[tuple[Node, Plane, int]]] = defaultdict(list)
    for pod in cluster.allocated_pods():
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
            hosts = _Hosts(net)
            if isinstance(owner, Pod):
                _fill_pod(out, owner, plane, sub, hosts, pins)
            else:
                _fill_leaf(out, by_leaf[owner.name], plane, sub, hosts, pins)
    _loopbacks(cluster, out)
    out.findings.extend(_taken(cluster, pins, out))
    if len(cluster.allocated_pods()) != len(cluster.pods):
        _drop_retired(cluster, out)
    return out


def _drop_retired(cluster: Cluster, out: Addressing) -> None:
    """Retired pods' addresses stay reserved (their places in `out.places`), but are no
    one's: they leave the plan."""
    gone = {p.name for p in cluster.allocated_pods() if p.retired}
    gone |= {x.name for p in cluster.allocated_pods() if p.retired for x in p.nodes}
    gone |= {x.name for p in cluster.allocated_pods() if p.retired for x in p.switches}
    out.subnets = [s for s in out.subnets if s.owner not in gone]
    out.by_owner = {k: v for k, v in out.by_owner.items() if k[1] not in gone}
    out.ports = {k: v for k, v in out.ports.items() if k[0] not in gone}
    out.port_subnet = {k: v for k, v in out.port_subnet.items() if k[0] not in gone}
    out.bonds = {k: v for k, v in out.bonds.items() if k[0] not in gone}
    out.bmcs = {k: v for k, v in out.bmcs.items() if k not in gone}
    out.loopbacks = {k: v for k, v in out.loopbacks.items() if k not in gone}


def _loopbacks(cluster: Cluster, out: Addressing) -> None:
    """Router ids by place in model order; a pinned switch leaves its place free."""
    if cluster.loopbacks is None:
        return
    hosts = _Hosts(cluster.loopbacks)
    hosts.next -= 1  # a /32 per switch: no gateway to keep free
    for sw in cluster.allocated_switches():
        if sw.plane.fabric is None or sw.plane.fabric.tiers < 2:
            continue
        pin = sw.facts.loopback if sw.facts is not None else None
        if pin is not None:
            hosts.skip()
            out.loopbacks[sw.name] = pin
            continue
        ip = hosts.take()
        if ip is None:
            out.findings.append(error("NET-CIDR-SIZE", "loopback range exhausted", sw.at))
            break
        out.loopbacks[sw.name] = ip
        out.places[ip] = (sw.name, "loopback")


def _taken(
    cluster: Cluster, pins: dict[tuple[str, str], IPv4Address], out: Addressing
) -> list[Finding]:
    """NET-PIN-TAKEN: a pin on the place of another, unpinned host (or switch loopback)."""
    found: list[Finding] = []
    nodes = {n.name: n for n in cluster.nodes}
    for (name, key), ip in pins.items():
        holder = out.places.get(ip)
        if holder is not None and name in nodes:
            found.append(taken_finding(nodes[name], key, ip, _holder(holder)))
    return found + _loopback_taken(cluster, out)


def loopback_pins_taken(cluster: Cluster) -> list[Finding]:
    """NET-PIN-TAKEN of pinned loopbacks alone (for validation: numbers only the loopbacks)."""
    if not any(s.facts is not None and s.facts.loopback is not None for s in cluster.switches):
        return []
    out = Addressing()
    _loopbacks(cluster, out)
    return _loopback_taken(cluster, out)


def _loopback_taken(cluster: Cluster, out: Addressing) -> list[Finding]:
    found: list[Finding] = []
    for sw in cluster.switches:
        pin = sw.facts.loopback if sw.facts is not None else None
        holder = out.places.get(pin) if pin is not None else None
        if pin is not None and holder is not None:
            at = sw.facts.key_marks.get("loopback", sw.at) if sw.facts else sw.at
            found.append(
                error(
                    "NET-PIN-TAKEN",
                    f"pinned loopback {pin} of {sw.name} is the place of {holder[0]}'s loopback "
                    "(pins move no one: every switch keeps the loopback of its place)",
                    at,
                    f"pin a loopback no switch is numbered into, or pin {holder[0]}'s too",
                )
            )
    return found


def taken_finding(node: Node, key: str, ip: IPv4Address, holder: str) -> Finding:
    what = "bmc.address" if key == "bmc" else f"addresses.{key}"
    at = node.facts.key_marks.get(what, node.at) if node.facts else node.at
    return error(
        "NET-PIN-TAKEN",
        f"pinned address {ip} of {node.name} is the place of {holder} in its subnet "
        "(pins move no one: every host keeps the address of its place)",
        at,
        f"pin an address past the subnet's last host, or pin {holder} too",
    )


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


def pin_problems(cluster: Cluster, topo: Topology, *, taken: bool = False) -> list[Finding]:
    """NET-PIN-SUBNET (or, with `taken`, NET-PIN-TAKEN) for the pins, computing only the
    subnets and the places in the pinned nodes' pods. NET-PIN-SUBNET is one finding per pod and
    plane, at its first wrong pin, naming and counting the others (a renumbered plane would
    otherwise flood one finding per pin)."""
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
    places: dict[IPv4Address, tuple[str, str]] = {}
    for pod in sorted(pods, key=lambda p: p.index):
        wrong: dict[str, list[tuple[Finding, str]]] = {}  # plane -> (finding, 'node key ip')
        for node, plane, key, what, sub, place in _pod_places(cluster, pod, subnets):
            pin = pins.get((node.name, key))
            if pin is None:
                places[sub.network.network_address + 2 + place] = (node.name, what)
            elif not taken:
                problem = pin_problem(sub, pin, node, what, cluster.planes[plane.name].cidr)
                if problem is not None:
                    wrong.setdefault(plane.name, []).append((problem, f"{node.name} {key} {pin}"))
        out.extend(_folded(pod, wrong))
    if taken:
        for (name, key), ip in pins.items():
            holder = places.get(ip)
            if holder is not None:
                out.append(taken_finding(nodes[name], key, ip, _holder(holder)))
    return out


def _folded(pod: Pod, wrong: dict[str, list[tuple[Finding, str]]]) -> list[Finding]:
    """One NET-PIN-SUBNET per plane of a pod: its first wrong pin's, naming the others."""
    out: list[Finding] = []
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


def _holder(holder: tuple[str, str]) -> str:
    name, what = holder
    return f"{name} ({what.removeprefix('addresses.')})"


def _pod_places(
    cluster: Cluster, pod: Pod, subnets: dict[tuple[str, str], Subnet]
) -> Iterator[tuple[Node, Plane, str, str, Subnet, int]]:
    """(node, plane, pin key, manifest key, subnet, place in it) of every address of a pod,
    as `allocate` numbers them: per-pod subnets in node order, leaf subnets in cabling order."""
    oob = next((p for p in cluster.planes.values() if p.role == "oob"), None)
    count: dict[tuple[str, str], int] = defaultdict(int)
    for node, plane, port, leaf in node_attachments(cluster, pod):
        if leaf is None:
            continue
        if port < 0 or per_pod(plane):
            if port > 0:
                continue  # one address per bonded node, on its first port
            key = "bmc" if port < 0 or plane is oob else plane.name
            owner = pod.name
            items = [(key, "bmc.address" if key == "bmc" else f"addresses.{key}")]
        else:
            per = addresses_per_port(node, plane)
            keys = [_pin_key(plane, port * per + die) for die in range(per)]
            owner = leaf.name
            items = [(k, f"addresses.{k}") for k in keys]
        sub = subnets.get((plane.name, owner))
        if sub is None:
            continue
        for key, what in items:
            yield node, plane, key, what, sub, count[(plane.name, owner)]
            count[(plane.name, owner)] += 1


def _give(
    out: Addressing, sub: Subnet, hosts: _Hosts, pin: IPv4Address | None, where: Node, what: str
) -> IPv4Address | None:
    if pin is not None:
        hosts.skip()
        problem = pin_problem(sub, pin, where, what)
        if problem is not None:
            out.findings.append(problem)
        return pin
    ip = hosts.take()
    if ip is None:
        out.findings.append(
            error("NET-CIDR-SIZE", f"subnet {sub.network} of {sub.owner} is full", where.at)
        )
    else:
        out.places[ip] = (where.name, what)
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
