"""What the emulated tools of a lab server share: the server's hardware profile, where its
state and its installed versions live, and the two ways a tool fails.

The profile is the JSON file named by env WANKA_LAB_PROFILE (written by `wanka.lab.profile`).
Mutable state lives in the directory env WANKA_LAB_STATE; installed versions live where the
real installers put them, `/usr/local/Ascend/{driver,firmware}/version.info` under env
WANKA_LAB_ROOT (default `/`).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from wanka.versions import VersionError, in_range, parse_range

Profile = dict[str, Any]

DRIVER_INFO = "usr/local/Ascend/driver/version.info"
FIRMWARE_INFO = "usr/local/Ascend/firmware/version.info"
CANN_INFO = "usr/local/Ascend/ascend-toolkit/latest/version.cfg"  # toolkit_running_version=[..]
KERNELS_INFO = "usr/local/Ascend/ascend-toolkit/latest/opp_kernel/version.info"
INSTALL_INFO = "etc/ascend_install.info"  # the driver's record of its user and group
FIRMWARE_PENDING = "firmware-pending.json"  # in the state dir: flashed, not yet active
# in the state dir: "<boot id> boot" at every power-on and "<boot id> <kind> <mode> <version>"
# after every installer that succeeded, in order (what the lab's tests read back)
INSTALL_LOG = "install.log"
VERSION_CFG_LINE = re.compile(r"^(\w+_version)=((?:\[[^:\]]+:[^\]]+\])+)\s*$")


class UsageError(Exception):
    """Bad arguments: exit 2."""


class Failed(Exception):
    """The operation failed: exit 1, message on stdout like the real tools."""


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


def boot_id() -> str:
    """This boot of the server (env WANKA_LAB_BOOT, new at every power-on; '' outside one)."""
    return os.environ.get("WANKA_LAB_BOOT", "")


def record_install(event: str) -> None:
    """Append `event` to this server's install log, with the boot it happened in."""
    with (state_dir() / INSTALL_LOG).open("a", encoding="utf-8") as f:
        f.write(f"{boot_id()} {event}\n")


def record_firmware_pending(active: str) -> None:
    """A firmware was just flashed: until the next boot the cards run `active` (the firmware
    they ran before), as real NPUs do until the server restarts."""
    path = state_dir() / FIRMWARE_PENDING
    if path.is_file():
        return  # flashed twice in one boot: the cards still run what they ran at boot
    path.write_text(json.dumps({"boot": boot_id(), "active": active}), encoding="utf-8")


def firmware_pending() -> str | None:
    """The firmware the cards run while a flash waits for a reboot, else None (none waits,
    or the server has booted since)."""
    path = state_dir() / FIRMWARE_PENDING
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("boot") != boot_id():
        path.unlink(missing_ok=True)  # booted since: the flashed firmware is active
        return None
    return str(data.get("active") or "")


def firmware_version(profile: Profile) -> str:
    """What the cards report: the `firmware_version` fault (a flash that did not take), else
    the firmware they ran before a flash that waits for a reboot, else the installed
    firmware, else the model's."""
    fault = (profile.get("faults") or {}).get("firmware_version")
    fw = fault or firmware_pending() or installed_firmware().get("Version")
    return fw or str(profile["software"]["firmware_version"] or "")


def read_version_cfg() -> dict[str, list[tuple[str, str]]]:
    """The toolkit's version.cfg: `<part>_<running|upgrade|installed>_version` -> its
    `[inner build:release]` pairs, as the real file writes them (reference ascend_02)."""
    path = lab_root() / CANN_INFO
    out: dict[str, list[tuple[str, str]]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        m = VERSION_CFG_LINE.match(line.strip())
        if m:
            pairs = re.findall(r"\[([^:\]]+):([^\]]+)\]", m.group(2))
            out[m.group(1)] = [(b, v) for b, v in pairs]
    return out


def cann_running(cfg: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """Part (toolkit, opp_kernel, ...) -> the release running, from read_version_cfg()."""
    suffix = "_running_version"
    return {k[: -len(suffix)]: v[-1][1] for k, v in cfg.items() if k.endswith(suffix) and v}


def firmware_compatible(fw: str, fw_range: tuple[str, str] | None) -> bool:
    """npu-smi's Compatibility: fw inside the driver's range by wanka's one comparator
    (wanka.versions: a bound covers its builds); a firmware version it cannot read (or none)
    is not compatible."""
    if fw_range is None:
        return True
    try:
        return in_range(fw, fw_range[0], fw_range[1])
    except VersionError:
        return False


def driver_fw_range(profile: Profile) -> tuple[str, str] | None:
    written = parse_range(installed_driver().get("compatible_version_fw"))
    if written is not None:
        return written
    sw = profile["software"]
    if sw.get("firmware_min") and sw.get("firmware_max"):
        return str(sw["firmware_min"]), str(sw["firmware_max"])
    return None
