"""Findings: what validation reports, and where.

Every stage (loading, schema, semantic rules) reports problems as `Finding`s
instead of raising, so a run collects all of them at once and hands them to a
reporter. A `Mark` is a 1-based file/line/column position in a source file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in a source file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


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
        }


def error(
    rule: str,
    message: str,
    mark: Mark | None = None,
    hint: str | None = None,
    *,
    file_: str | None = None,
) -> Finding:
    return Finding(rule, message, mark, hint, Severity.ERROR, file_)


def warning(rule: str, message: str, mark: Mark | None = None, hint: str | None = None) -> Finding:
    return Finding(rule, message, mark, hint, Severity.WARNING)


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
