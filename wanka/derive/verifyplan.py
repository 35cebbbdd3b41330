"""What verify compares a server's NPU ports with that follows from the model: the leaf port
each NPU card is cabled to (what LLDP must show) and each device's RoCE ping peer.

The bring-up's expectations (bringup/expect.py) read these; nothing after the pipeline works
them out again (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wanka.derive.cabling import Cabling
from wanka.model.types import Cluster


def cabled_cards(cluster: Cluster, cabling: Cabling) -> dict[tuple[str, int], tuple[str, str]]:
    """(node, card) -> (leaf, the leaf's vendor port name) on every parameter plane (one per
    server; a cluster may have several): the cable's own port number, not its name."""
    planes = {p.name for p in cluster.planes.values() if p.role == "parameter"}
    return {
        (c.a.device, c.a.index): (c.b.device, c.b.port)
        for c in cabling.cables
        if c.plane in planes and c.a.index is not None
    }


@dataclass(frozen=True, slots=True)
class Server:
    """A server of a pod whose NPU devices ping: its name and (device, RoCE address) pairs."""

    name: str
    devices: Sequence[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class Ping:
    address: str  # the target device's RoCE address
    peer: str  # SERVER:npuN, what the report names


def ping_peers(pods: Sequence[Sequence[Server]]) -> dict[tuple[str, int], Ping]:
    """(server, device) -> its ping target: device + 1 (the next rail) of the next server of
    its pod, so every port's ping crosses rails; none for a pod's only one-device server."""
    out: dict[tuple[str, int], Ping] = {}
    for servers in pods:
        for i, server in enumerate(servers):
            peer = servers[(i + 1) % len(servers)]
            if not peer.devices or (len(servers) == 1 and len(peer.devices) == 1):
                continue
            for device, _ in server.devices:
                target, address = peer.devices[(device + 1) % len(peer.devices)]
                out[(server.name, device)] = Ping(address, f"{peer.name}:npu{target}")
    return out
