"""Bring-up and verify over execution nodes, end to end on the lab (examples/lab-mini, 8
servers, `netlab.up(..., execution_nodes=2)`): the run's hosts split by pod over the lab's
execution nodes (namespaces on the management network), each share sent as an
ansible-runner transmit stream to `ansible-runner worker` there, the events processed back
here. Over 1 and over 2 execution nodes a run gives the same per-host report (the same
checks, the same verdicts) as the plain run; an execution node killed mid-run (its worker,
by the pid this run started) leaves its unfinished hosts `not-run` and the others' results
kept, and `--resume` runs exactly those and brings the phase to green.

Needs root, FRR, lldpd, sshd like tests/test_bringup_lab.py (fails, never skips, without
them); takes the session's lab-mini (tests/labkit.py: it has 2 execution nodes), fresh.
Run it alone under the machine's lab lock:
`flock /tmp/wanka-lab.lock .venv/bin/python -m pytest -q tests/test_bringup_mesh_lab.py`.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_wanka
from labkit import MINI, Lab, Labs

from wanka.bringup import mesh

LAB = str(MINI)


@pytest.fixture(scope="module")
def lab(labs: Labs) -> Lab:
    return labs.get(MINI, fresh=True)  # its first bring-up must change things


def verdicts(r: dict[str, Any]) -> dict[str, Any]:
    """What the per-host report says: each host's status, failures, and every check's
    verdict (check, port, status)."""
    return {
        name: (
            h["status"],
            sorted((f["check"], f["port"]) for f in h["failed"]),
            sorted((c["check"], c["port"], c["status"]) for c in h["checks"]),
        )
        for name, h in r["hosts"].items()
    }


def test_execution_nodes_are_listed_and_refused_when_too_many(lab: Lab) -> None:
    assert [x["name"] for x in lab.access["execution_nodes"]] == ["x1", "x2"]
    status = run_wanka("lab", "status", str(lab.dir))
    assert json.loads(status.stdout)["execution_nodes"] == ["x1", "x2"], status.stderr
    res = run_wanka(
        "verify", LAB, "--lab", str(lab.dir), "--execution-nodes", "3",
        "--out", str(lab.base / "refused"),
    )  # fmt: skip
    assert res.returncode == 2, res.stdout + res.stderr
    assert "the lab has 2 execution node(s)" in res.stderr
    assert not (lab.base / "refused").exists()  # refused before anything is written


def test_bringup_and_verify_over_execution_nodes_match_the_plain_run(lab: Lab) -> None:
    assert lab.run("fabric")["ok"]
    first = lab.run("bringup", execution_nodes="2")
    assert first["ok"], first["summary"]
    assert sorted(first["hosts"]) == sorted(lab.access["nodes"]) and first["changed"] > 0
    shares = json.loads((Path(first["artifacts"]) / "mesh.json").read_text())
    assert sorted(shares) == ["x1", "x2"]  # the two pods, one per node
    assert sorted(h for s in shares.values() for h in s) == sorted(lab.access["nodes"])
    assert {h.split("-pod")[0] for h in shares["x1"]} != {h.split("-pod")[0] for h in shares["x2"]}
    plain = lab.run("bringup")
    assert plain["ok"] and plain["changed"] == 0, plain["summary"]
    one = lab.run("bringup", execution_nodes="1")
    assert one["ok"] and one["changed"] == 0, one["summary"]
    assert verdicts(one) == verdicts(plain)

    v_plain = lab.run("verify")
    assert v_plain["ok"], v_plain["summary"]
    for n in ("1", "2"):
        v = lab.run("verify", out=f"verify-{n}", execution_nodes=n)
        assert v["ok"], v["summary"]
        assert verdicts(v) == verdicts(v_plain)
        tables = {Path(p).name: json.loads(Path(p).read_text()) for p in v["rank_tables"]}
        plain_tables = {
            Path(p).name: json.loads(Path(p).read_text()) for p in v_plain["rank_tables"]
        }
        assert tables == plain_tables
        junit = (lab.base / f"verify-{n}" / "verify-report.xml").read_text()
        assert junit.count("<testcase") == (
            lab.base / "run" / "verify-report.xml"
        ).read_text().count("<testcase")


def in_namespace(ns: str, word: str) -> list[int]:
    """The pids of the processes in network namespace `ns` whose command line has `word`."""
    here = os.stat(f"/run/netns/{ns}")
    out = []
    for entry in Path("/proc").iterdir():
        try:
            st = os.stat(entry / "ns" / "net")
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino) and word in cmd:
            out.append(int(entry.name))
    return out


def test_a_killed_execution_node_is_noticed_and_resume_finishes_its_hosts(lab: Lab) -> None:
    out = lab.base / "killed"
    result: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: result.update(lab.run("verify", out="killed", execution_nodes="2")),
        daemon=True,
    )
    runner.start()
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and runner.is_alive() and time.monotonic() < deadline:
        for ident in (out / "runner" / "artifacts").glob("*"):
            pids = mesh.worker_pids(ident)
            events = len(list((ident / "x2" / "job_events").glob("*.json")))
            if "x2" in pids and events >= 12:  # x2's hosts are under way
                os.kill(pids["x2"], signal.SIGKILL)  # the worker this run started, by pid
                killed = pids["x2"]
        time.sleep(0.05)
    runner.join(600)
    assert killed is not None, "x2's worker was not seen under way"
    assert not runner.is_alive()
    x2 = lab.access["execution_nodes"][1]["namespace"]
    deadline = time.monotonic() + 30  # the node's Ansible dies with its worker
    while in_namespace(x2, "ansible-playbook") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not in_namespace(x2, "ansible-playbook")
    r = result
    assert not r["ok"]
    shares = json.loads((Path(r["artifacts"]) / "mesh.json").read_text())
    unfinished = {n for n, h in r["hosts"].items() if h["status"] != "ok"}
    assert unfinished and unfinished <= set(shares["x2"])
    for name in unfinished:
        h = r["hosts"][name]
        assert h["status"] == "skipped", h
        assert [f["check"] for f in h["failed"]] == ["not-run"]
        assert "execution node x2 stopped mid-run" in h["failed"][0]["reason"]
        assert "killed by signal 9" in h["failed"][0]["reason"]
    assert all(r["hosts"][n]["status"] == "ok" for n in shares["x1"])  # nothing lost
    again = lab.run("verify", out="killed", execution_nodes="2", resume=True)
    assert sorted(again["ran"]) == sorted(unfinished)  # nothing finished runs again
    assert again["ok"], again["summary"]
    assert sorted(again["hosts"]) == sorted(r["hosts"])  # the whole phase, green
    assert sorted(r["hosts"]) == sorted(h for s in shares.values() for h in s)
