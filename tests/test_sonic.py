"""SONiC switches: port maps against real platform port maps, config_db.json against SONiC's own
YANG-tested sample, bgpd.conf through real FRR, and the Debian/FRR daemons file against the
one FRR ships.

Fixtures (tests/fixtures/sonic/, each with its `# source:` line): port_config.ini files of
NVIDIA SN4700/SN5600 and Arista 7060DX5-64S/7060X6 platforms from sonic-buildimage, the
sample config_db.json that sonic-yang-models' tests validate (the tables wanka writes), and
sonic-device_metadata.yang. Value patterns below are those of the SONiC YANG models named next
to each (src/sonic-yang-models/yang-models/ in sonic-buildimage).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from wanka import jsonfmt
from wanka.derive.routing import SwitchRouting, switch_routing
from wanka.derive.switchports import PortUse, port_map
from wanka.findings import Mark
from wanka.model import parts
from wanka.model.types import SwitchModel
from wanka.pipeline import check, derive
from wanka.render import frr, sonic

FIXTURES = ROOT / "tests/fixtures"
SHENZHEN = ROOT / "examples/shenzhen-14000p/cluster.yaml"
MIXED = ROOT / "tests/examples/positive/mixed-port-groups.yaml"
LAB = ROOT / "examples/lab-mini/cluster.yaml"


def port_config(name: str) -> list[dict[str, str]]:
    """Rows of a SONiC port_config.ini, keyed by its header's column names."""
    lines = (FIXTURES / "sonic" / name).read_text().splitlines()
    header = next(ln for ln in lines if ln.startswith("# name"))[1:].split()
    return [dict(zip(header, ln.split(), strict=False)) for ln in lines if ln.startswith("Eth")]


def model(groups: list[tuple[int, int, int]], os: str = "sonic") -> SwitchModel:
    """A catalog switch model from (count, Gb/s, lanes) port groups."""
    spec = {
        "os": os,
        "ports": [{"count": n, "speed": f"{s}G", "lanes": lanes} for n, s, lanes in groups],
        "port_name": "etp{port}",
        "max_frame": 9216,
        "rack_units": 2,
        "power_w": {"nominal": 1, "max": 2},
    }
    return parts.switch_model("t", spec, Mark("<test>", 1, 1))


def broken_out(m: SwitchModel, ports: range, mode: str) -> dict[str, PortUse]:
    """Cable ends on every child of `ports` broken out in `mode` (as cabling makes them)."""
    n = int(mode.split("x")[0])
    used = {}
    for p in ports:
        g = m.group(p)
        step = (g.lanes or 1) // n
        for k in range(n):
            used[f"Ethernet{g.first_lane_of(p) + k * step}"] = PortUse("node", 3, mode)
    return used


# (fixture, port groups, broken-out ports and mode, lanes numbered as our offsets)
PLATFORMS = {
    "sn4700_port_config.ini": ([(32, 400, 8)], None, True),
    "sn4700_v64_port_config.ini": ([(32, 400, 8)], (range(1, 33), "2x200G"), True),
    "sn5600_acs_port_config.ini": ([(64, 800, 8), (1, 25, 1)], None, True),
    "sn5600_o128_port_config.ini": ([(64, 800, 8), (1, 25, 1)], (range(1, 65), "2x400G"), True),
    "arista_7060dx5_64s_port_config.ini": ([(64, 400, 8), (2, 10, 1)], None, False),
    "arista_7060x6_32pe_port_config.ini": ([(32, 800, 8), (2, 10, 1)], None, False),
    "arista_7060x6_64pe_256x200g_port_config.ini": (
        [(64, 800, 8), (2, 10, 1)],
        (range(1, 65), "4x200G"),
        False,
    ),
    "arista_7060x6_64pe_p32o64_port_config.ini": (
        [(64, 800, 8), (2, 10, 1)],
        (range(33, 65), "2x400G"),
        False,
    ),
}


@pytest.mark.parametrize("fixture", sorted(PLATFORMS))
def test_port_map_names_ports_as_the_platform_does(fixture: str) -> None:
    """Names, lane counts, speeds and front-panel index of every port (and breakout child) are
    those of the platform's port_config.ini; on NVIDIA platforms the lanes themselves too
    (Arista's SAI lane numbers are permuted, which the catalog does not model)."""
    groups, breakout, exact_lanes = PLATFORMS[fixture]
    m = model(groups)
    used = broken_out(m, *breakout) if breakout else {}
    mine = port_map(m, used)
    real = port_config(fixture)
    assert [p["name"] for p in mine] == [r["name"] for r in real]
    assert [len(p["lanes"].split(",")) for p in mine] == [len(r["lanes"].split(",")) for r in real]
    assert [str(p["index"]) for p in mine] == [r["index"] for r in real]
    if "speed" in real[0]:
        assert [str(p["speed"] * 1000) for p in mine] == [r["speed"] for r in real]
    if exact_lanes:
        assert [p["lanes"] for p in mine] == [r["lanes"] for r in real]


# the breakouts of a 64 x 400G and a 32 x 800G platform, as its platform.json lists them
BREAKOUT_PLATFORMS = {
    "arista_7060dx5_64s_platform_interfaces.json.txt": [(64, 400, 8), (2, 10, 1)],
    "arista_7060x6_32pe_platform_interfaces.json.txt": [(32, 800, 8), (2, 10, 1)],
}


@pytest.mark.parametrize("fixture", sorted(BREAKOUT_PLATFORMS))
def test_breakouts_give_the_children_the_platform_lists(fixture: str) -> None:
    """Every n-way mode of the platform's first cages (`2x200G[100G,...]`, `4x200G`) splits
    our port into n children of the mode's speed and 8/n lanes each, named by first lane."""
    text = (FIXTURES / "sonic" / fixture).read_text()
    cages = json.loads("".join(ln for ln in text.splitlines(True) if ln[0] != "#"))
    m = model(BREAKOUT_PLATFORMS[fixture])
    tried = 0
    for root, cage in cages.items():
        port = int(cage["index"].split(",")[0])
        lanes = len(cage["lanes"].split(","))
        for mode, aliases in cage["breakout_modes"].items():
            plain = mode.split("[")[0]
            n, speed = int(plain.split("x")[0]), int(plain.split("x")[1].rstrip("G"))
            if n == 1:
                continue
            tried += 1
            mine = [p for p in port_map(m, broken_out(m, range(port, port + 1), plain))
                    if p["index"] == port]  # fmt: skip
            first = int(root.removeprefix("Ethernet"))
            assert [p["name"] for p in mine] == [
                f"Ethernet{first + k * lanes // n}" for k in range(len(aliases))
            ]
            assert {p["speed"] for p in mine} == {speed}
            assert {len(p["lanes"].split(",")) for p in mine} == {lanes // n}
    assert tried >= 4


def test_port_map_tells_children_from_whole_ports() -> None:
    m = model([(4, 400, 4)])
    mine = port_map(m, broken_out(m, range(1, 2), "2x200G"))
    assert [(p["name"], p["subport"], p["breakout"], p["up"]) for p in mine] == [
        ("Ethernet0", 1, "2x200G", True),
        ("Ethernet2", 2, "2x200G", True),
        ("Ethernet4", 0, "1x400G", False),
        ("Ethernet8", 0, "1x400G", False),
        ("Ethernet12", 0, "1x400G", False),
    ]


# ---- config_db.json ------------------------------------------------------------------------


@cache
def routed(path: Path) -> dict[str, SwitchRouting]:
    return switch_routing(derive(check(str(path))))


def sonic_switches() -> list[tuple[str, SwitchRouting]]:
    out = []
    for path in (SHENZHEN, MIXED):
        rs = [r for r in routed(path).values() if r.os == "sonic"]
        # one switch of each (plane, tier), and the last (a phase-2 switch)
        seen: dict[tuple[str, str], SwitchRouting] = {}
        for r in rs:
            seen.setdefault((r.plane, r.tier), r)
        out += [(f"{path.parent.name}:{r.hostname}", r) for r in [*seen.values(), rs[-1]]]
    return out


SWITCHES = sonic_switches()


@cache
def sample() -> dict[str, Any]:
    text = (FIXTURES / "sonic/sample_config_db_excerpt.json.txt").read_text()
    data: dict[str, Any] = json.loads("".join(ln for ln in text.splitlines(True) if ln[0] != "#"))
    return data


@cache
def metadata_leaves() -> tuple[set[str], re.Pattern[str]]:
    """The DEVICE_METADATA leaves of sonic-device_metadata.yang and its `type` pattern."""
    yang = (FIXTURES / "sonic/sonic-device_metadata.yang").read_text()
    leaves = set(re.findall(r"leaf (\w+) \{", yang))
    m = re.search(r"leaf type \{.*?pattern \"([^\"]+)\"", yang, re.S)
    assert m is not None
    return leaves, re.compile(f"(?:{m.group(1)})")


# field value patterns of the YANG models (sonic-port, sonic-port-qos-map, sonic-buffer-pg,
# sonic-cable-length, sonic-dscp-tc-map, sonic-wred-profile, sonic-vlan)
NAME = re.compile(r"[a-zA-Z0-9]{1}([-a-zA-Z0-9_]{0,31})")
LANES = re.compile(r"\d+(,\d+)*")
PFC = re.compile(r"([0-7](,[0-7])*)?")
PG = re.compile(r"[0-7]((-)[0-7])?")
LENGTH = re.compile(r"[0-9]+m")
DSCP = re.compile(r"6[0-3]|[1-5][0-9]?|[0-9]?")
VLAN = re.compile(r"Vlan(409[0-5]|40[0-8][0-9]|[1-3][0-9]{3}|[1-9][0-9]{2}|[1-9][0-9]|[2-9])")
NUMBER = re.compile(r"\d+")
MAPS = {
    "DSCP_TO_TC_MAP",
    "TC_TO_QUEUE_MAP",
    "TC_TO_PRIORITY_GROUP_MAP",
    "MAP_PFC_PRIORITY_TO_QUEUE",
}


@pytest.mark.parametrize(("name", "r"), SWITCHES, ids=[n for n, _ in SWITCHES])
def test_config_db_has_sonic_tables_and_fields(name: str, r: SwitchRouting) -> None:
    """Every table is one SONiC's sample has; every field of every entry is one the sample uses
    for that table (DEVICE_METADATA: a leaf of its YANG model); values are strings."""
    db = json.loads(json.dumps(sonic.config_db(r)))  # what the file holds
    real = sample()
    leaves, _ = metadata_leaves()
    for table in ("DEVICE_METADATA", "PORT", "LOOPBACK_INTERFACE", "INTERFACE"):
        assert table in db
    if r.qos is not None:
        for table in ("DSCP_TO_TC_MAP", "PORT_QOS_MAP", "WRED_PROFILE", "QUEUE", "BUFFER_PG"):
            assert table in db, table
    for table, entries in db.items():
        assert table in real, f"{table} is not a table of SONiC's sample config_db"
        known = {f for e in real[table].values() if isinstance(e, dict) for f in e}
        if table == "DEVICE_METADATA":
            known |= leaves
        for key, entry in entries.items():
            assert isinstance(key, str) and isinstance(entry, dict)
            for field, value in entry.items():
                assert isinstance(value, str), (table, key, field, value)
                if table in MAPS:  # number -> number, priorities 0-7 or DSCP 0-63
                    assert DSCP.fullmatch(field) and NUMBER.fullmatch(value), (table, field)
                    assert table == "DSCP_TO_TC_MAP" or int(field) <= 7
                elif table != "CABLE_LENGTH":  # port -> length, checked with the QoS
                    assert field in known, f"{table}|{key}: field {field} SONiC does not use"


@pytest.mark.parametrize(("name", "r"), SWITCHES, ids=[n for n, _ in SWITCHES])
def test_config_db_values_and_references(name: str, r: SwitchRouting) -> None:
    db = sonic.config_db(r)
    _, device_type = metadata_leaves()
    meta = db["DEVICE_METADATA"]["localhost"]
    assert meta["hostname"] == r.hostname and meta["bgp_asn"] == str(r.asn)
    assert meta["docker_routing_config_mode"] == "split"
    assert device_type.fullmatch(meta["type"])
    ports = db["PORT"]
    for pname, p in ports.items():
        assert re.fullmatch(r"Ethernet\d+", pname)
        assert LANES.fullmatch(p["lanes"]) and NUMBER.fullmatch(p["speed"])
        assert 1 <= int(p["speed"]) <= 1600000  # sonic-port: speed range
        assert 68 <= int(p.get("mtu", "9100")) <= 9216  # sonic-port: mtu range
        assert 0 <= int(p.get("subport", "0")) <= 8
    # every fabric interface and every gateway member is a port, every port used once
    for ifname in db["INTERFACE"]:
        assert ifname in ports and db["INTERFACE"][ifname] == {"ipv6_use_link_local_only": "enable"}
    assert {n["ifname"] for n in r.interfaces} == set(db["INTERFACE"])
    assert db["LOOPBACK_INTERFACE"] == {"Loopback0": {}, f"Loopback0|{r.loopback}": {}}
    for key in db.get("VLAN_MEMBER", {}):
        vlan, member = key.split("|")
        assert VLAN.fullmatch(vlan) and vlan in db["VLAN"] and member in ports
    for g in r.gateways:
        assert any(k.endswith(f"|{g['address']}") for k in db["VLAN_INTERFACE"])
    if r.qos is None:
        return
    # QoS: names well formed and resolved; the plane's DSCP to its lossless priority on every
    # port that carries the plane: node-facing and fabric
    prio = str(r.qos["pfc_priority"])
    for table in ("DSCP_TO_TC_MAP", "TC_TO_QUEUE_MAP", "TC_TO_PRIORITY_GROUP_MAP"):
        for mapname in db[table]:
            assert NAME.fullmatch(mapname)
    dscp_map = db["DSCP_TO_TC_MAP"][sonic.MAP]
    assert all(DSCP.fullmatch(k) for k in dscp_map) and len(dscp_map) == 64
    assert dscp_map[str(r.qos["dscp"])] == prio
    assert {v for k, v in dscp_map.items() if k != str(r.qos["dscp"])} == {"0"}
    carrying = set(r.downlinks) | {n["ifname"] for n in r.interfaces}
    assert carrying and set(db["PORT_QOS_MAP"]) == carrying
    for q in db["PORT_QOS_MAP"].values():
        assert PFC.fullmatch(q["pfc_enable"]) and q["pfc_enable"] == prio
        assert q["dscp_to_tc_map"] in db["DSCP_TO_TC_MAP"]
        assert q["tc_to_pg_map"] in db["TC_TO_PRIORITY_GROUP_MAP"]
        assert q["tc_to_queue_map"] in db["TC_TO_QUEUE_MAP"]
        assert q["pfc_to_queue_map"] in db["MAP_PFC_PRIORITY_TO_QUEUE"]
    for key, pg in db["BUFFER_PG"].items():
        port, num = key.split("|")
        assert port in carrying and PG.fullmatch(num) and num == prio and pg == {"profile": "NULL"}
    for port, length in db["CABLE_LENGTH"][sonic.CABLE_LENGTHS].items():
        assert port in carrying and LENGTH.fullmatch(length)
    if r.qos["ecn"]:
        wred = db["WRED_PROFILE"][sonic.LOSSLESS_WRED]
        assert wred["ecn"] == "ecn_all"
        assert all(0 <= int(wred[f"{c}_drop_probability"]) <= 100 for c in ("green", "red"))
        assert {k.split("|")[0] for k in db["QUEUE"]} == carrying
        assert {v["wred_profile"] for v in db["QUEUE"].values()} == {sonic.LOSSLESS_WRED}


def test_hccl_default_traffic_class_is_lossless() -> None:
    """HCCL_RDMA_TC 132 = DSCP 33 (shared/reference/README.md), HCCL_RDMA_SL 4: a SONiC switch
    of that plane (lab-mini's parameter spines) maps DSCP 33 to priority 4 and runs PFC on it
    (the Shenzhen parameter fabric runs VRP: tests/test_vrp.py)."""
    spine = next(r for r in routed(LAB).values() if r.plane == "param" and r.os == "sonic")
    assert spine.qos == {"dscp": 33, "traffic_class": 132, "pfc_priority": 4, "ecn": True}
    db = sonic.config_db(spine)
    assert db["DSCP_TO_TC_MAP"][sonic.MAP]["33"] == "4"
    assert {q["pfc_enable"] for q in db["PORT_QOS_MAP"].values()} == {"4"}


def test_shenzhen_fabric_runs_vrp_and_sonic() -> None:
    """The domestic build: the parameter fabric on CloudEngine (VRP), storage on SONiC."""
    rs = routed(SHENZHEN)
    assert {(r.plane, r.os) for r in rs.values()} == {("param", "vrp"), ("storage", "sonic")}


# ---- bgpd.conf (split mode) through real FRR ------------------------------------------------


def bgpd_dry_run(text: str) -> str:
    """What bgpd's dry run (`bgpd -C`) prints reading `text`. bgpd reads the file as user frr:
    it goes in a directory of its own under /tmp that frr can read (pytest's are 0700)."""
    where = Path(tempfile.mkdtemp(prefix="wanka-bgpd-", dir="/tmp"))
    try:
        where.chmod(0o755)
        conf = where / "bgpd.conf"
        conf.write_text(text, encoding="utf-8")
        conf.chmod(0o644)
        r = subprocess.run(
            ["/usr/lib/frr/bgpd", "-C", "-f", str(conf), "-u", "frr", "-g", "frr"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(where, ignore_errors=True)
    assert "open configuration file" not in r.stderr, r.stderr
    return r.stderr


def test_bgpd_conf_is_taken_by_frr(tmp_path: Path) -> None:
    """vtysh's dry run accepts every file; bgpd itself reads a leaf's and a spine's without
    an unknown or incomplete line. bgpd.conf holds no interface or zebra configuration."""
    texts = {name: sonic.render_bgpd(r) for name, r in SWITCHES}
    for name, text in texts.items():
        assert "\ninterface " not in text and "ip forwarding" not in text
        assert "service integrated-vtysh-config" not in text
        path = tmp_path / f"{name.replace(':', '_')}.conf"
        path.write_text(text, encoding="utf-8")
        r = subprocess.run(["vtysh", "-C", "-f", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, (name, r.stdout, r.stderr)
    for name, _ in SWITCHES[:2]:
        err = bgpd_dry_run(texts[name])
        assert not re.search(r"Unknown command|Command returned|line \d+", err), (name, err)


def test_bgpd_dry_run_reports_a_bad_line() -> None:
    """The check above can fail: bgpd's dry run names a broken line."""
    err = bgpd_dry_run("router bgp 1\n neighbor x remote-as\n")
    assert "Command returned Incomplete on config line 2" in err


def test_bgpd_conf_peers_on_config_db_interfaces() -> None:
    for _name, r in SWITCHES:
        text = sonic.render_bgpd(r)
        peers = set(re.findall(r"^ neighbor (Ethernet\d+) interface", text, re.M))
        assert peers == set(sonic.config_db(r)["INTERFACE"])


# ---- Debian/FRR: daemons -------------------------------------------------------------------


def shipped_daemons() -> tuple[dict[str, str], dict[str, str]]:
    """(daemon -> yes/no, daemon -> options) of FRR's shipped /etc/frr/daemons."""
    text = (FIXTURES / "frr_default_daemons.txt").read_text()
    body = text.split("=== tools/etc/frr/daemons (current, verbatim) ===")[1].split("===")[0]
    on = dict(re.findall(r"^(\w+d)=(yes|no)$", body, re.M))
    options = dict(re.findall(r'^(\w+)_options="([^"]*)"$', body, re.M))
    return on, options


@pytest.mark.parametrize("bfd", [True, False])
def test_daemons_turns_on_what_the_switch_runs(bfd: bool, tmp_path: Path) -> None:
    r = next(x for x in routed(LAB).values() if x.os == "debian")  # lab-mini: leaves
    assert r.os == "debian"
    text = frr.render_daemons(replace(r, bfd=bfd))
    shipped_on, shipped_options = shipped_daemons()
    mine_on = dict(re.findall(r"^(\w+d)=(yes|no)$", text, re.M))
    assert set(mine_on) == set(shipped_on) and set(shipped_on.values()) == {"no"}
    assert {d for d, v in mine_on.items() if v == "yes"} == ({"bgpd", "bfdd"} if bfd else {"bgpd"})
    mine_options = dict(re.findall(r'^(\w+)_options="([^"]*)"$', text, re.M))
    assert mine_options and all(shipped_options[d] == v for d, v in mine_options.items())
    assert "vtysh_enable=yes" in text
    # the init script sources it as shell
    path = tmp_path / "daemons"
    path.write_text(text, encoding="utf-8")
    out = subprocess.run(
        ["bash", "-c", f'set -eu; . "{path}"; echo "$bgpd $bfdd $zebra_options"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split()[:2] == ["yes", "yes" if bfd else "no"]


def test_config_db_text_is_the_house_json() -> None:
    """sonic.dumps (one encoder call per table) writes what jsonfmt.dumps writes, byte for byte,
    also where a value holds `}, "` or a table is empty."""
    for _name, r in SWITCHES:
        db = sonic.config_db(r)
        assert sonic.dumps(db) == jsonfmt.dumps(db)
        assert json.loads(sonic.dumps(db)) == db
    odd = {"A": {}, "B": {"x": {}}, "C": {"k": {"a": '}, "b', "c": "\\"}, "j": {}}}
    assert sonic.dumps(odd) == jsonfmt.dumps(odd) and json.loads(sonic.dumps(odd)) == odd
