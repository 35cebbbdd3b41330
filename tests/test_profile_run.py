"""benchmarks/profile_run.py on real ansible-runner events: the first 98 events of a
no-change `wanka bringup` on lab-mini (tests/fixtures/runner/bringup-no-change-bmc.json,
its `source` says where they come from), written back one per file as ansible-runner does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import profile_run  # noqa: E402

FIXTURE = ROOT / "tests/fixtures/runner/bringup-no-change-bmc.json"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert data["source"].startswith("ansible-runner")
    events = tmp_path / "runner/artifacts/20261208T011226-bringup/job_events"
    events.mkdir(parents=True)
    for e in data["events"]:
        (events / f"{e['counter']}-{e['uuid']}.json").write_text(json.dumps(e))
    return tmp_path


def test_the_bmc_role_of_a_no_change_run(run_dir: Path) -> None:
    p = profile_run.profile(profile_run.artifacts(run_dir))
    assert p["artifacts"].endswith("20261208T011226-bringup")
    assert p["tasks"] == 5 and set(p["roles"]) == {"bmc"}
    by_task = {t["task"]: t for t in p["tasks_by_span"]}
    # identity, BIOS and boot target are not asked for on the lab: skipped on all 8 hosts
    for name in ("The BMC's server is the one the manifest puts here", "Set the BIOS profile",
                 "Set the one-time boot target"):  # fmt: skip
        assert (by_task[name]["skipped"], by_task[name]["ok"]) == (8, 0), name
    power = by_task["Power the server on"]
    assert (power["ok"], power["changed"], power["action"]) == (8, 0, "wanka_redfish")
    assert p["tasks_all_skipped"] == 3 and p["host_results"] == 40
    # the spans of the tasks add up to the run, each at least its slowest host
    assert sum(t["span_s"] for t in p["tasks_by_span"]) == pytest.approx(p["wall_s"], abs=1.5)
    assert all(t["span_s"] >= t["slowest_host_s"] > 0 for t in p["tasks_by_span"])


def test_no_events_is_said(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no job_events below"):
        profile_run.artifacts(tmp_path)
