# -*- coding: utf-8 -*-
"""wanka_node's checks of a routed switch: its BGP sessions (vtysh), its cabled ports' state
and speed, and the lossless class on a RoCE plane's ports (SONiC: `show interfaces status`
and CONFIG_DB; Debian/FRR: the kernel's sysfs and `dcb pfc show`). Each result is built by
wanka_checks. Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible.module_utils.wanka_checks import BGP, LINK, QOS, SPEED, failed, result, skipped


def check_bgp(tools, expect, vty):
    cmd = ["vtysh"] + (["--vty_socket", vty] if vty else []) + ["-c", "show bgp summary json"]
    rc, text, err = tools.run(cmd)
    if rc != 0:
        return [result(BGP, "", False, (text + err).strip()[:200] or "vtysh failed")]
    data = json.loads(text or "{}")
    peers = ((data.get("ipv4Unicast") or {}).get("peers")) or {}
    out = []
    for name in expect.get("bgp_peers") or sorted(peers):
        info = peers.get(name)
        state = (info or {}).get("state", "not configured")
        ok = state == "Established"
        out.append(result(BGP, name, ok, "" if ok else "BGP session on %s is %s" % (name, state)))
    return out


def columns(text):
    """The rows of a table as tabulate's "simple" format prints it (SONiC's show commands):
    the dashed line under the header gives each column's span. [{header: cell}]."""
    lines = text.splitlines()
    at = next((i for i, x in enumerate(lines) if x.strip() and set(x) <= set("- ")), None)
    if at is None or at == 0:
        return []
    spans, pos = [], 0
    for dashes in lines[at].split("  "):
        if dashes:
            start = lines[at].index(dashes, pos)
            spans.append((start, start + len(dashes)))
            pos = start + len(dashes)
    def cut(line):
        return [line[a:b].strip() for a, b in spans]
    head = cut(lines[at - 1])
    return [dict(zip(head, cut(x))) for x in lines[at + 1:] if x.strip()]


def _gbps(text):
    """'400G' -> 400, '100M' -> 0.1, '2.5G' -> 2.5; None when not a speed."""
    m = re.match(r"^(\d+(?:\.\d+)?)([GM])$", text or "")
    if m is None:
        return None
    return float(m.group(1)) / (1000 if m.group(2) == "M" else 1)


def _sonic(cli, tool):
    return (cli.rstrip("/") + "/" + tool) if cli else tool


def check_switch_ports(tools, expect, cli):
    """Each cabled port: up (link) at the model's speed (speed)."""
    ports = expect.get("ports") or []
    if expect.get("os") == "sonic":
        return _sonic_ports(tools, ports, cli)
    return [r for want in ports for r in _kernel_port(tools, want)]


def _sonic_ports(tools, ports, cli):
    """SONiC: `show interfaces status`, one table for every port."""
    rc, text, err = tools.run([_sonic(cli, "show"), "interfaces", "status"])
    if rc != 0:
        return [result(LINK, "", False, (text + err).strip()[:200] or "show failed")]
    rows = dict((r.get("Interface"), r) for r in columns(text))
    out = []
    for want in ports:
        name, row = want["name"], rows.get(want["name"])
        if row is None:
            out.append(result(LINK, name, False, "%s is not a port of the switch" % name))
            continue
        up = row.get("Oper") == "up" and row.get("Admin") == "up"
        out.append(result(LINK, name, up, "" if up else "%s is oper %s, admin %s"
                          % (name, row.get("Oper"), row.get("Admin"))))
        speed = _gbps(row.get("Speed"))
        ok = speed == float(want["speed"])
        out.append(result(SPEED, name, ok, "" if ok else "%s runs at %s, the model says %sG"
                          % (name, row.get("Speed"), want["speed"])))
    return out


def _kernel_port(tools, want):
    """Debian/FRR: the kernel's operstate and speed of one port (none of a veth)."""
    out = []
    name = want["name"]
    base = "/sys/class/net/%s/" % name
    rc, state, _ = tools.run(["cat", base + "operstate"])
    up = rc == 0 and state.strip() == "up"
    out.append(result(LINK, name, up, "" if up else "%s is %s" % (
        name, state.strip() if rc == 0 else "missing")))
    if tools.run(["test", "-e", base + "device"])[0] != 0:
        out.append(skipped(SPEED, name, "not checked: %s is a virtual interface, the "
                           "kernel knows no line rate of it" % name))
        return out
    rc, text, _ = tools.run(["cat", base + "speed"])
    mbps = int(text.strip()) if rc == 0 and text.strip().lstrip("-").isdigit() else None
    ok = mbps == int(want["speed"]) * 1000
    out.append(result(SPEED, name, ok, "" if ok else "%s runs at %s Mb/s, the model says "
                      "%sG" % (name, mbps if mbps is not None else "no speed", want["speed"])))
    return out


def check_switch_qos(tools, expect, cli):
    qos = expect.get("qos")
    if not qos:
        return []
    prio, ports = str(qos["pfc_priority"]), qos.get("ports") or []
    if expect.get("os") != "sonic":
        return [_dcb_pfc(tools, name, prio) for name in ports]
    rc, text, err = tools.run([_sonic(cli, "sonic-cfggen"), "-d", "--print-data"])
    if rc != 0:
        return [result(QOS, "", False, (text + err).strip()[:200] or "sonic-cfggen failed")]
    db = json.loads(text or "{}")
    out = []
    for name in ports:
        bad = qos_faults(db, name, prio, str(qos["dscp"]), bool(qos.get("ecn")))
        out.append(result(QOS, name, not bad, "; ".join(bad)))
    return out


def qos_faults(db, port, prio, dscp, ecn):
    """What CONFIG_DB lacks of the lossless class on one port: PFC on the priority, the DSCP
    mapped to its traffic class, ECN (a WRED profile with ecn) on its queue."""
    bad = []
    qmap = (db.get("PORT_QOS_MAP") or {}).get(port) or {}
    if prio not in (qmap.get("pfc_enable") or "").split(","):
        bad.append("%s: PFC is not on priority %s (pfc_enable %r)"
                   % (port, prio, qmap.get("pfc_enable", "")))
    dmap = (db.get("DSCP_TO_TC_MAP") or {}).get(qmap.get("dscp_to_tc_map", "")) or {}
    if dmap.get(dscp) != prio:
        bad.append("%s: DSCP %s maps to traffic class %s, not %s"
                   % (port, dscp, dmap.get(dscp, "none"), prio))
    if ecn:
        queue = (db.get("QUEUE") or {}).get("%s|%s" % (port, prio)) or {}
        wred = (db.get("WRED_PROFILE") or {}).get(queue.get("wred_profile", "")) or {}
        if wred.get("ecn", "ecn_none") == "ecn_none":
            bad.append("%s: no ECN marking on queue %s" % (port, prio))
    return bad


def _dcb_pfc(tools, name, prio):
    """PFC of one Debian switch port as the kernel's DCB says (`dcb pfc show dev`)."""
    rc, text, err = tools.run(["dcb", "pfc", "show", "dev", name])
    if rc != 0:
        return skipped(QOS, name, "not checked: dcb pfc show dev %s: %s"
                       % (name, (err or text).strip()[:120] or "exit %d" % rc))
    on = dict(re.findall(r"(\d+):(on|off)", text.split("prio-pfc", 1)[-1]))
    ok = on.get(prio) == "on"
    return result(QOS, name, ok, "" if ok else "%s: PFC is %s on priority %s"
                  % (name, on.get(prio, "unknown"), prio))
