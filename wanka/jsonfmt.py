"""Readable JSON, fast: nested structure indented, flat objects and lists on one line.

`json.dumps(indent=2)` runs Python's pure-Python encoder over every value; a
50,000-card cluster's rank tables hold millions. Here each flat object (a rank
table device, an interface) goes through the C encoder in one call, and only
the few nesting levels above it are laid out by hand. The output is valid JSON,
deterministic, in the objects' own key order.
"""

from __future__ import annotations

import json
from typing import Any

Json = dict[str, Any]  # JSON-ready: str keys; str, int, float, bool, None, lists, dicts

_compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def _flat(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) for v in value.values())
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) for v in value)
    return True


def _lines(value: Any, indent: str, out: list[str], prefix: str, suffix: str) -> None:
    if _flat(value):
        out.append(f"{indent}{prefix}{_compact(value)}{suffix}")
        return
    inner = indent + "  "
    if isinstance(value, dict):
        out.append(f"{indent}{prefix}{{")
        items = list(value.items())
        for i, (k, v) in enumerate(items):
            _lines(v, inner, out, f"{_compact(k)}: ", "," if i < len(items) - 1 else "")
        out.append(f"{indent}}}{suffix}")
    else:
        out.append(f"{indent}{prefix}[")
        for i, v in enumerate(value):
            _lines(v, inner, out, "", "," if i < len(value) - 1 else "")
        out.append(f"{indent}]{suffix}")


def dumps(value: Any) -> str:
    """`value` as indented JSON with flat objects on one line, ending in a newline."""
    out: list[str] = []
    _lines(value, "", out, "", "")
    return "\n".join(out) + "\n"
