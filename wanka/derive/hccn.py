"""Derive: the parameter-plane (RoCE) address of every NPU device of a server (hccn.conf).

The driver tools read one block of `key_N=value` lines per device N. Device ids are
the indexes of `Addressing.ports` on the server's parameter plane (a cluster may have
several, e.g. one for an A2 phase and one for the A3 phases; each server is on one):
on A2 (910B) one device per card; on A3 (910C) one per die, device = card x dies + die,
both dies of a card sharing the card's port and subnet. Each generation has its own key
order, copied from real files:

  A2: address, netmask, netdetect, gateway, send_arp_status, tls_enable
  A3: address, netmask, gateway, arp, netdetect, send_arp_status, tls_enable

netdetect is the gateway (the leaf the port is cabled to). On A3, `arp_N` is a
static ARP entry for the sibling die of the same card (`-i ethN -s <address> <mac>`);
its MAC comes from the manifest (`macs: {param<device>: ...}`). When that MAC is not
known the arp line is left out for that device: the driver then resolves the
sibling by ARP like any other neighbour.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from wanka.derive.addresses import Subnet
from wanka.derive.bundle import Derived
from wanka.derive.topology import addresses_per_port
from wanka.model.types import Cluster, Node, Plane, npu_key

GENERATIONS = ("A2", "A3")

Device = dict[str, str | int]


def parameter_plane(cluster: Cluster, node: Node) -> Plane | None:
    """The parameter plane (the RoCE fabric between NPUs) a node has ports on, if any: with
    several parameter planes (one per phase or generation) each server is on its own."""
    return cluster.plane_of(node, "parameter")


def management_plane(cluster: Cluster, node: Node) -> Plane | None:
    """The management plane a node has ports on (host addresses: SSH, rank-table server ids)."""
    return cluster.plane_of(node, "management")


def management_address(d: Derived, node: Node) -> IPv4Address | None:
    """A node's host address: its bond's on a bonded management plane, else its first port's
    there (SSH, the rank tables' server_id); None without an addressed management plane."""
    plane = management_plane(d.cluster, node)
    if plane is None:
        return None
    bond = d.addressing.bonds.get((node.name, plane.name))
    return bond if bond is not None else d.addressing.ports.get((node.name, plane.name, 0))


def is_npu_server(cluster: Cluster, node: Node) -> bool:
    """A server with NPUs and ports on a parameter plane."""
    return (
        node.model.role == "server"
        and node.model.accelerator is not None
        and parameter_plane(cluster, node) is not None
    )


def npu_addresses(d: Derived, node: Node) -> list[tuple[int, IPv4Address, Subnet]]:
    """(device id, address, subnet) of every NPU device of a server, by device id."""
    plane = parameter_plane(d.cluster, node)
    if plane is None or not is_npu_server(d.cluster, node):
        raise ValueError(f"{node.name} is not an NPU server on a parameter plane")
    nic = node.model.nic(plane.name)
    assert nic is not None
    out = []
    for device in range(nic.count * addresses_per_port(node, plane)):
        key = (node.name, plane.name, device)
        ip, sub = d.addressing.ports.get(key), d.addressing.port_subnet.get(key)
        if ip is None or sub is None:
            raise ValueError(f"{node.name} device {device} has no {plane.name} address")
        out.append((device, ip, sub))
    return out


def hccn_devices(d: Derived, node: Node | str) -> list[Device]:
    """One plain dict per NPU device of a server, ready for templates/hccn.conf.j2, on the
    parameter plane the server has ports on; none for a node that is not an NPU server on a
    parameter plane (it has no hccn.conf).

    Keys: device, address, netmask, gateway, netdetect (= gateway), send_arp_status (1),
    tls_enable (0); on A3 also arp, the sibling die's static ARP entry, but only when the
    sibling's MAC is in the manifest (`macs: {param<sibling device>: ...}`): without it
    the key is absent and the rendered file has no arp line for that device.
    """
    server = node if isinstance(node, Node) else d.cluster.node(node)
    plane = parameter_plane(d.cluster, server)
    if plane is None or not is_npu_server(d.cluster, server):
        return []
    addresses = npu_addresses(d, server)
    by_device = {device: ip for device, ip, _ in addresses}
    dies = addresses_per_port(server, plane)
    macs = server.facts.macs if server.facts is not None else {}
    out: list[Device] = []
    for device, ip, sub in addresses:
        entry: Device = {
            "device": device,
            "address": str(ip),
            "netmask": str(sub.network.netmask),
            "gateway": str(sub.gateway),
            "netdetect": str(sub.gateway),
            "send_arp_status": 1,
            "tls_enable": 0,
        }
        if dies == 2:
            sibling = device ^ 1  # the other die of the same card
            mac = macs.get(npu_key(sibling))
            if mac is not None and sibling in by_device:
                entry["arp"] = f"-i eth{device} -s {by_device[sibling]} {mac}"
        out.append(entry)
    return out


def generation(node: Node) -> str:
    """The NPU generation of a server: A2 or A3."""
    acc = node.model.accelerator
    if acc is None or acc.generation not in GENERATIONS:
        raise ValueError(f"{node.name}: no NPU generation among {', '.join(GENERATIONS)}")
    return acc.generation
