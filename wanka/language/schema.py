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
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from wanka.datafiles import data_path
from wanka.findings import Finding, Mark, error, unique
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
    findings = [f for e in errors for f in _findings(doc, e, extras)]
    # one finding per (rule, place, message): if/then branches can repeat themselves, and
    # jsonschema reports an object's missing keys as one error each
    return sorted(unique(findings), key=Finding.sort_key)


def _missing(
    e: jsonschema.ValidationError, extras: dict[tuple[str | int, ...], list[str]]
) -> list[str]:
    """Every key the failing `required` asks for and the object lacks, in the schema's order,
    except one whose misspelling is an unknown key of the object: the unknown-key finding
    (with its 'did you mean') says it all."""
    if not isinstance(e.instance, dict):
        return []
    schema = e.schema if isinstance(e.schema, dict) else {}
    near = extras.get(tuple(e.absolute_path), [])
    return [
        k for k in schema.get("required", []) if k not in e.instance and not did_you_mean(k, near)
    ]


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


@dataclass(frozen=True, slots=True)
class _Failure:
    """One failure of the reference validator, with what every message about it needs."""

    doc: Any
    kind: Any  # the failing keyword (propertyNames for a bad key name)
    value: Any  # the failing instance
    bound: Any  # the keyword's value in the schema (the type, the minimum, ...)
    path: list[Any]
    where: str  # the dotted path, first in every message
    schema: Json
    custom: str | None  # the subschema's own rule id (x-wanka-rule)

    def fail(self, rule: str, text: str, at: Mark | None, hint: str | None = None) -> Finding:
        return error(self.custom or rule, f"{self.where}: {text}", at, hint)

    def mark(self) -> Mark | None:
        return locate(self.doc, self.path)

    def key(self, *more: Any) -> Mark | None:
        return key_mark(self.doc, [*self.path, *more])

    def shown(self) -> str:
        return _show(self.value, self.path)

    def description(self) -> str | None:
        return self.schema.get("description")


def _findings(
    doc: Any, e: jsonschema.ValidationError, extras: dict[tuple[str | int, ...], list[str]]
) -> list[Finding]:
    """The findings of one error: one, or for `required` one per missing key (all of an
    object's missing keys at once, each at the object's key)."""
    if e.validator == "required":
        f = _failure(doc, e)
        return [_required(f, key) for key in _missing(e, extras)]
    return [_finding(doc, e)]


def _failure(doc: Any, e: jsonschema.ValidationError) -> _Failure:
    path = list(e.absolute_path)
    kind = e.validator
    if "propertyNames" in e.relative_schema_path:
        # jsonschema reports a bad key name as a failure of the inner keyword (pattern, ...)
        # with the name as the instance, at the mapping's path
        kind = "propertyNames"
    schema = e.schema if isinstance(e.schema, dict) else {}
    f = _Failure(
        doc=doc,
        kind=kind,
        value=e.instance,
        bound=e.validator_value,
        path=path,
        where=dotted(path),
        schema=schema,
        custom=schema.get("x-wanka-rule"),
    )
    return f


def _finding(doc: Any, e: jsonschema.ValidationError) -> Finding:
    f = _failure(doc, e)
    kind = f.kind
    handler = _BY_KIND.get(kind)
    found = handler(f) if handler is not None else None
    if found is not None:
        return found
    return f.fail("SCHEMA", f"does not match the schema ({kind})", f.mark())


def _unknown_key(f: _Failure) -> Finding | None:
    if not isinstance(f.value, dict):
        return None
    allowed = list(f.schema.get("properties", {}))
    extras = [k for k in f.value if k not in f.schema.get("properties", {})]
    extra = extras[0] if extras else "?"
    hint = choices_hint(extra, allowed)
    if f.custom == "CRED-VALUE":
        hint = "write a reference: {env: VAR}, {file: PATH} or {pulumi: KEY}"
    return f.fail("SCHEMA-UNKNOWN-KEY", f"unknown key '{extra}'", f.key(extra), hint)


def _required(f: _Failure, missing: str) -> Finding:
    return f.fail(
        "SCHEMA-REQUIRED",
        f"missing required key '{missing}'",
        f.key(),
        _describe(f.schema, missing),
    )


def _wrong_type(f: _Failure) -> Finding:
    wants = [f.bound] if isinstance(f.bound, str) else list(f.bound)
    text = " or ".join(_TYPE_NAMES.get(w, w) for w in wants)
    hint = None
    value = f.value
    if isinstance(value, (int, float)) and "string" in wants and not isinstance(value, bool):
        hint = 'quote it so YAML keeps it as text, e.g. "7.5"'
    elif f.custom == "CRED-VALUE":
        hint = (
            "secrets are references, never values: write {env: VAR}, {file: PATH} or {pulumi: KEY}"
        )
    return f.fail("SCHEMA-TYPE", f"expected {text}, found {f.shown()}", f.mark(), hint)


def _enum(f: _Failure) -> Finding:
    options = [str(o) for o in f.bound]
    hint = (
        choices_hint(str(f.value), options)
        if isinstance(f.value, str)
        else ("choose one of: " + ", ".join(options))
    )
    return f.fail("SCHEMA-ENUM", f"{f.shown()} is not allowed", f.mark(), hint)


def _const(f: _Failure) -> Finding:
    return f.fail(
        "SCHEMA-CONST",
        f"must be {json.dumps(f.bound)}, found {f.shown()}",
        f.mark(),
        f.description(),
    )


_RANGE_TEXT = {
    "minimum": "is below the minimum {}",
    "maximum": "is above the maximum {}",
    "exclusiveMinimum": "must be greater than {}",
    "exclusiveMaximum": "must be less than {}",
    "multipleOf": "is not a multiple of {}",
}


def _out_of_range(f: _Failure) -> Finding:
    text = _RANGE_TEXT[f.kind].format(f.bound)
    return f.fail("SCHEMA-RANGE", f"{f.shown()} {text}", f.mark(), f.description())


def _malformed(f: _Failure) -> Finding:
    return f.fail("SCHEMA-FORMAT", f"{f.shown()} is not well formed", f.mark(), f.description())


def _bad_name(f: _Failure) -> Finding:
    # jsonschema reports the bad name as the instance, at the mapping's path
    bad = str(f.value)
    return f.fail(
        "SCHEMA-FORMAT",
        f"name {_show(bad, f.path)} is not well formed",
        f.key(bad) or f.mark(),
        f.description(),
    )


_SIZE_TEXT = {
    "minProperties": "has too few keys",
    "maxProperties": "has too many keys",
    "minItems": "has too few items",
    "maxItems": "has too many items",
    "uniqueItems": "has repeated items",
}


def _wrong_size(f: _Failure) -> Finding:
    if f.custom == "CRED-VALUE" and f.kind in ("minProperties", "maxProperties"):
        return f.fail(
            "CRED-VALUE",
            "a secret reference names exactly one of env, file, pulumi",
            f.key(),
            "e.g. password: {env: WANKA_BMC_PASSWORD}",
        )
    return f.fail("SCHEMA-SIZE", _SIZE_TEXT[f.kind], f.key(), f.description())


def _not_allowed(f: _Failure) -> Finding:
    return f.fail("SCHEMA-NOT-ALLOWED", "not allowed here", f.key(), f.description())


_BY_KIND: dict[Any, Callable[[_Failure], Finding | None]] = {
    "additionalProperties": _unknown_key,
    "type": _wrong_type,
    "enum": _enum,
    "const": _const,
    **dict.fromkeys(_RANGE_TEXT, _out_of_range),
    **dict.fromkeys(("pattern", "minLength", "maxLength", "format"), _malformed),
    "propertyNames": _bad_name,
    **dict.fromkeys(_SIZE_TEXT, _wrong_size),
    **dict.fromkeys(("not", None, "false"), _not_allowed),
}


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
