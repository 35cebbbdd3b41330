"""Network rules: address spaces, pins, MTU, RoCE QoS, BGP numbering."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from wanka.derive.ipam import pack, per_pod, plane_subnets, subnet_size
from wanka.derive.topology import Topology
from wanka.findings import Finding, Mark, Severity, error, listed, warning
from wanka.model.types import Cluster, Node, Pod, Switch
from wanka.rules import rule

ETHERNET_OVERHEAD = 18  # header 14 + FCS 4
VLAN_TAG = 4


@rule(
    "NET-CIDR-OVERLAP",
    "Plane address spaces, the loopback range and the link range do not overlap.",
    "c.yaml:95:15: error[NET-CIDR-OVERLAP]: plane 'mgmt' 10.64.0.0/20 overlaps plane 'param' 10.64.0.0/16 (c.yaml:88:15)",
)
def overlap(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    spaces: list[tuple[IPv4Network, str, Mark]] = [
        (p.cidr, f"plane '{p.name}'", p.at) for p in cluster.planes.values() if p.cidr is not None
    ]
    if cluster.loopbacks is not None and cluster.loopbacks_at is not None:
        spaces.append((cluster.loopbacks, "loopbacks", cluster.loopbacks_at))
    if cluster.links is not None and cluster.links_at is not None:
        spaces.append((cluster.links, "links", cluster.links_at))
    spaces.sort(key=lambda s: (int(s[0].network_address), s[0].prefixlen))
    widest: tuple[IPv4Network, str, Mark] | None = None
    for space in spaces:
        if widest is not None and space[0].overlaps(widest[0]):
            yield error(
                "NET-CIDR-OVERLAP",
                f"{space[1]} {space[0]} overlaps {widest[1]} {widest[0]} ({widest[2]})",
                space[2],
                "give each plane its own address space",
            )
        if widest is None or int(space[0].broadcast_address) > int(widest[0].broadcast_address):
            widest = space


def _needed(cluster: Cluster, topo: Topology) -> dict[str | None, tuple[int, str, IPv4Network]]:
    """Every address space too small for what it must hold (a plane by name, the loopback range
    as None): (addresses it needs, what needs them, the smallest range around it that holds
    them). A pin outside a space but inside that range is outside only because the space is
    too small: NET-CIDR-SIZE counts it, NET-PIN-OUTSIDE does not report it."""
    out: dict[str | None, tuple[int, str, IPv4Network]] = {}
    for p in cluster.planes.values():
        if p.cidr is None:
            continue
        demand = plane_subnets(cluster, topo, p)
        _, end = pack((subnet_size(n) for _, n in demand), p.cidr)
        if end > p.cidr.num_addresses:
            unit = "pod" if per_pod(p) else "leaf"
            out[p.name] = (end, f"{len(demand)} {unit} subnets", _around(p.cidr, end))
    routed = _routed(cluster)
    if cluster.loopbacks is not None and routed > cluster.loopbacks.num_addresses:
        out[None] = (routed, "routed switches", _around(cluster.loopbacks, routed))
    return out


def _around(net: IPv4Network, addresses: int) -> IPv4Network:
    """The smallest network that contains `net` and has at least `addresses` addresses."""
    prefix = max(0, 32 - (addresses - 1).bit_length())
    return net.supernet(new_prefix=min(prefix, net.prefixlen))


def _routed(cluster: Cluster) -> int:
    return sum(
        1 for s in cluster.switches if s.plane.fabric is not None and s.plane.fabric.tiers >= 2
    )


def _space(cluster: Cluster, plane: str | None) -> IPv4Network | None:
    """The address space of a plane, or the loopback range (None)."""
    if plane is None:
        return cluster.loopbacks
    pl = cluster.planes.get(plane)
    return pl.cidr if pl else None


def _folded_pins(
    cluster: Cluster, needed: dict[str | None, tuple[int, str, IPv4Network]]
) -> Counter[str | None]:
    """Per too-small space, the pins outside it that the range it needs holds."""
    out: Counter[str | None] = Counter()
    for ip, _, plane, _ in _pins(cluster):
        space = _space(cluster, plane)
        if plane in needed and space is not None and ip not in space and ip in needed[plane][2]:
            out[plane] += 1
    return out


def _folded(n: int, around: IPv4Network) -> str:
    return (
        f" ({n:,} follow-on NET-PIN-OUTSIDE folded: pins outside it, inside {around})" if n else ""
    )


@rule(
    "NET-CIDR-SIZE",
    "Each plane (and the loopback range) is large enough for every address of every phase "
    "(pins outside it that the larger range it needs would hold are counted here, not reported "
    "by NET-PIN-OUTSIDE).",
    "c.yaml:88:15: error[NET-CIDR-SIZE]: plane 'param' 10.64.0.0/24 needs 2,048 addresses (32 leaf subnets), it has 256 (120 follow-on NET-PIN-OUTSIDE folded: pins outside it, inside 10.64.0.0/21)",
)
def size(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    needed = _needed(cluster, topo)
    folded = _folded_pins(cluster, needed) if needed else Counter()
    for p in cluster.planes.values():
        if p.cidr is None or p.name not in needed:
            continue
        end, what, around = needed[p.name]
        yield error(
            "NET-CIDR-SIZE",
            f"plane '{p.name}' {p.cidr} needs {end:,} addresses ({what}), it has "
            f"{p.cidr.num_addresses:,}" + _folded(folded[p.name], around),
            p.mark("cidr"),
            f"use a /{around.prefixlen} or larger",
        )
    routed = _routed(cluster)
    if routed and cluster.loopbacks_at is None:
        yield error(
            "NET-CIDR-SIZE",
            f"{routed} routed switches need loopback addresses, but networks.loopbacks is not set",
            cluster.at,
            "set networks.loopbacks, e.g. 10.255.0.0/20",
        )
    elif None in needed and cluster.loopbacks is not None:
        around = needed[None][2]
        yield error(
            "NET-CIDR-SIZE",
            f"loopbacks {cluster.loopbacks} has {cluster.loopbacks.num_addresses:,} addresses "
            f"for {routed:,} routed switches" + _folded(folded[None], around),
            cluster.loopbacks_at,
            "use a larger loopback range",
        )


def _pin_plane(cluster: Cluster, node: Node | None, key: str) -> str:
    """The plane a manifest address key pins on: a bonded plane by name (mgmt), a host port
    by its plane (stor1), an NPU device (npu3) on the node's own parameter plane. A key that
    names none of these (REF-UNRESOLVED at build) maps to no plane, so nothing checks it."""
    if key in cluster.planes:
        return key
    if node is not None:
        if re.fullmatch(r"npu\d+", key):
            param = cluster.plane_of(node, "parameter")
            if param is not None:
                return param.name
        for nic in node.model.nics:
            if key in node.port_names(nic.plane):
                return nic.plane
    return re.sub(r"\d+$", "", key)


def _pins(cluster: Cluster) -> Iterator[tuple[IPv4Address, str, str | None, Mark]]:
    """(address, what, plane or None for loopbacks, mark) for every pinned address."""
    oob = next((p.name for p in cluster.planes.values() if p.role == "oob"), None)
    pinned = {name for name, f in cluster.node_facts.items() if f.addresses}
    nodes = {n.name: n for n in cluster.nodes if n.name in pinned} if pinned else {}
    for name, f in cluster.node_facts.items():
        if f.bmc_address is not None:
            yield f.bmc_address, f"BMC of {name}", oob, f.key_marks["bmc.address"]
        for key, ip in f.addresses.items():
            plane = _pin_plane(cluster, nodes.get(name), key)
            yield ip, f"{name} {key}", plane, f.key_marks[f"addresses.{key}"]
    for name, sf in cluster.switch_facts.items():
        if sf.loopback is not None:
            yield sf.loopback, f"loopback of {name}", None, sf.key_marks["loopback"]


@rule(
    "NET-PIN-OUTSIDE",
    "A pinned address lies inside its plane (or the loopback range).",
    "c.yaml:210:50: error[NET-PIN-OUTSIDE]: pinned address 10.98.0.200 (BMC of lab-p1-pod01-r02-s02) is outside plane 'oob' 10.99.0.0/20",
)
def pin_outside(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    needed: dict[str | None, tuple[int, str, IPv4Network]] | None = None  # when first needed
    for ip, what, plane, at in _pins(cluster):
        net = _space(cluster, plane)
        label = "the loopback range" if plane is None else f"plane '{plane}'"
        if net is not None and ip not in net:
            if needed is None:
                needed = _needed(cluster, topo)
            if plane in needed and ip in needed[plane][2]:
                continue  # the space is too small: NET-CIDR-SIZE counts it
            yield error(
                "NET-PIN-OUTSIDE",
                f"pinned address {ip} ({what}) is outside {label} {net}",
                at,
                "pin an address inside the plane",
            )
        elif (
            plane is not None
            and net is not None
            and ip in (net.network_address, net.broadcast_address)
        ):
            yield error(
                "NET-PIN-OUTSIDE",
                f"pinned address {ip} ({what}) is the network or broadcast address of {label}",
                at,
            )


@rule(
    "NET-PIN-SUBNET",
    "A pinned address is a host address of the subnet its port or pod gets (not the network, "
    "gateway or broadcast address).",
    "manifest.yaml:24:21: error[NET-PIN-SUBNET]: pinned address 10.16.255.10 of sz1-p1-ctl-r01-h01 is not a host address of its subnet 10.16.0.0/26 (sz1-p1-ctl)",
)
def pin_subnet(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    from wanka.derive.addresses import pin_problems  # a derive module: loaded only for this check

    if cluster.complete:
        yield from pin_problems(cluster, topo)


@rule(
    "NET-PIN-TAKEN",
    "A pin takes its address without moving anyone: every host (and switch loopback) keeps the "
    "address of its place in cabling order, the pinned one's place stays free, and a pin on "
    "the place of another, unpinned host is refused.",
    "c.yaml:191:50: error[NET-PIN-TAKEN]: pinned address 10.99.0.3 of lab-p1-pod01-r02-s02 is the place of lab-p1-pod01-r01-s02 (bmc.address) in its subnet (pins move no one: every host keeps the address of its place)",
)
def pin_taken(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    from wanka.derive.addresses import loopback_pins_taken, pin_problems

    if cluster.complete:
        yield from pin_problems(cluster, topo, taken=True)
        yield from loopback_pins_taken(cluster)


@rule(
    "NET-PIN-DUPLICATE",
    "No address is pinned twice.",
    "c.yaml:215:50: error[NET-PIN-DUPLICATE]: address 10.99.0.200 is pinned twice: BMC of ...-s02 and BMC of ...-s01 (c.yaml:211:50)",
)
def pin_duplicate(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    seen: dict[IPv4Address, tuple[str, Mark]] = {}
    for ip, what, _, at in _pins(cluster):
        if ip in seen:
            first, fat = seen[ip]
            yield error(
                "NET-PIN-DUPLICATE",
                f"address {ip} is pinned twice: {what} and {first} ({fat})",
                at,
                "each address belongs to one port",
            )
        else:
            seen[ip] = (what, at)


@rule(
    "NET-MTU",
    "The plane's MTU plus Ethernet overhead (18 bytes, 22 with a VLAN) fits the "
    "switches' max frame.",
    "c.yaml:89:14: error[NET-MTU]: plane 'param' MTU 9216 needs 9234-byte frames; switch model lab-32x400g forwards at most 9216",
)
def mtu(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for p in cluster.planes.values():
        if p.fabric is None:
            continue
        frame = p.mtu + ETHERNET_OVERHEAD + (VLAN_TAG if p.vlan else 0)
        small = sorted(
            {
                cluster.switch_models[t.model]
                for t in (p.fabric.leaf, p.fabric.spine, p.fabric.core)
                if t is not None
                and t.model in cluster.switch_models
                and frame > cluster.switch_models[t.model].max_frame
            },
            key=lambda sm: (sm.max_frame, sm.key),
        )
        if small:
            sm = small[0]  # the tightest: the hint's MTU fits every tier
            others = "".join(f", {o.key} {o.max_frame}" for o in small[1:])
            yield error(
                "NET-MTU",
                f"plane '{p.name}' MTU {p.mtu} needs {frame}-byte frames; "
                f"switch model {sm.key} forwards at most {sm.max_frame}{others}",
                p.mark("mtu"),
                f"set mtu to at most {sm.max_frame - frame + p.mtu}",
            )


@rule(
    "QOS-CONSISTENT",
    "The HCCL traffic class equals DSCP x 4 (HCCL_RDMA_TC = DSCP << 2).",
    "c.yaml:92:14: error[QOS-CONSISTENT]: plane 'param': traffic_class 128 does not match dscp 33 (expected 132)",
)
def qos_consistent(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for p in cluster.planes.values():
        q = p.qos
        if q is not None and q.traffic_class is not None and q.traffic_class != q.dscp * 4:
            yield error(
                "QOS-CONSISTENT",
                f"plane '{p.name}': traffic_class {q.traffic_class} does not "
                f"match dscp {q.dscp} (expected {q.dscp * 4})",
                q.at,
                "HCCL marks packets with DSCP = traffic_class / 4",
            )


@rule(
    "QOS-MISSING",
    "A parameter (RoCE) plane declares its QoS: RDMA needs a lossless class.",
    "c.yaml:88:7: warning[QOS-MISSING]: parameter plane 'param' has no qos: RoCE needs PFC and ECN",
    Severity.WARNING,
)
def qos_missing(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for p in cluster.planes.values():
        if p.role == "parameter" and p.qos is None:
            yield warning(
                "QOS-MISSING",
                f"parameter plane '{p.name}' has no qos: RoCE needs PFC and ECN",
                p.at,
                "add qos: {dscp: 33, traffic_class: 132, pfc_priority: 4, ecn: true}",
            )


def _spilled(cluster: Cluster, sw: Switch) -> bool:
    """A derived ASN past the end of its phase's block: its phase needs more ASNs than
    asns_per_phase, so it took one of the next phase's (the cause is BGP-ASN-BLOCK)."""
    bgp = cluster.bgp
    if bgp is None or sw.asn is None or (sw.facts is not None and sw.facts.asn is not None):
        return False
    return sw.asn - bgp.asn_base - sw.pod.phase.index * bgp.asns_per_phase >= bgp.asns_per_phase


@dataclass
class _Collisions:
    """Switches whose ASN another ASN group holds: the genuine ones, (switch, holder), and
    per overflowing phase the ASNs and switches that collide because it spilled."""

    genuine: list[tuple[Switch, Switch]] = field(default_factory=list)
    spilled_asns: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    spilled_switches: Counter[str] = field(default_factory=Counter)


def _collisions(cluster: Cluster) -> _Collisions:
    out = _Collisions()
    owner: dict[int, tuple[tuple[object, ...], Switch]] = {}
    for sw in cluster.switches:
        if sw.asn is None:
            continue
        g = sw.asn_group
        if sw.asn in owner and owner[sw.asn][0] != g:
            other = owner[sw.asn][1]
            cause = sw if _spilled(cluster, sw) else other if _spilled(cluster, other) else None
            if cause is None:
                out.genuine.append((sw, other))
            else:
                out.spilled_asns[cause.pod.phase.name].add(sw.asn)
                out.spilled_switches[cause.pod.phase.name] += 1
        else:
            owner.setdefault(sw.asn, (g, sw))
    return out


@rule(
    "BGP-ASN-DUPLICATE",
    "ASNs are unique: every leaf its own, each spine group and core group one (a collision "
    "caused by a phase's block overflowing is folded into its BGP-ASN-BLOCK).",
    "c.yaml:230:12: error[BGP-ASN-DUPLICATE]: ASN 4200000001 of lab-p1-core-param-spine01 is also used by lab-p1-pod01-param-leaf01",
)
def asn_duplicate(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for sw, other in _collisions(cluster).genuine:
        at = sw.facts.key_marks.get("asn", sw.at) if sw.facts else sw.at
        yield error(
            "BGP-ASN-DUPLICATE",
            f"ASN {sw.asn} of {sw.name} is also used by {other.name}",
            at,
            "pin a free ASN, or leave the ASN to wanka",
        )


@rule(
    "BGP-ASN-MISSING",
    "Routed switches (planes with 2- or 3-tier fabrics) have ASNs: networks.bgp is set, or each "
    "one's ASN is pinned.",
    "c.yaml:101:3: error[BGP-ASN-MISSING]: 4 routed switches need ASNs but networks.bgp is not set: 'lab-p1-core-param-spine01', 'lab-p1-core-param-spine02', 'lab-p1-pod01-param-leaf01' (and 1 more)",
)
def asn_missing(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    missing = [
        s
        for s in cluster.switches
        if s.plane.fabric is not None and s.plane.fabric.tiers >= 2 and s.asn is None
    ]
    if missing:
        yield error(
            "BGP-ASN-MISSING",
            f"{len(missing)} routed switch{'es' if len(missing) != 1 else ''} need"
            f"{'' if len(missing) != 1 else 's'} ASNs but networks.bgp is not set: "
            f"{listed([s.name for s in missing])}",
            missing[0].plane.fabric.at if missing[0].plane.fabric else cluster.at,
            "set networks.bgp: {asn_base: 4200000000}",
        )


@rule(
    "BGP-ASN-BLOCK",
    "A phase needs no more ASNs than `asns_per_phase` sets aside (the ASNs it then takes from "
    "the next phase's block and the collisions they cause are counted here, not reported "
    "one by one).",
    "c.yaml:100:7: error[BGP-ASN-BLOCK]: phase 'p2' needs 1,210 ASNs, more than asns_per_phase 1,000: 210 ASNs spill into the next phase's block and 62 collide there (62 follow-on BGP-ASN-DUPLICATE folded)",
)
def asn_block(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    if cluster.bgp is None:
        return
    per = cluster.bgp.asns_per_phase
    groups: dict[str, set[tuple[object, ...]]] = defaultdict(set)
    for sw in cluster.switches:
        if sw.asn is not None and not (sw.facts and sw.facts.asn is not None):
            groups[sw.pod.phase.name].add(sw.asn_group)
    over = {phase: len(gs) for phase, gs in groups.items() if len(gs) > per}
    hits = _collisions(cluster) if over else _Collisions()
    for phase, n in over.items():
        taken = len(hits.spilled_asns[phase])
        folded = hits.spilled_switches[phase]
        spill = f"{n - per:,} ASN spills" if n - per == 1 else f"{n - per:,} ASNs spill"
        clash = (
            f" and {taken:,} collide{'s' if taken == 1 else ''} there "
            f"({folded:,} follow-on BGP-ASN-DUPLICATE folded)"
            if folded
            else ""
        )
        yield error(
            "BGP-ASN-BLOCK",
            f"phase '{phase}' needs {n:,} ASNs, more than asns_per_phase {per:,}: "
            f"{spill} into the next phase's block{clash}",
            cluster.bgp.at,
            "raise asns_per_phase (phases would then renumber: do it before phase 1 is built)",
        )


def is_private_asn(asn: int) -> bool:
    return 64512 <= asn <= 65534 or 4200000000 <= asn <= 4294967294


@rule(
    "BGP-ASN-PRIVATE",
    "Fabric ASNs are private (64512-65534, 4200000000-4294967294).",
    "c.yaml:100:7: warning[BGP-ASN-PRIVATE]: 12 switches get public ASNs (65535-65546): 'lab-p1-pod01-param-leaf01', 'lab-p1-pod01-param-leaf02', 'lab-p1-pod02-param-leaf01' (and 9 more)",
    Severity.WARNING,
)
def asn_private(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    public = [s for s in cluster.switches if s.asn is not None and not is_private_asn(s.asn)]
    if public:
        at = cluster.bgp.at if cluster.bgp else public[0].at
        asns = sorted({s.asn for s in public if s.asn is not None})
        span = f"{asns[0]}" if len(asns) == 1 else f"{asns[0]}-{asns[-1]}"
        yield warning(
            "BGP-ASN-PRIVATE",
            f"{len(public)} switch{'es' if len(public) != 1 else ''} get{'s' if len(public) == 1 else ''} "
            f"public ASN{'s' if len(asns) > 1 else ''} ({span}): {listed([s.name for s in public])}",
            at,
            "start asn_base at 4200000000 and keep the phases' blocks below 4294967295",
        )


@rule(
    "BOND-MODE",
    "A bonded plane's bond mode works on its leaves: 802.3ad (LACP) aggregates only towards "
    "one switch, or a pair running M-LAG; across two independent leaves bonds are "
    "active-backup. `bond_mode` is for bonded planes only.",
    "c.yaml:130:20: error[BOND-MODE]: plane 'mgmt' bonds with 802.3ad across two leaves in pods 'lab-p1-pod01', 'lab-p2-pod01', without M-LAG: LACP does not aggregate across two independent switches",
)
def bond_mode(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for p in cluster.planes.values():
        if not p.bonded:
            if "bond_mode" in p.value_at:
                yield error(
                    "BOND-MODE",
                    f"plane '{p.name}' sets bond_mode but is not bonded",
                    p.mark("bond_mode"),
                    "set `bonded: true`, or remove bond_mode",
                )
            continue
        if p.bond_mode != "802.3ad" or p.fabric is None or p.fabric.leaf.mlag:
            continue
        across = [pod.name for pod in cluster.pods if _bonds_across(pod, p.name)]
        if across:
            yield error(
                "BOND-MODE",
                f"plane '{p.name}' bonds with 802.3ad across two leaves in "
                f"{'pod' if len(across) == 1 else 'pods'} {listed(across)}, without M-LAG: LACP does not aggregate across two "
                "independent switches",
                p.mark("bond_mode"),
                "use bond_mode: active-backup (the pair bridges over a peer link and shares the "
                "gateway), or one leaf per pod",
            )


def _bonds_across(pod: Pod, plane: str) -> bool:
    """Whether a node of the pod has its bond's members on two leaves."""
    leaves = [s for s in pod.switches if s.plane.name == plane and s.tier == "leaf"]
    if len(leaves) < 2:
        return False
    return any((nic := n.model.nic(plane)) is not None and nic.count > 1 for n in pod.nodes)


@rule(
    "BOND-MLAG",
    "A fabric tier does not declare M-LAG: wanka does not render it (FRR has no M-LAG; SONiC "
    "MCLAG is not rendered yet), so nothing would configure it.",
    "c.yaml:131:11: error[BOND-MLAG]: plane 'mgmt' declares M-LAG on its leaf tier, which wanka does not render (FRR has no M-LAG, SONiC MCLAG is not rendered)",
)
def bond_mlag(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for p in cluster.planes.values():
        fab = p.fabric
        tiers = [] if fab is None else [t for t in (fab.leaf, fab.spine, fab.core) if t]
        for t in tiers:
            if t.mlag:
                yield error(
                    "BOND-MLAG",
                    f"plane '{p.name}' declares M-LAG on its {t.name} tier, which wanka does not "
                    "render (FRR has no M-LAG, SONiC MCLAG is not rendered)",
                    t.at,
                    "remove mlag and use bond_mode: active-backup, which needs no M-LAG",
                )
