"""The manifest: what is pinned per node and switch by name (spec.manifest), and the check,
once the cluster is built, that every name and port it pins exists."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from wanka.findings import Mark, error
from wanka.language.loader import YMap
from wanka.model.builders.problems import Problems, at, items
from wanka.model.types import Node, NodeFacts, Plane, Switch, SwitchFacts, npu_key


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    node_facts: dict[str, NodeFacts]
    switch_facts: dict[str, SwitchFacts]


def build_manifest(*, spec: YMap, problems: Problems) -> Manifest:
    man = spec.get("manifest", {})
    node_facts: dict[str, NodeFacts] = {}
    nodes = man.get("nodes", {})
    for name, f in items(nodes):
        node_facts[name] = _node_facts(f, at(nodes, name), problems)
    switch_facts: dict[str, SwitchFacts] = {}
    switches = man.get("switches", {})
    for name, f in items(switches):
        marks = {k: at(f, k, value=True) for k in f}
        switch_facts[name] = SwitchFacts(
            serial=f.get("serial"),
            mac=f.get("mac", "").lower() or None,
            asn=f.get("asn"),
            loopback=problems.address(f["loopback"], marks["loopback"])
            if "loopback" in f
            else None,
            at=at(switches, name),
            key_marks=marks,
        )
    return Manifest(node_facts=node_facts, switch_facts=switch_facts)


def _node_facts(f: YMap, where: Mark, problems: Problems) -> NodeFacts:
    marks = {"serial": at(f, "serial", value=True)}
    bmc = f.get("bmc", {})
    if "mac" in bmc:
        marks["bmc.mac"] = at(bmc, "mac", value=True)
    if "address" in bmc:
        marks["bmc.address"] = at(bmc, "address", value=True)
    for k in f.get("macs", {}):
        marks[f"macs.{k}"] = at(f["macs"], k)
    for k in f.get("addresses", {}):
        marks[f"addresses.{k}"] = at(f["addresses"], k)
    addrs: dict[str, IPv4Address] = {}
    for k, v in f.get("addresses", {}).items():
        ip = problems.address(v, marks[f"addresses.{k}"])
        if ip is not None:
            addrs[k] = ip
    return NodeFacts(
        serial=f.get("serial"),
        bmc_mac=bmc.get("mac", "").lower() or None,
        bmc_address=(
            problems.address(bmc["address"], marks["bmc.address"]) if "address" in bmc else None
        ),
        macs={k: v.lower() for k, v in f.get("macs", {}).items()},
        addresses=addrs,
        excluded=f["exclude"]["reason"] if "exclude" in f else None,
        at=where,
        key_marks=marks,
        bmc_ca=bmc.get("ca"),
    )


def check_manifest_keys(
    *,
    manifest: Manifest,
    planes: dict[str, Plane],
    nodes: list[Node],
    switches: list[Switch],
    problems: Problems,
) -> None:
    """Every node and switch the manifest names is built, and every port, NPU or bonded plane
    it pins a MAC or an address of is the node's. Skipped when the cluster is incomplete:
    the names of what was not built would be reported as unknown."""
    if problems.incomplete:
        return
    by_name = {n.name: n for n in nodes}
    for name, f in manifest.node_facts.items():
        node = by_name.get(name)
        if node is None:
            problems.unresolved("node", name, by_name, f.at)
            continue
        _check_node_keys(name, node, f, planes, problems)
    switch_names = {s.name for s in switches}
    for name, sf in manifest.switch_facts.items():
        if name not in switch_names:
            problems.unresolved("switch", name, switch_names, sf.at)


def _check_node_keys(
    name: str, node: Node, f: NodeFacts, planes: dict[str, Plane], problems: Problems
) -> None:
    # host ports by name (mgmt0), NPU devices by id (npu3: A3 dies are devices), bonded
    # planes by plane name (one address per node); a bond member has a MAC of its own but
    # no address
    ports: set[str] = set()
    bonded: set[str] = set()
    members: dict[str, str] = {}
    for nic in node.model.nics:
        pl = planes.get(nic.plane)
        if pl is not None and pl.role == "parameter":
            continue
        if pl is not None and pl.bonded:
            bonded.add(nic.plane)
            members.update(dict.fromkeys(node.port_names(nic.plane), nic.plane))
        ports.update(node.port_names(nic.plane))
    npus = {npu_key(d) for d in range(node.npu_devices)}
    for k in f.macs:
        if k not in ports and k not in npus:
            problems.unresolved(f"port or NPU of {name}", k, ports | npus, f.key_marks[f"macs.{k}"])
    for k in f.addresses:
        if k in members:
            problems.add(
                error(
                    "NET-PIN-BONDED",
                    f"'{k}' of {name} is a member of the bond on plane '{members[k]}': "
                    "the address belongs to the bond, not to its member ports",
                    f.key_marks[f"addresses.{k}"],
                    f"pin it as addresses: {{{members[k]}: ...}}",
                )
            )
        elif k not in ports and k not in bonded and k not in npus:
            problems.unresolved(
                f"port, NPU or bonded plane of {name}",
                k,
                ports | bonded | npus,
                f.key_marks[f"addresses.{k}"],
            )
