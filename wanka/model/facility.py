"""The facility of the model (`spec.facility`): each data hall's power and cooling plant, the
sites' electricity tariffs, and the utilisation energy is counted at.

Parsed from a schema-valid document into typed, immutable parts; nothing is computed here
(facility power, PUE, energy and cost: `wanka.review.facility`; the checks of the halls
against their plant: `wanka.rules.facility`). There are no defaults for the plant: every
figure is the file's (docs/language.md, "The facility").
"""

from __future__ import annotations

from dataclasses import dataclass

from wanka.findings import Finding, Mark, error
from wanka.language.loader import YMap
from wanka.language.positions import choices_hint

DAY_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True, kw_only=True)
class CoolingPlant:
    """One heat path of a hall: its liquid loop (CDUs) or its air plant (CRAH/CRAC units)."""

    kind: str  # cdu | crah | crac
    units: int
    unit_kw: float  # heat one unit removes
    redundant: int  # units held in reserve (N+R): not counted as capacity
    overhead: float | None  # non-IT kW per kW of heat this path removes (None: measured PUE)
    at: Mark

    @property
    def installed_kw(self) -> float:
        return self.units * self.unit_kw

    @property
    def usable_kw(self) -> float:
        """What the path may carry with its redundant units held back."""
        return max(0, self.units - self.redundant) * self.unit_kw


@dataclass(frozen=True, slots=True, kw_only=True)
class HallPlant:
    """A data hall's power and cooling (`facility.halls.<hall>`)."""

    hall: str
    site: str | None  # the site whose tariff its energy is bought under
    it_power_kw: float  # IT (critical) power its distribution can feed the racks
    liquid: CoolingPlant | None  # None: the hall has no liquid loop
    air: CoolingPlant | None  # None: no air plant
    measured_pue: float | None
    at: Mark
    it_power_at: Mark | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """One band of a time-of-use tariff: its price and the hours of the day it applies."""

    name: str
    price_per_kwh: float
    spans: tuple[tuple[int, int], ...]  # (start, end) minutes of the day; end < start wraps
    at: Mark

    @property
    def minutes(self) -> int:
        return sum((e - s) % DAY_MINUTES or DAY_MINUTES for s, e in self.spans)

    @property
    def hours(self) -> float:
        return self.minutes / 60


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """A site's electricity tariff (`facility.sites.<site>`)."""

    name: str
    currency: str
    bands: tuple[Band, ...]  # in declaration order
    at: Mark


@dataclass(frozen=True, slots=True, kw_only=True)
class Facility:
    halls: dict[str, HallPlant]
    sites: dict[str, Site]
    utilisation: float | None  # share of the year at nominal IT load (None: no energy figures)
    at: Mark

    def site_of(self, hall: str) -> Site | None:
        plant = self.halls.get(hall)
        return self.sites.get(plant.site) if plant is not None and plant.site else None


def _mark(ymap: object, key: str, *, value: bool = False) -> Mark:
    if isinstance(ymap, YMap) and key in ymap:
        return ymap.value_at[key] if value else ymap.key_at[key]
    return getattr(ymap, "at", Mark("<input>", 1, 1))


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _spans(hours: list[str]) -> tuple[tuple[int, int], ...]:
    """ "10:00-12:00" -> (600, 720); the schema's pattern has checked the form."""
    out = []
    for text in hours:
        a, b = text.split("-")
        out.append((_minutes(a), _minutes(b)))
    return tuple(out)


def _plant(kind: str, p: YMap, at: Mark) -> CoolingPlant:
    units, each = ("cdus", "cdu_kw") if kind == "cdu" else ("units", "unit_kw")
    return CoolingPlant(
        kind=kind if kind == "cdu" else p.get("kind", "crah"),
        units=p[units],
        unit_kw=float(p[each]),
        redundant=p["redundant"],
        overhead=float(p["overhead"]) if "overhead" in p else None,
        at=at,
    )


def build_facility(spec: YMap, halls: dict[str, Mark], findings: list[Finding]) -> Facility | None:
    """The facility of a schema-valid spec (None without `facility`); a hall or site that
    is not there is REF-UNRESOLVED, appended to `findings`."""
    fac = spec.get("facility")
    if not isinstance(fac, YMap):
        return None
    sites: dict[str, Site] = {}
    for name, s in (fac.get("sites") or {}).items():
        bands = tuple(
            Band(
                name=b,
                price_per_kwh=float(band["price_per_kwh"]),
                spans=_spans(list(band["hours"])),
                at=_mark(s["bands"], b),
            )
            for b, band in s["bands"].items()
        )
        sites[name] = Site(
            name=name, currency=s["currency"], bands=bands, at=_mark(fac["sites"], name)
        )
    only = next(iter(sites)) if len(sites) == 1 else None
    plants: dict[str, HallPlant] = {}
    for hall, h in fac["halls"].items():
        at = _mark(fac["halls"], hall)
        if hall not in halls:
            findings.append(
                error(
                    "REF-UNRESOLVED",
                    f"unknown hall '{hall}' in facility.halls",
                    at,
                    choices_hint(hall, halls),
                )
            )
            continue
        site = h.get("site", only)
        if site is not None and site not in sites:
            findings.append(
                error(
                    "REF-UNRESOLVED",
                    f"unknown site '{site}' for hall '{hall}'",
                    _mark(h, "site", value=True),
                    choices_hint(site, sites) if sites else "declare it under facility.sites",
                )
            )
            site = None
        plants[hall] = HallPlant(
            hall=hall,
            site=site,
            it_power_kw=float(h["it_power_kw"]),
            liquid=_plant("cdu", h["liquid"], _mark(h, "liquid")) if "liquid" in h else None,
            air=_plant("air", h["air"], _mark(h, "air")) if "air" in h else None,
            measured_pue=float(h["measured_pue"]) if "measured_pue" in h else None,
            at=at,
            it_power_at=_mark(h, "it_power_kw"),
        )
    util = fac.get("utilisation")
    return Facility(
        halls=plants,
        sites=sites,
        utilisation=float(util) if util is not None else None,
        at=_mark(spec, "facility"),
    )
