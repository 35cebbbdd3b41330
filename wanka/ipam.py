"""Address plan arithmetic shared by validation and allocation.

Each access switch (leaf) of a plane gets one subnet, sized for what is
cabled to it plus the network, gateway and broadcast addresses, and subnets
are packed in model order (phase, pod, switch), each aligned to its size.
Validation uses `pack` to prove a plane is large enough; allocation uses the
same function, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network

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
