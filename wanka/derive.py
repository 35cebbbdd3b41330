"""Derive: everything that follows from a valid model, computed once.

`derive(result)` bundles the model, its topology, every address and every
cable; planning and rendering read this bundle and compute nothing of their
own about topology.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .addresses import Addressing, allocate
from .cabling import Cabling
from .cabling import derive as derive_cabling
from .findings import Finding
from .model import Cluster
from .topology import Topology
from .validate import Result


@dataclass(slots=True)
class Derived:
    cluster: Cluster
    topology: Topology
    addressing: Addressing
    cabling: Cabling
    warnings: list[Finding] = field(default_factory=list)  # validation warnings, for the plan

    @property
    def findings(self) -> list[Finding]:
        """Problems found while deriving (a valid model should have none)."""
        return self.addressing.findings


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
