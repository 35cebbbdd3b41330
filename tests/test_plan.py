"""`wanka plan`: capacity, power, bill of materials and address plan, checked against figures
recomputed here from the model (not against the plan's own arithmetic)."""

from __future__ import annotations

import dataclasses
import io
import json
import time
from collections import Counter

import pytest
from conftest import ROOT

from wanka.derive.bundle import Derived
from wanka.derive.cabling import Cabling
from wanka.model.types import Node, UnknownPhase, breakout_lanes
from wanka.pipeline import check, derive
from wanka.review.bom import OPTICS, bom, optic_name
from wanka.review.plan import build_plan, write_text

LAB = ROOT / "examples/lab-mini/cluster.yaml"
SZ = ROOT / "examples/shenzhen-14000p/cluster.yaml"
FIBRE = ("MMF", "SMF")


def _derive(path: object) -> Derived:
    result = check(str(path))
    assert not result.errors, [f.message for f in result.errors]
    return derive(result)


@pytest.fixture(scope="module")
def sz() -> Derived:
    return _derive(SZ)


@pytest.fixture(scope="module")
def lab() -> Derived:
    return _derive(LAB)


@pytest.fixture(scope="module", params=["lab", "sz"])
def ex(request: pytest.FixtureRequest) -> Derived:
    d: Derived = request.getfixturevalue(request.param)
    return d


def _pflops(d: Derived, phase: str | None = None) -> float:
    c = d.cluster
    return (
        sum(
            n.model.cards * n.model.accelerator.tflops[c.precision]
            for n in c.nodes
            if n.model.accelerator is not None and phase in (None, n.pod.phase.name)
        )
        / 1000
    )


# ---- phases and totals ---------------------------------------------------------------------


def test_phases_have_names(ex: Derived) -> None:
    plan = build_plan(ex)
    assert [p["name"] for p in plan["phases"]] == ["p1", "p2"]
    assert [p["name"] for p in plan["phases"]] == [p.name for p in ex.cluster.phases]
    assert plan["phase"] is None
    for p, ph in zip(plan["phases"], ex.cluster.phases, strict=True):
        assert p["status"] == ph.status
        assert p["target_pflops"] == ph.target_pflops


def test_achieved_pflops_is_cards_times_tflops(ex: Derived) -> None:
    plan = build_plan(ex)
    c = ex.cluster
    for p in plan["phases"]:
        want = _pflops(ex, p["name"])
        assert p["achieved_pflops"] == pytest.approx(want, abs=1e-3)
        assert p["margin_pflops"] == pytest.approx(want - p["target_pflops"], abs=1e-3)
        assert p["meets_target"] is (want >= p["target_pflops"])
        nodes = [n for n in c.nodes if n.pod.phase.name == p["name"]]
        assert p["cards"] == sum(n.model.cards for n in nodes)
        assert p["servers"] == sum(1 for n in nodes if n.model.role == "server")
        assert p["rack_count"] == sum(1 for r in c.racks if r.pod.phase.name == p["name"])
    assert plan["cluster"]["totals"]["achieved_pflops"] == pytest.approx(_pflops(ex), abs=1e-3)
    assert plan["cluster"]["precision"] == c.precision


def test_shenzhen_totals(sz: Derived) -> None:
    plan = build_plan(sz)
    c = sz.cluster
    tot = plan["cluster"]["totals"]
    cards = sum(n.model.cards for n in c.nodes)
    spines = [s for s in c.switches if s.plane.name == "param" and s.tier == "spine"]
    assert tot["cards"] == cards == 19_200  # the example's own figures
    assert tot["dies"] == 2 * cards
    assert tot["achieved_pflops"] >= 14_000
    fabric = {(r["plane"], r["tier"]): r for r in plan["fabric"]["planes"]}
    assert fabric[("param", "spine")]["switches"] == len(spines) == 192
    p1 = plan["phases"][0]
    assert {"plane": "param", "tier": "spine", "count": len(spines)} in p1["switches"]
    # the one node out for repair is still built: it counts, but not as available
    excluded = [n for n in c.nodes if n.excluded]
    assert [e["node"] for e in p1["excluded"]] == [n.name for n in excluded]
    lost = sum(_pflops_of(n, c.precision) for n in excluded)
    assert p1["available_pflops"] == pytest.approx(p1["achieved_pflops"] - lost, abs=1e-3)
    # storage: the storage nodes' drives used for storage
    raw_gb = sum(
        dr.count * dr.capacity_gb
        for n in c.nodes
        if n.model.role == "storage"
        for dr in n.model.drives
        if dr.use == "storage"
    )
    assert plan["capacity"]["storage"]["raw_tb"] == pytest.approx(raw_gb / 1000, abs=1e-3)


def _pflops_of(n: Node, precision: str) -> float:
    acc = n.model.accelerator
    return n.model.cards * acc.tflops[precision] / 1000 if acc else 0.0


# ---- bill of materials ----------------------------------------------------------------------


def test_bom_counts_physical_cables(ex: Derived) -> None:
    b = build_plan(ex)["bom"]
    cables = ex.cabling.cables
    ids = {c.id for c in cables}
    assert b["totals"]["cables"] == len(ids) == sum(r["count"] for r in b["cables"])
    assert b["totals"]["cable_lanes"] == len(cables)
    assert len(ids) < len(cables)  # both examples break leaf ports out to the NPUs
    c = ex.cluster
    assert {r["model"]: r["count"] for r in b["nodes"]} == Counter(n.model.key for n in c.nodes)
    assert {r["model"]: r["count"] for r in b["switches"]} == Counter(
        s.model.key for s in c.switches
    )
    assert {r["type"]: r["count"] for r in b["racks"]} == Counter(r.type.key for r in c.racks)


def test_optics_two_per_fibre_cable(ex: Derived) -> None:
    b = build_plan(ex)["bom"]
    fibre = {c.id for c in ex.cabling.cables if c.media in FIBRE}
    assert not any(c.breakout for c in ex.cabling.cables if c.media in FIBRE)
    assert b["totals"]["optics"] == 2 * len(fibre) == sum(r["count"] for r in b["optics"])
    for r in b["optics"]:
        assert r["optic"] in OPTICS.values()


def test_optics_of_breakout_fibre(lab: Derived) -> None:
    """A fibre breakout: one optic at the switch port's speed, one per lane on the nodes."""
    cables = [dataclasses.replace(c, media="MMF") if c.breakout else c for c in lab.cabling.cables]
    d = dataclasses.replace(lab, cabling=Cabling(cables))
    optics = {r["optic"]: r["count"] for r in bom(d)["optics"]}
    broken = {c.id: c for c in cables if c.breakout}
    lanes, lane_speed = breakout_lanes(next(iter(broken.values())).breakout or "")
    port = optic_name(lanes * lane_speed, "MMF")
    lane = optic_name(lane_speed, "MMF")
    assert (port, lane) == ("400G SR4", "200G SR4")
    assert optics == {port: len(broken), lane: sum(1 for c in cables if c.breakout)}


def test_optic_names() -> None:
    assert optic_name(800, "MMF") == "800G SR8"
    assert optic_name(800, "SMF") == "800G DR8"
    assert optic_name(400, "SMF") == "400G DR4"
    assert optic_name(200, "SMF") == "200G FR4"
    assert optic_name(1600, "SMF") == "1600G LR"  # not in the table: named by speed and reach


# ---- power and cooling ------------------------------------------------------------------------


def test_rack_power_within_feed(ex: Derived) -> None:
    plan = build_plan(ex)
    racks = {r["name"]: r for r in plan["racks"]}
    assert list(racks) == [r.name for r in ex.cluster.racks]
    for rack in ex.cluster.racks:
        r = racks[rack.name]
        watts = sum(n.model.power_nominal_w for n in rack.nodes) + sum(
            s.model.power_nominal_w for s in rack.switches
        )
        assert r["nominal_kw"] == pytest.approx(watts / 1000, abs=0.01)
        assert r["nominal_kw"] <= r["feed_kw"] == rack.type.power_kw  # the example is valid
        assert r["headroom_kw"] >= 0
        assert r["liquid_kw"] <= r["liquid_capacity_kw"]
        assert r["air_kw"] <= r["air_capacity_kw"]
    power = plan["capacity"]["power"]
    total = sum(r["nominal_kw"] for r in plan["racks"])
    assert power["total"]["it_nominal_kw"] == pytest.approx(total, abs=0.1)
    assert power["pue_it_kw"] == power["total"]["it_nominal_kw"]
    assert sum(p["it_nominal_kw"] for p in power["phases"]) == pytest.approx(total, abs=0.1)
    summary = plan["capacity"]["racks"]
    assert sum(t["racks"] for t in summary["by_type"]) == len(racks)
    least = min(r["headroom_pct"] for r in plan["racks"])
    assert summary["tightest"][0]["headroom_pct"] == least
    assert sum(t["like"] for t in summary["tightest"]) <= len(racks)


def test_oversubscription_within_limits(ex: Derived) -> None:
    loads = ex.topology.loads
    for row in build_plan(ex)["fabric"]["planes"]:
        sws = [
            s for s in ex.cluster.switches if (s.plane.name, s.tier) == (row["plane"], row["tier"])
        ]
        assert row["switches"] == len(sws)
        ratios = [loads[s.name].down_bw / loads[s.name].up_bw for s in sws if loads[s.name].up_bw]
        if not ratios:
            assert row["oversubscription_max"] is None
            continue
        assert row["oversubscription_min"] == pytest.approx(min(ratios), abs=1e-3)
        assert row["oversubscription_max"] == pytest.approx(max(ratios), abs=1e-3)
        assert row["oversubscription_max"] <= row["max_oversubscription"]


def test_addresses_per_plane(ex: Derived) -> None:
    a = ex.addressing
    rows = {r["plane"]: r for r in build_plan(ex)["addresses"]}
    per_plane = Counter(k[1] for k in a.ports) + Counter(k[1] for k in a.bonds)
    oob = next(p.name for p in ex.cluster.planes.values() if p.role == "oob")
    per_plane[oob] += len(a.bmcs)
    for name, row in rows.items():
        subnets = [s for s in a.subnets if s.plane == name]
        assert row["subnets"] == len(subnets) == len(row["networks"])
        assert row["hosts"] == per_plane[name]
        assert row["used"] == per_plane[name] + len(subnets)
        assert row["allocated"] == sum(s.network.num_addresses for s in subnets)
        assert 0 < row["use_pct"] <= 100


# ---- one phase ----------------------------------------------------------------------------


def test_phase_restricts(ex: Derived) -> None:
    plan = build_plan(ex, "p1")
    c = ex.cluster
    assert plan["phase"] == "p1"
    assert [p["name"] for p in plan["phases"]] == ["p1"]
    p1_nodes = {n.name for n in c.nodes if n.pod.phase.name == "p1"}
    p1_switches = {s.name for s in c.switches if s.pod.phase.name == "p1"}
    p2_racks = {r.name for r in c.racks if r.pod.phase.name == "p2"}
    assert p2_racks
    assert {r["name"] for r in plan["racks"]} == {
        r.name for r in c.racks if r.pod.phase.name == "p1"
    }
    assert not p2_racks & {r["name"] for r in plan["racks"]}
    assert plan["bom"]["totals"]["nodes"] == len(p1_nodes)
    assert plan["bom"]["totals"]["switches"] == len(p1_switches)
    mine = p1_nodes | p1_switches
    with_p1_end = [cb for cb in ex.cabling.cables if cb.a.device in mine or cb.b.device in mine]
    assert plan["bom"]["totals"]["cable_lanes"] == len(with_p1_end) < len(ex.cabling.cables)
    assert plan["bom"]["totals"]["cables"] == len({cb.id for cb in with_p1_end})
    p1_pods = {p.name for p in c.pods if p.phase.name == "p1"}
    for row in plan["addresses"]:
        assert all(n["owner"] in mine | p1_pods for n in row["networks"])
    assert plan["cluster"]["totals"]["cards"] == sum(
        n.model.cards for n in c.nodes if n.name in p1_nodes
    )
    assert [a["phase"] for a in plan["fabric"]["asns"]] == ["p1"]


def test_unknown_phase(lab: Derived) -> None:
    """The plan and the rendered files look phases up through the one lookup."""
    from wanka.render.files import files

    with pytest.raises(UnknownPhase, match=r"^unknown phase 'p9' \(phases: p1, p2\)$"):
        build_plan(lab, "p9")
    with pytest.raises(UnknownPhase, match=r"^unknown phase 'p9' \(phases: p1, p2\)$"):
        next(files(lab, "p9"))
    assert issubclass(UnknownPhase, ValueError)


# ---- determinism and output -------------------------------------------------------------------


@pytest.mark.parametrize("phase", [None, "p2"])
def test_json_and_deterministic(ex: Derived, phase: str | None) -> None:
    first = json.dumps(build_plan(ex, phase), sort_keys=True, allow_nan=False)
    second = json.dumps(build_plan(ex, phase), sort_keys=True, allow_nan=False)
    assert first == second
    assert json.loads(first)["phases"][0]["name"] == (phase or "p1")


def test_build_plan_is_fast(sz: Derived) -> None:
    start = time.perf_counter()
    build_plan(sz)
    assert time.perf_counter() - start < 3  # about 0.3 s on a 2-core CI machine


def test_write_text(ex: Derived) -> None:
    out = io.StringIO()
    write_text(build_plan(ex), out, color=False)
    text = out.getvalue()
    assert "\x1b" not in text
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Capacity per phase"))
    table = lines[start : start + 6]
    assert any(line.split()[:1] == ["p1"] for line in table)
    assert any(line.split()[:1] == ["p2"] for line in table)
    for title in ("Bill of materials", "Fabric", "Rack power and cooling", "Address plan"):
        assert any(line.startswith(title) for line in lines), title
    assert all(line == line.rstrip() for line in lines)
    coloured = io.StringIO()
    write_text(build_plan(ex), coloured, color=True)
    assert "\x1b[" in coloured.getvalue()
