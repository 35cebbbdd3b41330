"""Manifest rules: serials and MACs are unique."""

from __future__ import annotations

from collections.abc import Iterator

from wanka.derive.topology import Topology
from wanka.findings import Finding, Mark, error
from wanka.model.types import Cluster
from wanka.rules import rule


@rule(
    "MANIFEST-DUPLICATE",
    "Serial numbers and MAC addresses are unique across nodes and switches.",
    "c.yaml:214:50: error[MANIFEST-DUPLICATE]: MAC 02:00:00:01:01:01 (BMC of ...-s02) is also listed for BMC of ...-s01 (c.yaml:211:50)",
)
def duplicates(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    serials: dict[str, tuple[str, Mark]] = {}
    macs: dict[str, tuple[str, Mark]] = {}

    def check(
        table: dict[str, tuple[str, Mark]], what: str, value: str, owner: str, at: Mark
    ) -> Iterator[Finding]:
        if value in table:
            first, fat = table[value]
            yield error(
                "MANIFEST-DUPLICATE",
                f"{what} {value} ({owner}) is also listed for {first} ({fat})",
                at,
                "a delivery manifest lists each device once",
            )
        else:
            table[value] = (owner, at)

    for name, f in cluster.node_facts.items():
        if f.serial:
            yield from check(serials, "serial", f.serial, name, f.key_marks["serial"])
        if f.bmc_mac:
            yield from check(macs, "MAC", f.bmc_mac, f"BMC of {name}", f.key_marks["bmc.mac"])
        for port, mac in f.macs.items():
            yield from check(macs, "MAC", mac, f"{name} {port}", f.key_marks[f"macs.{port}"])
    for name, sf in cluster.switch_facts.items():
        if sf.serial:
            yield from check(serials, "serial", sf.serial, name, sf.key_marks["serial"])
        if sf.mac:
            yield from check(macs, "MAC", sf.mac, name, sf.key_marks["mac"])


@rule(
    "BMC-TLS-NAME",
    "credentials.bmc_tls.insecure names nodes of the cluster.",
    "c.yaml:104:20: error[BMC-TLS-NAME]: credentials.bmc_tls.insecure names lab-p1-pod01-r09-s01, which is no node of the cluster",
)
def bmc_tls_names(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    tls = cluster.bmc_tls
    if tls is None or not tls.insecure or not cluster.complete:
        return
    nodes = {n.name for n in cluster.nodes}
    for name, at in tls.insecure.items():
        if name not in nodes:
            yield error(
                "BMC-TLS-NAME",
                f"credentials.bmc_tls.insecure names {name}, which is no node of the cluster",
                at,
                "name each node whose BMC certificate is not checked by its full name "
                "(`wanka plan` lists them)",
            )
