"""The published JSON Schema: valid Draft 2020-12, documented everywhere, closed everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
from conftest import EXAMPLES, ROOT

from wanka.language.document import load_document
from wanka.language.schema import load_schema, schema_path

SCHEMA = json.loads((ROOT / "schemas/cluster.schema.json").read_text(encoding="utf-8"))


def test_packaged_schema_is_the_repository_schema() -> None:
    assert load_schema() == SCHEMA
    assert schema_path().name == "cluster.schema.json"


def test_schema_is_valid_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def walk(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}/{i}")


def resolve(sub: dict[str, Any]) -> dict[str, Any]:
    ref = sub.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return SCHEMA["$defs"][ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]
    return sub


def test_every_property_has_a_description() -> None:
    missing = []
    for path, node in walk(SCHEMA):
        props = node.get("properties")
        if not isinstance(props, dict) or any(f"/{k}" in path for k in ("if", "then", "else")):
            continue  # conditional branches narrow properties documented where they are declared
        for name, sub in props.items():
            if sub is False or not isinstance(sub, dict):
                continue
            if "description" not in sub and "description" not in resolve(sub):
                missing.append(f"{path}/properties/{name}")
    assert not missing, missing


def test_every_object_is_closed() -> None:
    """additionalProperties: false (or a schema for maps) everywhere, so typos are errors."""
    open_objects = []
    for path, node in walk(SCHEMA):
        if "/if" in path or "/then" in path or "/else" in path:
            continue  # conditional branches narrow an object that is closed elsewhere
        if node.get("type") == "object" and "additionalProperties" not in node:
            open_objects.append(path)
    assert not open_objects, open_objects


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_fast_and_reference_validators_agree_on_examples(path: Any) -> None:
    doc = load_document(str(path))
    assert doc.loaded and not doc.findings
    fast = jsonschema_rs.validator_for(SCHEMA)
    ref = jsonschema.Draft202012Validator(SCHEMA)
    assert fast.is_valid(doc.data) and ref.is_valid(doc.data)
    broken = dict(doc.data)
    broken["kinf"] = "Cluster"
    assert not fast.is_valid(broken) and not ref.is_valid(broken)


def test_every_missing_required_key_is_reported_at_once() -> None:
    # jsonschema reports one error per missing key; each becomes its own finding, at the
    # position of the object that lacks it (three keys missing in two objects here)
    from wanka.language.loader import load_text
    from wanka.language.schema import validate

    text = (ROOT / "examples/lab-mini/cluster.yaml").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    net = lines.index("      net-15:\n")
    p2 = lines.index("    - name: p2\n")
    cut = {net + 2, net + 3}  # units and power_kw of rack type net-15
    cut |= {i for i in range(p2, p2 + 5) if lines[i].startswith("      status:")}
    assert len(cut) == 3  # p2's line moves up by the two cut above it
    doc = load_text("".join(line for i, line in enumerate(lines) if i not in cut), "c.yaml")
    found = [(f.rule, f.mark.line if f.mark else None, f.message) for f in validate(doc)]
    assert found == [
        ("SCHEMA-REQUIRED", net + 1, "spec.catalog.racks.net-15: missing required key 'power_kw'"),
        ("SCHEMA-REQUIRED", net + 1, "spec.catalog.racks.net-15: missing required key 'units'"),
        ("SCHEMA-REQUIRED", p2 + 1 - 2, "spec.phases[1]: missing required key 'status'"),
    ]


def test_a_misspelt_key_explains_only_its_own_missing_key() -> None:
    from wanka.language.loader import load_text
    from wanka.language.schema import validate

    doc = load_text("apiVersoin: wanka/v1\nmetadata: {name: x}\n", "c.yaml")
    found = sorted((f.rule, f.message) for f in validate(doc))
    # apiVersion is explained by the unknown 'apiVersoin' (did you mean); kind is not
    assert found == [
        ("SCHEMA-REQUIRED", "(document): missing required key 'kind'"),
        ("SCHEMA-UNKNOWN-KEY", "(document): unknown key 'apiVersoin'"),
    ]
