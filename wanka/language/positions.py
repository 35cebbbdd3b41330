"""Find where a value was written, and name it, from its path in the document."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from wanka.findings import Mark
from wanka.language.loader import YMap, YSeq

Path = Sequence[str | int]


def locate(doc: Any, path: Path, *, key: bool = False) -> Mark | None:
    """Mark of the value at `path` (or of its key, with key=True).

    Walks as far as the path exists; a path that leaves the document (a
    missing key) resolves to the deepest existing position.
    """
    node = doc
    found: Mark | None = getattr(doc, "at", None)
    for i, step in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, YMap) and isinstance(step, str) and step in node:
            found = node.key_at[step] if (key and last) else node.value_at[step]
            node = node[step]
        elif isinstance(node, YSeq) and isinstance(step, int) and 0 <= step < len(node):
            found = node.item_at[step]
            node = node[step]
        else:
            break
    return found


def key_mark(doc: Any, path: Path) -> Mark | None:
    """Mark of the key that holds the value at `path` (the value's own mark for list items)."""
    return locate(doc, path, key=True)


def dotted(path: Iterable[str | int]) -> str:
    """`spec.phases[1].pods[0].type` from a path."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + step
    return out or "(document)"


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean' hint, or None when nothing is close."""
    pool = sorted(set(candidates))
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return None


def choices_hint(word: str, candidates: Iterable[str], *, limit: int = 8) -> str:
    """'did you mean X?' when something is close, else the list of choices."""
    pool = sorted(set(candidates))
    hint = did_you_mean(word, pool)
    if hint:
        return hint
    if not pool:
        return "none are defined"
    shown = ", ".join(pool[:limit]) + (", ..." if len(pool) > limit else "")
    return f"choose one of: {shown}"
