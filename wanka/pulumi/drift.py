"""`wanka drift`: what each device of a phase runs that differs from the model, from the
engine's refresh preview of every stack (`pulumi preview --refresh`: every resource's `read`
asks its BMC or its switch, then the program's inputs are compared with what was read;
nothing is recorded, no device is changed).

Per device, what the next `wanka up --refresh` would change:

- a BareMetalNode: its power, boot override (target, mode) and each managed BIOS attribute,
  the model's value beside the one its BMC reports;
- a SwitchConfig: the configuration lines that differ (`- line` the switch runs and the model
  does not, `+ line` the model has and the switch does not run), as its `read` found them;
- any other step (a resource not deployed yet, a bring-up batch whose inputs changed): the
  step and the properties it changes.

The engine's events are turned into plain `Finding`s inside the worker process (`findings`),
so they cross back to the command as picklable data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from wanka.pulumi.providers.switchconfig import config_diff

SKIP_TYPES = ("pulumi:providers:", "pulumi:pulumi:Stack", "wanka:cluster:")
NOT_CHANGES = ("same", "read", "refresh", "discard", "remove-pending-replace")
BOOT = {"bootTarget": "boot override", "bootMode": "boot mode"}


@dataclass(slots=True)
class Difference:
    what: str  # `power`, `boot override`, `BIOS ProcTurboMode`, `config`, a property name
    model: Any = None
    device: Any = None


@dataclass(slots=True)
class Finding:
    """One resource the next `up --refresh` would change, and how."""

    stack: str
    kind: str  # BareMetalNode, SwitchConfig, BringupBatch, ...
    name: str  # the device (node, switch) or the batch
    op: str  # the engine's step: update, create, replace, delete, ...
    differences: list[Difference] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # a switch: the configuration lines


def _kind(type_: str) -> str:
    return type_.rsplit(":", 1)[-1]


def _bmc(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Difference]:
    """The BMC state the model holds (`new`: the program's inputs) beside what the BMC
    reported (`old`: the refreshed outputs)."""
    out: list[Difference] = []
    if old.get("power") != new.get("power"):
        out.append(Difference("power", new.get("power"), old.get("power")))
    for key, what in BOOT.items():
        if old.get(key) != new.get(key):
            out.append(Difference(what, new.get(key), old.get(key)))
    want, seen = new.get("bios") or {}, old.get("bios") or {}
    for name in sorted(set(want) | set(seen)):
        if want.get(name) != seen.get(name):
            out.append(Difference(f"BIOS {name}", want.get(name), seen.get(name)))
    return out


def _switch(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The lines the switch's `read` found differing; none (the model changed since the last
    up, the switch still runs what was applied): the model's change, as a diff."""
    lines = [str(x) for x in old.get("drift") or []]
    if lines:
        return lines
    recorded, model = str(old.get("config") or ""), str(new.get("config") or "")
    if recorded != model:
        diff = config_diff(recorded, model, name)[2:]  # without the ---/+++ header
        return [x for x in diff if x.startswith(("-", "+"))]
    return []


def _plain(x: Any) -> dict[str, Any]:
    return dict(x) if isinstance(x, Mapping) else {}


def findings(stack: str, events: Iterable[Any]) -> list[Finding]:
    """The resources a refresh preview's events (`pulumi.automation` EngineEvents) say the
    next up changes."""
    out: dict[str, Finding] = {}
    for e in events:
        pre = getattr(e, "resource_pre_event", None)
        m = pre.metadata if pre is not None else None
        if m is None or m.type.startswith(SKIP_TYPES):
            continue
        op = str(getattr(m.op, "value", m.op))
        if op in NOT_CHANGES:
            continue
        name = m.urn.rsplit("::", 1)[-1]
        old = _plain(m.old.outputs) if m.old is not None else {}
        new = _plain(m.new.inputs) if m.new is not None else {}
        f = Finding(stack, _kind(m.type), name, op)
        if f.kind == "BareMetalNode" and old:
            f.differences = _bmc(old, new)
        elif f.kind == "SwitchConfig" and old:
            f.lines = _switch(name, old, new)
        if not f.differences and not f.lines:
            f.differences = [Difference(str(k)) for k in m.diffs or []]
        out[m.urn] = f  # a replacement's several steps: one finding
    return list(out.values())


@dataclass(slots=True)
class Report:
    cluster: str
    phase: str
    stacks: list[str]
    findings: list[Finding] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # stack -> why its preview failed

    @property
    def drifted(self) -> bool:
        return bool(self.findings or self.failed)

    def as_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "phase": self.phase,
            "stacks": self.stacks,
            "drifted": self.drifted,
            "devices": [asdict(f) for f in self.findings],
            "failed": self.failed,
        }


def _value(v: Any) -> str:
    return "-" if v is None else str(v)


def _details(f: Finding) -> list[str]:
    out = [
        f"{d.what}: model {_value(d.model)}, device {_value(d.device)}"
        if d.model is not None or d.device is not None
        else f"{d.what} changes"
        for d in f.differences
    ]
    return out + f.lines


def text(r: Report) -> str:
    lines: list[str] = []
    for f in r.findings:
        lines.append(f"{f.stack}: {f.kind} {f.name} ({f.op}):")
        lines.extend(f"  {x}" for x in _details(f))
    for stack, why in r.failed.items():
        lines.append(f"{stack}: not read: {why}")
    devices = len(r.findings)
    verdict = (
        f"{devices} device{'s' if devices != 1 else ''} drifted"
        + (f", {len(r.failed)} not read" if r.failed else "")
        if r.drifted
        else "no drift"
    )
    lines.append(f"wanka drift: {r.cluster} phase {r.phase}, {_stacks(r)}: {verdict}")
    return "\n".join(lines) + "\n"


def markdown(r: Report) -> str:
    """For a ticket or a CI job summary: a table of the devices, each device's lines."""
    out = [f"## Drift of {r.cluster}, phase {r.phase}", ""]
    if not r.drifted:
        return "\n".join([*out, f"No drift in {_stacks(r)}.", ""])
    if r.findings:
        out += [
            "| stack | device | kind | step | what differs (model / device) |",
            "|---|---|---|---|---|",
        ]
        for f in r.findings:
            what = "<br>".join(_cell(x) for x in _details(f))
            out.append(f"| {f.stack} | `{f.name}` | {f.kind} | {f.op} | {what} |")
        out.append("")
    for stack, why in r.failed.items():
        out.append(f"- **{stack}** not read: {_cell(why)}")
    return "\n".join(out) + "\n"


def _stacks(r: Report) -> str:
    return f"{len(r.stacks)} stack{'s' if len(r.stacks) != 1 else ''}"


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("`", "'")


def dumps(r: Report) -> str:
    return json.dumps(r.as_json(), indent=2, sort_keys=True) + "\n"


FORMATS = {"text": text, "json": dumps, "markdown": markdown}
