"""Render: config_db.json and bgpd.conf of a routed SONiC switch, from its derived routing.

config_db.json holds what SONiC configures from its CONFIG_DB, to be merged into the running
one with `config load` (which keeps what the file does not say, such as the platform's FEC
and buffer pools; `config reload` would replace them), table by table as SONiC's own
Configuration.md and YANG models name them (compared in tests with SONiC's YANG test sample,
tests/fixtures/sonic/):

* DEVICE_METADATA: hostname, bgp_asn, bgp_router_id, the device type, `buffer_model: dynamic`,
  and `docker_routing_config_mode: split`: FRR's configuration does not come from CONFIG_DB
  but from per-daemon files, of which wanka writes bgpd.conf (below). bgpcfgd therefore gets
  no BGP_NEIGHBOR table: the fabric peers on unnumbered interfaces, which only bgpd.conf says;
* PORT (every front-panel port, a broken-out one as its children: lanes, speed in Mb/s,
  alias, index, subport, MTU, admin status). BREAKOUT_CFG, the record of each cage's mode for
  dynamic port breakout, is left to the platform: its mode names are the keys of the
  platform's platform.json (`2x200G[100G,50G,40G,25G,10G]` on one, `2x400G` on another);
* INTERFACE (fabric ports: IPv6 link-local only, for BGP unnumbered), LOOPBACK_INTERFACE
  (Loopback0 with the switch's loopback /32), and on a leaf the gateway: VLAN, VLAN_MEMBER
  (the node-facing ports; untagged unless the plane has a VLAN) and VLAN_INTERFACE with the
  gateway address. A plane without a VLAN id uses VLAN 1000 inside the switch, untagged;
* QoS of a RoCE plane, on every port that carries it (node-facing and fabric: lossless holds
  only hop by hop): DSCP_TO_TC_MAP (the plane's DSCP, 33 for HCCL's default traffic class
  132, to the PFC priority's traffic class; every other DSCP to 0), TC_TO_QUEUE_MAP,
  TC_TO_PRIORITY_GROUP_MAP and MAP_PFC_PRIORITY_TO_QUEUE, PORT_QOS_MAP with `pfc_enable` on
  the plane's PFC priority, WRED_PROFILE with ECN marking (`ecn_all`, thresholds of SONiC's
  documented example) on that priority's QUEUE when the plane asks for ECN, and the lossless
  buffers: with `buffer_model: dynamic` SONiC's buffer manager sizes each lossless priority
  group's headroom from the port's speed, MTU and CABLE_LENGTH (written from the cabling plan),
  so BUFFER_PG names profile "NULL" for it, as SONiC documents for that model.

bgpd.conf is what split mode expects in the bgp container's /etc/frr (the host's
/etc/sonic/frr), loaded there with `vtysh -f` against bgpd alone: the routing part of the
integrated frr.conf (BGP, prefix lists, route maps), without what SONiC configures itself
(interface addresses, forwarding) and with `no service integrated-vtysh-config`.
"""

from __future__ import annotations

import json

from wanka import templates
from wanka.derive.routing import SwitchRouting, fields_of
from wanka.jsonfmt import Json

MAP = "ROCE"  # the name of wanka's QoS maps and profiles
LOSSLESS_WRED = "ROCE_LOSSLESS"
CABLE_LENGTHS = "AZURE"  # the CABLE_LENGTH entry SONiC's buffer templates and examples use
UNTAGGED_VLAN = 1000
DEVICE_TYPE = {"leaf": "LeafRouter", "spine": "SpineRouter", "core": "SpineRouter"}
# WRED/ECN thresholds (bytes) and drop probability (%): SONiC's documented example profile
WRED = {"min": "1048576", "max": "2097152", "probability": "5"}


def render_bgpd(r: SwitchRouting) -> str:
    """bgpd.conf of one SONiC switch (split routing config mode)."""
    return templates.render("bgpd.conf.j2", **fields_of(r))


_encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def dumps(db: Json) -> str:
    """config_db.json text: the same as jsonfmt.dumps (a table per block, an entry per line),
    made with one C-encoder call per table instead of one per entry, since a chassis spine has
    thousands of entries. Every entry is a flat object, so inside a table's encoding `}, "`
    occurs only between two entries (a quote inside a string is always escaped)."""
    out = ["{"]
    last = len(db) - 1
    for i, (name, entries) in enumerate(db.items()):
        comma = "," if i < last else ""
        if not entries:
            out.append(f"  {_encode(name)}: {{}}{comma}")
            continue
        # '"k1": {..}, "k2": {..}' -> '"k1": {..' and 'k2": {..}': put back what the split took
        parts = _encode(entries)[1:-1].split('}, "')
        lines = [parts[0], *(f'"{part}' for part in parts[1:])]
        out.append(f"  {_encode(name)}: {{")
        out.extend(f"    {line}}}," for line in lines[:-1])
        out.append(f"    {lines[-1]}")
        out.append(f"  }}{comma}")
    out.append("}")
    return "\n".join(out) + "\n"


def config_db(r: SwitchRouting) -> Json:
    """config_db.json of one SONiC switch, as a dict of tables (sorted when dumped)."""
    db: Json = {
        "DEVICE_METADATA": {"localhost": _metadata(r)},
        "PORT": {p["name"]: _port(r, p) for p in r.ports},
        "LOOPBACK_INTERFACE": {"Loopback0": {}, f"Loopback0|{r.loopback}": {}},
        "INTERFACE": {n["ifname"]: {"ipv6_use_link_local_only": "enable"} for n in r.interfaces},
    }
    db.update(_gateway(r))
    if r.qos is not None:
        db.update(_qos(r, r.qos))
    return dict(sorted(db.items()))


def _metadata(r: SwitchRouting) -> Json:
    meta: Json = {
        "hostname": r.hostname,
        "bgp_asn": str(r.asn),
        "bgp_router_id": r.router_id,
        "docker_routing_config_mode": "split",
        "type": DEVICE_TYPE[r.tier],
        "buffer_model": "dynamic",
        "default_bgp_status": "up",
    }
    if r.platform:
        meta["platform"] = r.platform
    if r.hwsku:
        meta["hwsku"] = r.hwsku
    return meta


def _port(r: SwitchRouting, p: Json) -> Json:
    port: Json = {
        "alias": p["alias"],
        "description": p["alias"],
        "index": str(p["index"]),
        "lanes": p["lanes"],
        "speed": str(p["speed"] * 1000),
        "admin_status": "up" if p["up"] else "down",
    }
    if p["up"]:
        port["mtu"] = str(r.mtu)
    if p["subport"]:
        port["subport"] = str(p["subport"])
    return port


def _gateway(r: SwitchRouting) -> Json:
    """VLAN, VLAN_MEMBER and VLAN_INTERFACE of a leaf's gateways."""
    vlan: Json = {}
    members: Json = {}
    interfaces: Json = {}
    for g in r.gateways:
        vid = g["vlan"] if g["vlan"] is not None else UNTAGGED_VLAN
        name = f"Vlan{vid}"
        vlan[name] = {"vlanid": str(vid), "mtu": str(r.mtu), "admin_status": "up"}
        mode = "tagged" if g["vlan"] is not None else "untagged"
        for m in g["members"]:
            members[f"{name}|{m}"] = {"tagging_mode": mode}
        interfaces[name] = {}
        interfaces[f"{name}|{g['address']}"] = {}
    if not vlan:
        return {}
    return {"VLAN": vlan, "VLAN_MEMBER": members, "VLAN_INTERFACE": interfaces}


def _qos(r: SwitchRouting, q: Json) -> Json:
    """The lossless RoCE class on every port of the plane (see the module docstring)."""
    prio = str(q["pfc_priority"])
    dscp = {str(v): "0" for v in range(64)}
    dscp[str(q["dscp"])] = prio
    identity = {str(i): str(i) for i in range(8)}
    to_pg = {str(i): "0" for i in range(8)}
    to_pg[prio] = prio
    ports = [p["name"] for p in r.ports if p["up"]]
    tables: Json = {
        "DSCP_TO_TC_MAP": {MAP: dscp},
        "TC_TO_QUEUE_MAP": {MAP: identity},
        "TC_TO_PRIORITY_GROUP_MAP": {MAP: to_pg},
        "MAP_PFC_PRIORITY_TO_QUEUE": {MAP: dict(identity)},
        "PORT_QOS_MAP": {
            name: {
                "dscp_to_tc_map": MAP,
                "tc_to_queue_map": MAP,
                "tc_to_pg_map": MAP,
                "pfc_to_queue_map": MAP,
                "pfc_enable": prio,
            }
            for name in ports
        },
        "BUFFER_PG": {f"{name}|{prio}": {"profile": "NULL"} for name in ports},
        "CABLE_LENGTH": {
            CABLE_LENGTHS: {p["name"]: f"{p['cable_m']}m" for p in r.ports if p["up"]}
        },
    }
    if q["ecn"]:
        tables["WRED_PROFILE"] = {LOSSLESS_WRED: _wred()}
        tables["QUEUE"] = {f"{name}|{prio}": {"wred_profile": LOSSLESS_WRED} for name in ports}
    return tables


def _wred() -> Json:
    out: Json = {"ecn": "ecn_all"}
    for colour in ("green", "yellow", "red"):
        out[f"wred_{colour}_enable"] = "true"
        out[f"{colour}_min_threshold"] = WRED["min"]
        out[f"{colour}_max_threshold"] = WRED["max"]
        out[f"{colour}_drop_probability"] = WRED["probability"]
    return out
