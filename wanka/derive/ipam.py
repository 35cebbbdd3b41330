"""Address plan arithmetic shared by validation and allocation.

Each leaf of a plane gets one subnet (or, on bonded and oob planes, each
pod gets one for its leaf pair), sized for what is cabled to it plus the
network, gateway and broadcast addresses, and subnets are packed in slot
order (pod slot, switch), each aligned to its size; retired pods keep theirs.
Validation uses `pack` to prove a plane is large enough; allocation uses the
same function, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network

from wanka.derive.topology import Topology
from wanka.model.types import Cluster, Plane, Pod, Switch

RESERVED = 3  # network, gateway (the leaf), broadcast


def subnet_size(hosts: int) -> int:
    """Addresses in the smallest power-of-two subnet for `hosts` plus the reserved ones."""
    need = max(hosts + RESERVED, 4)
    return 1 << (need - 1).bit_length()


def pack(sizes: Iterable[int], network: IPv4Network) -> tuple[list[int], int]:
    """Offsets of aligned subnets of the given sizes, in order, and the end offset.

    The end offset may exceed `network.num_addresses`: the caller decides
    whether that is an error.
    """
    offsets = []
    cursor = 0
    for size in sizes:
        cursor = -(-cursor // size) * size
        offsets.append(cursor)
        cursor += size
    return offsets, cursor


def per_pod(plane: Plane) -> bool:
    """Bonded planes (a node's ports bonded across a leaf pair, M-LAG) and the oob plane share one
    subnet per pod; other planes (NPU RoCE ports) get one subnet per leaf."""
    return plane.bonded or plane.role == "oob"


def plane_subnets(cluster: Cluster, topo: Topology, plane: Plane) -> list[tuple[Pod | Switch, int]]:
    """(owner, addresses needed) of every subnet of a plane, in model order.

    The owner is the pod (per-pod planes) or the leaf (per-leaf planes).
    """
    out: list[tuple[Pod | Switch, int]] = []
    if per_pod(plane):
        for pod in cluster.allocated_pods():
            if not any(s.plane is plane and s.tier == "leaf" for s in pod.switches):
                continue
            if plane.role == "oob":
                hosts = len(pod.nodes)
            else:
                hosts = sum(1 for n in pod.nodes if n.model.nic(plane.name) is not None)
            out.append((pod, hosts))
        return out
    for sw in cluster.allocated_switches():
        if sw.plane is plane and sw.tier == "leaf":
            out.append((sw, topo.loads[sw.name].addresses))
    return out
