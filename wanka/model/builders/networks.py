"""The networks: planes (with their fabric and QoS), the loopback range and BGP numbering
(spec.networks). Every tier names a switch model of the catalog, and every NIC set of a
node model a plane (REF-UNRESOLVED otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from wanka.findings import Mark
from wanka.language.loader import YMap
from wanka.model import parts
from wanka.model.builders.catalog import Catalog
from wanka.model.builders.problems import Problems, at, items
from wanka.model.types import Bgp, Fabric, Plane, SwitchModel, Tier


@dataclass(frozen=True, slots=True, kw_only=True)
class Networks:
    planes: dict[str, Plane]
    loopbacks: IPv4Network | None
    loopbacks_at: Mark | None
    links: IPv4Network | None  # networks.links: numbered fabric links (VRP)
    links_at: Mark | None
    bgp: Bgp | None


def build_networks(*, spec: YMap, catalog: Catalog, problems: Problems) -> Networks:
    net = spec.get("networks", {})
    planes = net.get("planes", {})
    built = {
        name: _plane(name, p, at(planes, name), catalog.switch_models, problems)
        for name, p in items(planes)
    }
    loopbacks = None
    loopbacks_at = at(net, "loopbacks", value=True) if "loopbacks" in net else None
    if loopbacks_at is not None:
        loopbacks = problems.network(net["loopbacks"], "loopbacks", loopbacks_at, "10.255.0.0/20")
    links = None
    links_at = at(net, "links", value=True) if "links" in net else None
    if links_at is not None:
        links = problems.network(net["links"], "links", links_at, "10.254.0.0/16")
    b = net.get("bgp")
    bgp = (
        Bgp(asn_base=b["asn_base"], asns_per_phase=b.get("asns_per_phase", 1000), at=at(net, "bgp"))
        if b
        else None
    )
    for model in catalog.node_models.values():
        for nic in model.nics:
            if nic.plane not in built:
                problems.unresolved("plane", nic.plane, built, nic.at)
    return Networks(
        planes=built,
        loopbacks=loopbacks,
        loopbacks_at=loopbacks_at,
        links=links,
        links_at=links_at,
        bgp=bgp,
    )


def _plane(
    name: str, p: YMap, where: Mark, switch_models: dict[str, SwitchModel], problems: Problems
) -> Plane:
    fab = _fabric(p["fabric"], at(p, "fabric"), switch_models, problems) if "fabric" in p else None
    qos = parts.qos(p["qos"], at(p, "qos")) if "qos" in p else None
    cidr = None
    if "cidr" in p:
        cidr = problems.network(
            p["cidr"], f"plane '{name}'", at(p, "cidr", value=True), "10.64.0.0/16"
        )
    return Plane(
        name=name,
        role=p["role"],
        cidr=cidr,
        mtu=p.get("mtu", 1500),
        vlan=p.get("vlan"),
        bonded=p.get("bonded", False),
        bond_mode=p.get("bond_mode", "active-backup"),
        qos=qos,
        fabric=fab,
        at=where,
        value_at={k: at(p, k, value=True) for k in p},
    )


def _fabric(
    f: YMap, where: Mark, switch_models: dict[str, SwitchModel], problems: Problems
) -> Fabric:
    tiers: dict[str, Tier] = {}
    for t in ("leaf", "spine", "core"):
        if t in f:
            d = f[t]
            if d["model"] not in switch_models:
                problems.unresolved(
                    "switch model", d["model"], switch_models, at(d, "model", value=True)
                )
            tiers[t] = parts.tier(t, d, at(f, t))
    return Fabric(
        tiers=f["tiers"],
        rail_optimised=f.get("rail_optimised", False),
        rails=f.get("rails"),
        spine_groups=f.get("spine_groups", "shared"),
        leaf=tiers["leaf"],
        spine=tiers.get("spine"),
        core=tiers.get("core"),
        at=where,
    )
