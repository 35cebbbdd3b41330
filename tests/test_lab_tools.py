"""The lab's emulated device tools print what the real ones print.

Golden-free: the real captures in /work/shared/reference/ascend and the emulated output go
through the same small parsers (rows split on `|`, as the reference advises) and must have
the same structure, with the values of the server's hardware profile. hccn_tool is also
run inside real network namespaces (a veth pair named like the lab's cables).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wanka.lab.profile import node_profile
from wanka.lab.tools import dispatch, port, server
from wanka.pipeline import open_cluster

ROOT = Path(__file__).resolve().parent.parent
REF = Path(os.environ.get("WANKA_REFERENCE", "/work/shared/reference")) / "ascend"
A2_REF = REF / "npu_smi_info_910B4_8card.txt"
A3_REF = REF / "npu_smi_info_910C_A3_16die.txt"
TOPO_REF = REF / "npu_smi_info_t_topo.txt"
BUNDLE_REF = REF / "npu_info_before_910A_mindcluster.txt"

needs_ref = pytest.mark.skipif(not A2_REF.is_file(), reason="reference captures not available")


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def a2_derived() -> Any:
    return open_cluster(str(ROOT / "examples/lab-mini/cluster.yaml"))


@pytest.fixture(scope="module")
def a2_profile(a2_derived: Any) -> dict[str, Any]:
    node = next(n for n in a2_derived.cluster.nodes if n.model.accelerator is not None)
    return node_profile(a2_derived, node)


@pytest.fixture(scope="module")
def a3_derived() -> Any:
    return open_cluster(str(ROOT / "examples/shenzhen-14000p/cluster.yaml"))


@pytest.fixture(scope="module")
def a3_profile(a3_derived: Any) -> dict[str, Any]:
    node = next(n for n in a3_derived.cluster.nodes if n.model.accelerator is not None)
    return node_profile(a3_derived, node)


@pytest.fixture
def lab_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANKA_LAB_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("WANKA_LAB_ROOT", str(tmp_path / "root"))
    return tmp_path


def use(profile: dict[str, Any], env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = env / f"profile-{profile['node']}.json"
    path.write_text(json.dumps(profile), encoding="utf-8")
    monkeypatch.setenv("WANKA_LAB_PROFILE", str(path))
    return path


def tool(capsys: pytest.CaptureFixture[str], name: str, *args: str) -> tuple[int, str]:
    rc = dispatch.run(name, list(args))
    out = capsys.readouterr()
    return rc, out.out + out.err


# ----------------------------------------------------------------------------- parsers


def shape(line: str) -> tuple[object, ...]:
    """The structure of one npu-smi table line: separators by fill and column widths,
    rows by their number of `|` cells."""
    if line.startswith("+"):
        segments = line.strip("+").split("+")
        return ("sep", segments[0][0], tuple(len(s) for s in segments))
    if line.startswith("|"):
        return ("row", len(line.strip("|").split("|")))
    return ("text",)


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def npu_table(text: str) -> dict[str, Any]:
    """Header lines, and per NPU the lines of its block (up to the process table)."""
    lines = text.rstrip("\n").splitlines()
    proc = next(i for i, ln in enumerate(lines) if "Process id" in ln)
    body = lines[6 : proc - 1]  # after the header, before the process table's top line
    blocks: list[list[str]] = [[]]
    for ln in body:
        blocks[-1].append(ln)
        if ln.startswith("+=") and ln is not body[-1]:
            blocks.append([])
    return {"header": lines[:6], "blocks": blocks, "process": lines[proc - 1 :]}


def kv(text: str) -> dict[str, str]:
    """`\tKey   : value` lines of the npu-smi detail views."""
    out = {}
    for ln in text.splitlines():
        if ln.startswith("\t") and ":" in ln:
            k, _, v = ln.strip().partition(":")
            out[k.strip()] = v.strip()
    return out


def bundle_section(command: str) -> str:
    """The output of one command in the support bundle capture."""
    text = BUNDLE_REF.read_text(encoding="utf-8")
    start = text.index(command + "\n") + len(command) + 1
    end = text.find("\n/usr/", start)
    nxt = text.find("\nlspci", start)
    ends = [e for e in (end, nxt) if e >= 0]
    return text[start : min(ends) if ends else len(text)]


# ----------------------------------------------------------------------------- npu-smi info


def block_values(block: list[str], a3: bool) -> list[dict[str, str]]:
    rows = [ln for ln in block if ln.startswith("|")]
    out = []
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        c1, c2 = cells(first), cells(second)
        npu, name = c1[0].split(None, 1)
        chip = c2[0].split()
        hbm = c2[2].split()[-1]
        out.append(
            {
                "npu": npu,
                "name": name,
                "health": c1[1],
                "power": c1[2].split()[0],
                "chip": chip[0],
                "phy": chip[1] if a3 else chip[0],
                "bus": c2[1],
                "hbm_total": hbm,
            }
        )
    return out


@needs_ref
@pytest.mark.parametrize("gen", ["A2", "A3"])
def test_npu_smi_info_has_the_real_structure(
    gen: str,
    a2_profile: dict[str, Any],
    a3_profile: dict[str, Any],
    lab_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = a2_profile if gen == "A2" else a3_profile
    ref = npu_table((A2_REF if gen == "A2" else A3_REF).read_text(encoding="utf-8"))
    use(profile, lab_env, monkeypatch)
    rc, text = tool(capsys, "npu-smi", "info")
    assert rc == 0
    emu = npu_table(text)
    # the header: same separators, same column titles; the version line names the driver
    assert [shape(x) for x in emu["header"]] == [shape(x) for x in ref["header"]]
    for e, r in zip(emu["header"][3:5], ref["header"][3:5], strict=True):
        assert cells(e) == cells(r)
    assert f"Version: {profile['software']['driver_version']}" in emu["header"][1]
    # one block per NPU, each shaped like the reference's (A3: two dies, `+---` between)
    assert len(emu["blocks"]) == profile["cards"] == len(ref["blocks"])
    ref_shape = [shape(x) for x in ref["blocks"][0]]
    a3 = gen == "A3"
    assert ref_shape.count(("row", 3)) == 2 * profile["dies"]
    for block in emu["blocks"]:
        assert [shape(x) for x in block] == ref_shape
    # values: the profile's; the reference's rows parse the same way
    ref_rows = [v for b in ref["blocks"] for v in block_values(b, a3)]
    rows = [v for b in emu["blocks"] for v in block_values(b, a3)]
    assert len(rows) == len(ref_rows) == len(profile["devices"])
    for row, dev in zip(rows, profile["devices"], strict=True):
        assert row["npu"] == str(dev["card"])
        assert row["name"] == profile["chip_name"]
        assert row["health"] == "OK"
        assert row["chip"] == str(dev["chip"])
        assert row["phy"] == str(dev["phy_id"] if a3 else dev["chip"])
        assert row["bus"] == dev["bus_id"]
        assert row["hbm_total"] == str(dev["hbm_mb"])
        assert (row["power"] == "-") == (dev["chip"] == 1)
    for ref_row in ref_rows:
        assert (ref_row["power"] == "-") == (a3 and ref_row["chip"] == "1")
    # the process table: same head, one `No running processes` row per NPU
    assert [shape(x) for x in emu["process"][:3]] == [shape(x) for x in ref["process"][:3]]
    assert cells(emu["process"][1]) == cells(ref["process"][1])
    idle = [ln for ln in emu["process"] if "No running processes" in ln]
    assert len(idle) == profile["cards"]
    ref_idle = next(ln for ln in ref["process"] if "No running processes" in ln)
    assert shape(idle[0]) == shape(ref_idle) and len(idle[0]) == len(ref_idle)


def test_hbm_is_split_per_die(a2_profile: dict[str, Any], a3_profile: dict[str, Any]) -> None:
    assert {d["hbm_mb"] for d in a2_profile["devices"]} == {64 * 1024}
    assert {d["hbm_mb"] for d in a3_profile["devices"]} == {128 * 1024 // 2}
    assert len(a3_profile["devices"]) == 16 and a3_profile["pci_device_id"] == "0xD803"
    assert a3_profile["devices"][5]["card"] == 2 and a3_profile["devices"][5]["chip"] == 1
    assert a3_profile["devices"][5]["ifname"] == a3_profile["devices"][4]["ifname"] == "param2"


def test_health_fault_shows(
    a3_derived: Any, lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    node = next(n for n in a3_derived.cluster.nodes if n.model.accelerator is not None)
    profile = node_profile(a3_derived, node, {"npu_health": {3: "Alarm"}})
    use(profile, lab_env, monkeypatch)
    _, text = tool(capsys, "npu-smi", "info")
    rows = [v for b in npu_table(text)["blocks"] for v in block_values(b, True)]
    bad = [(r["npu"], r["chip"]) for r in rows if r["health"] != "OK"]
    assert bad == [("1", "1")]  # device 3 = die 1 of card 1
    assert rows[3]["health"] == "Alarm"
    rc, text = tool(capsys, "npu-smi", "info", "-i", "1", "-c", "1", "-t", "health")
    assert rc == 0 and kv(text)["Health Status"] == "Alarm"
    assert kv(text)["Error Code"] != "NA"
    _, text = tool(capsys, "npu-smi", "info", "-i", "1", "-c", "0", "-t", "health")
    assert kv(text) == {"Health Status": "OK", "Error Code": "NA", "Error Information": "NA"}


def test_port_speed_and_its_fault(
    a2_derived: Any, lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    node = next(n for n in a2_derived.cluster.nodes if n.model.accelerator is not None)
    want = node.model.nic("param").speed * 1000
    use(node_profile(a2_derived, node), lab_env, monkeypatch)
    # the line Huawei's MindCluster toolkit parses: name, value, unit
    assert tool(capsys, "hccn_tool", "-i", "5", "-speed", "-g") == (0, f"Speed: {want} Mb/s\n")
    use(node_profile(a2_derived, node, {"link_speed": {5: want // 2}}), lab_env, monkeypatch)
    assert tool(capsys, "hccn_tool", "-i", "5", "-speed", "-g")[1] == f"Speed: {want // 2} Mb/s\n"
    assert tool(capsys, "hccn_tool", "-i", "4", "-speed", "-g")[1] == f"Speed: {want} Mb/s\n"


def test_pfc_is_kept_per_port_in_the_real_layout(
    a2_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    use(a2_profile, lab_env, monkeypatch)
    rc, text = tool(capsys, "hccn_tool", "-i", "2", "-pfc", "-g")
    assert rc == 0 and text.splitlines() == [
        "PFC configuration:",
        "priority   0 1 2 3 4 5 6 7",
        "enabled    0 0 0 0 0 0 0 0",
    ]
    assert tool(capsys, "hccn_tool", "-i", "2", "-pfc", "-s", "bitmap", "0,0,0,0,1,0,0,0")[0] == 0
    assert tool(capsys, "hccn_tool", "-i", "2", "-pfc", "-g")[1].splitlines()[2] == (
        "enabled    0 0 0 0 1 0 0 0"
    )
    assert tool(capsys, "hccn_tool", "-i", "3", "-pfc", "-g")[1].splitlines()[2].count("1") == 0
    rc, text = tool(capsys, "hccn_tool", "-i", "2", "-pfc", "-s", "bitmap", "0,0,4")
    assert rc == 2 and "eight 0 or 1" in text


def test_fault_specs_are_checked_before_anything_breaks() -> None:
    from wanka.lab import faults

    f = faults.parse("link-speed:n1:npu3=100000")
    assert (f.kind, f.target, f.npu(), f.value) == ("link-speed", "n1", 3, "100000")
    assert faults.parse("link-speed:n1:npu3").value is None  # default: half the model's
    for spec, says in (
        ("link-speed:n1:npu3=fast", "whole number of Mb/s"),
        ("link-speed:n1", "needs a port"),
        ("nvme-missing:n1=two", "whole number"),
        ("flood:n1", "unknown kind 'flood'"),
    ):
        with pytest.raises(faults.FaultError, match=says):
            faults.parse(spec)


# ----------------------------------------------------------------------------- detail views


@needs_ref
def test_board_and_health_views_have_the_real_keys(
    a2_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    use(a2_profile, lab_env, monkeypatch)
    ref_board = kv(bundle_section("/usr/local/bin/npu-smi info -i 0 -t board"))
    rc, text = tool(capsys, "npu-smi", "info", "-t", "board", "-i", "2")
    board = kv(text)
    assert rc == 0 and set(ref_board) <= set(board)
    assert board["PCI Device ID"] == "0xD802"
    assert board["Serial Number"] == a2_profile["cards_info"][2]["serial"]
    assert board["Software Version"] == a2_profile["software"]["driver_version"]
    assert board["Firmware Version"] == a2_profile["software"]["firmware_version"]
    assert board["Compatibility"] == "OK"
    ref_chip = kv(bundle_section("/usr/local/bin/npu-smi info -i 0 -c 0 -t board"))
    _, text = tool(capsys, "npu-smi", "info", "-t", "board", "-i", "2", "-c", "0")
    chip_keys = set(kv(text))
    assert set(ref_chip) - {"VDie ID", "NDie ID"} <= chip_keys
    ref_health = kv(bundle_section("/usr/local/bin/npu-smi info -i 0 -c 0 -t health"))
    _, text = tool(capsys, "npu-smi", "info", "-i", "2", "-c", "0", "-t", "health")
    assert kv(text) == ref_health  # OK / NA / NA
    # the `\tKey<pad>: value` layout: the colon in the same column as the capture's
    ref_line = bundle_section("/usr/local/bin/npu-smi info -i 0 -c 0 -t health").splitlines()[0]
    assert text.splitlines()[0].index(":") == ref_line.index(":")


def test_list_view(
    a3_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    use(a3_profile, lab_env, monkeypatch)
    rc, text = tool(capsys, "npu-smi", "info", "-l")
    assert rc == 0
    pairs = [tuple(x.strip() for x in ln.split(":")) for ln in text.splitlines() if ":" in ln]
    assert pairs[0] == ("Total Count", "8")
    assert [v for k, v in pairs if k == "NPU ID"] == [str(i) for i in range(8)]
    assert {v for k, v in pairs if k == "Chip Count"} == {"2"}


@needs_ref
def test_map_view(
    a3_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """A3 `-m`: the 910_93 layout of the npu-smi source (reference ascend_07: a Chip Phy-ID
    column, Huawei's faultdiag parser documents the header), the A2 columns otherwise (the
    910A capture: same tab, same 30-wide columns), an Mcu row (chip 2) per card."""
    use(a3_profile, lab_env, monkeypatch)
    _, text = tool(capsys, "npu-smi", "info", "-m")
    ref = bundle_section("/usr/local/bin/npu-smi info -m").strip("\n").splitlines()
    emu = text.strip("\n").splitlines()
    cols = [c for c in emu[0].strip().split("  ") if c.strip()]
    assert [c.strip() for c in cols] == [
        "NPU ID", "Chip ID", "Chip Logic ID", "Chip Phy-ID", "Chip Name"
    ]  # fmt: skip
    assert emu[0][: len(ref[0]) - len("Chip Name")] == ref[0][: -len("Chip Name")]
    assert len(emu) == 1 + 16 + 8
    rows = [ln.split() for ln in emu[1:]]
    assert [r for r in rows if r[-1] == "Mcu"] == [[str(c), "2", "-", "-", "Mcu"] for c in range(8)]
    dies = [r for r in rows if r[-1] != "Mcu"]
    assert dies[3] == ["1", "1", "3", "3", "Ascend910"]
    assert [len(ln) - len(ln.lstrip("\t")) for ln in emu] == [1] * 25
    assert emu[1].index("0", 10) == ref[1].index("0", 10)  # same column offsets


@needs_ref
def test_topo_view(
    a2_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    use(a2_profile, lab_env, monkeypatch)
    _, text = tool(capsys, "npu-smi", "info", "-t", "topo")
    ref = TOPO_REF.read_text(encoding="utf-8").splitlines()
    emu = text.splitlines()
    assert emu[0].split() == ref[0].split()
    assert len(emu) == len(ref)
    for e, r in zip(emu[1:9], ref[1:9], strict=True):
        assert e.split()[:-1] == r.split()[:-1]  # CPU affinity is the model's
        assert len(e.split()) == len(r.split())
    assert emu[9:] == ref[9:]


# ----------------------------------------------------------------------------- nvme


def test_nvme_list(
    a3_derived: Any, lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    node = next(n for n in a3_derived.cluster.nodes if n.model.accelerator is not None)
    full = node_profile(a3_derived, node)
    use(full, lab_env, monkeypatch)
    rc, text = tool(capsys, "nvme", "list")
    lines = text.splitlines()
    assert rc == 0
    assert lines[0].split() == ["Node", "SN", "Model", "Namespace", "Usage", "Format", "FW", "Rev"]
    widths = [len(x) for x in lines[1].split(" ")]
    assert widths == [16, 20, 40, 9, 26, 16, 8]  # nvme-cli's fixed columns
    rows = lines[2:]
    assert len(rows) == 6 == sum(d.count for d in node.model.drives)
    assert rows[0].startswith("/dev/nvme0n1 ") and " 960.00  GB / 960.00  GB " in rows[0]
    assert "  7.68  TB /   7.68  TB    512   B +  0 B " in rows[5]
    _, js = tool(capsys, "nvme", "list", "-o", "json")
    devices = json.loads(js)["Devices"]
    assert [d["DevicePath"] for d in devices] == [r.split()[0] for r in rows]
    assert devices[2]["PhysicalSize"] == 7680 * 10**9
    # a missing drive: the list is shorter
    use(node_profile(a3_derived, node, {"nvme_missing": 2}), lab_env, monkeypatch)
    _, text = tool(capsys, "nvme", "list")
    assert len(text.splitlines()) == len(lines) - 2
    rc, text = tool(capsys, "nvme", "list", "-o", "xml")
    assert rc == 2 and "Invalid output format" in text


# ----------------------------------------------------------------------------- installers


def add_user(root: Path, name: str = "HwHiAiUser") -> None:
    """The driver's user and group, as useradd/groupadd write them under the lab root."""
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    with (etc / "group").open("a", encoding="utf-8") as f:
        f.write(f"{name}:x:1000:\n")
    with (etc / "passwd").open("a", encoding="utf-8") as f:
        f.write(f"{name}:x:1000:1000::/home/{name}:/bin/bash\n")


def test_installers(
    a2_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    use(a2_profile, lab_env, monkeypatch)
    root = lab_env / "root"
    rc, text = tool(capsys, "install", "firmware", "--full")
    assert rc == 1 and "install the driver first" in text
    rc, _ = tool(capsys, "install", "driver", "--upgrade")
    assert rc == 1
    rc, _ = tool(capsys, "install", "driver")
    assert rc == 2  # neither --full nor --upgrade
    sw = a2_profile["software"]
    full = ("install", "driver", "--nox11", "--full", "--quiet", "--package", sw["driver_package"])
    # the driver refuses a missing user, then a missing group (Huawei's messages)
    rc, text = tool(capsys, *full)
    assert rc == 1 and "ERR_NO:0x0091;ERR_DES:HwHiAiUser not exists! Please add HwHiAiUser" in text
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("HwHiAiUser:x:1000:1000::/home/HwHiAiUser:/bin/bash\n")
    rc, text = tool(capsys, *full)
    assert rc == 1 and "HwHiAiUser group not exists! Please add HwHiAiUser group" in text
    (root / "etc/group").write_text("HwHiAiUser:x:1000:\n")
    rc, text = tool(capsys, *full)
    assert rc == 0 and "Reboot needed for installation/upgrade to take effect!" in text
    info = (root / server.DRIVER_INFO).read_text(encoding="utf-8").splitlines()
    assert info == [
        "Version=24.1.rc3",
        "compatible_version_fw=[7.0.0,7.5.99]",
        "package_version=24.1.rc3",
    ]
    assert "UserName=HwHiAiUser" in (root / server.INSTALL_INFO).read_text(encoding="utf-8")
    rc, _ = tool(capsys, "install", "firmware", "--upgrade", "--version", "7.3.0.1.100")
    assert rc == 0
    assert (root / server.FIRMWARE_INFO).read_text(encoding="utf-8") == "Version=7.3.0.1.100\n"
    tool(
        capsys,
        "install",
        "driver",
        "--upgrade",
        "--version",
        "24.0.0",
        "--fw-range",
        "7.0.0,7.2.99",
    )
    board = kv(tool(capsys, "npu-smi", "info", "-t", "board", "-i", "0")[1])
    assert board["Software Version"] == "24.0.0"
    # the cards run the firmware they booted with until the server restarts
    assert board["Firmware Version"] == "7.5.0.1.129" and board["Compatibility"] == "NOK"
    monkeypatch.setenv("WANKA_LAB_BOOT", "after-the-reboot")
    board = kv(tool(capsys, "npu-smi", "info", "-t", "board", "-i", "0")[1])
    # after it, what was flashed; outside the driver's range: NOK
    assert board["Firmware Version"] == "7.3.0.1.100" and board["Compatibility"] == "NOK"


def test_cann_installers_and_firmware_fault(
    a2_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from wanka.lab.profile import apply_faults

    use(a2_profile, lab_env, monkeypatch)
    root = lab_env / "root"
    kernels = "Ascend-cann-kernels-910b_8.0.RC3_linux-aarch64.run"
    rc, text = tool(capsys, "install", "kernels", "--install", "--package", kernels)
    assert rc == 1 and "install nnae or toolkit first" in text
    pkg = "Ascend-cann-toolkit_8.0.RC3_linux-aarch64.run"
    assert tool(capsys, "install", "cann", "--upgrade", "--package", pkg)[0] == 1  # none yet
    rc, text = tool(capsys, "install", "cann", "--install", "--quiet", "--package", pkg)
    assert rc == 0 and "Ascend-cann-toolkit_8.0.RC3 install success" in text
    cfg = (root / server.CANN_INFO).read_text(encoding="utf-8").splitlines()
    assert "toolkit_running_version=[8.0.RC3:8.0.RC3]" in cfg
    assert not any(x.startswith("opp_kernel") for x in cfg)
    assert tool(capsys, "install", "cann", "--install", "--package", pkg)[0] == 1  # installed
    other = "Ascend-cann-kernels-910b_8.0.RC2_linux-aarch64.run"
    rc, text = tool(capsys, "install", "kernels", "--install", "--package", other)
    assert rc == 1 and "do not match the installed toolkit 8.0.RC3" in text
    rc, text = tool(capsys, "install", "kernels", "--install", "--package", kernels)
    assert rc == 0 and "Ascend-cann-kernels-910b_8.0.RC3_linux-aarch64 install success" in text
    assert server.cann_running(server.read_version_cfg()) == dict.fromkeys(
        (*("runtime", "compiler", "hccl", "opp", "toolkit", "aoe", "ncs"), "opp_kernel"), "8.0.RC3"
    )
    # an upgrade keeps one [build:release] per release installed, as the real file does
    rc, _ = tool(capsys, "install", "cann", "--upgrade", "--version", "8.1.RC1")
    installed = server.read_version_cfg()["toolkit_installed_version"]
    assert rc == 0 and [v for _, v in installed] == ["8.0.RC3", "8.1.RC1"]
    assert server.cann_running(server.read_version_cfg())["opp_kernel"] == "8.0.RC3"
    add_user(root)
    assert tool(capsys, "install", "driver", "--full")[0] == 0
    assert tool(capsys, "install", "firmware", "--full")[0] == 0
    board = kv(tool(capsys, "npu-smi", "info", "-t", "board", "-i", "0")[1])
    assert board["Firmware Version"] == "7.5.0.1.129" and board["Compatibility"] == "OK"
    # a flash that did not take: the cards report the fault's version whatever was installed
    use(apply_faults(a2_profile, {"firmware_version": "6.4.0.1.100"}), lab_env, monkeypatch)
    board = kv(tool(capsys, "npu-smi", "info", "-t", "board", "-i", "0")[1])
    assert board["Firmware Version"] == "6.4.0.1.100" and board["Compatibility"] == "NOK"


def test_installers_log_in_order_with_their_boot(
    a2_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """What the lab's upgrade test reads back: each install that succeeded, in order, with
    the boot it ran in; a refused one is not logged."""
    use(a2_profile, lab_env, monkeypatch)
    add_user(lab_env / "root")
    monkeypatch.setenv("WANKA_LAB_BOOT", "b1")
    assert tool(capsys, "install", "firmware", "--full")[0] == 1  # no driver yet: not logged
    assert tool(capsys, "install", "driver", "--full", "--version", "24.1.rc3")[0] == 0
    assert tool(capsys, "install", "firmware", "--full")[0] == 0
    monkeypatch.setenv("WANKA_LAB_BOOT", "b2")
    pkg = "Ascend-cann-toolkit_8.0.RC3_linux-aarch64.run"
    assert tool(capsys, "install", "cann", "--install", "--package", pkg)[0] == 0
    log = (lab_env / "state" / server.INSTALL_LOG).read_text(encoding="utf-8").splitlines()
    assert log == [
        "b1 driver --full 24.1.rc3",
        "b1 firmware --full 7.5.0.1.129",
        "b2 cann --install 8.0.RC3",
    ]


def test_driver_without_kernel_headers_refuses_as_the_real_one(
    a2_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Fault kernel_headers_missing: the driver's environment check fails with the real
    console line, and its install log holds the real reasons (capture from Huawei's driver
    scripts); nothing is installed. Without the fault it installs."""
    from wanka.lab.profile import apply_faults

    capture = Path(__file__).parent / "captures/ascend/driver_install_no_kernel_headers.txt"
    head, _, body = capture.read_text(encoding="utf-8").partition("\n")
    assert head.startswith("# source:")
    real = [line.split(": ", 1) for line in body.splitlines()]
    logged = [text for where, text in real if where == "log"]
    console = next(text for where, text in real if where == "console")
    console = console.replace("\\033", "\033")
    root = lab_env / "root"
    add_user(root)
    use(apply_faults(a2_profile, {"kernel_headers_missing": True}), lab_env, monkeypatch)
    for mode in ("--full", "--upgrade"):
        if mode == "--upgrade":  # a driver is there: an upgrade checks the kernel too
            use(a2_profile, lab_env, monkeypatch)
            assert tool(capsys, "install", "driver", "--full", "--version", "24.1.rc1")[0] == 0
            use(apply_faults(a2_profile, {"kernel_headers_missing": True}), lab_env, monkeypatch)
        rc, text = tool(capsys, "install", "driver", mode, "--version", "24.1.rc3")
        assert rc == 1
        stamp = r"\[Driver\] \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] "
        assert re.fullmatch(stamp + re.escape(console), text.strip()), text
        seclog = (root / "var/log/ascend_seclog/ascend_install.log").read_text(encoding="utf-8")
        assert [re.sub("^" + stamp, "", x) for x in seclog.splitlines()[-4:]] == logged
        want = {"--full": {}, "--upgrade": {"Version": "24.1.rc1"}}[mode]
        assert {k: v for k, v in server.installed_driver().items() if k == "Version"} == want


def test_lscpu_prints_util_linux_formats(
    a2_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    use(a2_profile, lab_env, monkeypatch)
    rc, text = tool(capsys, "lscpu")
    ours = dict(line.split(":", 1) for line in text.splitlines())
    assert rc == 0 and ours["Model name"].strip() == "Kunpeng 920 7265"
    assert ours["Architecture"].strip() == "aarch64" and ours["Socket(s)"].strip() == "4"
    # the layout of this machine's real util-linux lscpu: the same value column ...
    real = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    col = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in real.splitlines()[:3]}
    assert {len(line) - len(line.split(":", 1)[1].lstrip()) for line in text.splitlines()} == col
    # ... and the same JSON, character for character in its framing
    rc, ours_json = tool(capsys, "lscpu", "-J")
    real_json = subprocess.run(["lscpu", "-J"], capture_output=True, text=True, check=True).stdout
    assert rc == 0 and ours_json.splitlines()[:4] == [
        "{",
        '   "lscpu": [',
        "      {",
        '         "field": "Architecture:",',
    ]
    assert real_json.splitlines()[:4][:3] == ours_json.splitlines()[:3]
    assert ours_json.count("},{") == len(ours) - 1 and ours_json.endswith("      }\n   ]\n}\n")
    assert real_json.endswith("      }\n   ]\n}\n")
    rows = json.loads(ours_json)["lscpu"]
    assert rows[0] == {"field": "Architecture:", "data": "aarch64"}


def test_bad_arguments(
    a2_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    use(a2_profile, lab_env, monkeypatch)
    assert tool(capsys, "npu-smi", "info", "-x")[0] == 2
    assert tool(capsys, "npu-smi", "info", "-t", "board", "-i", "8")[0] == 1
    assert tool(capsys, "hccn_tool", "-i", "0", "-ip")[0] == 2
    rc, text = tool(capsys, "hccn_tool", "-i", "8", "-link", "-g")
    assert rc == 1 and "invalid" in text
    monkeypatch.setenv("WANKA_LAB_PROFILE", str(lab_env / "nope.json"))
    assert tool(capsys, "npu-smi", "info")[0] == 1


def test_lldp_parses_lldpd_json(
    a2_profile: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    sample = {
        "lldp": {
            "interface": {
                "param0": {
                    "via": "LLDP",
                    "chassis": {"leaf01": {"id": {"type": "mac", "value": "02:00:00:aa:00:01"}}},
                    "port": {
                        "id": {"type": "local", "value": "400GE1/0/1:1"},
                        "descr": "swp1s1",
                        "ttl": "120",
                        "mfs": "9216",
                    },
                }
            }
        }
    }
    monkeypatch.setattr(port.shutil, "which", lambda name: "/usr/sbin/" + name)
    monkeypatch.setattr(
        port.proc,
        "run",
        lambda cmd, **_: subprocess.CompletedProcess(cmd, 0, json.dumps(sample), ""),
    )
    nb = port.lldp_neighbor("param0")
    assert nb is not None
    assert nb["port_id"] == "400GE1/0/1:1" and nb["mfs"] == "9216"
    assert nb["system_name"] == "leaf01"
    use(a2_profile, lab_env, monkeypatch)
    rc, text = tool(capsys, "hccn_tool", "-i", "0", "-lldp", "-g")
    lines = [ln.strip() for ln in text.splitlines()]
    assert rc == 0
    assert lines[lines.index("Port ID TLV") + 1] == "Ifname: 400GE1/0/1:1"
    assert lines[lines.index("Maximum Frame Size TLV") + 1] == "9216"
    assert lines[1] == "MAC: 02:00:00:aa:00:01"


# ----------------------------------------------------------------------------- namespaces


def _can_netns() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


@pytest.fixture
def netns_pair(tmp_path: Path) -> Iterator[dict[str, str]]:
    """ns a holds `param0` (the NPU port of card 0), ns b its peer `swp1s1` at 10.77.0.1/30."""
    if not _can_netns():
        pytest.skip("needs root and iproute2 for network namespaces")
    a, b = f"wkt{os.getpid()}a", f"wkt{os.getpid()}b"
    made: list[str] = []
    try:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
            made.append(ns)
        for cmd in (
            [
                "ip",
                "link",
                "add",
                "param0",
                "netns",
                a,
                "type",
                "veth",
                "peer",
                "swp1s1",
                "netns",
                b,
            ],
            ["ip", "-n", a, "link", "set", "param0", "up"],
            ["ip", "-n", b, "link", "set", "swp1s1", "up"],
            ["ip", "-n", b, "addr", "add", "10.77.0.1/30", "dev", "swp1s1"],
        ):
            subprocess.run(cmd, check=True, capture_output=True)
        yield {"a": a, "b": b, "peer": "10.77.0.1"}
    finally:
        for ns in made:  # only the namespaces this fixture created
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def test_hccn_tool_in_a_namespace(
    netns_pair: dict[str, str], a2_profile: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(a2_profile), encoding="utf-8")
    env = dict(
        os.environ,
        WANKA_LAB_PROFILE=str(path),
        WANKA_LAB_STATE=str(tmp_path / "state"),
        WANKA_LAB_ROOT=str(tmp_path / "root"),
    )
    ns = netns_pair["a"]

    def hccn(*args: str) -> tuple[int, str]:
        cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "wanka.lab.tools"]
        res = subprocess.run(
            [*cmd, "hccn_tool", "-i", "0", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=30,
        )
        return res.returncode, res.stdout + res.stderr

    def addrs() -> str:
        res = subprocess.run(
            ["ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "param0"],
            capture_output=True,
            text=True,
            check=True,
        )
        return res.stdout

    assert hccn("-ip", "-g") == (0, "Get ipconf failed, because no ip was preset there!\n")
    assert hccn("-ip", "-s", "address", "10.77.0.3", "netmask", "255.255.255.252")[0] == 0
    assert "inet 10.77.0.3/30" in addrs()
    # setting again replaces the device's address
    assert hccn("-ip", "-s", "address", "10.77.0.2", "netmask", "255.255.255.252")[0] == 0
    assert "inet 10.77.0.2/30" in addrs() and "10.77.0.3" not in addrs()

    def ip(*args: str) -> str:
        return subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True,
                              check=True).stdout  # fmt: skip

    # the NPU answers out of its own port: its address has its own table (one rule, the new)
    rules = ip("rule", "show")
    assert "from 10.77.0.2 lookup 1000" in rules and "10.77.0.3" not in rules
    assert "10.77.0.0/30 dev param0" in ip("route", "show", "table", "1000")
    assert hccn("-ip", "-g") == (0, "ipaddr:10.77.0.2\nnetmask:255.255.255.252\n")
    assert hccn("-link", "-g") == (0, "link status: UP\n")
    assert hccn("-net_health", "-g")[1] == "net health status: Init\n"
    assert hccn("-netdetect", "-s", "address", netns_pair["peer"])[0] == 0
    assert hccn("-netdetect", "-g")[1] == f"netdetect address: {netns_pair['peer']}\n"
    if shutil.which("ping") is not None:
        assert hccn("-net_health", "-g")[1] == "net health status: Success\n"
        rc, text = hccn("-ping", "-g", "address", netns_pair["peer"])
        lines = text.splitlines()
        assert rc == 0 and lines[0] == f"device 0 PING {netns_pair['peer']}"
        assert [ln.split(",")[0] for ln in lines[1:4]] == [f"recv seq={i}" for i in range(3)]
        assert all(ln.endswith("ms") and ",time=" in ln for ln in lines[1:4])
        assert lines[-1] == "3 packets transmitted, 3 received, 0.00% packet loss"
    assert hccn("-gateway", "-s", "gateway", netns_pair["peer"])[0] == 0
    assert hccn("-gateway", "-g")[1] == f"default gateway:{netns_pair['peer']}, Iface:eth0\n"
    if shutil.which("lldpcli") is None:
        assert hccn("-lldp", "-g") == (1, "Get lldp info failed, no neighbor found on param0\n")
    # the cable's far end goes down: the link is DOWN, health Fault
    subprocess.run(["ip", "-n", netns_pair["b"], "link", "set", "swp1s1", "down"], check=True)
    assert hccn("-link", "-g") == (0, "link status: DOWN\n")
    assert hccn("-net_health", "-g")[1] == "net health status: Fault\n"


def test_a3_dies_share_the_card_port(
    netns_pair: dict[str, str], a3_profile: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(a3_profile), encoding="utf-8")
    env = dict(os.environ, WANKA_LAB_PROFILE=str(path), WANKA_LAB_STATE=str(tmp_path / "s"))
    ns = netns_pair["a"]

    def hccn(device: int, *args: str) -> str:
        cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "wanka.lab.tools", "hccn_tool"]
        res = subprocess.run(
            [*cmd, "-i", str(device), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=30,
        )
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout

    hccn(0, "-ip", "-s", "address", "10.77.0.2", "netmask", "255.255.255.248")
    hccn(1, "-ip", "-s", "address", "10.77.0.3", "netmask", "255.255.255.248")
    hccn(1, "-ip", "-s", "address", "10.77.0.4", "netmask", "255.255.255.248")
    out = subprocess.run(
        ["ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "param0"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "10.77.0.2/29" in out and "10.77.0.4/29" in out and "10.77.0.3/" not in out
    assert hccn(0, "-ip", "-g") == "ipaddr:10.77.0.2\nnetmask:255.255.255.248\n"
    assert hccn(1, "-ip", "-g") == "ipaddr:10.77.0.4\nnetmask:255.255.255.248\n"


@pytest.mark.skipif(shutil.which("lldpd") is None, reason="needs lldpd")
def test_lldp_neighbour_from_a_real_lldpd(
    netns_pair: dict[str, str], a2_profile: dict[str, Any], tmp_path: Path
) -> None:
    """lldpd in both namespaces (own sockets, 1 s interval): hccn_tool shows the switch
    side's port id (advertised as the vendor port name, like the real switches)."""
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(a2_profile), encoding="utf-8")
    pids: list[int] = []
    short = Path(tempfile.mkdtemp(prefix="wkl"))  # unix socket paths: at most 107 bytes
    short.chmod(0o755)  # lldpcli runs with lldpd's group, not as root
    try:
        for ns, extra in (
            (netns_pair["a"], ""),
            (netns_pair["b"], "configure ports swp1s1 lldp portidsubtype local 400GE1/0/1:1\n"),
        ):
            conf = short / f"{ns}.conf"  # read by lldpcli, which drops root
            conf.write_text(
                f"configure system hostname {ns}\nconfigure lldp tx-interval 1\n{extra}",
                encoding="utf-8",
            )
            pidfile, sock = tmp_path / f"{ns}.pid", short / f"{ns}.sock"
            subprocess.run(
                ["ip", "netns", "exec", ns, "lldpd", "-u", str(sock), "-p", str(pidfile)]
                + ["-O", str(conf)],
                check=True,
                capture_output=True,
                timeout=10,
            )
            for _ in range(50):
                if pidfile.is_file() and pidfile.read_text().strip():
                    pids.append(int(pidfile.read_text().strip()))
                    break
                time.sleep(0.05)
        env = dict(
            os.environ,
            WANKA_LAB_PROFILE=str(path),
            WANKA_LAB_STATE=str(tmp_path / "s"),
            WANKA_LAB_LLDP_SOCKET=str(short / f"{netns_pair['a']}.sock"),
        )
        cmd = ["ip", "netns", "exec", netns_pair["a"], sys.executable, "-m", "wanka.lab.tools"]
        deadline = time.monotonic() + 8
        while True:
            res = subprocess.run(
                [*cmd, "hccn_tool", "-i", "0", "-lldp", "-g"],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                timeout=30,
            )
            # lldpd may send its first frames before its startup configuration ran
            if "Ifname: 400GE" in res.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        lines = [ln.strip() for ln in res.stdout.splitlines()]
        assert res.returncode == 0, res.stdout + res.stderr
        assert lines[lines.index("Port ID TLV") + 1] == "Ifname: 400GE1/0/1:1"
        assert lines[lines.index("System Name TLV") + 1] == netns_pair["b"]
        assert lines[lines.index("Maximum Frame Size TLV") + 1] == "9216"  # lab-32x400g
    finally:
        for pid in pids:  # only the lldpd monitors this test started (children follow)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        shutil.rmtree(short, ignore_errors=True)


def test_link_down_fault(netns_pair: dict[str, str], a2_derived: Any, tmp_path: Path) -> None:
    node = next(n for n in a2_derived.cluster.nodes if n.model.accelerator is not None)
    profile = node_profile(a2_derived, node, {"link_down": [0]})
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile), encoding="utf-8")
    env = dict(os.environ, WANKA_LAB_PROFILE=str(path), WANKA_LAB_STATE=str(tmp_path / "s"))
    res = subprocess.run(
        ["ip", "netns", "exec", netns_pair["a"], sys.executable, "-m", "wanka.lab.tools"]
        + ["hccn_tool", "-i", "0", "-link", "-g"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=30,
    )
    assert res.stdout == "link status: DOWN\n"


def test_a_driver_stand_in_carries_its_own_firmware_range(a2_derived: Any, tmp_path: Path) -> None:
    """As a real driver package carries its compatible firmware range, the lab's stand-in
    passes the range of the software set that names it (so an upgrade's new driver writes
    the new range, whatever the server's profile said)."""
    from wanka.lab import provision

    pkgdir = provision.write_packages(a2_derived, tmp_path)
    sw = a2_derived.cluster.software.all_sets[0]
    driver = next(iter(sw.driver_packages.values()))
    text = (pkgdir / driver).read_text(encoding="utf-8")
    assert f"install driver --fw-range {sw.firmware_min},{sw.firmware_max} --package" in text
    assert "install firmware --package" in (pkgdir / sw.firmware_package).read_text()
