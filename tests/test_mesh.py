"""wanka.bringup.mesh without a lab: the split of hosts over execution nodes, the file that
names real ones (and its refusals), and the transmit -> worker -> process pipeline of real
ansible-runner on a local-connection inventory, including a worker that dies mid-stream."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, run_wanka

from wanka.bringup import mesh
from wanka.bringup.options import BringupError
from wanka.lab.access import Access, ExecutionNode, Ssh

WORKER = (str(Path(sys.executable).parent / "ansible-runner"), "worker")


def test_split_keeps_pods_whole_and_balances_them() -> None:
    groups = {f"p{p}-s{s}": (f"pod_{p}", f"rack_{p}_{s // 2}") for p in range(3) for s in range(4)}
    groups["p0-s9"] = ("pod_0", "rack_0_9")  # pod 0 is the largest: 5 hosts
    shares = mesh.split(sorted(groups), groups, 2)
    assert [len(s) for s in shares] == [5, 8]
    for share in shares:  # no pod is cut in two
        pods = {groups[h][0] for h in share}
        assert all(
            groups[h][0] not in pods for other in shares if other is not share for h in other
        )
    # more nodes than pods: whole racks instead
    racks = mesh.split(sorted(groups), groups, 4)
    assert len(racks) == 4 and sum(map(len, racks)) == 13
    for share in racks:
        rack_of = {groups[h][1] for h in share}
        assert all(groups[h][1] not in rack_of for o in racks if o is not share for h in o)
    assert mesh.split(["a", "b"], {}, 5) == [["a"], ["b"]]  # empty shares dropped


def test_a_count_needs_the_lab_and_enough_nodes() -> None:
    with pytest.raises(BringupError, match="needs --lab"):
        mesh.nodes("2", None)
    ssh = Ssh(user="root", private_key="k", known_hosts="kh", jump_namespace="j",
              proxy_command="p", options=())  # fmt: skip
    lab = Access(cluster="lab", ssh=ssh, bmc_url=None)
    one = replace(
        lab, execution_nodes=(ExecutionNode(name="x1", namespace="n", command=("true",)),)
    )
    with pytest.raises(BringupError, match="the lab has 1 execution node"):
        mesh.nodes("2", one)
    with pytest.raises(BringupError, match="at least 1"):
        mesh.nodes("0", lab)
    x1 = ExecutionNode(name="x1", namespace="n", command=("a", "b"))
    got = mesh.nodes("1", replace(lab, execution_nodes=(x1,)))
    assert got == [mesh.ExecNode("x1", ("a", "b"))]


@pytest.mark.parametrize(
    "text,message",
    [
        ("execution_nodes: [", r"nodes\.yml:1:19: not YAML: expected the node content"),
        ("nodes: []", "a mapping with `execution_nodes:`"),
        ("execution_nodes:\n  - name: a\n", r"execution_nodes\[0\] \(a\): `command` must be"),
        ("execution_nodes:\n  - {name: a, command: [x], cores: 4}", "unknown: cores"),
        ("execution_nodes:\n  - {command: [x]}", "`name` must be a non-empty string"),
        (
            "execution_nodes:\n  - {name: a, command: [x]}\n  - {name: a, command: [y]}",
            r"execution_nodes\[1\]: execution node a is named twice",
        ),
    ],
)
def test_a_bad_nodes_file_is_refused_precisely(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "nodes.yml"
    f.write_text(text)
    with pytest.raises(BringupError, match=message):
        mesh.nodes(str(f), None)


def test_a_missing_nodes_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BringupError, match="cannot read"):
        mesh.nodes(str(tmp_path / "none.yml"), None)


def _job(tmp_path: Path, playbook: str) -> mesh.Job:
    inv = tmp_path / "inventory"
    (inv / "host_vars" / "a").mkdir(parents=True)
    (inv / "host_vars" / "a" / "v.yml").write_text("wanka_word: alpha\n")
    (inv / "host_vars" / "b").mkdir(parents=True)
    (inv / "host_vars" / "b" / "v.yml").write_text("wanka_word: beta\n")
    local = f"ansible_connection: local, ansible_python_interpreter: {sys.executable}"
    (inv / "hosts.yml").write_text(f"all: {{hosts: {{a: {{{local}}}, b: {{{local}}}}}}}\n")
    (tmp_path / "pb.yml").write_text(playbook)
    return mesh.Job(
        playbook=tmp_path / "pb.yml",
        inventory=inv,
        extravars={},
        envvars={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
        forks=2,
        ident="t1",
        private=tmp_path / "runner",
    )


PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Say the host's word
      ansible.builtin.command: echo {{ wanka_word }}
      changed_when: false
    - name: Stop here on b
      ansible.builtin.command: "{{ 'sleep 20' if inventory_hostname == 'b' else 'true' }}"
      changed_when: false
    - name: "Wanka: host complete"
      ansible.builtin.set_fact:
        wanka_complete: true
"""


def test_transmit_worker_process_gives_each_host_its_result(tmp_path: Path) -> None:
    job = _job(tmp_path, PLAYBOOK.replace("sleep 60", "true"))
    nodes = [mesh.ExecNode("n1", WORKER), mesh.ExecNode("n2", WORKER)]
    results, status, artifacts = mesh.run_shares(
        job, [(nodes[0], ["a"]), (nodes[1], ["b"])], kinds={}
    )
    assert status == "successful"
    assert {n: r.status for n, r in results.items()} == {"a": "ok", "b": "ok"}
    # each node ran its own share with its own host_vars, and its events came back
    assert _said(artifacts / "n1") == {("a", "alpha")}
    assert _said(artifacts / "n2") == {("b", "beta")}
    assert json.loads((artifacts / "mesh.json").read_text()) == {"n1": ["a"], "n2": ["b"]}
    assert not list((tmp_path / "runner" / "mesh" / "t1").iterdir())  # shares cleaned up


def _said(node_artifacts: Path) -> set[tuple[str, str]]:
    out = set()
    for f in (node_artifacts / "job_events").glob("*.json"):
        ev = json.loads(f.read_text())
        data = ev.get("event_data", {})
        if ev.get("event") == "runner_on_ok" and data.get("task") == "Say the host's word":
            out.add((data["host"], data["res"]["stdout"]))
    return out


DIES = f"""
import subprocess, sys
worker = subprocess.Popen({list(WORKER)!r}, stdout=subprocess.PIPE)
for _ in range(12):
    sys.stdout.buffer.write(worker.stdout.readline())
sys.stdout.flush()
worker.kill()
sys.exit(1)
"""


def test_a_worker_that_dies_mid_stream_leaves_its_hosts_not_run(tmp_path: Path) -> None:
    job = _job(tmp_path, PLAYBOOK)
    # the worker runs, then its node dies: 12 lines of its stream pass, then it is killed
    cut = (sys.executable, "-c", DIES)
    results, status, _ = mesh.run_shares(
        job, [(mesh.ExecNode("n1", WORKER), ["a"]), (mesh.ExecNode("n2", cut), ["b"])], kinds={}
    )
    assert status == "error"
    assert results["a"].status == "ok"
    b = results["b"]
    assert b.status == "skipped" and [f.id for f in b.failed] == ["not-run"]
    assert "execution node n2 stopped mid-run" in b.failed[0].reason
    assert "--resume" in b.failed[0].reason


def test_the_command_line_refuses_bad_execution_nodes_before_writing(tmp_path: Path) -> None:
    lab = str(ROOT / "examples/lab-mini/cluster.yaml")
    out = tmp_path / "run"
    res = run_wanka("verify", lab, "--execution-nodes", "2", "--out", str(out))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "a count names the lab's execution nodes and needs --lab" in res.stderr
    bad = tmp_path / "nodes.yml"
    bad.write_text("execution_nodes:\n  - {name: a}\n")
    res = run_wanka("bringup", lab, "--execution-nodes", str(bad), "--out", str(out))
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert f"{bad}: execution_nodes[0] (a): `command` must be a non-empty list" in res.stderr
    assert not out.exists()
