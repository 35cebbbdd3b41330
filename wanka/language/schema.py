"""JSON Schema stage: check a loaded document against schemas/cluster.schema.json.

The Rust validator (jsonschema-rs) answers the common question, "is this
valid?", quickly on large files; only an invalid document goes through the
reference Python validator, whose errors carry the paths we turn into
positioned findings. Both read the same schema file that editors and
check-jsonschema use, so they reach the same verdict.

Rule ids: a subschema may name its own rule with the `x-wanka-rule`
annotation (QoS ranges, credential references, CPU architecture); other
failures get a SCHEMA-* id by kind.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from wanka.datafiles import data_path
from wanka.findings import Finding, error
from wanka.jsonfmt import Json

if TYPE_CHECKING:
    import jsonschema
from wanka.language.positions import choices_hint, did_you_mean, dotted, key_mark, locate

_SECRET_PARENT = "credentials"


def schema_path() -> Path:
    """The cluster schema (packaged copy in a wheel, else the repository's)."""
    return data_path("schemas/cluster.schema.json")


@cache
def load_schema() -> Json:
    with open(schema_path(), encoding="utf-8") as f:
        schema: Json = json.load(f)
    return schema


@cache
def _fast() -> Any:
    return jsonschema_rs.validator_for(load_schema())


@cache
def _reference() -> Any:
    import jsonschema  # only invalid documents need it: its import costs more than a check

    return jsonschema.Draft202012Validator(load_schema())


def validate(doc: Any) -> list[Finding]:
    """Every schema problem in `doc`, as findings (empty when valid)."""
    if _fast().is_valid(doc):
        return []
    reference = _reference()
    errors = list(reference.iter_errors(doc))
    extras: dict[tuple[str | int, ...], list[str]] = {}
    for e in errors:
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            known = e.schema.get("properties", {}) if isinstance(e.schema, dict) else {}
            extras[tuple(e.absolute_path)] = [k for k in e.instance if k not in known]
    findings = [_finding(doc, e) for e in errors if not _explained(e, extras)]
    # one finding per (rule, place, message): if/then branches can repeat themselves
    unique = {(f.rule, f.where, f.message): f for f in findings}
    return sorted(unique.values(), key=Finding.sort_key)


def _explained(
    e: jsonschema.ValidationError, extras: dict[tuple[str | int, ...], list[str]]
) -> bool:
    """A missing required key next to an unknown key that is its misspelling: the
    unknown-key finding (with its 'did you mean') says it all."""
    if e.validator != "required" or not isinstance(e.instance, dict):
        return False
    schema = e.schema if isinstance(e.schema, dict) else {}
    missing = [k for k in schema.get("required", []) if k not in e.instance]
    near = extras.get(tuple(e.absolute_path), [])
    return bool(missing) and all(did_you_mean(m, near) for m in missing)


def _is_secret(path: list[str | int]) -> bool:
    return bool(path) and path[0] == "spec" and len(path) > 1 and path[1] == _SECRET_PARENT


def _show(value: Any, path: list[str | int]) -> str:
    """A short rendering of a user value; credential values are never shown."""
    if _is_secret(path):
        return "the value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _finding(doc: Any, e: jsonschema.ValidationError) -> Finding:
    path = list(e.absolute_path)
    where = dotted(path)
    schema = e.schema if isinstance(e.schema, dict) else {}
    custom = schema.get("x-wanka-rule")
    kind = e.validator
    if "propertyNames" in e.relative_schema_path:
        # jsonschema reports a bad key name as a failure of the inner keyword (pattern, ...)
        # with the name as the instance, at the mapping's path
        kind = "propertyNames"
    value = e.instance
    hint = None

    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(schema.get("properties", {}))
        extras = [k for k in value if k not in schema.get("properties", {})]
        extra = extras[0] if extras else "?"
        rule = custom or "SCHEMA-UNKNOWN-KEY"
        hint = choices_hint(extra, allowed)
        if custom == "CRED-VALUE":
            hint = "write a reference: {env: VAR}, {file: PATH} or {pulumi: KEY}"
        return error(rule, f"{where}: unknown key '{extra}'", key_mark(doc, [*path, extra]), hint)

    if kind == "required":
        missing = next((k for k in schema.get("required", []) if k not in value), "?")
        return error(
            custom or "SCHEMA-REQUIRED",
            f"{where}: missing required key '{missing}'",
            key_mark(doc, path),
            _describe(schema, missing),
        )

    mark = locate(doc, path)
    shown = _show(value, path)
    if kind == "type":
        want = e.validator_value
        wants = [want] if isinstance(want, str) else list(want)
        text = " or ".join(_TYPE_NAMES.get(w, w) for w in wants)
        if isinstance(value, (int, float)) and "string" in wants and not isinstance(value, bool):
            hint = 'quote it so YAML keeps it as text, e.g. "7.5"'
        elif custom == "CRED-VALUE":
            hint = (
                "secrets are references, never values: "
                "write {env: VAR}, {file: PATH} or {pulumi: KEY}"
            )
        return error(
            custom or "SCHEMA-TYPE", f"{where}: expected {text}, found {shown}", mark, hint
        )
    if kind == "enum":
        options = [str(o) for o in e.validator_value]
        hint = (
            choices_hint(str(value), options)
            if isinstance(value, str)
            else ("choose one of: " + ", ".join(options))
        )
        return error(custom or "SCHEMA-ENUM", f"{where}: {shown} is not allowed", mark, hint)
    if kind == "const":
        return error(
            custom or "SCHEMA-CONST",
            f"{where}: must be {json.dumps(e.validator_value)}, found {shown}",
            mark,
            schema.get("description"),
        )
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        bound = e.validator_value
        text = {
            "minimum": f"is below the minimum {bound}",
            "maximum": f"is above the maximum {bound}",
            "exclusiveMinimum": f"must be greater than {bound}",
            "exclusiveMaximum": f"must be less than {bound}",
            "multipleOf": f"is not a multiple of {bound}",
        }[kind]
        return error(
            custom or "SCHEMA-RANGE", f"{where}: {shown} {text}", mark, schema.get("description")
        )
    if kind in ("pattern", "minLength", "maxLength", "format"):
        return error(
            custom or "SCHEMA-FORMAT",
            f"{where}: {shown} is not well formed",
            mark,
            schema.get("description"),
        )
    if kind == "propertyNames":
        # jsonschema reports the bad name as the instance, at the mapping's path
        bad = str(value)
        return error(
            custom or "SCHEMA-FORMAT",
            f"{where}: name {_show(bad, path)} is not well formed",
            key_mark(doc, [*path, bad]) or mark,
            schema.get("description"),
        )
    if kind in ("minProperties", "maxProperties"):
        if custom == "CRED-VALUE":
            return error(
                custom,
                f"{where}: a secret reference names exactly one of env, file, pulumi",
                key_mark(doc, path),
                "e.g. password: {env: WANKA_BMC_PASSWORD}",
            )
        text = "has too few keys" if kind == "minProperties" else "has too many keys"
        return error(
            custom or "SCHEMA-SIZE",
            f"{where}: {text}",
            key_mark(doc, path),
            schema.get("description"),
        )
    if kind == "not" or kind is None or kind == "false":
        return error(
            custom or "SCHEMA-NOT-ALLOWED",
            f"{where}: not allowed here",
            key_mark(doc, path),
            schema.get("description") if isinstance(schema, dict) else None,
        )
    if kind in ("minItems", "maxItems", "uniqueItems"):
        text = {
            "minItems": "has too few items",
            "maxItems": "has too many items",
            "uniqueItems": "has repeated items",
        }[kind]
        return error(
            custom or "SCHEMA-SIZE",
            f"{where}: {text}",
            key_mark(doc, path),
            schema.get("description"),
        )
    return error(custom or "SCHEMA", f"{where}: does not match the schema ({kind})", mark)


def _describe(schema: Json, key: str) -> str | None:
    sub = schema.get("properties", {}).get(key)
    if isinstance(sub, dict):
        if "description" in sub:
            return str(sub["description"])
        return _describe_ref(sub)
    return None


def _describe_ref(sub: Any) -> str | None:
    if isinstance(sub, dict) and "$ref" in sub:
        m = re.match(r"#/\$defs/(\w+)$", sub["$ref"])
        if m:
            d = load_schema()["$defs"].get(m.group(1), {})
            desc = d.get("description")
            return str(desc) if desc else None
    return None
