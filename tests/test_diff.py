"""`wanka diff`: each kind of change is recognised precisely on edited copies of the examples,
changes to building and live phases block, and the three formats and exit codes hold."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_wanka

from wanka.derive.bundle import Derived
from wanka.language.loader import load_file
from wanka.pipeline import check, derive
from wanka.review.diff import Diff, compare
from wanka.review.diffout import markdown, write_text

LAB = (ROOT / "examples/lab-mini/cluster.yaml").read_text(encoding="utf-8")
SZ_DIR = ROOT / "examples/shenzhen-14000p"
P2_PLANNED = "      status: planned\n      depends_on: [p1]"
P2_POD = "        - {name: pod, type: lab-pod, count: 1, hall: lab, row: A}\n\n  manifest"


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"edit anchor not found once: {old!r}"
    return text.replace(old, new)


def p2(status: str, text: str = LAB) -> str:
    return edit(text, P2_PLANNED, f"      status: {status}\n      depends_on: [p1]")


def derived(path: Path) -> Derived:
    result = check(str(path))
    assert not result.errors, [f"{f.where}: {f.message}" for f in result.errors]
    return derive(result)


def diff_of(tmp_path: Path, old: str, new: str, **kw: bool) -> Diff:
    (tmp_path / "old.yaml").write_text(old, encoding="utf-8")
    (tmp_path / "new.yaml").write_text(new, encoding="utf-8")
    return compare(derived(tmp_path / "old.yaml"), derived(tmp_path / "new.yaml"), **kw)


def names(d: Diff, kind: str, op: str) -> list[str]:
    return [
        c.name
        for c in (*d.things, *d.addresses, *d.subnets, *d.cables)
        if c.kind == kind and c.op == op
    ]


def blocking(d: Diff) -> list[tuple[str, str, str]]:
    return [(b.rule, b.phase, b.subject) for b in d.blocking]


def bom(d: Diff) -> dict[str, int]:
    return {b["item"]: b["delta"] for b in d.bom}


def test_identical_files_differ_in_nothing(tmp_path: Path) -> None:
    d = diff_of(tmp_path, LAB, LAB)
    assert d.empty and not d.blocking and not d.blocked
    assert d.counts() == {} and d.racks == [] and d.bom == []
    assert all(p[k]["old"] == p[k]["new"] for p in d.phases for k in p if k != "name")


def test_pod_added_to_a_planned_phase(tmp_path: Path) -> None:
    new = edit(LAB, P2_POD, P2_POD.replace("count: 1", "count: 2"))
    d = diff_of(tmp_path, LAB, new)
    assert names(d, "pod", "added") == ["lab-p2-pod02"]
    assert names(d, "rack", "added") == [f"lab-p2-pod02-r0{i}" for i in (1, 2, 3)]
    assert names(d, "node", "added") == [
        f"lab-p2-pod02-r0{r}-s0{s}" for r in (1, 2) for s in (1, 2)
    ]
    assert sorted(names(d, "switch", "added")) == [
        f"lab-p2-pod02-{p}-leaf01" for p in ("mgmt", "oob", "param")
    ]
    # growth: the new leaf's uplinks land on free ports of the live spines; nothing moves
    assert not blocking(d) and not d.blocked
    assert {c.op for c in (*d.addresses, *d.subnets, *d.cables)} == {"added"}
    uplinks = [c for c in d.cables if c.name.startswith("lab-p2-pod02-param-leaf01 ")]
    assert len(uplinks) == 4 and all("lab-p1-core-param-spine" in str(c.fields) for c in uplinks)
    # 4 servers x (8 NPUs + 1 bond) + 4 BMCs + 1 loopback
    assert len(d.addresses) == 4 * 9 + 4 + 1
    # the parts to order and the figures before and after
    assert bom(d) == {
        "server a2-kunpeng": 4,
        "lab-32x400g (32 x 400G)": 1,
        "lab-48x1g (48 x 1G)": 1,
        "lab-48x25g (48 x 25G)": 1,
        "lc-60 (60 kW)": 2,
        "net-15 (15 kW)": 1,
        **{k: v for k, v in bom(d).items() if k.startswith(("CAT6", "DAC", "AOC", "MMF"))},
    }
    assert sum(v for k, v in bom(d).items() if k.startswith(("CAT6", "DAC", "AOC", "MMF"))) == (
        d.totals["cables"]["new"] - d.totals["cables"]["old"]
    )
    assert d.totals["cards"] == {"old": 64, "new": 96}
    phase = {p["name"]: p for p in d.phases}
    assert phase["p2"]["cards"] == {"old": 32, "new": 64}
    assert phase["p1"]["cards"] == {"old": 32, "new": 32}
    racks = {r["name"]: r for r in d.racks}
    assert set(racks) == {f"lab-p2-pod02-r0{i}" for i in (1, 2, 3)}
    # two 4.5 kW servers in a 60 kW rack; three switches (650 + 150 + 60 W) in a 15 kW one
    assert racks["lab-p2-pod02-r01"]["nominal_kw"] == {"old": None, "new": 9.0}
    assert racks["lab-p2-pod02-r01"]["headroom_kw"] == {"old": None, "new": 51.0}
    assert racks["lab-p2-pod02-r03"]["nominal_kw"] == {"old": None, "new": 0.86}


def with_pod3(text: str, leaves: tuple[str, ...] = ("param", "mgmt", "oob")) -> str:
    """A pod type `lab-pod3`: three compute racks of two servers, then the network rack."""
    return edit(
        edit(text, "max_oversubscription: 4", "max_oversubscription: 6"),  # 6 servers a leaf
        "  layout:",
        "    lab-pod3:\n      racks:\n        - rack: lc-60\n          count: 3\n          nodes:\n"
        "            - {model: a2-kunpeng, count: 2}\n        - rack: net-15\n          switches:\n"
        + "".join(f"            - {{plane: {p}, tier: leaf, count: 1}}\n" for p in leaves)
        + "\n  layout:",
    )


def test_server_rack_added_to_a_pod(tmp_path: Path) -> None:
    """p2's pod gets a third compute rack: its network rack becomes r04, and the old r03 is
    now a compute rack (another rack type): replacing and moving, blocking once building."""
    three = with_pod3(LAB)
    new = edit(three, P2_POD, P2_POD.replace("type: lab-pod,", "type: lab-pod3,"))
    d = diff_of(tmp_path, three, new)
    assert [(c.name, c.fields) for c in d.things if c.kind == "pod"] == [
        ("lab-p2-pod01", {"type": ("lab-pod", "lab-pod3")})
    ]
    assert names(d, "rack", "added") == ["lab-p2-pod01-r04"]
    changed = {c.name: c.fields for c in d.things if c.kind == "rack" and c.op == "changed"}
    assert changed == {"lab-p2-pod01-r03": {"type": ("net-15", "lc-60")}}
    assert names(d, "node", "added") == ["lab-p2-pod01-r03-s01", "lab-p2-pod01-r03-s02"]
    moved = {c.name: c.fields for c in d.things if c.kind == "switch"}
    assert set(moved) == {f"lab-p2-pod01-{p}-leaf01" for p in ("param", "mgmt", "oob")}
    assert all(f["rack"] == ("lab-p2-pod01-r03", "lab-p2-pod01-r04") for f in moved.values())
    r03 = next(r for r in d.racks if r["name"] == "lab-p2-pod01-r03")
    assert r03["nominal_kw"] == {"old": 0.86, "new": 9.0}
    assert not d.blocking
    # the same change to a phase that is being built
    d = diff_of(tmp_path, p2("building", three), p2("building", new))
    assert ("DIFF-LIVE-REMOVE", "p2", "rack lab-p2-pod01-r03") in blocking(d)
    for plane in ("param", "mgmt", "oob"):
        assert ("DIFF-LIVE-RECABLE", "p2", f"switch lab-p2-pod01-{plane}-leaf01") in blocking(d)
    assert all(b.status == "building" for b in d.blocking)


def test_pod_removed_from_a_live_phase_is_one_blocking_removal(tmp_path: Path) -> None:
    two = "        - {name: pod, type: lab-pod, count: 2, hall: lab, row: A}\n    - name: p2"
    old = edit(LAB, two.replace("count: 2", "count: 1"), two)
    d = diff_of(tmp_path, old, LAB)
    assert names(d, "pod", "removed") == ["lab-p1-pod02"]
    assert len(names(d, "node", "removed")) == 4 and len(names(d, "rack", "removed")) == 3
    # the pod, not each of its racks, nodes and switches
    assert blocking(d) == [("DIFF-LIVE-REMOVE", "p1", "pod lab-p1-pod02")]
    assert d.blocked
    assert bom(d)["server a2-kunpeng"] == -4
    assert {c.op for c in d.cables if c.name.startswith("lab-p1-pod02")} == {"removed"}


def test_cidr_change_renumbers_the_live_phase(tmp_path: Path) -> None:
    new = edit(LAB, "cidr: 10.64.0.0/16", "cidr: 10.65.0.0/16")
    d = diff_of(tmp_path, LAB, new)
    assert [(c.kind, c.name, c.fields) for c in d.things] == [
        ("plane", "param", {"cidr": ("10.64.0.0/16", "10.65.0.0/16")})
    ]
    assert len(d.addresses) == 64 and {c.op for c in d.addresses} == {"changed"}
    first = d.addresses[0]
    assert (first.name, first.fields["address"]) == (
        "lab-p1-pod01-r01-s01 npu0",
        ("10.64.0.2", "10.65.0.2"),
    )
    p1_servers = [f"lab-p1-pod01-r0{r}-s0{s}" for r in (1, 2) for s in (1, 2)]
    assert blocking(d) == [
        *(("DIFF-LIVE-RENUMBER", "p1", n) for n in p1_servers),
        ("DIFF-LIVE-RENUMBER", "p1", "subnet param of lab-p1-pod01-param-leaf01"),
    ]
    b = d.blocking[0]
    assert (b.status, b.old, b.new) == ("live", "10.64.0.2", "10.65.0.2")
    assert "and 7 more" in b.message  # one finding per server, not per NPU
    assert d.blocked
    allowed = diff_of(tmp_path, LAB, new, allow_live_changes=True)
    assert not allowed.blocked and len(allowed.blocking) == 5


def test_status_live_then_renumber(tmp_path: Path) -> None:
    """Pinning an address in p2 moves that one address and no other (every host keeps its
    place; the old scheme shifted the three after it): blocking once p2 is live."""
    pin = "  manifest:\n    nodes:\n      lab-p2-pod01-r01-s01: {addresses: {mgmt: 10.90.0.14}}\n"
    live, planned = p2("live"), LAB
    moved = [("lab-p2-pod01-r01-s01", "10.90.0.10", "10.90.0.14")]
    d = diff_of(tmp_path, live, edit(live, "  manifest:\n    nodes:\n", pin))
    assert [(b.rule, b.phase, b.status, b.subject, b.old, b.new) for b in d.blocking] == [
        ("DIFF-LIVE-RENUMBER", "p2", "live", n, o, w) for n, o, w in moved
    ]
    assert [(c.name, c.fields["address"]) for c in d.addresses] == [
        (f"{n} mgmt", (o, w)) for n, o, w in moved
    ]
    # the status that counts is OLD's: planned hardware may still change freely
    d = diff_of(tmp_path, planned, edit(planned, "  manifest:\n    nodes:\n", pin))
    assert len(d.addresses) == 1 and not d.blocking
    # ...and marking the phase live in the same change does not make it blocking either
    d = diff_of(tmp_path, planned, edit(live, "  manifest:\n    nodes:\n", pin))
    assert [(c.kind, c.fields) for c in d.things] == [("phase", {"status": ("planned", "live")})]
    assert not d.blocking


def test_phase_added(tmp_path: Path) -> None:
    with_row = edit(
        LAB,
        "          - {name: A, positions: 10}",
        "          - {name: A, positions: 10}\n          - {name: B, positions: 10}",
    )
    new = edit(
        with_row,
        "\n  manifest:",
        "\n    - name: p3\n      status: planned\n      depends_on: [p1]\n      pods:\n"
        "        - {name: pod, type: lab-pod, count: 1, hall: lab, row: B}\n\n  manifest:",
    )
    d = diff_of(tmp_path, with_row, new)
    assert names(d, "phase", "added") == ["p3"]
    assert names(d, "pod", "added") == ["lab-p3-pod01"]
    assert {c.phase for c in d.things} == {"p3"}
    assert not d.blocking and not names(d, "cable", "changed")
    p3 = next(p for p in d.phases if p["name"] == "p3")
    assert p3["status"] == {"old": None, "new": "planned"}
    assert p3["cards"] == {"old": None, "new": 32}


def test_renamed_pod_is_renamed_not_replaced(tmp_path: Path) -> None:
    live = p2("live")
    new = edit(live, P2_POD, P2_POD.replace("name: pod,", "name: gpu,"))
    d = diff_of(tmp_path, live, new)
    assert d.counts() == {
        k: {"added": 0, "removed": 0, "changed": 0, "renamed": n}
        for k, n in (("pod", 1), ("rack", 3), ("node", 4), ("switch", 3))
    }
    renamed = {c.old_name: c.name for c in d.things}
    assert renamed["lab-p2-pod01-r01-s02"] == "lab-p2-gpu01-r01-s02"
    assert not d.addresses and not d.cables and not d.subnets  # same addresses, same cables
    assert blocking(d) == [("DIFF-LIVE-RENUMBER", "p2", "pod lab-p2-pod01")]
    assert d.blocking[0].message == "phase p2 (live): pod renamed: lab-p2-pod01 -> lab-p2-gpu01"


def test_manifest_changes_are_shown_not_blocking(tmp_path: Path) -> None:
    new = edit(LAB, '"2102314LBK10P3000101"', '"2102314LBK10P3000999"')
    d = diff_of(tmp_path, LAB, new)
    assert [(c.kind, c.op, c.name, c.fields) for c in d.things] == [
        (
            "node",
            "changed",
            "lab-p1-pod01-r01-s01",
            {"serial": ("2102314LBK10P3000101", "2102314LBK10P3000999")},
        )
    ]
    assert not d.blocking


@pytest.fixture(scope="module")
def sz_variant(tmp_path_factory: pytest.TempPathFactory) -> tuple[Diff, Path]:
    """sz1 with one SuperPoD fewer in phase 2 (building): phase2.yaml is an include."""
    old, new = tmp_path_factory.mktemp("sz-old"), tmp_path_factory.mktemp("sz-new")
    for d in (old, new):
        for f in SZ_DIR.glob("*.yaml"):
            shutil.copy(f, d / f.name)
    p2_file = new / "phase2.yaml"
    p2_file.write_text(
        edit(p2_file.read_text(encoding="utf-8"), "count: 39", "count: 38"), encoding="utf-8"
    )
    return compare(derived(old / "cluster.yaml"), derived(new / "cluster.yaml")), new


def test_sz_pod_removed_from_building_phase(sz_variant: tuple[Diff, Path]) -> None:
    d, _ = sz_variant
    assert names(d, "pod", "removed") == ["sz1-p2-pod39"]
    assert len(names(d, "node", "removed")) == 48
    assert ("DIFF-LIVE-REMOVE", "p2", "pod sz1-p2-pod39") in blocking(d)
    assert {b.status for b in d.blocking} == {"building"}
    # the storage pods after it in phase 2 shift: their switches get other ASNs, their
    # uplinks other spine ports; phase 1 (live) keeps every address and cable
    assert {b.rule for b in d.blocking} == {
        "DIFF-LIVE-REMOVE",
        "DIFF-LIVE-RENUMBER",
        "DIFF-LIVE-RECABLE",
    }
    assert all(b.phase == "p2" for b in d.blocking)
    # 48 servers x 8 cards x 2 dies x 400G DR4 ... the bill: one SuperPoD's parts freed
    b = bom(d)
    assert b["server a3-hygon"] == -48
    assert b["lc-50 (50 kW)"] == -12
    assert d.totals["cards"]["new"] - d.totals["cards"]["old"] == -384
    assert sum(v for k, v in b.items() if k.startswith("800G DR8")) == -384


# ---- the command line: formats, exit codes, --git ------------------------------------------


@pytest.fixture(scope="module")
def lab_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("lab-diff")
    (d / "old.yaml").write_text(LAB, encoding="utf-8")
    (d / "cidr.yaml").write_text(
        edit(LAB, "cidr: 10.64.0.0/16", "cidr: 10.65.0.0/16"), encoding="utf-8"
    )
    (d / "bad.yaml").write_text(edit(LAB, "mtu: 9000", "mtu: 9900"), encoding="utf-8")
    frag = (SZ_DIR / "phase2.yaml").read_text(encoding="utf-8")
    (d / "fragment.yaml").write_text(frag, encoding="utf-8")
    return d


def test_cli_blocking_text_markdown_json(lab_files: Path) -> None:
    r = run_wanka("diff", "old.yaml", "cidr.yaml", cwd=lab_files)
    assert r.returncode == 1, r.stderr
    assert "\x1b[" not in r.stdout  # not a terminal: plain text
    assert r.stdout.startswith("wanka diff: old.yaml (cluster lab) -> cidr.yaml (cluster lab)")
    assert (
        "error[DIFF-LIVE-RENUMBER]: phase p1 (live): lab-p1-pod01-r01-s01 npu0 renumbered "
        "(and 7 more of its addresses): 10.64.0.2 -> 10.65.0.2" in r.stdout
    )
    assert "--allow-live-changes" in r.stdout
    assert "~ plane param: cidr 10.64.0.0/16 -> 10.65.0.0/16" in r.stdout

    md = run_wanka("diff", "old.yaml", "cidr.yaml", "--format", "markdown", cwd=lab_files)
    assert md.returncode == 1
    lines = md.stdout.splitlines()
    assert lines[0] == "### wanka diff: `old.yaml` → `cidr.yaml`"
    assert "> [!CAUTION]" in lines
    assert (
        "| `DIFF-LIVE-RENUMBER` | p1 (live) | `lab-p1-pod01-r01-s01` | npu0 renumbered (and 7 "
        "more of its addresses) | 10.64.0.2 -> 10.65.0.2 |" in lines
    )
    assert "| address | 0 | 0 | 64 | 0 |" in lines
    assert "<details><summary>Addresses (64)</summary>" in lines

    js = run_wanka("diff", "old.yaml", "cidr.yaml", "--format", "json", cwd=lab_files)
    assert js.returncode == 1
    doc = json.loads(js.stdout)
    assert doc["blocked"] is True and doc["counts"]["address"]["changed"] == 64
    assert len(doc["addresses"]) == 64  # JSON lists everything, whatever --limit says
    assert doc["blocking"][0] == {
        "rule": "DIFF-LIVE-RENUMBER",
        "phase": "p1",
        "status": "live",
        "subject": "lab-p1-pod01-r01-s01",
        "what": "npu0 renumbered (and 7 more of its addresses)",
        "old": "10.64.0.2",
        "new": "10.65.0.2",
        "message": doc["blocking"][0]["message"],
        "hint": "if this is intended (a planned outage), rerun with --allow-live-changes",
    }

    allowed = run_wanka(
        "diff", "old.yaml", "cidr.yaml", "--allow-live-changes", "--limit", "0", cwd=lab_files
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "Allowed by --allow-live-changes: 5 changes" in allowed.stdout
    assert "and 24 more" not in allowed.stdout and allowed.stdout.count("~ address ") == 64


def test_cli_no_changes_and_bad_input(lab_files: Path) -> None:
    same = run_wanka("diff", "old.yaml", "old.yaml", cwd=lab_files)
    assert (same.returncode, same.stderr) == (0, "")
    assert "Nothing blocking" in same.stdout and "No changes." in same.stdout

    bad = run_wanka("diff", "old.yaml", "bad.yaml", cwd=lab_files)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "bad.yaml:" in bad.stderr and "error[NET-MTU]" in bad.stderr
    assert "wanka diff: bad.yaml is not a valid cluster" in bad.stderr

    for args, expect in (
        (("old.yaml", "missing.yaml"), "error[LOAD-NOT-FOUND]"),
        (("fragment.yaml", "old.yaml"), "a ClusterFragment"),
        (("old.yaml",), "give OLD and NEW, or --git REV [FILE]"),
        (("old.yaml", "old.yaml", "--limit", "-1"), "--limit must be"),
    ):
        r = run_wanka("diff", *args, cwd=lab_files)
        assert r.returncode == 2, (args, r.stderr)
        assert expect in r.stderr and "Traceback" not in r.stderr


def test_color_only_on_a_terminal(tmp_path: Path) -> None:
    d = diff_of(tmp_path, LAB, edit(LAB, "cidr: 10.64.0.0/16", "cidr: 10.65.0.0/16"))
    plain, color = io.StringIO(), io.StringIO()
    write_text(d, plain, color=False)
    write_text(d, color, color=True)
    assert "\x1b[" not in plain.getvalue() and "\x1b[31m" in color.getvalue()
    assert markdown(d, limit=2).count("\n~ address ") == 2


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=wanka", "-c", "user.email=wanka@example.org", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_git_revision_against_the_working_tree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    site = repo / "site"
    site.mkdir(parents=True)
    for f in SZ_DIR.glob("*.yaml"):
        shutil.copy(f, site / f.name)
    (repo / "lab.yaml").write_text(LAB, encoding="utf-8")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "sz1")
    same = run_wanka("diff", "--git", "HEAD", "lab.yaml", cwd=repo)
    assert same.returncode == 0, same.stderr
    assert "No changes." in same.stdout

    # the change is in an included file: the revision's includes are read at that revision
    p2_file = site / "phase2.yaml"
    p2_file.write_text(
        edit(p2_file.read_text(encoding="utf-8"), "count: 39", "count: 38"), encoding="utf-8"
    )
    r = run_wanka("diff", "--git", "HEAD", "cluster.yaml", "--format", "json", cwd=site)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["old"]["file"] == "HEAD:cluster.yaml"
    pods = [c for c in doc["changes"] if c["kind"] == "pod"]
    assert [c["name"] for c in pods if c["op"] == "removed"] == ["sz1-p2-pod39"]
    # the pods declared after it have implicit slots: they move up one, and the diff says so
    moved = [c for c in pods if c["op"] == "changed"]
    assert moved and all(set(c["fields"]) == {"slot"} for c in moved)
    assert all(c["fields"]["slot"]["old"] == c["fields"]["slot"]["new"] + 1 for c in moved)
    assert {"rule": "DIFF-LIVE-REMOVE", "subject": "pod sz1-p2-pod39"}.items() <= next(
        b for b in doc["blocking"] if b["rule"] == "DIFF-LIVE-REMOVE"
    ).items()

    (site / "new.yaml").write_text(LAB, encoding="utf-8")
    for args, expect in (
        (("--git", "no-such-rev", "site/cluster.yaml"), "unknown git revision 'no-such-rev'"),
        (("--git", "HEAD", "site/new.yaml"), "file site/new.yaml is not in revision 'HEAD'"),
        (("--git", "HEAD", "a.yaml", "b.yaml"), "with --git REV, give one FILE"),
    ):
        r = run_wanka("diff", *args, cwd=repo)
        assert r.returncode == 2, (args, r.stdout)
        assert expect in r.stderr and "Traceback" not in r.stderr
    outside = run_wanka("diff", "--git", "HEAD", str(tmp_path / "x.yaml"), cwd=tmp_path)
    assert outside.returncode == 2 and "not in a git repository" in outside.stderr


# ---- the review kit: pre-commit hook, GitHub Actions example ---------------------------------


def test_pre_commit_hook_validates_the_cluster_files_it_is_given(tmp_path: Path) -> None:
    hooks = load_file(str(ROOT / ".pre-commit-hooks.yaml"))
    (hook,) = hooks
    assert hook["id"] == "wanka-validate" and hook["language"] == "python"
    assert hook["pass_filenames"] is False  # the cluster files come from args
    files = re.compile(hook["files"])
    assert files.search("sites/sz1/phase2.yaml") and files.search("cluster.yml")
    assert not files.search("README.md")
    entry = hook["entry"].split()
    assert entry[0] == "wanka"  # the console script pyproject.toml installs
    assert 'wanka = "wanka.cli.main:main"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    good = run_wanka(*entry[1:], str(SZ_DIR / "cluster.yaml"))
    assert good.returncode == 0, good.stdout
    (tmp_path / "bad.yaml").write_text(edit(LAB, "mtu: 9000", "mtu: 9900"), encoding="utf-8")
    bad = run_wanka(*entry[1:], str(tmp_path / "bad.yaml"))
    assert bad.returncode == 1 and "error[NET-MTU]" in bad.stdout


def test_github_actions_example_runs_the_diff_and_keeps_its_exit_code(tmp_path: Path) -> None:
    wf = load_file(str(ROOT / "docs/examples/github-actions-diff.yml"))
    assert wf["permissions"]["pull-requests"] == "write"
    steps = wf["jobs"]["diff"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    (diff_step,) = [s for s in steps if s.get("id") == "diff"]
    script = diff_step["run"]
    assert "wanka diff --git origin/${{ github.base_ref }}" in script
    assert "--format markdown" in script
    assert any("updateComment" in str(s.get("with", {}).get("script", "")) for s in steps)

    # run the step's shell script as the runner would, in a repository whose PR renumbers p1
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "cluster.yaml").write_text(LAB, encoding="utf-8")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    (repo / "cluster.yaml").write_text(
        edit(LAB, "cidr: 10.64.0.0/16", "cidr: 10.65.0.0/16"), encoding="utf-8"
    )
    out = tmp_path / "github_output"
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "GITHUB_OUTPUT": str(out),
        "CLUSTER": wf["env"]["CLUSTER"],
        "ALLOW": "",
        "HOME": str(tmp_path),
    }
    bash = script.replace("${{ github.base_ref }}", "main")
    for allow, code in (("", "1"), ("--allow-live-changes", "0")):
        out.write_text("")
        r = subprocess.run(
            ["bash", "-e", "-c", bash],
            cwd=repo,
            env={**env, "ALLOW": allow},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr  # the step succeeds; a later step fails the job
        assert out.read_text() == f"exit={code}\n"
        md = (repo / "diff.md").read_text(encoding="utf-8")
        assert md.startswith("### wanka diff: `origin/main:cluster.yaml`")
        assert "DIFF-LIVE-RENUMBER" in md


def test_live_phase_removed_is_one_blocking_removal(tmp_path: Path) -> None:
    live = p2("live")
    start, end = live.index("    - name: p2\n"), live.index("\n  manifest:")
    d = diff_of(tmp_path, live, live[:start] + live[end + 1 :])
    assert names(d, "phase", "removed") == ["p2"]
    assert names(d, "pod", "removed") == ["lab-p2-pod01"]
    assert len(names(d, "node", "removed")) == 4
    assert blocking(d) == [("DIFF-LIVE-REMOVE", "p2", "phase p2")]
    assert d.blocking[0].message == "phase p2 (live): phase p2 removed"
    # the p1 spines lose the cables to p2's leaf: part of removing p2, not a recabling of p1
    gone = [c for c in d.cables if "lab-p1-core-param-spine" in str(c.fields)]
    assert gone and {c.op for c in gone} == {"removed"}
    p2_row = next(p for p in d.phases if p["name"] == "p2")
    assert p2_row["cards"] == {"old": 32, "new": None}


def test_json_lists_everything_text_and_markdown_at_most_limit(tmp_path: Path) -> None:
    d = diff_of(tmp_path, LAB, edit(LAB, "cidr: 10.64.0.0/16", "cidr: 10.65.0.0/16"))
    full, capped = d.as_json(), d.as_json(3)
    assert len(full["addresses"]) == full["sizes"]["addresses"] == 64
    assert len(capped["addresses"]) == 3 and capped["sizes"]["addresses"] == 64
    assert capped["rules"] == {"DIFF-LIVE-RENUMBER": 5}
    text = io.StringIO()
    write_text(d, text, color=False, limit=3)
    assert text.getvalue().count("~ address ") == 3
    assert "... and 61 more" in text.getvalue() and "... and 2 more" in text.getvalue()


def test_output_is_deterministic(lab_files: Path) -> None:
    """Byte-identical JSON whatever the interpreter's hash seed (no set order leaks out)."""
    # the param leaf moves to another rack and unit: two findings for one switch
    old = p2("building", with_pod3(LAB, ("mgmt", "oob", "param")))
    new = edit(old, P2_POD, P2_POD.replace("type: lab-pod,", "type: lab-pod3,"))
    (lab_files / "old3.yaml").write_text(old, encoding="utf-8")
    (lab_files / "new3.yaml").write_text(new, encoding="utf-8")
    outs = []
    for seed in ("1", "2", "3"):
        r = subprocess.run(
            [sys.executable, "-m", "wanka", "diff", "old3.yaml", "new3.yaml", "--format", "json"],
            cwd=lab_files,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 1, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1] == outs[2]
    doc = json.loads(outs[0])
    param = [b["what"] for b in doc["blocking"] if b["subject"].endswith("param-leaf01")]
    assert param == ["moves (rack)", "moves (unit)"]


def test_software_catalog_and_credential_references(tmp_path: Path) -> None:
    new = edit(LAB, "version: 7.5.0.1.129", "version: 7.5.0.1.131")
    new = edit(new, "power_w: {nominal: 4500, max: 5600}", "power_w: {nominal: 4700, max: 5600}")
    new = edit(new, "{env: WANKA_BMC_PASSWORD}", "{env: WANKA_BMC_PW2}")
    d = diff_of(tmp_path, LAB, new)
    assert [(c.kind, c.name, c.fields) for c in d.things] == [
        ("software", "versions", {"firmware": ("7.5.0.1.129", "7.5.0.1.131")}),
        ("credential", "bmc", {"password": ("env:WANKA_BMC_PASSWORD", "env:WANKA_BMC_PW2")}),
        ("catalog", "server a2-kunpeng", {"power_w": ("4500/5600", "4700/5600")}),
    ]
    # every compute rack holds two servers: 2 x 4.7 kW instead of 2 x 4.5 kW
    assert {r["name"]: r["nominal_kw"] for r in d.racks} == {
        f"lab-p{p}-pod01-r0{r}": {"old": 9.0, "new": 9.4} for p in (1, 2) for r in (1, 2)
    }
    assert d.totals["it_nominal_kw"]["new"] - d.totals["it_nominal_kw"]["old"] == pytest.approx(
        8 * 0.2
    )
    assert not d.blocking and not d.addresses and not d.cables
