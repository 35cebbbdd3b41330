"""Derive: the BGP configuration (FRR) of every routed switch, as data (render.frr prints it).

A switch is routed when its plane's fabric has two tiers or more; it then has
an ASN (RFC 7938 numbering, see model.numbering.asn_group) and a loopback. The fabric
is eBGP everywhere (RFC 7938): one unnumbered session per switch-to-switch
cable, on the cable end's Linux interface name (`neighbor swp41 interface`,
IPv6 link-local transport and IPv4 routes with IPv6 next hops, RFC 5549).

Policy, chosen over `no bgp ebgp-requires-policy`: every fabric session is in
the FABRIC peer group with explicit route-maps, and `bgp ebgp-requires-policy`
is kept on, so a session added by hand without policy exchanges nothing.
* in: only the plane's address space and the switch loopbacks (/32s) are
  accepted: a misconfigured box cannot inject a default route or a foreign
  prefix into the fabric;
* out: a leaf announces only what it originates (its loopback and the subnets
  it is the gateway of), so it is never transit between two spines; spines and
  cores pass on the fabric's prefixes.
Each neighbour is configured with the ASN the model gives its peer rather than
`remote-as external`: a cable plugged into the wrong switch then stays down
instead of carrying traffic.

A leaf announces its loopback and the subnets it is the gateway of: its own
subnet on per-leaf planes (NPU RoCE ports), the pod's subnet on bonded planes,
where both leaves of the pod's pair hold the same gateway address and
announce the same prefix (the spines spread traffic over the pair). Hosts
bond active-backup (docs/language.md, "Bonds"): a host uses one leaf at a
time, so the pair's bridges are joined by a peer link (a cable, in both
bridges, no BGP session) and traffic that lands on the other leaf is bridged
across to the host. Each leaf answers ARP for the gateway with its own MAC;
either routes. 802.3ad across a pair would need M-LAG, which is refused
(BOND-MODE, BOND-MLAG).

What FRR does not configure but the switch needs (the fabric MTU, the RoCE
QoS of the plane, the members of the gateway interface, and on SONiC every
front-panel port: derive.switchports) is carried in `SwitchRouting` as data.
A SONiC switch gets it as config_db.json (render/sonic.py) and its BGP as
bgpd.conf for split routing mode; a Debian/FRR switch gets frr.conf, where
that data stays comments for people, and the daemons file (render/frr.py).

Everything is computed here; templates/frr.conf.j2 only loops and prints.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, fields

from wanka.derive.bundle import Derived
from wanka.derive.links import LinkEnd, link_addresses
from wanka.derive.switchports import PortUse, port_map
from wanka.jsonfmt import Json
from wanka.model.types import Plane, Switch

FRR_VERSION = "8.4"
PEER_GROUP = "FABRIC"
# ECMP fan-out cap: a common ASIC ECMP group size, below FRR's compile-time limit
# (Debian's FRR 8.4 allows 256)
MAX_PATHS = 64
IFNAME_MAX = 15  # Linux IFNAMSIZ - 1

_PORT = re.compile(r"^(\D*)(\d+)(?:s(\d+))?$")  # swp12s2, Ethernet8


@dataclass(frozen=True, slots=True)
class SwitchRouting:
    """Everything frr.conf of one switch says, as plain values."""

    hostname: str
    plane: str
    tier: str  # leaf | spine | core
    tiers: int  # tiers of the plane's fabric
    asn: int
    router_id: str  # its loopback address
    loopback: str  # "10.255.0.3/32"
    # one per switch-to-switch cable end on this switch, in port order:
    # {ifname, port, peer, peer_port, peer_ifname, peer_asn, peer_tier, speed,
    #  address ("10.254.0.1/31") and peer_address ("10.254.0.0") on a numbered link, else None}
    interfaces: list[Json]
    networks: list[str]  # announced with `network`: the loopback /32 first, then the subnets
    # leaves: the subnets they are the gateway of, each on a bridge or VLAN interface:
    # {ifname, address ("10.64.0.1/26"), network, vlan (int or None), members ([ifname]),
    #  node_facing (members but the peer link), peer_link (ifname or None), peer (leaf)}
    gateways: list[Json]
    transit: bool  # passes on learned routes (spines, cores); a leaf announces only its own
    accept: list[str]  # prefix-list entries of what is accepted from the fabric
    maximum_paths: int
    bfd: bool
    mtu: int  # IP MTU of the plane: fabric and gateway interfaces (set by the switch OS)
    qos: Json | None  # {dscp, traffic_class, pfc_priority, ecn}: RoCE planes
    os: str = "debian"  # the switch model's: debian | sonic | vrp
    platform: str | None = None  # SONiC DEVICE_METADATA platform and hwsku, when the model says
    hwsku: str | None = None
    downlinks: list[str] = field(default_factory=list)  # node-facing interfaces, in port order
    # SONiC only: every front-panel port (derive.switchports.port_map)
    ports: list[Json] = field(default_factory=list)
    # VRP only: every split port, in port order: {port ("400GE1/0/1"), split_type ("2*200GE")}
    splits: list[Json] = field(default_factory=list)
    peer_group: str = PEER_GROUP
    frr_version: str = FRR_VERSION


def fields_of(r: SwitchRouting) -> dict[str, object]:
    """The fields of `r` by name, the values themselves (dataclasses.asdict deep-copies them:
    a chassis spine's port map, hundreds of times over, for templates that only read)."""
    return {f.name: getattr(r, f.name) for f in fields(r)}


def is_routed(sw: Switch) -> bool:
    fab = sw.plane.fabric
    return fab is not None and fab.tiers >= 2


def port_key(ifname: str) -> tuple[object, ...]:
    """Natural order of interface names: swp2 < swp10 < swp10s1 < swp10s2; VRP's
    400GE1/0/2 < 400GE1/0/10 < 400GE1/0/10:1."""
    if "/" in ifname:
        return vrp_port_key(ifname)
    m = _PORT.match(ifname)
    if m is None:
        return (ifname, -1, -1)
    return (m.group(1), int(m.group(2)), int(m.group(3) or 0))


def gateway_ifname(plane: str, vlan: int | None) -> str:
    """The gateway interface of a leaf: the plane's VLAN interface when it is tagged,
    else its bridge. A switch serves one plane, so names cannot clash on a switch."""
    return f"vlan{vlan}" if vlan is not None else f"br-{plane}"[:IFNAME_MAX]


def switch_routing(d: Derived) -> dict[str, SwitchRouting]:
    """SwitchRouting of every routed switch, by name, in model order."""
    routed = [s for s in d.cluster.switches if is_routed(s)]
    if not routed:
        return {}
    _check_numbered(d, routed)
    by_name = {s.name: s for s in routed}
    links = link_addresses(d.cluster, d.cabling.cables)
    neighbours, downlinks, uses = _sessions(d, by_name, links)
    peers = peer_links(d)
    return {
        sw.name: _routing(d, sw, neighbours[sw.name], downlinks[sw.name], uses[sw.name], peers)
        for sw in routed
    }


def peer_links(d: Derived) -> dict[str, tuple[str, str]]:
    """Leaf -> (its peer-link interface, the other leaf) of every active-backup pair."""
    out: dict[str, tuple[str, str]] = {}
    for c in d.cabling.cables:
        if c.peer:
            out[c.a.device] = (c.a.ifname, c.b.device)
            out[c.b.device] = (c.b.ifname, c.a.device)
    return out


def _check_numbered(d: Derived, routed: list[Switch]) -> None:
    """Every routed switch has an ASN and a loopback; ValueError naming the first that has not."""
    for sw in routed:
        if sw.asn is None:
            raise ValueError(
                f"routed switch {sw.name} has no ASN: set networks.bgp (or pin its asn)"
            )
        if sw.name not in d.addressing.loopbacks:
            raise ValueError(f"routed switch {sw.name} has no loopback: set networks.loopbacks")


_Sessions = tuple[
    defaultdict[str, list[Json]], defaultdict[str, list[str]], defaultdict[str, dict[str, PortUse]]
]


def _sessions(
    d: Derived, by_name: dict[str, Switch], links: dict[tuple[str, str], LinkEnd]
) -> _Sessions:
    """Per routed switch: a BGP neighbour per switch-to-switch cable, the interfaces of its
    cables down to nodes, and (SONiC and VRP switches) what each cabled interface is used for."""
    switch_names = {s.name for s in d.cluster.switches}
    mapped = {name for name, s in by_name.items() if s.model.os in ("sonic", "vrp")}
    neighbours: defaultdict[str, list[Json]] = defaultdict(list)
    downlinks: defaultdict[str, list[str]] = defaultdict(list)
    uses: defaultdict[str, dict[str, PortUse]] = defaultdict(dict)
    for cable in d.cabling.cables:
        if cable.a.device not in switch_names:
            if cable.b.device in by_name:
                downlinks[cable.b.device].append(cable.b.ifname)
                if cable.b.device in mapped:
                    uses[cable.b.device][cable.b.ifname] = PortUse(
                        "node", cable.length_m, cable.breakout
                    )
            continue
        if cable.peer:  # the pair's peer link: in both leaves' bridges, no BGP session
            for end in (cable.a, cable.b):
                downlinks[end.device].append(end.ifname)
                if end.device in mapped:  # a member of the gateway VLAN, like a node's port
                    uses[end.device][end.ifname] = PortUse("node", cable.length_m, None)
            continue
        for me, peer in ((cable.a, cable.b), (cable.b, cable.a)):
            other = by_name.get(peer.device)
            if me.device not in by_name or other is None:
                raise ValueError(
                    f"cable {cable.id} joins {cable.a.device} and {cable.b.device}, "
                    "which are not both routed switches"
                )
            if me.device in mapped:
                uses[me.device][me.ifname] = PortUse("fabric", cable.length_m, None)
            link = links.get((me.device, me.ifname))
            neighbours[me.device].append(
                {
                    "ifname": me.ifname,
                    "port": me.port,
                    "peer": peer.device,
                    "peer_port": peer.port,
                    "peer_ifname": peer.ifname,
                    "peer_asn": other.asn,
                    "peer_tier": other.tier,
                    "speed": cable.speed,
                    "address": f"{link.address}/{link.prefixlen}" if link else None,
                    "peer_address": str(link.peer) if link else None,
                }
            )
    return neighbours, downlinks, uses


def _routing(
    d: Derived,
    sw: Switch,
    neighbours: list[Json],
    downlinks: list[str],
    uses: dict[str, PortUse],
    peers: dict[str, tuple[str, str]],
) -> SwitchRouting:
    plane = sw.plane
    fab = plane.fabric
    assert fab is not None and sw.asn is not None
    loopback = d.addressing.loopbacks[sw.name]
    interfaces = sorted(neighbours, key=lambda n: port_key(n["ifname"]))
    gateways = _gateways(d, sw, downlinks, peers.get(sw.name)) if sw.tier == "leaf" else []
    accept = []
    if plane.cidr is not None:
        accept.append(f"{plane.cidr} le 32")
    if d.cluster.loopbacks is not None:
        accept.append(f"{d.cluster.loopbacks} ge 32")
    return SwitchRouting(
        hostname=sw.name,
        plane=plane.name,
        tier=sw.tier,
        tiers=fab.tiers,
        asn=sw.asn,
        router_id=str(loopback),
        loopback=f"{loopback}/32",
        interfaces=interfaces,
        networks=[f"{loopback}/32", *(g["network"] for g in gateways)],
        gateways=gateways,
        transit=sw.tier != "leaf",
        accept=accept,
        maximum_paths=max(1, min(MAX_PATHS, len(interfaces))),
        bfd=True,
        mtu=plane.mtu,
        qos=_qos(plane),
        os=sw.model.os,
        platform=sw.model.platform,
        hwsku=sw.model.hwsku,
        downlinks=sorted(set(downlinks), key=port_key),
        ports=port_map(sw.model, uses) if sw.model.os == "sonic" else [],
        splits=_splits(sw, uses) if sw.model.os == "vrp" else [],
    )


def _splits(sw: Switch, uses: dict[str, PortUse]) -> list[Json]:
    """The ports of a VRP switch its cables split (`port split dimension interface`): the
    root port of every breakout lane, with VRP's split type (2x200G -> `2*200GE`)."""
    out: dict[str, str] = {}
    for ifname, use in uses.items():
        if use.breakout is not None:
            root = ifname.rsplit(":", 1)[0]
            n, speed = use.breakout.split("x", 1)
            out[root] = f"{n}*{speed}E"
    return [{"port": p, "split_type": out[p]} for p in sorted(out, key=vrp_port_key)]


def vrp_port_key(name: str) -> tuple[object, ...]:
    """Natural order of VRP interface names: 400GE1/0/2 < 400GE1/0/10 < 400GE1/0/10:2."""
    kind, _, numbers = name.partition("GE")
    return (kind, *(int(n) for n in re.split(r"[/:]", numbers) if n.isdigit()))


def _gateways(
    d: Derived, leaf: Switch, downlinks: list[str], peer: tuple[str, str] | None
) -> list[Json]:
    """The leaf's gateways: one per subnet it owns or its pod owns on its plane; on an
    active-backup pair the bridge also holds the peer link (`peer`: its ifname, the other
    leaf)."""
    plane = leaf.plane
    members = sorted(set(downlinks), key=port_key)
    gateways: list[Json] = []
    for owner in (leaf.name, leaf.pod.name):
        sub = d.addressing.by_owner.get((plane.name, owner))
        if sub is None:
            continue
        gateways.append(
            {
                "ifname": gateway_ifname(plane.name, plane.vlan),
                "address": f"{sub.gateway}/{sub.network.prefixlen}",
                "network": str(sub.network),
                "vlan": plane.vlan,
                "members": members,
                "node_facing": len(members) - (1 if peer else 0),
                "peer_link": peer[0] if peer else None,
                "peer": peer[1] if peer else None,
            }
        )
    return gateways


def _qos(plane: Plane) -> Json | None:
    """The plane's RoCE QoS; the traffic class defaults to DSCP x 4."""
    q = plane.qos
    if q is None:
        return None
    tc = q.traffic_class if q.traffic_class is not None else q.dscp * 4
    return {"dscp": q.dscp, "traffic_class": tc, "pfc_priority": q.pfc_priority, "ecn": q.ecn}
