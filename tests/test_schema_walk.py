"""Nothing accepted and ignored: every property of the JSON Schema is used or refused.

The test walks schemas/cluster.schema.json and lists every leaf property (a value, a list or a
map of values; `*` for a map key, `[]` for a list item; the three node-model sections share
`node.`). USES says, for each one, how wanka treats it:

  ("read", module)      the model reads it in that module (the key is a string there), and
                        changing it in an example changes what wanka derives (rendered files,
                        plan, findings) or makes a finding
  ("refused", rule)     the schema takes it only to refuse it with that rule id, which a
                        negative example expects
  ("people", why)       free text for people (a string): shown or not, it sets nothing
  ("fixed", why)        one allowed value (an enum of one, a const): there is nothing to choose
  ("ignored", why)      the ledger of what is accepted and not used yet, each with the reason;
                        the test checks that a change to it still changes nothing, so an entry
                        cannot outlive the gap it records (and the list stays short)

A schema property with no entry fails, and so does an entry the schema no longer has. For every
"read" property found in an example (examples/lab-mini and tests/examples/positive), the test
changes its value to another one the schema accepts and checks that something follows: a
property the model reads and then drops would pass the first check and fail this one.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

from wanka.bringup.expect import expectations
from wanka.pipeline import NotValid, check, derive
from wanka.render.files import files
from wanka.rules import RULES

SCHEMA = json.loads((ROOT / "schemas/cluster.schema.json").read_text(encoding="utf-8"))
DEFS = SCHEMA["$defs"]
NODE = re.compile(r"^spec\.catalog\.(servers|hosts|storage_nodes)\.\*")

M, P = "model/builders", "model/parts.py"  # the model's builders: a package of parts
FREE = "free text for people"

USES: dict[str, tuple[str, str]] = {
    "apiVersion": ("fixed", "a const: wanka/v1"),
    "include": ("read", "language/document.py"),
    "kind": ("read", "language/document.py"),
    "metadata.name": ("read", M),
    "metadata.description": ("people", FREE),
    "metadata.site": ("people", FREE),
    "metadata.owner": ("people", FREE),
    "metadata.labels": ("read", "model/build.py"),
    "spec.capacity.precision": ("read", "model/build.py"),
    "spec.catalog.accelerators.*.vendor": ("people", FREE),
    "spec.catalog.accelerators.*.generation": ("read", P),
    "spec.catalog.accelerators.*.dies": ("read", P),
    "spec.catalog.accelerators.*.hbm_gb": ("read", P),
    "spec.catalog.accelerators.*.tflops.fp16": ("read", P),
    "spec.catalog.accelerators.*.tflops.bf16": ("read", P),
    "spec.catalog.accelerators.*.tflops.int8": ("read", P),
    "spec.catalog.accelerators.*.pci_device_id": ("read", P),
    "node.description": ("read", M),
    "node.vendor": ("people", FREE),
    "node.cpu.vendor": ("read", P),
    "node.cpu.model": ("read", P),
    "node.cpu.arch": ("read", P),
    "node.cpu.sockets": ("read", P),
    "node.cpu.cores_per_socket": ("read", P),
    "node.memory_gb": ("read", M),
    "node.accelerator.model": ("read", M),
    "node.accelerator.count": ("read", M),
    "node.nics.*.count": ("read", P),
    "node.nics.*.speed": ("read", P),
    "node.bmc.protocol": ("fixed", "an enum of one: redfish"),
    "node.bmc.speed": ("read", M),
    "node.bmc.firmware": ("read", M),
    "spec.credentials.bmc_tls.ca": ("read", M),
    "spec.credentials.bmc_tls.insecure": ("read", M),
    "spec.manifest.nodes.*.bmc.ca": ("read", M),
    "node.drives[].interface": ("read", P),
    "node.drives[].count": ("read", P),
    "node.drives[].capacity_gb": ("read", P),
    "node.drives[].use": ("read", P),
    "node.drives[].raid": ("ignored", "no step builds the RAID: the OS installer does"),
    "node.drives[].filesystem": ("read", P),
    "node.drives[].mount": ("read", P),
    "node.rack_units": ("read", M),
    "node.power_w.nominal": ("read", P),
    "node.power_w.max": ("read", P),
    "node.liquid_share": ("read", M),
    "spec.catalog.switches.*.description": ("people", FREE),
    "spec.catalog.switches.*.vendor": ("people", FREE),
    "spec.catalog.switches.*.os": ("read", P),
    "spec.catalog.switches.*.ports.count": ("read", P),
    "spec.catalog.switches.*.ports.speed": ("read", P),
    "spec.catalog.switches.*.ports.lanes": ("read", P),
    "spec.catalog.switches.*.ports.breakouts": ("read", P),
    "spec.catalog.switches.*.ports[].count": ("read", P),
    "spec.catalog.switches.*.ports[].speed": ("read", P),
    "spec.catalog.switches.*.ports[].lanes": ("read", P),
    "spec.catalog.switches.*.ports[].breakouts": ("read", P),
    "spec.catalog.switches.*.sonic.platform": ("read", P),
    "spec.catalog.switches.*.sonic.hwsku": ("read", P),
    "spec.catalog.switches.*.breakouts": ("read", P),
    "spec.catalog.switches.*.port_name": ("read", P),
    "spec.catalog.switches.*.max_frame": ("read", P),
    "spec.catalog.switches.*.rack_units": ("read", P),
    "spec.catalog.switches.*.power_w.nominal": ("read", P),
    "spec.catalog.switches.*.power_w.max": ("read", P),
    "spec.catalog.switches.*.liquid_share": ("read", P),
    "spec.catalog.racks.*.description": ("people", FREE),
    "spec.catalog.racks.*.units": ("read", P),
    "spec.catalog.racks.*.power_kw": ("read", P),
    "spec.catalog.racks.*.cooling.liquid_kw": ("read", P),
    "spec.catalog.racks.*.cooling.air_kw": ("read", P),
    "spec.software.os.name": ("read", M),
    "spec.software.os.version": ("read", M),
    "spec.software.os.image": ("ignored", "no step installs or boots an image yet"),
    "spec.software.os.kernel": ("ignored", "nothing checks the running kernel yet"),
    "spec.software.mirror.repositories.openeuler.aarch64": ("read", "model/software.py"),
    "spec.software.mirror.repositories.openeuler.x86_64": ("read", "model/software.py"),
    "spec.software.mirror.repositories.kylin.aarch64": ("read", "model/software.py"),
    "spec.software.mirror.repositories.kylin.x86_64": ("read", "model/software.py"),
    "spec.software.mirror.repositories.ubuntu.aarch64": ("read", "model/software.py"),
    "spec.software.mirror.repositories.ubuntu.x86_64": ("read", "model/software.py"),
    "spec.software.mirror.ascend": ("read", M),
    "spec.software.mirror.sha256": ("read", M),
    # ---- per server type OSes (issue 15, domestic OS families) ----
    "spec.software.os.family": ("read", M),
    "spec.software.oses.*.name": ("read", M),
    "spec.software.oses.*.version": ("read", M),
    "spec.software.oses.*.family": ("read", M),
    "spec.software.oses.*.image": ("ignored", "no step installs or boots an image yet"),
    "spec.software.oses.*.kernel": ("ignored", "nothing checks the running kernel yet"),
    "node.os": ("read", M),
    # ---- end per server type OSes ----
    "spec.software.npu.driver.version": ("read", M),
    "spec.software.npu.driver.firmware_range.min": ("read", M),
    "spec.software.npu.driver.firmware_range.max": ("read", M),
    "spec.software.npu.driver.packages.aarch64": ("read", M),
    "spec.software.npu.driver.packages.x86_64": ("read", M),
    "spec.software.npu.firmware.version": ("read", M),
    "spec.software.npu.firmware.package": ("read", M),
    "spec.software.npu.cann.version": ("read", M),
    "spec.software.npu.cann.packages.aarch64": ("read", M),
    "spec.software.npu.cann.packages.x86_64": ("read", M),
    "spec.software.npu.cann.kernels.aarch64": ("read", M),
    "spec.software.npu.cann.kernels.x86_64": ("read", M),
    "spec.software.npu_sets.*.driver.version": ("read", M),
    "spec.software.npu_sets.*.driver.firmware_range.min": ("read", M),
    "spec.software.npu_sets.*.driver.firmware_range.max": ("read", M),
    "spec.software.npu_sets.*.driver.packages.aarch64": ("read", M),
    "spec.software.npu_sets.*.driver.packages.x86_64": ("read", M),
    "spec.software.npu_sets.*.firmware.version": ("read", M),
    "spec.software.npu_sets.*.firmware.package": ("read", M),
    "spec.software.npu_sets.*.cann.version": ("read", M),
    "spec.software.npu_sets.*.cann.packages.aarch64": ("read", M),
    "spec.software.npu_sets.*.cann.packages.x86_64": ("read", M),
    "spec.software.npu_sets.*.cann.kernels.aarch64": ("read", M),
    "spec.software.npu_sets.*.cann.kernels.x86_64": ("read", M),
    "spec.software.npu_sets.*.generation": ("read", M),
    "spec.software.npu_sets.*.phases": ("read", M),
    **{
        f"spec.credentials.{who}.{field}": ("read", M)
        for who in ("bmc", "ssh", "switch")
        for field in (
            "username",
            "password.env",
            "password.file",
            "password.pulumi",
            "private_key.env",
            "private_key.file",
            "private_key.pulumi",
        )
    },
    "spec.networks.loopbacks": ("read", M),
    "spec.networks.links": ("read", M),
    "spec.networks.bgp.asn_base": ("read", M),
    "spec.networks.bgp.asns_per_phase": ("read", M),
    "spec.networks.planes.*.role": ("read", M),
    "spec.networks.planes.*.description": ("people", FREE),
    "spec.networks.planes.*.cidr": ("read", M),
    "spec.networks.planes.*.mtu": ("read", M),
    "spec.networks.planes.*.vlan": ("read", M),
    "spec.networks.planes.*.bonded": ("read", M),
    "spec.networks.planes.*.qos.dscp": ("read", P),
    "spec.networks.planes.*.qos.traffic_class": ("read", P),
    "spec.networks.planes.*.qos.pfc_priority": ("read", P),
    "spec.networks.planes.*.qos.ecn": ("read", P),
    "spec.networks.planes.*.fabric.tiers": ("read", M),
    "spec.networks.planes.*.fabric.rail_optimised": ("read", M),
    "spec.networks.planes.*.fabric.rails": ("read", M),
    "spec.networks.planes.*.fabric.spine_groups": ("read", M),
    **{
        f"spec.networks.planes.*.fabric.{tier}.{field}": ("read", M if field == "model" else P)
        for tier in ("leaf", "spine", "core")
        for field in ("model", "uplinks", "downlink_breakout", "max_oversubscription")
    },
    # a breakout splits the ports that face nodes: only leaves have them
    "spec.networks.planes.*.fabric.spine.downlink_breakout": ("refused", "FABRIC-BREAKOUT-TIER"),
    "spec.networks.planes.*.fabric.core.downlink_breakout": ("refused", "FABRIC-BREAKOUT-TIER"),
    "spec.layout.distances.between_halls_m": ("read", M),
    "spec.layout.distances.cross_row_m": ("read", M),
    "spec.layout.distances.rack_pitch_m": ("read", M),
    "spec.layout.distances.rack_slack_m": ("read", M),
    "spec.layout.distances.row_pitch_m": ("read", M),
    "spec.layout.halls[].distances.cross_row_m": ("read", M),
    "spec.layout.halls[].distances.rack_pitch_m": ("read", M),
    "spec.layout.halls[].distances.rack_slack_m": ("read", M),
    "spec.layout.halls[].distances.row_pitch_m": ("read", M),
    "spec.layout.halls[].rows[].rack_pitch_m": ("read", M),
    "spec.networks.planes.*.bond_mode": ("read", M),
    "spec.networks.planes.*.fabric.leaf.mlag": ("refused", "BOND-MLAG"),
    "spec.networks.planes.*.fabric.spine.mlag": ("refused", "BOND-MLAG"),
    "spec.networks.planes.*.fabric.core.mlag": ("refused", "BOND-MLAG"),
    "spec.phases[].pods[].retired": ("read", "model/slots.py"),
    "spec.phases[].pods[].slot": ("read", "model/slots.py"),
    "spec.pod_types.*.description": ("people", FREE),
    "spec.pod_types.*.supernode.servers": ("read", M),
    "spec.pod_types.*.supernode.cards": ("read", M),
    "spec.pod_types.*.racks[].rack": ("read", M),
    "spec.pod_types.*.racks[].count": ("read", M),
    "spec.pod_types.*.racks[].role": ("read", M),
    "spec.pod_types.*.racks[].nodes[].model": ("read", M),
    "spec.pod_types.*.racks[].nodes[].count": ("read", M),
    "spec.pod_types.*.racks[].switches[].plane": ("read", M),
    "spec.pod_types.*.racks[].switches[].tier": ("read", M),
    "spec.pod_types.*.racks[].switches[].count": ("read", M),
    "spec.facility.utilisation": ("read", "model/facility.py"),
    "spec.facility.sites.*.description": ("people", FREE),
    "spec.facility.sites.*.currency": ("read", "model/facility.py"),
    "spec.facility.sites.*.bands.*.price_per_kwh": ("read", "model/facility.py"),
    "spec.facility.sites.*.bands.*.hours": ("read", "model/facility.py"),
    "spec.facility.halls.*.description": ("people", FREE),
    "spec.facility.halls.*.site": ("read", "model/facility.py"),
    "spec.facility.halls.*.it_power_kw": ("read", "model/facility.py"),
    "spec.facility.halls.*.measured_pue": ("read", "model/facility.py"),
    "spec.facility.halls.*.liquid.cdus": ("read", "model/facility.py"),
    "spec.facility.halls.*.liquid.cdu_kw": ("read", "model/facility.py"),
    "spec.facility.halls.*.liquid.redundant": ("read", "model/facility.py"),
    "spec.facility.halls.*.liquid.overhead": ("read", "model/facility.py"),
    "spec.facility.halls.*.air.kind": ("read", "model/facility.py"),
    "spec.facility.halls.*.air.units": ("read", "model/facility.py"),
    "spec.facility.halls.*.air.unit_kw": ("read", "model/facility.py"),
    "spec.facility.halls.*.air.redundant": ("read", "model/facility.py"),
    "spec.facility.halls.*.air.overhead": ("read", "model/facility.py"),
    "spec.layout.halls[].name": ("read", M),
    "spec.layout.halls[].description": ("people", FREE),
    "spec.layout.halls[].rows[].name": ("read", M),
    "spec.layout.halls[].rows[].count": ("read", "model/names.py"),
    "spec.layout.halls[].rows[].positions": ("read", M),
    "spec.phases[].name": ("read", M),
    "spec.phases[].description": ("people", FREE),
    "spec.phases[].status": ("read", M),
    "spec.phases[].target_pflops": ("read", M),
    "spec.phases[].depends_on": ("read", M),
    "spec.phases[].rollout.batch": ("read", M),
    "spec.phases[].rollout.max_fail_percent": ("read", M),
    "spec.phases[].pods[].name": ("read", M),
    "spec.phases[].pods[].type": ("read", M),
    "spec.phases[].pods[].count": ("read", "model/names.py"),
    "spec.phases[].pods[].first": ("read", "model/names.py"),
    "spec.phases[].pods[].hall": ("read", M),
    "spec.phases[].pods[].row": ("read", M),
    "spec.manifest.nodes.*.serial": ("read", M),
    "spec.manifest.nodes.*.bmc.mac": ("read", M),
    "spec.manifest.nodes.*.bmc.address": ("read", M),
    "spec.manifest.nodes.*.macs": ("read", M),
    "spec.manifest.nodes.*.addresses": ("read", M),
    "spec.manifest.nodes.*.exclude.reason": ("read", M),
    "spec.manifest.nodes.*.exclude.ticket": ("people", FREE),
    "spec.manifest.nodes.*.exclude.since": ("people", "a date for people (YYYY-MM-DD)"),
    "spec.manifest.switches.*.serial": ("read", M),
    "spec.manifest.switches.*.mac": ("read", M),
    "spec.manifest.switches.*.asn": ("read", M),
    "spec.manifest.switches.*.loopback": ("read", M),
}


# ---- the schema's leaves -------------------------------------------------------------------


def _merged(node: dict[str, Any], seen: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A schema node with its $ref and every combinator branch folded in: the union of the
    properties it can have, its map values and its list items."""
    out: dict[str, Any] = {"properties": {}, "additional": None, "items": None, "node": node}
    parts = [node]
    ref = node.get("$ref")
    if isinstance(ref, str) and ref not in seen:
        parts.append(_merged(DEFS[ref.rsplit("/", 1)[1]], seen | {ref})["node"])
        seen = seen | {ref}
    for kw in ("allOf", "anyOf", "oneOf"):
        parts.extend(s for s in node.get(kw, []) if isinstance(s, dict))
    parts.extend(node[kw] for kw in ("if", "then", "else") if isinstance(node.get(kw), dict))
    props: dict[str, Any] = out["properties"]

    def add(key: str, sub: Any) -> None:
        if isinstance(sub, dict) and sub.get("not") != {}:  # `not: {}` forbids it in a branch
            props[key] = {"allOf": [props[key], sub]} if key in props else sub

    for k, v in node.get("properties", {}).items():
        add(k, v)
    if isinstance(node.get("additionalProperties"), dict):
        out["additional"] = node["additionalProperties"]
    if isinstance(node.get("items"), dict):
        out["items"] = node["items"]
    for part in parts:
        if part is not node:
            sub = _merged(part, seen)
            for k, v in sub["properties"].items():
                add(k, v)
            out["additional"] = out["additional"] or sub["additional"]
            out["items"] = out["items"] or sub["items"]
    return out


def _walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, schema) of every leaf property under `node`."""
    m = _merged(node)
    for key, sub in m["properties"].items():
        p = f"{path}.{key}" if path else key
        inner = _merged(sub)
        if inner["properties"] or _object_items(inner) or _object_map(inner):
            yield from _walk(sub, p)
        else:
            yield p, sub
    if m["additional"] is not None and _merged(m["additional"])["properties"]:
        yield from _walk(m["additional"], f"{path}.*")
    if m["items"] is not None and _merged(m["items"])["properties"]:
        yield from _walk(m["items"], f"{path}[]")


def _object_items(m: dict[str, Any]) -> bool:
    return m["items"] is not None and bool(_merged(m["items"])["properties"])


def _object_map(m: dict[str, Any]) -> bool:
    return m["additional"] is not None and bool(_merged(m["additional"])["properties"])


def _short(path: str) -> str:
    return NODE.sub("node", path)


@cache
def leaves() -> dict[str, dict[str, Any]]:
    """Every leaf property of the schema, by its short path (node models once)."""
    out: dict[str, dict[str, Any]] = {}
    for path, sub in _walk(SCHEMA, ""):
        out.setdefault(_short(path), sub)
    return out


def test_the_walk_sees_the_whole_schema() -> None:
    # the walker itself: a few leaves from each kind of place (a $ref, a map, a list, a branch)
    got = leaves()
    for path in (
        "metadata.name",
        "node.nics.*.count",
        "spec.phases[].pods[].first",
        "spec.networks.planes.*.fabric.core.uplinks",
        "spec.manifest.nodes.*.exclude.since",
        "spec.credentials.ssh.private_key.file",
    ):
        assert path in got, path
    assert len(got) > 150


def test_every_schema_property_has_an_entry() -> None:
    missing = sorted(set(leaves()) - set(USES))
    assert not missing, f"schema properties with no entry in USES (add one): {missing}"


def test_every_entry_is_a_schema_property() -> None:
    stale = sorted(set(USES) - set(leaves()))
    assert not stale, f"entries in USES the schema no longer has: {stale}"


def _strings(module: str) -> set[str]:
    """The string constants of a module of wanka/, or of every module of a package."""
    path = ROOT / "wanka" / module
    out: set[str] = set()
    for py in sorted(path.glob("*.py")) if path.is_dir() else [path]:
        tree = ast.parse(py.read_text(encoding="utf-8"))
        out |= {
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
    return out


def _key(path: str) -> str:
    return re.split(r"[.\[\]*]+", path.strip(".[]*"))[-1]


def _parent(path: str) -> str:
    return _key(path[: path.rindex(".")]) if "." in path else ""


def test_read_properties_are_keys_in_their_module() -> None:
    # the key, or the mapping that holds it when the module reads it whole (tflops by
    # precision, packages by architecture, a secret reference by its source)
    wrong = [
        f"{path}: neither '{_key(path)}' nor '{_parent(path)}' is a string in wanka/{where}"
        for path, (how, where) in USES.items()
        if how == "read" and not {_key(path), _parent(path)} & _strings(where)
    ]
    assert not wrong, wrong


def test_refused_properties_have_a_rule_and_a_negative_example() -> None:
    negative = "".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "tests/examples/negative").glob("*.yaml")
    )
    for path, (how, rule) in USES.items():
        if how == "refused":
            assert rule in RULES, (path, rule)
            assert re.search(rf"# expect: .*\b{rule}\b", negative), (path, rule)


def test_people_and_fixed_properties_set_nothing() -> None:
    for path, (how, _) in USES.items():
        sub = _merged(leaves()[path])["node"]
        resolved = {**DEFS[sub["$ref"].rsplit("/", 1)[1]], **sub} if "$ref" in sub else sub
        if how == "people":
            assert resolved.get("type") == "string" and "enum" not in resolved, path
        elif how == "fixed":
            assert "const" in resolved or len(resolved.get("enum", [])) == 1, path


# ---- a change to each read property in an example changes something -------------------------

EXAMPLES = [
    ROOT / "examples/lab-mini/cluster.yaml",
    *sorted((ROOT / "tests/examples/positive").glob("*.yaml")),
]


def _instances(
    node: dict[str, Any], data: Any, path: str, at: tuple[Any, ...]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(short schema path, location in the data) of every leaf value present in `data`."""
    m = _merged(node)
    if isinstance(data, dict):
        for key, value in data.items():
            if key in m["properties"]:
                sub = m["properties"][key]
                p = f"{path}.{key}" if path else key
            elif m["additional"] is not None:
                sub, p = m["additional"], f"{path}.*"
            else:
                continue
            if _short(p) in leaves():
                yield _short(p), (*at, key)
            else:
                yield from _instances(sub, value, p, (*at, key))
    elif isinstance(data, list) and m["items"] is not None:
        for i, value in enumerate(data):
            yield from _instances(m["items"], value, f"{path}[]", (*at, i))


def _get(data: Any, at: tuple[Any, ...]) -> Any:
    for k in at:
        data = data[k]
    return data


def _candidates(value: Any, schema: dict[str, Any]) -> Iterator[Any]:
    """Other values for a property, the likeliest to be valid first."""
    m = _merged(schema)["node"]
    resolved = {**DEFS[m["$ref"].rsplit("/", 1)[1]], **m} if "$ref" in m else m
    options: list[Any] = [o for o in resolved.get("enum", []) if o != value]
    if isinstance(value, bool):
        options.append(not value)
    elif isinstance(value, int):
        options += [value + 1, value - 1, value * 2, value // 2]
    elif isinstance(value, float):
        options += [value * 1.5, value / 2]
    elif isinstance(value, str):
        options += [_bumped(value), value + "x", value[:-1], "a" + value]
    elif isinstance(value, list) and value:
        options += [value[:-1], value[1:], [*value, value[-1]]]
    elif isinstance(value, dict) and value:
        first = next(iter(value))
        options += [{**value, first: _bumped(str(value[first]))}]
        options += [{k: v for k, v in value.items() if k != first}]
    seen: list[Any] = []
    for option in options:
        if option != value and option not in seen:
            seen.append(option)
            yield option


def _bumped(text: str) -> str:
    """The last number in a string plus one (a MAC's or an address's last part), else the
    string with a letter changed."""
    if re.search(r"\d", text):
        return re.sub(r"(\d+)(?=\D*$)", lambda d: str(int(d.group()) + 1), text, count=1)
    return text[:-1] + ("b" if text[-1:] != "b" else "c")


def _outcome(path: Path) -> tuple[object, ...] | None:
    """What wanka makes of a file: its findings (rule, message) and, if valid, every rendered
    file; None when the schema refuses the file (not a value the language takes)."""
    result = check(str(path))
    if any(
        f.rule.startswith(("SCHEMA", "YAML", "QOS-RANGE", "CPU-ARCH", "CRED-"))
        for f in result.findings
    ):
        return None
    found = tuple(sorted((f.rule, f.message) for f in result.findings))
    try:
        d = derive(result)
    except NotValid as bad:
        return ("invalid", found, tuple(sorted((f.rule, f.message) for f in bad.findings)))
    expect = expectations(d, d.cluster.nodes, d.cluster.switches)
    return ("valid", found, tuple(files(d)), json.dumps(expect, sort_keys=True, default=str))


# A property that matters only in some setting is changed in that setting: the example first
# gets these values (a precision's TFLOPS count only when capacity is counted in it).
CONTEXT: dict[str, dict[tuple[str, ...], Any]] = {
    "spec.catalog.accelerators.*.tflops.bf16": {("spec", "capacity", "precision"): "bf16"},
    "spec.catalog.accelerators.*.tflops.int8": {("spec", "capacity", "precision"): "int8"},
}


def _in_context(data: Any, short: str) -> Any:
    if short not in CONTEXT:
        return data
    out = copy.deepcopy(data)
    for at, value in CONTEXT[short].items():
        _get(out, at[:-1])[at[-1]] = value
    return out


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Per read property found in an example: the examples where a change to it changed what
    wanka made of the file, or, when none did, why not."""
    tmp = tmp_path_factory.mktemp("walk") / "cluster.yaml"
    out: dict[str, list[str]] = {}
    done: set[str] = set()
    for example in EXAMPLES:
        text = example.read_text(encoding="utf-8")
        tmp.write_text(text, encoding="utf-8")
        original = _outcome(tmp)
        data = yaml.safe_load(text)
        tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        base = _outcome(tmp)
        assert base == original, example  # the dump says what the file says
        tried: set[str] = set()  # one instance of a property per example, three examples
        for short, at in _instances(SCHEMA, data, "", ()):
            how = USES.get(short, ("",))[0]
            if how not in ("read", "ignored") or short in done | tried:
                continue
            if len(out.get(short, [])) >= 3:
                continue
            tried.add(short)
            if short in CONTEXT:
                here = _in_context(data, short)
                tmp.write_text(yaml.safe_dump(here, sort_keys=False), encoding="utf-8")
                why = _try(here, at, short, tmp, _outcome(tmp))
            else:
                why = _try(data, at, short, tmp, base)
            out.setdefault(short, []).append(f"{example.name}: {why}")
            if why == "changed":
                done.add(short)
    return out


def _try(
    data: Any, at: tuple[Any, ...], short: str, tmp: Path, base: tuple[object, ...] | None
) -> str:
    value = _get(data, at)
    tried = []
    for candidate in list(_candidates(value, leaves()[short]))[:4]:
        mutated = copy.deepcopy(data)
        _get(mutated, at[:-1])[at[-1]] = candidate
        tmp.write_text(yaml.safe_dump(mutated, sort_keys=False), encoding="utf-8")
        try:
            outcome = _outcome(tmp)
        except Exception as e:  # a valid file must never crash: report it, with the change
            return f"{value!r} -> {candidate!r} crashed: {type(e).__name__}: {e}"
        if outcome is None:
            continue  # not a value the language takes: try another
        if outcome != base:
            return "changed"
        tried.append(repr(candidate))
    if not tried:
        return f"no other valid value for {value!r}"
    return f"{value!r} -> {', '.join(tried)} changed nothing"


def test_a_change_to_each_read_property_changes_something(changed: dict[str, list[str]]) -> None:
    crashed = [w for whys in changed.values() for w in whys if "crashed" in w]
    assert not crashed, json.dumps(crashed, indent=1)
    ignored = {
        path: whys
        for path, whys in changed.items()
        if USES[path][0] == "read"
        and "changed" not in [w.split(": ", 1)[1] for w in whys]
        and any("changed nothing" in w for w in whys)
    }
    assert not ignored, json.dumps(ignored, indent=1)


def test_the_ignored_ones_are_still_ignored(changed: dict[str, list[str]]) -> None:
    # the ledger of what the model accepts and does not use yet: when one starts to matter,
    # its entry must say where it is read
    for path, (how, _) in USES.items():
        if how == "ignored" and path in changed:
            assert not any(w.endswith(": changed") for w in changed[path]), (path, changed[path])
