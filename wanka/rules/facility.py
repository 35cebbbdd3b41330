"""Facility rules: every hall that holds racks has a plant, and its IT load and heat fit its
power and cooling (redundant units held back); a rack with liquid heat stands in a hall with
a liquid loop; a tariff's bands cover the day once.

`hall_loads` is the arithmetic the rules and the plan share (`wanka.review.facility`): the
nominal IT power and heat of every hall, per phase, from `rules.racks.rack_draw`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from wanka.derive.topology import Topology
from wanka.findings import Finding, Mark, error, listed
from wanka.model.facility import DAY_MINUTES, CoolingPlant, HallPlant, Site
from wanka.model.types import Cluster, Rack
from wanka.rules import rule
from wanka.rules.racks import rack_draw


@dataclass(slots=True)
class Load:
    """Nominal and max IT power and nominal heat of some racks, kW."""

    it_kw: float = 0.0
    it_max_kw: float = 0.0
    liquid_kw: float = 0.0
    air_kw: float = 0.0
    feed_kw: float = 0.0
    racks: int = 0

    def add(self, rack: Rack) -> None:
        nom, mx, liq, air, _, _ = rack_draw(rack)
        self.it_kw += nom / 1000
        self.it_max_kw += mx / 1000
        self.liquid_kw += liq / 1000
        self.air_kw += air / 1000
        self.feed_kw += rack.type.power_kw
        self.racks += 1

    def plus(self, other: Load) -> None:
        self.it_kw += other.it_kw
        self.it_max_kw += other.it_max_kw
        self.liquid_kw += other.liquid_kw
        self.air_kw += other.air_kw
        self.feed_kw += other.feed_kw
        self.racks += other.racks


def hall_loads(cluster: Cluster) -> dict[str, dict[str, Load]]:
    """{hall: {phase: load}} of every rack, halls and phases in the order first met."""
    out: dict[str, dict[str, Load]] = {}
    for rack in cluster.racks:
        per = out.setdefault(rack.pod.hall, {})
        per.setdefault(rack.pod.phase.name, Load()).add(rack)
    return out


def hall_total(per_phase: dict[str, Load]) -> Load:
    total = Load()
    for load in per_phase.values():
        total.plus(load)
    return total


def _phases(per_phase: dict[str, Load]) -> str:
    return ", ".join(f"{p} {v.it_kw:,.1f}" for p, v in per_phase.items())


def planted_halls(cluster: Cluster) -> Iterator[tuple[str, dict[str, Load], HallPlant]]:
    """(hall, its load per phase, its plant) of every hall that holds racks and has a plant
    in `facility.halls` (a hall without one is FAC-HALL-PLANT's)."""
    fac = cluster.facility
    if fac is None:
        return
    for hall, per in hall_loads(cluster).items():
        plant = fac.halls.get(hall)
        if plant is not None:
            yield hall, per, plant


@rule(
    "FAC-HALL-PLANT",
    "With a facility, every hall that holds racks has its plant in facility.halls.",
    "c.yaml:180:3: error[FAC-HALL-PLANT]: hall 'h2' holds 780 racks (phase p2, 20,384.0 kW "
    "nominal) but facility.halls has no entry for it",
)
def hall_plant(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    fac = cluster.facility
    if fac is None:
        return
    for hall, per in hall_loads(cluster).items():
        if hall not in fac.halls:
            total = hall_total(per)
            yield error(
                "FAC-HALL-PLANT",
                f"hall '{hall}' holds {total.racks:,} racks (phase {', '.join(per)}, "
                f"{total.it_kw:,.1f} kW nominal) but facility.halls has no entry for it",
                fac.at,
                f"add facility.halls.{hall} with its it_power_kw, liquid and air plant",
            )


@rule(
    "FAC-HALL-POWER",
    "The nominal IT load of a hall's racks fits the IT power its distribution carries.",
    "c.yaml:181:5: error[FAC-HALL-POWER]: hall 'h1' carries 5,728.2 kW of nominal IT load "
    "(p1 5,728.2), its it_power_kw is 5,000",
)
def hall_power(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for hall, per, plant in planted_halls(cluster):
        it = hall_total(per).it_kw
        if it > plant.it_power_kw + 1e-9:
            yield error(
                "FAC-HALL-POWER",
                f"hall '{hall}' carries {it:,.1f} kW of nominal IT load ({_phases(per)}), "
                f"its it_power_kw is {plant.it_power_kw:,g}",
                plant.it_power_at or plant.at,
                "more IT power in the hall (UPS/HVDC), or fewer racks in it",
            )


def _cooling(
    hall: str, path: str, heat: float, plant: CoolingPlant | None, at: Mark
) -> Finding | None:
    usable = plant.usable_kw if plant is not None else 0.0
    if heat <= usable + 1e-9:
        return None
    if plant is None:
        what = f"it has no {path} plant"
    else:
        unit = "CDUs" if plant.kind == "cdu" else f"{plant.kind.upper()} units"
        what = (
            f"its {plant.units} {unit} of {plant.unit_kw:,g} kW with {plant.redundant} "
            f"redundant carry {usable:,g} kW"
        )
    return error(
        "FAC-HALL-COOLING",
        f"hall '{hall}' sheds {heat:,.1f} kW into {path} at nominal load, {what}",
        plant.at if plant is not None else at,
        f"more {'CDUs' if path == 'liquid' else 'air units'} (or larger ones), "
        "or fewer racks in the hall",
    )


@rule(
    "FAC-HALL-COOLING",
    "A hall's liquid and air heat fit its liquid loop and air plant, redundant units held back.",
    "c.yaml:183:7: error[FAC-HALL-COOLING]: hall 'h1' sheds 4,308.4 kW into liquid at nominal "
    "load, its 6 CDUs of 800 kW with 1 redundant carry 4,000 kW",
)
def hall_cooling(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    for hall, per, plant in planted_halls(cluster):
        total = hall_total(per)
        liquid_loop = plant.liquid is not None and plant.liquid.units > 0
        if liquid_loop:  # without a loop, FAC-LIQUID-LOOP names the racks
            f = _cooling(hall, "liquid", total.liquid_kw, plant.liquid, plant.at)
            if f is not None:
                yield f
        f = _cooling(hall, "air", total.air_kw, plant.air, plant.at)
        if f is not None:
            yield f


@rule(
    "FAC-LIQUID-LOOP",
    "A rack whose contents shed heat into liquid stands in a hall with a liquid loop.",
    "c.yaml:140:11: error[FAC-LIQUID-LOOP]: racks 'sz1-p1-pod01-r01', 'sz1-p1-pod01-r02', "
    "'sz1-p1-pod01-r03' (and 129 more) shed 32.6 kW into liquid each, their hall 'h1' has no "
    "liquid loop",
)
def liquid_loop(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    fac = cluster.facility
    if fac is None:
        return
    groups: dict[tuple[str, Mark, str], list[Rack]] = {}
    for rack in cluster.racks:
        plant = fac.halls.get(rack.pod.hall)
        if plant is None or (plant.liquid is not None and plant.liquid.units > 0):
            continue
        groups.setdefault((rack.pod.type, rack.at, rack.pod.hall), []).append(rack)
    for (_, at, hall), racks in groups.items():
        liq = rack_draw(racks[0])[2] / 1000
        if liq <= 0:
            continue
        names = [r.name for r in racks]
        who = f"rack {listed(names)} sheds" if len(names) == 1 else f"racks {listed(names)} shed"
        each = "" if len(names) == 1 else " each"
        its = "its" if len(names) == 1 else "their"
        yield error(
            "FAC-LIQUID-LOOP",
            f"{who} {liq:,.1f} kW into liquid{each}, {its} hall '{hall}' has no liquid loop",
            at,
            f"give facility.halls.{hall} a liquid loop (cdus), or place the racks in a hall "
            "that has one",
        )


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _runs(minutes: list[int], want: int) -> list[str]:
    """The spans of the day whose minutes are covered `want` times, as HH:MM-HH:MM."""
    out: list[str] = []
    start: int | None = None
    for m in range(DAY_MINUTES + 1):
        hit = m < DAY_MINUTES and (minutes[m] == want if want == 0 else minutes[m] > 1)
        if hit and start is None:
            start = m
        elif not hit and start is not None:
            out.append(f"{_clock(start)}-{_clock(m)}")
            start = None
    return out


def coverage(site: Site) -> tuple[list[str], list[str]]:
    """(spans of the day no band covers, spans two or more bands cover)."""
    minutes = [0] * DAY_MINUTES
    for band in site.bands:
        for s, e in band.spans:
            length = (e - s) % DAY_MINUTES or DAY_MINUTES
            for k in range(length):
                minutes[(s + k) % DAY_MINUTES] += 1
    return _runs(minutes, 0), _runs(minutes, 2)


@rule(
    "FAC-TARIFF-HOURS",
    "The bands of a site's tariff cover every hour of the day exactly once.",
    "c.yaml:170:7: error[FAC-TARIFF-HOURS]: site 'shenzhen': no band covers 08:00-10:00",
)
def tariff_hours(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    fac = cluster.facility
    if fac is None:
        return
    for site in fac.sites.values():
        gaps, twice = coverage(site)
        if gaps:
            yield error(
                "FAC-TARIFF-HOURS",
                f"site '{site.name}': no band covers {', '.join(gaps)}",
                site.at,
                "give every hour of the day to one band (hours: [HH:MM-HH:MM, ...])",
            )
        if twice:
            yield error(
                "FAC-TARIFF-HOURS",
                f"site '{site.name}': more than one band covers {', '.join(twice)}",
                site.at,
                "give every hour of the day to one band",
            )
