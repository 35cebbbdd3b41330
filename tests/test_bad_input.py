"""Bad input never crashes `wanka validate`: it is refused fast, in bounded memory, with a finding.

Every test runs the real CLI in a fresh interpreter (`python -m wanka validate ...`), as users
do. Big and hostile files (100 MB, alias bombs, 10,000- and 200,000-deep nesting) are generated
at test time in tmp_path and deleted afterwards; none are committed.

For each bad file the run must:
* exit 1 (invalid) or 2 (unreadable), never 3 (internal error) or a signal (segfault, OOM kill);
* print no traceback;
* name the file, and the line where the problem has one, in `path:line:col: error[RULE]` form;
* finish within the time limit (5 s; 10 s for the 100 MB file) and peak at under 600 MiB.

Peak memory is the child's ru_maxrss from os.wait4. Linux carries the parent's high-water RSS
into a vforked or forked child, so the figure is max(pytest's own peak, wanka's peak): an upper
bound on wanka's use, which keeps the assertion safe. The generators below stream their output so
pytest's own peak stays small.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT

LAB = ROOT / "examples/lab-mini/cluster.yaml"
LAB_REL = "examples/lab-mini/cluster.yaml"

TIME_LIMIT = 5.0  # seconds, wall clock, interpreter start-up included
BIG_TIME_LIMIT = 10.0  # for the 100 MB file
MEMORY_LIMIT_KIB = 600 * 1024  # ru_maxrss is in KiB on Linux
HARD_TIMEOUT = 60.0  # kill a run that hangs, so the suite always ends
BIG_FILE = 1024 * 1024  # generated files larger than this are deleted after the test
MiB = 1024 * 1024


# --------------------------------------------------------------------------- running the CLI


@dataclass(frozen=True)
class Run:
    code: int  # exit code; negative: killed by that signal
    out: str
    err: str
    seconds: float
    peak_kib: int

    @property
    def both(self) -> str:
        return self.out + self.err


def run_measured(*args: str, tmp_path: Path) -> Run:
    """Run `python -m wanka ARGS` from the repo root; measure wall time and the child's peak RSS."""
    out_path, err_path = tmp_path / "wanka.stdout", tmp_path / "wanka.stderr"
    env = {k: v for k, v in os.environ.items() if k != "WANKA_DEBUG"}  # tracebacks stay off
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "wanka", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=ROOT,
            env=env,
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > HARD_TIMEOUT:
                proc.kill()  # not reaped yet, so the pid is still ours
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by us: tell Popen
    return Run(
        code=proc.returncode,
        out=out_path.read_text(encoding="utf-8", errors="replace"),
        err=err_path.read_text(encoding="utf-8", errors="replace"),
        seconds=seconds,
        peak_kib=usage.ru_maxrss,
    )


def assert_no_crash(run: Run) -> None:
    assert "Traceback" not in run.both, run.both
    assert run.code >= 0, f"killed by signal {-run.code}:\n{run.both}"
    assert run.code != 3, f"internal error:\n{run.both}"


def finding_line(run: Run, rule: str) -> str:
    """The one output line reporting `rule`."""
    lines = [ln for ln in run.out.splitlines() if f"error[{rule}]" in ln]
    assert lines, f"no error[{rule}] in the output:\n{run.both}"
    return lines[0]


def line_of(text: str, needle: str) -> int:
    """1-based line number of the first line of `text` that contains `needle`."""
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


# --------------------------------------------------------------------------- making bad files


Maker = Callable[[Path], Path]


def write_bytes(name: str, data: bytes) -> Maker:
    def make(tmp: Path) -> Path:
        p = tmp / name
        p.write_bytes(data)
        return p

    return make


def write_text(name: str, text: str) -> Maker:
    return write_bytes(name, text.encode("utf-8"))


def alias_bomb(tmp: Path) -> Path:
    """Billion laughs: 9 levels of 9 aliases each; 9**10 (3.5 billion) strings if expanded."""
    p = tmp / "bomb.yaml"
    lines = ["l0: &l0 [" + ", ".join(['"lol"'] * 9) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def flow_nesting(name: str, depth: int, open_: str, close: str) -> Maker:
    def make(tmp: Path) -> Path:
        p = tmp / name
        p.write_text(open_ * depth + close * depth + "\n", encoding="utf-8")
        return p

    return make


def block_mapping_nesting(depth: int) -> Maker:
    """`k:` nested `depth` levels, one space more each level (about depth**2 / 2 bytes)."""

    def make(tmp: Path) -> Path:
        p = tmp / f"block-{depth}.yaml"
        with open(p, "w", encoding="utf-8") as f:
            for i in range(depth):
                f.write(" " * i + "k:\n")
            f.write(" " * depth + "v: 1\n")
        return p

    return make


def hundred_mb(tmp: Path) -> Path:
    p = tmp / "huge.yaml"
    chunk = b"key: a value that looks like ordinary YAML\n" * 24_000  # about 1 MiB
    with open(p, "wb") as f:
        while f.tell() < 100 * 1000 * 1000:
            f.write(chunk)
    return p


def missing(tmp: Path) -> Path:
    return tmp / "no-such-cluster.yaml"


def directory(tmp: Path) -> Path:
    p = tmp / "a-directory"
    p.mkdir()
    return p


# --------------------------------------------------------------------------- the cases


ANY_LINE = range(1, 1_000_000)  # the finding must have a position, any line


@dataclass(frozen=True)
class Case:
    make: Maker
    code: int  # expected exit code
    rule: str  # expected rule id
    line: int | range | None  # expected line (a range: any line in it); None: no position
    limit: float = TIME_LIMIT
    args: tuple[str, ...] = ()  # extra options before the file
    says: str | None = None  # text the finding must contain


CASES = {
    "empty": Case(write_bytes("empty.yaml", b""), 2, "YAML-EMPTY", 1),
    "only-comments": Case(
        write_text("comments.yaml", "# cluster.yaml\n#   (to be written)\n\n"), 2, "YAML-EMPTY", 1
    ),
    "binary-garbage": Case(
        write_bytes("garbage.yaml", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16),
        2,
        "LOAD-BINARY",
        3,  # the NUL follows the PNG signature's two newlines
    ),
    "not-utf8": Case(
        write_bytes("latin.yaml", b"a: 1\nb: \xff\xfe\n"), 2, "LOAD-ENCODING", 2, says="0xff"
    ),
    "syntax-error": Case(
        write_text("syntax.yaml", "apiVersion: wanka/v1\nkind: Cluster\nmetadata: name: lab\n"),
        1,
        "YAML-SYNTAX",
        3,
    ),
    "duplicate-key": Case(
        write_text(
            "dup.yaml", "apiVersion: wanka/v1\nkind: Cluster\nmetadata:\n  name: a\n  name: b\n"
        ),
        1,
        "YAML-DUPLICATE-KEY",
        5,
        says="line 4",
    ),
    "tab-indentation": Case(
        write_text("tab.yaml", "apiVersion: wanka/v1\nmetadata:\n\tname: lab\n"),
        1,
        "YAML-SYNTAX",
        3,
        says="never tabs",
    ),
    "bad-indentation": Case(
        write_text("indent.yaml", "metadata:\n  name: lab\n site: x\n"),
        1,
        "YAML-SYNTAX",
        3,
        says="indentation does not match",
    ),
    "control-character": Case(write_bytes("bell.yaml", b"a: \x07\n"), 1, "YAML-SYNTAX", 1),
    "two-documents": Case(write_text("two.yaml", "a: 1\n---\nb: 2\n"), 1, "YAML-MULTI-DOC", 2),
    "recursive-alias": Case(write_text("rec.yaml", "a: &a [*a]\n"), 1, "YAML-ALIAS", 1),
    "alias-bomb": Case(alias_bomb, 1, "YAML-ALIAS-LIMIT", range(1, 11)),
    "flow-seq-10000-deep": Case(
        flow_nesting("flow-seq.yaml", 10_000, "[", "]"), 1, "YAML-DEPTH", 1
    ),
    "flow-map-10000-deep": Case(
        flow_nesting("flow-map.yaml", 10_000, "{a: ", "}"), 1, "YAML-DEPTH", 1
    ),
    # PyYAML's own composer (yaml.compose / yaml.safe_load) segfaults on this one
    "flow-seq-200000-deep": Case(
        flow_nesting("flow-200k.yaml", 200_000, "[", "]"), 1, "YAML-DEPTH", 1
    ),
    "flow-seq-200000-unclosed": Case(
        flow_nesting("flow-200k-open.yaml", 200_000, "[", ""), 1, "YAML-DEPTH", 1
    ),
    "block-seq-10000-deep": Case(
        write_text("block-seq.yaml", "- " * 10_000 + "x\n"), 1, "YAML-DEPTH", 1
    ),
    # 10,000 block levels take 50 MB of indentation: refused by size under the default limit ...
    "block-map-10000-deep": Case(block_mapping_nesting(10_000), 2, "LOAD-TOO-LARGE", None),
    # ... and refused by depth once the limit lets the parser see it
    "block-map-10000-deep-max-bytes": Case(
        block_mapping_nesting(10_000),
        1,
        "YAML-DEPTH",
        ANY_LINE,
        args=("--max-bytes", str(64 * MiB)),
    ),
    "100-mb": Case(hundred_mb, 2, "LOAD-TOO-LARGE", None, limit=BIG_TIME_LIMIT, says="16,777,216"),
    "list-at-root": Case(write_text("list.yaml", "- a\n- b\n"), 1, "SCHEMA-TYPE", 1),
    "missing-path": Case(missing, 2, "LOAD-NOT-FOUND", None),
    "directory": Case(directory, 2, "LOAD-NOT-FILE", None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_file_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    path = case.make(tmp_path)
    try:
        run = run_measured("validate", *case.args, str(path), tmp_path=tmp_path)
    finally:
        if path.is_file() and path.stat().st_size > BIG_FILE:
            path.unlink()
    print(f"\n  {run.seconds:6.2f} s  {run.peak_kib / 1024:7.1f} MiB peak  exit {run.code}")

    assert_no_crash(run)
    assert run.code == case.code, run.both
    found = finding_line(run, case.rule)
    if case.line is None:
        assert found.startswith(f"{path}: error[{case.rule}]: "), found
    else:
        m = re.match(rf"{re.escape(str(path))}:(\d+):(\d+): error\[{case.rule}\]: ", found)
        assert m, f"expected {path}:LINE:COL: error[{case.rule}], got: {found}"
        line = int(m.group(1))
        if isinstance(case.line, range):
            assert line in case.line, found
        else:
            assert line == case.line, found
    if case.says is not None:
        assert case.says in found, found
    assert re.search(r"^1 file checked, 1 invalid, \d+ errors?, ", run.out, re.M), run.out
    assert run.seconds < case.limit, f"took {run.seconds:.2f} s (limit {case.limit} s)"
    assert run.peak_kib < MEMORY_LIMIT_KIB, f"peaked at {run.peak_kib / 1024:.0f} MiB"


# --------------------------------------------------------------------------- more specific checks


def test_python_tag_is_refused_and_not_run(tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    path = tmp_path / "tag.yaml"
    path.write_text(f'a: !!python/object/apply:os.system ["touch {canary}"]\n', encoding="utf-8")
    run = run_measured("validate", str(path), tmp_path=tmp_path)
    assert_no_crash(run)
    assert run.code == 1, run.both
    assert finding_line(run, "YAML-TAG").startswith(f"{path}:1:"), run.out
    assert not canary.exists(), "the tagged command ran"


def test_one_missing_file_among_several(tmp_path: Path) -> None:
    """The worst outcome wins (exit 2), yet every file is still checked and reported."""
    gone = tmp_path / "gone.yaml"
    dup = tmp_path / "dup.yaml"
    dup.write_text("a: 1\na: 2\n", encoding="utf-8")
    run = run_measured("validate", str(gone), LAB_REL, str(dup), tmp_path=tmp_path)
    assert_no_crash(run)
    assert run.code == 2, run.both
    assert f"{gone}: error[LOAD-NOT-FOUND]" in run.out
    assert f"{LAB_REL}: cluster 'lab'" in run.out  # the valid one is still described
    assert f"{dup}:2:1: error[YAML-DUPLICATE-KEY]" in run.out
    assert "3 files checked, 2 invalid" in run.out


def test_json_format_on_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("apiVersion: wanka/v1\nkind: Cluster\nkind: Cluster\n", encoding="utf-8")
    run = run_measured("validate", "--format", "json", str(path), tmp_path=tmp_path)
    assert_no_crash(run)
    assert run.code == 1, run.both
    doc = json.loads(run.out)  # stdout is nothing but the JSON document
    assert doc["valid"] is False
    [entry] = doc["files"]
    assert entry["path"] == str(path)
    assert entry["valid"] is False
    [finding] = entry["findings"]
    assert finding["rule"] == "YAML-DUPLICATE-KEY"
    assert finding["file"] == str(path)
    assert finding["line"] == 3
    assert finding["severity"] == "error"


def test_json_format_on_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "gone.yaml"
    run = run_measured("validate", "--format", "json", str(path), tmp_path=tmp_path)
    assert_no_crash(run)
    assert run.code == 2, run.both
    [finding] = json.loads(run.out)["files"][0]["findings"]
    where = (finding["rule"], finding["file"], finding["line"])
    assert where == ("LOAD-NOT-FOUND", str(path), None)


# --------------------------------------------------------------------------- YAML 1.2, not 1.1


def test_no_stays_a_string(lab_text: str, tmp_path: Path) -> None:
    """`name: no` is the string "no" (YAML 1.2), not false (YAML 1.1)."""
    assert lab_text.count("\n  name: lab\n") == 1
    text = lab_text.replace("\n  name: lab\n", "\n  name: no\n")
    text = text.replace("\n      lab-p1-", "\n      no-p1-")  # manifest node names follow the name
    path = tmp_path / "cluster.yaml"
    path.write_text(text, encoding="utf-8")
    run = run_measured("validate", str(path), tmp_path=tmp_path)
    assert_no_crash(run)
    assert run.code == 0, run.both
    assert f"{path}: cluster 'no':" in run.out


def test_unquoted_version_is_a_number(lab_text: str, tmp_path: Path) -> None:
    """`version: 24.1` is a float; a string is required, and the hint says to quote it."""
    old = "version: 24.1.rc3"
    assert old in lab_text
    text = lab_text.replace(old, "version: 24.1", 1)
    path = tmp_path / "cluster.yaml"
    path.write_text(text, encoding="utf-8")
    run = run_measured("validate", str(path), tmp_path=tmp_path)
    assert_no_crash(run)
    assert run.code == 1, run.both
    found = finding_line(run, "SCHEMA-TYPE")
    assert found.startswith(f"{path}:{line_of(text, 'version: 24.1')}:"), found
    assert "24.1" in found
    assert "quote" in found, found


# --------------------------------------------------------------------------- limits and usage


def test_max_bytes_lowers_the_limit(tmp_path: Path) -> None:
    run = run_measured("validate", "--max-bytes", "100", LAB_REL, tmp_path=tmp_path)
    assert_no_crash(run)
    assert run.code == 2, run.both
    found = finding_line(run, "LOAD-TOO-LARGE")
    assert found.startswith(f"{LAB_REL}: error[LOAD-TOO-LARGE]"), found
    assert "100-byte limit" in found


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("validate",), id="no-file"),
        pytest.param(("validate", "--bogus", LAB_REL), id="unknown-option"),
        pytest.param(("validate", "--max-bytes", "lots", LAB_REL), id="bad-max-bytes"),
        pytest.param(("validate", "--format", "xml", LAB_REL), id="bad-format"),
        pytest.param((), id="no-command"),
        pytest.param(("frobnicate",), id="unknown-command"),
    ],
)
def test_usage_error(args: tuple[str, ...], tmp_path: Path) -> None:
    run = run_measured(*args, tmp_path=tmp_path)
    assert_no_crash(run)
    assert run.code == 2, run.both
    assert "usage: wanka" in run.err, run.err
    assert run.out == ""


def test_unreadable_path(tmp_path: Path) -> None:
    """A path the OS refuses to open (through a regular file: ENOTDIR); fails even for root."""
    (tmp_path / "plain").write_text("a: 1\n", encoding="utf-8")
    path = tmp_path / "plain" / "cluster.yaml"
    run = run_measured("validate", str(path), tmp_path=tmp_path)
    assert_no_crash(run)
    assert run.code == 2, run.both
    assert finding_line(run, "LOAD-UNREADABLE").startswith(f"{path}: error[LOAD-UNREADABLE]")
