"""The SONiC CLI a lab switch presents (wanka.lab.tools.sonic) and what the verify role reads
of it (wanka_node), both against SONiC's own test data in tests/captures/sonic/ (each file
names its source): `show interfaces status` as intfutil prints it, CONFIG_DB as
`sonic-cfggen -d --print-data` prints it, and `config load|reload|save` as config/main.py
behaves. The Debian/FRR side: `dcb pfc show` as iproute2 documents it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import ansible_module
import pytest

from wanka.derive.routing import switch_routing
from wanka.drivers.switch import db_delta
from wanka.lab.tools import dispatch, sonic
from wanka.pipeline import check, derive
from wanka.render.sonic import config_db

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = Path(__file__).resolve().parent / "captures"
NODE = ansible_module.load("wanka_node")
SW = ansible_module.util("wanka_switch_checks")


def capture(name: str) -> str:
    text = (CAPTURES / name).read_text(encoding="utf-8")
    head, _, body = text.partition("\n")
    assert head.startswith("# source:"), f"{name} names no source"
    return body


def test_the_parser_reads_show_interfaces_status_as_a_person_does() -> None:
    rows = {r["Interface"]: r for r in SW.columns(capture("sonic/show_interfaces_status.txt"))}
    assert len(rows) == 15
    assert rows["Ethernet32"]["Lanes"] == "13,14,15,16"
    assert rows["Ethernet32"]["Vlan"] == "PortChannel1001"
    assert rows["Ethernet0"]["Oper"] == "down" and rows["Ethernet0"]["Admin"] == "up"
    assert rows["Ethernet0"]["Type"] == "QSFP28 or later"
    assert rows["PortChannel1001"]["Asym PFC"] == "N/A"
    assert SW._gbps(rows["Ethernet0"]["Speed"]) == 25
    assert SW._gbps(rows["Ethernet16"]["Speed"]) == 0.1


def test_the_emulated_table_is_intfutils_layout_byte_for_byte() -> None:
    text = capture("sonic/show_interfaces_status.txt")
    rows = SW.columns(text)
    again = sonic.table(sonic.HEADER, [[r[h] for h in sonic.HEADER] for r in rows])
    assert again == text


@pytest.mark.parametrize(
    "mbps,shown", [(25000, "25G"), (40000, "40G"), (1000, "1G"), (100, "100M"), (10, "10M")]
)
def test_speeds_are_printed_as_intfutil_prints_them(mbps: int, shown: str) -> None:
    assert sonic.speed_text(str(mbps)) == shown  # each a value of the capture


def test_the_qos_reader_reads_sonics_own_config_db() -> None:
    db = json.loads(capture("sonic/config_db_print_data.txt"))
    # the mock: PFC on 3 and 4, ECN (AZURE_LOSSLESS, ecn_all) on queue 3, no DSCP map
    assert SW.qos_faults(db, "Ethernet0", "3", "33", True) == [
        "Ethernet0: DSCP 33 maps to traffic class none, not 3"
    ]
    faults = SW.qos_faults(db, "Ethernet0", "5", "33", True)
    assert faults[0] == "Ethernet0: PFC is not on priority 5 (pfc_enable '3,4')"
    assert faults[-1] == "Ethernet0: no ECN marking on queue 5"


def test_a_rendered_config_db_passes_the_qos_reader_on_every_port() -> None:
    d = derive(check(str(ROOT / "examples/lab-mini/cluster.yaml")))
    r = next(x for x in switch_routing(d).values() if x.os == "sonic")
    db = config_db(r)
    q = r.qos
    assert q is not None
    for name in db["PORT_QOS_MAP"]:
        assert SW.qos_faults(db, name, str(q["pfc_priority"]), str(q["dscp"]), True) == []


def test_dcb_pfc_show_is_read_and_a_veth_is_not_checked() -> None:
    text = capture("debian_switch/dcb_pfc_show.txt")

    class Tools:
        def __init__(self, rc: int, out: str, err: str) -> None:
            self.answer = (rc, out, err)

        def run(self, argv: list[str]) -> tuple[int, str, str]:
            assert argv[:4] == ["dcb", "pfc", "show", "dev"]
            return self.answer

    assert SW._dcb_pfc(Tools(0, text, ""), "swp1", "6")["status"] == "pass"
    off = SW._dcb_pfc(Tools(0, text, ""), "swp1", "4")
    assert off["status"] == "fail" and off["reason"] == "swp1: PFC is off on priority 4"
    veth = capture("debian_switch/dcb_pfc_show_veth.txt")
    skipped = SW._dcb_pfc(Tools(1, "", veth), "swp1", "4")
    assert skipped["status"] == "skip" and "Operation not supported" in skipped["reason"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = dispatch.main(list(argv))
    return rc, capsys.readouterr().out


def test_config_load_reload_save_behave_as_config_main_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WANKA_SONIC_DIR", str(tmp_path))
    boot = {"PORT": {"Ethernet0": {"speed": "400000", "admin_status": "down", "fec": "rs"}}}
    (tmp_path / "config_db.running.json").write_text(json.dumps(boot))
    f = tmp_path / "new.json"
    f.write_text(json.dumps({"PORT": {"Ethernet0": {"admin_status": "up"}}, "VLAN": {"V": {}}}))
    assert _run(capsys, "config", "load", str(f)) == (1, f"Load config from the file(s) {f} ? "
                                                         "[y/N]: \nAborted!\n")  # fmt: skip
    rc, out = _run(capsys, "config", "load", "-y", str(f))
    assert rc == 0 and out == f"Running command: {sonic.CFGGEN} -j {f} --write-to-db\n"
    rc, out = _run(capsys, "sonic-cfggen", "-d", "--print-data")
    db = json.loads(out)
    # mod_entry: the file's fields set, the others kept; an empty entry created
    assert db == {
        "PORT": {"Ethernet0": {"speed": "400000", "admin_status": "up", "fec": "rs"}},
        "VLAN": {"V": {}},
    }
    assert db_delta(json.loads(f.read_text()), db) == []
    missing = tmp_path / "nope.json"
    assert _run(capsys, "config", "load", "-y", str(missing)) == (
        0, f"The config_db file {missing} doesn't exist\n",
    )  # fmt: skip
    assert _run(capsys, "config", "save", "-y")[0] == 0
    assert json.loads((tmp_path / "config_db.json").read_text()) == db
    rc, _ = _run(capsys, "config", "reload", "-y", "-f", str(f))  # flushed, then loaded
    assert rc == 0
    assert json.loads(_run(capsys, "sonic-cfggen", "-d", "--print-data")[1]) == {
        "PORT": {"Ethernet0": {"admin_status": "up"}}, "VLAN": {"V": {}},
    }  # fmt: skip


def test_show_interfaces_status_of_a_rendered_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    d = derive(check(str(ROOT / "examples/lab-mini/cluster.yaml")))
    r = next(x for x in switch_routing(d).values() if x.os == "sonic")
    monkeypatch.setenv("WANKA_SONIC_DIR", str(tmp_path))
    (tmp_path / "config_db.running.json").write_text(json.dumps(config_db(r)))
    rc, out = _run(capsys, "show", "interfaces", "status")
    rows = {x["Interface"]: x for x in SW.columns(out)}
    assert rc == 0 and list(rows)[:3] == ["Ethernet0", "Ethernet8", "Ethernet16"]
    assert len(rows) == len(r.ports)
    assert rows["Ethernet0"]["Speed"] == "400G" and rows["Ethernet0"]["Admin"] == "up"
    assert rows["Ethernet0"]["Lanes"] == "0,1,2,3,4,5,6,7"
    assert rows["Ethernet0"]["Type"] == "N/A"  # no optics in the lab
    assert out.splitlines()[0].split() == [
        "Interface", "Lanes", "Speed", "MTU", "FEC", "Alias", "Vlan", "Oper", "Admin", "Type",
        "Asym", "PFC",
    ]  # fmt: skip


def test_the_applier_leaves_config_db_as_it_was_when_config_load_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Sonic applier against the lab's CLI on this machine (no FRR needed: it stops before
    bgpd.conf): a file `config load` could not merge is refused, CONFIG_DB as before; the lab's
    sonic-cfggen refuses the same file itself (exit 1), as mod_config fails on it."""
    import sys

    from wanka.drivers import switch as driver

    state, bindir = tmp_path / "sonic", tmp_path / "bin"
    state.mkdir()
    bindir.mkdir()
    for tool in ("config", "sonic-cfggen"):
        (bindir / tool).write_text(
            f"#!/bin/sh\nWANKA_SONIC_DIR={state} exec {sys.executable} -m wanka.lab.tools"
            f' {tool} "$@"\n'
        )
        (bindir / tool).chmod(0o755)
    boot = {"PORT": {"Ethernet0": {"speed": "400000", "admin_status": "down"}}}
    (state / "config_db.running.json").write_text(json.dumps(boot))
    a = driver.Sonic(driver.Local(where="sw"), cli=str(bindir), container=())
    bad = json.dumps({"PORT": {"Ethernet0": {"admin_status": "up"}}, "VLAN": ["Vlan1000"]})
    with pytest.raises(driver.Refused) as e:
        a.apply("hostname sw\n", config_db=bad)
    assert "table VLAN is not an object of entries" in str(e.value)
    assert "nothing changed" in str(e.value)
    assert a.db() == boot
    (tmp_path / "bad.json").write_text(bad)
    r = subprocess.run([str(bindir / "config"), "load", "-y", str(tmp_path / "bad.json")],
                       capture_output=True, text=True, check=False)  # fmt: skip
    assert r.returncode == 1 and "table VLAN is not an object of entries" in r.stdout
    assert a.db() == boot
    with pytest.raises(driver.Refused, match="config_db.json is not JSON"):
        a.apply("hostname sw\n", config_db="{")
