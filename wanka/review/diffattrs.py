"""What `wanka diff` compares about each thing, and where a thing stands.

`attributes(cluster)` maps each kind (software, credential, catalog, plane, phase, pod,
rack, node, switch) to {name: {attribute: value}} with plain, comparable values: names of
other things (a node's rack), not the objects. Credentials appear as references
(`env:NAME`), never values. `rack_place` and `unit_place` say where a rack or a device
stands on the floor, which is how a rename is told from a removal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from wanka.jsonfmt import Json
from wanka.model.types import Cluster, Node, Rack, Rollout, SecretRef, Switch


def attributes(c: Cluster) -> dict[str, dict[str, Json]]:
    return {
        "software": _software_attrs(c),
        "credential": _credential_attrs(c),
        "catalog": _catalog_attrs(c),
        "plane": _plane_attrs(c),
        "phase": _phase_attrs(c),
        "pod": _pod_attrs(c),
        "rack": _rack_attrs(c),
        "node": _node_attrs(c),
        "switch": _switch_attrs(c),
    }


def _phase_attrs(c: Cluster) -> dict[str, Json]:
    return {
        p.name: {
            "status": p.status,
            "target_pflops": p.target_pflops,
            "depends_on": list(p.depends_on),
            "order": p.index + 1,
            "rollout": _rollout_text(p.rollout),
        }
        for p in c.phases
    }


def _rollout_text(r: Rollout | None) -> str | None:
    """`batch 25%, max_fail_percent 10`: what the phase's rollout sets, None without one."""
    if r is None:
        return None
    said = (("batch", r.batch), ("max_fail_percent", r.max_fail_percent))
    return ", ".join(f"{k} {v}" for k, v in said if v is not None)


def _plane_attrs(c: Cluster) -> dict[str, Json]:
    return {
        p.name: {
            "role": p.role,
            "cidr": str(p.cidr) if p.cidr is not None else None,
            "mtu": p.mtu,
            "vlan": p.vlan,
            "bonded": p.bonded,
            "tiers": p.fabric.tiers if p.fabric is not None else None,
        }
        for p in c.planes.values()
    }


def _software_attrs(c: Cluster) -> dict[str, Json]:
    sw = c.software
    out: dict[str, Json] = {"versions": {"os": f"{sw.os.name} {sw.os.version}" if sw.os else None}}
    for key, image in sorted(sw.oses.items()):  # the named OSes, by key
        out[f"os {key}"] = {"os": f"{image.name} {image.version}", "family": image.family}
    for s in sw.all_sets:
        # the default set keeps the key it always had ("versions"); npu_sets by name
        entry = out["versions"] if s.specificity == 0 else out.setdefault(f"npu_set {s.name}", {})
        assert isinstance(entry, dict)
        entry.update(
            {
                "npu_driver": s.driver_version,
                "firmware": s.firmware_version,
                "firmware_range": f"{s.firmware_min}..{s.firmware_max}" if s.firmware_min else None,
                "cann": s.cann_version,
                "cann_kernels": ", ".join(sorted(s.kernels_packages.values())) or None,
            }
        )
        if s.specificity:
            entry["serves"] = " ".join(x for x in (s.generation, ",".join(s.phases or ())) if x)
    return out


def _ref(r: SecretRef | None) -> str | None:
    """A credential reference as `env:NAME` (the schema allows references, never values)."""
    return None if r is None else f"{r.source}:{r.name}"


def _credential_attrs(c: Cluster) -> dict[str, Json]:
    return {
        k: {"username": v.username, "password": _ref(v.password), "key": _ref(v.private_key)}
        for k, v in c.credentials.items()
    }


def _catalog_attrs(c: Cluster) -> dict[str, Json]:
    """The catalog parts whose figures feed power, cooling, ports and capacity."""
    out: dict[str, Json] = {}
    for m in c.node_models.values():
        out[f"{m.role} {m.key}"] = {
            "cards": m.cards,
            "accelerator": m.accelerator.key if m.accelerator else None,
            "cpu": f"{m.cpu.vendor} {m.cpu.model}",
            "memory_gb": m.memory_gb,
            "nics": [f"{n.plane} {n.count}x{n.speed}G" for n in m.nics],
            "rack_units": m.rack_units,
            "power_w": f"{m.power_nominal_w:g}/{m.power_max_w:g}",
            "liquid_share": m.liquid_share,
        }
    for sw in c.switch_models.values():
        out[f"switch {sw.key}"] = {
            "os": sw.os,
            "ports": sw.describe_ports(),
            "lanes": [g.lanes for g in sw.groups],
            "breakouts": sorted({b for g in sw.groups for b in g.breakouts}),
            "max_frame": sw.max_frame,
            "rack_units": sw.rack_units,
            "power_w": f"{sw.power_nominal_w:g}/{sw.power_max_w:g}",
        }
    for r in c.rack_types.values():
        out[f"rack {r.key}"] = {
            "units": r.units,
            "power_kw": r.power_kw,
            "liquid_kw": r.liquid_kw,
            "air_kw": r.air_kw,
        }
    for a in c.accelerators.values():
        out[f"accelerator {a.key}"] = {
            "generation": a.generation,
            "dies": a.dies,
            "hbm_gb": a.hbm_gb,
            "tflops": ", ".join(f"{k} {v:g}" for k, v in sorted(a.tflops.items())),
        }
    return out


def _pod_attrs(c: Cluster) -> dict[str, Json]:
    return {
        p.name: {
            "phase": p.phase.name,
            "type": p.type,
            "hall": p.hall,
            "row": p.row,
            "slot": p.slot,
        }
        for p in c.pods
    }


def _rack_attrs(c: Cluster) -> dict[str, Json]:
    return {
        r.name: {
            "pod": r.pod.name,
            "type": r.type.key,
            "role": r.role,
            "hall": r.pod.hall,
            "row": r.pod.row,
            "position": r.position,
        }
        for r in c.racks
    }


def _node_attrs(c: Cluster) -> dict[str, Json]:
    out: dict[str, Json] = {}
    for n in c.nodes:
        f = n.facts
        out[n.name] = {
            "role": n.model.role,
            "model": n.model.key,
            "rack": n.rack.name,
            "unit": n.unit,
            "supernode": n.supernode + 1 if n.supernode is not None else None,  # from 1
            "serial": f.serial if f else None,
            "bmc_mac": f.bmc_mac if f else None,
            "excluded": f.excluded if f else None,
        }
    return out


def _switch_attrs(c: Cluster) -> dict[str, Json]:
    out: dict[str, Json] = {}
    for s in c.switches:
        f = s.facts
        out[s.name] = {
            "plane": s.plane.name,
            "tier": s.tier,
            "model": s.model.key,
            "rack": s.rack.name,
            "unit": s.unit,
            "rails": list(s.rails),
            "asn": s.asn,
            "serial": f.serial if f else None,
            "mac": f.mac if f else None,
        }
    return out


def rack_place(r: Rack) -> tuple[Any, ...] | None:
    if r.position is None or r.pod.row is None:
        return None
    return (r.pod.hall, r.pod.row, r.position)


def unit_place(d: Node | Switch) -> tuple[Any, ...] | None:
    place = rack_place(d.rack)
    return None if place is None else (*place, d.unit)


def join_changed(
    old: Mapping[Any, Any], new: Mapping[Any, Any]
) -> Iterable[tuple[Any, Any | None, Any | None]]:
    """(key, old value, new value) for every key whose value differs, old keys first."""
    for k, o in old.items():
        n = new.get(k)
        if n != o:
            yield k, o, n
    for k, n in new.items():
        if k not in old:
            yield k, None, n


def change_op(o: object, n: object) -> str:
    return "added" if o is None else "removed" if n is None else "changed"
