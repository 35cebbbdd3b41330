"""The facility (spec.facility): IT power, facility power, PUE, heat against the plant, yearly
energy and cost under a three-band tariff, checked against figures worked out by hand for a
small cluster (lab-mini in one hall), then the plan, the diff and the Shenzhen example.

lab-mini, by hand (catalog: a2-kunpeng 4,500 W nominal, 70 % into liquid; switches all into
air: param spine and leaf 650 W, mgmt leaf 150 W, oob leaf 60 W):

    p1: 4 servers 18.0 kW + 2 spines 1.3 + leaf 0.65 + mgmt 0.15 + oob 0.06 = 20.16 kW IT
        liquid 18.0 x 0.7 = 12.6 kW, air 18.0 x 0.3 + 2.16 = 7.56 kW
    p2: 4 servers 18.0 + leaf 0.65 + mgmt 0.15 + oob 0.06 = 18.86 kW IT
        liquid 12.6 kW, air 5.4 + 0.86 = 6.26 kW

With overheads 0.1 (liquid) and 0.5 (air):

    p1 facility = 20.16 + 12.6 x 0.1 + 7.56 x 0.5 = 20.16 + 1.26 + 3.78 = 25.20 kW, PUE 1.25
    p2 facility = 18.86 + 1.26 + 3.13 = 23.25 kW, PUE 23.25 / 18.86 = 1.233
    hall        = 48.45 kW for 39.02 kW IT, PUE 1.242

At 75 % utilisation (18 busy hours a day) and peak 1.00 (8 h), flat 0.60 (8 h), valley 0.20
(8 h) CNY/kWh, the day's mean price is (8 + 4.8 + 1.6) / 24 = 0.60:

    p1 IT energy   20.16 x 8,760 x 0.75 = 132,451.2 kWh = 132.45 MWh
    p1 facility    25.20 x 8,760 x 0.75 = 165,564 kWh   = 165.56 MWh
    p1 cost        165,564 x 0.60 = 99,338.40 CNY
    p1 shifted     25.20 kW x (8 h x 0.20 + 8 h x 0.60 + 2 h x 1.00) x 365 = 25.2 x 8.4 x 365
                   = 77,263.20 CNY (-22,075.20, -22.2 %)
    p2 cost        23.25 x 8,760 x 0.75 x 0.60 = 91,651.50
    p2 shifted     23.25 x 8.4 x 365 = 195.3 x 365 = 71,284.50
    total          190,989.90; shifted 148,547.70

The plant: IT 45 kW (headroom 45 - 39.02 = 5.98); 3 CDUs of 15 kW, 1 redundant: 30 usable
(45 installed), liquid heat 25.2 (headroom 4.8, 84 %); 2 CRAHs of 20 kW, 1 redundant: 20
usable, air heat 13.82 (headroom 6.18, 69.1 %).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_wanka

from wanka.derive.bundle import Derived
from wanka.findings import Mark
from wanka.model.facility import Band, Site
from wanka.pipeline import check, derive
from wanka.review import facility as fac
from wanka.review import svg
from wanka.review.capacity import scope as build_plan_scope
from wanka.review.plan import build_plan, write_text
from wanka.rules.facility import coverage

LAB = ROOT / "examples/lab-mini/cluster.yaml"
SZ = ROOT / "examples/shenzhen-14000p/cluster.yaml"
MEASURED = ROOT / "tests/examples/positive/lab-facility.yaml"

FACILITY = """  facility:
    utilisation: 0.75
    sites:
      lab:
        currency: CNY
        bands:
          peak: {price_per_kwh: 1.0, hours: ["08:00-12:00", "17:00-21:00"]}
          flat: {price_per_kwh: 0.6, hours: ["12:00-17:00", "21:00-24:00"]}
          valley: {price_per_kwh: 0.2, hours: ["00:00-08:00"]}
    halls:
      lab:
        it_power_kw: 45
        liquid: {cdus: 3, cdu_kw: 15, redundant: 1, overhead: 0.1}
        air: {units: 2, unit_kw: 20, redundant: 1, overhead: 0.5}

"""


def small(tmp_path: Path, facility: str = FACILITY) -> Path:
    """lab-mini with a facility block (before its phases)."""
    text = LAB.read_text(encoding="utf-8")
    text = text.replace("  phases:\n    - name: p1", facility + "  phases:\n    - name: p1", 1)
    path = tmp_path / "cluster.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _derive(path: Path) -> Derived:
    result = check(str(path))
    assert not result.errors, [str(f) for f in result.errors]
    return derive(result)


@pytest.fixture(scope="module")
def lab_fac(tmp_path_factory: pytest.TempPathFactory) -> Derived:
    return _derive(small(tmp_path_factory.mktemp("fac")))


def test_hand_computed_power_pue_energy_and_cost(lab_fac: Derived) -> None:
    f = fac.facility(lab_fac)
    assert f["declared"] is True and f["utilisation"] == 0.75
    p1, p2 = f["phases"]
    assert (p1["phase"], p1["hall"], p2["phase"]) == ("p1", "lab", "p2")
    assert (p1["it_kw"], p1["liquid_kw"], p1["air_kw"]) == (20.16, 12.6, 7.56)
    assert (p1["liquid_overhead_kw"], p1["air_overhead_kw"]) == (1.26, 3.78)
    assert p1["facility_kw"] == 25.2 and p1["pue"] == 1.25 and p1["pue_basis"] == "plant model"
    assert (p2["it_kw"], p2["air_kw"], p2["facility_kw"], p2["pue"]) == (18.86, 6.26, 23.25, 1.233)
    assert (p1["it_mwh_year"], p1["facility_mwh_year"]) == (132.45, 165.56)
    assert p1["currency"] == "CNY"
    assert p1["cost_year"] == 99338.4
    assert p1["cost_year_shifted"] == 77263.2
    assert p1["shift_change"] == -22075.2 and p1["shift_change_pct"] == -22.2
    assert (p2["cost_year"], p2["cost_year_shifted"]) == (91651.5, 71284.5)
    t = f["total"]
    assert (t["it_kw"], t["facility_kw"], t["pue"]) == (39.02, 48.45, 1.242)
    assert (t["cost_year"], t["cost_year_shifted"]) == (190989.9, 148547.7)


def test_hand_computed_plant_headroom(lab_fac: Derived) -> None:
    (h,) = fac.facility(lab_fac)["halls"]
    assert h["hall"] == "lab" and h["phases"] == ["p1", "p2"] and h["racks"] == 7
    assert (h["it_capacity_kw"], h["it_headroom_kw"], h["it_use_pct"]) == (45.0, 5.98, 86.7)
    assert h["liquid"]["usable_kw"] == 30.0 and h["liquid"]["installed_kw"] == 45.0
    assert (h["liquid_headroom_kw"], h["liquid_use_pct"]) == (4.8, 84.0)
    assert h["air"]["usable_kw"] == 20.0 and h["air"]["kind"] == "crah"
    assert (h["air_headroom_kw"], h["air_use_pct"]) == (6.18, 69.1)
    assert (h["facility_kw"], h["pue"]) == (48.45, 1.242)


def test_phase_scope_keeps_the_whole_hall_against_its_plant(lab_fac: Derived) -> None:
    plan = build_plan(lab_fac, "p2")
    f = plan["capacity"]["facility"]
    assert [r["phase"] for r in f["phases"]] == ["p2"]
    assert f["total"]["facility_kw"] == 23.25
    # the hall carries both phases, whichever phase the plan is of
    assert f["halls"][0]["it_kw"] == 39.02 and f["halls"][0]["phases"] == ["p1", "p2"]


def test_measured_pue_is_used_and_the_model_shown_beside_it() -> None:
    (h,) = fac.facility(_derive(MEASURED))["halls"]
    assert h["pue_basis"] == "measured" and h["pue"] == 1.12
    assert h["facility_kw"] == round(39.02 * 1.12, 2)  # 43.70
    # 1 + (25.2 x 0.05 + 13.82 x 0.3) / 39.02 = 1 + (1.26 + 4.146) / 39.02
    assert h["model_pue"] == 1.139


def test_cost_shift_fills_the_cheapest_bands_first() -> None:
    at = Mark("tariff.yaml", 1, 1)
    site = Site(
        name="s",
        currency="CNY",
        bands=(
            Band(name="peak", price_per_kwh=1.0, spans=((600, 1200),), at=at),
            Band(name="valley", price_per_kwh=0.5, spans=((1200, 600),), at=at),
        ),
        at=at,
    )
    assert site.bands[1].hours == 14  # 20:00 to 10:00, past midnight
    assert coverage(site) == ([], [])
    spread, shifted = fac.cost(site, 10.0, 0.5)  # 12 busy hours: all in the valley
    assert spread == pytest.approx(10 * 0.5 * (10 * 1.0 + 14 * 0.5) * 365)
    assert shifted == pytest.approx(10 * 12 * 0.5 * 365)
    _, full = fac.cost(site, 10.0, 1.0)  # no idle hours: nothing to move
    assert full == pytest.approx(spread * 2)


def test_plan_text_and_json_say_it(tmp_path: Path) -> None:
    path = small(tmp_path)
    r = run_wanka("plan", str(path), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["capacity"]["facility"]["total"]["pue"] == 1.242
    r = run_wanka("plan", str(path))
    assert r.returncode == 0, r.stderr
    assert "facility power 48.5 kW for 39.0 kW IT, PUE 1.242" in r.stdout
    assert "training in the cheapest hours: 148,548 CNY (-22.2%)" in r.stdout
    assert "Halls: power and cooling plant" in r.stdout
    assert "25.2 / 30.0 (4.8 free, 84.0%) [3 x 15, N+1]" in r.stdout


def test_without_a_facility_the_plan_says_so() -> None:
    d = _derive(LAB)
    plan = build_plan(d)
    assert plan["capacity"]["facility"] == {"declared": False}
    out = io.StringIO()
    write_text(plan, out, color=False)
    assert "PUE = facility kW / 39.0 kW (no spec.facility)" in out.getvalue()
    assert "Halls: power and cooling plant" not in out.getvalue()


def test_diff_shows_facility_power_and_cost(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    old = small(tmp_path / "a")
    new = small(tmp_path / "b", FACILITY.replace("overhead: 0.5}", "overhead: 0.3}"))
    r = run_wanka("diff", str(old), str(new), "--format", "json")
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)["facility"]
    assert f["changed"] is True
    (h,) = f["halls"]
    # air overhead 0.5 -> 0.3: 13.82 x 0.2 = 2.764 kW less; 45.69 x 8,760 x 0.75 x 0.60 = 180,110
    assert h["facility_kw"] == {"old": 48.45, "new": 45.69}
    assert h["cost_year"]["old"] == 190989.9
    assert h["cost_year"]["new"] == pytest.approx(45.69 * 8760 * 0.75 * 0.6, abs=0.01)
    r = run_wanka("diff", str(old), str(new))
    assert "Facility per hall and phase" in r.stdout and "p2 in lab" in r.stdout
    (p1, p2) = f["phases"]
    assert (p1["phase"], p2["phase"]) == ("p1", "p2")
    # p1: 7.56 kW of air heat x 0.2 = 1.512 kW less: 25.20 -> 23.69
    assert p1["facility_kw"] == {"old": 25.2, "new": 23.69}
    assert "48.5 -> 45.7 (-3)" in r.stdout and "1.242 -> 1.171 (-0.071)" in r.stdout
    md = run_wanka("diff", str(old), str(new), "--format", "markdown").stdout
    assert "#### Facility per hall and phase" in md and "190,990 CNY -> 180,110 CNY (-10,880)" in md
    same = run_wanka("diff", str(old), str(old))
    assert "No changes." in same.stdout


def test_shenzhen_reaches_pue_1_08_from_its_plant() -> None:
    f = fac.facility(_derive(SZ))
    h1, h2 = f["halls"]
    assert (h1["hall"], h1["pue"], h2["hall"], h2["pue"]) == ("h1", 1.087, "h2", 1.079)
    assert f["total"]["pue"] == 1.081 and f["total"]["it_kw"] == 25003.02
    assert f["utilisation"] == 0.92
    # p1: 5,728.2 kW IT, 4,308.48 liquid x 0.05 + 1,419.72 air x 0.20
    assert h1["facility_kw"] == round(5728.2 + 4308.48 * 0.05 + 1419.72 * 0.2, 2)
    assert h2["liquid_headroom_kw"] > 0 and h2["air_headroom_kw"] > 0


def test_an_empty_hall_and_a_facility_without_tariff_or_utilisation(tmp_path: Path) -> None:
    """A hall with a plant and no racks yet is shown (all headroom) in the cluster's plan, not
    in a phase's; without utilisation and sites there is no energy or cost, and the plan says
    '-' for them rather than failing."""
    bare = """  facility:
    halls:
      lab:
        it_power_kw: 45
        liquid: {cdus: 3, cdu_kw: 15, redundant: 1, overhead: 0.1}
        air: {units: 2, unit_kw: 20, redundant: 1, overhead: 0.5}
      spare:
        it_power_kw: 100
        air: {units: 2, unit_kw: 20, redundant: 0, overhead: 0.4}

"""
    path = small(tmp_path, bare)
    text = path.read_text(encoding="utf-8").replace(
        "          - {name: A, positions: 10}\n",
        "          - {name: A, positions: 10}\n      - name: spare\n        rows:\n"
        "          - {name: A, positions: 10}\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    d = _derive(path)
    f = fac.facility(d)
    lab, spare = f["halls"]
    assert spare["hall"] == "spare" and spare["racks"] == 0 and spare["pue"] is None
    assert (spare["it_headroom_kw"], spare["air_headroom_kw"]) == (100.0, 40.0)
    assert lab["facility_kw"] == 48.45 and "cost_year" not in lab and "it_mwh_year" not in lab
    assert [h["hall"] for h in fac.facility(d, build_plan_scope(d, "p1"))["halls"]] == ["lab"]
    drawn = svg.facility(f["halls"])
    assert 'data-hall="spare"' in drawn
    assert drawn.count('data-no-plant="liquid"') == 1  # spare has no liquid loop, lab has one
    out = io.StringIO()
    write_text(build_plan(d), out, color=False)
    assert "facility power 48.5 kW for 39.0 kW IT, PUE 1.242\n" in out.getvalue().replace(
        " \n", "\n"
    )


def test_measured_pue_draws_one_overhead() -> None:
    halls = fac.facility(_derive(MEASURED))["halls"]
    drawn = svg.facility(halls)
    assert 'data-segment="overhead"' in drawn and 'data-segment="air-overhead"' not in drawn
    assert "PUE 1.120 measured" in drawn and "overhead (measured PUE)" in drawn


def test_the_benchmark_cluster_has_a_plant_per_hall(tmp_path: Path) -> None:
    out = tmp_path / "bench.yaml"
    gen = ROOT / "benchmarks/generate.py"
    r = subprocess.run(
        [sys.executable, str(gen), "--cards", "3000", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    d = _derive(out)
    f = fac.facility(d)
    assert d.cluster.facility is not None
    assert {h["hall"] for h in f["halls"]} == {p.hall for p in d.cluster.pods}
    for h in f["halls"]:  # sized to the racks' ratings: headroom everywhere
        assert h["it_headroom_kw"] > 0 and h["air_headroom_kw"] > 0
        assert h["liquid"] is None or h["liquid_headroom_kw"] > 0
    assert 1.05 < f["total"]["pue"] < 1.2 and f["total"]["currency"] == "CNY"
