"""Emulated package managers of a lab server: `dnf` (and `yum`, its alias on openEuler 22.03
and Kylin V10) and `apt-get` (Ubuntu 22.04), as the server's OS family says. `install -y
NAME...` records the packages in the server's state (packages.json, on its own disk) and
prints what the real one prints for it (tests/captures/os/dnf_install.txt and
apt_get_install.txt: the lines of the transaction, then "Complete!"; or, when all are there
already, "Nothing to do." / "... is already the newest version (...)." and a summary of 0
newly installed). The roles' changed_when reads those lines.

The lab's repository has every package: each installs at version LAB_VERSION with the
distribution's release tag (lab data, not a real build); it serves no files, so there are
no download and size lines."""

from __future__ import annotations

import json
import time

from wanka.lab.tools.server import Failed, Profile, UsageError, load_profile, state_dir

LAB_VERSION = "1.0-1"
REPO = "wanka-lab"
DNF_RULE = "=" * 80
APT_ARCH = {"aarch64": "arm64", "x86_64": "amd64"}


def _state() -> dict[str, str]:
    path = state_dir() / "packages.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _record(installed: dict[str, str]) -> None:
    path = state_dir() / "packages.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(installed, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _names(tool: str, argv: list[str]) -> list[str]:
    if not argv or argv[0] != "install":
        raise UsageError(f"{tool}: the lab's {tool} knows `install -y NAME...` only")
    names = [a for a in argv[1:] if not a.startswith("-")]
    if "-y" not in argv and "--assumeyes" not in argv and "--yes" not in argv:
        raise Failed("Operation aborted.")  # no terminal to answer the question
    if not names:
        raise UsageError(f"{tool}: install needs a package name")
    return names


def _rpm_release(profile: Profile) -> str:
    """The distribution's release tag of its packages (oe2203sp4, ky10)."""
    name = str((profile.get("os") or {}).get("name") or "").lower()
    version = str((profile.get("os") or {}).get("version") or "").lower().split()
    if name.startswith("kylin"):
        return "ky10"
    sp = next((w for w in version if w.startswith("sp")), "")
    return "oe" + (version[0].replace(".", "") if version else "") + sp


def dnf_lines(profile: Profile, names: list[str], installed: dict[str, str]) -> list[str]:
    """What `dnf install -y NAMES` prints, and records the new ones in `installed`."""
    arch = str(profile["cpu"]["arch"])
    when = time.strftime("%a %d %b %Y %I:%M:%S %p %Z")
    out = [f"Last metadata expiration check: 0:00:01 ago on {when}."]
    new = [n for n in dict.fromkeys(names) if n not in installed]
    out.append("Dependencies resolved.")
    if not new:
        return out + ["Nothing to do.", "Complete!"]
    version = f"{LAB_VERSION}.{_rpm_release(profile)}"
    out += [DNF_RULE, f" {'Package':<24}{'Architecture':<14}{'Version':<22}{'Repository':<12}Size"]
    out += [DNF_RULE, "Installing:"]
    out += [f" {n:<24}{arch:<14}{version:<22}{REPO:<12}0" for n in new]
    count = f"{len(new)} Package" + ("s" if len(new) > 1 else "")
    out += ["", "Transaction Summary", DNF_RULE, f"Install  {count}", ""]
    out += ["Running transaction check", "Transaction check succeeded."]
    out += ["Running transaction test", "Transaction test succeeded.", "Running transaction"]
    total = len(new)
    out.append(f"  {'Preparing':<17}: {'':<40}{'1/1':>6} ")
    for verb in ("Installing", "Verifying"):
        for i, n in enumerate(new, 1):
            out.append(f"  {verb:<17}: {f'{n}-{version}.{arch}':<40}{f'{i}/{total}':>6} ")
    for n in new:
        installed[n] = f"{version}.{arch}"
    return out + ["", "Complete!"]


def apt_lines(profile: Profile, names: list[str], installed: dict[str, str]) -> list[str]:
    """What `apt-get install -y NAMES` prints (no terminal), and records the new ones."""
    arch = APT_ARCH.get(str(profile["cpu"]["arch"]), str(profile["cpu"]["arch"]))
    out = [
        "Reading package lists...",
        "Building dependency tree...",
        "Reading state information...",
    ]
    wanted = list(dict.fromkeys(names))
    new = [n for n in wanted if n not in installed]
    out += [f"{n} is already the newest version ({installed[n]})." for n in wanted if n not in new]
    if new:
        out += ["The following NEW packages will be installed:", "  " + " ".join(new)]
    out.append(f"0 upgraded, {len(new)} newly installed, 0 to remove and 0 not upgraded.")
    files = len(installed) * 10
    for i, n in enumerate(new):
        out.append(f"Selecting previously unselected package {n}.")
        if i == 0:
            out.append(f"(Reading database ... {files} files and directories currently installed.)")
        out.append(f"Preparing to unpack .../{i:02d}-{n}_{LAB_VERSION}_{arch}.deb ...")
        out.append(f"Unpacking {n} ({LAB_VERSION}) ...")
    for n in new:
        out.append(f"Setting up {n} ({LAB_VERSION}) ...")
        installed[n] = LAB_VERSION
    return out


FAMILY_TOOLS = {"dnf": ("dnf", "yum"), "yum": ("dnf", "yum"), "apt": ("apt-get",)}


def main_for(tool: str, argv: list[str]) -> int:
    profile = load_profile()
    family = str((profile.get("os") or {}).get("family") or "")
    if tool not in FAMILY_TOOLS.get(family, ()):
        raise Failed(f"{tool}: not this server's package manager (its OS family: {family})")
    names = _names(tool, argv)
    installed = _state()
    lines = (apt_lines if tool == "apt-get" else dnf_lines)(profile, names, installed)
    _record(installed)
    print("\n".join(lines))
    return 0


def dnf(argv: list[str]) -> int:
    return main_for("dnf", argv)


def yum(argv: list[str]) -> int:
    return main_for("yum", argv)


def apt_get(argv: list[str]) -> int:
    return main_for("apt-get", argv)
