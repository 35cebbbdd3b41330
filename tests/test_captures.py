"""The lab speaks from captures, and the roles' parsers read the captures themselves.

Every file in tests/captures/ascend/ is a real output (or, where the file says so, the
closest public thing to one) with a `# source:` line naming where it came from. Two kinds of
test, for each format a role reads:

- parser vs capture: the module's parser (playbooks/library, module_utils) reads the
  captured text and finds what a person reading it finds;
- emulator vs capture: what the lab's tool writes or prints has the capture's structure
  (same keys in the same order, same line grammar, same column layout), with the model's
  values, and the same parser reads both alike.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import ansible_module
import pytest

from wanka.lab.profile import node_profile
from wanka.lab.tools import dispatch, server
from wanka.pipeline import open_cluster

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = Path(__file__).resolve().parent / "captures" / "ascend"
NODE = ansible_module.load("wanka_node")
FACTS = ansible_module.util("wanka_node_facts")
CHECKS = ansible_module.util("wanka_node_checks")


def capture(name: str) -> str:
    """A capture's text without its `# source:` header (which every capture must have)."""
    text = (CAPTURES / name).read_text(encoding="utf-8")
    head, _, body = text.partition("\n")
    assert head.startswith("# source:"), f"{name} names no source"
    return body


def keys(text: str, sep: str = "=") -> list[str]:
    return [line.split(sep, 1)[0].strip() for line in text.splitlines() if sep in line]


@pytest.fixture
def lab_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANKA_LAB_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("WANKA_LAB_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("WANKA_LAB_BOOT", raising=False)
    etc = tmp_path / "root" / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("HwHiAiUser:x:1000:1000::/home/HwHiAiUser:/bin/bash\n")
    (etc / "group").write_text("HwHiAiUser:x:1000:\n")
    return tmp_path


def use(profile: dict[str, Any], env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = env / "profile.json"
    path.write_text(json.dumps(profile), encoding="utf-8")
    monkeypatch.setenv("WANKA_LAB_PROFILE", str(path))


def run(capsys: pytest.CaptureFixture[str], name: str, *args: str) -> tuple[int, str]:
    rc = dispatch.run(name, list(args))
    out = capsys.readouterr()
    return rc, out.out + out.err


@pytest.fixture(scope="module")
def a2() -> dict[str, Any]:
    d = open_cluster(str(ROOT / "examples/lab-mini/cluster.yaml"))
    return node_profile(d, next(n for n in d.cluster.nodes if n.model.accelerator))


@pytest.fixture(scope="module")
def a3_derived() -> Any:
    return open_cluster(str(ROOT / "tests/examples/positive/lab-a3-supernode.yaml"))


def test_every_capture_names_its_source() -> None:
    files = sorted(CAPTURES.glob("*.txt"))
    assert len(files) >= 10
    for f in files:
        capture(f.name)


# ----------------------------------------------------------------------------- version.cfg


@pytest.mark.parametrize(
    ("name", "release"),
    [("version_cfg_a2_8.0.RC2.txt", "8.0.RC2"), ("version_cfg_x86_8.1.RC1.txt", "8.1.RC1")],
)
def test_cann_version_is_read_from_the_real_version_cfg(name: str, release: str) -> None:
    running = FACTS.cann_running(capture(name))
    assert running["toolkit"] == release and running["opp_kernel"] == release
    # the multi-release *_installed_version lines do not confuse it (last = running)
    assert "toolkit_installed" not in running


def test_a_version_cfg_without_running_lines_reads_as_no_cann() -> None:
    assert FACTS.cann_running("Version=8.0.RC3\n") == {}  # the emulator's old form
    assert FACTS.cann_running(None) == {}


def test_lab_toolkit_and_kernels_write_the_real_version_cfg(
    a2: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    use(a2, lab_env, monkeypatch)
    assert run(capsys, "install", "cann", "--install", "--version", "8.0.RC2")[0] == 0
    assert run(capsys, "install", "kernels", "--install", "--version", "8.0.RC2")[0] == 0
    ours = (lab_env / "root" / server.CANN_INFO).read_text(encoding="utf-8")
    real = capture("version_cfg_a2_8.0.RC2.txt")
    line = re.compile(r"^\w+_(running|upgrade|installed)_version=(\[[^:\]]+:[^\]]+\])+$")
    assert all(line.match(x) for x in ours.splitlines()), ours
    assert set(keys(ours)) <= set(keys(real))  # no key the real file does not have
    running = [k for k in keys(real) if k.endswith("_running_version")]
    assert [k for k in keys(ours) if k.endswith("_running_version")] == running
    assert FACTS.cann_running(ours) == FACTS.cann_running(real)  # one parser reads both alike
    kernels = (lab_env / "root" / server.KERNELS_INFO).read_text(encoding="utf-8")
    assert keys(kernels) == keys(capture("kernels_version_info_8.2.RC1.txt"))[:2]


# ----------------------------------------------------------------------------- version.info


def test_driver_and_firmware_version_info_are_read_from_the_captures(tmp_path: Path) -> None:
    for name, version, fw_range in (
        ("driver_version_info_24.1.rc3.txt", "24.1.rc3", ("7.0.0", "7.5.99")),
        ("driver_version_info_24.1.rc1.txt", "24.1.rc1", ("7.0.0", "7.2.99")),
    ):
        path = tmp_path / name
        path.write_text(capture(name), encoding="utf-8")
        got, values = FACTS.version_info(str(path))
        assert got == version
        assert FACTS.parse_range(values["compatible_version_fw"]) == fw_range
    path = tmp_path / "fw"
    path.write_text(capture("firmware_version_info_7.1.0.11.220.txt"), encoding="utf-8")
    assert FACTS.version_info(str(path))[0] == "7.1.0.11.220"


def test_lab_driver_writes_the_real_version_info(
    a2: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    use(a2, lab_env, monkeypatch)
    assert run(capsys, "install", "driver", "--full")[0] == 0
    ours = (lab_env / "root" / server.DRIVER_INFO).read_text(encoding="utf-8")
    real = capture("driver_version_info_24.1.rc3.txt")
    # the keys the lab writes, in the real file's order
    assert keys(ours) == [k for k in keys(real) if k in keys(ours)]
    assert {"Version", "compatible_version_fw", "package_version"} <= set(keys(ours))
    path = lab_env / "ours"
    path.write_text(ours, encoding="utf-8")
    assert FACTS.version_info(str(path))[0] == a2["software"]["driver_version"]


# ----------------------------------------------------------------------------- npu-smi -m


def map_rows(text: str) -> list[list[str]]:
    """`npu-smi info -m` rows: columns are 30 wide (printf %-30s), split on 2+ blanks, as
    Huawei's own parser does."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def test_npu_smi_m_has_the_real_layout_and_mcu_rows(
    a2: dict[str, Any], lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    use(a2, lab_env, monkeypatch)
    _, ours = run(capsys, "npu-smi", "info", "-m")
    real = capture("npu_smi_m_910A.txt")
    # header and chip rows: the real capture's columns, to the character
    assert ours.splitlines()[0] == real.splitlines()[0]
    chip = [x for x in ours.splitlines() if not x.rstrip().endswith("Mcu")]
    width = [m.start() for m in re.finditer(r"(?<=\s)\S", real.splitlines()[1])]
    assert [m.start() for m in re.finditer(r"(?<=\s)\S", chip[1])] == width
    rows = map_rows(ours)
    name = a2["chip_name"]
    assert rows[1] == ["0", "0", "0", f"Ascend {name}"]
    # an Mcu row per card, as the A2 parsers (vllm-ascend's fixture) expect it
    mcu = [r for r in rows if r[-1] == "Mcu"]
    assert mcu == [[str(c), "1", "-", "Mcu"] for c in range(a2["cards"])]
    fixture = [r.split() for r in capture("npu_smi_m_a2_mcu_vllm.txt").splitlines()[1:]]
    assert [r[1:] for r in fixture if r[-1] == "Mcu"] == [x[1:] for x in mcu[:1]]


def test_chip_names_are_the_boards(monkeypatch: pytest.MonkeyPatch) -> None:
    """npu-smi prints the chip a board carries (910B3, 910B4), from the catalog's key."""
    from wanka.lab import profile

    assert profile._chip_name("ascend-910b3", "A2") == "910B3"
    assert profile._chip_name("ascend-910b4", "A2") == "910B4"
    assert profile._chip_name("ascend-910c", "A3") == "Ascend910"  # A3 dies print Ascend910


# ----------------------------------------------------------------------------- spod-info


def test_spod_info_parser_reads_the_capture() -> None:
    assert CHECKS.spod_info(capture("npu_smi_spod_info_a3_npu0_chip0.txt")) == (167772160, 0, 40)
    assert CHECKS.spod_info(capture("npu_smi_spod_info_a3_npu0_chip1.txt")) == (167837697, 0, 40)
    assert CHECKS.spod_info("This device does not support querying spod-info.\n") == (
        None,
        None,
        None,
    )


def test_lab_spod_info_prints_the_capture_and_encodes_sdids_as_real_boards(
    a3_derived: Any, lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from wanka.lab.profile import sdid

    # the real ids decode as MindCluster's code decodes them: the lab encodes the same way
    assert sdid(40, 0, 0, 0) == 167772160 and sdid(40, 0, 1, 1) == 167837697
    nodes = [n for n in a3_derived.cluster.nodes if n.model.accelerator]
    prof = node_profile(a3_derived, nodes[0], {"server_index": 40})
    use(prof, lab_env, monkeypatch)
    for chip, name in (
        (0, "npu_smi_spod_info_a3_npu0_chip0.txt"),
        (1, "npu_smi_spod_info_a3_npu0_chip1.txt"),
    ):
        rc, ours = run(capsys, "npu-smi", "info", "-t", "spod-info", "-i", "0", "-c", str(chip))
        real = capture(name)
        assert rc == 0
        # same lines, same widths; only Super Pod Size differs (a 64-card lab SuperPoD)
        assert [x for x in ours.splitlines() if "Size" not in x] == [
            x for x in real.splitlines() if "Size" not in x
        ]
        assert keys(ours, ":") == keys(real, ":")
    rc, text = run(capsys, "npu-smi", "info", "-t", "spod-info", "-i", "0", "-c", "0")
    a2 = open_cluster(str(ROOT / "examples/lab-mini/cluster.yaml"))
    use(
        node_profile(a2, next(n for n in a2.cluster.nodes if n.model.accelerator)),
        lab_env,
        monkeypatch,
    )
    rc, text = run(capsys, "npu-smi", "info", "-t", "spod-info", "-i", "0", "-c", "0")
    assert rc == 1 and "does not support querying spod-info" in text


class LabTools:
    """wanka_node's Tools, running the lab's emulated tools in this process."""

    def __init__(self, capsys: Any) -> None:
        self.capsys = capsys

    def run(self, argv: list[str], timeout: int = 60) -> tuple[int, str, str]:
        rc = dispatch.run(argv[0], list(argv[1:]))
        out = self.capsys.readouterr()
        return rc, out.out, out.err


def test_verify_reads_each_dies_hardware_ids(
    a3_derived: Any, lab_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """wanka_node's spod-info check over the lab's npu-smi: one result per die with
    `sdid:super_pod_id:server_index`; nothing on A2 (its boards have no SuperPoD ids)."""
    from wanka.lab.profile import sdid

    nodes = [n for n in a3_derived.cluster.nodes if n.model.accelerator]
    prof = node_profile(a3_derived, nodes[2], {"server_index": 11})
    use(prof, lab_env, monkeypatch)
    devices = [
        {"device": d["device"], "card": d["card"], "chip": d["chip"]} for d in prof["devices"]
    ]
    expect = {"npu": {"generation": "A3", "devices": devices}}
    got = NODE.check_spod(LabTools(capsys), expect)
    assert [c["port"] for c in got] == [f"npu{d['device']}" for d in devices]
    assert all(c["status"] == "pass" for c in got)
    pod = prof["spod"]["super_pod_id"]
    assert [c["value"] for c in got] == [
        f"{sdid(11, d['card'], d['chip'], d['device'])}:{pod}:11" for d in devices
    ]
    assert (
        NODE.check_spod(LabTools(capsys), {"npu": {"generation": "A2", "devices": devices}}) == []
    )


# ----------------------------------------------------------------------------- os-release

OS_CAPTURES = Path(__file__).resolve().parent / "captures" / "os"


def os_capture(name: str) -> str:
    head, _, body = (OS_CAPTURES / name).read_text(encoding="utf-8").partition("\n")
    assert head.startswith("# source:")
    return body


@pytest.mark.parametrize(
    ("name", "model", "ok"),
    [
        ("os_release_openeuler_22.03_sp1.txt", ("openEuler", "22.03 LTS SP1"), True),
        ("os_release_openeuler_22.03_sp1.txt", ("openEuler", "22.03 LTS SP4"), False),
        ("os_release_openeuler_22.03_lts.txt", ("openEuler", "22.03 LTS"), True),
        ("os_release_openeuler_22.03_lts.txt", ("Kylin", "V10"), False),
        ("os_release_openeuler_22.03_lts.txt", ("openEuler", "22.03 LTS SP4"), False),
        ("os_release_kylin_v10_tercel.txt", ("Kylin", "V10 SP1"), True),
        ("os_release_kylin_v10_tercel.txt", ("Kylin Linux Advanced Server", "V10"), True),
        ("os_release_kylin_v10_tercel.txt", ("openEuler", "22.03 LTS"), False),
    ],
)
def test_preflight_reads_the_os_from_the_real_os_release(
    name: str, model: tuple[str, str], ok: bool
) -> None:
    info = CHECKS.os_release(os_capture(name))
    problem = CHECKS.os_problem(info, {"name": model[0], "version": model[1]})
    assert (problem is None) == ok, problem


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (("openEuler", "22.03 LTS SP1"), "os_release_openeuler_22.03_sp1.txt"),
        (("openEuler", "22.03 LTS"), "os_release_openeuler_22.03_lts.txt"),
        (("Kylin", "V10 SP1 Tercel"), "os_release_kylin_v10_tercel.txt"),
    ],
)
def test_lab_servers_present_the_os_release_of_their_model(
    model: tuple[str, str], name: str
) -> None:
    from wanka.lab.osrelease import os_release

    assert os_release(*model) == os_capture(name)  # the real file, line for line
    assert os_release("UOS", "20") is None  # no capture of it: the lab does not invent one
    assert os_release("Ubuntu", "20.04") is None  # only 22.04's is captured (test_os_families)
