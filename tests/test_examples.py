"""Example-driven tests, check-jsonschema style: cluster files that must pass or fail.

tests/examples/positive/*.yaml must validate with no finding at all.

tests/examples/negative/<rule-id>[-variant].yaml is examples/lab-mini/cluster.yaml with one
deliberate mistake. Every line where wanka must report a rule ends with a trailing comment

    leaf: {model: lab-32x400g, uplinks: 3}  # expect: FABRIC-UPLINKS

(several ids: `# expect: A, B`; a file with no content, such as yaml-empty.yaml, writes the marker
as a comment line of its own). wanka must report every expected (rule, line) and no error of
any other rule, so each example isolates its rules; warnings are ignored unless expected. A file
that expects only warnings is valid, but invalid with --strict; one that expects a rule of
unreadable input (UNREADABLE) exits 2, any other invalid one 1.

The CLI runs as users run it, once per file (results are cached for the session); check-jsonschema
runs once over every file and must agree with wanka's stages: it rejects exactly the examples
whose expected rules are all of the load or schema stage and accepts the semantically wrong ones.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from wanka.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "cluster.schema.json"
NEGATIVE = sorted((ROOT / "tests/examples/negative").glob("*.yaml"))
POSITIVE = sorted((ROOT / "tests/examples/positive").glob("*.yaml"))
CLUSTERS = sorted(ROOT.glob("examples/*/cluster.yaml"))

# Rules that no single cluster file can make wanka report, and why. Keep it short.
UNTRIGGERABLE = {
    # the fallback id of wanka/language/schema.py for a schema keyword with no specific id; every
    # keyword that schemas/cluster.schema.json uses has one (SCHEMA-TYPE, SCHEMA-ENUM, ...)
    "SCHEMA": "no keyword of the current schema falls through to the generic id",
}

# Hints that must name the right candidate: (rule, text the hint must contain).
HINTS = {
    "schema-unknown-key.yaml": ("SCHEMA-UNKNOWN-KEY", "did you mean 'kind'"),
    "schema-unknown-key-nested.yaml": ("SCHEMA-UNKNOWN-KEY", "did you mean 'max_oversubscription'"),
    "schema-enum.yaml": ("SCHEMA-ENUM", "did you mean '200G'"),
    "ref-unresolved.yaml": ("REF-UNRESOLVED", "did you mean 'lc-60'"),
    "ref-unresolved-node-model.yaml": ("REF-UNRESOLVED", "did you mean 'a2-kunpeng'"),
    "ref-unresolved-switch-model.yaml": ("REF-UNRESOLVED", "did you mean 'lab-32x400g'"),
    # a cluster-wide PUE is refused with the place a hall's PUE goes
    "schema-not-allowed-pue.yaml": ("SCHEMA-NOT-ALLOWED", "facility.halls.<hall>.measured_pue"),
    "ref-unresolved-facility-hall.yaml": ("REF-UNRESOLVED", "did you mean 'lab'"),
}

# Messages that must say what the finding stands for: (rule, text the message must contain).
MESSAGES = {
    # the collision the overflow causes is counted in the cause, not reported on its own
    "bgp-asn-block.yaml": ("BGP-ASN-BLOCK", "and 1 collides there (1 follow-on BGP-ASN-DUPLICATE"),
    "bgp-asn-duplicate-overflow.yaml": (
        "BGP-ASN-DUPLICATE",
        "also used by lab-p1-core-param-spine01",
    ),
    # the pin outside the too-small plane, but inside the range it needs, is counted in the cause
    "net-cidr-size-pins.yaml": ("NET-CIDR-SIZE", "(1 follow-on NET-PIN-OUTSIDE folded"),
    "net-pin-outside-small-plane.yaml": ("NET-PIN-OUTSIDE", "pinned address 10.98.0.6"),
    # one finding for the four racks of one declaration names them and counts the rest
    "rack-power.yaml": (
        "RACK-POWER",
        "racks 'lab-p1-pod01-r01', 'lab-p1-pod01-r02', 'lab-p2-pod01-r01' (and 1 more) draw",
    ),
    "rack-units.yaml": ("RACK-UNITS", "(and 1 more) need 8U each, their type lc-60 has 4U"),
    "port-capacity.yaml": ("PORT-CAPACITY", "(and 1 more like it: 'lab-p2-pod01-param-leaf01')"),
    "link-speed.yaml": (
        "LINK-SPEED",
        "uplinks from 400G ports to 800G ports of spines 'lab-p1-core-param-spine01', "
        "'lab-p1-core-param-spine02'",
    ),
    "bgp-asn-missing.yaml": (
        "BGP-ASN-MISSING",
        "'lab-p1-core-param-spine01', 'lab-p1-core-param-spine02', 'lab-p1-pod01-param-leaf01' "
        "(and 1 more)",
    ),
    "fabric-rails-leaves.yaml": (
        "FABRIC-RAILS",
        "pods of type lab-pod 'lab-p1-pod01', 'lab-p2-pod01' have",
    ),
    "supernode-size.yaml": (
        "SUPERNODE-SIZE",
        "pods of type lab-pod 'lab-p1-pod01', 'lab-p2-pod01': ",
    ),
    # the pod instance, with its type; not the placement's short name
    "layout-row-full.yaml": ("LAYOUT-ROW-FULL", "pod 'lab-p2-pod01' (type lab-pod) needs 3"),
    # redundancy is counted: 2 CDUs of 20 kW, 1 held back, carry 20 kW of the 25.2
    "fac-hall-cooling.yaml": ("FAC-HALL-COOLING", "25.2 kW into liquid at nominal load, its 2 CDU"),
    "fac-hall-cooling-air.yaml": ("FAC-HALL-COOLING", "3 CRAC units of 10 kW with 2 redundant"),
    "fac-hall-power.yaml": ("FAC-HALL-POWER", "39.0 kW of nominal IT load (p1 20.2, p2 18.9"),
}

# Rules that make a file unreadable input: nothing to check, exit 2 (README, `wanka validate`).
UNREADABLE = {"YAML-EMPTY"}

SECRET = "hunter2-secret"  # the password cred-value.yaml writes in clear

# a trailing comment on a line with content: `key: value  # expect: RULE-ID[, RULE-ID]`, or a
# comment line of its own, `# expect: RULE-ID`, where the file has no content to mark
_MARKER = re.compile(
    r"^\s*(?:[^\s#].*?\s)?#\s*expect:\s*(?P<ids>[A-Z0-9-]+(?:\s*,\s*[A-Z0-9-]+)*)\s*$"
)


def expectations(path: Path) -> set[tuple[str, int]]:
    """(rule, line) of every `# expect:` marker in a file."""
    out = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _MARKER.match(line)
        if m:
            out.update((rule.strip(), lineno) for rule in m.group("ids").split(","))
    return out


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        try:
            doc: dict[str, Any] = json.loads(self.stdout)
        except ValueError:
            pytest.fail(f"no JSON report (exit {self.returncode}):\n{self.stdout}{self.stderr}")
        return doc

    @property
    def findings(self) -> list[dict[str, Any]]:
        files: list[dict[str, Any]] = self.report["files"]
        assert len(files) == 1
        found: list[dict[str, Any]] = files[0]["findings"]
        return found

    def describe(self) -> str:
        lines = [f"exit {self.returncode}"]
        lines += [
            f"  {f['line']}: {f['severity']}[{f['rule']}]: {f['message']} ({f['hint']})"
            for f in self.findings
        ]
        if self.stderr:
            lines.append(f"  stderr: {self.stderr.strip()}")
        return "\n".join(lines)


def _run(*args: str) -> Run:
    p = subprocess.run(
        [sys.executable, "-m", "wanka", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    return Run(p.returncode, p.stdout, p.stderr)


@cache
def validate(path: Path, *, strict: bool = False, fmt: str = "json") -> Run:
    args = ["validate", str(path.relative_to(ROOT)), "--format", fmt]
    return _run(*args, "--strict") if strict else _run(*args)


@cache
def registry() -> dict[str, dict[str, str]]:
    """Rule id -> {stage, severity, ...}, as `wanka rules --format json` lists them."""
    run = _run("rules", "--format", "json")
    assert run.returncode == 0, run.stderr
    return {r["id"]: r for r in json.loads(run.stdout)}


@cache
def schema_rejects() -> frozenset[Path]:
    """The files check-jsonschema finds invalid, from one run over every example."""
    exe = Path(sys.executable).with_name("check-jsonschema")
    tool = str(exe) if exe.exists() else shutil.which("check-jsonschema")
    assert tool is not None, "check-jsonschema is a test dependency: pip install -e '.[test]'"
    files = [*NEGATIVE, *POSITIVE, *CLUSTERS]
    p = subprocess.run(
        [tool, "--schemafile", str(SCHEMA), "--output-format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    report = json.loads(p.stdout)
    bad = {Path(e["filename"]).resolve() for e in report["errors"] + report["parse_errors"]}
    assert (p.returncode == 0) == (not bad), p.stdout + p.stderr
    return frozenset(bad)


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


# ---- negative examples ------------------------------------------------------------------------


@pytest.mark.parametrize("path", NEGATIVE, ids=_ids(NEGATIVE))
def test_negative_example(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name}: no `# expect: RULE-ID` marker"
    rules = registry()
    ids = {rule for rule, _ in expected}
    assert ids <= set(rules), f"{path.name}: unknown rule ids {sorted(ids - set(rules))}"
    assert any(path.stem == i.lower() or path.stem.startswith(i.lower() + "-") for i in ids), (
        f"{path.name}: name it after a rule it expects: <rule-id>[-variant].yaml"
    )

    run = validate(path)
    reported = {(f["rule"], f["line"]) for f in run.findings}
    missing = sorted(expected - reported)
    assert not missing, f"{path.name}: not reported: {missing}\n{run.describe()}"
    others = sorted({f["rule"] for f in run.findings if f["severity"] == "error"} - ids)
    assert not others, f"{path.name}: other errors reported: {others}\n{run.describe()}"

    if all(rules[i]["severity"] == "warning" for i in ids):
        assert run.returncode == 0, f"{path.name}: warnings only, must be valid\n{run.describe()}"
        strict = validate(path, strict=True)
        assert strict.returncode == 1, f"{path.name}: invalid with --strict\n{strict.describe()}"
        assert strict.report["valid"] is False
    else:
        assert run.returncode == (2 if ids & UNREADABLE else 1), run.describe()
        assert run.report["valid"] is False

    if path.name in HINTS:
        rule, text = HINTS[path.name]
        hints = [f["hint"] or "" for f in run.findings if f["rule"] == rule]
        assert any(text in h for h in hints), f"{path.name}: no {rule} hint with {text!r}: {hints}"

    if path.name in MESSAGES:
        rule, text = MESSAGES[path.name]
        messages = [f["message"] for f in run.findings if f["rule"] == rule]
        assert any(text in m for m in messages), f"{path.name}: no {rule} with {text!r}: {messages}"


@pytest.mark.parametrize("path", NEGATIVE, ids=_ids(NEGATIVE))
def test_check_jsonschema_agrees_on_negative(path: Path) -> None:
    stages = {registry()[rule]["stage"] for rule, _ in expectations(path)}
    rejected = path.resolve() in schema_rejects()
    if stages <= {"load", "schema"}:
        kinds = "/".join(sorted(stages))
        assert rejected, f"{path.name}: a {kinds}-stage mistake, but check-jsonschema accepts it"
    else:
        early = stages & {"load", "schema"}
        assert not early, (
            f"{path.name}: mixes {'/'.join(sorted(early))} and semantic rules {stages}"
        )
        assert not rejected, f"{path.name}: only semantically wrong, check-jsonschema rejects it"


def test_credential_value_is_never_echoed() -> None:
    path = ROOT / "tests/examples/negative/cred-value.yaml"
    assert SECRET in path.read_text(encoding="utf-8")
    assert expectations(path) and {r for r, _ in expectations(path)} == {"CRED-VALUE"}
    for fmt in ("text", "json"):
        run = validate(path, fmt=fmt)
        assert run.returncode == 1
        assert "CRED-VALUE" in run.stdout
        assert SECRET not in run.stdout and SECRET not in run.stderr, f"--format {fmt} leaks it"


def test_every_rule_has_a_negative_example() -> None:
    checked = {i for i, r in RULES.items() if r.stage in ("schema", "build", "model")}
    covered = {rule for path in NEGATIVE for rule, _ in expectations(path)}
    assert set(UNTRIGGERABLE) <= checked, "the allowlist names rules that do not exist"
    assert not set(UNTRIGGERABLE) & covered, "an allowlisted rule has an example: unlist it"
    missing = sorted(checked - covered - set(UNTRIGGERABLE))
    assert not missing, f"rules with no example in tests/examples/negative: {missing}"


# ---- positive examples and the bundled clusters -----------------------------------------------


@pytest.mark.parametrize("path", POSITIVE, ids=_ids(POSITIVE))
def test_positive_example(path: Path) -> None:
    assert not expectations(path), f"{path.name}: a valid example has no `# expect:` markers"
    run = validate(path)
    assert run.returncode == 0, run.describe()
    assert run.findings == [], run.describe()
    assert path.resolve() not in schema_rejects(), f"{path.name}: check-jsonschema rejects it"


@pytest.mark.parametrize("path", CLUSTERS, ids=[p.parent.name for p in CLUSTERS])
def test_bundled_example(path: Path) -> None:
    run = validate(path)
    assert run.returncode == 0, run.describe()
    assert path.resolve() not in schema_rejects(), f"{path}: check-jsonschema rejects it"
