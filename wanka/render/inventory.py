"""Render: the Ansible inventory (static YAML) and its group_vars, split by topic.

Groups (Ansible allows only letters, digits and underscores):
  phase_<p>, pod_<pod>, rack_<rack>, sn_<pod>_<NN> (supernodes)
  servers, hosts, storage_nodes, switches, leaves, spines, cores, excluded
Host vars stay small (addresses, placement); what the roles need per node at
length (hccn.conf, network config) lives in nodes/<host>/ beside the inventory.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.model.types import Node, Switch

ROLE_GROUP = {"server": "servers", "host": "hosts", "storage": "storage_nodes"}
TIER_GROUP = {"leaf": "leaves", "spine": "spines", "core": "cores"}


def group(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _mgmt_plane(d: Derived) -> str | None:
    return next((p.name for p in d.cluster.planes.values() if p.role == "management"), None)


def bmc_verify(d: Derived, node: Node) -> bool | str:
    """How the node's BMC certificate is checked: a CA bundle path (the node's own, else the
    site's, relative to the cluster file), True (the controller's CAs), or False only for a
    node `credentials.bmc_tls.insecure` names."""
    tls = d.cluster.bmc_tls
    if tls is not None and node.name in tls.insecure:
        return False
    ca = (node.facts.bmc_ca if node.facts is not None else None) or (tls.ca if tls else None)
    if not ca:
        return True
    base = Path(d.cluster.files[0]).parent if d.cluster.files else Path(".")
    return str((base / Path(ca).expanduser()).resolve())


def node_vars(d: Derived, node: Node, mgmt: str | None) -> Json:
    a = d.addressing
    out: Json = {}
    if mgmt is not None and (node.name, mgmt) in a.bonds:
        out["ansible_host"] = str(a.bonds[(node.name, mgmt)])
    if node.name in a.bmcs:
        out["wanka_bmc_address"] = str(a.bmcs[node.name])
    verify = bmc_verify(d, node)
    if verify is False:
        out["wanka_bmc_insecure"] = True
    elif isinstance(verify, str):
        out["wanka_bmc_ca"] = verify
    out["wanka_model"] = node.model.key
    out["wanka_rack"] = node.rack.name
    out["wanka_unit"] = node.unit
    if node.supernode is not None:
        out["wanka_supernode"] = node.supernode
    if node.facts is not None and node.facts.serial:
        out["wanka_serial"] = node.facts.serial
    if node.excluded:
        out["wanka_excluded"] = node.facts.excluded if node.facts else True
    return out


def switch_vars(d: Derived, sw: Switch) -> Json:
    out: Json = {
        "wanka_plane": sw.plane.name,
        "wanka_tier": sw.tier,
        "wanka_model": sw.model.key,
        "wanka_rack": sw.rack.name,
    }
    lo = d.addressing.loopbacks.get(sw.name)
    if lo is not None:
        out["ansible_host"] = str(lo)
        out["wanka_loopback"] = str(lo)
    if sw.asn is not None:
        out["wanka_asn"] = sw.asn
    return out


def inventory(d: Derived, nodes: list[Node], switches: list[Switch]) -> Json:
    """The inventory document for these nodes and switches."""
    mgmt = _mgmt_plane(d)
    hosts: dict[str, Json] = {}
    groups: dict[str, set[str]] = defaultdict(set)
    children: dict[str, set[str]] = defaultdict(set)
    for node in nodes:
        hosts[node.name] = node_vars(d, node, mgmt)
        pod, rack = group(f"pod_{node.pod.name}"), group(f"rack_{node.rack.name}")
        phase = group(f"phase_{node.pod.phase.name}")
        children[phase].add(pod)
        children[pod].add(rack)
        groups[rack].add(node.name)
        groups[ROLE_GROUP[node.model.role]].add(node.name)
        if node.supernode is not None:
            sn = group(f"sn_{node.pod.name}_{node.supernode + 1:02d}")
            children[pod].add(sn)
            groups[sn].add(node.name)
        if node.excluded:
            groups["excluded"].add(node.name)
    for sw in switches:
        hosts[sw.name] = switch_vars(d, sw)
        pod, rack = group(f"pod_{sw.pod.name}"), group(f"rack_{sw.rack.name}")
        phase = group(f"phase_{sw.pod.phase.name}")
        children[phase].add(pod)
        children[pod].add(rack)
        groups[rack].add(sw.name)
        groups["switches"].add(sw.name)
        groups[TIER_GROUP[sw.tier]].add(sw.name)
        groups[group(f"plane_{sw.plane.name}")].add(sw.name)

    tree: Json = {}
    for name in sorted(set(groups) | set(children)):
        entry: Json = {}
        if name in groups:
            entry["hosts"] = {h: None for h in sorted(groups[name])}
        if name in children:
            entry["children"] = {c: None for c in sorted(children[name])}
        tree[name] = entry
    # every group is defined once under all.children; nesting is by name (children: {pod_x: null})
    all_: Json = {
        "hosts": {h: hosts[h] for h in sorted(hosts)},
        "children": tree,
    }
    return {"all": all_}


def group_vars(d: Derived) -> dict[str, Json]:
    """group_vars/all/<topic>.yml documents. Credentials appear as references only."""
    c = d.cluster
    sw = c.software
    planes = {}
    for p in c.planes.values():
        entry: Json = {"role": p.role, "mtu": p.mtu, "bonded": p.bonded}
        if p.cidr is not None:
            entry["cidr"] = str(p.cidr)
        if p.vlan is not None:
            entry["vlan"] = p.vlan
        if p.qos is not None:
            entry["qos"] = {
                "dscp": p.qos.dscp,
                "traffic_class": p.qos.traffic_class
                if p.qos.traffic_class is not None
                else p.qos.dscp * 4,
                "pfc_priority": p.qos.pfc_priority,
                "ecn": p.qos.ecn,
            }
        planes[p.name] = entry
    creds = {}
    for name, cred in sorted(c.credentials.items()):
        ref: Json = {"username": cred.username}
        for field_, secret in (("password", cred.password), ("private_key", cred.private_key)):
            if secret is not None:
                ref[field_] = {secret.source: secret.name}
        creds[name] = ref
    return {
        "cluster": {
            "wanka_cluster": c.name,
            "wanka_precision": c.precision,
            "wanka_phases": [{"name": p.name, "status": p.status} for p in c.phases],
        },
        "network": {"wanka_planes": planes},
        "software": {
            "wanka_software": {
                "os": {"name": sw.os_name, "version": sw.os_version},
                "driver": {
                    "version": sw.driver_version,
                    "packages": dict(sorted(sw.driver_packages.items())),
                    "firmware_range": [sw.firmware_min, sw.firmware_max],
                },
                "firmware": {"version": sw.firmware_version, "package": sw.firmware_package},
                "cann": {
                    "version": sw.cann_version,
                    "packages": dict(sorted(sw.cann_packages.items())),
                },
            }
        },
        "credentials": {"wanka_credentials": creds},
    }


def node_network(d: Derived, node: Node) -> Json:
    """The host network configuration of a node: bonds and ports with addresses."""
    a = d.addressing
    ifaces: list[Json] = []
    for nic in node.model.nics:
        plane = d.cluster.planes[nic.plane]
        if plane.role == "parameter" or plane.cidr is None:
            continue  # NPU RoCE ports are configured through hccn.conf
        members = node.port_names(plane.name)
        if plane.bonded:
            ip = a.bonds.get((node.name, plane.name))
            sub = a.by_owner.get((plane.name, node.pod.name))
            entry: Json = {
                "name": f"bond-{plane.name}"[:15],
                "kind": "bond",
                "members": members,
                "mode": "802.3ad",
                "mtu": plane.mtu,
            }
            if ip is not None and sub is not None:
                entry["address"] = f"{ip}/{sub.network.prefixlen}"
                entry["gateway"] = str(sub.gateway)
            ifaces.append(entry)
        else:
            for i, port in enumerate(members):
                ip = a.ports.get((node.name, plane.name, i))
                sub = a.port_subnet.get((node.name, plane.name, i))
                entry = {"name": port, "kind": "ethernet", "mtu": plane.mtu}
                if ip is not None and sub is not None:
                    entry["address"] = f"{ip}/{sub.network.prefixlen}"
                    entry["gateway"] = str(sub.gateway)
                ifaces.append(entry)
    default = _mgmt_plane(d)
    return {"hostname": node.name, "default_route_plane": default, "interfaces": ifaces}
