# -*- coding: utf-8 -*-
"""wanka_node's checks of a server's NPU RoCE ports (hccn_tool): link, speed, LLDP neighbour
against the cabling plan, address, gateway, netdetect, PFC, and pings to the gateway and to
another server's NPU. Each result is built by wanka_checks. Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.wanka_checks import (
    ADDRESS, GATEWAY, GATEWAY_PING, LINK, LLDP, NETDETECT, PFC, ROCE_PING, SPEED, result, skipped)
from ansible.module_utils.wanka_node_facts import kv, parallel

PING_ATTEMPTS = 2
PORT_CHECKS = (LINK, SPEED, LLDP, ADDRESS, GATEWAY, NETDETECT, PFC, GATEWAY_PING, ROCE_PING)
# skipped on a port that is down or not cabled as planned
AFTER_CABLING = (ADDRESS, GATEWAY, NETDETECT, PFC, GATEWAY_PING, ROCE_PING)


def hccn(tools, device, *args):
    return tools.run(["hccn_tool", "-i", str(device)] + list(args), timeout=30)


def check_ports(tools, expect, wanted):
    """The NPU ports' checks (every device of expect.npu at once, each port in order)."""
    devices = (expect.get("npu") or {}).get("devices", [])
    port_checks = wanted & set(PORT_CHECKS)
    if not port_checks:
        return []
    ran = parallel(lambda dev: check_port(tools, dev, port_checks), devices)
    return [r for rs in ran for r in rs]


def check_port(tools, dev, wanted):
    """One port: link, speed and LLDP first. A port that is down or not cabled as planned
    skips the rest, which would only echo the cause; a port whose address is not set skips
    its pings; a check the model gives nothing to compare with is skipped, saying so."""
    port = "npu%d" % dev["device"]
    res, blocked = [], None
    if LINK in wanted:
        res.append(_link(tools, dev, port))
        blocked = "link down" if res[-1]["status"] == "fail" else None
    res += _gated(tools, dev, port, wanted, SPEED, blocked, dev.get("speed_mbps"),
                  "no NIC speed in the model", _speed)
    lldp = _gated(tools, dev, port, wanted, LLDP, blocked, dev.get("switch"),
                  "not cabled in the model", _lldp)
    res += lldp
    if any(r["status"] == "fail" for r in lldp):
        blocked = "not cabled as planned"
    if blocked:
        return res + [skipped(c, port, blocked) for c in AFTER_CABLING if c in wanted]
    for check, run in ((ADDRESS, _address), (GATEWAY, _gateway), (NETDETECT, _netdetect)):
        if check in wanted:
            res.append(run(tools, dev, port))
            if check == ADDRESS and res[-1]["status"] == "fail":
                blocked = "address not set"
    res += _gated(tools, dev, port, wanted, PFC, None, dev.get("pfc"), "no QoS on the plane",
                  _pfc)
    for check, target, peer in ((GATEWAY_PING, dev["gateway"], ""),
                                (ROCE_PING, dev.get("ping"), dev.get("ping_peer", ""))):
        if check in wanted:
            res.append(_ping(tools, dev, port, check, target, peer, blocked))
    return res


def _gated(tools, dev, port, wanted, check, blocked, want, missing, run):
    """[the check's result], or [its skip] when it cannot run: blocked by an earlier check,
    or nothing in the model to compare with (`missing` says so); [] when not wanted."""
    if check not in wanted:
        return []
    if blocked:
        return [skipped(check, port, blocked)]
    if not want:
        return [skipped(check, port, missing)]
    return [run(tools, dev, port)]


def _link(tools, dev, port):
    rc, text, err = hccn(tools, dev["device"], "-link", "-g")
    up = "link status: UP" in text
    return result(LINK, port, up, "" if up else (text.strip() or err.strip() or "no link status"))


def _speed(tools, dev, port):
    want = int(dev["speed_mbps"])
    rc, text, err = hccn(tools, dev["device"], "-speed", "-g")
    got = port_speed(text)
    said = mbps(got) if got is not None else (text.strip() or err.strip() or "?")
    return result(SPEED, port, got == want, "" if got == want else
                  "port at %s, the model says %s" % (said, mbps(want)))


def _lldp(tools, dev, port):
    want_sw, want_port = dev.get("switch"), dev.get("switch_port")
    rc, text, err = hccn(tools, dev["device"], "-lldp", "-g")
    tlv = lldp_tlvs(text) if rc == 0 else {}
    got_sw, got_port = tlv.get("System Name TLV", ""), tlv.get("Port ID TLV", "")
    if ":" in got_port and got_port.split(":", 1)[0] in ("Ifname", "MAC", "IPv4"):
        got_port = got_port.split(":", 1)[1].strip()
    ok = got_sw == want_sw and got_port == want_port
    if rc != 0:
        reason = text.strip() or err.strip() or "no LLDP neighbour"
    elif not ok:
        reason = "LLDP neighbour %s %s, the cabling plan says %s %s" % (
            got_sw or "?", got_port or "?", want_sw, want_port)
    else:
        reason = ""
    return result(LLDP, port, ok, reason, neighbour="%s %s" % (got_sw, got_port))


def _address(tools, dev, port):
    rc, text, err = hccn(tools, dev["device"], "-ip", "-g")
    v = kv(text)
    got = (v.get("ipaddr", ""), v.get("netmask", ""))
    want = (dev["address"], dev["netmask"])
    return result(ADDRESS, port, got == want, "" if got == want else
                  "address %s/%s, the model says %s/%s"
                  % (got[0] or "none", got[1] or "none", want[0], want[1]))


def _setting(check, option, label):
    """The check of one hccn_tool setting printed as `LABEL: a.b.c.d` (gateway, netdetect)."""
    def run(tools, dev, port):
        rc, text, err = hccn(tools, dev["device"], option, "-g")
        m = re.search(label + r":\s*([0-9.]*)", text)
        got, want = (m.group(1) if m else ""), dev[check]
        return result(check, port, got == want, "" if got == want else
                      "%s %s, the model says %s" % (check, got or "none", want))
    return run


_gateway = _setting(GATEWAY, "-gateway", "default gateway")
_netdetect = _setting(NETDETECT, "-netdetect", "netdetect address")


def _pfc(tools, dev, port):
    rc, text, err = hccn(tools, dev["device"], "-pfc", "-g")
    got = pfc_bitmap(text)
    ok = got == dev["pfc"]
    said = priorities(got) if got else (text.strip() or err.strip() or "?")
    return result(PFC, port, ok, "" if ok else
                  "PFC on priorities %s, the model says %s" % (said, priorities(dev["pfc"])))


def _ping(tools, dev, port, check, target, peer, blocked):
    """A ping from the port (two rounds: a busy host may drop one), or its skip."""
    if not target:
        return skipped(check, port, "no peer in the model")
    if blocked:
        return skipped(check, port, blocked)
    for _ in range(PING_ATTEMPTS):
        rc, text, err = hccn(tools, dev["device"], "-ping", "-g", "address", target)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
        ok = bool(m) and int(m.group(2)) > 0
        if ok:
            break
    reason = "" if ok else "no answer from %s%s (%s)" % (
        target, " (%s)" % peer if peer else "",
        (m.group(0) if m else (text.strip() or err.strip()))[:120])
    return result(check, port, ok, reason, target=target, peer=peer)


def port_speed(text):
    """hccn_tool -speed -g: `Speed: 200000 Mb/s` (the last line) -> 200000, else None."""
    lines = text.strip().splitlines()
    parts = lines[-1].split() if lines else []
    if len(parts) >= 2 and parts[0].startswith("Speed") and parts[1].isdigit():
        return int(parts[1])
    return None


def mbps(value):
    return "%gG" % (value / 1000.0) if value % 1000 == 0 else "%d Mb/s" % value


def pfc_bitmap(text):
    """hccn_tool -pfc -g: the `enabled` row under `priority 0 1 ... 7` -> "0,0,0,0,1,0,0,0"."""
    m = re.search(r"^\s*enabled\s+((?:[01]\s*){8})$", text, re.M)
    return ",".join(m.group(1).split()) if m else None


def priorities(bitmap):
    on = [str(i) for i, bit in enumerate(bitmap.split(",")) if bit == "1"]
    return " ".join(on) if on else "none"


def lldp_tlvs(text):
    """hccn_tool -lldp -g prints a TLV name line followed by tab-indented value lines."""
    tlvs, current = {}, None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith(("\t", " ")):
            if current is not None and current not in tlvs:
                tlvs[current] = line.strip()
        else:
            current = line.strip()
    return tlvs
