"""Switch models with mixed port groups: speeds come per port in the topology, the fabric rules
and the cabling (a leaf with 400G downlinks and 800G uplinks; 48 x 25G + 8 x 100G)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import ROOT

from wanka.derive.bundle import Derived
from wanka.pipeline import check, derive

MIXED = ROOT / "tests/examples/positive/mixed-port-groups.yaml"


def derived_text(text: str) -> tuple[Derived | None, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster.yaml"
        path.write_text(text, encoding="utf-8")
        result = check(str(path))
        if result.errors:
            return None, [f.rule + ": " + f.message for f in result.errors]
        return derive(result), []


def test_mixed_leaf_counts_its_uplinks_at_their_speed() -> None:
    d = derive(check(str(MIXED)))
    leaf = d.topology.loads["lab-p1-pod01-param-leaf01"]
    assert leaf.switch.model.describe_ports() == "28x400G+4x800G"
    assert (leaf.down_bw, leaf.up_bw) == (32 * 200, 4 * 800)  # 2:1, not 4:1 at 400G
    assert not leaf.speed_mismatches
    spine = d.topology.loads["lab-p1-core-param-spine01"]
    assert spine.below_links == 4 and spine.below_bw == 4 * 800  # 2 leaves x 2 links
    ups = [c for c in d.cabling.cables if c.a.device == leaf.switch.name]
    assert {c.speed for c in ups} == {800}
    # SONiC names: 28 ports of 4 lanes, then the 800G ports start at lane 112
    assert sorted(c.a.ifname for c in ups) == [
        "Ethernet112",
        "Ethernet120",
        "Ethernet128",
        "Ethernet136",
    ]
    assert [c.b.ifname for c in ups][:2] == ["Ethernet0", "Ethernet8"]  # the spine's 8-lane ports
    downs = sorted(
        (c for c in d.cabling.cables if c.b.device == leaf.switch.name), key=lambda c: c.b.port
    )
    assert {c.b.ifname for c in downs if c.b.port.startswith("400GE1/0/1:")} == {
        "Ethernet0",
        "Ethernet2",
    }


def test_mixed_access_switch_numbers_ports_across_groups() -> None:
    d = derive(check(str(MIXED)))
    m = d.cluster.switch_models["lab-48x25g"]
    assert m.ports == 56 and m.port_speed(48) == 25 and m.port_speed(49) == 100
    assert m.os == "debian" and m.describe_ports() == "48x25G+8x100G"


def _mixed_with(old: str, new: str) -> str:
    text = MIXED.read_text()
    assert old in text
    return text.replace(old, new)


def test_uplink_group_slower_than_the_spines_is_link_speed() -> None:
    """Uplinks take the last ports: there 100G, on the spines 800G."""
    _, errors = derived_text(
        _mixed_with(
            "- {count: 4, speed: 800G, lanes: 8, breakouts: [2x400G]}",
            "- {count: 4, speed: 100G, lanes: 4}",
        )
    )
    assert any(
        e.startswith("LINK-SPEED: leaf 'lab-p1-pod01-param-leaf01' uplinks from 100G ports to "
                     "800G ports") for e in errors
    ), errors  # fmt: skip


def test_oversubscription_uses_the_uplink_group_speed() -> None:
    """The same leaf with 400G uplinks to 400G spines: 6,400G down, 1,600G up is 4:1, over the
    plane's 2:1; with 800G uplinks it was 2:1 (the positive example)."""
    text = _mixed_with(
        "- {count: 4, speed: 800G, lanes: 8, breakouts: [2x400G]}",
        "- {count: 4, speed: 400G, lanes: 4}",
    ).replace(
        "        ports: {count: 64, speed: 800G, lanes: 8}",
        "        ports: {count: 64, speed: 400G, lanes: 4}",
    )
    _, errors = derived_text(text)
    assert any(
        e.startswith("FABRIC-OVERSUBSCRIPTION") and "(6,400G down, 1,600G up)" in e for e in errors
    ), errors
    assert not any(e.startswith("LINK-SPEED") for e in errors), errors
