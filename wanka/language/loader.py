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
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(
            [error("LOAD-NOT-FOUND", "no such file", hint="check the path", file_=path)],
            unreadable=True,
        ) from None
    except OSError as e:
        raise InputError(
            [error("LOAD-UNREADABLE", f"cannot read: {e.strerror}", file_=path)], unreadable=True
        ) from None
    if p.is_dir():
        raise InputError(
            [
                error(
                    "LOAD-NOT-FILE",
                    "is a directory, not a cluster file",
                    hint=f"pass the file inside it, e.g. {os.path.join(path, 'cluster.yaml')}",
                    file_=path,
                )
            ],
            unreadable=True,
        )
    if st.st_size > max_bytes:
        raise InputError(
            [
                error(
                    "LOAD-TOO-LARGE",
                    f"file is {st.st_size:,} bytes, over the {max_bytes:,}-byte limit",
                    hint="split the cluster with `include:`, or raise the limit with --max-bytes",
                    file_=path,
                )
            ],
            unreadable=True,
        )
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise InputError(
            [error("LOAD-UNREADABLE", f"cannot read: {e.strerror}", file_=path)], unreadable=True
        ) from None
    if len(data) > max_bytes:  # grew while we read it, or a special file
        raise InputError(
            [error("LOAD-TOO-LARGE", f"file is over the {max_bytes:,}-byte limit", file_=path)],
            unreadable=True,
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        col = nul - (data.rfind(b"\n", 0, nul) + 1) + 1
        raise InputError(
            [
                error(
                    "LOAD-BINARY",
                    "contains NUL bytes: this is a binary file, not YAML",
                    Mark(path, line, col),
                )
            ],
            unreadable=True,
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(
            [
                error(
                    "LOAD-ENCODING",
                    f"not valid UTF-8 (byte 0x{data[e.start]:02x})",
                    Mark(path, line, col),
                    hint="save the file as UTF-8",
                )
            ],
            unreadable=True,
        ) from None


def load_file(path: str, max_bytes: int = MAX_BYTES) -> Any:
    """Load one YAML document from a file; raise InputError on any problem."""
    return load_text(read_text(path, max_bytes), path)


def load_text(text: str, name: str) -> Any:
    """Build the single document in `text`; raise InputError with every problem found.

    Duplicate keys are collected (all of them are reported); structural
    problems (syntax, depth, aliases, tags) stop loading at once.
    """
    problems: list[Finding] = []

    def mark(ev: Any) -> Mark:
        m = ev.start_mark
        return Mark(name, m.line + 1, m.column + 1)

    def fatal(rule: str, msg: str, at: Mark | None, hint: str | None = None) -> InputError:
        return InputError([*problems, error(rule, msg, at, hint)], unreadable=False)

    # stack entries: [container, pending_key, pending_key_mark]
    stack: list[list[Any]] = []
    anchors: dict[str, Any] = {}
    open_anchors: set[str] = set()
    anchor_of: dict[int, str] = {}
    alias_budget = ALIAS_BUDGET
    root: Any = None
    have_root = False
    docs = 0

    def attach(value: Any, at: Mark) -> None:
        nonlocal root, have_root
        if not stack:
            root, have_root = value, True
            return
        top = stack[-1]
        container = top[0]
        if isinstance(container, YMap):
            if top[1] is _NO_KEY:
                if isinstance(value, (dict, list)) or not isinstance(value, str):
                    kind = (
                        type(value).__name__
                        if not isinstance(value, (dict, list))
                        else ("mapping" if isinstance(value, dict) else "sequence")
                    )
                    shown = (
                        "null"
                        if value is None
                        else (repr(value) if not isinstance(value, (dict, list)) else kind)
                    )
                    raise fatal(
                        "YAML-KEY",
                        f"keys must be strings, found {shown}",
                        at,
                        hint="quote the key" if not isinstance(value, (dict, list)) else None,
                    )
                top[1], top[2] = value, at
                return
            key, key_at = top[1], top[2]
            top[1] = _NO_KEY
            if key in container:
                problems.append(
                    error(
                        "YAML-DUPLICATE-KEY",
                        f"duplicate key '{key}' "
                        f"(first written at line {container.key_at[key].line})",
                        key_at,
                        hint="each key may appear once in a mapping; merge the two entries",
                    )
                )
                return
            container[key] = value
            container.key_at[key] = key_at
            container.value_at[key] = at
        else:
            container.append(value)
            container.item_at.append(at)

    try:
        events: Iterator[Any] = yaml.parse(text, Loader=yaml.CSafeLoader)
        for ev in events:
            cls = type(ev)
            if cls is yaml.ScalarEvent:
                at = mark(ev)
                tag = ev.tag
                if tag is None:
                    value = resolve_plain(ev.value) if ev.implicit[0] else ev.value
                else:
                    if tag not in _ALLOWED_SCALAR_TAGS:
                        raise fatal(
                            "YAML-TAG",
                            f"tag {tag} is not allowed",
                            at,
                            hint="wanka files use plain YAML: remove the tag",
                        )
                    try:
                        value = _explicit(tag, ev.value)
                    except ValueError as e:
                        raise fatal("YAML-TAG", str(e), at) from None
                if type(value) is float and not math.isfinite(value):
                    raise fatal("YAML-VALUE", f"non-finite number {ev.value!r} is not allowed", at)
                if ev.anchor:
                    anchors[ev.anchor] = value
                attach(value, at)
            elif cls is yaml.MappingStartEvent or cls is yaml.SequenceStartEvent:
                at = mark(ev)
                if ev.tag is not None and ev.tag not in _ALLOWED_COLLECTION_TAGS:
                    raise fatal(
                        "YAML-TAG",
                        f"tag {ev.tag} is not allowed",
                        at,
                        hint="wanka files use plain YAML: remove the tag",
                    )
                if len(stack) >= MAX_DEPTH:
                    raise fatal(*_too_deep(at))
                container: Any = YMap(at) if cls is yaml.MappingStartEvent else YSeq(at)
                attach(container, at)
                stack.append([container, _NO_KEY, None])
                if ev.anchor:
                    anchors[ev.anchor] = container
                    open_anchors.add(ev.anchor)
                    anchor_of[id(container)] = ev.anchor
            elif cls is yaml.MappingEndEvent or cls is yaml.SequenceEndEvent:
                done = stack.pop()[0]
                a = anchor_of.pop(id(done), None)
                if a is not None:
                    open_anchors.discard(a)
            elif cls is yaml.AliasEvent:
                at = mark(ev)
                if ev.anchor not in anchors:
                    raise fatal("YAML-ALIAS", f"alias *{ev.anchor} has no anchor before it", at)
                if ev.anchor in open_anchors:
                    raise fatal(
                        "YAML-ALIAS",
                        f"alias *{ev.anchor} refers to the value that contains it",
                        at,
                        hint="recursive structures are not allowed",
                    )
                value = anchors[ev.anchor]
                alias_budget -= _size(value) if isinstance(value, (dict, list)) else 1
                if alias_budget < 0:
                    raise fatal(
                        "YAML-ALIAS-LIMIT",
                        f"aliases expand to more than {ALIAS_BUDGET:,} nodes",
                        at,
                        hint="an alias bomb? write the values out, or use fewer aliases",
                    )
                attach(value, at)
            elif cls is yaml.DocumentStartEvent:
                docs += 1
                if docs > 1:
                    raise fatal(
                        "YAML-MULTI-DOC",
                        "more than one YAML document in the file",
                        mark(ev),
                        hint="a cluster file holds one document; remove the extra '---'",
                    )
    except yaml.MarkedYAMLError as e:
        m = e.problem_mark
        where = Mark(name, m.line + 1, m.column + 1) if m is not None else None
        if e.problem and _LIBYAML_DEPTH in e.problem:
            # recent libyaml (PyYAML 6.0.4: 1,000 levels) stops deep nesting itself, before our
            # check sees the events: its scanner reads ahead on `[[[...` (each `[` may open a key)
            raise fatal(*_too_deep(where)) from None
        msg = e.problem or "invalid YAML"
        if e.context:
            msg = f"{msg} ({e.context})"
        raise InputError([*problems, error("YAML-SYNTAX", msg, where)], unreadable=False) from None
    except yaml.reader.ReaderError as e:
        pos = e.position
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        raise InputError(
            [
                *problems,
                error(
                    "YAML-SYNTAX",
                    f"character U+{e.character:04X} is not allowed in YAML",
                    Mark(name, line, col),
                    hint="remove control characters from the file",
                ),
            ],
            unreadable=False,
        ) from None

    if problems:
        raise InputError(problems, unreadable=False)
    if not have_root:
        raise InputError(
            [
                error(
                    "YAML-EMPTY",
                    "the file holds no YAML document",
                    Mark(name, 1, 1),
                    hint="a cluster file starts with apiVersion: wanka/v1 and kind: Cluster",
                )
            ],
            unreadable=False,
        )
    return root


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
