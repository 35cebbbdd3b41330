"""Derive: the addresses of numbered switch-to-switch links (the fabric links of VRP switches).

Debian/FRR and SONiC switches peer unnumbered (IPv6 link-local, RFC 5549). VRP's BGP is
configured per peer address (`peer 10.1.1.2 as-number 300`, the CE6800 manuals' EBGP examples,
../shared/reference/vrp/ce6800v300_bgp_load_balancing_example.txt), and the V300 command
reference documents no unnumbered peer command, so every cable between two VRP switches gets
a /31 (RFC 3021) from `networks.links`: the upper end (the spine) the even address, the lower
end the odd one.

Growth never moves a link: each upper VRP switch with links below it takes a block of the pool,
in model (slot) order over every switch allocation walks, retired ones too, as loopbacks are
numbered; inside its block the link on its port P takes the P-th /31. A block is 2 x the ports
of the largest upper VRP model, rounded up to a power of two. `block_need` is what the rule
NET-LINKS-FIT compares with the pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from wanka.derive.cabling import Cable
from wanka.model.types import Cluster, Switch


@dataclass(frozen=True, slots=True)
class LinkEnd:
    address: IPv4Address  # this end's
    peer: IPv4Address  # the other end's
    prefixlen: int = 31


def upper_vrp(cluster: Cluster) -> list[Switch]:
    """The VRP switches that can have switch links below them (spines, cores), in slot order."""
    return [s for s in cluster.allocated_switches() if s.model.os == "vrp" and s.tier != "leaf"]


def block_size(cluster: Cluster) -> int:
    """Addresses each upper VRP switch takes from `networks.links` (a power of two)."""
    ports = max((s.model.ports for s in upper_vrp(cluster)), default=0)
    size = 2
    while size < 2 * ports:
        size *= 2
    return size


def block_need(cluster: Cluster) -> int:
    """Addresses `networks.links` must hold for every upper VRP switch's block."""
    return len(upper_vrp(cluster)) * block_size(cluster)


def link_addresses(cluster: Cluster, cables: list[Cable]) -> dict[tuple[str, str], LinkEnd]:
    """(switch, ifname) -> its end of every numbered link (a cable with a VRP end), or {} when
    `networks.links` is not set (the rules refuse a VRP fabric without it)."""
    pool = cluster.links
    if pool is None:
        return {}
    uppers = upper_vrp(cluster)
    size = block_size(cluster)
    block = {s.name: i for i, s in enumerate(uppers)}
    port_of = {s.name: _port_numbers(s) for s in uppers}
    out: dict[tuple[str, str], LinkEnd] = {}
    for c in cables:
        if c.peer or c.b.device not in block:
            continue
        port = port_of[c.b.device].get(c.b.port)
        if port is None:
            continue
        offset = block[c.b.device] * size + (port - 1) * 2
        if offset + 1 >= pool.num_addresses:
            continue  # NET-LINKS-FIT reports the pool too small
        upper = pool.network_address + offset
        lower = upper + 1
        out[(c.b.device, c.b.ifname)] = LinkEnd(upper, lower)
        out[(c.a.device, c.a.ifname)] = LinkEnd(lower, upper)
    return out


def _port_numbers(sw: Switch) -> dict[str, int]:
    return {sw.model.port_name.format(port=p): p for p in range(1, sw.model.ports + 1)}


def network_of(end: LinkEnd) -> IPv4Network:
    return IPv4Network(f"{end.address}/{end.prefixlen}", strict=False)
