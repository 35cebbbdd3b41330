"""Emulated `hccn_tool -i <device> -<command> -g|-s ...` of a lab server: the one-liners of
the real tool (the reference), acting on the real NPU ports (`wanka.lab.tools.port`).

  * `-ip -s` really adds the address to the device's Linux interface, with the NPU's own
    routing table and rule, and removes the address it set before for that device; `-ip -g`
    reads back the state, provided the address is still on the interface.
  * `-link -g` reads the interface's state in /sys/class/net/<ifname> (carrier, which
    operstate follows once linkwatch ran), unless the `link_down` fault names the device.
  * `-ping -g` runs iputils `ping -c 3 -W 1 -I <ifname>`; `-net_health -g` is `Init` until
    a netdetect address is set, `Success` when the link is up and that address answers
    one ping, `Fault` otherwise.
  * `-lldp -g` asks lldpd (`lldpcli [-u $WANKA_LAB_LLDP_SOCKET] -f json show neighbors
    ports <ifname>`) and prints its chassis id, port id (Ifname: the neighbour's port id,
    so the lab's lldpd should advertise the switch's vendor port name, e.g. with
    `configure ports swp1s1 lldp portidsubtype local 400GE1/0/1:1`), TTL, port
    description, system name and the Maximum Frame Size TLV (lldpd on veth sends none:
    then the max_frame of the switch model the card is cabled to, from the profile).
    With no lldpd or no neighbour it prints `Get lldp info failed, no neighbor found on
    <ifname>` and exits 1 (the real tool's empty answer is not in the reference).
  * `-speed -g` prints the port's speed from the profile (`Speed: 200000 Mb/s`, the line
    Huawei's MindCluster toolkit parses: name, value, unit), which the `link_speed` fault
    overrides.
  * `-pfc -s bitmap 0,0,0,0,1,0,0,0` keeps the port's PFC priorities (RoCE QoS: which
    802.1p priorities are lossless) in the state; `-pfc -g` prints them as the real tool
    does (`PFC configuration:` / `priority   0 1 ... 7` / `enabled    0 0 0 0 1 0 0 0`);
    none is enabled before the first set.
  * `-gateway -s` is kept in the state only: the server's namespace routes are not
    changed (the real tool sets the route inside the NPU, not on the host).

The state of a device is one JSON file in the state directory, `hccn-<device>.json`
(address, netmask, netdetect, gateway, pfc).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wanka.lab import proc
from wanka.lab.tools.port import interface_addresses, link_up, lldp_neighbor, npu_route, ping
from wanka.lab.tools.server import UsageError, load_profile, state_dir

# lldpd id subtypes -> the label the TLV text shows (a `local` port id is the switch's own
# port name, e.g. 400GE1/0/1:1: shown as Ifname like on the real switches)
TLV_ID_LABEL = {
    "mac": "MAC",
    "ifname": "Ifname",
    "local": "Ifname",
    "ip": "IPv4",
    "ifalias": "Ifname",
}

PFC_NONE = "0,0,0,0,0,0,0,0"
HCCN_USAGE = "Usage: hccn_tool -i <device_id> -<command> -g | -s <key> <value> ...\n"
PING_COUNT = 3


# ----------------------------------------------------------------------------- state


def _state_file(device: int) -> Path:
    return state_dir() / f"hccn-{device}.json"


def load_state(device: int) -> dict[str, str]:
    path = _state_file(device)
    if not path.is_file():
        return {}
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def save_state(device: int, state: dict[str, str]) -> None:
    path = _state_file(device)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


# ----------------------------------------------------------------------------- a call


@dataclass
class Call:
    """One invocation: the NPU device (its profile entry and port), the command, -g or -s,
    the key/value parameters, and the device's state."""

    device: int
    dev: dict[str, Any]
    command: str
    mode: str
    params: dict[str, str]
    state: dict[str, str]

    @property
    def ifname(self) -> str:
        return str(self.dev["ifname"])

    def save(self) -> int:
        save_state(self.device, self.state)
        return 0


def _ipv4(value: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        raise UsageError(f"hccn_tool: invalid {what} '{value}'") from None


def _prefixlen(netmask: str) -> int:
    return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen


# ----------------------------------------------------------------------------- commands


def _link_get(c: Call) -> int:
    print(f"link status: {'UP' if link_up(c.dev) else 'DOWN'}")
    return 0


def _ip_get(c: Call) -> int:
    addr, mask = c.state.get("address"), c.state.get("netmask")
    present = interface_addresses(c.ifname)
    if addr and mask and (present is None or f"{addr}/{_prefixlen(mask)}" in present):
        print(f"ipaddr:{addr}")
        print(f"netmask:{mask}")
        return 0
    print("Get ipconf failed, because no ip was preset there!")
    return 0


def _ip_set(c: Call) -> int:
    if set(c.params) != {"address", "netmask"}:
        raise UsageError("hccn_tool: -ip -s needs address X netmask Y")
    addr = str(_ipv4(c.params["address"], "address"))
    try:
        prefix = _prefixlen(c.params["netmask"])
    except ValueError:
        raise UsageError(f"hccn_tool: invalid netmask '{c.params['netmask']}'") from None
    err = _replace_address(c, addr, prefix)
    if err is None:
        err = npu_route(c.device, c.ifname, addr, prefix) or None
    if err is not None:
        print(f"Set ip failed: {err}")
        return 1
    netmask = str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)
    c.state.update(address=addr, netmask=netmask)
    return c.save()


def _replace_address(c: Call, addr: str, prefix: int) -> str | None:
    """Put addr/prefix on the port in place of the device's earlier address. Returns the
    error (`ip`'s stderr) when that failed, else None."""
    old, old_mask = c.state.get("address"), c.state.get("netmask")
    if old and old_mask and (old, _prefixlen(old_mask)) != (addr, prefix):
        cmd = ["ip", "addr", "del", f"{old}/{_prefixlen(old_mask)}", "dev", c.ifname]
        proc.run(cmd, timeout=15, check=False)
    cmd = ["ip", "addr", "replace", f"{addr}/{prefix}", "dev", c.ifname]
    res = proc.run(cmd, timeout=15, check=False)
    return res.stderr.strip() if res.returncode != 0 else None


def _netdetect_get(c: Call) -> int:
    print(f"netdetect address: {c.state.get('netdetect', '')}")
    return 0


def _netdetect_set(c: Call) -> int:
    if set(c.params) != {"address"}:
        raise UsageError("hccn_tool: -netdetect -s needs address X")
    c.state["netdetect"] = str(_ipv4(c.params["address"], "address"))
    return c.save()


def _gateway_get(c: Call) -> int:
    print(f"default gateway:{c.state.get('gateway', '')}, Iface:eth{c.device}")
    return 0


def _gateway_set(c: Call) -> int:
    if set(c.params) != {"gateway"}:
        raise UsageError("hccn_tool: -gateway -s needs gateway G")
    c.state["gateway"] = str(_ipv4(c.params["gateway"], "gateway"))
    return c.save()


def _speed_get(c: Call) -> int:
    print(f"Speed: {c.dev.get('speed_mbps') or 0} Mb/s")
    return 0


def _pfc_get(c: Call) -> int:
    enabled = c.state.get("pfc", PFC_NONE).split(",")
    print("PFC configuration:")
    print("priority   " + " ".join(str(p) for p in range(8)))
    print("enabled    " + " ".join(enabled))
    return 0


def _pfc_set(c: Call) -> int:
    bitmap = c.params.get("bitmap", "")
    if set(c.params) != {"bitmap"} or not re.fullmatch(r"[01](,[01]){7}", bitmap):
        raise UsageError("hccn_tool: -pfc -s needs bitmap B0,B1,...,B7 (eight 0 or 1)")
    c.state["pfc"] = bitmap
    return c.save()


def _net_health_get(c: Call) -> int:
    target = c.state.get("netdetect")
    if not target:
        status = "Init"
    elif not link_up(c.dev):
        status = "Fault"
    else:
        status = "Success" if ping(c.ifname, target, 1)[1] else "Fault"
    print(f"net health status: {status}")
    return 0


def _ping_get(c: Call) -> int:
    if "address" not in c.params:
        raise UsageError("hccn_tool: -ping -g needs address X")
    target = str(_ipv4(c.params["address"], "address"))
    count = PING_COUNT
    print(f"device {c.device} PING {target}")
    replies, received = ping(c.ifname, target, count) if link_up(c.dev) else ([], 0)
    for seq, ms in replies:
        print(f"recv seq={seq},time={ms:.6f}ms")
    loss = 100.0 * (count - received) / count
    print(f"{count} packets transmitted, {received} received, {loss:.2f}% packet loss")
    return 0


def _lldp_get(c: Call) -> int:
    nb = lldp_neighbor(c.ifname)
    if nb is None:
        print(f"Get lldp info failed, no neighbor found on {c.ifname}")
        return 1
    print("Chassis ID TLV")
    chassis_label = TLV_ID_LABEL.get(nb.get("chassis_type", "mac"), "MAC")
    print(f"\t{chassis_label}: {nb.get('chassis_id', '')}")
    print("Port ID TLV")
    print(f"\t{TLV_ID_LABEL.get(nb.get('port_type', 'ifname'), 'Ifname')}: {nb['port_id']}")
    print("Time to Live TLV")
    print(f"\t{nb['ttl']}")
    if nb.get("port_descr"):
        print("Port Description TLV")
        print(f"\t{nb['port_descr']}")
    if nb.get("system_name"):
        print("System Name TLV")
        print(f"\t{nb['system_name']}")
    peer = c.dev.get("peer") or {}
    mfs = nb.get("mfs") or (str(peer["max_frame"]) if peer.get("max_frame") else "")
    if mfs:
        print("Maximum Frame Size TLV")
        print(f"\t{mfs}")
    print("End Of LLDPDU TLV")
    return 0


COMMANDS: dict[tuple[str, str], Callable[[Call], int]] = {
    ("-link", "-g"): _link_get,
    ("-ip", "-g"): _ip_get,
    ("-ip", "-s"): _ip_set,
    ("-netdetect", "-g"): _netdetect_get,
    ("-netdetect", "-s"): _netdetect_set,
    ("-gateway", "-g"): _gateway_get,
    ("-gateway", "-s"): _gateway_set,
    ("-speed", "-g"): _speed_get,
    ("-pfc", "-g"): _pfc_get,
    ("-pfc", "-s"): _pfc_set,
    ("-net_health", "-g"): _net_health_get,
    ("-ping", "-g"): _ping_get,
    ("-lldp", "-g"): _lldp_get,
}


# ----------------------------------------------------------------------------- entry


def _parse(argv: list[str]) -> Call | int:
    """The call `argv` asks for, or the exit code of an unknown device (after its message)."""
    if len(argv) < 3 or argv[0] != "-i" or not argv[1].isdigit():
        raise UsageError("hccn_tool: missing or invalid -i <device_id>\n" + HCCN_USAGE)
    device, command, rest = int(argv[1]), argv[2], argv[3:]
    devs = {int(d["device"]): d for d in load_profile()["devices"]}
    if device not in devs:
        print(f"devid {device} is invalid, the device id range is [0, {len(devs) - 1}]")
        return 1
    mode = rest[0] if rest else ""
    if mode not in ("-g", "-s"):
        raise UsageError(f"hccn_tool: {command} needs -g or -s\n" + HCCN_USAGE)
    params: dict[str, str] = {}
    items = rest[1:]
    if mode == "-s" or command == "-ping":
        if len(items) % 2:
            raise UsageError(f"hccn_tool: {command} {mode}: expected <key> <value> pairs")
        params = dict(zip(items[::2], items[1::2], strict=True))
    return Call(device, devs[device], command, mode, params, load_state(device))


def main(argv: list[str]) -> int:
    call = _parse(argv)
    if isinstance(call, int):
        return call
    handler = COMMANDS.get((call.command, call.mode))
    if handler is None:
        raise UsageError(
            f"hccn_tool: unsupported command {call.command} {call.mode}\n" + HCCN_USAGE
        )
    return handler(call)
