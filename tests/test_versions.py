"""The one version comparator (wanka/versions.py), table-driven, through every entry point that
decides whether a firmware fits a driver: the package, the SW-FIRMWARE-RANGE rule (wanka
validate), the lab's emulated npu-smi (its Compatibility) and the Ansible module wanka_node's
firmware check (wanka verify), the last both in process and through a real `ansible` run that
ships the comparator as module_utils. Every entry point must give each row's answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ansible_module
import pytest
from conftest import ROOT

from wanka import versions
from wanka.lab.tools import server as lab_tools
from wanka.pipeline import check

IN, OUT, BAD = "inside", "outside", "not a version"

# (firmware, range min, range max, answer, why). Version strings are the ones Huawei prints
# (reference/ascend/ascend_01, _02, _15): firmware 7.3.0.1.231, driver 24.1.rc3, CANN 8.0.RC2.
RANGES = [
    ("7.3.0.1.100", "7.0.0", "7.3.0", IN, "a build of release 7.3.0: a bound covers its builds"),
    ("7.3.0.1.231", "7.0.0", "7.2.99", OUT, "7.3 firmware under a 7.2.99 driver (the outage)"),
    ("7.5.0.1.129", "7.0.0", "7.5.99", IN, "the pairing of driver 24.1.rc3"),
    ("7.1.0.11.220", "7.0.0", "7.2.99", IN, "the pairing of driver 24.1.rc1"),
    ("7.2.99.5.1", "7.0.0", "7.2.99", IN, "a build of the top release"),
    ("6.4.0.4.220", "7.0.0", "7.2.99", OUT, "older than the range"),
    ("7.0.0", "7.0.0", "7.2.99", IN, "equal to min"),
    ("7.2.99", "7.0.0", "7.2.99", IN, "equal to max"),
    ("7.3.0", "7.0.0", "7.2.99", OUT, "one release above max"),
    ("7.3.1.0.1", "7.0.0", "7.3.0", OUT, "a build of the next release"),
    ("7.3", "7.0.0", "7.3.0", IN, "fewer components: 7.3 is 7.3.0"),
    ("7", "7.0.0", "7.3.0", IN, "fewer components: 7 is 7.0.0"),
    ("7.3.9.1.1", "7.0", "7.3", IN, "a two-part bound covers its whole line"),
    ("7.4.0", "7.0", "7.3", OUT, "above a two-part bound"),
    ("7.0", "7.0.0.5", "7.3.0", OUT, "a bound with more components: 7.0 is 7.0.0.0 < 7.0.0.5"),
    ("7.0.0.5.242", "7.0.0.5", "7.3.0", IN, "a build of a four-part min"),
    ("7.0.0.4.999", "7.0.0.5", "7.3.0", OUT, "below a four-part min"),
    ("7.10.0", "7.2.0", "7.9.99", OUT, "numbers compare as numbers, not text"),
    ("8.0.RC2", "8.0.RC1", "8.0.0", IN, "a release candidate before its release"),
    ("8.0.RC2", "8.0.0", "8.1.RC1", OUT, "8.0.RC2 comes before 8.0.0"),
    ("8.0.0", "8.0.RC1", "8.0.RC3", OUT, "8.0.0 comes after 8.0.RC3"),
    ("24.1.RC3", "24.1.rc3", "24.1.rc3", IN, "case is ignored in tags"),
    ("24.1.rc3", "24.1.RC3", "24.1.RC3", IN, "case is ignored in bounds"),
    ("24.1.rc3.3", "24.1.rc3", "24.1.rc3", IN, "a patch of rc3 (npu-smi 24.1.rc3.3)"),
    ("24.1.rc10", "24.1.rc1", "24.1.rc9", OUT, "tag numbers compare as numbers"),
    ("24.1.rc2.2", "24.1.rc3", "24.1.0", OUT, "a patch of rc2 is below rc3"),
    ("25.0.rc1.1", "24.1", "25.0.", IN, "a trailing dot (compatible_version_drv=[25.0,25.0.])"),
    ("7.7.T20.0.B210", "7.0.0", "7.7.99", IN, "an inner test build of 7.7"),
    ("7.7.T20.0.B210", "7.7.0", "7.7.99", OUT, "a test build comes before 7.7.0"),
    ("7.3.x", "7.0.0", "7.3.0", BAD, "a component that is neither number nor tag"),
    ("7..3", "7.0.0", "7.3.0", BAD, "an empty component"),
    ("7.3.0-1", "7.0.0", "7.3.0", BAD, "a dash"),
    ("V100R001C15", "7.0.0", "7.3.0", BAD, "an Innerversion, not a version"),
    ("7.3.0", "abc", "7.3.0", BAD, "a bad min"),
    ("7.3.0", "7.0.0", "7.3.y", BAD, "a bad max"),
]

# (a, b, a compared with b): the order the ranges rest on
ORDER = [
    ("8.0.RC2", "8.0.0", -1),
    ("8.0.RC3", "8.0.RC2", 1),
    ("8.0.0", "8.1.RC1", -1),
    ("24.1.rc3", "24.1.0", -1),
    ("24.1.RC3", "24.1.rc3", 0),
    ("7.3.0.1.231", "7.3.0.1.231", 0),
    ("7.3", "7.3.0", 0),
    ("7.3", "7.3.0.1", -1),
    ("7.3.0.1.231", "7.3.0", 1),
    ("7.10", "7.9", 1),
    ("24.1.rc2.2", "24.1.rc3", -1),
    ("8.0.RC1.alpha002", "8.0.RC1", -1),  # an alpha of RC1 (ascend_02 (A)) comes before it
]

# (min, max, empty): a range is empty when min is above max at max's precision
EMPTY = [
    ("7.5.99", "7.0.0", True),
    ("7.3.0.1.100", "7.3.0", False),  # min is a build of release max
    ("7.3.1", "7.3.0", True),
    ("8.0.0", "8.0.RC3", True),
    ("7.0.0", "7.0.0", False),
]

GARBAGE = ["", "   ", ".", "7..3", ".7", "7.x", "rc", "7.3.0-1", "7_3", "V100R001C15", "7.3.0 beta"]


def _id(row: tuple[Any, ...]) -> str:
    return f"{row[0]}-in-[{row[1]},{row[2]}]"


# ---- the package ------------------------------------------------------------------------------


@pytest.mark.parametrize("row", RANGES, ids=map(_id, RANGES))
def test_package(row: tuple[str, str, str, str, str]) -> None:
    fw, lo, hi, answer, why = row
    if answer == BAD:
        with pytest.raises(versions.VersionError, match="is not a version"):
            versions.in_range(fw, lo, hi)
    else:
        assert versions.in_range(fw, lo, hi) is (answer == IN), why


@pytest.mark.parametrize(("a", "b", "sign"), ORDER)
def test_order(a: str, b: str, sign: int) -> None:
    assert versions.compare(a, b) == sign
    assert versions.compare(b, a) == -sign


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_is_an_error_that_names_it(text: str) -> None:
    with pytest.raises(versions.VersionError) as e:
        versions.parse(text)
    assert str(e.value).startswith(f"{text!r} is not a version: ")


def test_open_bounds_and_non_strings() -> None:
    assert versions.in_range("7.3.0", None, "7.3.0") and versions.in_range("7.3.0", "7.0.0", "")
    assert not versions.in_range("6.0", "7.0.0", None)
    with pytest.raises(versions.VersionError, match="'7.x' is not a version"):
        versions.in_range("7.x", None, None)  # open bounds do not hide a bad version
    with pytest.raises(versions.VersionError, match="7.5 is not a version: not a string"):
        versions.parse(7.5)


# ---- the rule: wanka validate -----------------------------------------------------------------


def _cluster(tmp_path: Path, fw: str, lo: str, hi: str) -> Path:
    text = (ROOT / "examples/lab-mini/cluster.yaml").read_text(encoding="utf-8")
    rng = f'firmware_range: {{min: "{lo}", max: "{hi}"}}'  # quoted: YAML reads 7.3 as a number
    for old, new in (
        ("firmware_range: {min: 7.0.0, max: 7.5.99}", rng),
        ("        version: 7.5.0.1.129\n", f'        version: "{fw}"\n'),
    ):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "cluster.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("row", RANGES, ids=map(_id, RANGES))
def test_rule(row: tuple[str, str, str, str, str], tmp_path: Path) -> None:
    fw, lo, hi, answer, why = row
    found = [f for f in check(str(_cluster(tmp_path, fw, lo, hi))).errors]
    if answer == IN:
        assert found == [], why
        return
    assert [f.rule for f in found] == ["SW-FIRMWARE-RANGE"], [str(f.message) for f in found]
    if answer == OUT:
        assert found[0].message.startswith(f"firmware {fw} is outside the driver "), why
    else:
        assert "is not a version" in found[0].message and found[0].hint
    assert found[0].mark is not None


@pytest.mark.parametrize(("lo", "hi", "empty"), EMPTY)
def test_rule_empty_range(lo: str, hi: str, empty: bool, tmp_path: Path) -> None:
    found = check(str(_cluster(tmp_path, lo, lo, hi))).errors  # the firmware is min itself
    assert [f.message for f in found] == (
        [f"the driver's firmware range [{lo}, {hi}] is empty"] if empty else []
    )
    assert versions.above(lo, hi) is empty


# ---- the lab: npu-smi info -t board's Compatibility -------------------------------------------


@pytest.mark.parametrize("row", RANGES, ids=map(_id, RANGES))
def test_lab_tool(row: tuple[str, str, str, str, str]) -> None:
    fw, lo, hi, answer, why = row
    # a version the emulated card cannot compare is NOK (never a traceback in npu-smi)
    assert lab_tools.firmware_compatible(fw, (lo, hi)) is (answer == IN), why


# ---- the Ansible module: wanka verify's firmware check ----------------------------------------


class _Board:
    """`npu-smi info -t board -i N` of one card, in the real tool's format (reference/ascend/
    ascend_03_npu_smi_board_info.txt (A)), reporting the given firmware."""

    def __init__(self, fw: str) -> None:
        self.fw = fw

    def run(self, argv: list[str], timeout: int = 60) -> tuple[int, str, str]:
        assert argv[:4] == ["npu-smi", "info", "-t", "board"], argv
        return 0, _board_text(argv[5], self.fw), ""


def _board_text(npu: str, fw: str) -> str:
    rows = [("NPU ID", npu), ("Software Version", "24.1.rc3"), ("Firmware Version", fw),
            ("Compatibility", "OK"), ("PCI Device ID", "0xD802")]  # fmt: skip
    return "".join(f"\t{k:<30} : {v}\n" for k, v in rows)


@pytest.mark.parametrize("row", RANGES, ids=map(_id, RANGES))
def test_ansible_module(
    row: tuple[str, str, str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fw, lo, hi, answer, why = row
    mod = ansible_module.load("wanka_node")
    drv = tmp_path / "version.info"  # the installed driver's range, as the driver writes it
    drv.write_text(f"Version=24.1.rc3\ncompatible_version_fw=[{lo},{hi}]\n", encoding="utf-8")
    for whose, expect, info in (
        ("the model's", {"npu": {"cards": 1}, "firmware_range": [lo, hi]}, tmp_path / "none"),
        ("the installed driver's", {"npu": {"cards": 1}}, drv),
    ):
        monkeypatch.setattr(ansible_module.util("wanka_node_checks"), "DRIVER_INFO", str(info))
        (res,) = mod.check_npus(_Board(fw), expect, {"firmware"})
        assert (res["check"], res["port"], res["value"]) == ("firmware", "npu0", fw)
        assert res["status"] == ("pass" if answer == IN else "fail"), (whose, why, res)
        if answer == OUT:
            assert res["reason"] == f"firmware {fw} outside {whose} range [{lo}, {hi}]"
        elif answer == BAD:
            assert res["reason"].startswith(f"cannot check firmware against {whose} range")
            assert "is not a version" in res["reason"]


def test_module_utils_is_the_package_comparator() -> None:
    """One source: what Ansible ships to the hosts is wanka/versions.py (a link, in the wheel a
    copy made from it)."""
    shipped = ROOT / "playbooks/module_utils/wanka_version.py"
    assert shipped.read_bytes() == (ROOT / "wanka/versions.py").read_bytes()
    assert "module_utils = playbooks/module_utils" in (ROOT / "ansible.cfg").read_text("utf-8")


@pytest.mark.parametrize(("fw", "status"), [("7.3.0.1.100", "SUCCESS"), ("7.3.1.0.1", "FAILED!")])
def test_a_real_ansible_run_ships_the_comparator(fw: str, status: str, tmp_path: Path) -> None:
    """ansible (from the checkout, its ansible.cfg) bundles module_utils/wanka_version.py into
    wanka_node's AnsiballZ payload; the card's npu-smi is a script printing the board view."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    npu_smi = bindir / "npu-smi"
    npu_smi.write_text(
        f"#!{sys.executable}\nimport sys\nsys.stdout.write({_board_text('0', fw)!r})\n",
        encoding="utf-8",
    )
    npu_smi.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
               ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False")  # fmt: skip
    args = ('{"action": "check", "checks": ["firmware"], '
            '"expect": {"npu": {"cards": 1}, "firmware_range": ["7.0.0", "7.3.0"]}}')  # fmt: skip
    p = subprocess.run(
        [str(Path(sys.executable).with_name("ansible")), "localhost", "-c", "local",
         "-m", "wanka_node", "-a", args],  # fmt: skip
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert f"localhost | {status} =>" in p.stdout, p.stdout + p.stderr
    assert "Traceback" not in p.stdout + p.stderr


REF = Path(os.environ.get("WANKA_REFERENCE", "/work/shared/reference")) / "ascend"


def test_ranges_read_as_the_real_version_info_writes_them() -> None:
    """parse_range (what wanka_node and the lab's npu-smi read the driver's range with) on the
    compatible_version lines of real version.info captures (ascend_01, Huawei's guides)."""
    text = (REF / "ascend_01_driver_firmware_version_info.txt").read_text(encoding="utf-8")
    values = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        if key in ("compatible_version_fw", "compatible_version_drv"):
            values.setdefault(key, []).append(value)
    read = [versions.parse_range(v) for v in values["compatible_version_fw"]]
    assert read[:3] == [("7.0.0", "7.2.99"), ("7.0.0", "7.5.99"), ("7.0.0", "7.6.99")]
    assert len(read) > 3 and all(r is not None for r in read)
    for lo, hi in (r for r in read if r is not None):  # every bound is a version
        versions.parse(lo), versions.parse(hi)
    # several ranges: the first; a trailing dot kept as written (in_range reads it)
    assert versions.parse_range(values["compatible_version_drv"][0]) == ("23.0.rc3", "23.0.rc3.")
    assert versions.in_range("7.2.99.1.100", *versions.parse_range("[7.0.0,7.2.99]") or ("", ""))


@pytest.mark.parametrize("text", ["", "7.0.0,7.2.99", "[7.0.0]", "[,7.2.99]", None, 7])
def test_a_range_that_is_not_one_reads_as_none(text: object) -> None:
    assert versions.parse_range(text) is None
