"""Emulated Ascend installer packages of a lab server, behaving as Huawei's `.run` packages do
(reference ascend_10, 11, 12, 14): `install KIND MODE [--version V] [--package NAME.run]
[--fw-range MIN,MAX] [--install-username=U --install-usergroup=G] [--quiet] [--nox11]`.

- driver `--full` (fresh) or `--upgrade`: a fresh install refuses a missing user or group
  (default HwHiAiUser:HwHiAiUser, Huawei's own messages, ERR_NO:0x0091) and records them in
  /etc/ascend_install.info; writes driver/version.info as the real package does
  (`Version=`, `compatible_version_fw=[lo,hi]`, `package_version=`); a reboot activates it.
- firmware `--full` or `--upgrade`: needs the driver (its tools flash the cards); writes
  firmware/version.info, but the cards keep running the firmware they had until the server
  reboots (`wanka.lab.tools.server.firmware_version`: what npu-smi reports).
- cann (the toolkit) `--install` or `--upgrade` (`--full` too, as the real package accepts):
  writes the real ascend-toolkit/latest/version.cfg lines (`toolkit_running_version=[inner:
  release]`, `*_upgrade_version`, `*_installed_version`, one `[..]` per release installed).
- kernels (the chip's operator package) `--install` or `--upgrade`: needs the toolkit at the
  same release ("To install kernels, you need to install nnae or toolkit first"); adds the
  `opp_kernel_*_version` lines to version.cfg and writes opp_kernel/version.info.

A version comes from --version, else the package name, else the server's profile (its
software set, from the model). Every install that succeeds is appended to the server's
install log (`server.INSTALL_LOG`, with the boot it ran in), which the lab's boots also
write: the order in which a bring-up installed and rebooted.

Fault `kernel_headers_missing` (the running kernel's headers are not installed and the
driver's prebuilt modules do not match it): the driver refuses `--full` and `--upgrade` as
the real one does (run_driver_install.sh: drv_dkms_env_check, then the vermagic check),
its reason in /var/log/ascend_seclog/ascend_install.log.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wanka.lab.tools.server import (
    CANN_INFO,
    DRIVER_INFO,
    FIRMWARE_INFO,
    INSTALL_INFO,
    KERNELS_INFO,
    Failed,
    UsageError,
    cann_running,
    firmware_version,
    installed_driver,
    lab_root,
    load_profile,
    read_version_cfg,
    record_firmware_pending,
    record_install,
)

USAGE = (
    "usage: install driver|firmware --full|--upgrade | cann|kernels --install|--upgrade"
    " [--version V] [--package F] [--fw-range MIN,MAX]"
    " [--install-username=U] [--install-usergroup=G]"
)
WHAT = {"driver": "Driver", "firmware": "Firmware", "cann": "CANN toolkit", "kernels": "Kernels"}
MODES = {
    "driver": ("--full", "--upgrade"),
    "firmware": ("--full", "--upgrade"),
    "cann": ("--install", "--upgrade", "--full"),
    "kernels": ("--install", "--upgrade"),
}
# the CANN components a toolkit package lists in version.cfg (the real file, reference ascend_02)
TOOLKIT_PARTS = ("runtime", "compiler", "hccl", "opp", "toolkit", "aoe", "ncs")
USER = "HwHiAiUser"  # the packages' default user and group
SECLOG = "var/log/ascend_seclog/ascend_install.log"  # the driver's install log
NAME_VERSION = {
    "driver": r"npu-driver_([^_]+?)_linux",
    "firmware": r"npu-firmware_([^_]+?)\.run$",
    "cann": r"cann-toolkit_([^_]+?)_linux",
    # Ascend-cann-kernels-910b_8.0.RC3_linux-aarch64.run, Atlas-A3-cann-kernels_8.0.RC3_...,
    # from 8.5 Ascend-cann-910b-ops_8.5.0_linux-aarch64.run
    "kernels": r"(?:cann-kernels(?:-[^_]+)?|cann-[^_]+-ops)_([^_]+?)_linux",
}


@dataclass
class Request:
    kind: str
    mode: str | None = None
    version: str | None = None
    package: str | None = None
    fw_range: str | None = None
    username: str = USER
    usergroup: str = USER


def _parse(argv: list[str]) -> Request:
    if not argv or argv[0] not in WHAT:
        raise UsageError(USAGE)
    req, rest = Request(argv[0]), argv[1:]
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in MODES[req.kind]:
            req.mode = a
        elif a in ("--version", "--package", "--fw-range") and i + 1 < len(rest):
            i += 1
            setattr(req, a[2:].replace("-", "_"), rest[i])
        elif a.startswith(("--install-username=", "--install-usergroup=")):
            key, _, value = a.partition("=")
            setattr(req, key[len("--install-") :], value)
        elif a in ("--nox11", "--quiet", "--install-for-all"):
            pass  # accepted like the .run packages do
        else:
            raise UsageError(f"install {req.kind}: unknown option {a}")
        i += 1
    if req.mode is None:
        raise UsageError(f"install {req.kind}: one of {'|'.join(MODES[req.kind])} is required")
    return req


def _package_version(req: Request) -> str | None:
    """--version, else the version in the --package name (a name without one: usage error)."""
    if req.version is not None or not req.package:
        return req.version
    m = re.search(NAME_VERSION[req.kind], Path(req.package).name)
    if m is None:
        raise UsageError(f"install {req.kind}: cannot read a version from '{req.package}'")
    return m.group(1)


def _names(path: Path) -> set[str]:
    """The names of /etc/passwd or /etc/group under the lab root."""
    if not path.is_file():
        return set()
    return {line.split(":", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()}


def _check_user(req: Request) -> None:
    """The driver's own checks (env_check.sh, reference ascend_10), verbatim messages."""
    etc = lab_root() / "etc"
    if req.username not in _names(etc / "passwd"):
        raise Failed(
            f"[ERROR]ERR_NO:0x0091;ERR_DES:{req.username} not exists! Please add {req.username}"
        )
    if req.usergroup not in _names(etc / "group"):
        raise Failed(
            f"[ERROR]ERR_NO:0x0091;ERR_DES:{req.usergroup} group not exists! "
            f"Please add {req.usergroup} group"
        )


def _write(rel: str, lines: list[str]) -> None:
    path = lab_root() / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _log(rel: str, lines: list[str]) -> None:
    path = lab_root() / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with path.open("a", encoding="utf-8") as f:
        f.writelines(f"[Driver] [{stamp}] {line}\n" for line in lines)


def _kernel_modules(faults: dict[str, Any]) -> None:
    """The driver's environment check (run_driver_install.sh, reference ascend_10 and the
    capture driver_install_no_kernel_headers.txt): without the running kernel's headers no
    DKMS build, and prebuilt modules for another kernel: refused, reason in the log."""
    if not faults.get("kernel_headers_missing"):
        return
    _log(
        SECLOG,
        [
            "[INFO]dkms environment check...",
            "[WARNING]linux headers is currently not installed.",
            "[INFO]not detect driver dkms dependence ",
            "[ERROR]driver vermagic check failed.",
        ],
    )
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    raise Failed(
        f"[Driver] [{stamp}] [ERROR]\033[31mDrv_dkms_env_check failed, details in : "
        f"/{SECLOG} \033[0m"
    )


def _driver(req: Request, version: str | None, sw: dict[str, Any]) -> str:
    version = version or sw["driver_version"]
    if not version:
        raise Failed("[ERROR]no driver version given and none in the model")
    if req.mode == "--upgrade" and not installed_driver():
        raise Failed("[ERROR]Driver package is not installed, please use --full to install it")
    if req.mode == "--full":
        _check_user(req)
    _kernel_modules(load_profile().get("faults") or {})
    if req.mode == "--full":
        _write(
            INSTALL_INFO,
            [f"UserName={req.username}", f"UserGroup={req.usergroup}"]
            + ["Driver_Install_Type=full", "Driver_Install_Status=complete"],
        )
    lo, hi = (
        req.fw_range.split(",", 1) if req.fw_range else (sw["firmware_min"], sw["firmware_max"])
    )
    lines = [f"Version={version}"]
    if lo and hi:
        lines.append(f"compatible_version_fw=[{lo.strip()},{hi.strip()}]")
    _write(DRIVER_INFO, [*lines, f"package_version={version}"])
    verb = "upgrade" if req.mode == "--upgrade" else "install"
    print(
        f"[INFO]\033[32mDriver package {verb} successfully! \033[0m"
        "\033[31mReboot needed for installation/upgrade to take effect! \033[0m"
    )
    return version


def _firmware(req: Request, version: str | None, sw: dict[str, Any]) -> str:
    if not installed_driver():
        raise Failed("[ERROR]Driver package is not installed, please install the driver first")
    version = version or sw["firmware_version"]
    if not version:
        raise Failed("[ERROR]no firmware version given and none in the model")
    record_firmware_pending(firmware_version(load_profile()))
    _write(FIRMWARE_INFO, [f"Version={version}"])
    print(f"[INFO]Firmware package installed successfully, version {version}")
    print("[INFO]Reboot the system for the firmware to take effect")
    return version


def _cfg_lines(
    cfg: dict[str, list[tuple[str, str]]], parts: tuple[str, ...], build: str, version: str
) -> list[str]:
    """version.cfg with `parts` now running `[build:version]`, in the real file's order (every
    running line, then upgrade, then installed, which keeps one `[..]` per release)."""
    out = dict(cfg)
    for part in parts:
        out[f"{part}_running_version"] = [(build, version)]
        out[f"{part}_upgrade_version"] = [(build, version)]
        had = [x for x in out.get(f"{part}_installed_version", []) if x[1] != version]
        out[f"{part}_installed_version"] = [*had, (build, version)]
    order = [
        k for s in ("running", "upgrade", "installed") for k in out if k.endswith(f"_{s}_version")
    ]
    return [f"{k}=" + "".join(f"[{b}:{v}]" for b, v in out[k]) for k in order]


def _cann(req: Request, version: str | None, sw: dict[str, Any]) -> str:
    version = version or sw.get("cann_version")
    if not version:
        raise Failed("[ERROR]no CANN version given and none in the model")
    cfg = read_version_cfg()
    running = cann_running(cfg).get("toolkit")
    if req.mode == "--install" and running is not None:
        raise Failed(
            f"[Toolkit] [ERROR]Ascend-cann-toolkit {running} already installed, use --upgrade"
        )
    if req.mode == "--upgrade" and running is None:
        raise Failed("[Toolkit] [ERROR]Ascend-cann-toolkit is not installed, use --install")
    # the inner build of the release is not in the package name: the release stands for it
    _write(CANN_INFO, _cfg_lines(cfg, TOOLKIT_PARTS, version, version))
    print(
        f"[Toolkit] [INFO]Ascend-cann-toolkit_{version} install success, "
        "installed in /usr/local/Ascend."
    )
    return version


def _kernels(req: Request, version: str | None, sw: dict[str, Any]) -> str:
    version = version or sw.get("cann_version")
    cfg = read_version_cfg()
    toolkit = cann_running(cfg).get("toolkit")
    if toolkit is None:
        raise Failed("[ERROR]To install kernels, you need to install nnae or toolkit first.")
    if version and version != toolkit:
        raise Failed(f"[ERROR]kernels {version} do not match the installed toolkit {toolkit}")
    version = toolkit
    _write(CANN_INFO, _cfg_lines(cfg, ("opp_kernel",), version, version))
    _write(KERNELS_INFO, [f"Version={version}", f"version_dir={version}"])
    name = Path(req.package).name.removesuffix(".run") if req.package else f"kernels_{version}"
    print(
        f"[INFO]{name} install success. The installation path is /usr/local/Ascend/ascend-toolkit."
    )
    return version


KINDS = {"driver": _driver, "cann": _cann, "firmware": _firmware, "kernels": _kernels}


def main(argv: list[str]) -> int:
    req = _parse(argv)
    sw = load_profile()["software"]
    version = KINDS[req.kind](req, _package_version(req), sw)
    record_install(f"{req.kind} {req.mode} {version}")
    return 0
