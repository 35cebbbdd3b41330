"""The Linux side of an emulated NPU port: what hccn_tool reads and changes on the server's
real interface (the node's cable end `param<card>`; both dies of an A3 card share it).

Each NPU answers from its own port, as a real NPU (a network stack of its own) does: setting
an address also adds a rule `from ADDRESS lookup 1000+N` and the subnet on the port in that
table; without it, every port of the shared subnet would reply through the namespace's first
connected route, even one whose link is down.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from wanka.lab import proc
from wanka.lab.tools.server import Failed


def link_up(dev: dict[str, Any]) -> bool:
    """The NPU port's link: the interface's carrier (set at once when the veth's far end goes
    down; `operstate` says the same a moment later, once the kernel's linkwatch ran). No
    interface, an interface set down, or the `link_down` fault: DOWN."""
    if dev.get("link_down"):
        return False
    base = Path("/sys/class/net") / str(dev["ifname"])
    try:
        return (base / "carrier").read_text(encoding="utf-8").strip() == "1"
    except OSError:  # EINVAL when administratively down, ENOENT when missing
        pass
    try:
        return (base / "operstate").read_text(encoding="utf-8").strip() == "up"
    except OSError:
        return False


def interface_addresses(ifname: str) -> set[str] | None:
    """The IPv4 addresses (`a.b.c.d/len`) on an interface; None when it does not exist."""
    res = proc.run(["ip", "-j", "-4", "addr", "show", "dev", ifname], timeout=15, check=False)
    if res.returncode != 0:
        return None
    out: set[str] = set()
    for link in json.loads(res.stdout or "[]"):
        for a in link.get("addr_info", []):
            out.add(f"{a['local']}/{a['prefixlen']}")
    return out


NPU_TABLE_BASE = 1000


def npu_table(device: int) -> int:
    """The routing table of NPU `device`'s own address (see npu_route)."""
    return NPU_TABLE_BASE + device


def npu_route(device: int, ifname: str, addr: str, prefix: int) -> str:
    """Send what NPU `device` answers out of its own port, as a real NPU (its own network
    stack) does: a rule `from ADDR lookup TABLE` and the subnet on `ifname` in that table.
    Without it every port's replies would follow the namespace's first connected route of
    the shared subnet, which may be a port whose link is down. The table and the rule (at
    priority TABLE) are the device's alone: setting them replaces what an earlier address
    left. Returns an error, or ""."""
    table = str(npu_table(device))
    net = str(ipaddress.IPv4Network(f"{addr}/{prefix}", strict=False))
    proc.run(["ip", "route", "flush", "table", table], timeout=15, check=False)
    res = proc.run(
        ["ip", "route", "add", net, "dev", ifname, "src", addr, "table", table],
        timeout=15,
        check=False,
    )
    if res.returncode != 0:
        return res.stderr.strip()
    # fails when there is none yet
    proc.run(["ip", "rule", "del", "priority", table], timeout=15, check=False)
    res = proc.run(
        ["ip", "rule", "add", "from", addr, "lookup", table, "priority", table],
        timeout=15,
        check=False,
    )
    return res.stderr.strip() if res.returncode != 0 else ""


def ping(ifname: str, address: str, count: int) -> tuple[list[tuple[int, float]], int]:
    """iputils ping through `ifname`: ([(seq from 0, ms)], received)."""
    if shutil.which("ping") is None:
        raise Failed("ping failed: iputils ping is not installed")
    res = proc.run(
        ["ping", "-n", "-c", str(count), "-W", "1", "-I", ifname, address], timeout=30, check=False
    )
    replies = [
        (int(m.group(1)) - 1, float(m.group(2)))
        for m in re.finditer(r"icmp_seq=(\d+)\s.*?time=([\d.]+)\s*ms", res.stdout)
    ]
    return replies, len(replies)


def lldp_neighbor(ifname: str) -> dict[str, str] | None:
    """The LLDP neighbour lldpd sees on ifname: chassis id, port id, system name, mfs.
    lldpcli talks to the lldpd of env WANKA_LAB_LLDP_SOCKET when set (`-u`), else the
    default socket."""
    if shutil.which("lldpcli") is None:
        return None
    sock = os.environ.get("WANKA_LAB_LLDP_SOCKET")
    cmd = ["lldpcli", *(["-u", sock] if sock else []), "-f", "json"]
    res = proc.run([*cmd, "show", "neighbors", "ports", ifname], timeout=10, check=False)
    if res.returncode != 0 or not res.stdout.strip():
        return None
    data = json.loads(res.stdout)
    iface = (data.get("lldp") or {}).get("interface")
    if not iface:
        return None
    entries = iface if isinstance(iface, list) else [iface]
    for entry in entries:
        for name, body in entry.items():
            if name == ifname and isinstance(body, dict):
                return _neighbor(body)
    return None


def _neighbor(body: dict[str, Any]) -> dict[str, str]:
    """One interface of lldpcli's JSON: its neighbour's chassis, port, TTL and mfs."""
    out: dict[str, str] = {}
    chassis = body.get("chassis") or {}
    for sysname, ch in chassis.items():
        if isinstance(ch, dict):
            out["system_name"] = sysname if "id" in ch else str(ch.get("name", sysname))
            cid = ch.get("id") or {}
            if isinstance(cid, dict):
                out["chassis_id"] = str(cid.get("value", ""))
                out["chassis_type"] = str(cid.get("type", "mac"))
        break
    port = body.get("port") or {}
    pid = port.get("id") or {}
    out["port_id"] = str(pid.get("value", "")) if isinstance(pid, dict) else str(pid)
    out["port_type"] = str(pid.get("type", "ifname")) if isinstance(pid, dict) else ""
    out["port_descr"] = str(port.get("descr", ""))
    if port.get("mfs"):
        out["mfs"] = str(port["mfs"])
    out["ttl"] = str(port.get("ttl", body.get("ttl", "120")))
    return out
