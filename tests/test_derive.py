"""Derived addresses and cables: stable across phases, never given twice."""

from __future__ import annotations

import tempfile
from collections import Counter
from ipaddress import IPv4Address
from pathlib import Path

from conftest import ROOT, cluster_text
from hypothesis import given, settings
from hypothesis import strategies as st

from wanka.derive.bundle import Derived
from wanka.pipeline import check, derive


def derived(text: str) -> Derived:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster.yaml"
        path.write_text(text, encoding="utf-8")
        result = check(str(path))
    assert not result.errors, [str(f) for f in result.errors]
    d = derive(result)
    assert not d.findings
    return d


def phase_view(d: Derived, phase: str) -> dict[str, object]:
    """Everything derived for one phase's nodes and switches."""
    mine = {n.name for n in d.cluster.nodes if n.pod.phase.name == phase}
    mine |= {s.name for s in d.cluster.switches if s.pod.phase.name == phase}
    pods = {p.name for p in d.cluster.pods if p.phase.name == phase}
    a = d.addressing
    return {
        "names": sorted(mine),
        "ports": {k: v for k, v in a.ports.items() if k[0] in mine},
        "bonds": {k: v for k, v in a.bonds.items() if k[0] in mine},
        "bmcs": {k: v for k, v in a.bmcs.items() if k in mine},
        "loopbacks": {k: v for k, v in a.loopbacks.items() if k in mine},
        "subnets": [s for s in a.subnets if s.owner in mine or s.owner in pods],
        "cables": [c for c in d.cabling.cables if c.a.device in mine],
    }


def all_addresses(d: Derived) -> list[IPv4Address]:
    a = d.addressing
    return [
        *a.ports.values(),
        *a.bonds.values(),
        *a.bmcs.values(),
        *a.loopbacks.values(),
        *(s.gateway for s in a.subnets),
    ]


def assert_sound(d: Derived) -> None:
    addrs = all_addresses(d)
    assert len(addrs) == len(set(addrs)), "an address is given twice"
    ends = Counter()
    for c in d.cabling.cables:
        ends[(c.a.device, c.a.port)] += 1
        ends[(c.b.device, c.b.port)] += 1
    assert max(ends.values()) == 1, [e for e, n in ends.items() if n > 1][:3]
    subnets = sorted(d.addressing.subnets, key=lambda s: (s.plane, int(s.network.network_address)))
    for x, y in zip(subnets, subnets[1:], strict=False):
        assert x.plane != y.plane or not x.network.overlaps(y.network)
    for (node, _plane, _i), ip in d.addressing.ports.items():
        assert ip in d.addressing.port_subnet[(node, _plane, _i)].network


@settings(max_examples=20, deadline=None)
@given(p1=st.integers(1, 4), p2=st.integers(0, 4), p3=st.integers(0, 3))
def test_phase_one_is_identical_with_or_without_later_phases(p1: int, p2: int, p3: int) -> None:
    alone = derived(cluster_text([p1]))
    grown = derived(cluster_text([p1, p2, p3]))
    assert phase_view(alone, "p1") == phase_view(grown, "p1")
    assert_sound(grown)


@settings(max_examples=10, deadline=None)
@given(p1=st.integers(1, 3), p2=st.integers(1, 3))
def test_a_pod_added_to_the_last_phase_moves_nothing(p1: int, p2: int) -> None:
    before = derived(cluster_text([p1, p2]))
    after = derived(cluster_text([p1, p2 + 1]))
    assert phase_view(before, "p1") == phase_view(after, "p1")
    b2, a2 = phase_view(before, "p2"), phase_view(after, "p2")
    for key in ("ports", "bonds", "bmcs", "loopbacks"):
        assert b2[key].items() <= a2[key].items()  # type: ignore[union-attr]
    assert set(b2["cables"]) <= set(a2["cables"])  # type: ignore[arg-type]


def test_reference_cluster_is_sound() -> None:
    d = derive(check(str(ROOT / "examples/shenzhen-14000p/cluster.yaml")))
    assert_sound(d)
    # A3: 16 NPU devices (8 cards x 2 dies) per server on the parameter plane
    servers = [n for n in d.cluster.nodes if n.model.accelerator is not None]
    assert len(d.addressing.ports) == 16 * len(servers)
    # every node has one BMC address and one management address
    assert len(d.addressing.bmcs) == len(d.cluster.nodes)
    # pins are honoured
    assert str(d.addressing.bmcs["sz1-p1-ctl-r01-h01"]) == "10.20.0.60"
    assert str(d.addressing.bonds[("sz1-p1-ctl-r01-h01", "mgmt")]) == "10.16.0.60"


POSITIVE = sorted((ROOT / "tests/examples/positive").glob("*.yaml"))


def test_every_switch_uplinks_into_one_asn_group() -> None:
    """RFC 7938: the switches one switch connects up to share one ASN (no path hunting)."""
    for path in [*POSITIVE, ROOT / "examples/shenzhen-14000p/cluster.yaml"]:
        r = check(str(path))
        assert r.topology is not None and not r.errors, path
        for load in r.topology.loads.values():
            if load.up_targets:
                asns = {t.asn for t in load.up_targets}
                assert len(asns) == 1, (path.name, load.switch.name, asns)
        leaves = [s for s in r.cluster.switches if s.tier == "leaf" and s.asn is not None]
        assert len({s.asn for s in leaves}) == len(leaves), path.name


def test_lanes_of_one_breakout_cable_share_media_and_length() -> None:
    from wanka.derive.cabling import Cable, End, _one_length_per_breakout

    def lane(i: int, media: str, length: int) -> Cable:
        return Cable(
            "leaf:800GE1/0/2",
            "param",
            End(f"s{i}", "param0", "param0"),
            End("leaf", f"800GE1/0/2:{i}", f"swp2s{i}"),
            400,
            media,
            length,
            "2x400G",
        )

    fixed = _one_length_per_breakout([lane(1, "AOC", 15), lane(2, "MMF", 30)])
    assert {(c.media, c.length_m) for c in fixed} == {("MMF", 30)}
    for path in [*POSITIVE, ROOT / "examples/shenzhen-14000p/cluster.yaml"]:
        d = derive(check(str(path)))
        parts: dict[str, set[tuple[str, int]]] = {}
        for c in d.cabling.cables:
            parts.setdefault(c.id, set()).add((c.media, c.length_m))
        assert all(len(v) == 1 for v in parts.values()), path.name


def _addresses(d: Derived) -> dict[tuple[str, str], IPv4Address]:
    """Every address of a node, by (node, manifest key)."""
    a = d.addressing
    out: dict[tuple[str, str], IPv4Address] = {(n, "bmc"): ip for n, ip in a.bmcs.items()}
    out |= {(n, p): ip for (n, p), ip in a.bonds.items()}
    out |= {(n, f"npu{i}" if p == "param" else f"{p}{i}"): ip for (n, p, i), ip in a.ports.items()}
    return out


def _pinned(text: str, node: str, key: str, ip: IPv4Address) -> str:
    value = f"bmc: {{address: {ip}}}" if key == "bmc" else f"addresses: {{{key}: {ip}}}"
    return text + f"  manifest:\n    nodes:\n      {node}: {{{value}}}\n"


@settings(max_examples=25, deadline=None)
@given(pods=st.integers(1, 3), pick=st.integers(0, 10_000), spare=st.integers(0, 10_000))
def test_a_pin_moves_no_other_address(pods: int, pick: int, spare: int) -> None:
    """Pin one address (a BMC, a bonded plane or an NPU port) of one node to a spare address of
    its subnet, or to its own: every other address, every ASN and every cable stays."""
    text = cluster_text([pods, 1])
    before = derived(text)
    addrs = _addresses(before)
    (node, key), own = sorted(addrs.items())[pick % len(addrs)]
    plane = {"bmc": "oob", "mgmt": "mgmt"}.get(key, "param")
    sub = next(s for s in before.addressing.subnets if s.plane == plane and own in s.network)
    used = set(all_addresses(before))
    free = [ip for ip in sub.network.hosts() if ip not in used]
    ip = free[spare % len(free)] if free and spare % 3 else own
    after = derived(_pinned(text, node, key, ip))
    moved = _addresses(after)
    assert moved.pop((node, key)) == ip
    del addrs[(node, key)]
    assert moved == addrs
    assert after.addressing.loopbacks == before.addressing.loopbacks
    assert after.addressing.subnets == before.addressing.subnets
    assert {s.name: s.asn for s in after.cluster.switches} == {
        s.name: s.asn for s in before.cluster.switches
    }
    assert after.cabling.cables == before.cabling.cables


def test_a_pin_on_another_hosts_place_is_refused() -> None:
    """The pin that would have shifted everyone (the old scheme skipped it) is NET-PIN-TAKEN."""
    text = cluster_text([1])
    before = derived(text)
    taken = before.addressing.bmcs["lab-p1-pod01-r01-s02"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster.yaml"
        path.write_text(_pinned(text, "lab-p1-pod01-r02-s02", "bmc", taken), encoding="utf-8")
        result = check(str(path))
    assert [f.rule for f in result.errors] == ["NET-PIN-TAKEN"]
    assert "lab-p1-pod01-r01-s02" in result.errors[0].message


def _lengths(text: str) -> dict[tuple[str, str], tuple[str, int]]:
    return {(c.a.device, c.a.port): (c.media, c.length_m) for c in derived(text).cabling.cables}


def test_cable_lengths_follow_the_layout_distances() -> None:
    """The documented defaults give today's lengths; a site, hall or row setting changes them,
    the narrowest winning: a server two rack positions from its leaf is 2 x 0.6 + 4 = 5.2 m
    (a 7 m AOC) by default, 2 x 5 + 4 = 14 m (15 m) at a 5 m pitch."""
    text = cluster_text([1])
    rows = "        rows:\n"
    server = ("lab-p1-pod01-r01-s01", "param0")
    default = _lengths(text)
    assert default[server] == ("AOC", 7)
    explicit = text.replace(
        "    halls:\n",
        "    distances: {rack_pitch_m: 0.6, row_pitch_m: 3.0, rack_slack_m: 4, cross_row_m: 20,"
        " between_halls_m: 300}\n    halls:\n",
    )
    assert _lengths(explicit) == default
    site = text.replace("    halls:\n", "    distances: {rack_pitch_m: 5}\n    halls:\n")
    assert _lengths(site)[server] == ("AOC", 15)
    hall = site.replace(rows, "        distances: {rack_pitch_m: 2, rack_slack_m: 1}\n" + rows)
    assert _lengths(hall)[server] == ("AOC", 5)  # 2 x 2 + 1
    row = hall.replace("positions: 10}", "positions: 10, rack_pitch_m: 9}")
    assert _lengths(row)[server] == ("AOC", 20)  # 2 x 9 + 1
    slack = site.replace(rows, "        distances: {rack_slack_m: 30}\n" + rows)
    assert _lengths(slack)[server] == ("MMF", 50)  # 2 x 5 + 30 = 40 m: no AOC that long


def test_a_cable_between_halls_is_as_long_as_the_layout_says() -> None:
    text = cluster_text([1, 1]).replace(
        "    halls:\n",
        "    distances: {between_halls_m: 450}\n    halls:\n"
        "      - name: far\n        rows:\n          - {name: A, positions: 10}\n",
    )
    text = text.replace(
        "    - name: p2\n      status: planned\n      depends_on: [p1]\n      pods:\n"
        "        - {name: pod, type: lab-pod, count: 1, hall: lab, row: A}",
        "    - name: p2\n      status: planned\n      depends_on: [p1]\n      pods:\n"
        "        - {name: pod, type: lab-pod, count: 1, hall: far, row: A}",
    )
    cables = derived(text).cabling.cables
    far = [c for c in cables if c.a.device.startswith("lab-p2-") and "spine" in c.b.device]
    assert far and {(c.media, c.length_m) for c in far} == {("SMF", 450)}
