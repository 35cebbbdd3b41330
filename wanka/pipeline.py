"""One way in: load -> validate -> derive a cluster file."""

from __future__ import annotations

from wanka.derive.addresses import allocate
from wanka.derive.bundle import Derived
from wanka.derive.cabling import derive as derive_cabling
from wanka.rules.check import Result


class NotValid(Exception):
    """The cluster has errors: nothing is derived from an invalid model."""


def derive(result: Result) -> Derived:
    if result.errors or result.cluster is None or result.topology is None:
        raise NotValid(result.path)
    cluster, topo = result.cluster, result.topology
    return Derived(
        cluster,
        topo,
        allocate(cluster, topo),
        derive_cabling(cluster, topo),
        list(result.warnings),
    )
