"""No input gets a traceback: random edits of a valid cluster always end in findings or success."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wanka.findings import InputError
from wanka.language.loader import load_text
from wanka.pipeline import check

LINES = (ROOT / "examples/lab-mini/cluster.yaml").read_text(encoding="utf-8").splitlines()
SZ = (ROOT / "examples/shenzhen-14000p/cluster.yaml").read_text(encoding="utf-8").splitlines()
TOKENS = [
    "0",
    "-1",
    "1",
    "2",
    "3",
    "64",
    "7.5",
    "1e9",
    "99999999999",
    "x",
    "''",
    "null",
    "true",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "p1",
    "p2",
    "A",
    "lab",
    "core",
    "pod",
    "param",
    "mgmt",
    "oob",
    "leaf",
    "spine",
    "core",
    "lc-60",
    "net-15",
    "a2-kunpeng",
    "lab-32x400g",
    "2x200G",
    "400G",
    "1G",
    "10.64.0.0/16",
    "10.64.0.0/30",
    "10.0.0.1/16",
    "10.99.0.300",
    "per_rail",
    "shared",
    "7.6.0",
    "A3",
    "hygon",
    "x86_64",
    "bus",
    "storage",
    "live",
]
SECRET_KEY = re.compile(r"(password|passphrase|private_key|secret|token)\w*\s*:", re.I)
VALUE = re.compile(r"^(\s*(?:- )?[\w.-]+:\s*)(\S.*)$")


def mutate(lines: list[str], edits: list[tuple[int, int, int]]) -> str:
    out = list(lines)
    for kind, pos, tok in edits:
        if not out:
            break
        i = pos % len(out)
        if kind == 0:  # replace a value
            m = VALUE.match(out[i])
            if m:
                out[i] = m.group(1) + TOKENS[tok % len(TOKENS)]
        elif kind == 1:  # drop a line
            del out[i]
        elif kind == 2:  # duplicate a line
            out.insert(i, out[i])
        else:  # replace a value inside a flow mapping
            out[i] = re.sub(
                r": [^,{}\[\]]+([,}])", f": {TOKENS[tok % len(TOKENS)]}\\1", out[i], count=1
            )
    return "\n".join(out) + "\n"


EDITS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 100)),
    min_size=1,
    max_size=4,
)


def assert_clean(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cluster.yaml"
        path.write_text(text, encoding="utf-8")
        result = check(str(path))  # must not raise
        for f in result.findings:
            assert f.rule and f.message
            assert f.mark is None or f.mark.line >= 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS)
def test_random_edits_of_the_lab_never_crash(edits: list[tuple[int, int, int]]) -> None:
    assert_clean(mutate(LINES, edits))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS)
def test_random_edits_of_the_reference_cluster_never_crash(
    edits: list[tuple[int, int, int]],
) -> None:
    text = mutate(SZ, edits).replace("include:\n  - phase2.yaml\n  - manifest.yaml\n", "")
    assert_clean(text)


def reindent(lines: list[str], edits: list[tuple[int, int]]) -> str:
    """Break the layout: a tab before a line, one space less or more, a ':' dropped or added."""
    out = list(lines)
    for kind, pos in edits:
        i = pos % len(out)
        text = out[i]
        out[i] = [
            "\t" + text,
            text[1:] if text.startswith(" ") else " " + text,
            "  " + text,
            text.replace(":", "", 1),
            text + ": x",
        ][kind]
    return "\n".join(out) + "\n"


@settings(max_examples=300, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10_000)), min_size=1, max_size=3))
def test_broken_layout_is_a_syntax_finding_that_shows_its_line(
    edits: list[tuple[int, int]],
) -> None:
    # every YAML-SYNTAX finding points into the file and shows that line with a caret (unless
    # the line names a secret)
    text = reindent(LINES, edits)
    source = text.splitlines()
    try:
        load_text(text, "c.yaml")
    except InputError as e:
        for f in e.findings:
            if f.rule != "YAML-SYNTAX":
                continue
            assert f.mark is not None and 1 <= f.mark.line <= len(source), f
            if SECRET_KEY.search(source[f.mark.line - 1]):
                assert f.excerpt is None, f  # a line naming a secret is never shown
                continue
            assert f.excerpt is not None, f
            number, shown = f.excerpt.lines[-1]
            assert (number, shown) == (f.mark.line, source[f.mark.line - 1])
            assert f.excerpt.render()[-1].rstrip().endswith("^")
