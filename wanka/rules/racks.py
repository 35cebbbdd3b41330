"""Rack rules: units, power feed and cooling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from wanka.derive.topology import Topology
from wanka.findings import Finding, Mark, Severity, error, listed, warning
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


@dataclass(frozen=True)
class _Alike:
    """The racks one finding stands for, and how its message speaks of them."""

    names: list[str]

    def say(self, verb: str, what: str) -> str:
        """`rack 'a' draws 9.0 kW`, or `racks 'a', 'b', 'c' (and 253 more) draw 9.0 kW each`
        (`verb` in the plural: draw, shed, can draw)."""
        if len(self.names) == 1:
            one = verb if verb.startswith("can ") else verb + "s"
            return f"rack {listed(self.names)} {one} {what}"
        return f"racks {listed(self.names)} {verb} {what} each"

    @property
    def its(self) -> str:
        return "its" if len(self.names) == 1 else "their"


def _alike(cluster: Cluster) -> Iterator[tuple[Rack, _Alike]]:
    """Racks built from one declaration (a pod type's rack group) hold the same: each group
    is checked once, on its first rack, and reported with the names of all its racks."""
    groups: dict[tuple[str, Mark], list[Rack]] = {}
    for rack in cluster.racks:
        groups.setdefault((rack.pod.type, rack.at), []).append(rack)
    for racks in groups.values():
        yield racks[0], _Alike([r.name for r in racks])


@rule(
    "RACK-UNITS",
    "Nodes and switches fit in the rack's units.",
    "c.yaml:140:11: error[RACK-UNITS]: rack 'lab-p1-pod01-r01' needs 46U, its type lc-60 has 42U",
)
def units(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for rack, these in _alike(cluster):
        used = sum(n.model.rack_units for n in rack.nodes) + sum(
            s.model.rack_units for s in rack.switches
        )
        if used > rack.type.units:
            yield error(
                "RACK-UNITS",
                these.say("need", f"{used}U")
                + f", {these.its} type {rack.type.key} has {rack.type.units}U",
                rack.at,
                "fewer nodes per rack, or a taller rack type",
            )


@rule(
    "RACK-POWER",
    "Nominal power of a rack's contents fits its power feed.",
    "c.yaml:140:11: error[RACK-POWER]: racks 'sz1-p1-pod01-r01', 'sz1-p1-pod01-r02', 'sz1-p1-pod01-r03' (and 253 more) draw 64.0 kW nominal each, their feed is 60 kW",
)
def power(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for rack, these in _alike(cluster):
        nom = rack_draw(rack)[0] / 1000
        if nom > rack.type.power_kw:
            yield error(
                "RACK-POWER",
                these.say("draw", f"{nom:.1f} kW nominal")
                + f", {these.its} feed is {rack.type.power_kw:g} kW",
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
    for rack, these in _alike(cluster):
        nom, mx = rack_draw(rack)[:2]
        if nom / 1000 <= rack.type.power_kw < mx / 1000:
            yield warning(
                "RACK-POWER-MAX",
                these.say("can draw", f"{mx / 1000:.1f} kW at maximum")
                + f", {these.its} feed is {rack.type.power_kw:g} kW",
                rack.at,
                "power capping, or headroom on the feed",
            )


@rule(
    "RACK-COOLING",
    "Nominal heat fits the rack's liquid and air cooling capacity.",
    "c.yaml:140:11: error[RACK-COOLING]: rack 'lab-p1-pod01-r01' sheds 12.6 kW into air at nominal load, its air cooling is 10 kW",
)
def cooling(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for rack, these in _alike(cluster):
        _, _, liq, air, _, _ = rack_draw(rack)
        t = rack.type
        if liq / 1000 > t.liquid_kw:
            yield error(
                "RACK-COOLING",
                these.say("shed", f"{liq / 1000:.1f} kW into liquid at nominal load")
                + f", {these.its} liquid cooling is {t.liquid_kw:g} kW",
                rack.at,
                "a rack type with more liquid capacity, or fewer nodes per rack",
            )
        if air / 1000 > t.air_kw:
            yield error(
                "RACK-COOLING",
                these.say("shed", f"{air / 1000:.1f} kW into air at nominal load")
                + f", {these.its} air cooling is {t.air_kw:g} kW",
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
    for rack, these in _alike(cluster):
        _, _, liq, air, liq_max, air_max = rack_draw(rack)
        t = rack.type
        if liq / 1000 <= t.liquid_kw < liq_max / 1000:
            yield warning(
                "RACK-COOLING-MAX",
                these.say("shed", f"{liq_max / 1000:.1f} kW into liquid at maximum load")
                + f", {these.its} liquid cooling is {t.liquid_kw:g} kW",
                rack.at,
            )
        if air / 1000 <= t.air_kw < air_max / 1000:
            yield warning(
                "RACK-COOLING-MAX",
                these.say("shed", f"{air_max / 1000:.1f} kW into air at maximum load")
                + f", {these.its} air cooling is {t.air_kw:g} kW",
                rack.at,
            )
