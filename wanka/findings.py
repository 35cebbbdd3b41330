"""Findings: what validation reports, and where.

Every stage (loading, schema, semantic rules) reports problems as `Finding`s
instead of raising, so a run collects all of them at once and hands them to a
reporter. A `Mark` is a 1-based file/line/column position in a source file; an
`Excerpt` is the source line(s) around it, which the text reporter prints under the
finding's line with a caret under the column (YAML syntax errors carry one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from unicodedata import east_asian_width


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in a source file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Excerpt:
    """Source lines to show under a finding: `lines` are (line number, text), the marked line
    last; the caret goes under its 1-based column `col`."""

    lines: tuple[tuple[int, str], ...]
    col: int

    def render(self) -> list[str]:
        """`  12 |     name: x` lines and `     |     ^` under the column (tabs shown as four
        spaces, wide characters as two columns, so the caret stays under its character)."""
        width = len(str(self.lines[-1][0]))
        out = [f"  {n:>{width}} | {_shown(text)}".rstrip() for n, text in self.lines]
        text = self.lines[-1][1]
        at = min(max(self.col, 1), len(text) + 1) - 1
        under = text[at] if at < len(text) else " "
        caret = " " * _columns(text[:at]) + "^" * max(_columns(under), 1)
        out.append(f"  {'':>{width}} | {caret}")
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "lines": [{"line": n, "text": text} for n, text in self.lines],
            "column": self.col,
        }


def _shown(text: str) -> str:
    return text.replace("\t", "    ")


def _columns(text: str) -> int:
    """How many terminal columns `text` takes (a tab 4, a wide character 2)."""
    return sum(4 if c == "\t" else 2 if east_asian_width(c) in "WF" else 1 for c in text)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: a stable rule id, a message, an optional hint, a position.

    Messages never contain credential values: rules and the schema reporter
    build them from names and paths, not from raw user values in secret fields.
    """

    rule: str
    message: str
    mark: Mark | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    file: str | None = None  # for findings about a file with no position in it
    excerpt: Excerpt | None = None  # the source around `mark`, printed under the finding

    @property
    def where(self) -> str:
        if self.mark is not None:
            return str(self.mark)
        return self.file or "<input>"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        m = self.mark
        if m is None:
            return (self.file or "", 0, 0, self.rule, self.message)
        return (m.file, m.line, m.col, self.rule, self.message)

    def as_dict(self) -> dict[str, object]:
        m = self.mark
        return {
            "file": m.file if m else self.file,
            "line": m.line if m else None,
            "column": m.col if m else None,
            "severity": str(self.severity),
            "rule": self.rule,
            "message": self.message,
            "hint": self.hint,
            "excerpt": self.excerpt.as_dict() if self.excerpt else None,
        }


def error(
    rule: str,
    message: str,
    mark: Mark | None = None,
    hint: str | None = None,
    *,
    file_: str | None = None,
    excerpt: Excerpt | None = None,
) -> Finding:
    return Finding(rule, message, mark, hint, Severity.ERROR, file_, excerpt)


def warning(rule: str, message: str, mark: Mark | None = None, hint: str | None = None) -> Finding:
    return Finding(rule, message, mark, hint, Severity.WARNING)


def unique(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (rule, place, message), in the order they were first met: a schema's
    if/then branches and a pod type built once per pod repeat themselves, and a stage may
    meet the same problem as an earlier one. The last of equal findings is the one kept."""
    return list({(f.rule, f.where, f.message): f for f in findings}.values())


class InputError(Exception):
    """A file could not be read or parsed at all; carries its findings.

    `unreadable` distinguishes input that is not a readable cluster file
    (missing, a directory, binary, too large, or holding no YAML document at
    all: exit 2) from a readable file whose YAML is broken (exit 1).
    """

    def __init__(self, findings: list[Finding], *, unreadable: bool) -> None:
        super().__init__("; ".join(f.message for f in findings))
        self.findings = findings
        self.unreadable = unreadable


def listed(names: list[str], shown: int = 3) -> str:
    """The first few of many names, quoted, and how many more: `'a', 'b', 'c' (and 253 more)`.
    For a finding that stands for many things: it names some and counts the rest."""
    head = ", ".join(f"'{n}'" for n in names[:shown])
    return head + (f" (and {len(names) - shown:,} more)" if len(names) > shown else "")
