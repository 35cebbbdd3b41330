"""`wanka lab up` with vendor-profile BMCs: lab-mini whose server type says
`bmc: {firmware: huawei-ibmc}`, so every server gets a BMC that acts like Huawei's iBMC
(wanka.lab.vendorbmc) instead of a sushy-tools system. `wanka bmc --lab` inspects them
(and catches two servers swapped between rack positions), powers one on (its sshd starts),
and rides out a lab fault of the vendor's kind.

Needs root, FRR, lldpd, sshd, like the other lab tests (run it under the lab lock).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, run_wanka
from labkit import lab_up

from wanka.lab import nodes

LAB = ROOT / "examples/lab-mini/cluster.yaml"
A = "lab-p1-pod01-r01-s01"
B = "lab-p1-pod01-r01-s02"
SERIAL_A, SERIAL_B = "2102314LBK10P3000101", "2102314LBK10P3000102"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    text = LAB.read_text(encoding="utf-8")
    assert text.count("bmc: {protocol: redfish}") == 1
    text = text.replace(
        "bmc: {protocol: redfish}", "bmc: {protocol: redfish, firmware: huawei-ibmc}"
    )
    cluster = tmp_path_factory.mktemp("vendor-bmc") / "cluster.yaml"
    cluster.write_text(text, encoding="utf-8")
    with lab_up(cluster, power_delay=(1, 1)) as lab:
        yield cluster, lab.dir, text


def bmc(cluster: Path, lab_dir: Path, *argv: str) -> tuple[int, list[dict], str]:
    r = run_wanka("bmc", str(cluster), "--lab", str(lab_dir), "--format", "json", *argv,
                  timeout=120)  # fmt: skip
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else [], r.stderr


def test_each_server_has_its_vendor_bmc(lab: tuple[Path, Path, str]) -> None:
    cluster, lab_dir, _ = lab
    access = nodes.read_access(lab_dir)
    assert all(n["bmc"].startswith("http://127.0.0.1:") and n["system"] == ""
               for n in access["nodes"].values())  # fmt: skip
    code, out, err = bmc(cluster, lab_dir, "--phase", "p1", "inspect")
    assert code == 0, err
    assert {o["node"]: o["data"]["system"] for o in out}[A] == "/redfish/v1/Systems/1"
    assert {o["node"]: o["data"]["serial"] for o in out}[A] == SERIAL_A


def test_inspect_catches_two_servers_swapped(lab: tuple[Path, Path, str]) -> None:
    cluster, lab_dir, text = lab
    # the manifest puts A's server where B's is and the other way round: the BMCs disagree
    swapped = cluster.with_name("swapped.yaml")
    swapped.write_text(
        text.replace(SERIAL_A, "@A@").replace(SERIAL_B, SERIAL_A).replace("@A@", SERIAL_B),
        encoding="utf-8",
    )
    code, out, _ = bmc(swapped, lab_dir, "--phase", "p1", "inspect")
    assert code == 1
    failed = {o["node"]: o["detail"] for o in out if not o["ok"]}
    assert sorted(failed) == [A, B]
    assert failed[A].startswith(f"serial {SERIAL_A}: the manifest's serial of {B}")


def test_power_on_starts_the_server_and_a_busy_bmc_is_waited_for(
    lab: tuple[Path, Path, str],
) -> None:
    cluster, lab_dir, _ = lab
    code, out, err = bmc(cluster, lab_dir, "--limit", A, "power", "on", "--wait", "30")
    assert code == 0 and out[0]["changed"], err
    deadline = time.monotonic() + 30
    while not nodes.running(lab_dir, A):
        assert time.monotonic() < deadline, f"{A}: powered on, its sshd did not start"
        time.sleep(0.2)
    r = run_wanka("lab", "fault", str(lab_dir), "add", f"bmc-busy:{A}=2")
    assert r.returncode == 0, r.stderr
    time.sleep(0.5)
    started = time.monotonic()
    code, out, err = bmc(cluster, lab_dir, "--limit", A, "bios", "get")
    assert code == 0, err
    assert time.monotonic() - started >= 2  # two 503s, each after its Retry-After
    r = run_wanka("lab", "fault", str(lab_dir), "add", f"bmc-busy:{B}")
    assert r.returncode == 0
    code, out, _ = bmc(cluster, lab_dir, "--limit", A, "power", "off", "--wait", "30")
    assert code == 0
    deadline = time.monotonic() + 30
    while nodes.running(lab_dir, A):
        assert time.monotonic() < deadline, f"{A}: powered off, still running"
        time.sleep(0.2)
