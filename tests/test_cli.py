"""`wanka` as users run it: exit codes, output formats, docs that stay true."""

from __future__ import annotations

import json

from conftest import EXAMPLES, ROOT, run_wanka


def test_examples_validate() -> None:
    r = run_wanka("validate", *map(str, EXAMPLES))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (
        r.stdout.strip().splitlines()[-1] == f"{len(EXAMPLES)} files checked, 0 errors, 0 warnings"
    )
    assert "19,200 cards" in r.stdout


def test_json_output(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "c.yaml"
    text = (ROOT / "examples/lab-mini/cluster.yaml").read_text()
    bad.write_text(text.replace("kind: Cluster", "kinf: Cluster"))
    r = run_wanka("validate", "--format", "json", str(bad))
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["valid"] is False
    found = out["files"][0]["findings"]
    assert {"rule": "SCHEMA-UNKNOWN-KEY", "line": text.splitlines().index("kind: Cluster") + 1} in [
        {"rule": f["rule"], "line": f["line"]} for f in found
    ]
    assert all(
        set(f) == {"file", "line", "column", "severity", "rule", "message", "hint", "excerpt"}
        for f in found
    )


def test_text_lines_are_file_line_col_severity_rule(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "c.yaml"
    text = (ROOT / "examples/lab-mini/cluster.yaml").read_text()
    bad.write_text(text.replace("mtu: 9000", "mtu: 9300"))
    r = run_wanka("validate", str(bad))
    assert r.returncode == 1
    first = r.stdout.splitlines()[0]
    mtu_line = text.splitlines().index("        mtu: 9000") + 1  # reported at the value to edit
    assert first.startswith(f"{bad}:{mtu_line}:14: error[NET-MTU]: ")
    assert "plane 'param' MTU 9300 needs 9318-byte frames" in first
    assert first.endswith("(set mtu to at most 9198)")


def test_strict_fails_on_warnings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    warn = tmp_path / "c.yaml"
    text = (ROOT / "examples/lab-mini/cluster.yaml").read_text()
    warn.write_text(
        text.replace(
            "target_pflops: 10\n      pods:\n        - {name: core",
            "target_pflops: 99\n      pods:\n        - {name: core",
        )
    )
    ok = run_wanka("validate", str(warn))
    assert ok.returncode == 0 and "warning[PHASE-CAPACITY]" in ok.stdout
    strict = run_wanka("validate", "--strict", str(warn))
    assert strict.returncode == 1


def test_rules_doc_is_generated_from_the_registry() -> None:
    r = run_wanka("rules", "--format", "markdown")
    assert r.returncode == 0
    assert (ROOT / "docs/rules.md").read_text(encoding="utf-8") == r.stdout, (
        "docs/rules.md is stale: run `make docs`"
    )


def test_every_rule_id_is_listed_once() -> None:
    r = run_wanka("rules", "--format", "json")
    ids = [x["id"] for x in json.loads(r.stdout)]
    assert len(ids) == len(set(ids))
    text = "\n".join(p.read_text() for p in (ROOT / "wanka").rglob("*.py"))
    import re

    used = set(re.findall(r'"((?:[A-Z]+-)+[A-Z]+)"', text)) - {"WANKA-DEBUG"}
    assert used <= set(ids), used - set(ids)


def test_help_and_usage_errors() -> None:
    h = run_wanka("validate", "--help")
    assert h.returncode == 0 and "Exit codes" in h.stdout
    u = run_wanka("validate")
    assert u.returncode == 2 and "Traceback" not in u.stderr
    s = run_wanka("schema")
    assert s.returncode == 0 and s.stdout.strip().endswith("cluster.schema.json")


def test_max_bytes_must_be_positive() -> None:
    for value in ("0", "-1"):
        r = run_wanka("validate", "--max-bytes", value, "examples/lab-mini/cluster.yaml")
        assert r.returncode == 2 and "must be at least 1" in r.stderr and not r.stdout


def _validate_variant(tmp_path, *edits: tuple[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    text = (ROOT / "examples/lab-mini/cluster.yaml").read_text()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    r = run_wanka("validate", "--quiet", str(path))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    return r.stdout.splitlines()[:-1]


def test_a_misspelled_required_key_is_reported_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = _validate_variant(tmp_path, ("\nkind: Cluster", "\nkinf: Cluster"))
    assert len(lines) == 1
    assert "error[SCHEMA-UNKNOWN-KEY]" in lines[0] and "did you mean 'kind'?" in lines[0]


def test_an_unresolved_name_does_not_cascade(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = _validate_variant(tmp_path, ("- rack: lc-60", "- rack: lc-06"))
    assert len(lines) == 1, lines
    assert "error[REF-UNRESOLVED]: unknown rack type 'lc-06' (did you mean 'lc-60'?)" in lines[0]


# ---- one way in: every command loads through wanka.pipeline, one message per problem ----------

FRAGMENT = ROOT / "examples/shenzhen-14000p/phase2.yaml"
LAB = ROOT / "examples/lab-mini/cluster.yaml"


def test_a_fragment_is_refused_with_a_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A ClusterFragment where a cluster is wanted: exit 2 and the file to use, never an
    internal error (plan, render and lab up reported one before the pipeline's NotValid)."""
    use = f"{FRAGMENT}: a ClusterFragment: use the cluster file that includes it\n"
    for args in (
        ("plan", str(FRAGMENT)),
        ("render", str(FRAGMENT), "--out", str(tmp_path / "r")),
        ("lab", "up", str(FRAGMENT)),
    ):
        r = run_wanka(*args)
        assert (r.returncode, r.stderr, r.stdout) == (2, use, ""), args
    r = run_wanka("report", str(FRAGMENT), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "is a fragment: report the cluster file" in r.stderr
    r = run_wanka("diff", str(FRAGMENT), str(LAB))
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"{FRAGMENT}: a ClusterFragment: diff the cluster file that includes it",
        f"wanka diff: {FRAGMENT} is not a valid cluster: nothing to compare",
    ]
    assert not (tmp_path / "r").exists() and not (tmp_path / "o").exists()


def test_an_unknown_phase_is_named_by_each_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for command, extra in (("plan", ()), ("render", ("--out", str(tmp_path / "r")))):
        r = run_wanka(command, str(LAB), "--phase", "p9", *extra)
        assert (r.returncode, r.stderr) == (
            2,
            f"wanka {command}: unknown phase 'p9' (phases: p1, p2)\n",
        )
    r = run_wanka("report", str(LAB), "--phase", "p9", "--out", str(tmp_path / "o"))
    assert (r.returncode, r.stderr) == (2, "wanka report: unknown phase 'p9' (phases: p1, p2)\n")
    assert not (tmp_path / "r").exists() and not (tmp_path / "o").exists()


def test_not_valid_helper_prints_and_picks_the_exit_code(capsys) -> None:  # type: ignore[no-untyped-def]
    """Validation errors print as `validate --quiet` (with the summary); findings of deriving
    one line each; 2 for an unreadable file or a fragment, else 1."""
    import io

    from wanka.cli.common import not_valid
    from wanka.findings import Finding, Mark
    from wanka.pipeline import NotValid, check, derive, open_cluster

    out = io.StringIO()
    try:
        open_cluster(str(ROOT / "missing.yaml"))
    except NotValid as e:
        assert not_valid(e, out) == 2
    assert out.getvalue().splitlines()[-1] == "1 file checked, 1 invalid, 1 error, 0 warnings"

    valid = check(str(LAB))
    derive(valid)  # no findings of its own
    found = Finding("NET-POOL", "pool 'x' is exhausted", Mark(str(LAB), 3, 5))
    out = io.StringIO()
    assert not_valid(NotValid(valid, [found]), out) == 1
    assert out.getvalue() == f"{LAB}:3:5: error[NET-POOL]: pool 'x' is exhausted\n"

    out = io.StringIO()
    try:
        open_cluster(str(FRAGMENT))
    except NotValid as e:
        assert e.fragment and not_valid(e, out) == 2
    assert "a ClusterFragment" in out.getvalue()


def test_not_valid_lines_say_how_many_were_left_out() -> None:
    from wanka.findings import Finding
    from wanka.pipeline import NotValid, check

    found = [Finding("R", f"problem {i}", file="c.yaml") for i in range(5)]
    e = NotValid(check(str(LAB)), found)
    assert e.lines(2) == [
        "c.yaml: error[R]: problem 0",
        "c.yaml: error[R]: problem 1",
        "(and 3 more)",
    ]
    assert len(e.lines()) == 5


def test_every_command_is_registered_with_what_runs_it() -> None:
    """Each command module registers its sub-parsers; each sets the function `main` calls."""
    from wanka.cli.main import parser

    cases = {
        "validate": ["x.yaml"],
        "plan": ["x.yaml"],
        "render": ["x.yaml", "--out", "o"],
        "report": ["x.yaml", "--out", "o"],
        "lab": ["status", "d"],
        "diff": [],
        "bringup": ["x.yaml"],
        "verify": ["x.yaml"],
        "preview": ["x.yaml", "--phase", "p1"],
        "up": ["x.yaml", "--phase", "p1"],
        "refresh": ["x.yaml", "--phase", "p1"],
        "destroy": ["x.yaml", "--phase", "p1"],
        "drift": ["x.yaml", "--phase", "p1"],
        "bmc": ["x.yaml", "inspect"],
        "ranktable": ["x.yaml", "--phase", "p1", "--verified", "o"],
        "rules": [],
        "schema": [],
    }
    p = parser()
    sub = next(a for a in p._actions if a.dest == "command")
    assert list(sub.choices) == list(cases)  # type: ignore[arg-type]
    for command, rest in cases.items():
        args = p.parse_args([command, *rest])
        assert callable(args.run), command
        assert args.run.__module__ != "wanka.cli.main", command


def test_a_yaml_syntax_error_shows_the_line_and_a_caret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "c.yaml"
    bad.write_text("apiVersion: wanka/v1\nkind: Cluster\nmetadata:\n\tname: lab\n")
    r = run_wanka("validate", str(bad))
    assert r.returncode == 1
    out = r.stdout.splitlines()
    # the first line stays `file:line:col: error[RULE]: message (hint)` for editors and CI
    assert out[0] == (
        f"{bad}:4:1: error[YAML-SYNTAX]: a tab at column 1: YAML indents with spaces, never tabs "
        "(replace the tab with spaces)"
    )
    assert out[1:3] == ["  4 |     name: lab", "    | ^^^^"]
    assert out[3].startswith("1 file checked, 1 invalid, 1 error")

    j = run_wanka("validate", "--format", "json", str(bad))
    (f,) = json.loads(j.stdout)["files"][0]["findings"]
    assert f["excerpt"] == {"lines": [{"line": 4, "text": "\tname: lab"}], "column": 1}


def test_an_empty_file_is_unreadable_input_for_every_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "c.yaml"
    empty.write_text("# nothing here yet\n")
    for args in (("validate",), ("plan",)):
        r = run_wanka(*args, str(empty))
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "error[YAML-EMPTY]" in r.stdout + r.stderr
