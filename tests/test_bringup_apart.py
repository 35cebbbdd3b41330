"""wanka.bringup.apart: a bring-up run in a fresh interpreter, started without a fork of the
calling process (the Pulumi provider process, whose gRPC fork handlers aborted
ansible-playbook's pexpect child). No lab: the run's success path is the lab tests'
(test_pulumi_lab.py, test_pulumi_engine.py); here the request, the errors and the fork."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from conftest import ROOT

from wanka.bringup import apart
from wanka.bringup.options import BringupError, Options
from wanka.bringup.prepare import shared
from wanka.bringup.results import Check, HostResult, RunResult

LAB_MINI = str(ROOT / "examples/lab-mini/cluster.yaml")


def test_a_run_result_survives_the_trip_between_processes() -> None:
    fail = Check(id="lldp", port="npu3", reason="neighbour x", status="fail")
    result = RunResult(
        playbook="bringup",
        phase="p1",
        hosts={
            "a": HostResult(status="ok", changed=2, checks=(Check(id="npu-count"),)),
            "b": HostResult(status="failed", changed=1, failed=(fail,), checks=(fail,)),
        },
        lab="/lab",
        batch="50%",
        max_fail_percent=20,
        ran=("a", "b"),
        runner_status="failed",
        duration_s=3.5,
        summary="1 of 2 nodes failed",
        rank_tables=("x.json",),
        report={"json": "r.json"},
    )
    back = RunResult.from_dict(result.to_dict())
    assert back == result and back.ok is False and back.changed == 3


@pytest.fixture
def forks() -> Iterator[list[int]]:
    """Every fork of this process through Python (os.fork, pty.fork: what pexpect does)."""
    seen: list[int] = []
    os.register_at_fork(before=lambda: seen.append(1))
    yield seen
    seen.append(-(10**6))  # the hook cannot be removed: later forks count no more here


def test_the_child_runs_and_its_error_comes_back_without_a_fork_here(
    tmp_path: Path, forks: list[int]
) -> None:
    opts = Options(
        cluster_file=LAB_MINI, phase="p1", limit="no-such-node", out_dir=tmp_path / "run"
    )
    prepared = shared(opts, tmp_path / "prepared")
    before = len(forks)
    with pytest.raises(BringupError, match="no hosts to bringup in phase p1 matching --limit"):
        apart.run(opts, prepared.render.parent)
    assert len(forks) == before  # started by vfork and exec: no fork handler ran here
    # the hook does see the fork ansible-runner's pexpect makes
    child = pexpect.spawn("/bin/true")
    child.expect(pexpect.EOF)
    child.close()
    assert len(forks) == before + 1 and child.exitstatus == 0


def test_a_child_that_dies_is_an_error_naming_why(tmp_path: Path) -> None:
    opts = Options(cluster_file=LAB_MINI, phase="p1", out_dir=tmp_path / "run")
    stopped = r"process stopped \(exit 1\): FileNotFoundError.*prepared.json'$"
    with pytest.raises(BringupError, match=stopped):
        apart.run(opts, tmp_path / "not-prepared")
    with pytest.raises(BringupError, match="no progress view"):
        apart.run(Options(cluster_file=LAB_MINI, out_dir=tmp_path, progress=print), tmp_path)
