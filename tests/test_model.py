"""The expanded model: stable names, numbering and placement across phases."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import LAB, ROOT, cluster_text
from hypothesis import given, settings
from hypothesis import strategies as st

from wanka.findings import Finding
from wanka.language.loader import load_text
from wanka.model.build import build
from wanka.model.types import Cluster
from wanka.pipeline import check


def model(text: str) -> Cluster:
    from wanka.language import schema

    doc = load_text(text, "gen.yaml")
    assert not schema.validate(doc)
    cluster, findings = build(doc, ["gen.yaml"])
    assert not findings, findings
    return cluster


def facts(c: Cluster, phase: str) -> list[tuple[object, ...]]:
    """Everything derived about one phase's things, in order."""
    out: list[tuple[object, ...]] = []
    for r in c.racks:
        if r.pod.phase.name == phase:
            out.append((r.name, r.pod.row, r.position))
    for n in c.nodes:
        if n.pod.phase.name == phase:
            out.append((n.name, n.unit, n.supernode))
    for s in c.switches:
        if s.pod.phase.name == phase:
            out.append((s.name, s.asn, s.rails, s.unit))
    return out


@settings(max_examples=25, deadline=None)
@given(p1=st.integers(1, 4), p2=st.integers(1, 4), p3=st.integers(0, 3))
def test_later_phases_never_change_earlier_ones(p1: int, p2: int, p3: int) -> None:
    alone = model(cluster_text([p1]))
    later = model(cluster_text([p1, p2, p3]))
    assert facts(alone, "p1") == facts(later, "p1")
    two = model(cluster_text([p1, p2]))
    assert facts(two, "p2") == facts(later, "p2")


@settings(max_examples=15, deadline=None)
@given(p1=st.integers(1, 3), p2=st.integers(1, 3))
def test_a_pod_added_to_the_last_phase_changes_nothing_else(p1: int, p2: int) -> None:
    before = model(cluster_text([p1, p2]))
    after = model(cluster_text([p1, p2 + 1]))
    assert facts(before, "p1") == facts(after, "p1")
    assert set(facts(before, "p2")) < set(facts(after, "p2"))


@settings(max_examples=15, deadline=None)
@given(pods=st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_derived_names_are_unique_and_well_formed(pods: list[int]) -> None:
    c = model(cluster_text([max(pods[0], 1), *pods[1:]]))
    names = [x.name for x in (*c.racks, *c.nodes, *c.switches)]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z][a-z0-9-]*", name) and len(name) <= 63
    asns = [s.asn for s in c.switches if s.tier == "leaf" and s.asn is not None]
    assert len(asns) == len(set(asns))


def test_reference_cluster_names_read_like_the_data_hall() -> None:
    r = check(str(ROOT / "examples/shenzhen-14000p/cluster.yaml"))
    c = r.cluster
    assert c is not None
    node = next(n for n in c.nodes if n.name == "sz1-p1-pod03-r07-s02")
    assert (node.pod.name, node.rack.name, node.unit, node.pod.row) == (
        "sz1-p1-pod03",
        "sz1-p1-pod03-r07",
        5,
        "A03",
    )
    assert node.supernode == 0 and node.excluded
    leaf = next(s for s in c.switches if s.name == "sz1-p1-pod01-param-leaf03")
    assert leaf.rails == (2,)
    # RFC 7938: spines of one rail group share an ASN, every leaf has its own
    spines = [s for s in c.switches if s.plane.name == "param" and s.tier == "spine"]
    assert len({s.asn for s in spines}) == 8
    assert len(spines) == 192
    cards = sum(n.model.cards for n in c.nodes)
    assert cards == 19_200


# ---- findings that stand for many things -----------------------------------------------------


LAB_32X400G = LAB[
    LAB.index("      lab-32x400g:\n") + len("      lab-32x400g:\n") : LAB.index(
        "      lab-32x400g-sonic:"
    )
]


def findings(text: str, tmp_path: Path) -> list[Finding]:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return check(str(path)).findings


def of(found: list[Finding], rule: str) -> list[Finding]:
    return [f for f in found if f.rule == rule]


def test_a_block_overflow_folds_the_duplicates_it_causes(tmp_path: Path) -> None:
    # 20 ASNs a phase: p1 needs 41 (spines + 40 leaves), p2 and p3 need 40 each
    text = cluster_text([40, 40, 40]).replace("asns_per_phase: 1000", "asns_per_phase: 20")
    found = findings(text, tmp_path)
    assert of(found, "BGP-ASN-DUPLICATE") == []
    blocks = {f.message.split("'")[1]: f.message for f in of(found, "BGP-ASN-BLOCK")}
    assert sorted(blocks) == ["p1", "p2", "p3"]
    assert "21 ASNs spill into the next phase's block and 21 collide there" in blocks["p1"]
    assert "(21 follow-on BGP-ASN-DUPLICATE folded)" in blocks["p1"]
    assert "(20 follow-on BGP-ASN-DUPLICATE folded)" in blocks["p2"]
    # the last phase spills into a block no phase uses yet: nothing collides
    assert blocks["p3"].endswith("20 ASNs spill into the next phase's block")


def test_a_genuine_duplicate_is_reported_next_to_an_overflow(tmp_path: Path) -> None:
    text = cluster_text([4, 4]).replace("asns_per_phase: 1000", "asns_per_phase: 3")
    text += "  manifest:\n    switches:\n"
    text += '      lab-p2-pod04-param-leaf01: {serial: "X1", asn: 4200000000}\n'
    found = findings(text, tmp_path)
    dup = of(found, "BGP-ASN-DUPLICATE")
    assert [f.message for f in dup] == [
        "ASN 4200000000 of lab-p2-pod04-param-leaf01 is also used by lab-p1-core-param-spine01"
    ]
    assert dup[0].mark is not None and dup[0].mark.line == text.count("\n")  # at the pin
    (p1,) = [f for f in of(found, "BGP-ASN-BLOCK") if "'p1'" in f.message]
    assert "2 ASNs spill into the next phase's block and 2 collide there" in p1.message


def test_one_rack_finding_names_the_racks_it_stands_for(tmp_path: Path) -> None:
    text = cluster_text([40, 40]).replace("power_kw: 60", "power_kw: 6")
    (power,) = of(findings(text, tmp_path), "RACK-POWER")
    assert power.message == (
        "racks 'lab-p1-pod01-r01', 'lab-p1-pod01-r02', 'lab-p1-pod02-r01' (and 157 more) "
        "draw 9.0 kW nominal each, their feed is 6 kW"
    )


def test_a_lone_rack_is_named_alone(tmp_path: Path) -> None:
    text = cluster_text([1]).replace("power_kw: 60", "power_kw: 6")
    text = text.replace("          count: 2\n", "")  # one compute rack in the pod
    (power,) = of(findings(text, tmp_path), "RACK-POWER")
    assert power.message == "rack 'lab-p1-pod01-r01' draws 9.0 kW nominal, its feed is 6 kW"


def test_pods_with_no_room_are_named_as_instances_once_per_placement(tmp_path: Path) -> None:
    # 3 rows of 10: the spines take 1 position, 9 pods of 3 racks fit, 31 of p1 and 40 of p2 not
    full = of(findings(cluster_text([40, 40], rows=3), tmp_path), "LAYOUT-ROW-FULL")
    assert [f.message for f in full] == [
        "pods of type lab-pod 'lab-p1-pod10', 'lab-p1-pod11', 'lab-p1-pod12' (and 28 more) "
        "need 3 adjacent rack positions each; the most free in row 'A' is 1",
        "pods of type lab-pod 'lab-p2-pod01', 'lab-p2-pod02', 'lab-p2-pod03' (and 37 more) "
        "need 3 adjacent rack positions each; the most free in row 'A' is 1",
    ]


def test_an_unknown_switch_model_is_one_finding_not_one_per_pod(tmp_path: Path) -> None:
    text = cluster_text([40, 40]).replace(
        "spine: {model: lab-32x400g-sonic}", "spine: {model: lab-32x400x}"
    )
    found = findings(text, tmp_path)
    assert [(f.rule, f.message) for f in found] == [
        ("REF-UNRESOLVED", "unknown switch model 'lab-32x400x'")
    ]


def test_pins_outside_a_plane_too_small_are_counted_in_its_finding(tmp_path: Path) -> None:
    # 20 pods need 20 oob subnets of 8 (a /24); the plane is a /26, and every BMC is pinned
    text = cluster_text([20]).replace("cidr: 10.99.0.0/20", "cidr: 10.99.0.0/26")
    text += "  manifest:\n    nodes:\n"
    for pod in range(1, 21):
        for i, (r, s) in enumerate([(1, 1), (1, 2), (2, 1), (2, 2)]):
            ip = f"10.99.0.{8 * (pod - 1) + 2 + i}" if (pod, i) != (20, 3) else "10.98.0.2"
            mac = f"02:00:00:{pod:02x}:{r:02x}:{s:02x}"
            text += f'      lab-p1-pod{pod:02d}-r{r:02d}-s{s:02d}: {{serial: "S{pod}-{i}", '
            text += f'bmc: {{mac: "{mac}", address: {ip}}}}}\n'
    found = findings(text, tmp_path)
    (size,) = of(found, "NET-CIDR-SIZE")
    # pods 9 to 20 are past the /26: 48 pins, 47 of them inside the /24 the plane needs
    assert size.message == (
        "plane 'oob' 10.99.0.0/26 needs 160 addresses (20 pod subnets), it has 64 "
        "(47 follow-on NET-PIN-OUTSIDE folded: pins outside it, inside 10.99.0.0/24)"
    )
    # a pin outside even the range the plane needs is a mistake of its own
    assert [f.message for f in of(found, "NET-PIN-OUTSIDE")] == [
        "pinned address 10.98.0.2 (BMC of lab-p1-pod20-r02-s02) is outside plane 'oob' 10.99.0.0/26"
    ]


def test_loopbacks_pinned_outside_a_range_too_small_are_counted(tmp_path: Path) -> None:
    text = cluster_text([1]).replace("loopbacks: 10.255.0.0/24", "loopbacks: 10.255.0.0/31")
    text += "  manifest:\n    switches:\n"
    text += '      lab-p1-pod01-param-leaf01: {serial: "L1", loopback: 10.255.0.3}\n'
    found = findings(text, tmp_path)
    assert of(found, "NET-PIN-OUTSIDE") == []
    (size,) = of(found, "NET-CIDR-SIZE")
    assert size.message == (
        "loopbacks 10.255.0.0/31 has 2 addresses for 3 routed switches "
        "(1 follow-on NET-PIN-OUTSIDE folded: pins outside it, inside 10.255.0.0/30)"
    )


def test_one_switch_finding_names_the_first_others_like_it(tmp_path: Path) -> None:
    text = cluster_text([40]).replace("uplinks: 4,", "uplinks: 18,")
    ports = [f.message for f in of(findings(text, tmp_path), "PORT-CAPACITY")]
    assert (
        "leaf 'lab-p1-pod01-param-leaf01' needs 34 ports (16 to nodes, 18 up), it has 32 "
        "(and 39 more like it: 'lab-p1-pod02-param-leaf01', 'lab-p1-pod03-param-leaf01', "
        "'lab-p1-pod04-param-leaf01', ...)"
    ) in ports


def test_net_mtu_names_the_tightest_switch_model(tmp_path: Path) -> None:
    # the spines forward smaller frames than the leaves: the hint must fit both
    small = "      lab-32x400s:\n" + LAB_32X400G.replace("max_frame: 9216", "max_frame: 9100")
    text = cluster_text([1]).replace(
        "    switches:\n      lab-32x400g:\n", "    switches:\n" + small + "      lab-32x400g:\n", 1
    )
    text = text.replace("spine: {model: lab-32x400g-sonic}", "spine: {model: lab-32x400s}")
    text = text.replace("mtu: 9000", "mtu: 9200")
    (mtu,) = of(findings(text, tmp_path), "NET-MTU")
    assert mtu.message == (
        "plane 'param' MTU 9200 needs 9218-byte frames; switch model lab-32x400s forwards at "
        "most 9100, lab-32x400g 9216"
    )
    assert mtu.hint == "set mtu to at most 9082"


def test_public_asns_name_the_switches(tmp_path: Path) -> None:
    # spines 65532, leaves of pods 1-6 65533-65538: those of pods 3-6 are public
    text = cluster_text([6]).replace("asn_base: 4200000000", "asn_base: 65532")
    (public,) = of(findings(text, tmp_path), "BGP-ASN-PRIVATE")
    assert public.message == (
        "4 switches get public ASNs (65535-65538): 'lab-p1-pod03-param-leaf01', "
        "'lab-p1-pod04-param-leaf01', 'lab-p1-pod05-param-leaf01' (and 1 more)"
    )


def test_pods_whose_names_are_taken_are_one_finding_per_placement(tmp_path: Path) -> None:
    line = "        - {name: pod, type: lab-pod, count: 5, hall: lab, row: A}\n"
    text = cluster_text([5])
    text = text.replace(line, line + line.replace("count: 5", "count: 4"))
    (dup,) = of(findings(text, tmp_path), "NAME-UNIQUE")
    first = text[: text.index(line)].count("\n") + 1
    assert dup.message == (
        "pods 'lab-p1-pod01', 'lab-p1-pod02', 'lab-p1-pod03' (and 1 more) are also defined at "
        f"{tmp_path / 'c.yaml'}:{first}:18"
    )
