"""The catalog: accelerator, node, switch and rack models, by key (spec.catalog).

Server, host and storage-node models share one namespace; a node model's accelerator must
be in the catalog (REF-UNRESOLVED otherwise: the model is kept, without one).
"""

from __future__ import annotations

from dataclasses import dataclass

from wanka.findings import Mark, error
from wanka.language.loader import YMap
from wanka.model import parts
from wanka.model.builders.problems import Problems, at, items
from wanka.model.types import Accelerator, NicSet, NodeModel, RackType, SwitchModel, gbps

NODE_SECTIONS = (("servers", "server"), ("hosts", "host"), ("storage_nodes", "storage"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    accelerators: dict[str, Accelerator]
    node_models: dict[str, NodeModel]
    switch_models: dict[str, SwitchModel]
    rack_types: dict[str, RackType]


def build_catalog(*, spec: YMap, problems: Problems) -> Catalog:
    cat = spec.get("catalog", {})
    accelerators = {
        key: parts.accelerator(key, a, at(cat["accelerators"], key))
        for key, a in items(cat.get("accelerators"))
    }
    node_models = _node_models(cat, accelerators, problems)
    switch_models = {
        key: parts.switch_model(key, s, at(cat["switches"], key))
        for key, s in items(cat.get("switches"))
    }
    rack_types = {
        key: parts.rack_type(key, r, at(cat["racks"], key)) for key, r in items(cat.get("racks"))
    }
    return Catalog(
        accelerators=accelerators,
        node_models=node_models,
        switch_models=switch_models,
        rack_types=rack_types,
    )


def _node_models(
    cat: YMap, accelerators: dict[str, Accelerator], problems: Problems
) -> dict[str, NodeModel]:
    """Server, host and storage-node models: one namespace."""
    out: dict[str, NodeModel] = {}
    seen: dict[str, Mark] = {}
    for section, role in NODE_SECTIONS:
        block = cat.get(section)
        for key, n in items(block):
            where = at(block, key)
            if key in seen:
                problems.add(
                    error(
                        "NAME-UNIQUE",
                        f"node model '{key}' is also defined at {seen[key]}",
                        where,
                        "server, host and storage-node models share one namespace; rename one",
                    )
                )
                continue
            seen[key] = where
            out[key] = _node_model(key, role, n, where, accelerators, problems)
    return out


def _node_model(
    key: str,
    role: str,
    n: YMap,
    where: Mark,
    accelerators: dict[str, Accelerator],
    problems: Problems,
) -> NodeModel:
    acc = None
    cards = 0
    if "accelerator" in n:
        acc_key = n["accelerator"]["model"]
        acc = accelerators.get(acc_key)
        if acc is None:
            problems.unresolved(
                "accelerator model",
                acc_key,
                accelerators,
                at(n["accelerator"], "model", value=True),
            )
        cards = n["accelerator"]["count"]
    return NodeModel(
        key=key,
        role=role,  # type: ignore[arg-type]
        cpu=parts.cpu(n["cpu"]),
        memory_gb=n["memory_gb"],
        accelerator=acc,
        cards=cards,
        nics=tuple(
            NicSet(plane=p, count=v["count"], speed=gbps(v["speed"]), at=at(n["nics"], p))
            for p, v in n["nics"].items()
        ),
        bmc_speed=gbps(n.get("bmc", {}).get("speed", "1G")),
        bmc_firmware=str(n.get("bmc", {}).get("firmware", "generic")),
        drives=tuple(parts.drive(d) for d in n.get("drives", [])),
        rack_units=n["rack_units"],
        power_nominal_w=n["power_w"]["nominal"],
        power_max_w=n["power_w"]["max"],
        liquid_share=n.get("liquid_share", 0),
        at=where,
        description=n.get("description", ""),
        os_key=n.get("os"),
        os_at=at(n, "os", value=True) if "os" in n else None,
    )
