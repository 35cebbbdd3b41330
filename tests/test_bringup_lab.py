"""End to end on the lab (examples/lab-mini, 8 servers): fabric, bring-up of every server,
verify all green, a second bring-up that changes nothing; then the lab's faults, three at a
time: verify names exactly each faulty node, port and check while the other hosts pass, and
after the faults are cleared `--resume` brings the failed hosts to green without touching the
others.

Needs root, FRR, lldpd, sshd (CI runs as root; `make deps` installs them): without them these
tests fail, they do not skip. The module takes the session's lab-mini (tests/labkit.py),
fresh: brought up again when an earlier module ran anything on it. Only one lab with servers
runs on a machine at a time.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_wanka
from labkit import MINI, SWITCH_PASSWORD, Lab, Labs

from wanka.derive import routing
from wanka.derive.bundle import Derived
from wanka.render import frr

A = "lab-p1-pod01-r01-s01"
B = "lab-p1-pod01-r01-s02"
C = "lab-p2-pod01-r01-s01"
LEAF = "lab-p1-pod01-param-leaf01"


@pytest.fixture(scope="module")
def lab(labs: Labs) -> Lab:
    return labs.get(MINI, fresh=True)  # its first fabric and bring-up must change things


def ranked(paths: list[str]) -> set[str]:
    """The server ids (management addresses) listed in these rank tables."""
    return {s["server_id"] for p in paths for s in json.loads(Path(p).read_text())["server_list"]}


def failures(r: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(n, f["check"], f["port"]) for n, h in r["hosts"].items() for f in h["failed"]}


def _leaf_running(lab: Lab) -> str:
    vty = lab.access["switches"][LEAF]["vty"]
    return subprocess.run(
        ["vtysh", "--vty_socket", vty, "-c", "show running-config"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip


def test_fabric_up(lab: Lab) -> None:
    """Over SSH: every routed switch's sshd, reached with the cluster file's switch password
    reference (the fixture set it before `lab up`, which kept only its hash)."""
    ssh = lab.access["switches"][LEAF]["ssh"]
    assert ssh["password"] is True and ssh["user"] == "admin"
    r = lab.run("fabric")
    assert r["ok"], r["summary"]
    switches = {n for n, h in r["hosts"].items() if h["kind"] == "switch"}
    assert len(switches) == 8
    # the lab started FRR with the same configuration: what changes is, once per routed
    # switch, a Debian leaf's daemons file (Debian's bgpd=no, bfdd=no turned on) or a SONiC
    # spine's CONFIG_DB (as it boots: every port down, no QoS)
    assert r["changed"] == 4, r["summary"]
    daemons = Path(lab.access["switches"][LEAF]["vty"]) / "daemons"
    assert "\nbgpd=yes\n" in daemons.read_text() and "\nbfdd=yes\n" in daemons.read_text()
    again = lab.run("fabric")
    assert again["ok"] and again["changed"] == 0, again["summary"]
    secret = os.environ[SWITCH_PASSWORD]
    assert not any(
        secret in p.read_text(errors="replace") for p in lab.out.rglob("*") if p.is_file()
    )


def test_fabric_drift_is_repaired(lab: Lab) -> None:
    vty = lab.access["switches"][LEAF]["vty"]
    asn = routing.switch_routing(lab.d)[LEAF].asn
    subprocess.run(
        ["vtysh", "--vty_socket", vty, "-c", "configure terminal", "-c", f"router bgp {asn}",
         "-c", "neighbor FABRIC description changed-by-hand"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    r = lab.run("fabric")
    assert r["ok"] and r["changed"] == 1, r["summary"]
    assert "changed-by-hand" not in _leaf_running(lab)


def test_fabric_refused_leaves_the_old_one_running(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _leaf_running(lab)
    good = frr.render_frr
    bad_line = " neighbour FABRIC description typo"

    def broken(r: routing.SwitchRouting) -> str:
        text = good(r)
        if r.hostname != LEAF:
            return text
        return text.replace(
            " neighbor FABRIC peer-group\n", f" neighbor FABRIC peer-group\n{bad_line}\n"
        )

    monkeypatch.setattr(frr, "render_frr", broken)
    r = lab.run("fabric")
    assert not r["ok"]
    failed = {n: h for n, h in r["hosts"].items() if h["failed"]}
    assert set(failed) == {LEAF}, r["summary"]
    reason = failed[LEAF]["failed"][0]["reason"]
    line = broken(routing.switch_routing(lab.d)[LEAF]).splitlines().index(bad_line) + 1
    assert LEAF in reason and f"line {line}: % Unknown command" in reason, reason
    assert _leaf_running(lab) == before


def test_bringup_of_every_server(lab: Lab) -> None:
    r = lab.run("bringup")
    assert r["ok"], r["summary"]
    assert sorted(r["hosts"]) == sorted(lab.access["nodes"])
    assert r["changed"] > 0
    for node in (A, C):
        out = lab.ssh(node, "hostname; cat /usr/local/Ascend/driver/version.info; "
                      "hccn_tool -i 3 -ip -g; cat /etc/hccn.conf | head -1").stdout  # fmt: skip
        assert out.splitlines()[0] == node
        assert "Version=24.1.rc3" in out and "compatible_version_fw=[7.0.0,7.5.99]" in out
        assert "ipaddr:10.64." in out and out.rstrip().splitlines()[-1].startswith("address_0=")


def test_verify_all_green(lab: Lab, tmp_path: Path) -> None:
    res = run_wanka("verify", str(MINI), "--lab", str(lab.dir), "--out", str(lab.out), timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "8 of 8 nodes ok; 8 of 8 switches ok; changed=0" in res.stdout
    report = json.loads((lab.out / "verify-report.json").read_text())
    checks = {c["check"] for h in report["hosts"].values() for c in h["checks"]}
    assert checks >= {"npu-count", "npu-health", "firmware", "nvme", "link", "speed", "lldp",
                      "address", "gateway", "pfc", "gateway-ping", "roce-ping", "bgp"}  # fmt: skip
    assert checks >= {"qos"}  # the switches' (verify's switch-qos)
    # everything passes but what a Debian/FRR leaf's kernel cannot say of its veths: their
    # speed and PFC are "not checked", never passed
    debian = {sw.name for sw in lab.d.cluster.switches if sw.model.os == "debian"}
    not_checked = [
        (n, c["check"]) for n, h in report["hosts"].items() for c in h["checks"]
        if c["status"] != "pass"
    ]  # fmt: skip
    assert not_checked and {k for _, k in not_checked} == {"speed", "qos"}
    assert {n for n, _ in not_checked} <= debian
    assert all(
        c["status"] == "pass" or (c["status"] == "skip" and c["reason"].startswith("not checked"))
        for h in report["hosts"].values() for c in h["checks"]
    )  # fmt: skip
    tables = [str(t) for t in (lab.out / "hccl").rglob("*.json")]
    addresses = {n["address"] for n in lab.access["nodes"].values()}
    assert ranked(tables) == addresses  # every node passed: every node is ranked


def test_second_bringup_changes_nothing(lab: Lab) -> None:
    r = lab.run("bringup")
    assert r["ok"] and r["changed"] == 0, r["summary"]
    assert "changed=0" in r["summary"]


def _bgp_peer(d: Derived) -> tuple[str, str, str]:
    """(spine, "bgp", its port) at the far end of the leaf's swp29."""
    entry = next(i for i in routing.switch_routing(d)[LEAF].interfaces if i["ifname"] == "swp29")
    return entry["peer"], "bgp", entry["peer_ifname"]


def _leaf_port(d: Derived, node: str, npu: int) -> tuple[str, str, str]:
    """(leaf, "link", its port) at the switch end of the node's NPU port: down as well."""
    c = next(c for c in d.cabling.cables if (c.a.device, c.a.port) == (node, f"param{npu}"))
    return c.b.device, "link", c.b.ifname


FAULTS = {
    # the switch end goes down: the server's port and the leaf's (verify's switch-ports)
    "link-down:{A}:npu3": lambda lab: {(A, "link", "npu3"), _leaf_port(lab.d, A, 3)},
    "npu-health:{B}:npu2": lambda lab: {(B, "npu-health", "npu2")},
    "nvme-missing:{C}": lambda lab: {(C, "nvme", "nvme1n1")},
    "link-speed:{B}:npu6": lambda lab: {(B, "speed", "npu6")},
    "firmware:{B}=6.0.0.1.1": lambda lab: {(B, "firmware", f"npu{i}") for i in range(8)},
    "bmc-down:{A}": lambda lab: {(A, "bmc", "")},
    # slower than the verify role's 10 s Redfish timeout: that BMC fails, the others answer
    "bmc-slow:{C}=15": lambda lab: {(C, "bmc", "")},
    # both ends of the shut session are down: the leaf's swp29 and its spine's port
    "bgp-down:{LEAF}:swp29": lambda lab: {(LEAF, "bgp", "swp29"), _bgp_peer(lab.d)},
    "cable-swap:{A}:npu1={B}:npu5": lambda lab: {(A, "lldp", "npu1"), (B, "lldp", "npu5")},
}
# Each verify run on the lab costs tens of seconds, so the faults go in three at a time, each
# on its own host or check: the run must name exactly the union of what each fault alone names
# (an extra or a missing failure of any one fault shows), and the hosts none of them touches
# pass. Every fault of FAULTS is in one group.
FAULT_GROUPS = [
    ["link-down:{A}:npu3", "npu-health:{B}:npu2", "nvme-missing:{C}"],
    ["firmware:{B}=6.0.0.1.1", "bmc-down:{A}", "bgp-down:{LEAF}:swp29"],
    ["link-speed:{B}:npu6", "bmc-slow:{C}=15", "cable-swap:{A}:npu1={B}:npu5"],
]
assert sorted(f for g in FAULT_GROUPS for f in g) == sorted(FAULTS)


def _wait_mended(lab: Lab, spec: str) -> None:
    """After `spec` is cleared: wait (seconds) until what it broke is heard again."""
    if spec.startswith("cable-swap"):  # until LLDP hears the planned leaf ports
        cabled = {(c.a.device, c.a.port): c.b.port for c in lab.d.cabling.cables}
        deadline = time.monotonic() + 60
        for node, npu in ((A, 1), (B, 5)):
            while f"Ifname: {cabled[(node, f'param{npu}')]}" not in (
                lab.ssh(node, f"hccn_tool -i {npu} -lldp -g").stdout
            ):
                assert time.monotonic() < deadline, f"LLDP of {node} npu{npu} did not recover"
                time.sleep(1)
    if spec.startswith("bgp-down"):  # until the session is back
        sw = lab.access["switches"][LEAF]
        cmd = ["ip", "netns", "exec", sw["namespace"], "vtysh", "--vty_socket", sw["vty"],
               "-c", "show bgp summary json"]  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
            peers = json.loads(out or "{}").get("ipv4Unicast", {}).get("peers", {})
            if peers.get("swp29", {}).get("state") == "Established":
                break
            assert time.monotonic() < deadline, "BGP did not re-establish on swp29"
            time.sleep(1)


@pytest.mark.parametrize(
    "group", FAULT_GROUPS, ids=["+".join(f.split(":")[0] for f in g) for g in FAULT_GROUPS]
)
def test_faults_are_named_exactly_and_resume_mends_them(lab: Lab, group: list[str]) -> None:
    specs = [f.format(A=A, B=B, C=C, LEAF=LEAF) for f in group]
    want = set().union(*(FAULTS[f](lab) for f in group))
    assert lab.fault("add", *specs).returncode == 0
    try:
        r = lab.run("verify")
        assert failures(r) == want, r["summary"]
        bad = {n for n, _, _ in want}
        assert {n for n, h in r["hosts"].items() if h["status"] != "ok"} == bad
        assert all(h["status"] == "ok" for n, h in r["hosts"].items() if n not in bad)
        assert not r["ok"]
        nodes = lab.access["nodes"]  # rank tables list exactly the nodes that passed
        assert ranked(r["rank_tables"]) == {v["address"] for n, v in nodes.items() if n not in bad}
    finally:
        assert lab.fault("clear", *specs).returncode == 0
    for spec in specs:
        _wait_mended(lab, spec)
    r = lab.run("verify", resume=True)
    assert sorted(r["ran"]) == sorted(bad)  # only the hosts that failed
    assert r["ok"], r["summary"]


def test_power_never_a_bad_batch_stops_the_rollout_and_resume_finishes_it(lab: Lab) -> None:
    assert lab.fault("add", f"power-never:{A}").returncode == 0
    try:
        off = run_wanka("lab", "power", str(lab.dir), "off", A, "--wait", timeout=120)
        assert off.returncode == 0, off.stderr
        # batches of 2 in inventory order: A's batch is the first; 1 of 2 failed > 40 %
        r = lab.run(
            "bringup", serial="2", max_fail_percentage=40, extra_vars={"bmc_power_timeout": 6}
        )
        assert r["hosts"][A]["status"] == "failed"
        assert [(f["check"], f["port"]) for f in r["hosts"][A]["failed"]] == [("power", "")]
        # the batch failed: Ansible stops the rollout (A's batch mate is cut short too)
        for name, h in r["hosts"].items():
            if name != A:
                assert h["status"] == "skipped" and h["failed"][0]["check"] == "not-run", name
    finally:
        assert lab.fault("clear", f"power-never:{A}").returncode == 0
    r = lab.run("bringup", resume=True)
    assert sorted(r["ran"]) == sorted(lab.access["nodes"])  # none had finished
    assert r["ok"], r["summary"]
