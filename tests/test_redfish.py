"""wanka.drivers.redfish against the lab's BMC emulator (sushy-tools' fake driver, on loopback).

No root needed: the emulator is started on a free loopback port and stopped by its pid.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wanka.drivers.redfish import BmcUnreachable, Client, RedfishError
from wanka.lab import bmc
from wanka.lab.state import proc_info

NODES = ("n1", "n2", "n3")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    where = tmp_path_factory.mktemp("bmc")
    systems = [bmc.system("c", n, [(f"02:00:00:00:00:0{i}", f"10.0.0.{i}")])
               for i, n in enumerate(NODES)]  # fmt: skip
    bmc.write_config(where, systems, delay=(1, 1))
    pid, port = bmc.start(where)
    try:
        yield f"http://127.0.0.1:{port}", where
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while proc_info(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc_info(pid) is None


def test_system_by_uuid_and_by_name(emulator: tuple[str, Path]) -> None:
    url, _ = emulator
    uuid = bmc.system_uuid("c", "n1")
    by_uuid = Client(url, uuid).system()
    assert by_uuid["UUID"] == uuid and by_uuid["Name"] == "n1"
    assert Client(url, "n1").system()["UUID"] == uuid  # the name redirects to the UUID
    assert uuid == bmc.system_uuid("c", "n1") != bmc.system_uuid("c2", "n1")  # stable, scoped


def test_power_lands_after_the_delay(emulator: tuple[str, Path]) -> None:
    url, _ = emulator
    c = Client(url, "n2")
    assert c.power_state() == "Off"
    assert c.set_power(True) is True
    assert c.power_state() == "Off"  # not yet: a real BMC takes its time too
    assert c.wait_power("On", 5)
    assert c.set_power(True) is False  # already on: nothing sent
    c.reset("ForceOff")
    assert c.wait_power("Off", 5)


def test_boot_override_and_bios(emulator: tuple[str, Path]) -> None:
    url, _ = emulator
    c = Client(url, "n3")
    c.set_boot("Pxe", mode="UEFI")
    assert c.boot()["target"] == "Pxe" and c.boot()["mode"] == "UEFI"
    assert c.bios()["PowerProfile"] == "Performance"
    c.set_bios({"PowerProfile": "Balanced"})
    assert c.bios()["PowerProfile"] == "Balanced"
    with pytest.raises(ValueError, match="boot target 'Floppy'"):
        c.set_boot("Floppy")


def test_errors_name_the_bmc_and_the_request(emulator: tuple[str, Path]) -> None:
    url, where = emulator
    with pytest.raises(RedfishError, match=r"GET /redfish/v1/Systems/nope on BMC .*: 404"):
        Client(url, "nope").system()
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(BmcUnreachable, match="cannot connect"):
        Client(f"http://127.0.0.1:{free}", "n1", timeout=2).power_state()
    bmc.write_faults(where, {"down": ["n1"], "slow": {"n2": 1.5}})
    try:
        with pytest.raises(BmcUnreachable, match="no answer within 1 s"):
            Client(url, "n1", timeout=1).power_state()
        started = time.monotonic()
        assert Client(url, "n2", timeout=5).power_state() in ("On", "Off")
        assert time.monotonic() - started >= 1.5
        assert Client(url, "n3", timeout=1).power_state() in ("On", "Off")  # unaffected
    finally:
        bmc.write_faults(where, {})


def test_credentials_never_in_repr_or_errors(emulator: tuple[str, Path]) -> None:
    url, _ = emulator
    c = Client(url, "nope", auth=("Administrator", "s3cret-value"))
    assert "s3cret" not in repr(c)
    with pytest.raises(RedfishError) as err:
        c.system()
    assert "s3cret" not in str(err.value)


def test_discovery_on_sushy_tools(emulator: tuple[str, Path]) -> None:
    url, _ = emulator
    with pytest.raises(RedfishError, match="3 systems .*name the one meant"):
        Client(url).system()  # several systems, none named: refused, not the first one
    c = Client(url, "n1")
    assert c.system_path == f"/redfish/v1/Systems/{bmc.system_uuid('c', 'n1')}"
    assert c.bios_settings()["path"].endswith("/BIOS/Settings")  # its own route, by the link
    inv = c.inventory()
    assert inv["macs"] == ["02:00:00:00:00:00"] and inv["uuid"] == bmc.system_uuid("c", "n1")


def test_boot_once_and_bios_idempotence_on_sushy_tools(emulator: tuple[str, Path]) -> None:
    url, _ = emulator
    c = Client(url, "n1")
    c.set_boot("Hdd")  # Once is sent; sushy-tools' template always says Continuous
    assert c.boot()["target"] == "Hdd"  # (Once vs Continuous: tests/test_redfish_profiles.py)
    c.set_boot("None")
    assert c.boot()["target"] == "None"
    # sushy-tools applies BIOS changes at once: set, then a second run sends nothing
    assert c.set_bios({"ProcTurboMode": "Disabled"}) == {"ProcTurboMode": "Disabled"}
    assert c.bios()["ProcTurboMode"] == "Disabled" and c.bios_pending() == {}
    assert c.set_bios({"ProcTurboMode": "Disabled"}) == {}
    c.set_bios({"ProcTurboMode": "Enabled"})


def test_the_lab_emulator_serves_vendor_profiles_beside_sushy_tools(tmp_path: Path) -> None:
    """A server whose BMC firmware is a vendor's gets a BMC of that profile of its own, with
    the lab's faults: the generic ones (by node name) and the vendor quirks."""
    systems = [
        bmc.system("c", "g1", [("02:00:00:00:00:10", "10.0.0.10")]),
        bmc.system("c", "h1", [("02:00:00:00:00:11", "10.0.0.11")], firmware="huawei-ibmc",
                   serial="2102314LBK10P3000101"),
    ]  # fmt: skip
    bmc.write_config(tmp_path, systems, delay=(1, 1))
    pid, port = bmc.start(tmp_path)
    try:
        vendor = json.loads((tmp_path / bmc.VENDOR_PORTS).read_text())
        assert sorted(vendor) == ["h1"]
        c = Client(f"http://127.0.0.1:{vendor['h1']}")
        assert c.system_path == "/redfish/v1/Systems/1"  # iBMC's, not sushy-tools' UUID
        inv = c.inventory()
        assert inv["serial"] == "2102314LBK10P3000101" and inv["macs"] == ["02:00:00:00:00:11"]
        assert inv["uuid"] == bmc.system_uuid("c", "h1")
        with pytest.raises(RedfishError, match="no system 'h1'"):
            Client(f"http://127.0.0.1:{port}", "h1").system()  # not on sushy-tools
        bmc.write_faults(tmp_path, {"vendor": {"h1": {"busy": 2}}})
        time.sleep(0.5)  # the fault file is read every 0.1 s
        started = time.monotonic()
        assert c.power_state() == "Off"  # two 503s, then the answer
        assert time.monotonic() - started >= 2
        bmc.write_faults(tmp_path, {"down": ["h1"]})
        with pytest.raises(BmcUnreachable, match="no answer within 1 s"):
            Client(f"http://127.0.0.1:{vendor['h1']}", timeout=1).power_state()
        bmc.write_faults(tmp_path, {})
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while proc_info(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc_info(pid) is None


def test_vendor_quirk_faults_need_a_vendor_bmc(tmp_path: Path) -> None:
    from wanka.lab import faults

    t = faults.Targets({"h1": 8, "g1": 8}, {}, {"h1"})
    faults.check([faults.parse("bmc-busy:h1=2"), faults.parse("bmc-task:h1")], t)
    with pytest.raises(faults.FaultError, match="g1's BMC is the generic one"):
        faults.check([faults.parse("bmc-etag-stale:g1")], t)
    with pytest.raises(faults.FaultError, match="whole number"):
        faults.parse("bmc-busy:h1=x")
    (tmp_path / "bmc").mkdir()
    specs = ["bmc-busy:h1=2", "bmc-task:h1", "bmc-etag-stale:h1"]
    faults._bmc_faults(tmp_path, [faults.parse(s) for s in specs])
    written = json.loads((tmp_path / "bmc" / bmc.FAULTS).read_text())
    assert written["vendor"] == {"h1": {"busy": 2, "task_seconds": 20.0, "stale_etag": 1}}
