"""Emulated util-linux lscpu of a lab server: the summary lines and `-J`, with the CPU of
the server's model."""

from __future__ import annotations

import json

from wanka.lab.tools.server import Profile, UsageError, load_profile

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


def main(argv: list[str]) -> int:
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
