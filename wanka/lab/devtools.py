"""Emulated device tools of a lab server: npu-smi, hccn_tool, nvme and the Ascend installers.

Every lab server (a network namespace) runs these in place of the real tools. They print
the real tools' formats (captures in the reference: `npu-smi info` of a 910B and a 910C
board, `-t board`, `-t health`, `-t topo`, hccn_tool one-liners, nvme-cli 1.x `nvme list`)
with values from the server's hardware profile (`wanka.lab.profile`), read from the JSON
file named by env WANKA_LAB_PROFILE.

Mutable state lives in the directory env WANKA_LAB_STATE: one JSON file per NPU device
(`hccn-<device>.json`: address, netmask, netdetect, gateway, pfc). Installed versions live
where the real installers put them, `/usr/local/Ascend/{driver,firmware}/version.info`
under env WANKA_LAB_ROOT (default `/`).

What is real and what is emulated:
  * `hccn_tool -i N -ip -s` really adds the address to the device's Linux interface (the
    node's cable end `param<card>`; both dies of an A3 card share it) and removes the
    address it set before for that device; `-ip -g` reads back the state, provided the
    address is still on the interface.
  * Each NPU answers from its own port, as a real NPU (a network stack of its own) does:
    `-ip -s` also adds a rule `from ADDRESS lookup 1000+N` and the subnet on the port in
    that table; without it, every port of the shared subnet would reply through the
    namespace's first connected route, even one whose link is down.
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
  * npu-smi runs before any driver is installed (it then prints the model's driver
    version); Software/Firmware Version come from the installed version.info files when
    present, else from the profile (firmware: the `firmware_version` fault, else the
    model's firmware).
  * lscpu: the summary lines and `-J` of util-linux lscpu, with the model's CPU.
  * Installers: `install driver|firmware|cann --full|--upgrade`,
    optional `--version V` or `--package NAME.run` (version parsed from the name), else
    the profile's versions; driver also `--fw-range MIN,MAX`. The firmware package is
    flashed with the driver's tools, so (as with ascend-deployer's order: fresh host =
    driver then firmware) installing firmware with no driver installed fails (exit 1),
    and `--upgrade` of a driver that is not installed fails too. Whether the firmware
    falls in the driver's range is NOT checked here (verification does it); npu-smi
    `-t board` shows `Compatibility : NOK` when it does not.

Exit codes: 0 on success; 1 on a failed operation; 2 on bad arguments (with a message
on stderr).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

Profile = dict[str, Any]

WIDTH = 96  # inner width of the npu-smi tables
COLS = (27, 15, 52)  # npu-smi column widths (between the `|`)
INFO_KEY_WIDTH = 31  # `\tKey<padding>: value` of the npu-smi detail views

DRIVER_INFO = "usr/local/Ascend/driver/version.info"
FIRMWARE_INFO = "usr/local/Ascend/firmware/version.info"
CANN_INFO = "usr/local/Ascend/ascend-toolkit/latest/version.cfg"  # wanka's form: Version=...


class UsageError(Exception):
    """Bad arguments: exit 2."""


class Failed(Exception):
    """The operation failed: exit 1, message on stdout like the real tools."""


# ----------------------------------------------------------------------------- environment


def load_profile() -> Profile:
    path = os.environ.get("WANKA_LAB_PROFILE")
    if not path:
        raise Failed("WANKA_LAB_PROFILE is not set: no hardware profile for this server")
    try:
        data: Profile = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise Failed(f"cannot read the hardware profile {path}: {e}") from None
    return data


def state_dir() -> Path:
    path = Path(os.environ.get("WANKA_LAB_STATE") or "/var/lib/wanka-lab")
    path.mkdir(parents=True, exist_ok=True)
    return path


def lab_root() -> Path:
    return Path(os.environ.get("WANKA_LAB_ROOT") or "/")


def read_version_info(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def installed_driver() -> dict[str, str]:
    return read_version_info(lab_root() / DRIVER_INFO)


def installed_firmware() -> dict[str, str]:
    return read_version_info(lab_root() / FIRMWARE_INFO)


def driver_version(profile: Profile) -> str:
    return installed_driver().get("Version") or str(profile["software"]["driver_version"] or "")


def firmware_version(profile: Profile) -> str:
    """What the cards report: the `firmware_version` fault (a flash that did not take), else
    the installed firmware, else the model's."""
    fault = (profile.get("faults") or {}).get("firmware_version")
    fw = fault or installed_firmware().get("Version")
    return fw or str(profile["software"]["firmware_version"] or "")


def version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def firmware_compatible(fw: str, fw_range: tuple[str, str] | None) -> bool:
    """npu-smi's Compatibility: fw inside the driver's range by wanka's one comparator
    (wanka.versions: a bound covers its builds); a firmware version it cannot read (or none)
    is not compatible."""
    from wanka.versions import VersionError, in_range

    if fw_range is None:
        return True
    try:
        return in_range(fw, fw_range[0], fw_range[1])
    except VersionError:
        return False


def driver_fw_range(profile: Profile) -> tuple[str, str] | None:
    raw = installed_driver().get("compatible_version_fw")
    if raw:
        parts = raw.strip("[]").split(",")
        if len(parts) == 2:
            return parts[0].strip(), parts[1].strip()
    sw = profile["software"]
    if sw.get("firmware_min") and sw.get("firmware_max"):
        return str(sw["firmware_min"]), str(sw["firmware_max"])
    return None


# ----------------------------------------------------------------------------- npu-smi


def _row(*cells: str) -> str:
    return "|" + "|".join(f" {c}".ljust(w) for c, w in zip(cells, COLS, strict=True)) + "|"


def _full(text: str) -> str:
    return "|" + f" {text}".ljust(WIDTH) + "|"


def _sep(ch: str) -> str:
    return "+" + "+".join(ch * w for w in COLS) + "+"


def _stats(left: str, mid: str, right: str) -> str:
    return f"{left:<12}{mid:<18}{right}"


def _usage(used: int, total: int, width: int) -> str:
    return f"{used:<5}/ {total}".ljust(width)


def npu_smi_table(profile: Profile) -> str:
    """`npu-smi info`: the A2 layout (one chip row per NPU) or the A3 one (a row pair per die,
    `+---` between the dies of a card, `+===` between cards)."""
    a3 = profile["generation"] == "A3"
    version = driver_version(profile)
    name = profile["chip_name"]
    lines = [
        "+" + "-" * WIDTH + "+",
        _full(f"npu-smi {version}".ljust(33) + f"Version: {version}"),
        _sep("-"),
        _row("NPU   Name", "Health", "Power(W)    Temp(C)           Hugepages-Usage(page)"),
        _row(
            "Chip  Phy-ID" if a3 else "Chip",
            "Bus-Id",
            "AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)",
        ),
        _sep("="),
    ]
    by_card: dict[int, list[dict[str, Any]]] = {}
    for dev in profile["devices"]:
        by_card.setdefault(int(dev["card"]), []).append(dev)
    for card in sorted(by_card):
        for i, dev in enumerate(by_card[card]):
            if i:
                lines.append("+" + "-" * WIDTH + "+")
            power = "-" if dev["power_w"] is None else f"{float(dev['power_w']):.1f}"
            lines.append(
                _row(
                    f"{card:<6}{name}",
                    str(dev["health"]),
                    _stats(power, str(dev["temp_c"]), _usage(0, 0, 21)),
                )
            )
            chip = f"{dev['chip']:<6}{dev['phy_id']}" if a3 else str(dev["chip"])
            lines.append(
                _row(
                    chip,
                    str(dev["bus_id"]),
                    _stats("0", _usage(0, 0, 18), _usage(dev["hbm_used_mb"], dev["hbm_mb"], 21)),
                )
            )
        lines.append(_sep("="))
    lines.append(_sep("-"))
    lines.append(
        "|"
        + " NPU     Chip".ljust(COLS[0])
        + "|"
        + " Process id".ljust(COLS[1])
        + "|"
        + " Process name".ljust(26)
        + "|"
        + " Process memory(MB)".ljust(COLS[2] - 27)
        + "|"
    )
    lines.append(_sep("="))
    for card in sorted(by_card):
        lines.append(_full(f"No running processes found in NPU {card}"))
        lines.append(_sep("="))
    return "\n".join(lines) + "\n"


def _kv(pairs: list[tuple[str, object]]) -> str:
    return "".join(f"\t{k:<{INFO_KEY_WIDTH}}: {v}\n" for k, v in pairs)


def npu_smi_list(profile: Profile) -> str:
    out = _kv([("Total Count", profile["cards"])]) + "\n"
    for card in profile["cards_info"]:
        out += _kv([("NPU ID", card["card"]), ("Chip Count", card["chips"])]) + "\n"
    return out


def npu_smi_map(profile: Profile) -> str:
    """`npu-smi info -m`: NPU id, chip id, chip logic id (the device id) and chip name."""
    name = profile["chip_name"]
    full = name if name.startswith("Ascend") else f"Ascend {name}"
    rows = [("NPU ID", "Chip ID", "Chip Logic ID", "Chip Name")]
    rows += [(str(d["card"]), str(d["chip"]), str(d["device"]), full) for d in profile["devices"]]
    return "".join(
        "\t" + "".join(c.ljust(INFO_KEY_WIDTH) for c in row[:-1]) + row[-1] + "\n" for row in rows
    )


def _card(profile: Profile, npu: int) -> dict[str, Any]:
    for card in profile["cards_info"]:
        if card["card"] == npu:
            return dict(card)
    raise Failed(f"The npu id ({npu}) is invalid.")


def _device(profile: Profile, npu: int, chip: int) -> dict[str, Any]:
    _card(profile, npu)
    for dev in profile["devices"]:
        if dev["card"] == npu and dev["chip"] == chip:
            return dict(dev)
    raise Failed(f"The chip id ({chip}) is invalid.")


def npu_smi_board(profile: Profile, npu: int, chip: int | None) -> str:
    card = _card(profile, npu)
    fw = firmware_version(profile)
    if chip is not None:
        dev = _device(profile, npu, chip)
        return _kv(
            [
                ("NPU ID", npu),
                ("Chip ID", chip),
                ("Chip Type", "Ascend"),
                ("Chip Name", profile["chip_name"]),
                ("Chip Version", "V1"),
                ("Board ID", "0x33"),
                ("PCB ID", "NA"),
                ("BOM ID", 1),
                ("Chip Position ID", chip),
                ("PCIe Bus Info", dev["bus_id"]),
                ("Firmware Version", fw),
            ]
        )
    ok = firmware_compatible(fw, driver_fw_range(profile))
    first = _device(profile, npu, 0)
    return _kv(
        [
            ("NPU ID", npu),
            ("Serial Number", card["serial"]),
            ("Software Version", driver_version(profile)),
            ("Firmware Version", fw),
            ("Compatibility", "OK" if ok else "NOK"),
            ("Board ID", "0x33"),
            ("PCB ID", "A"),
            ("BOM ID", 1),
            ("PCIe Bus Info", first["bus_id"]),
            ("Slot ID", npu),
            ("Class ID", "NA"),
            ("PCI Vendor ID", "0x19E5"),
            ("PCI Device ID", card["pci_device_id"]),
            ("Subsystem Vendor ID", "0x0200"),
            ("Subsystem Device ID", "0x0100"),
            ("Chip Count", card["chips"]),
        ]
    )


# emulated error codes for the fault levels (real codes are hex event ids)
HEALTH_ERRORS = {
    "Warning": ("0x80818C00", "HBM single-bit ECC errors above threshold"),
    "Alarm": ("0x80E18005", "AI core fault"),
    "Critical": ("0x80E01801", "Chip heartbeat lost"),
}


def npu_smi_health(profile: Profile, npu: int, chip: int) -> str:
    dev = _device(profile, npu, chip)
    health = str(dev["health"])
    code, info = HEALTH_ERRORS.get(health, ("NA", "NA"))
    return _kv([("Health Status", health), ("Error Code", code), ("Error Information", info)])


def _affinity(profile: Profile, card: int) -> str:
    cpu = profile["cpu"]
    total = int(cpu["sockets"]) * int(cpu["cores_per_socket"])
    numa = max(1, int(cpu["sockets"]) * 2)  # two NUMA nodes a socket, as on Kunpeng 920
    per = total // numa
    node = card * numa // max(1, int(profile["cards"]))
    return f"{node * per}-{node * per + per - 1}"


def npu_smi_topo(profile: Profile) -> str:
    cards = [int(c["card"]) for c in profile["cards_info"]]
    head = "\t   " + "".join(f"NPU{c:<8}" for c in cards) + "CPU Affinity"
    lines = [head]
    for a in cards:
        cells = "".join(f"{'X' if a == b else 'HCCS':<11}" for b in cards)
        lines.append(f"NPU{a:<8}{cells}{_affinity(profile, a)}")
    lines += [
        "",
        "Legend:",
        "",
        "  X    = Self",
        "  SYS  = Path traversing PCIe and NUMA nodes. Nodes are connected through SMP, "
        "such as QPI, UPI.",
        "  PHB  = Path traversing PCIe and the PCIe host bridge of a CPU.",
        "  PIX  = Path traversing a single PCIe switch",
        "  PXB  = Path traversing multipul PCIe switches",
        "  HCCS = Connection traversing HCCS.",
        "  NA   = Unknown relationship.",
    ]
    return "\n".join(lines) + "\n"


NPU_SMI_USAGE = """Usage: npu-smi info [-l | -m] [-t board|health|topo] [-i NPU] [-c CHIP]
"""


def npu_smi(argv: list[str]) -> int:
    if not argv or argv[0] != "info":
        raise UsageError("npu-smi: unknown command\n" + NPU_SMI_USAGE)
    opts: dict[str, str] = {}
    flags: set[str] = set()
    args = argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-t", "-i", "-c"):
            if i + 1 >= len(args):
                raise UsageError(f"npu-smi: option {a} needs a value\n" + NPU_SMI_USAGE)
            opts[a] = args[i + 1]
            i += 2
        elif a in ("-l", "-m"):
            flags.add(a)
            i += 1
        else:
            raise UsageError(f"npu-smi: unknown option {a}\n" + NPU_SMI_USAGE)
    for k in ("-i", "-c"):
        if k in opts and not opts[k].isdigit():
            raise UsageError(f"npu-smi: {k} takes a number, not '{opts[k]}'")
    profile = load_profile()
    kind = opts.get("-t")
    npu = int(opts["-i"]) if "-i" in opts else None
    chip = int(opts["-c"]) if "-c" in opts else None
    if "-l" in flags:
        out = npu_smi_list(profile)
    elif "-m" in flags:
        out = npu_smi_map(profile)
    elif kind is None and not opts and not flags:
        out = npu_smi_table(profile)
    elif kind == "board":
        if npu is None:
            raise UsageError("npu-smi: -t board needs -i NPU")
        out = npu_smi_board(profile, npu, chip)
    elif kind == "health":
        if npu is None:
            raise UsageError("npu-smi: -t health needs -i NPU -c CHIP")
        out = npu_smi_health(profile, npu, chip or 0)
    elif kind == "topo":
        out = npu_smi_topo(profile)
    else:
        raise UsageError("npu-smi: unsupported query\n" + NPU_SMI_USAGE)
    sys.stdout.write(out)
    return 0


# ----------------------------------------------------------------------------- hccn_tool


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


def _run(cmd: list[str], timeout: float = 15) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


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
    res = _run(["ip", "-j", "-4", "addr", "show", "dev", ifname])
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
    _run(["ip", "route", "flush", "table", table])
    res = _run(["ip", "route", "add", net, "dev", ifname, "src", addr, "table", table])
    if res.returncode != 0:
        return res.stderr.strip()
    _run(["ip", "rule", "del", "priority", table])  # fails when there is none yet
    res = _run(["ip", "rule", "add", "from", addr, "lookup", table, "priority", table])
    return res.stderr.strip() if res.returncode != 0 else ""


def _ipv4(value: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        raise UsageError(f"hccn_tool: invalid {what} '{value}'") from None


def ping(ifname: str, address: str, count: int) -> tuple[list[tuple[int, float]], int]:
    """iputils ping through `ifname`: ([(seq from 0, ms)], received)."""
    if shutil.which("ping") is None:
        raise Failed("ping failed: iputils ping is not installed")
    res = _run(["ping", "-n", "-c", str(count), "-W", "1", "-I", ifname, address], timeout=30)
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
    res = _run([*cmd, "show", "neighbors", "ports", ifname], timeout=10)
    if res.returncode != 0 or not res.stdout.strip():
        return None
    data = json.loads(res.stdout)
    iface = (data.get("lldp") or {}).get("interface")
    if not iface:
        return None
    entries = iface if isinstance(iface, list) else [iface]
    for entry in entries:
        for name, body in entry.items():
            if name != ifname or not isinstance(body, dict):
                continue
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
    return None


# lldpd id subtypes -> the label the TLV text shows (a `local` port id is the switch's own
# port name, e.g. 400GE1/0/1:1: shown as Ifname like on the real fabric)
TLV_ID_LABEL = {
    "mac": "MAC",
    "ifname": "Ifname",
    "local": "Ifname",
    "ip": "IPv4",
    "ifalias": "Ifname",
}

PFC_NONE = "0,0,0,0,0,0,0,0"
HCCN_USAGE = "Usage: hccn_tool -i <device_id> -<command> -g | -s <key> <value> ...\n"


def hccn_tool(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "-i" or not argv[1].isdigit():
        raise UsageError("hccn_tool: missing or invalid -i <device_id>\n" + HCCN_USAGE)
    device = int(argv[1])
    command = argv[2]
    rest = argv[3:]
    profile = load_profile()
    devs = {int(d["device"]): d for d in profile["devices"]}
    if device not in devs:
        print(f"devid {device} is invalid, the device id range is [0, {len(devs) - 1}]")
        return 1
    dev = devs[device]
    ifname = str(dev["ifname"])
    mode = rest[0] if rest else ""
    if mode not in ("-g", "-s"):
        raise UsageError(f"hccn_tool: {command} needs -g or -s\n" + HCCN_USAGE)
    params: dict[str, str] = {}
    items = rest[1:]
    if mode == "-s" or command == "-ping":
        if len(items) % 2:
            raise UsageError(f"hccn_tool: {command} {mode}: expected <key> <value> pairs")
        params = dict(zip(items[::2], items[1::2], strict=True))
    state = load_state(device)

    if command == "-link" and mode == "-g":
        print(f"link status: {'UP' if link_up(dev) else 'DOWN'}")
        return 0

    if command == "-ip":
        if mode == "-g":
            addr, mask = state.get("address"), state.get("netmask")
            present = interface_addresses(ifname)
            if addr and mask:
                prefix = ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
                if present is None or f"{addr}/{prefix}" in present:
                    print(f"ipaddr:{addr}")
                    print(f"netmask:{mask}")
                    return 0
            print("Get ipconf failed, because no ip was preset there!")
            return 0
        if set(params) != {"address", "netmask"}:
            raise UsageError("hccn_tool: -ip -s needs address X netmask Y")
        addr = str(_ipv4(params["address"], "address"))
        try:
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{params['netmask']}").prefixlen
        except ValueError:
            raise UsageError(f"hccn_tool: invalid netmask '{params['netmask']}'") from None
        old = state.get("address"), state.get("netmask")
        if old[0] and old[1]:
            old_prefix = ipaddress.IPv4Network(f"0.0.0.0/{old[1]}").prefixlen
            if (old[0], old_prefix) != (addr, prefix):
                _run(["ip", "addr", "del", f"{old[0]}/{old_prefix}", "dev", ifname])
        res = _run(["ip", "addr", "replace", f"{addr}/{prefix}", "dev", ifname])
        if res.returncode != 0:
            print(f"Set ip failed: {res.stderr.strip()}")
            return 1
        err = npu_route(device, ifname, addr, prefix)
        if err:
            print(f"Set ip failed: {err}")
            return 1
        state.update(address=addr, netmask=str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask))
        save_state(device, state)
        return 0

    if command == "-netdetect":
        if mode == "-g":
            print(f"netdetect address: {state.get('netdetect', '')}")
            return 0
        if set(params) != {"address"}:
            raise UsageError("hccn_tool: -netdetect -s needs address X")
        state["netdetect"] = str(_ipv4(params["address"], "address"))
        save_state(device, state)
        return 0

    if command == "-gateway":
        if mode == "-g":
            print(f"default gateway:{state.get('gateway', '')}, Iface:eth{device}")
            return 0
        if set(params) != {"gateway"}:
            raise UsageError("hccn_tool: -gateway -s needs gateway G")
        state["gateway"] = str(_ipv4(params["gateway"], "gateway"))
        save_state(device, state)
        return 0

    if command == "-speed" and mode == "-g":
        print(f"Speed: {dev.get('speed_mbps') or 0} Mb/s")
        return 0

    if command == "-pfc":
        if mode == "-g":
            enabled = state.get("pfc", PFC_NONE).split(",")
            print("PFC configuration:")
            print("priority   " + " ".join(str(p) for p in range(8)))
            print("enabled    " + " ".join(enabled))
            return 0
        bitmap = params.get("bitmap", "")
        if set(params) != {"bitmap"} or not re.fullmatch(r"[01](,[01]){7}", bitmap):
            raise UsageError("hccn_tool: -pfc -s needs bitmap B0,B1,...,B7 (eight 0 or 1)")
        state["pfc"] = bitmap
        save_state(device, state)
        return 0

    if command == "-net_health" and mode == "-g":
        target = state.get("netdetect")
        if not target:
            status = "Init"
        elif not link_up(dev):
            status = "Fault"
        else:
            status = "Success" if ping(ifname, target, 1)[1] else "Fault"
        print(f"net health status: {status}")
        return 0

    if command == "-ping" and mode == "-g":
        if "address" not in params:
            raise UsageError("hccn_tool: -ping -g needs address X")
        target = str(_ipv4(params["address"], "address"))
        count = 3
        print(f"device {device} PING {target}")
        replies, received = ping(ifname, target, count) if link_up(dev) else ([], 0)
        for seq, ms in replies:
            print(f"recv seq={seq},time={ms:.6f}ms")
        loss = 100.0 * (count - received) / count
        print(f"{count} packets transmitted, {received} received, {loss:.2f}% packet loss")
        return 0

    if command == "-lldp" and mode == "-g":
        nb = lldp_neighbor(ifname)
        if nb is None:
            print(f"Get lldp info failed, no neighbor found on {ifname}")
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
        peer = dev.get("peer") or {}
        mfs = nb.get("mfs") or (str(peer["max_frame"]) if peer.get("max_frame") else "")
        if mfs:
            print("Maximum Frame Size TLV")
            print(f"\t{mfs}")
        print("End Of LLDPDU TLV")
        return 0

    raise UsageError(f"hccn_tool: unsupported command {command} {mode}\n" + HCCN_USAGE)


# ----------------------------------------------------------------------------- nvme


def _si(value: float) -> tuple[float, str]:
    for suffix in ("", "k", "M", "G", "T", "P"):
        if value < 1000 or suffix == "P":
            return value, suffix
        value /= 1000
    return value, ""


def nvme_list_table(profile: Profile) -> str:
    """nvme-cli 1.x `nvme list` (the openEuler 22.03 version): fixed-width columns."""
    fmt = "{:<16} {:<20} {:<40} {:<9} {:<26} {:<16} {:<8}"
    lines = [
        fmt.format("Node", "SN", "Model", "Namespace", "Usage", "Format", "FW Rev"),
        fmt.format(*("-" * n for n in (16, 20, 40, 9, 26, 16, 8))),
    ]
    for drive in profile["nvme"]:
        size, suffix = _si(float(drive["capacity_bytes"]))
        usage = f"{size:6.2f} {suffix:>2}B / {size:6.2f} {suffix:>2}B"
        lba, lsuffix = float(drive["sector_size"]), ""
        if lba >= 1024:
            lba, lsuffix = lba / 1024, "Ki"
        form = f"{lba:3.0f} {lsuffix:>2}B + {0:2d} B"
        cells = (drive["node"], drive["serial"][:20], drive["model"][:40], 1, usage, form)
        lines.append(fmt.format(*cells, drive["firmware"][:8]))
    return "\n".join(lines) + "\n"


def nvme_list_json(profile: Profile) -> str:
    devices = []
    for i, drive in enumerate(profile["nvme"]):
        size = int(drive["capacity_bytes"])
        sector = int(drive["sector_size"])
        devices.append(
            {
                "NameSpace": 1,
                "DevicePath": drive["node"],
                "Firmware": drive["firmware"],
                "Index": i,
                "ModelNumber": drive["model"],
                "ProductName": "Non-Volatile memory controller: Huawei Technologies Co., Ltd."
                " ES3000 V6 NVMe PCIe SSD",
                "SerialNumber": drive["serial"],
                "UsedBytes": size,
                "MaximumLBA": size // sector,
                "PhysicalSize": size,
                "SectorSize": sector,
            }
        )
    return json.dumps({"Devices": devices}, indent=2, separators=(",", " : ")) + "\n"


def nvme(argv: list[str]) -> int:
    if not argv or argv[0] != "list":
        raise UsageError("usage: nvme list [-o normal|json]")
    fmt = "normal"
    rest = argv[1:]
    while rest:
        if rest[0] in ("-o", "--output-format") and len(rest) > 1:
            fmt = rest[1]
            rest = rest[2:]
        elif rest[0].startswith("--output-format="):
            fmt = rest[0].split("=", 1)[1]
            rest = rest[1:]
        else:
            raise UsageError(f"nvme list: unknown option {rest[0]}")
    if fmt not in ("normal", "json"):
        raise UsageError(f"Invalid output format: {fmt}")
    profile = load_profile()
    if fmt == "json":
        sys.stdout.write(nvme_list_json(profile))
    elif profile["nvme"]:
        sys.stdout.write(nvme_list_table(profile))
    else:
        print("No NVMe devices detected.")
    return 0


# ----------------------------------------------------------------------------- installers


def _version_from_package(name: str, kind: str) -> str | None:
    # Ascend-hdk-910b-npu-driver_24.1.rc3_linux-aarch64.run, ...-npu-firmware_7.5.0.1.129.run
    m = re.search(rf"npu-{kind}_([^_]+?)(?:_linux[^/]*)?\.run$", name)
    return m.group(1) if m else None


def install(argv: list[str]) -> int:
    if not argv or argv[0] not in ("driver", "firmware", "cann"):
        raise UsageError(
            "usage: install driver|firmware|cann --full|--upgrade [--version V] [--package F]"
            " [--fw-range MIN,MAX]"
        )
    kind, rest = argv[0], argv[1:]
    mode = None
    version = package = fw_range = None
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("--full", "--upgrade"):
            mode = a
        elif a in ("--version", "--package", "--fw-range") and i + 1 < len(rest):
            i += 1
            if a == "--version":
                version = rest[i]
            elif a == "--package":
                package = rest[i]
            else:
                fw_range = rest[i]
        elif a in ("--nox11", "--quiet") or a.startswith(
            ("--install-username=", "--install-usergroup=", "--install-for-all")
        ):
            pass  # accepted like the .run packages do
        else:
            raise UsageError(f"install {kind}: unknown option {a}")
        i += 1
    if mode is None:
        raise UsageError(f"install {kind}: one of --full or --upgrade is required")
    profile = load_profile()
    sw = profile["software"]
    if version is None and package:
        version = _version_from_package(Path(package).name, kind)
        if kind == "cann":
            m = re.search(r"cann-toolkit_([^_]+?)_linux", Path(package).name)
            version = m.group(1) if m else None
        if version is None:
            raise UsageError(f"install {kind}: cannot read a version from '{package}'")
    root = lab_root()
    driver = installed_driver()
    if kind == "driver":
        version = version or sw["driver_version"]
        if not version:
            raise Failed("[ERROR]no driver version given and none in the model")
        if mode == "--upgrade" and not driver:
            print("[ERROR]Driver package is not installed, please use --full to install it")
            return 1
        lo, hi = fw_range.split(",", 1) if fw_range else (sw["firmware_min"], sw["firmware_max"])
        path = root / DRIVER_INFO
        lines = [f"Version={version}", f"package_version={version}"]
        if lo and hi:
            lines.append(f"compatible_version_fw=[{lo.strip()},{hi.strip()}]")
    elif kind == "cann":
        version = version or sw.get("cann_version")
        if not version:
            raise Failed("[ERROR]no CANN version given and none in the model")
        path = root / CANN_INFO
        lines = [f"Version={version}"]
    else:
        if not driver:
            print("[ERROR]Driver package is not installed, please install the driver first")
            return 1
        version = version or sw["firmware_version"]
        if not version:
            raise Failed("[ERROR]no firmware version given and none in the model")
        path = root / FIRMWARE_INFO
        lines = [f"Version={version}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    what = {"driver": "Driver", "firmware": "Firmware", "cann": "CANN toolkit"}[kind]
    verb = "upgraded" if mode == "--upgrade" else "installed"
    print(f"[INFO]{what} package {verb} successfully, version {version}")
    if kind == "firmware":
        print("[INFO]Reboot the system for the firmware to take effect")
    return 0


# ----------------------------------------------------------------------------- lscpu

# what util-linux's lscpu prints as vendor for the CPUs of the catalog
LSCPU_KEY_WIDTH = 41  # util-linux 2.38: values start in column 42
CPU_VENDOR_ID = {"kunpeng": "HiSilicon", "phytium": "Phytium", "hygon": "HygonGenuine"}


def lscpu_fields(profile: Profile) -> list[tuple[str, str]]:
    cpu = profile["cpu"]
    arch = str(cpu["arch"])
    cores = int(cpu["cores_per_socket"]) * int(cpu["sockets"])
    return [
        ("Architecture", arch),
        ("CPU op-mode(s)", "32-bit, 64-bit" if arch == "x86_64" else "64-bit"),
        ("Byte Order", "Little Endian"),
        ("CPU(s)", str(cores)),
        ("On-line CPU(s) list", f"0-{cores - 1}"),
        ("Vendor ID", CPU_VENDOR_ID.get(str(cpu["vendor"]).lower(), str(cpu["vendor"]))),
        ("Model name", str(cpu["model"])),
        ("Thread(s) per core", "1"),
        ("Core(s) per socket", str(cpu["cores_per_socket"])),
        ("Socket(s)", str(cpu["sockets"])),
        ("NUMA node(s)", str(2 * int(cpu["sockets"]))),
    ]


def lscpu(argv: list[str]) -> int:
    """util-linux lscpu: the summary (`lscpu`) or its JSON (`lscpu -J`), from the profile."""
    if any(a not in ("-J", "--json") for a in argv):
        raise UsageError("lscpu (lab): only the summary, and -J/--json, are emulated")
    fields = lscpu_fields(load_profile())
    if argv:  # util-linux's own JSON writer: 3-space indent, objects joined by `},{`
        body = "},{".join(
            f'\n         "field": {json.dumps(k + ":")},\n         "data": {json.dumps(v)}\n      '
            for k, v in fields
        )
        print('{\n   "lscpu": [\n      {' + body + "}\n   ]\n}")
    else:
        for k, v in fields:
            print(f"{k + ':':<{LSCPU_KEY_WIDTH}}{v}")
    return 0


# ----------------------------------------------------------------------------- entry


TOOLS = {
    "npu-smi": npu_smi,
    "hccn_tool": hccn_tool,
    "nvme": nvme,
    "install": install,
    "lscpu": lscpu,
}


def run(tool: str, argv: list[str]) -> int:
    fn = TOOLS.get(tool)
    if fn is None:
        print(f"unknown tool '{tool}' (known: {', '.join(TOOLS)})", file=sys.stderr)
        return 2
    try:
        return fn(argv)
    except UsageError as e:
        print(str(e).rstrip(), file=sys.stderr)
        return 2
    except Failed as e:
        print(str(e))
        return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(f"usage: python -m wanka.lab.devtools {{{'|'.join(TOOLS)}}} ...", file=sys.stderr)
        return 2
    return run(args[0], args[1:])


if __name__ == "__main__":
    sys.exit(main())
