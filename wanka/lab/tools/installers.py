"""Emulated Ascend installer packages of a lab server: `install driver|firmware|cann
--full|--upgrade`, optional `--version V` or `--package NAME.run` (version parsed from the
name), else the profile's versions; driver also `--fw-range MIN,MAX`. Each writes the
version file the real package writes (`wanka.lab.tools.server`: DRIVER_INFO, FIRMWARE_INFO,
CANN_INFO under the lab root).

The firmware package is flashed with the driver's tools, so (as with ascend-deployer's
order: fresh host = driver then firmware) installing firmware with no driver installed fails
(exit 1), and `--upgrade` of a driver that is not installed fails too. Whether the firmware
falls in the driver's range is NOT checked here (verification does it); npu-smi `-t board`
shows `Compatibility : NOK` when it does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wanka.lab.tools.server import (
    CANN_INFO,
    DRIVER_INFO,
    FIRMWARE_INFO,
    Failed,
    UsageError,
    installed_driver,
    lab_root,
    load_profile,
)

USAGE = (
    "usage: install driver|firmware|cann --full|--upgrade [--version V] [--package F]"
    " [--fw-range MIN,MAX]"
)
WHAT = {"driver": "Driver", "firmware": "Firmware", "cann": "CANN toolkit"}


@dataclass
class Request:
    kind: str  # driver, firmware or cann
    mode: str | None = None  # --full or --upgrade
    version: str | None = None
    package: str | None = None
    fw_range: str | None = None


def _version_from_package(name: str, kind: str) -> str | None:
    # Ascend-hdk-910b-npu-driver_24.1.rc3_linux-aarch64.run, ...-npu-firmware_7.5.0.1.129.run
    m = re.search(rf"npu-{kind}_([^_]+?)(?:_linux[^/]*)?\.run$", name)
    return m.group(1) if m else None


def _parse(argv: list[str]) -> Request:
    if not argv or argv[0] not in WHAT:
        raise UsageError(USAGE)
    req, rest = Request(argv[0]), argv[1:]
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("--full", "--upgrade"):
            req.mode = a
        elif a in ("--version", "--package", "--fw-range") and i + 1 < len(rest):
            i += 1
            setattr(req, a[2:].replace("-", "_"), rest[i])
        elif a in ("--nox11", "--quiet") or a.startswith(
            ("--install-username=", "--install-usergroup=", "--install-for-all")
        ):
            pass  # accepted like the .run packages do
        else:
            raise UsageError(f"install {req.kind}: unknown option {a}")
        i += 1
    if req.mode is None:
        raise UsageError(f"install {req.kind}: one of --full or --upgrade is required")
    return req


def _package_version(req: Request) -> str | None:
    """--version, else the version in the --package name (a name without one: usage error)."""
    if req.version is not None or not req.package:
        return req.version
    name = Path(req.package).name
    version = _version_from_package(name, req.kind)
    if req.kind == "cann":
        m = re.search(r"cann-toolkit_([^_]+?)_linux", name)
        version = m.group(1) if m else None
    if version is None:
        raise UsageError(f"install {req.kind}: cannot read a version from '{req.package}'")
    return version


def _driver(req: Request, version: str | None, sw: dict[str, Any]) -> tuple[str, str, list[str]]:
    version = version or sw["driver_version"]
    if not version:
        raise Failed("[ERROR]no driver version given and none in the model")
    if req.mode == "--upgrade" and not installed_driver():
        raise Failed("[ERROR]Driver package is not installed, please use --full to install it")
    fw_range = req.fw_range
    lo, hi = fw_range.split(",", 1) if fw_range else (sw["firmware_min"], sw["firmware_max"])
    lines = [f"Version={version}", f"package_version={version}"]
    if lo and hi:
        lines.append(f"compatible_version_fw=[{lo.strip()},{hi.strip()}]")
    return version, DRIVER_INFO, lines


def _cann(req: Request, version: str | None, sw: dict[str, Any]) -> tuple[str, str, list[str]]:
    version = version or sw.get("cann_version")
    if not version:
        raise Failed("[ERROR]no CANN version given and none in the model")
    return version, CANN_INFO, [f"Version={version}"]


def _firmware(req: Request, version: str | None, sw: dict[str, Any]) -> tuple[str, str, list[str]]:
    if not installed_driver():
        raise Failed("[ERROR]Driver package is not installed, please install the driver first")
    version = version or sw["firmware_version"]
    if not version:
        raise Failed("[ERROR]no firmware version given and none in the model")
    return version, FIRMWARE_INFO, [f"Version={version}"]


KINDS = {"driver": _driver, "cann": _cann, "firmware": _firmware}


def main(argv: list[str]) -> int:
    req = _parse(argv)
    sw = load_profile()["software"]
    version, info, lines = KINDS[req.kind](req, _package_version(req), sw)
    path = lab_root() / info
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    verb = "upgraded" if req.mode == "--upgrade" else "installed"
    print(f"[INFO]{WHAT[req.kind]} package {verb} successfully, version {version}")
    if req.kind == "firmware":
        print("[INFO]Reboot the system for the firmware to take effect")
    return 0
