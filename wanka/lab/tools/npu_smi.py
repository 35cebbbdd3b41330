"""Emulated `npu-smi info` of a lab server: the summary table (the A2 layout, one chip row
per NPU, or the A3 one, a row pair per die), `-l`, `-m`, `-t board`, `-t health` and
`-t topo` and `-t spod-info` (A3), in the formats captured from real 910B and 910C boards
(the reference).

npu-smi runs before any driver is installed (it then prints the model's driver version);
Software/Firmware Version come from the installed version.info files when present, else
from the profile (firmware: the `firmware_version` fault, else the model's firmware).
`-t board` shows `Compatibility : NOK` when the firmware is outside the driver's range.
"""

from __future__ import annotations

import sys
from typing import Any

from wanka.lab.tools.server import (
    Failed,
    Profile,
    UsageError,
    driver_fw_range,
    driver_version,
    firmware_compatible,
    firmware_version,
    load_profile,
)

WIDTH = 96  # inner width of the npu-smi tables
COLS = (27, 15, 52)  # npu-smi column widths (between the `|`)
INFO_KEY_WIDTH = 31  # `\tKey<padding>: value` of the npu-smi detail views
MAP_WIDTH = 30  # `-m` columns: printf("\t%-30s %-30s ...")


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


def _cols(cells: tuple[str, ...]) -> str:
    """printf("\\t%-30s %-30s ... %s\\n"): cells padded to 30, one space between (the
    npu-smi source, reference ascend_07), without the trailing blanks (as the real capture
    of a 910A server shows them)."""
    return ("\t" + " ".join(c.ljust(MAP_WIDTH) for c in cells)).rstrip() + "\n"


def npu_smi_map(profile: Profile) -> str:
    """`npu-smi info -m`: per chip its NPU id, chip id, logic id (the device id), on A3 its
    physical id, and name (`Ascend 910B3`; A3 dies `Ascend910`), then the card's Mcu row
    (chip id = the chip count, `-` for the ids)."""
    name = profile["chip_name"]
    a3 = profile["generation"] == "A3"
    full = name if name.startswith("Ascend") else f"Ascend {name}"
    head = (
        ("NPU ID", "Chip ID", "Chip Logic ID") + (("Chip Phy-ID",) if a3 else ()) + ("Chip Name",)
    )
    out = _cols(head)
    for card in profile["cards_info"]:
        chips = [d for d in profile["devices"] if d["card"] == card["card"]]
        for d in chips:
            ids = (str(d["card"]), str(d["chip"]), str(d["device"]))
            out += _cols(ids + ((str(d["phy_id"]),) if a3 else ()) + (full,))
        mcu = (str(card["card"]), str(len(chips)), "-") + (("-",) if a3 else ()) + ("Mcu",)
        out += _cols(mcu)
    return out


def npu_smi_spod(profile: Profile, npu: int, chip: int) -> str:
    """`npu-smi info -t spod-info -i NPU -c CHIP` of an A3 die: printf("\\t%-30s : %u\\n")
    of SDID, Super Pod Size, Super Pod ID and Server Index (reference ascend_04)."""
    dev = _device(profile, npu, chip)
    spod = profile.get("spod")
    if spod is None:
        raise Failed("This device does not support querying spod-info.")
    return "".join(
        f"\t{k:<{INFO_KEY_WIDTH - 1}} : {v}\n"
        for k, v in (
            ("SDID", dev["sdid"]),
            ("Super Pod Size", spod["super_pod_size"]),
            ("Super Pod ID", spod["super_pod_id"]),
            ("Server Index", spod["server_index"]),
        )
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


NPU_SMI_USAGE = """Usage: npu-smi info [-l | -m] [-t board|health|topo|spod-info] [-i NPU] [-c CHIP]
"""


def _parse(argv: list[str]) -> tuple[dict[str, str], set[str]]:
    """`info` and its options: ({-t|-i|-c: value}, {-l|-m})."""
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
    return opts, flags


def _answer(profile: Profile, opts: dict[str, str], flags: set[str]) -> str:
    """The view the options ask for."""
    kind = opts.get("-t")
    npu = int(opts["-i"]) if "-i" in opts else None
    chip = int(opts["-c"]) if "-c" in opts else None
    if "-l" in flags:
        return npu_smi_list(profile)
    if "-m" in flags:
        return npu_smi_map(profile)
    if kind is None and not opts and not flags:
        return npu_smi_table(profile)
    if kind == "board":
        if npu is None:
            raise UsageError("npu-smi: -t board needs -i NPU")
        return npu_smi_board(profile, npu, chip)
    if kind == "health":
        if npu is None:
            raise UsageError("npu-smi: -t health needs -i NPU -c CHIP")
        return npu_smi_health(profile, npu, chip or 0)
    if kind == "topo":
        return npu_smi_topo(profile)
    if kind == "spod-info":
        if npu is None or chip is None:
            raise UsageError("npu-smi: -t spod-info needs -i NPU -c CHIP")
        return npu_smi_spod(profile, npu, chip)
    raise UsageError("npu-smi: unsupported query\n" + NPU_SMI_USAGE)


def main(argv: list[str]) -> int:
    opts, flags = _parse(argv)
    sys.stdout.write(_answer(load_profile(), opts, flags))
    return 0
