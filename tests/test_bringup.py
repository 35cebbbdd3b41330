"""Bring-up and verify without the lab: the report formats, the event stream -> per-host
results, RoCE ping attribution, the expectations derived from the model, and real
ansible-runner runs against a real Redfish emulator with unreachable servers (resume picks
only the hosts that did not pass; no credential reaches the run directory)."""

from __future__ import annotations

import json
import os
import signal
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import ansible_module
import pytest
from conftest import ROOT, run_wanka

from wanka.bringup import expect, runner
from wanka.bringup import report as verifyreport
from wanka.bringup import run as bringup
from wanka.bringup.options import BringupError, Options
from wanka.bringup.prepare import (
    DEFAULT_MAX_FAIL,
    DEFAULT_SERIAL,
    Prepared,
    shared,
)
from wanka.bringup.prepare import rollout as phase_rollout
from wanka.bringup.results import Check, HostResult, RunResult
from wanka.bringup.run import run_playbook
from wanka.lab import bmc
from wanka.pipeline import check, derive

LAB = str(ROOT / "examples/lab-mini/cluster.yaml")
S01, S02 = "lab-p1-pod01-r01-s01", "lab-p1-pod01-r01-s02"
SECRET = "Wk-s3cret-bmc-9d1f"


def _host(status: Any, failed: tuple[Check, ...] = (), **kw: Any) -> HostResult:
    return HostResult(status=status, failed=failed, **kw)


DOWN = Check(id="link", port="npu3", status="fail", reason="link status: DOWN")


def sample() -> RunResult:
    hosts = {
        S01: _host("ok"),
        S02: _host(
            "failed",
            (DOWN,),
            checks=(
                DOWN,
                Check(id="lldp", port="npu3", status="skip", reason="link down"),
                Check(id="link", port="npu2", status="pass"),
            ),
        ),
        "leaf": _host("ok", kind="switch"),
    }
    result = RunResult(playbook="verify", phase="p1", hosts=hosts)
    return replace(result, summary=verifyreport.summary(result))


def test_summary_names_node_port_check_and_changed() -> None:
    text = sample().summary
    assert text.splitlines()[0] == (
        "wanka verify p1: 1 of 2 nodes ok (1 failed); 1 of 1 switches ok; changed=0"
    )
    assert f"{S02} failed: link npu3: link status: DOWN" in text
    assert S01 not in text


def test_junit_has_a_case_per_check_and_port() -> None:
    root = ET.fromstring(verifyreport.junit(sample()))
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert cases[(S02, "link[npu3]")].find("failure") is not None
    assert cases[(S02, "lldp[npu3]")].find("skipped") is not None
    assert cases[(S02, "link[npu2]")].find("failure") is None
    assert cases[(S01, "verify")].find("failure") is None
    nodes = next(s for s in root.iter("testsuite") if s.get("name") == "verify.nodes")
    assert (nodes.get("tests"), nodes.get("failures"), nodes.get("skipped")) == ("4", "1", "1")


def test_write_puts_three_files(tmp_path: Path) -> None:
    paths = verifyreport.write(sample(), tmp_path, prefix="verify")
    data = json.loads(paths["json"].read_text())
    assert data["ok"] is False and data["changed"] == 0 and "report" not in data
    assert data["hosts"][S02]["failed"] == [
        {"check": "link", "port": "npu3", "reason": "link status: DOWN"}]  # fmt: skip
    assert data["hosts"][S02]["checks"][1] == {
        "check": "lldp", "port": "npu3", "status": "skip", "reason": "link down"}  # fmt: skip
    assert data["hosts"]["leaf"] == {
        "status": "ok", "changed": 0, "kind": "switch", "failed": [], "checks": []}  # fmt: skip
    back = {n: HostResult.from_dict(h) for n, h in data["hosts"].items()}
    assert back == dict(sample().hosts)  # what --resume reads is what was written
    assert paths["summary"].read_text().startswith("wanka verify p1")
    ET.parse(paths["junit"])


def test_failed_checks_come_from_the_task_result_not_its_message() -> None:
    """A module's failure travels as res.checks (wanka_redfish, wanka_node action=fail): the
    message is for people and is not parsed; a task without checks fails as its role."""
    c = runner.Collector(["a", "b"], {}, runner.Progress("bringup", total=2))
    bmc_fail = {"check": "bmc", "port": "", "status": "fail", "reason": "power is Off"}
    c.event(_ev("runner_on_failed", "a", msg="bmc: power is Off", checks=[bmc_fail]))
    ev = _ev("runner_on_failed", "b", "Install the driver", msg="check=x port=y reason=z")
    ev["event_data"]["role"] = "npu_driver"
    c.event(ev)
    hosts = c.results()
    assert hosts["a"].failed == (Check(id="bmc", status="fail", reason="power is Off"),)
    assert hosts["b"].failed == (
        Check(id="npu_driver", reason="Install the driver: check=x port=y reason=z"),
    )


def test_a_refused_installer_is_told_by_its_own_error_line() -> None:
    """A command that exits non-zero fails its role with what it printed (the driver's
    refusal of a missing user, verbatim from Huawei's scripts, reference ascend_10; colour
    codes dropped), not Ansible's "non-zero return code"."""
    c = runner.Collector(["a"], {}, runner.Progress("bringup", total=1))
    out = (
        "Verifying archive integrity...  100%\n"
        "[ERROR]ERR_NO:0x0091;ERR_DES:HwHiAiUser not exists! Please add HwHiAiUser\n"
    )
    ev = _ev("runner_on_failed", "a", "Upgrade the driver", msg="non-zero return code",
             rc=1, stdout=out, stderr="")  # fmt: skip
    ev["event_data"]["role"] = "npu_driver"
    c.event(ev)
    (failed,) = c.results()["a"].failed
    assert failed.id == "npu_driver"
    assert failed.reason == (
        "Upgrade the driver: exit 1: "
        "[ERROR]ERR_NO:0x0091;ERR_DES:HwHiAiUser not exists! Please add HwHiAiUser"
    )
    ev = _ev("runner_on_failed", "a", "t", msg="non-zero return code", rc=2, stdout="",
             stderr="\x1b[31mno such file\x1b[0m\n")  # fmt: skip
    c.event(ev)
    assert c.results()["a"].failed[-1].reason == "t: exit 2: no such file"


def _ev(kind: str, host: str, task: str = "t", **res: Any) -> dict[str, Any]:
    return {"event": kind, "event_data": {"host": host, "task": task, "res": res}}


def test_collector_statuses_and_not_run_hosts() -> None:
    p = runner.Progress("verify", total=4)
    seen: list[str] = []
    c = runner.Collector(["a", "b", "c", "d"], {"d": "switch"}, p, lambda q: seen.append(q.line()))
    c.event(_ev("runner_on_ok", "a", changed=True))
    c.event(_ev("runner_on_ok", "a", runner.DONE_TASK))
    checks = [
        {"check": "lldp", "port": "npu1", "status": "fail", "reason": "wrong neighbour"},
        {"check": "link", "port": "npu1", "status": "pass", "reason": ""},
    ]
    c.event(_ev("runner_on_failed", "b", checks=checks, msg="check=lldp ..."))
    c.event(_ev("runner_on_unreachable", "c", msg="Connection refused"))
    hosts = c.results()
    assert hosts["a"].status == "ok" and hosts["a"].changed == 1
    assert hosts["b"].status == "failed"
    assert [f.failure() for f in hosts["b"].failed] == [
        {"check": "lldp", "port": "npu1", "reason": "wrong neighbour"}]  # fmt: skip
    assert [x.to_dict() for x in hosts["b"].checks] == checks
    assert hosts["c"].status == "unreachable" and hosts["c"].failed[0].id == "ssh"
    assert hosts["d"].status == "skipped" and hosts["d"].kind == "switch"
    assert hosts["d"].failed[0].id == "not-run"
    assert (p.done, p.failed, p.remaining) == (1, 2, 1)
    assert seen and "1 done, 2 failed, 1 remaining of 4 hosts" in seen[-1]


def test_a_ping_to_a_broken_port_is_not_the_senders_fault() -> None:
    ping = Check(id="roce-ping", port="npu2", reason="no answer", peer=f"{S02}:npu3")
    hosts = {S01: _host("failed", (ping,), checks=(ping,)), S02: sample().hosts[S02]}
    after = bringup._reattribute_pings(hosts)
    assert after[S01].status == "ok" and after[S01].failed == ()
    assert after[S01].checks[0].status == "skip"
    assert after[S01].checks[0].reason == f"peer {S02}:npu3 failed its own checks"
    assert after[S02] is hosts[S02] and after[S02].status == "failed"  # the cause stays
    # a ping to a port that passed its own checks stays the sender's failure
    to_good = replace(ping, peer=f"{S02}:npu2")
    hosts = {S01: _host("failed", (to_good,), checks=(to_good,)), S02: sample().hosts[S02]}
    assert bringup._reattribute_pings(hosts)[S01].status == "failed"


def test_expectations_follow_the_model_and_cabling() -> None:
    d = derive(check(LAB))
    exp = expect.expectations(d, list(d.cluster.nodes), list(d.cluster.switches), "p1")
    node = exp[S01]
    assert node["kind"] == "node" and node["npu"]["cards"] == 8
    assert node["cpu"] == {
        "model": "Kunpeng 920 7265",
        "arch": "aarch64",
        "sockets": 4,
        "cores_per_socket": 48,
    }
    cables = {(c.a.device, c.a.port): (c.b.device, c.b.port) for c in d.cabling.cables}
    for dev in node["npu"]["devices"]:
        assert (dev["switch"], dev["switch_port"]) == cables[(S01, f"param{dev['card']}")]
        peer, _, port = dev["ping_peer"].partition(":")
        assert peer != S01 and port == f"npu{(dev['device'] + 1) % 8}"
    spine = exp["lab-p1-core-param-spine01"]
    assert spine["routed"] and spine["bgp_peers"]  # only p1 leaves: p2 is not there yet
    p2_leaf = exp["lab-p2-pod01-param-leaf01"]
    assert len(p2_leaf["bgp_peers"]) == 4
    assert not exp["lab-p1-pod01-mgmt-leaf01"]["routed"]
    every = expect.expectations(d, [], list(d.cluster.switches))  # all phases: p2 leaves too
    assert len(every["lab-p1-core-param-spine01"]["bgp_peers"]) == 2 * len(spine["bgp_peers"])


def test_expected_port_speed_and_pfc_come_from_the_model() -> None:
    d = derive(check(LAB))
    node = expect.expectations(d, [d.cluster.node(S01)], [], "p1")[S01]
    plane = next(p for p in d.cluster.planes.values() if p.role == "parameter")
    assert plane.qos is not None and plane.qos.pfc_priority == 4
    for dev in node["npu"]["devices"]:
        assert dev["speed_mbps"] == d.cluster.node(S01).model.nic(plane.name).speed * 1000
        assert dev["pfc"] == "0,0,0,0,1,0,0,0"  # priority 4 alone


def test_lab_runs_few_hosts_at_once_real_hosts_many() -> None:
    cpus = os.cpu_count() or 1
    assert bringup._forks(32, lab=True) == min(32, 4 * cpus)
    assert bringup._forks(2, lab=True) == 2
    assert bringup._forks(32, lab=False) == 32 and bringup._forks(500, lab=False) == 50


def _wanka_node() -> Any:
    return ansible_module.load("wanka_node")  # with its module_utils, as AnsiballZ ships it


class _Tools:
    """hccn_tool answers of one port, as a node would print them."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def run(self, argv: list[str], timeout: int = 60) -> tuple[int, str, str]:
        return 0, self.answers.get(argv[3], ""), ""


def test_speed_and_pfc_checks_fail_with_what_the_port_says() -> None:
    mod = _wanka_node()
    dev = {"device": 0, "address": "10.0.0.2", "netmask": "255.255.255.0", "gateway": "",
           "netdetect": "", "speed_mbps": 400000, "pfc": "0,0,0,0,1,0,0,0"}  # fmt: skip
    exp = {"npu": {"devices": [dev]}}
    good = {
        "-link": "link status: UP\n",
        "-speed": "Speed: 400000 Mb/s\n",
        "-pfc": "PFC configuration:\npriority   0 1 2 3 4 5 6 7\nenabled    0 0 0 0 1 0 0 0\n",
    }
    ok = mod.check_ports(_Tools(good), exp, {"link", "speed", "pfc"})
    assert [(r["check"], r["status"]) for r in ok] == [
        ("link", "pass"), ("speed", "pass"), ("pfc", "pass")]  # fmt: skip
    bad = dict(
        good,
        **{
            "-speed": "Speed: 200000 Mb/s\n",
            "-pfc": good["-pfc"].replace("0 0 0 1 0 0 0\n", "0 0 1 1 0 0 0\n"),
        },
    )
    res = {r["check"]: r for r in mod.check_ports(_Tools(bad), exp, {"speed", "pfc"})}
    assert res["speed"]["status"] == "fail"
    assert res["speed"]["reason"] == "port at 200G, the model says 400G"
    assert res["pfc"]["status"] == "fail"
    assert res["pfc"]["reason"] == "PFC on priorities 3 4, the model says 4"
    down = dict(good, **{"-link": "link status: DOWN\n"})
    res = {r["check"]: r for r in mod.check_ports(_Tools(down), exp, {"link", "speed", "pfc"})}
    assert res["speed"]["status"] == "skip" and res["speed"]["reason"] == "link down"
    assert res["pfc"]["status"] == "skip" and res["pfc"]["reason"] == "link down"
    plain = {"npu": {"devices": [dict(dev, pfc=None, speed_mbps=None)]}}  # no QoS, no NIC speed
    res = {r["check"]: r for r in mod.check_ports(_Tools(good), plain, {"speed", "pfc"})}
    assert (res["pfc"]["status"], res["pfc"]["reason"]) == ("skip", "no QoS on the plane")
    assert (res["speed"]["status"], res["speed"]["reason"]) == ("skip", "no NIC speed in the model")


class _Module:
    """What wanka_node's failure sends to Ansible (AnsibleModule.fail_json exits)."""

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}

    def fail_json(self, **kw: Any) -> None:
        self.sent = kw


def test_wanka_node_fails_with_structured_checks_the_runner_reads() -> None:
    m = _Module()
    checks = [
        {"check": "link", "port": "npu1", "status": "pass", "reason": ""},
        {"check": "lldp", "port": "npu1", "status": "fail", "reason": "neighbour leaf02:swp3"},
    ]
    ansible_module.util("wanka_module").fail_checks(m, checks)
    assert m.sent["checks"] == checks and m.sent["failed_checks"] == 1
    assert m.sent["msg"] == "1 failed: lldp npu1: neighbour leaf02:swp3"
    c = runner.Collector(["a"], {}, runner.Progress("verify", total=1))
    c.event(_ev("runner_on_failed", "a", **m.sent))
    host = c.results()["a"]
    assert [x.to_dict() for x in host.checks] == checks
    assert host.failed == (Check(id="lldp", port="npu1", reason="neighbour leaf02:swp3"),)


def _with_rollouts(tmp_path: Path, p1: str, p2: str, name: str = "cluster.yaml") -> Path:
    text = (ROOT / "examples/lab-mini/cluster.yaml").read_text(encoding="utf-8")
    for phase, rollout in (("p1", p1), ("p2", p2)):
        anchor = f"    - name: {phase}\n"
        assert anchor in text
        if rollout:
            text = text.replace(anchor, f"{anchor}      rollout: {rollout}\n")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rollout_comes_from_the_phase_unless_the_command_line_says(tmp_path: Path) -> None:
    path = _with_rollouts(tmp_path, "{batch: 25%, max_fail_percent: 10}", "{batch: 2}")
    c = check(str(path)).cluster
    assert phase_rollout(c, "p1", None, None) == ("25%", 10)
    assert phase_rollout(c, "p2", None, None) == ("2", DEFAULT_MAX_FAIL)
    assert phase_rollout(c, "p1", "3", 0) == ("3", 0)  # the command line wins
    with pytest.raises(BringupError, match=r"rollout batch differ \(p1: 25%, p2: 2\)"):
        phase_rollout(c, None, None, None)
    # the command line settles what the phases disagree on
    assert phase_rollout(c, None, "4", 20) == ("4", 20)
    same = check(str(_with_rollouts(tmp_path, "{batch: 4}", "{batch: 4}", "same.yaml"))).cluster
    assert phase_rollout(same, None, None, None) == ("4", DEFAULT_MAX_FAIL)
    plain = check(LAB).cluster
    assert phase_rollout(plain, None, None, None) == (
        DEFAULT_SERIAL, DEFAULT_MAX_FAIL)  # fmt: skip
    # (a lab that does not exist: were the rollout accepted, nothing would be contacted)
    res = run_wanka("bringup", str(path), "--out", str(tmp_path / "run"), "--lab",
                    str(tmp_path / "no-lab"))  # fmt: skip
    assert res.returncode == 2 and "--phase" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "run").exists()  # refused before anything was written
    # a reviewer sees a rollout change in the diff
    res = run_wanka("diff", LAB, str(path), "--format", "json")
    diff = json.loads(res.stdout)
    changes = {(c["kind"], c["name"]): c.get("fields", {}) for c in diff["changes"]}
    assert changes[("phase", "p1")]["rollout"] == {
        "old": None, "new": "batch 25%, max_fail_percent 10"}  # fmt: skip
    assert changes[("phase", "p2")]["rollout"] == {"old": None, "new": "batch 2"}


def test_a_bad_rollout_is_a_schema_error_with_its_position(tmp_path: Path) -> None:
    path = _with_rollouts(tmp_path, "{batch: 0%, max_fail_percent: 120}", "")
    res = run_wanka("validate", str(path))
    assert res.returncode != 0 and "Traceback" not in res.stderr + res.stdout
    out = res.stdout + res.stderr
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "rollout:" in t)
    assert f"{path}:{line}:" in out and "batch" in out and "max_fail_percent" in out


def test_bad_input_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    res = run_wanka("verify", LAB, "--phase", "p9", "--out", str(tmp_path / "r"))
    assert res.returncode == 2 and "unknown phase 'p9'" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_wanka("bringup", LAB, "--lab", str(tmp_path / "nolab"), "--out", str(tmp_path))
    assert res.returncode == 2 and "access.json: no such file" in res.stderr
    res = run_wanka("bringup", LAB, "--batch", "0", "--out", str(tmp_path))
    assert res.returncode == 2 and "a number of hosts or a percentage" in res.stderr
    res = run_wanka("verify", LAB, "--limit", "no-such-host", "--out", str(tmp_path / "r"))
    assert res.returncode == 2 and "no hosts to verify" in res.stderr


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    where = tmp_path_factory.mktemp("bmc")
    bmc.write_config(where, [bmc.system("lab", n, []) for n in (S01, S02)], delay=(1, 1))
    pid, port = bmc.start(where)
    yield port
    os.kill(pid, signal.SIGTERM)


def _unreachable_run(
    port: int, out: Path, prepared: Prepared | None = None, **kw: Any
) -> RunResult:
    """Bring-up of lab-mini's first two servers: real BMCs, no SSH (port 1 refuses)."""
    os.environ["WANKA_BMC_PASSWORD"] = SECRET
    try:
        return run_playbook(
            Options(
                cluster_file=LAB,
                phase="p1",
                out_dir=out,
                extra_vars={
                    "wanka_bmc_url": f"http://127.0.0.1:{port}",
                    "wanka_bmc_system": "{{ inventory_hostname }}",
                    "wanka_bmc_check_identity": False,  # sushy-tools reports no serial
                    "ansible_host": "127.0.0.1",
                    "ansible_port": 1,
                    "bmc_ssh_timeout": 2,
                },
                **kw,
            ),
            prepared=prepared,
        )
    finally:
        del os.environ["WANKA_BMC_PASSWORD"]


def test_unreachable_servers_fail_with_ssh_and_no_secret_is_kept(
    emulator: int, tmp_path: Path
) -> None:
    # the BMC system id is the node name (the emulator serves names too)
    r = _unreachable_run(emulator, tmp_path, limit=f"{S01},{S02}")
    assert r.ok is False and sorted(r.hosts) == [S01, S02]
    for name in (S01, S02):
        h = r.hosts[name]
        assert h.status == "failed", h
        assert [f.id for f in h.failed] == ["ssh"], h
        assert h.changed == 1  # powered on through Redfish
    assert f"{S01} failed: ssh" in r.summary
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    assert Path(r.artifacts, "job_events").is_dir()
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["bringup"] == {S01: "failed", S02: "failed"}
    assert Path(r.report["junit"]).is_file()
    report = json.loads(Path(r.report["json"]).read_text())
    assert report["hosts"][S01]["failed"][0]["check"] == "ssh" and report["ok"] is False
    assert r.rank_tables == ()  # a bring-up is no verification: no rank tables


def ranked(paths: list[str]) -> set[str]:
    """The server ids (management addresses) listed in these rank tables."""
    return {s["server_id"] for p in paths for s in json.loads(Path(p).read_text())["server_list"]}


def test_rank_tables_list_only_nodes_whose_last_verify_passed(tmp_path: Path) -> None:
    d = derive(check(LAB))
    addr = {n.name: str(d.addressing.bonds[(n.name, "mgmt")]) for n in d.cluster.nodes}
    p1 = [n.name for n in d.cluster.nodes if n.pod.phase.name == "p1"]
    state = {n: "ok" for n in p1} | {S02: "failed"}
    written = bringup._write_rank_tables(
        d, tmp_path, "p1", {n for n, s in state.items() if s == "ok"}
    )
    assert written and ranked(written) == {addr[n] for n in p1 if n != S02}


def test_resume_runs_only_hosts_that_did_not_pass(emulator: int, tmp_path: Path) -> None:
    r = _unreachable_run(emulator, tmp_path, limit=f"{S01},{S02}")
    assert r.ran == (S01, S02)
    # pretend S01 passed earlier: --resume must leave it alone and keep its result
    state = json.loads((tmp_path / "state.json").read_text())
    state["bringup"][S01] = "ok"
    (tmp_path / "state.json").write_text(json.dumps(state))
    report = json.loads((tmp_path / "bringup-report.json").read_text())
    report["hosts"][S01] = _host("ok").to_dict()
    (tmp_path / "bringup-report.json").write_text(json.dumps(report))
    r = _unreachable_run(emulator, tmp_path, limit=f"{S01},{S02}", resume=True)
    assert r.ran == (S02,)
    assert r.hosts[S01].status == "ok" and r.hosts[S02].status == "failed"
    events = list(Path(r.artifacts, "job_events").glob("*.json"))
    touched = {json.loads(e.read_text()).get("event_data", {}).get("host") for e in events}
    assert S01 not in touched and S02 in touched


def test_a_shared_preparation_serves_only_its_own_playbook_and_phase(tmp_path: Path) -> None:
    opts = Options(cluster_file=LAB, phase="p1", out_dir=tmp_path / "run")
    prepared = shared(opts, tmp_path / "prepared")
    assert prepared.kinds[S01] == "node" and S01 in prepared.nodes
    assert (prepared.inventory / "host_vars" / S01 / "expect.yml").is_file()
    assert shared(opts, tmp_path / "prepared") == prepared  # found, not made again
    verify = replace(opts, playbook="verify")
    with pytest.raises(BringupError, match="prepared for bringup of phase p1"):
        run_playbook(verify, prepared=prepared)
    assert not (tmp_path / "run").exists()


def test_a_batch_runs_ansible_on_a_shared_preparation_in_its_own_new_directory(
    emulator: int, tmp_path: Path
) -> None:
    """What BringupBatch does: the stack's one preparation, then a real ansible-runner run of
    one rack in a run directory that does not exist yet (its private data dir is made)."""
    opts = Options(cluster_file=LAB, phase="p1", out_dir=tmp_path / "unused")
    prepared = shared(opts, tmp_path / "prepared")
    r = _unreachable_run(emulator, tmp_path / "rack", prepared=prepared, limit=S01)
    assert r.ran == (S01,) and r.hosts[S01].status == "failed"
    assert Path(r.artifacts).is_dir() and (tmp_path / "rack" / "runner").is_dir()


def test_wanka_node_takes_action_fail(capsys: Any) -> None:
    """The roles' own failures (`action: fail`: an unhealthy NPU, no installer for the
    architecture, versions not the model's) pass the module's argument check."""
    from ansible.module_utils.testing import patch_module_args

    mod = _wanka_node()
    failure = {"check": "npu-driver", "port": "", "reason": "firmware not active"}
    args = {"action": "fail", "failures": [failure], "note": "nothing was installed"}
    with patch_module_args(args), pytest.raises(SystemExit) as stop:
        mod.main()
    sent = json.loads(capsys.readouterr().out)
    assert stop.value.code == 1 and sent["failed"], sent
    reason = "firmware not active (nothing was installed)"
    assert sent["checks"] == [dict(failure, status="fail", reason=reason)]
