"""Emulated nvme-cli 1.x `nvme list` (the openEuler 22.03 version) of a lab server: the
fixed-width table or `-o json`, with the drives of the server's hardware profile."""

from __future__ import annotations

import json
import sys

from wanka.lab.tools.server import Profile, UsageError, load_profile


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


def main(argv: list[str]) -> int:
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
