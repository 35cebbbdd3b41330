"""Stable allocation: a pod given the next free slot, or a pod retired, moves nothing else.

Property tests over the lab cluster grown to several phases and pods: every name, address,
ASN, rack position and cable of every other pod stays what it was.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import HEAD
from hypothesis import given, settings
from hypothesis import strategies as st
from test_derive import derived

from wanka.derive.bundle import Derived
from wanka.pipeline import check

Placement = tuple[str, int, int, tuple[str, ...]]  # (name, count, slot, retired)


def text(phases: list[list[Placement]], *, slots: bool = True) -> str:
    """The lab cluster with these phases; each placement a (name, count, slot, retired)."""
    out = [
        HEAD,
        "  layout:\n    halls:\n      - name: lab\n        rows:\n",
        "          - {name: A, count: 40, positions: 10}\n",
        "  phases:\n",
    ]
    for i, placements in enumerate(phases):
        out.append(f"    - name: p{i + 1}\n      status: planned\n")
        if i:
            out.append("      depends_on: [p1]\n")
        out.append("      pods:\n" if placements else "      pods: []\n")
        for name, count, slot, retired in placements:
            ptype = "lab-spines" if name == "core" else "lab-pod"
            more = f", slot: {slot}" if slots else ""
            if retired:
                more += f", retired: [{', '.join(retired)}]"
            if name != "core":
                more += f", count: {count}"
            out.append(f"        - {{name: {name}, type: {ptype}, hall: lab, row: A{more}}}\n")
    return "".join(out)


def view(d: Derived) -> dict[str, object]:
    """Everything derived per name: addresses, ASNs, rack positions, cables."""
    a = d.addressing
    return {
        "ports": dict(a.ports),
        "bonds": dict(a.bonds),
        "bmcs": dict(a.bmcs),
        "loopbacks": dict(a.loopbacks),
        "subnets": {(s.plane, s.owner): s.network for s in a.subnets},
        "asns": {s.name: s.asn for s in d.cluster.switches},
        "racks": {r.name: (r.pod.row, r.position) for r in d.cluster.racks},
        "cables": {c.id + c.a.device + c.a.port: c for c in d.cabling.cables},
    }


def kept(before: dict[str, object], after: dict[str, object], gone: set[str]) -> None:
    """Every entry of `before` not about a name in `gone` is in `after`, unchanged."""
    for key, old in before.items():
        new = after[key]
        assert isinstance(old, dict) and isinstance(new, dict)
        for k, v in old.items():
            names = {str(x) for x in k} if isinstance(k, tuple) else {str(k)}
            if hasattr(v, "a"):
                names = {v.a.device, v.b.device}  # a cable: its two ends
            if any(n.startswith(g) for g in gone for n in names):
                continue
            assert new.get(k) == v, (key, k, v, new.get(k))


def base(p1: int, p2: int) -> list[list[Placement]]:
    return [
        [("core", 1, 1, ()), ("pod", p1, 2, ())],
        [("pod", p2, 2 + p1, ())],
    ]


@settings(max_examples=12, deadline=None)
@given(
    p1=st.integers(1, 3),
    p2=st.integers(1, 2),
    phase=st.integers(0, 1),
    first=st.booleans(),
    count=st.integers(1, 2),
)
def test_a_pod_with_the_next_free_slot_moves_nothing(
    p1: int, p2: int, phase: int, first: bool, count: int
) -> None:
    """A new placement in either phase, declared first or last in it, given the next free slot:
    everything of every other pod stays (the new pod only adds)."""
    phases = base(p1, p2)
    before = view(derived(text(phases)))
    new = ("new", count, 2 + p1 + p2, ())
    grown = [list(ps) for ps in phases]
    grown[phase].insert(0 if first else len(grown[phase]), new)
    after = derived(text(grown))
    kept(before, view(after), set())
    assert any(p.name.endswith("-new01") for p in after.cluster.pods)


@settings(max_examples=12, deadline=None)
@given(p1=st.integers(2, 3), p2=st.integers(1, 2), which=st.integers(1, 3), slotted=st.booleans())
def test_a_retired_pod_moves_nothing(p1: int, p2: int, which: int, slotted: bool) -> None:
    """Retiring a pod (with or without slots) takes away its nodes, switches, addresses and
    cables and changes nothing of any other pod."""
    phases = base(p1, p2)
    before = view(derived(text(phases, slots=slotted)))
    short = f"pod{min(which, p1):02d}"
    phases[0][1] = ("pod", p1, 2, (short,))
    after = derived(text(phases, slots=slotted))
    gone = f"lab-p1-{short}"
    kept(before, view(after), {gone})
    assert not [n for n in after.cluster.nodes if n.name.startswith(gone)]
    assert not [c for c in after.cabling.cables if gone in c.a.device + c.b.device]
    assert not [s for s in after.addressing.subnets if s.owner.startswith(gone)]


@settings(max_examples=8, deadline=None)
@given(p1=st.integers(1, 3), p2=st.integers(1, 2))
def test_slots_written_as_the_implicit_ones_derive_the_same(p1: int, p2: int) -> None:
    """A document without slots numbers its pods 1, 2, ... in declaration order: writing
    those slots down (to start inserting) changes nothing."""
    implicit = derived(text(base(p1, p2), slots=False))
    explicit = derived(text(base(p1, p2)))
    assert view(implicit) == view(explicit)
    assert [p.slot for p in implicit.cluster.pods] == list(range(1, 2 + p1 + p2))


def errors(doc: str) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster.yaml"
        path.write_text(doc, encoding="utf-8")
        return [(f.rule, f.message) for f in check(str(path)).errors]


def test_slots_must_be_all_given_and_distinct() -> None:
    phases = base(2, 1)
    some = text(phases).replace(", slot: 4", "")
    [(rule, msg)] = errors(some)
    assert rule == "POD-SLOT" and "placement 'pod' of phase p2 has no slot" in msg
    clash = text([phases[0], [("pod", 1, 3, ())]])
    [(rule, msg)] = errors(clash)
    assert rule == "POD-SLOT" and "takes slot 3" in msg


def test_retiring_the_spines_others_use_is_refused() -> None:
    phases = base(1, 1)
    phases[0][0] = ("core", 1, 1, ("core",))
    found = errors(text(phases))
    assert found and {r for r, _ in found} == {"POD-RETIRED"}
    phases = base(1, 1)
    phases[0][1] = ("pod", 1, 2, ("pod07",))
    [(rule, msg)] = errors(text(phases))
    assert rule == "POD-RETIRED" and "makes no pod 'pod07'" in msg
