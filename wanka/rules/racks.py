"""Rack rules: units, power feed and cooling."""

from __future__ import annotations

from collections.abc import Iterator

from wanka.derive.topology import Topology
from wanka.findings import Finding, Mark, Severity, error, warning
from wanka.model.types import Cluster, Rack
from wanka.rules import rule


def rack_draw(rack: Rack) -> tuple[float, float, float, float, float, float]:
    """(nominal W, max W, liquid heat nominal, air heat nominal, liquid max, air max)."""
    nom = mx = liq = air = liq_max = air_max = 0.0
    for n in rack.nodes:
        m = n.model
        nom += m.power_nominal_w
        mx += m.power_max_w
        liq += m.power_nominal_w * m.liquid_share
        air += m.power_nominal_w * (1 - m.liquid_share)
        liq_max += m.power_max_w * m.liquid_share
        air_max += m.power_max_w * (1 - m.liquid_share)
    for s in rack.switches:
        sm = s.model
        nom += sm.power_nominal_w
        mx += sm.power_max_w
        liq += sm.power_nominal_w * sm.liquid_share
        air += sm.power_nominal_w * (1 - sm.liquid_share)
        liq_max += sm.power_max_w * sm.liquid_share
        air_max += sm.power_max_w * (1 - sm.liquid_share)
    return nom, mx, liq, air, liq_max, air_max


def _first_of_type(cluster: Cluster) -> Iterator[Rack]:
    """One rack per (pod type, rack position): identical racks are reported once."""
    seen: set[tuple[str, Mark]] = set()
    for rack in cluster.racks:
        key = (rack.pod.type, rack.at)
        if key in seen:
            continue
        seen.add(key)
        yield rack


@rule(
    "RACK-UNITS",
    "Nodes and switches fit in the rack's units.",
    "c.yaml:140:11: error[RACK-UNITS]: rack 'lab-p1-pod01-r01' needs 46U, its type lc-60 has 42U",
)
def units(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for rack in _first_of_type(cluster):
        used = sum(n.model.rack_units for n in rack.nodes) + sum(
            s.model.rack_units for s in rack.switches
        )
        if used > rack.type.units:
            yield error(
                "RACK-UNITS",
                f"rack '{rack.name}' needs {used}U, its type "
                f"{rack.type.key} has {rack.type.units}U",
                rack.at,
                "fewer nodes per rack, or a taller rack type",
            )


@rule(
    "RACK-POWER",
    "Nominal power of a rack's contents fits its power feed.",
    "c.yaml:140:11: error[RACK-POWER]: rack 'sz1-p1-pod01-r01' draws 64.0 kW nominal, its feed is 60 kW",
)
def power(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for rack in _first_of_type(cluster):
        nom = rack_draw(rack)[0] / 1000
        if nom > rack.type.power_kw:
            yield error(
                "RACK-POWER",
                f"rack '{rack.name}' draws {nom:.1f} kW nominal, its feed is "
                f"{rack.type.power_kw:g} kW",
                rack.at,
                "fewer nodes per rack, or a rack type with a larger feed",
            )


@rule(
    "RACK-POWER-MAX",
    "Maximum power of a rack's contents fits its power feed.",
    "c.yaml:140:11: warning[RACK-POWER-MAX]: rack 'sz1-p1-pod01-r01' can draw 66.0 kW at maximum, its feed is 60 kW",
    Severity.WARNING,
)
def power_max(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for rack in _first_of_type(cluster):
        nom, mx = rack_draw(rack)[:2]
        if nom / 1000 <= rack.type.power_kw < mx / 1000:
            yield warning(
                "RACK-POWER-MAX",
                f"rack '{rack.name}' can draw {mx / 1000:.1f} kW at "
                f"maximum, its feed is {rack.type.power_kw:g} kW",
                rack.at,
                "power capping, or headroom on the feed",
            )


@rule(
    "RACK-COOLING",
    "Nominal heat fits the rack's liquid and air cooling capacity.",
    "c.yaml:140:11: error[RACK-COOLING]: rack 'lab-p1-pod01-r01' sheds 12.6 kW into air at nominal load, its air cooling is 10 kW",
)
def cooling(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for rack in _first_of_type(cluster):
        _, _, liq, air, _, _ = rack_draw(rack)
        t = rack.type
        if liq / 1000 > t.liquid_kw:
            yield error(
                "RACK-COOLING",
                f"rack '{rack.name}' sheds {liq / 1000:.1f} kW into liquid at "
                f"nominal load, its liquid cooling is {t.liquid_kw:g} kW",
                rack.at,
                "a rack type with more liquid capacity, or fewer nodes per rack",
            )
        if air / 1000 > t.air_kw:
            yield error(
                "RACK-COOLING",
                f"rack '{rack.name}' sheds {air / 1000:.1f} kW into air at "
                f"nominal load, its air cooling is {t.air_kw:g} kW",
                rack.at,
                "liquid-cooled models, a rack type with more air capacity, or fewer nodes",
            )


@rule(
    "RACK-COOLING-MAX",
    "Heat at maximum power fits the rack's cooling.",
    "c.yaml:140:11: warning[RACK-COOLING-MAX]: rack 'lab-p1-pod01-r01' sheds 52.1 kW into liquid at maximum load, its liquid cooling is 48 kW",
    Severity.WARNING,
)
def cooling_max(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for rack in _first_of_type(cluster):
        _, _, liq, air, liq_max, air_max = rack_draw(rack)
        t = rack.type
        if liq / 1000 <= t.liquid_kw < liq_max / 1000:
            yield warning(
                "RACK-COOLING-MAX",
                f"rack '{rack.name}' sheds {liq_max / 1000:.1f} kW into "
                f"liquid at maximum load, its liquid cooling is {t.liquid_kw:g} kW",
                rack.at,
            )
        if air / 1000 <= t.air_kw < air_max / 1000:
            yield warning(
                "RACK-COOLING-MAX",
                f"rack '{rack.name}' sheds {air_max / 1000:.1f} kW into "
                f"air at maximum load, its air cooling is {t.air_kw:g} kW",
                rack.at,
            )
