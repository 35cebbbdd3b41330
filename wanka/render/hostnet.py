"""Render: a host's network configuration (network.json's bonds, ports, VLANs, addresses,
MTU and routes) in the form its OS's own network tool reads.

    openEuler 22.03, Kylin V10   NetworkManager keyfiles, one per connection
                                 (NetworkManager/wanka-<ifname>.nmconnection, for
                                 /etc/NetworkManager/system-connections/)
    Ubuntu 22.04                 one netplan file (netplan/90-wanka.yaml, for /etc/netplan/),
                                 rendered by systemd-networkd as on Ubuntu Server

Which one a host takes is keyed on its OS family (`os_family`: the OS its model runs,
`software.oses` by its `os`, else `software.os`, through `model.software.os_family`, as the
mirror's files are); an OS of no known family gets network.json only.

Keyfiles use the names NetworkManager has read since 1.20 and still reads (`master=` and
`slave-type=` for a bond's ports; 1.46 writes them `controller=`/`port-type=`), and the
forms NetworkManager writes itself (`address1=ADDRESS/PLEN,GATEWAY`), so a keyfile read by
NetworkManager and written back holds every setting as rendered (tests/test_hostnet.py checks
that with `nmcli --offline`). IPv6 is off: the model addresses hosts over IPv4 only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import yaml

from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.model.software import os_family as types_os_family
from wanka.model.types import Node

try:
    from yaml import CSafeDumper as Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as Dumper  # type: ignore[assignment]

# OS family -> the tool that configures its network
NETWORK_TOOL = {"openeuler": "networkmanager", "kylin": "networkmanager", "ubuntu": "netplan"}
NM_DIR = "NetworkManager"
NETPLAN_FILE = "netplan/90-wanka.yaml"
HEADER = "rendered by wanka from the cluster model: edit the model, not this file"
# the UUIDs of a host's connections: the same host and interface always get the same one
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://wanka.invalid/host-network")

# network.json's Linux bonding option -> netplan's name for it
NETPLAN_BOND = {
    "mode": "mode",
    "miimon": "mii-monitor-interval",
    "primary": "primary",
    "num_grat_arp": "gratuitous-arp",
    "lacp_rate": "lacp-rate",
    "xmit_hash_policy": "transmit-hash-policy",
}


def os_family(d: Derived, node: Node) -> str | None:
    """The OS family of a node (openeuler, kylin, ubuntu or None: `model.software.os_family`)
    of the OS its model runs (software.oses by its `os`, else software.os)."""
    image = d.cluster.software.os_of(node.model)
    return types_os_family(image.name) if image is not None else None


def host_files(net: Json) -> Iterator[tuple[str, str]]:
    """(path under nodes/<host>/, text) of the OS network files of one network.json."""
    if net["tool"] == "networkmanager":
        for name, text in keyfiles(net).items():
            yield f"{NM_DIR}/{name}", text
    elif net["tool"] == "netplan":
        yield NETPLAN_FILE, netplan(net)


# -- NetworkManager keyfiles ------------------------------------------------------------------


def _uuid(host: str, ifname: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{host}/{ifname}"))


def _ip(iface: Json) -> list[tuple[str, list[tuple[str, Any]]]]:
    """[ipv4] and [ipv6] of an interface: its address, default gateway and routes, or off."""
    if "address" not in iface:
        return [("ipv4", [("method", "disabled")]), ("ipv6", [("method", "disabled")])]
    routes = iface["routes"]
    default = next((r["via"] for r in routes if r["to"] == "default"), None)
    ipv4: list[tuple[str, Any]] = [
        ("address1", iface["address"] + (f",{default}" if default else ""))
    ]
    ipv4 += [("method", "manual")]
    others = [r for r in routes if r["to"] != "default"]
    ipv4 += [(f"route{i}", f"{r['to']},{r['via']}") for i, r in enumerate(others, 1)]
    ipv4 += [("route-metric", iface["route_metric"])]
    return [("ipv4", ipv4), ("ipv6", [("method", "disabled")])]


def _keyfile(sections: list[tuple[str, list[tuple[str, Any]]]]) -> str:
    """The keyfile's text: `[section]` and `key=value` lines (GKeyFile, as NetworkManager
    writes it). Joined here rather than through a template: the 50,000-card benchmark
    cluster has some 37,000 of them, and Jinja took five times as long."""
    out = [f"# {HEADER}\n"]
    for section, keys in sections:
        out.append(f"\n[{section}]\n")
        out.extend(f"{key}={value}\n" for key, value in keys)
    return "".join(out)


def _connection(host: str, iface: Json, kind: str) -> list[tuple[str, Any]]:
    name = iface["name"]
    return [("id", name), ("uuid", _uuid(host, name)), ("type", kind), ("interface-name", name)]


def keyfiles(net: Json) -> dict[str, str]:
    """wanka-<ifname>.nmconnection -> text: a profile per bond (with one per member port,
    brought up with it), per VLAN interface and per addressed port."""
    host = net["hostname"]
    out: dict[str, str] = {}
    for iface in net["interfaces"]:
        name, kind = iface["name"], iface["kind"]
        if kind == "bond":
            options = [(k, iface[k]) for k in sorted(NETPLAN_BOND) if iface.get(k) is not None]
            conn = _connection(host, iface, "bond") + [("autoconnect-slaves", 1)]
            sections = [("connection", conn), ("ethernet", [("mtu", iface["mtu"])])]
            out[f"wanka-{name}.nmconnection"] = _keyfile(
                sections + [("bond", options)] + _ip(iface)
            )
            macs = iface.get("member_macs", {})
            for port in iface["members"]:
                member = {"name": port}
                conn = _connection(host, member, "ethernet")
                conn += [("master", name), ("slave-type", "bond")]
                eth = [("mac-address", macs[port])] if port in macs else []
                eth += [("mtu", iface["mtu"])]
                out[f"wanka-{port}.nmconnection"] = _keyfile(
                    [("connection", conn), ("ethernet", eth)]
                )
        elif kind == "vlan":
            vlan = [("flags", 1), ("id", iface["vlan_id"]), ("parent", iface["link"])]
            sections = [("connection", _connection(host, iface, "vlan"))]
            sections += [("ethernet", [("mtu", iface["mtu"])]), ("vlan", vlan)]
            out[f"wanka-{name}.nmconnection"] = _keyfile(sections + _ip(iface))
        else:
            eth = [("mac-address", iface["mac"])] if "mac" in iface else []
            eth += [("mtu", iface["mtu"])]
            sections = [("connection", _connection(host, iface, "ethernet")), ("ethernet", eth)]
            out[f"wanka-{name}.nmconnection"] = _keyfile(sections + _ip(iface))
    return out


# -- netplan ----------------------------------------------------------------------------------


def _netplan_ip(iface: Json) -> dict[str, Any]:
    out: dict[str, Any] = {"mtu": iface["mtu"], "link-local": [], "accept-ra": False}
    if "address" in iface:
        out["addresses"] = [iface["address"]]
        metric = iface["route_metric"]
        out["routes"] = [
            {"to": r["to"], "via": r["via"], "metric": metric} for r in iface["routes"]
        ]
    return out


def _port(name: str, mtu: int, mac: str | None) -> dict[str, Any]:
    """A port: by MAC when the manifest gives it (netplan names it as the model does)."""
    out: dict[str, Any] = {"mtu": mtu}
    if mac is not None:
        out["match"] = {"macaddress": mac}
        out["set-name"] = name
    return out


def netplan_doc(net: Json) -> dict[str, Any]:
    """The netplan document (version 2, networkd) of one network.json."""
    ethernets: dict[str, Any] = {}
    bonds: dict[str, Any] = {}
    vlans: dict[str, Any] = {}
    for iface in net["interfaces"]:
        name, kind = iface["name"], iface["kind"]
        if kind == "bond":
            macs = iface.get("member_macs", {})
            for port in iface["members"]:
                ethernets[port] = _port(port, iface["mtu"], macs.get(port))
            params = {NETPLAN_BOND[k]: iface[k] for k in NETPLAN_BOND if iface.get(k) is not None}
            bonds[name] = {"interfaces": iface["members"], "parameters": params}
            bonds[name].update(_netplan_ip(iface))
        elif kind == "vlan":
            vlans[name] = {"id": iface["vlan_id"], "link": iface["link"], **_netplan_ip(iface)}
        else:
            ethernets[name] = {**_port(name, iface["mtu"], iface.get("mac")), **_netplan_ip(iface)}
    network: dict[str, Any] = {"version": 2, "renderer": "networkd"}
    for key, part in (("ethernets", ethernets), ("bonds", bonds), ("vlans", vlans)):
        if part:
            network[key] = part
    return {"network": network}


def netplan(net: Json) -> str:
    """/etc/netplan/90-wanka.yaml of one network.json."""
    body = yaml.dump(netplan_doc(net), Dumper=Dumper, sort_keys=False, default_flow_style=False)
    return f"# {HEADER}\n{body}"
