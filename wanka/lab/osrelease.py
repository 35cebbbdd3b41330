"""The /etc/os-release a lab server presents: the OS its type runs (its `os`, else
software.os), in the form the real distributions write (reference os/os_01: openEuler 22.03
LTS GA and SP1-SP4, Kylin Linux Advanced Server V10 Tercel/Sword/Lance/Halberd; Ubuntu 22.04
as base-files writes it, tests/captures/os/os_release_ubuntu_22.04.txt). An OS with no
captured form gets None: the server keeps this machine's file, and preflight's `os` check
says so."""

from __future__ import annotations

import re

KYLIN_CODENAMES = ("Tercel", "Sword", "Lance", "Halberd")
# the service pack each codename is (reference os/os_01: SP1 Tercel, SP2 Sword, SP3 Lance)
KYLIN_SERVICE_PACKS = {"sp1": "Tercel", "sp2": "Sword", "sp3": "Lance"}


def _lines(fields: list[tuple[str, str]]) -> str:
    return "".join(f'{k}="{v}"\n' for k, v in fields)


def _ubuntu(version: str) -> str:
    """Ubuntu 22.04's file: some values unquoted, as base-files writes them."""
    point = version.split()[0]  # 22.04 or a point release, 22.04.2
    return (
        _lines([("PRETTY_NAME", f"Ubuntu {point} LTS"), ("NAME", "Ubuntu")])
        + _lines([("VERSION_ID", "22.04"), ("VERSION", f"{point} LTS (Jammy Jellyfish)")])
        + "VERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\n"
        + _lines([("HOME_URL", "https://www.ubuntu.com/")])
        + _lines([("SUPPORT_URL", "https://help.ubuntu.com/")])
        + _lines([("BUG_REPORT_URL", "https://bugs.launchpad.net/ubuntu/")])
        + _lines(
            [
                (
                    "PRIVACY_POLICY_URL",
                    "https://www.ubuntu.com/legal/terms-and-policies/privacy-policy",
                )
            ]
        )
        + "UBUNTU_CODENAME=jammy\n"
    )


def os_release(name: str | None, version: str | None) -> str | None:
    """The file of OS `name` `version` (`openEuler`, `22.03 LTS SP4`), or None."""
    if not name or not version:
        return None
    words = version.split()
    if name.lower() == "openeuler" and words and words[0] == "22.03":
        sp = next((w.upper() for w in words if re.fullmatch(r"(?i)sp\d+", w)), None)
        pretty = f"22.03 (LTS-{sp})" if sp else "22.03 LTS"
        return _lines(
            [("NAME", "openEuler"), ("VERSION", pretty), ("ID", "openEuler")]
            + [("VERSION_ID", "22.03"), ("PRETTY_NAME", f"openEuler {pretty}")]
            + [("ANSI_COLOR", "0;31")]
        )
    if name.lower() == "ubuntu" and words and words[0].startswith("22.04"):
        return _ubuntu(version)
    if name.lower().startswith("kylin") and words and words[0].upper() == "V10":
        named = [c for c in KYLIN_CODENAMES if c.lower() in version.lower()]
        packs = [KYLIN_SERVICE_PACKS[w.lower()] for w in words if w.lower() in KYLIN_SERVICE_PACKS]
        code = (named or packs or ["Tercel"])[0]
        full = "Kylin Linux Advanced Server"
        return _lines(
            [("NAME", full), ("VERSION", f"V10 ({code})"), ("ID", "kylin")]
            + [("VERSION_ID", "V10"), ("PRETTY_NAME", f"{full} V10 ({code})")]
            + [("ANSI_COLOR", "0;31")]
        )
    return None
