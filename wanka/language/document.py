"""Assemble a cluster document from its file and the fragments it includes.

A cluster file may keep parts apart (`include: [catalog.yaml, phases/p2.yaml]`).
Each fragment is checked against the schema on its own (so its kind and
apiVersion are checked where they are written), then its `spec` is merged
into the cluster's: mappings key by key, lists appended in include order.
Every value keeps the file, line and column it came from, so later findings
point into the right file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from wanka.findings import Finding, InputError, error, unique
from wanka.language import schema
from wanka.language.loader import MAX_BYTES, YMap, YSeq, load_file


@dataclass
class Document:
    """The assembled document, the files it came from, and what loading found."""

    path: str
    data: Any = None
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unreadable: bool = False  # some input could not be read at all (exit 2)

    @property
    def loaded(self) -> bool:
        return self.data is not None


def load_document(path: str, max_bytes: int = MAX_BYTES) -> Document:
    """Load `path` and its includes; schema-check the result. Never raises on bad input."""
    doc = Document(path)
    try:
        data = load_file(path, max_bytes)
    except InputError as e:
        doc.findings.extend(e.findings)
        doc.unreadable = e.unreadable
        return doc
    doc.data = data
    doc.files.append(path)

    includes = data.get("include") if isinstance(data, YMap) else None
    if isinstance(includes, YSeq) and all(isinstance(i, str) for i in includes):
        base = os.path.dirname(path)
        spec = data.get("spec")
        if not isinstance(spec, YMap):
            spec = None
        for i, rel in enumerate(includes):
            at = includes.item_at[i]
            if os.path.isabs(rel):
                doc.findings.append(
                    error(
                        "INCLUDE-PATH",
                        f"include '{rel}' must be a relative path",
                        at,
                        "paths are relative to the including file",
                    )
                )
                continue
            fpath = os.path.normpath(os.path.join(base, rel))
            try:
                frag = load_file(fpath, max_bytes)
            except InputError as e:
                doc.findings.append(error("INCLUDE-LOAD", f"cannot load include '{rel}'", at))
                doc.findings.extend(e.findings)
                doc.unreadable = doc.unreadable or e.unreadable
                continue
            doc.files.append(fpath)
            doc.findings.extend(schema.validate(frag))
            if isinstance(frag, YMap) and frag.get("kind") == "Cluster":
                doc.findings.append(
                    error(
                        "INCLUDE-KIND",
                        f"'{rel}' is a whole Cluster, not a fragment",
                        frag.value_at["kind"],
                        "set kind: ClusterFragment",
                    )
                )
            part = frag.get("spec") if isinstance(frag, YMap) else None
            if isinstance(part, YMap):
                if spec is None:
                    doc.findings.append(
                        error("INCLUDE-CONFLICT", "the cluster file has no spec to merge into", at)
                    )
                    continue
                _merge(spec, part, ["spec"], doc.findings)

    doc.findings.extend(schema.validate(data))
    doc.findings = unique(doc.findings)
    return doc


def _merge(into: YMap, part: YMap, path: list[str], findings: list[Finding]) -> None:
    for key, value in part.items():
        if key not in into:
            into[key] = value
            into.key_at[key] = part.key_at[key]
            into.value_at[key] = part.value_at[key]
            continue
        have = into[key]
        if isinstance(have, YMap) and isinstance(value, YMap):
            _merge(have, value, [*path, key], findings)
        elif isinstance(have, YSeq) and isinstance(value, YSeq):
            have.extend(value)
            have.item_at.extend(value.item_at)
        else:
            first = into.key_at[key]
            findings.append(
                error(
                    "INCLUDE-CONFLICT",
                    f"{'.'.join([*path, key])} is already set at {first}",
                    part.key_at[key],
                    "a key may be set in one file only; mappings merge and lists append",
                )
            )
