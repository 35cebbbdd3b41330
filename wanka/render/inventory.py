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

from wanka.derive import hccn
from wanka.derive.addresses import Subnet
from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.model.software import NpuSoftware
from wanka.model.types import Node, Plane, Switch
from wanka.render.hostnet import NETWORK_TOOL, os_family
from wanka.render.mirror import mirror_vars
from wanka.rules.ports import BOND_PREFIX

ROLE_GROUP = {"server": "servers", "host": "hosts", "storage": "storage_nodes"}
TIER_GROUP = {"leaf": "leaves", "spine": "spines", "core": "cores"}


def group(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _mgmt_plane(d: Derived, node: Node) -> str | None:
    """The management plane the node has ports on (a cluster may have several)."""
    plane = d.cluster.plane_of(node, "management")
    return plane.name if plane is not None else None


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


def node_vars(d: Derived, node: Node) -> Json:
    a = d.addressing
    out: Json = {}
    host = hccn.management_address(d, node)
    if host is not None:
        out["ansible_host"] = str(host)
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
    if node.supernode is not None:  # counted from 1, as sn_<pod>_NN and <pod>-snNN.json
        out["wanka_supernode"] = node.supernode + 1
    chosen = d.cluster.software.for_node(node)
    if chosen is not None:
        out["wanka_npu_software"] = chosen.name
    image = d.cluster.software.os_of(node.model)
    if image is not None:  # its type's OS: the family picks the roles' packages and paths
        out["wanka_os"] = image.as_var()
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
        "wanka_switch_os": sw.model.os,  # sonic | debian | vrp: which files fabric/<switch>/ holds
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
    hosts: dict[str, Json] = {}
    groups: dict[str, set[str]] = defaultdict(set)
    children: dict[str, set[str]] = defaultdict(set)
    for node in nodes:
        hosts[node.name] = node_vars(d, node)
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
        chosen = d.cluster.software.for_node(node)
        if chosen is not None and chosen.specificity:
            groups[set_group(chosen.name)].add(node.name)
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


def npu_software(s: NpuSoftware | None) -> Json:
    """`wanka_software` of one NPU software set, as the npu_driver role reads it."""
    return {
        "set": s.name if s is not None else None,
        "driver": {
            "version": s.driver_version if s else None,
            "packages": dict(sorted(s.driver_packages.items())) if s else {},
            "firmware_range": [s.firmware_min, s.firmware_max] if s else [None, None],
        },
        "firmware": {
            "version": s.firmware_version if s else None,
            "package": s.firmware_package if s else None,
        },
        "cann": {
            "version": s.cann_version if s else None,
            "packages": dict(sorted(s.cann_packages.items())) if s else {},
            "kernels": dict(sorted(s.kernels_packages.items())) if s else {},
        },
    }


def set_group(name: str) -> str:
    """The inventory group of the servers that take the NPU software set `name`."""
    return group(f"npu_sw_{name}")


def set_group_vars(d: Derived) -> dict[str, Json]:
    """group_vars/<npu_sw_set>/software.yml of every `npu_sets` entry: its `wanka_software`
    overrides the default set's (group_vars/all) for the servers of that group."""
    return {set_group(s.name): {"wanka_software": npu_software(s)} for s in d.cluster.software.sets}


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
            "wanka_labels": dict(sorted(c.labels.items())),
            "wanka_precision": c.precision,
            "wanka_phases": [{"name": p.name, "status": p.status} for p in c.phases],
        },
        "network": {"wanka_planes": planes},
        "software": {
            # the default OS (software.os); a host's own wanka_os (its type's) overrides it
            "wanka_os": sw.os.as_var()
            if sw.os
            else {"name": None, "version": None, "distribution": None},
            "wanka_software": npu_software(sw.npu),
            "wanka_mirror": mirror_vars(c),
        },
        "credentials": {"wanka_credentials": creds},
    }


# Linux bonding options per mode (kernel Documentation/networking/bonding.rst): link
# monitoring every 100 ms; active-backup prefers the first member (on the pair's first
# leaf) and sends gratuitous ARPs on failover so the pair learns where the host moved;
# 802.3ad (one switch, or M-LAG) asks for fast LACPDUs and hashes flows on L3+L4.
BOND_OPTIONS = {
    "active-backup": lambda members: {
        "miimon": 100,
        "primary": members[0] if members else None,
        "num_grat_arp": 1,
    },
    "802.3ad": lambda members: {
        "miimon": 100,
        "lacp_rate": "fast",
        "xmit_hash_policy": "layer3+4",
    },
}


# Routes a host takes through a plane's gateway: the default route through the default
# plane's (management), the plane's whole address space through a routed plane's (a 2- or
# 3-tier fabric: the other pods' subnets are behind the leaf). Metric 100 on a bond or a
# plane's first port, 100 + i on its port i: a second unbonded port takes over the routes
# when the first one's link (and with it its routes) goes down.
ROUTE_METRIC = 100


def _routes(plane: Plane, gateway: str, default: bool) -> list[Json]:
    routes: list[Json] = []
    if default:
        routes.append({"to": "default", "via": gateway})
    fab = plane.fabric
    if plane.cidr is not None and fab is not None and fab.tiers >= 2:
        routes.append({"to": str(plane.cidr), "via": gateway})
    return routes


def _addressed(
    entry: Json, plane: Plane, ip: object, sub: Subnet | None, default: bool, index: int
) -> list[Json]:
    """`entry` (a bond or a port) with the plane's address, gateway and routes; on a tagged
    plane (`vlan`) the address moves to a VLAN interface `<entry>.<vlan>` on top of it."""
    top = entry
    out = [entry]
    if plane.vlan is not None:
        top = {
            "name": f"{entry['name']}.{plane.vlan}",
            "kind": "vlan",
            "plane": plane.name,
            "link": entry["name"],
            "vlan_id": plane.vlan,
            "mtu": plane.mtu,
        }
        out.append(top)
    if ip is not None and sub is not None:
        top["address"] = f"{ip}/{sub.network.prefixlen}"
        top["gateway"] = str(sub.gateway)
        top["routes"] = _routes(plane, str(sub.gateway), default)
        top["route_metric"] = ROUTE_METRIC + index
    return out


def node_network(d: Derived, node: Node) -> Json:
    """The host network configuration of a node: bonds, ports and VLAN interfaces with
    addresses and routes, and the OS family whose network tool `render/hostnet.py` writes
    them for (`os_family`, `tool`)."""
    a = d.addressing
    default = _mgmt_plane(d, node)
    macs = node.facts.macs if node.facts is not None else {}
    ifaces: list[Json] = []
    for nic in node.model.nics:
        plane = d.cluster.planes[nic.plane]
        if plane.role == "parameter" or plane.cidr is None:
            continue  # NPU RoCE ports are configured through hccn.conf
        members = node.port_names(plane.name)
        is_default = plane.name == default
        if plane.bonded:
            entry: Json = {
                "name": f"{BOND_PREFIX}{plane.name}",  # at most 15 characters: NAME-IFNAME
                "kind": "bond",
                "plane": plane.name,
                "members": members,
                "mode": plane.bond_mode,
                **BOND_OPTIONS[plane.bond_mode](members),
                "mtu": plane.mtu,
            }
            member_macs = {m: macs[m] for m in members if m in macs}
            if member_macs:  # the delivery manifest's: match the members by MAC
                entry["member_macs"] = member_macs
            ip = a.bonds.get((node.name, plane.name))
            sub = a.by_owner.get((plane.name, node.pod.name))
            ifaces += _addressed(entry, plane, ip, sub, is_default, 0)
            continue
        for i, port in enumerate(members):
            entry = {"name": port, "kind": "ethernet", "plane": plane.name, "mtu": plane.mtu}
            if port in macs:
                entry["mac"] = macs[port]
            ip = a.ports.get((node.name, plane.name, i))
            sub = a.port_subnet.get((node.name, plane.name, i))
            ifaces += _addressed(entry, plane, ip, sub, is_default, i)
    family = os_family(d, node)
    return {
        "hostname": node.name,
        "os_family": family,
        "tool": NETWORK_TOOL.get(family) if family is not None else None,
        "default_route_plane": default,
        "ports": _ports(ifaces),
        "interfaces": ifaces,
    }


def _ports(ifaces: list[Json]) -> list[Json]:
    """The physical ports the interfaces use (a bond's members, the unbonded ports), with
    the manifest's MAC when it gives one: what the host_network role looks for first."""
    out: list[Json] = []
    for iface in ifaces:
        if iface["kind"] == "bond":
            macs = iface.get("member_macs", {})
            out += [
                {"name": m, **({"mac": macs[m]} if m in macs else {})} for m in iface["members"]
            ]
        elif iface["kind"] == "ethernet":
            out.append({"name": iface["name"], **({"mac": iface["mac"]} if "mac" in iface else {})})
    return out
