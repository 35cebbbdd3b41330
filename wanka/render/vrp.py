"""Render: vrp.cfg, the configuration of a routed Huawei CloudEngine switch (VRP V300), from
the same derived routing as frr.conf and config_db.json (wanka.derive.routing).

The file is what `load configuration file vrp.cfg replace` takes in VRP's two-stage mode
(ce6800v300_cmdref_config_mgmt.txt, "load configuration replace"): configuration and view
commands only (no `return`, `quit` or `commit`), a left-aligned `#` between system-view blocks,
each view's commands indented one space more than the view, and an indented `#` between blocks
inside a view, aligned with the block that follows. The applier (wanka.drivers.vrp) adds the
sections wanka does not own (AAA, users, SSH, the management interface) from the switch's own
running configuration before it loads the file, so a replace never locks anyone out.

What each block rests on (all under ../shared/reference/vrp/, CloudEngine 6800 V300R023C00
manuals; nothing public was found for the CE16800 and CE9860 chassis, whose lines below rest
on the CE6800 manuals alone, apart from the CE9860's `400GE 1/1/1` port names and its
`split-type 2*200GE`, huawei-ecosystem-docs_roce_switch_snippets_ce6865_ce6863_ce9860.txt):

* `sysname`, routed ports (`undo portswitch`, `ip address A MASK`), `bgp`, `router-id`,
  `peer A as-number N`, `ipv4-family unicast`, `peer A enable`, `network A MASK`,
  `maximum load-balancing ebgp N`: the EBGP load-balancing example's configuration scripts
  (ce6800v300_bgp_load_balancing_example.txt) and the command reference
  (ce6800v300_cmdref_bgp_bfd_lldp.txt); `ebgp` keeps the width to EBGP routes, the only kind;
* `bfd` and `peer A bfd enable`: the BFD-for-BGP example's scripts;
* `port split dimension interface P split-type 2*200GE` in the system view, before the
  interfaces it makes (`P:1`, `P:2`): the command reference's `port split` page, and annet's
  apply order (port split first);
* `mtu` (the plane's IP MTU, on routed ports and the VLANIF) and `jumboframe enable` (the
  model's largest frame, on every cabled port): the interface command reference;
* the gateway of a leaf: `vlan batch V`, `interface VlanifV` with its address, and the
  node-facing ports `port default vlan V` (untagged, as the ECN example's scripts) or
  `port link-type trunk` + `port trunk allow-pass vlan V` (a tagged plane, as the CE6865 NoF
  guide); a plane without a VLAN uses VLAN 1000 inside the switch, as on SONiC;
* the lossless RoCE class, on every cabled port of the plane: `trust dscp` and
  `trust upstream wanka` with `diffserv domain wanka` / `ip-dscp-inbound D phb P green`
  mapping the plane's DSCP to the PHB of its PFC priority (be, af1..af4, ef, cs6, cs7 are
  local priorities 0..7), `dcb pfc` / `priority P` with `priority P deadlock-detect time 10`
  and `priority P deadlock-recovery time 15` (the CE6865 guide's values), `dcb pfc enable mode
  manual` on the port (the PFC deadlock example's scripts), and with ECN
  `drop-profile wanka` / `ecn low-limit 50 high-limit 80 discard-percentage 30` (the ECN
  example's thresholds, percentages of the queue's buffer) applied with `qos queue P wred
  wanka` and `qos queue P ecn`. `dcb pfc dscp-mapping enable slot` and `qos buffer
  headroom-pool` are left out: the manual gives them for a few CE6800 models only;
* LLDP: `lldp enable` (system view), LLDP being what the fabric checks read;
* the fabric policy of frr.conf (accept the plane and the loopbacks, a leaf announces only its
  own): `ip ip-prefix NAME index N permit A LEN [greater-equal G] [less-equal L]` and, in the
  IPv4 unicast view, `peer A ip-prefix NAME import|export` (command reference pages,
  tests/captures/vrp/).
"""

from __future__ import annotations

from ipaddress import IPv4Interface, IPv4Network

from wanka.derive.routing import SwitchRouting, port_key
from wanka.jsonfmt import Json

UNTAGGED_VLAN = 1000  # as render.sonic: the VLAN of a plane without one, inside the switch
DOMAIN = "wanka"  # the DiffServ domain and drop profile wanka writes
PREFIX_IN = "wanka-in"
PREFIX_OUT = "wanka-out"
PHB = ("be", "af1", "af2", "af3", "af4", "ef", "cs6", "cs7")  # by local priority 0..7
DEADLOCK_DETECT_MS = 10  # the CE6865 NoF guide's `priority 3 deadlock-detect time 10`
DEADLOCK_RECOVERY_MS = 15
ECN = (50, 80, 30)  # low-limit %, high-limit %, discard-percentage: the ECN example's


def render_vrp(r: SwitchRouting, max_frame: int) -> str:
    """vrp.cfg of one VRP switch: `max_frame` is its model's largest frame (bytes)."""
    blocks: list[list[str]] = [[f"sysname {r.hostname}"]]
    if r.splits:
        blocks.append(
            [f"port split dimension interface {s['port']} split-type {s['split_type']}"
             for s in r.splits]
        )  # fmt: skip
    vlans = [_vid(g) for g in r.gateways]
    if vlans:
        blocks.append([f"vlan batch {' '.join(str(v) for v in sorted(set(vlans)))}"])
    if r.bfd:
        blocks.append(["bfd"])
    if r.qos is not None:
        blocks.extend(_qos_globals(r.qos))
    for g in r.gateways:
        blocks.append(
            [f"interface Vlanif{_vid(g)}", f" mtu {r.mtu}", f" ip address {_addr(g['address'])}"]
        )
    blocks.extend(_ports(r, max_frame))
    blocks.append(["interface LoopBack0", f" ip address {_addr(r.loopback)}"])
    blocks.append(_bgp(r))
    blocks.append(_prefix_lists(r))
    blocks.append(["lldp enable"])
    out: list[str] = []
    for b in blocks:
        out.append("#")
        out.extend(b)
    out.append("#")
    return "\n".join(out) + "\n"


def _vid(g: Json) -> int:
    return g["vlan"] if g["vlan"] is not None else UNTAGGED_VLAN


def _addr(cidr: str) -> str:
    """'10.0.0.1/26' -> '10.0.0.1 255.255.255.192', as VRP writes an address."""
    i = IPv4Interface(cidr)
    return f"{i.ip} {i.netmask}"


def _net(cidr: str) -> str:
    n = IPv4Network(cidr)
    return f"{n.network_address} {n.netmask}"


def _qos_globals(q: Json) -> list[list[str]]:
    p = q["pfc_priority"]
    blocks = [
        [
            "dcb pfc",
            f" priority {p}",
            f" priority {p} deadlock-detect time {DEADLOCK_DETECT_MS}",
            f" priority {p} deadlock-recovery time {DEADLOCK_RECOVERY_MS}",
        ],
        [f"diffserv domain {DOMAIN}", f" ip-dscp-inbound {q['dscp']} phb {PHB[p]} green"],
    ]
    if q["ecn"]:
        low, high, drop = ECN
        blocks.append(
            [f"drop-profile {DOMAIN}", f" ecn low-limit {low} high-limit {high} "
             f"discard-percentage {drop}"]
        )  # fmt: skip
    return blocks


def _qos_port(q: Json | None) -> list[str]:
    if q is None:
        return []
    p = q["pfc_priority"]
    lines = [" trust dscp", f" trust upstream {DOMAIN}", " dcb pfc enable mode manual"]
    if q["ecn"]:
        lines += [f" qos queue {p} wred {DOMAIN}", f" qos queue {p} ecn"]
    return lines


def _ports(r: SwitchRouting, max_frame: int) -> list[list[str]]:
    """One block per cabled port, in port order: fabric ports routed, node-facing ports (and a
    pair's peer link) members of the gateway VLAN."""
    qos = _qos_port(r.qos)
    blocks: dict[str, list[str]] = {}
    for n in r.interfaces:
        lines = [f"interface {n['ifname']}", " undo portswitch", f" mtu {r.mtu}"]
        lines.append(f" jumboframe enable {max_frame}")
        if n["address"] is not None:
            lines.append(f" ip address {_addr(n['address'])}")
        blocks[n["ifname"]] = lines + qos
    for g in r.gateways:
        vid = _vid(g)
        access = (
            [f" port default vlan {vid}"]
            if g["vlan"] is None
            else [" port link-type trunk", f" port trunk allow-pass vlan {vid}"]
        )
        for m in g["members"]:
            blocks.setdefault(
                m, [f"interface {m}", *access, f" jumboframe enable {max_frame}", *qos]
            )
    return [blocks[k] for k in sorted(blocks, key=port_key)]


def _bgp(r: SwitchRouting) -> list[str]:
    peers = [n for n in r.interfaces if n["peer_address"] is not None]
    lines = [f"bgp {r.asn}", f" router-id {r.router_id}"]
    for n in peers:
        a = n["peer_address"]
        lines.append(f" peer {a} as-number {n['peer_asn']}")
        if r.bfd:
            lines.append(f" peer {a} bfd enable")
    lines += [" #", " ipv4-family unicast"]
    lines += [f"  network {_net(net)}" for net in r.networks]
    lines.append(f"  maximum load-balancing ebgp {r.maximum_paths}")
    for n in peers:
        a = n["peer_address"]
        lines.append(f"  peer {a} enable")
        lines.append(f"  peer {a} ip-prefix {PREFIX_IN} import")
        if not r.transit:
            lines.append(f"  peer {a} ip-prefix {PREFIX_OUT} export")
    return lines


def _prefix_lists(r: SwitchRouting) -> list[str]:
    """frr.conf's prefix lists in VRP's words: `10.0.0.0/16 le 32` ->
    `permit 10.0.0.0 16 less-equal 32`."""
    lines = []
    for i, entry in enumerate(r.accept, 1):
        lines.append(f"ip ip-prefix {PREFIX_IN} index {10 * i} permit {_range(entry)}")
    if not r.transit:
        for i, net in enumerate(r.networks, 1):
            n = IPv4Network(net)
            lines.append(
                f"ip ip-prefix {PREFIX_OUT} index {10 * i} permit {n.network_address} {n.prefixlen}"
            )
    return lines


def _range(entry: str) -> str:
    net, *rest = entry.split()
    n = IPv4Network(net)
    out = f"{n.network_address} {n.prefixlen}"
    words = {"ge": "greater-equal", "le": "less-equal"}
    for k, v in zip(rest[::2], rest[1::2], strict=True):
        out += f" {words[k]} {v}"
    return out
