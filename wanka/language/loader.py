"""Strict YAML loading with positions.

The document is built from libyaml's event stream (fast, iterative) rather
than from PyYAML's composer, which recurses in C and crashes the interpreter
on very deep nesting. Building values ourselves lets us:

* resolve plain scalars with the YAML 1.2 core schema (`no` stays a string,
  `1_000` is a string, no timestamps);
* refuse duplicate keys, non-string keys, custom tags and recursive aliases;
* bound nesting depth and alias expansion (an alias bomb costs nothing);
* keep the file, line and column of every key and value (`YMap`, `YSeq`).

Values are plain dicts and lists (subclasses), so jsonschema and json.dumps
accept them unchanged.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from wanka.findings import Finding, InputError, Mark, error
from wanka.language.syntax import syntax_finding

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
ALIAS_BUDGET = 100_000  # extra nodes that aliases may add, in total

_STR = "tag:yaml.org,2002:str"
_ALLOWED_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "!",
}
_ALLOWED_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "!"}

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#103-core-schema)
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT10 = re.compile(r"[-+]?[0-9]+\Z")
_INT8 = re.compile(r"0o[0-7]+\Z")
_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF_NAN = re.compile(r"[-+]?\.(inf|Inf|INF)\Z|\.(nan|NaN|NAN)\Z")


class YMap(dict):  # type: ignore[type-arg]
    """A mapping that remembers where each key and value was written."""

    __slots__ = ("at", "key_at", "value_at")

    def __init__(self, at: Mark) -> None:
        super().__init__()
        self.at = at
        self.key_at: dict[str, Mark] = {}
        self.value_at: dict[str, Mark] = {}


class YSeq(list):  # type: ignore[type-arg]
    """A sequence that remembers where each item was written."""

    __slots__ = ("at", "item_at")

    def __init__(self, at: Mark) -> None:
        super().__init__()
        self.at = at
        self.item_at: list[Mark] = []


def resolve_plain(text: str) -> Any:
    """Resolve a plain (unquoted, untagged) scalar by the YAML 1.2 core schema."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    c = text[0]
    if c.isdigit() or c in "+-.":
        if _INT10.match(text):
            return int(text)
        if _FLOAT.match(text):
            return float(text)
        if _INF_NAN.match(text):
            return float(text.replace(".", "", 1).lower().replace("+", ""))
    if c == "0" and len(text) > 2:
        if _INT8.match(text):
            return int(text[2:], 8)
        if _INT16.match(text):
            return int(text[2:], 16)
    return text


def _explicit(tag: str, text: str) -> Any:
    if tag in ("!", _STR):
        return text
    if tag == "tag:yaml.org,2002:null":
        return None
    value = resolve_plain(text)
    want = {
        "tag:yaml.org,2002:int": int,
        "tag:yaml.org,2002:float": float,
        "tag:yaml.org,2002:bool": bool,
    }[tag]
    if want is float and type(value) is int:
        return float(value)
    if type(value) is not want:
        raise ValueError(f"{text!r} is not a valid {tag.rsplit(':', 1)[-1]}")
    return value


def _size(value: Any) -> int:
    """Number of nodes in a built value (what an alias to it expands to)."""
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        total += 1
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return total


def read_text(path: str, max_bytes: int = MAX_BYTES) -> str:
    """Read a UTF-8 text file, or raise InputError(unreadable=True)."""
    _check_file(path, max_bytes)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise _unreadable("LOAD-UNREADABLE", f"cannot read: {e.strerror}", path) from None
    if len(data) > max_bytes:  # grew while we read it, or a special file
        raise _unreadable("LOAD-TOO-LARGE", f"file is over the {max_bytes:,}-byte limit", path)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _unreadable(
            "LOAD-BINARY",
            "contains NUL bytes: this is a binary file, not YAML",
            path,
            at=_byte_mark(path, data, nul),
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _unreadable(
            "LOAD-ENCODING",
            f"not valid UTF-8 (byte 0x{data[e.start]:02x})",
            path,
            at=_byte_mark(path, data, e.start),
            hint="save the file as UTF-8",
        ) from None


def _check_file(path: str, max_bytes: int) -> None:
    """Refuse what is not there, not a file or too large, before reading a byte."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise _unreadable("LOAD-NOT-FOUND", "no such file", path, hint="check the path") from None
    except OSError as e:
        raise _unreadable("LOAD-UNREADABLE", f"cannot read: {e.strerror}", path) from None
    if p.is_dir():
        raise _unreadable(
            "LOAD-NOT-FILE",
            "is a directory, not a cluster file",
            path,
            hint=f"pass the file inside it, e.g. {os.path.join(path, 'cluster.yaml')}",
        )
    if st.st_size > max_bytes:
        raise _unreadable(
            "LOAD-TOO-LARGE",
            f"file is {st.st_size:,} bytes, over the {max_bytes:,}-byte limit",
            path,
            hint="split the cluster with `include:`, or raise the limit with --max-bytes",
        )


def _unreadable(
    rule: str, msg: str, path: str, *, at: Mark | None = None, hint: str | None = None
) -> InputError:
    if at is None:
        return InputError([error(rule, msg, hint=hint, file_=path)], unreadable=True)
    return InputError([error(rule, msg, at, hint=hint)], unreadable=True)


def _byte_mark(path: str, data: bytes, offset: int) -> Mark:
    """The line and column (1-based) of a byte offset."""
    line = data.count(b"\n", 0, offset) + 1
    return Mark(path, line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1)


def load_file(path: str, max_bytes: int = MAX_BYTES) -> Any:
    """Load one YAML document from a file; raise InputError on any problem."""
    return load_text(read_text(path, max_bytes), path)


def load_text(text: str, name: str) -> Any:
    """Build the single document in `text`; raise InputError with every problem found.

    Duplicate keys are collected (all of them are reported); structural
    problems (syntax, depth, aliases, tags) stop loading at once.
    """
    composer = _Composer(name)
    try:
        composer.compose(yaml.parse(text, Loader=yaml.CSafeLoader))
    except yaml.MarkedYAMLError as e:
        raise composer.syntax_error(e, text) from None
    except yaml.reader.ReaderError as e:
        raise composer.character_error(text, e) from None
    return composer.document()


class _Composer:
    """Values from libyaml's events: one method per kind of event, `attach` puts each value
    in its place. The stack holds [container, pending key, pending key's mark] per level."""

    __slots__ = (
        "name",
        "problems",
        "stack",
        "anchors",
        "open_anchors",
        "anchor_of",
        "alias_budget",
        "root",
        "have_root",
        "docs",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[Finding] = []
        self.stack: list[list[Any]] = []
        self.anchors: dict[str, Any] = {}
        self.open_anchors: set[str] = set()
        self.anchor_of: dict[int, str] = {}
        self.alias_budget = ALIAS_BUDGET
        self.root: Any = None
        self.have_root = False
        self.docs = 0

    def compose(self, events: Iterator[Any]) -> None:
        scalar, start, end, alias = self.scalar, self.start, self.end, self.alias
        for ev in events:
            cls = type(ev)
            if cls is yaml.ScalarEvent:
                scalar(ev)
            elif cls is yaml.MappingStartEvent or cls is yaml.SequenceStartEvent:
                start(ev, cls is yaml.MappingStartEvent)
            elif cls is yaml.MappingEndEvent or cls is yaml.SequenceEndEvent:
                end()
            elif cls is yaml.AliasEvent:
                alias(ev)
            elif cls is yaml.DocumentStartEvent:
                self.document_start(ev)

    def mark(self, ev: Any) -> Mark:
        m = ev.start_mark
        return Mark(self.name, m.line + 1, m.column + 1)

    def fatal(self, rule: str, msg: str, at: Mark | None, hint: str | None = None) -> InputError:
        return InputError([*self.problems, error(rule, msg, at, hint)], unreadable=False)

    def scalar(self, ev: Any) -> None:
        at = self.mark(ev)
        tag = ev.tag
        if tag is None:
            value = resolve_plain(ev.value) if ev.implicit[0] else ev.value
        else:
            if tag not in _ALLOWED_SCALAR_TAGS:
                raise self.fatal(
                    "YAML-TAG",
                    f"tag {tag} is not allowed",
                    at,
                    hint="wanka files use plain YAML: remove the tag",
                )
            try:
                value = _explicit(tag, ev.value)
            except ValueError as e:
                raise self.fatal("YAML-TAG", str(e), at) from None
        if type(value) is float and not math.isfinite(value):
            raise self.fatal("YAML-VALUE", f"non-finite number {ev.value!r} is not allowed", at)
        if ev.anchor:
            self.anchors[ev.anchor] = value
        self.attach(value, at)

    def start(self, ev: Any, mapping: bool) -> None:
        at = self.mark(ev)
        if ev.tag is not None and ev.tag not in _ALLOWED_COLLECTION_TAGS:
            raise self.fatal(
                "YAML-TAG",
                f"tag {ev.tag} is not allowed",
                at,
                hint="wanka files use plain YAML: remove the tag",
            )
        if len(self.stack) >= MAX_DEPTH:
            raise self.fatal(*_too_deep(at))
        container: Any = YMap(at) if mapping else YSeq(at)
        self.attach(container, at)
        self.stack.append([container, _NO_KEY, None])
        if ev.anchor:
            self.anchors[ev.anchor] = container
            self.open_anchors.add(ev.anchor)
            self.anchor_of[id(container)] = ev.anchor

    def end(self) -> None:
        done = self.stack.pop()[0]
        a = self.anchor_of.pop(id(done), None)
        if a is not None:
            self.open_anchors.discard(a)

    def alias(self, ev: Any) -> None:
        at = self.mark(ev)
        if ev.anchor not in self.anchors:
            raise self.fatal("YAML-ALIAS", f"alias *{ev.anchor} has no anchor before it", at)
        if ev.anchor in self.open_anchors:
            raise self.fatal(
                "YAML-ALIAS",
                f"alias *{ev.anchor} refers to the value that contains it",
                at,
                hint="recursive structures are not allowed",
            )
        value = self.anchors[ev.anchor]
        self.alias_budget -= _size(value) if isinstance(value, (dict, list)) else 1
        if self.alias_budget < 0:
            raise self.fatal(
                "YAML-ALIAS-LIMIT",
                f"aliases expand to more than {ALIAS_BUDGET:,} nodes",
                at,
                hint="an alias bomb? write the values out, or use fewer aliases",
            )
        self.attach(value, at)

    def document_start(self, ev: Any) -> None:
        self.docs += 1
        if self.docs > 1:
            raise self.fatal(
                "YAML-MULTI-DOC",
                "more than one YAML document in the file",
                self.mark(ev),
                hint="a cluster file holds one document; remove the extra '---'",
            )

    def attach(self, value: Any, at: Mark) -> None:
        if not self.stack:
            self.root, self.have_root = value, True
            return
        top = self.stack[-1]
        container = top[0]
        if not isinstance(container, YMap):
            container.append(value)
            container.item_at.append(at)
            return
        if top[1] is _NO_KEY:
            if isinstance(value, (dict, list)) or not isinstance(value, str):
                raise self.fatal(*_bad_key(value, at))
            top[1], top[2] = value, at
            return
        key, key_at = top[1], top[2]
        top[1] = _NO_KEY
        if key in container:
            self.problems.append(
                error(
                    "YAML-DUPLICATE-KEY",
                    f"duplicate key '{key}' (first written at line {container.key_at[key].line})",
                    key_at,
                    hint="each key may appear once in a mapping; merge the two entries",
                )
            )
            return
        container[key] = value
        container.key_at[key] = key_at
        container.value_at[key] = at

    def syntax_error(self, e: yaml.MarkedYAMLError, text: str) -> InputError:
        m = e.problem_mark
        if e.problem and _LIBYAML_DEPTH in e.problem:
            # recent libyaml (PyYAML 6.0.4: 1,000 levels) stops deep nesting itself, before our
            # check sees the events: its scanner reads ahead on `[[[...` (each `[` may open a key)
            where = Mark(self.name, m.line + 1, m.column + 1) if m is not None else None
            return self.fatal(*_too_deep(where))
        return InputError([*self.problems, syntax_finding(e, text, self.name)], unreadable=False)

    def character_error(self, text: str, e: yaml.reader.ReaderError) -> InputError:
        pos = e.position
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return self.fatal(
            "YAML-SYNTAX",
            f"character U+{e.character:04X} is not allowed in YAML",
            Mark(self.name, line, col),
            hint="remove control characters from the file",
        )

    def document(self) -> Any:
        if self.problems:
            raise InputError(self.problems, unreadable=False)
        if not self.have_root:  # nothing to check: unreadable input (exit 2), like a missing file
            empty = error(
                "YAML-EMPTY",
                "the file is empty or holds only comments: there is no YAML document to check",
                Mark(self.name, 1, 1),
                "a cluster file starts with apiVersion: wanka/v1 and kind: Cluster",
            )
            raise InputError([empty], unreadable=True)
        return self.root


def _bad_key(value: Any, at: Mark) -> tuple[str, str, Mark, str | None]:
    """YAML-KEY for a key that is not a string (a number, null, a mapping or a sequence)."""
    if isinstance(value, (dict, list)):
        shown = "mapping" if isinstance(value, dict) else "sequence"
        return "YAML-KEY", f"keys must be strings, found {shown}", at, None
    shown = "null" if value is None else repr(value)
    return "YAML-KEY", f"keys must be strings, found {shown}", at, "quote the key"


_LIBYAML_DEPTH = "exceeded maximum nesting depth"  # libyaml's own limit, scanner or parser


def _too_deep(at: Mark | None) -> tuple[str, str, Mark | None, str]:
    """The YAML-DEPTH finding's rule, message, mark and hint, whoever noticed the depth."""
    return (
        "YAML-DEPTH",
        f"nesting deeper than {MAX_DEPTH} levels",
        at,
        "a cluster file needs far fewer levels; is this the right file?",
    )


class _NoKey:
    __slots__ = ()


_NO_KEY = _NoKey()
