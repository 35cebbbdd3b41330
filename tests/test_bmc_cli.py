"""`wanka bmc` against lab BMCs of the vendor profiles (wanka.lab.vendorbmc, one per server, on
loopback), reached through a lab access file that gives each server its own BMC URL, as the
cluster file examples/lab-mini/cluster.yaml describes them: inspect catches two servers
swapped between rack positions; power, boot and BIOS act in parallel; no credential leaks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from wanka.cli.main import main
from wanka.lab import access as lab_access
from wanka.lab import vendorbmc
from wanka.lab.access import Access, Server, Ssh
from wanka.lab.vendorbmc import Bmc

CLUSTER = str(ROOT / "examples/lab-mini/cluster.yaml")
PASSWORD = "bmc-cli-Secret-9"
S = "lab-p1-pod01-r0"
# node -> (profile, serial its BMC reports, MACs): r01-s01 and r01-s02 are swapped
SERVERS = {
    f"{S}1-s01": ("ibmc", "2102314LBK10P3000102", []),
    f"{S}1-s02": ("ami", "2102314LBK10P3000101", []),
    f"{S}2-s01": ("dmtf", "2102314LBK10P3000103", ["02:00:00:aa:02:01"]),
    f"{S}2-s02": ("ibmc", "2102314LBK10P3000104", ["02:00:00:11:02:02", "02:00:00:12:02:02"]),
}


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, dict[str, Bmc]]]:
    monkeypatch.setenv("WANKA_BMC_PASSWORD", PASSWORD)
    bmcs: dict[str, Bmc] = {}
    servers: list[Any] = []
    nodes: dict[str, Server] = {}
    for name, (profile, serial, macs) in SERVERS.items():
        b = Bmc(profile, name=name, serial=serial, macs=macs, delay=0.3,
                auth=("Administrator", PASSWORD))  # fmt: skip
        server, thread, url = vendorbmc.serve(b)
        bmcs[name] = b
        servers.append((server, thread))
        nodes[name] = Server(address="127.0.0.1", system="", namespace="", bmc=url)
    ssh = Ssh(user="root", private_key="/nonexistent", known_hosts="/nonexistent",
              jump_namespace="", proxy_command="", options=())  # fmt: skip
    access = Access(cluster="lab", ssh=ssh, bmc_url="http://127.0.0.1:9", bmc_auth=True,
                    nodes=nodes)  # fmt: skip
    lab_access.write(tmp_path, access)
    try:
        yield tmp_path, bmcs
    finally:
        for server, thread in servers:
            server.shutdown()
            thread.join(timeout=5)


def wanka_bmc(capsys: pytest.CaptureFixture[str], lab: Path, *argv: str) -> tuple[int, Any, str]:
    code = main(["bmc", CLUSTER, "--lab", str(lab), "--format", "json", *argv])
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return code, json.loads(out) if out.strip() else None, err


def test_inspect_catches_two_swapped_servers(
    lab: tuple[Path, dict[str, Bmc]], capsys: pytest.CaptureFixture[str]
) -> None:
    where, _ = lab
    code, out, err = wanka_bmc(capsys, where, "inspect")
    assert code == 1
    failed = {o["node"]: o["detail"] for o in out if not o["ok"]}
    assert sorted(failed) == [f"{S}1-s01", f"{S}1-s02"]
    assert failed[f"{S}1-s01"] == (
        f"serial 2102314LBK10P3000102: the manifest's serial of {S}1-s02 "
        "(the manifest says 2102314LBK10P3000101)"
    )
    assert "[4/4]" in err  # the progress line
    ok = {o["node"]: o for o in out if o["ok"]}
    assert ok[f"{S}2-s02"]["data"]["macs"] == ["02:00:00:11:02:02", "02:00:00:12:02:02"]
    code, out, _ = wanka_bmc(capsys, where, "--limit", f"{S}2-*", "inspect")
    assert code == 0 and [o["node"] for o in out] == [f"{S}2-s01", f"{S}2-s02"]


def test_power_boot_bios_in_parallel(
    lab: tuple[Path, dict[str, Bmc]], capsys: pytest.CaptureFixture[str]
) -> None:
    where, bmcs = lab
    code, out, _ = wanka_bmc(capsys, where, "boot", "pxe")
    detail = {o["node"]: o["detail"] for o in out}
    assert code == 0 and detail[f"{S}1-s01"] == "boot Pxe (Once)"
    assert detail[f"{S}2-s01"] == "already Pxe (Once)"  # the DMTF mockup's own state
    for b in bmcs.values():
        assert b.res[b.system]["Boot"]["BootSourceOverrideEnabled"] == "Once"
    code, out, _ = wanka_bmc(capsys, where, "power", "on")
    assert code == 0 and all(o["changed"] and "On after" in o["detail"] for o in out)
    code, out, _ = wanka_bmc(capsys, where, "power", "on")
    assert code == 0 and not any(o["changed"] for o in out)
    for b in bmcs.values():  # the boot used the override: once, not continuous
        assert b.res[b.system]["Boot"]["BootSourceOverrideEnabled"] == "Disabled"
    one = f"{S}1-s01"  # an iBMC
    code, out, _ = wanka_bmc(capsys, where, "--limit", one, "bios", "set", "TurboMode=Disabled")
    assert code == 0 and out[0]["changed"] and "(at the next boot)" in out[0]["detail"]
    code, out, _ = wanka_bmc(capsys, where, "--limit", one, "bios", "get")
    assert out[0]["data"]["pending"] == {"TurboMode": "Disabled"}
    code, out, _ = wanka_bmc(capsys, where, "--limit", one, "bios", "set", "TurboMode=Disabled")
    assert code == 0 and not out[0]["changed"]  # pending already
    code, out, _ = wanka_bmc(capsys, where, "--limit", one, "bios", "set", "Nope=1")
    assert code == 1 and "BIOS has no attribute Nope" in out[0]["detail"]


def test_usage_errors_exit_2(
    lab: tuple[Path, dict[str, Bmc]], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    where, _ = lab
    assert main(["bmc", CLUSTER, "--lab", str(where), "--limit", "nothing-*", "inspect"]) == 2
    assert "no server BMC matches --limit 'nothing-*'" in capsys.readouterr().err
    monkeypatch.delenv("WANKA_BMC_PASSWORD")
    assert main(["bmc", CLUSTER, "--lab", str(where), "inspect"]) == 2
    assert "WANKA_BMC_PASSWORD is not set" in capsys.readouterr().err
