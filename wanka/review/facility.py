"""The facility of a plan: per hall and per phase, IT power, facility power and PUE, heat
against the plant's capacity (headroom), yearly energy and its cost under the site's tariff,
and what that cost does when training moves to the cheapest hours.

The arithmetic, in kW, over the nominal draw of the racks (`rules.facility.hall_loads`):

* liquid heat L and air heat A of a hall (L + A = IT, its nominal IT power);
* facility power = IT + L x o_liquid + A x o_air, the overheads of its liquid loop and air
  plant (non-IT kW per kW of heat each path removes), so PUE = 1 + f x o_liquid +
  (1 - f) x o_air with f = L / IT (reference acceptance/11: PUE by liquid fraction);
  a hall with `measured_pue` has facility power = IT x measured PUE instead;
* usable cooling = (units - redundant) x kW per unit: headroom = usable - heat;
* yearly energy = power x 8,760 h x utilisation (idle hours are not counted);
* cost, spread: the load runs evenly over the day, each band gets its share of the energy
  (its hours / 24) at its price; cost, shifted: the same energy in the busiest
  24 x utilisation hours of each day, put into the cheapest bands first (valley, then flat,
  then peak): the change is what moving training to the valley hours saves.
"""

from __future__ import annotations

from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.model.facility import Facility, HallPlant, Site
from wanka.review.capacity import Scope, in_scope, pct, rnd
from wanka.rules.facility import Load, hall_loads, hall_total

HOURS_PER_YEAR = 8760
BASIS = (
    "facility power = IT + liquid heat x liquid overhead + air heat x air overhead (or IT x a "
    "measured PUE); PUE = facility / IT; yearly energy = power x 8,760 h x utilisation; cost "
    "spread evenly over the day's tariff bands, or shifted: the same energy in the cheapest "
    "24 h x utilisation of each day"
)


def _overheads(plant: HallPlant, load: Load) -> tuple[float | None, float | None]:
    """(liquid overhead kW, air overhead kW) of the plant model; None where it has none."""
    lo = plant.liquid.overhead if plant.liquid is not None else 0.0
    ao = plant.air.overhead if plant.air is not None else 0.0
    return (
        load.liquid_kw * lo if lo is not None else None,
        load.air_kw * ao if ao is not None else None,
    )


def power(plant: HallPlant, load: Load) -> Json:
    """Facility power and PUE of a load in a hall: from the plant model, or measured."""
    lo, ao = _overheads(plant, load)
    model = load.it_kw + lo + ao if lo is not None and ao is not None else None
    if plant.measured_pue is not None:
        facility = load.it_kw * plant.measured_pue
        basis = "measured"
    else:
        assert model is not None  # the schema asks for both overheads without measured_pue
        facility = model
        basis = "plant model"
    it = load.it_kw
    return {
        "it_kw": rnd(it),
        "it_max_kw": rnd(load.it_max_kw),
        "liquid_kw": rnd(load.liquid_kw),
        "air_kw": rnd(load.air_kw),
        "liquid_overhead_kw": rnd(lo) if lo is not None else None,
        "air_overhead_kw": rnd(ao) if ao is not None else None,
        "model_pue": rnd(model / it, 3) if model is not None and it else None,
        "measured_pue": plant.measured_pue,
        "pue": rnd(facility / it, 3) if it else None,
        "pue_basis": basis,
        "facility_kw": rnd(facility),
    }


def cost(site: Site, facility_kw: float, utilisation: float) -> tuple[float, float]:
    """(yearly cost spread over the day, yearly cost shifted to the cheapest hours)."""
    spread = sum(facility_kw * utilisation * b.hours * b.price_per_kwh for b in site.bands)
    left = 24 * utilisation
    shifted = 0.0
    for b in sorted(site.bands, key=lambda b: b.price_per_kwh):
        h = min(b.hours, left)
        shifted += facility_kw * h * b.price_per_kwh
        left -= h
    return spread * 365, shifted * 365


def energy(fac: Facility, plant: HallPlant, it_kw: float, facility_kw: float) -> Json:
    """Yearly energy (MWh) and its cost, spread and shifted, under the hall's tariff."""
    u = fac.utilisation
    if u is None:
        return {}
    out: Json = {
        "it_mwh_year": rnd(it_kw * HOURS_PER_YEAR * u / 1000),
        "facility_mwh_year": rnd(facility_kw * HOURS_PER_YEAR * u / 1000),
    }
    site = fac.sites.get(plant.site) if plant.site else None
    if site is not None:
        spread, shifted = cost(site, facility_kw, u)
        out |= {
            "currency": site.currency,
            "cost_year": rnd(spread),
            "cost_year_shifted": rnd(shifted),
            "shift_change": rnd(shifted - spread),
            "shift_change_pct": pct(shifted - spread, spread),
        }
    return out


def _plant_figures(plant: HallPlant, total: Load) -> Json:
    liq, air = plant.liquid, plant.air
    return {
        "it_capacity_kw": rnd(plant.it_power_kw),
        "it_headroom_kw": rnd(plant.it_power_kw - total.it_kw),
        "it_use_pct": pct(total.it_kw, plant.it_power_kw),
        "liquid": None
        if liq is None
        else {
            "cdus": liq.units,
            "cdu_kw": liq.unit_kw,
            "redundant": liq.redundant,
            "installed_kw": rnd(liq.installed_kw),
            "usable_kw": rnd(liq.usable_kw),
            "overhead": liq.overhead,
        },
        "liquid_headroom_kw": rnd((liq.usable_kw if liq else 0.0) - total.liquid_kw),
        "liquid_use_pct": pct(total.liquid_kw, liq.usable_kw) if liq else None,
        "air": None
        if air is None
        else {
            "kind": air.kind,
            "units": air.units,
            "unit_kw": air.unit_kw,
            "redundant": air.redundant,
            "installed_kw": rnd(air.installed_kw),
            "usable_kw": rnd(air.usable_kw),
            "overhead": air.overhead,
        },
        "air_headroom_kw": rnd((air.usable_kw if air else 0.0) - total.air_kw),
        "air_use_pct": pct(total.air_kw, air.usable_kw) if air else None,
    }


def _sum(rows: list[Json]) -> Json:
    """The total of some phase or hall rows: sums, and PUE of the sums."""
    keys = ("it_kw", "it_max_kw", "liquid_kw", "air_kw", "facility_kw")
    out: Json = {k: rnd(sum(float(r[k]) for r in rows)) for k in keys}
    it = float(out["it_kw"])
    out["pue"] = rnd(float(out["facility_kw"]) / it, 3) if it else None
    for k in ("liquid_overhead_kw", "air_overhead_kw", "it_mwh_year", "facility_mwh_year"):
        if rows and all(r.get(k) is not None for r in rows):
            out[k] = rnd(sum(float(r[k]) for r in rows))
    currencies = {r.get("currency") for r in rows}
    if rows and len(currencies) == 1 and None not in currencies:
        out["currency"] = rows[0]["currency"]
        for k in ("cost_year", "cost_year_shifted", "shift_change"):
            out[k] = rnd(sum(float(r[k]) for r in rows))
        out["shift_change_pct"] = pct(float(out["shift_change"]), float(out["cost_year"]))
    return out


def facility(d: Derived, sc: Scope | None = None) -> Json:
    """The facility section of a plan: per hall (all its phases: what its plant carries), per
    phase and hall (the phases in scope), and in total; `declared: false` without one."""
    fac = d.cluster.facility
    if fac is None:
        return {"declared": False}
    sc = in_scope(d, sc)
    names = {p.name for p in sc.phases}
    loads = hall_loads(d.cluster)
    halls: list[Json] = []
    phase_rows: list[Json] = []
    # every hall with a plant (one with racks has one, FAC-HALL-PLANT): a plan of the whole
    # cluster shows the empty ones too, a phase's only those it stands in
    for hall, plant in fac.halls.items():
        per = loads.get(hall, {})
        if not names & set(per) and (sc.phase is not None or per):
            continue
        total = hall_total(per)
        figures = power(plant, total)
        site = fac.sites.get(plant.site) if plant.site else None
        halls.append(
            {
                "hall": hall,
                "site": plant.site,
                "phases": list(per),
                "racks": total.racks,
                **figures,
                **_plant_figures(plant, total),
                **energy(fac, plant, total.it_kw, float(figures["facility_kw"])),
            }
        )
        for ph in sc.phases:
            load = per.get(ph.name)
            if load is None:
                continue
            f = power(plant, load)
            phase_rows.append(
                {
                    "phase": ph.name,
                    "hall": hall,
                    "site": site.name if site else None,
                    "racks": load.racks,
                    **f,
                    **energy(fac, plant, load.it_kw, float(f["facility_kw"])),
                }
            )
    order = {p.name: i for i, p in enumerate(sc.phases)}
    phase_rows.sort(key=lambda r: order[r["phase"]])  # stable: halls in order within a phase
    return {
        "declared": True,
        "utilisation": fac.utilisation,
        "hours_per_year": HOURS_PER_YEAR,
        "basis": BASIS,
        "halls": halls,
        "phases": phase_rows,
        "total": _sum(phase_rows),
        "tariffs": [_tariff(s) for s in fac.sites.values()],
    }


def _tariff(s: Site) -> Json:
    return {
        "site": s.name,
        "currency": s.currency,
        "bands": [
            {
                "band": b.name,
                "price_per_kwh": b.price_per_kwh,
                "hours": rnd(b.hours),
                "spans": [
                    f"{a // 60:02d}:{a % 60:02d}-{e // 60:02d}:{e % 60:02d}" for a, e in b.spans
                ],
            }
            for b in s.bands
        ],
    }
