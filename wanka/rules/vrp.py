"""Rules of Huawei CloudEngine (VRP) switches: their port names, their numbered fabric links.

VRP names an interface by its type, which is its speed (`GE`, `10GE` ... `400GE`), and its
slot/card/port numbers: `400GE1/0/12` on a box, `400GE1/1/1` on a CE9860 card slot; a split port
adds `:L` (ce6800v300_cmdref_interfaces_split_mtu_portswitch.txt, the Ascend FAQ's CE9860,
../shared/reference/vrp/). wanka uses that name as the interface name in vrp.cfg, so the
model's `port_name` must make it. VRP peers on interface addresses (wanka.derive.links): its
fabric links are numbered from `networks.links`, and its neighbours must be VRP switches too,
since Debian/FRR and SONiC peer unnumbered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from wanka.derive.links import block_need, block_size, upper_vrp
from wanka.derive.topology import Topology
from wanka.findings import Finding, error
from wanka.model.types import Cluster
from wanka.rules import rule

_NAME = re.compile(r"^(\d*)GE\d+(/\d+){1,3}$")


def _type_of(speed: int) -> str:
    return "GE" if speed == 1 else f"{speed}GE"


@rule(
    "VRP-PORT-NAME",
    "A VRP switch model's port_name makes VRP's interface names: the port group's speed as the "
    "type (400GE) and slot/card/port numbers, e.g. `400GE1/0/{port}`.",
    "c.yaml:46:7: error[VRP-PORT-NAME]: switch model 'ce-32x400g' runs VRP, which names port 1 "
    "'400GE1/0/1': its port_name gives 'Ethernet1'",
)
def port_names(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for sm in cluster.switch_models.values():
        if sm.os != "vrp":
            continue
        for g in sm.groups:
            name = sm.port_name.format(port=g.first)
            want = _type_of(g.speed)
            if _NAME.match(name) is None or not name.startswith(want):
                yield error(
                    "VRP-PORT-NAME",
                    f"switch model '{sm.key}' runs VRP, which names port {g.first} "
                    f"'{want}1/0/{g.first}': its port_name gives '{name}'",
                    sm.at,
                    f'write port_name: "{want}1/0/{{port}}" (a chassis card: '
                    f'"{want}<slot>/<card>/{{port}}")',
                )


@rule(
    "VRP-PEER-OS",
    "A VRP switch's fabric neighbours run VRP too: VRP peers on numbered links, Debian/FRR and "
    "SONiC unnumbered (IPv6 link-local), so a link between them would carry no session.",
    "c.yaml:175:15: error[VRP-PEER-OS]: leaf 'lab-p1-pod01-param-leaf01' runs vrp, its spine "
    "'lab-p1-core-param-spine01' sonic: a VRP switch peers on numbered links, sonic unnumbered",
)
def peer_os(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for sw in cluster.switches:
        load = topo.loads.get(sw.name)
        if load is None:
            continue
        for up in load.up_targets:
            pair = (sw.model.key, up.model.key)
            if "vrp" not in (sw.model.os, up.model.os) or sw.model.os == up.model.os:
                continue
            if pair in seen:
                continue
            seen.add(pair)
            yield error(
                "VRP-PEER-OS",
                f"{sw.tier} '{sw.name}' runs {sw.model.os}, its {up.tier} '{up.name}' "
                f"{up.model.os}: a VRP switch peers on numbered links, "
                f"{sw.model.os if up.model.os == 'vrp' else up.model.os} unnumbered",
                sw.at,
                "give both tiers of the plane VRP models, or neither",
            )


@rule(
    "NET-LINKS",
    "A fabric with VRP switches has `networks.links`, large enough for a block of /31s per "
    "VRP spine or core (2 x the ports of the largest such model, a power of two).",
    "c.yaml:114:16: error[NET-LINKS]: 2 VRP spines and cores have fabric links, but "
    "networks.links is not set",
)
def links(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    uppers = [
        s for s in upper_vrp(cluster) if s.plane.fabric is not None and s.plane.fabric.tiers >= 2
    ]
    if not uppers:
        return
    need = block_need(cluster)
    if cluster.links is None:
        if cluster.links_at is None:
            yield error(
                "NET-LINKS",
                f"{len(uppers)} VRP spines and cores have fabric links, but networks.links is "
                "not set",
                cluster.loopbacks_at or cluster.at,
                f"set networks.links to a network of {need:,} addresses or more, a /31 per link",
            )
        return  # an unparsable one is NET-CIDR-INVALID's
    if cluster.links.num_addresses < need:
        yield error(
            "NET-LINKS",
            f"networks.links {cluster.links} has {cluster.links.num_addresses:,} addresses, "
            f"but {len(uppers)} VRP spines and cores take {block_size(cluster):,} each "
            f"({need:,})",
            cluster.links_at or cluster.at,
            f"give networks.links a /{32 - (need - 1).bit_length()} or wider",
        )
