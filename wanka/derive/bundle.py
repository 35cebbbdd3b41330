"""Derive: everything that follows from a valid model, computed once.

`Derived` bundles the model, its topology, every address and every
cable; planning and rendering read this bundle and compute nothing of their
own about topology.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wanka.derive.addresses import Addressing
from wanka.derive.cabling import Cabling
from wanka.derive.topology import Topology
from wanka.findings import Finding
from wanka.model.types import Cluster


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
