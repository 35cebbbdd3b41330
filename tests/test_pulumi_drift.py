"""`wanka drift|refresh` and `up|preview --refresh` without the engine: the report's three
formats, the exit code, and the command line (`--lab` optional as in bring-up). The engine's
side is tested on real runs: tests/test_pulumi_engine_bmc.py (a server's power, no root) and
tests/test_pulumi_engine.py (the lab: a server and a leaf's BGP line, through the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT

from wanka.cli.main import parser as build_parser
from wanka.pulumi import drift
from wanka.pulumi.drift import Difference, Finding, Report

LAB = ROOT / "examples/lab-mini/cluster.yaml"


def _report() -> Report:
    r = Report("lab", "p1", ["lab-p1"])
    r.findings = [
        Finding(
            "lab-p1",
            "BareMetalNode",
            "lab-p1-pod01-r01-s01",
            "update",
            [Difference("power", "On", "Off"), Difference("BIOS ProcTurboMode", "Enabled", None)],
        ),
        Finding(
            "lab-p1",
            "SwitchConfig",
            "lab-p1-pod01-param-leaf01",
            "update",
            lines=["-  neighbor swp29 description a|b"],
        ),
    ]
    return r


def test_text_names_each_device_and_what_differs() -> None:
    out = drift.text(_report())
    assert out.splitlines() == [
        "lab-p1: BareMetalNode lab-p1-pod01-r01-s01 (update):",
        "  power: model On, device Off",
        "  BIOS ProcTurboMode: model Enabled, device -",
        "lab-p1: SwitchConfig lab-p1-pod01-param-leaf01 (update):",
        "  -  neighbor swp29 description a|b",
        "wanka drift: lab phase p1, 1 stack: 2 devices drifted",
    ]
    assert drift.text(Report("lab", "p1", ["lab-p1"])).endswith(": no drift\n")


def test_markdown_is_a_table_a_ticket_can_hold() -> None:
    out = drift.markdown(_report())
    rows = [x for x in out.splitlines() if x.startswith("| lab-p1 ")]
    assert len(rows) == 2
    assert "power: model On, device Off<br>BIOS ProcTurboMode" in rows[0]
    assert "description a\\|b" in rows[1]  # a pipe in a line does not break the table
    assert "No drift in 1 stack." in drift.markdown(Report("lab", "p1", ["lab-p1"]))


def test_json_and_a_stack_not_read() -> None:
    r = _report()
    r.failed["lab-p2"] = "BareMetalNode x: read the BMC: no answer within 10 s"
    data = json.loads(drift.dumps(r))
    assert data["drifted"] is True and data["failed"] == r.failed
    assert data["devices"][0]["differences"][0] == {"what": "power", "model": "On", "device": "Off"}
    assert "lab-p2: not read: BareMetalNode x" in drift.text(r)
    assert drift.text(r).endswith(": 2 devices drifted, 1 not read\n")
    empty = Report("lab", "p1", ["lab-p1"], failed={"lab-p1": "x"})
    assert empty.drifted  # a stack that could not be read is not a clean bill


def test_the_switch_lines_fall_back_to_the_models_change() -> None:
    """The switch runs what was applied (no `drift`), the model changed since: the diff."""
    old = {"config": "router bgp 1\n maximum-paths 8\n", "drift": []}
    new = {"config": "router bgp 1\n maximum-paths 1\n"}
    assert drift._switch("leaf", old, new) == ["- maximum-paths 8", "+ maximum-paths 1"]
    assert drift._switch("leaf", {**old, "drift": ["- x"]}, new) == ["- x"]  # read's lines
    assert drift._switch("leaf", {**new, "drift": []}, new) == []


def test_lab_is_optional_in_every_stack_verb() -> None:
    p = build_parser()
    for verb in ("preview", "up", "refresh", "destroy", "drift"):
        assert p.parse_args([verb, "c.yaml", "--phase", "p1", "--lab"]).lab == ""
        assert p.parse_args([verb, "c.yaml", "--phase", "p1", "--lab", "/x"]).lab == "/x"
        assert p.parse_args([verb, "c.yaml", "--phase", "p1"]).lab is None
    assert p.parse_args(["bringup", "c.yaml", "--lab"]).lab == ""  # as bring-up takes it
    assert p.parse_args(["up", "c.yaml", "--phase", "p1", "--refresh"]).refresh is True
    assert p.parse_args(["preview", "c.yaml", "--phase", "p1", "--refresh"]).refresh is True
    args = p.parse_args(["drift", "c.yaml", "--phase", "p1", "--format", "markdown"])
    assert args.format == "markdown" and args.op == "drift"
    with pytest.raises(SystemExit):
        p.parse_args(["destroy", "c.yaml", "--phase", "p1", "--refresh"])


def test_a_lab_that_is_not_there_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wanka.cli.stacks import cmd_stacks

    monkeypatch.setenv("PULUMI_BACKEND_URL", (tmp_path / "state").as_uri())
    args = build_parser().parse_args(
        ["drift", str(LAB), "--phase", "p1", "--stacks", str(ROOT / "stacks"),
         "--lab", str(tmp_path / "nolab"), "--logs", str(tmp_path / "logs")]
    )  # fmt: skip
    assert cmd_stacks(args) == 2
    err = capsys.readouterr().err
    lab = tmp_path / "nolab"
    assert err.strip() == (
        f"wanka drift: {lab}/access.json: no such file (is the lab up? "
        f"`wanka lab up FILE --dir {lab}`)"
    )
    assert not (tmp_path / "logs").exists()  # refused before anything was set up
