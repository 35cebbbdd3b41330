"""Reporters: the same findings as text lines (for people and editors) or JSON (for machines)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from wanka.findings import Finding
from wanka.rules.checked import Checked


def line(f: Finding) -> str:
    """`path:line:col: error[RULE-ID]: message (hint)`: always the first line of a finding,
    the one editors and CI parsers read (an excerpt, if any, follows on lines of its own)."""
    text = f"{f.where}: {f.severity}[{f.rule}]: {f.message}"
    if f.hint:
        text += f" ({f.hint})"
    return text


def summary(results: Sequence[Checked]) -> str:
    errors = sum(len(r.errors) for r in results)
    warnings = sum(len(r.warnings) for r in results)
    files = len(results)
    bad = sum(1 for r in results if r.errors)
    parts = [f"{files} file{'s' if files != 1 else ''} checked"]
    if bad:
        parts.append(f"{bad} invalid")
    parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)


def describe(r: Checked) -> str:
    if r.fragment:
        return (
            f"{r.path}: fragment: schema checked; the semantic rules run when the cluster "
            "file that includes it is validated"
        )
    c = r.cluster
    if c is None:
        return ""
    cards = sum(n.model.cards for n in c.nodes)
    return (
        f"{r.path}: cluster '{c.name}': {len(c.phases)} phases, {len(c.pods)} pods, "
        f"{len(c.racks)} racks, {len(c.nodes)} nodes, {cards:,} cards, "
        f"{len(c.switches)} switches"
    )


def write_text(results: Sequence[Checked], out: TextIO, *, quiet: bool = False) -> None:
    for r in results:
        for f in r.findings:
            print(line(f), file=out)
            if f.excerpt is not None:
                print("\n".join(f.excerpt.render()), file=out)
        if not quiet and not r.errors and (r.cluster is not None or r.fragment):
            print(describe(r), file=out)
    print(summary(results), file=out)


def write_json(results: Sequence[Checked], out: TextIO, *, strict: bool) -> None:
    doc = {
        "valid": all(ok(r, strict=strict) for r in results),
        "files": [
            {
                "path": r.path,
                "valid": ok(r, strict=strict),
                "errors": len(r.errors),
                "warnings": len(r.warnings),
                "findings": [f.as_dict() for f in r.findings],
            }
            for r in results
        ],
        "summary": summary(results),
    }
    json.dump(doc, out, indent=2, sort_keys=True)
    out.write("\n")


def ok(r: Checked, *, strict: bool) -> bool:
    return not r.errors and not (strict and r.warnings)
