"""YAML syntax errors in plain words, with the source line and a caret.

libyaml says what its parser expected ("did not find expected '-' indicator", "found
character that cannot start any token"), not what the writer did wrong. Most broken
cluster files have one of a few mistakes: a tab in the indentation, a line indented
unlike the keys or items around it, a value holding ': ' without quotes, a line with
no ':' at all. `syntax_finding` recognises these from libyaml's problem, its marks and
the source text, and says so; anything else keeps libyaml's words. Every YAML-SYNTAX
finding carries an `Excerpt` of the line (and, for indentation, the line above it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from wanka.findings import Excerpt, Finding, Mark, error

# a line whose key names a secret: its text is never shown (secrets are references, but a
# broken file may still hold a value in clear)
_SECRET_LINE = re.compile(r"(password|passphrase|private_key|secret|token)\w*\s*:", re.I)

_HINT_INDENT = (
    "YAML nests by indentation: line it up, with spaces, with the keys or items it belongs to"
)


@dataclass(frozen=True, slots=True)
class _Source:
    """The file's lines, and questions about them (line numbers are 1-based)."""

    lines: list[str]

    def text(self, n: int) -> str:
        return self.lines[n - 1] if 1 <= n <= len(self.lines) else ""

    def indent(self, n: int) -> int:
        """The 1-based column of the line's first character that is not a space."""
        text = self.text(n)
        return len(text) - len(text.lstrip(" ")) + 1

    def above(self, n: int) -> int | None:
        """The nearest line before `n` with content (not blank, not only a comment)."""
        for k in range(n - 1, 0, -1):
            stripped = self.text(k).strip()
            if stripped and not stripped.startswith("#"):
                return k
        return None

    def excerpt(self, line: int, col: int, *, context: int | None = None) -> Excerpt | None:
        """The marked line (and the context line before it), leaving out a line naming a
        secret; None when the marked line is not in the file or names one."""
        shown = [
            k
            for k in (context, line)
            if k is not None and 1 <= k <= len(self.lines) and not _SECRET_LINE.search(self.text(k))
        ]
        if not shown or shown[-1] != line:
            return None
        return Excerpt(lines=tuple((k, self.text(k)) for k in shown), col=col)


def syntax_finding(e: yaml.MarkedYAMLError, text: str, name: str) -> Finding:
    """The YAML-SYNTAX finding for a libyaml error in `text` (the file `name`)."""
    src = _Source(text.splitlines())
    m = e.problem_mark
    if m is None:
        return error("YAML-SYNTAX", _libyaml_words(e), None)
    line, col = m.line + 1, m.column + 1
    for explain in (_tab, _indentation, _colon, _no_colon):
        found = explain(e, src, line, col)
        if found is not None:
            msg, hint, (line, col), context = found
            at = Mark(name, line, col)
            return error(
                "YAML-SYNTAX", msg, at, hint, excerpt=src.excerpt(line, col, context=context)
            )
    return error(
        "YAML-SYNTAX", _libyaml_words(e), Mark(name, line, col), excerpt=src.excerpt(line, col)
    )


def _libyaml_words(e: yaml.MarkedYAMLError) -> str:
    msg = e.problem or "invalid YAML"
    return f"{msg} ({e.context})" if e.context else msg


_Explained = tuple[str, str | None, tuple[int, int], int | None]


def _tab(e: yaml.MarkedYAMLError, src: _Source, line: int, col: int) -> _Explained | None:
    """A tab where libyaml wants indentation ('found character that cannot start any token',
    'found a tab character that violates indentation'): point at the first tab of the line's
    leading whitespace, or at the tab libyaml stopped on."""
    text = src.text(line)
    lead = text[: len(text) - len(text.lstrip(" \t"))]
    if "\t" in lead:
        col = lead.index("\t") + 1
    elif not (col <= len(text) and text[col - 1] == "\t"):
        return None
    return (
        f"a tab at column {col}: YAML indents with spaces, never tabs",
        "replace the tab with spaces",
        (line, col),
        None,
    )


_INDENT_PROBLEMS = ("did not find expected key", "did not find expected '-' indicator")


def _indentation(e: yaml.MarkedYAMLError, src: _Source, line: int, col: int) -> _Explained | None:
    """A line that belongs to no block above it: its indentation is off, or (at the right
    indentation) it is a key among list items or an item among keys."""
    problem = e.problem or ""
    context = e.context or ""
    if problem == "did not find expected <document start>":
        return _top_level(src, line)
    if problem not in _INDENT_PROBLEMS and not problem.startswith("expected <block end>"):
        return None
    cm = e.context_mark
    if cm is None or "block" not in context:
        return None
    items = "collection" in context  # a block sequence (its '-' column), else a mapping's keys
    start, column = cm.line + 1, cm.column + 1
    indent = src.indent(line)
    prev = src.above(line)
    what = "list items" if items else "keys"
    block, noun = ("list", "items") if items else ("mapping", "keys")
    if indent == column:
        if items:
            msg = f"this line is not a list item, but the list from line {start} has its items here"
            hint = "start it with '- ', or indent it under the item it belongs to"
        else:
            msg = f"this line is not a key of the mapping from line {start}, whose keys start here"
            hint = "write it as `key: value`, or indent it under the key it belongs to"
        return msg, hint, (line, indent), prev
    where = f"it starts at column {indent}; the {block} from line {start}"
    where += f" has its {noun} at column {column}"
    if prev is not None and prev != start and src.indent(prev) != column:
        where += f", line {prev} starts at column {src.indent(prev)}"
    msg = f"this line's indentation does not match the {what} above it ({where})"
    return msg, _HINT_INDENT, (line, indent), prev


def _top_level(src: _Source, line: int) -> _Explained | None:
    """The first key indented, the next one not: libyaml ends the document after the first."""
    prev = src.above(line)
    if prev is None or src.indent(prev) == src.indent(line):
        return None
    msg = (
        f"this line's indentation does not match the lines above it (it starts at column "
        f"{src.indent(line)}, line {prev} at column {src.indent(prev)})"
    )
    return msg, _HINT_INDENT, (line, src.indent(line)), prev


def _colon(e: yaml.MarkedYAMLError, src: _Source, line: int, col: int) -> _Explained | None:
    """`mapping values are not allowed`: a value holding ': ', or a key indented under a key
    that already has a value."""
    if e.problem != "mapping values are not allowed in this context":
        return None
    text = src.text(line)
    first = text.find(": ")
    if 0 <= first < col - 1:
        return (
            "a value holds ': ': YAML reads it as a second key on the line",
            'quote the value, e.g. description: "ratio: 4"',
            (line, col),
            None,
        )
    prev = src.above(line)
    if prev is not None and src.indent(prev) == src.indent(line) and ":" not in src.text(prev):
        # `role management` above `description: x`: one plain value over two lines, then ':'
        return _missing_colon((prev, src.indent(prev)))
    if prev is not None and src.indent(line) > src.indent(prev):
        return (
            f"this line is indented deeper than line {prev}, whose key already has a value",
            f"indent it like line {prev} (column {src.indent(prev)}), or move that value "
            "onto lines of its own",
            (line, src.indent(line)),
            prev,
        )
    return None


def _no_colon(e: yaml.MarkedYAMLError, src: _Source, line: int, col: int) -> _Explained | None:
    """`could not find expected ':'`: a line in a mapping that is not `key: value` (libyaml
    notices on the line after it)."""
    cm = e.context_mark
    if e.problem != "could not find expected ':'" or cm is None:
        return None
    return _missing_colon((cm.line + 1, cm.column + 1))


def _missing_colon(at: tuple[int, int]) -> _Explained:
    return (
        "this line is in a mapping but has no ':' after its key",
        "write it as `key: value`; a value that goes on over several lines is indented "
        "deeper than its key",
        at,
        None,
    )
