"""OSes per server type (software.os, software.oses, a type's `os`) and their families: what
the model derives (the inventory's wanka_os, preflight's expect.os, the lab profile), and the
lab's emulated os-release and package managers against real captured output
(tests/captures/os/, each with its source)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import ansible_module
import pytest
from conftest import ROOT

from wanka.bringup.expect import expectations
from wanka.lab.osrelease import os_release
from wanka.lab.profile import node_profile
from wanka.lab.tools import dispatch
from wanka.pipeline import check, derive
from wanka.render.inventory import node_vars

NODE = ansible_module.load("wanka_node")
CHECKS = ansible_module.util("wanka_node_checks")
CAPTURES = Path(__file__).resolve().parent / "captures" / "os"
MIXED = ROOT / "tests/examples/positive/lab-mixed-os.yaml"
EULER, KYLIN, UBUNTU = (f"lab-p1-pod01-r01-s0{i}" for i in (1, 2, 3))


def capture(name: str) -> str:
    head, _, body = (CAPTURES / name).read_text(encoding="utf-8").partition("\n")
    assert head.startswith("# source: "), f"{name}: no source line"
    return body


def sections(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = ""
    for line in capture(name).splitlines():
        m = re.fullmatch(r"=== (.+) ===", line)
        if m:
            current = m.group(1)
            out[current] = []
        elif current:
            out[current].append(line)
    return out


@pytest.fixture(scope="module")
def mixed() -> Any:
    return derive(check(str(MIXED)))


def test_each_type_runs_its_os_with_its_family(mixed: Any) -> None:
    want = {
        EULER: {"name": "openEuler", "version": "22.03 LTS SP4", "family": "dnf"}
        | {"distribution": "openeuler"},
        KYLIN: {"name": "Kylin", "version": "V10 SP3", "family": "dnf", "distribution": "kylin"},
        UBUNTU: {"name": "Ubuntu", "version": "22.04", "family": "apt", "distribution": "ubuntu"},
    }
    expect = expectations(mixed, list(mixed.cluster.nodes), [])
    for name, os_ in want.items():
        node = mixed.cluster.node(name)
        assert node_vars(mixed, node)["wanka_os"] == os_
        assert expect[name]["os"] == os_
        assert node_profile(mixed, node)["os"] == os_


def test_a_cluster_of_one_os_keeps_software_os_for_every_server() -> None:
    d = derive(check(str(ROOT / "examples/lab-mini/cluster.yaml")))
    oses = {json.dumps(node_vars(d, n).get("wanka_os"), sort_keys=True) for n in d.cluster.nodes}
    one = {"distribution": "openeuler", "family": "dnf", "name": "openEuler"}
    assert oses == {json.dumps(one | {"version": "22.03 LTS SP4"})}


def test_lab_ubuntu_os_release_is_the_captured_file() -> None:
    assert os_release("Ubuntu", "22.04.2") == capture("os_release_ubuntu_22.04.txt")
    plain = os_release("Ubuntu", "22.04") or ""
    assert 'PRETTY_NAME="Ubuntu 22.04 LTS"' in plain and "UBUNTU_CODENAME=jammy" in plain


@pytest.mark.parametrize(
    ("want", "ok"),
    [
        (("Ubuntu", "22.04"), True),
        (("openEuler", "22.03 LTS"), False),
        (("Ubuntu", "20.04"), False),
    ],
)
def test_preflight_reads_ubuntu_from_the_real_os_release(want: tuple[str, str], ok: bool) -> None:
    info = CHECKS.os_release(capture("os_release_ubuntu_22.04.txt"))
    problem = CHECKS.os_problem(info, {"name": want[0], "version": want[1]})
    assert (problem is None) == ok, problem


# ---- the emulated package managers against the captures ----------------------------------

# the shape of each line that varies with the package (every one matches a capture line)
DNF_SHAPES = [
    r"Last metadata expiration check: \d+:\d\d:\d\d ago on .+\.",
    r"=+",
    r" Package +Architecture +Version +Repository +Size",
    r" \S+ +(aarch64|x86_64|noarch) +\S+ +\S+ +[\d.]+( k)?",
    r"Install  \d+ Packages?",
    r"  Preparing +: +1/1 ",
    r"  (Installing|Verifying) +: \S+ +\d+/\d+ ",
]
APT_SHAPES = [
    r"  \S+( \S+)*",
    r"\d+ upgraded, \d+ newly installed, 0 to remove and \d+ not upgraded\.",
    r"Selecting previously unselected package \S+\.",
    r"\(Reading database \.\.\. \d+ files and directories currently installed\.\)",
    r"Preparing to unpack \.\.\./\d\d-\S+_\S+_\S+\.deb \.\.\.",
    r"(Unpacking|Setting up) \S+ \(\S+\) \.\.\.",
    r"\S+ is already the newest version \(\S+\)\.",
]


def conforms(
    lines: list[str], capture_sections: dict[str, list[str]], case: str, shapes: list[str]
) -> None:
    """Each emitted line is a line of the capture's `case`, or of a shape some captured line
    has; the fixed lines come in the capture's order."""
    whole = [x for lines_ in capture_sections.values() for x in lines_]
    section = capture_sections[case]
    for shape in shapes:
        assert any(re.fullmatch(shape, c) for c in whole), f"no capture line is {shape!r}"
    fixed = [x for x in lines if x and not any(re.fullmatch(s, x) for s in shapes)]
    missing = [x for x in fixed if x not in section]
    assert not missing, f"not in the capture ({case}): {missing}"
    at = [section.index(x) for x in fixed]
    assert at == sorted(at), f"not in the capture's order: {fixed}"


def lab_server(tmp: Path, monkeypatch: pytest.MonkeyPatch, profile: dict[str, Any]) -> None:
    (tmp / "profile.json").write_text(json.dumps(profile))
    monkeypatch.setenv("WANKA_LAB_PROFILE", str(tmp / "profile.json"))
    monkeypatch.setenv("WANKA_LAB_STATE", str(tmp / "state"))


def run(capsys: pytest.CaptureFixture[str], tool: str, *args: str) -> tuple[int, list[str]]:
    rc = dispatch.run(tool, list(args))
    return rc, capsys.readouterr().out.splitlines()


def test_lab_dnf_prints_the_real_transaction_and_records_it(
    mixed: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lab_server(tmp_path, monkeypatch, node_profile(mixed, mixed.cluster.node(KYLIN)))
    cap = sections("dnf_install.txt")
    rc, new = run(capsys, "dnf", "install", "-y", "chrony", "gcc")
    assert rc == 0
    conforms(new, cap, "install, something new", DNF_SHAPES)
    assert new[-1] == "Complete!" and "Install  2 Packages" in new
    assert any(re.fullmatch(r"  Installing +: chrony-1\.0-1\.ky10\.x86_64 +1/2 ", x) for x in new)
    recorded = json.loads((tmp_path / "state/packages.json").read_text())
    assert recorded == {"chrony": "1.0-1.ky10.x86_64", "gcc": "1.0-1.ky10.x86_64"}
    rc, again = run(capsys, "yum", "install", "-y", "gcc")  # Kylin's yum is dnf
    assert rc == 0
    conforms(again, cap, "install, all there already", DNF_SHAPES)
    assert again[1:] == ["Dependencies resolved.", "Nothing to do.", "Complete!"]
    assert dispatch.run("apt-get", ["install", "-y", "gcc"]) == 1  # not this family's


def test_lab_apt_get_prints_the_real_messages_and_records_them(
    mixed: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lab_server(tmp_path, monkeypatch, node_profile(mixed, mixed.cluster.node(UBUNTU)))
    cap = sections("apt_get_install.txt")
    rc, new = run(capsys, "apt-get", "install", "-y", "chrony", "dkms")
    assert rc == 0
    conforms(new, cap, "install, something new", APT_SHAPES)
    assert "0 upgraded, 2 newly installed, 0 to remove and 0 not upgraded." in new
    assert "Preparing to unpack .../00-chrony_1.0-1_arm64.deb ..." in new
    assert new[-1] == "Setting up dkms (1.0-1) ..."
    rc, again = run(capsys, "apt-get", "install", "-y", "dkms")
    conforms(again, cap, "install, all there already", APT_SHAPES)
    assert again[3:] == [
        "dkms is already the newest version (1.0-1).",
        "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.",
    ]
    assert dispatch.run("dnf", ["install", "-y", "gcc"]) == 1


def test_lab_package_managers_refuse_what_they_do_not_know(
    mixed: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lab_server(tmp_path, monkeypatch, node_profile(mixed, mixed.cluster.node(EULER)))
    assert dispatch.run("dnf", ["remove", "-y", "gcc"]) == 2
    assert dispatch.run("dnf", ["install", "gcc"]) == 1  # no -y: no terminal to answer
    assert not (tmp_path / "state/packages.json").exists()


def test_lab_kylin_names_the_codename_of_its_service_pack() -> None:
    """Kylin V10 SP1 is Tercel, SP2 Sword, SP3 Lance (reference os/os_01's pastes)."""
    for version, code in (("V10 SP1", "Tercel"), ("V10 SP2", "Sword"), ("V10 SP3", "Lance")):
        text = os_release("Kylin", version) or ""
        assert f'VERSION="V10 ({code})"' in text, (version, text)
        want = {"name": "Kylin", "version": version}
        assert CHECKS.os_problem(CHECKS.os_release(text), want) is None
