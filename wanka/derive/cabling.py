"""Derive: every cable, with the ports at both ends.

Ports are assigned so that growth never moves an existing cable:
* a leaf's node lanes fill its ports from port 1 in cabling order (with a
  breakout, lane L of port P is `{port_name}:{L}`, e.g. `400GE1/0/12:2`);
* a switch's uplinks take its *last* `uplinks` ports, spread over the
  switches above in order;
* the two leaves of an active-backup pair are joined by a peer link on the
  port below their uplinks;
* a switch's links from the tier below fill its ports from port 1 in slot
  order, so phase 2's leaves land after phase 1's on a shared spine, and a
  pod given the next free slot lands after all of them; a retired pod's
  ports stay taken (its cables leave the plan).

Each end has the vendor's port name (for people and LLDP) and the interface
name its switch OS gives it (for FRR and the lab): `swp12`, `swp12s2` on
Debian/FRR, `Ethernet<first lane>` from the model's port map on SONiC, the vendor name
itself on VRP (`400GE1/0/12:2`, as `port split dimension` numbers a split port). An
uplink runs at the speed of the lower switch's port (a port group of its own
on a model with mixed ports); LINK-SPEED reports ends that differ. The cable's media
and length come from where the two racks stand and the layout's distances
(`layout.distances`, a hall's, a row's `rack_pitch_m`): same rack a 3 m DAC
(CAT6 for 1G); same row `|positions apart| x rack_pitch_m + rack_slack_m`,
an AOC of the next stock length up to 30 m (longer: multimode); other rows
`cross_row_m + |rows apart| x row_pitch_m`, multimode fibre up to 100 m,
single-mode beyond; other halls single-mode of `between_halls_m`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace

from wanka.derive.topology import Topology, node_attachments
from wanka.model.types import Cluster, Distances, Rack, Switch

AOC_LENGTHS = (3, 5, 7, 10, 15, 20, 30)  # stock lengths of the parts, m
MMF_LENGTHS = (30, 50, 70, 100)
SAME_RACK_M = 3  # a DAC (or patch cord) inside one rack
DEFAULT = Distances()


@dataclass(frozen=True, slots=True)
class End:
    device: str
    port: str  # as the device names it: 400GE1/0/12:2, param3, bmc
    ifname: str  # Linux/FRR interface name: swp12s2, param3, bmc
    index: int | None = None  # a node's port on the plane (its NPU card on a parameter plane)


@dataclass(frozen=True, slots=True)
class Cable:
    id: str  # the physical cable: upper device and physical port (lanes of a breakout share it)
    plane: str
    a: End  # the node, or the lower-tier switch
    b: End  # the switch above it
    speed: int  # Gb/s of this link
    media: str  # CAT6 | DAC | AOC | MMF | SMF
    length_m: int
    breakout: str | None  # the b-end port's breakout mode, if any
    peer: bool = False  # the peer link of an active-backup leaf pair (bridged, not routed)


@dataclass(slots=True)
class Cabling:
    cables: list[Cable]

    def by_device(self) -> dict[str, list[Cable]]:
        out: dict[str, list[Cable]] = defaultdict(list)
        for c in self.cables:
            out[c.a.device].append(c)
            out[c.b.device].append(c)
        return out


def port_name(sw: Switch, port: int, lane: int | None, of: int = 1) -> tuple[str, str]:
    """(vendor name, interface name) of port `port` (1-based), lane `lane` of an `of`-way
    breakout. The interface name is the switch OS's: `swp12`, `swp12s2` on Debian/FRR; the
    vendor name on VRP;
    `Ethernet<first lane>` on SONiC (lane L of an n-way breakout of a port of k lanes starts
    (L - 1) x k / n lanes in)."""
    name = sw.model.port_name.format(port=port)
    if sw.model.os == "sonic":
        g = sw.model.group(port)
        first = g.first_lane_of(port)
        if lane is not None:
            first += (lane - 1) * (g.lanes or 1) // of
            name = f"{name}:{lane}"
        return name, f"Ethernet{first}"
    if sw.model.os == "vrp":  # VRP's own name is the interface: 400GE1/0/12, 400GE1/0/12:2
        full = name if lane is None else f"{name}:{lane}"
        return full, full
    if lane is None:
        return name, f"swp{port}"
    return f"{name}:{lane}", f"swp{port}s{lane}"


def _classes(length: float, classes: tuple[int, ...]) -> int | None:
    for c in classes:
        if length <= c:
            return c
    return None


class _Floor:
    """Where racks stand, for media and length (`layout.distances`, docs/language.md)."""

    def __init__(self, cluster: Cluster) -> None:
        self.rows = cluster.rows
        self.between_halls_m = cluster.between_halls_m

    def media(self, a: Rack, b: Rack, speed: int) -> tuple[str, int]:
        if a is b:
            return ("CAT6" if speed <= 1 else "DAC"), SAME_RACK_M
        pa, pb = a.pod, b.pod
        if pa.hall != pb.hall:
            return "SMF", math.ceil(self.between_halls_m)
        copper = "CAT6" if speed <= 1 else None
        ra = self.rows.get((pa.hall, pa.row or ""))
        rb = self.rows.get((pb.hall, pb.row or ""))
        known = ra or rb
        d = known.distances if known is not None else DEFAULT
        if pa.row == pb.row and a.position is not None and b.position is not None:
            run = abs(a.position - b.position) * d.rack_pitch_m + d.rack_slack_m
            length = _classes(run, AOC_LENGTHS)
            if length is not None:
                return copper or "AOC", length
        else:
            rows_apart = abs((ra.order if ra else 0) - (rb.order if rb else 0))
            run = d.cross_row_m + rows_apart * d.row_pitch_m
        length = _classes(run, MMF_LENGTHS)
        if length is None:
            return "SMF", math.ceil(run)
        return copper or "MMF", length


def derive(cluster: Cluster, topo: Topology) -> Cabling:
    floor = _Floor(cluster)
    cables: list[Cable] = []
    lanes_used: dict[str, int] = defaultdict(int)  # per leaf: node lanes so far
    below_used: dict[str, int] = defaultdict(int)  # per switch: ports taken by the tier below

    for pod in cluster.allocated_pods():
        for node, plane, port, leaf in node_attachments(cluster, pod):
            if leaf is None:
                continue
            load = topo.loads[leaf.name]
            lane_no = lanes_used[leaf.name]
            lanes_used[leaf.name] += 1
            per = load.lanes_per_port
            phys = lane_no // per + 1
            name, ifname = port_name(leaf, phys, lane_no % per + 1 if per > 1 else None, per)
            if port < 0:
                a = End(node.name, "bmc", "bmc")
                speed = node.model.bmc_speed
            else:
                a = End(node.name, f"{plane.name}{port}", f"{plane.name}{port}", port)
                speed = node.model.nic(plane.name).speed  # type: ignore[union-attr]
            media, length = floor.media(node.rack, leaf.rack, speed)
            breakout = None
            if per > 1:
                tier = plane.fabric.tier("leaf") if plane.fabric else None
                breakout = tier.downlink_breakout if tier else None
            cables.append(
                Cable(
                    f"{leaf.name}:{leaf.model.port_name.format(port=phys)}",
                    plane.name,
                    a,
                    End(leaf.name, name, ifname),
                    speed,
                    media,
                    length,
                    breakout,
                )
            )

    for sw in cluster.allocated_switches():
        load = topo.loads[sw.name]
        if not load.up_targets:
            continue
        first_up = sw.model.ports - load.uplinks + 1
        k = 0
        for target in load.up_targets:
            for _ in range(load.links_per_target):
                a_name, a_if = port_name(sw, first_up + k, None)
                speed = sw.model.port_speed(first_up + k)
                k += 1
                below_used[target.name] += 1
                tport = below_used[target.name]
                b_name, b_if = port_name(target, tport, None)
                media, length = floor.media(sw.rack, target.rack, speed)
                cables.append(
                    Cable(
                        f"{target.name}:{target.model.port_name.format(port=tport)}",
                        sw.plane.name,
                        End(sw.name, a_name, a_if),
                        End(target.name, b_name, b_if),
                        speed,
                        media,
                        length,
                        None,
                    )
                )
    cables.extend(_peer_links(topo, floor))
    return Cabling(_one_length_per_breakout(_without_retired(cluster, cables)))


def peer_port(sw: Switch, topo: Topology) -> int:
    """The port of a leaf's peer link: the last one below its uplinks."""
    return sw.model.ports - topo.loads[sw.name].uplinks


def _peer_links(topo: Topology, floor: _Floor) -> list[Cable]:
    """One cable between the two leaves of each active-backup pair, on the port below their
    uplinks (topology counts it in their port budget)."""
    out = []
    for a, b in topo.peer_pairs:
        pa, pb = peer_port(a, topo), peer_port(b, topo)
        a_name, a_if = port_name(a, pa, None)
        b_name, b_if = port_name(b, pb, None)
        speed = min(a.model.port_speed(pa), b.model.port_speed(pb))  # its port group's speed
        media, length = floor.media(a.rack, b.rack, speed)
        out.append(
            Cable(
                f"{b.name}:{b_name}",
                a.plane.name,
                End(a.name, a_name, a_if),
                End(b.name, b_name, b_if),
                speed,
                media,
                length,
                None,
                peer=True,
            )
        )
    return out


def _without_retired(cluster: Cluster, cables: list[Cable]) -> list[Cable]:
    """A retired pod's ports stay taken, its cables leave the plan."""
    if len(cluster.allocated_pods()) == len(cluster.pods):
        return cables
    gone = {x.name for p in cluster.allocated_pods() if p.retired for x in p.switches}
    gone |= {x.name for p in cluster.allocated_pods() if p.retired for x in p.nodes}
    return [c for c in cables if c.a.device not in gone and c.b.device not in gone]


MEDIA_RANK = {"CAT6": 0, "DAC": 1, "AOC": 2, "MMF": 3, "SMF": 4}


def _one_length_per_breakout(cables: list[Cable]) -> list[Cable]:
    """The lanes of a breakout are one part: give every lane the longest run and the most
    capable media any of its lanes needs (a port's lanes can go to servers in two racks)."""
    lanes: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cables):
        if c.breakout:
            lanes[c.id].append(i)
    for idx in lanes.values():
        media = max((cables[i].media for i in idx), key=MEDIA_RANK.__getitem__)
        length = max(cables[i].length_m for i in idx)
        for i in idx:
            if cables[i].media != media or cables[i].length_m != length:
                cables[i] = replace(cables[i], media=media, length_m=length)
    return cables
