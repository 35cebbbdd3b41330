"""Allocation slots: the order pods are allocated in, which must not move when pods come and go.

Every pod has a slot, cluster-wide. Pods are built, and everything numbered in build order is
handed out (rack positions in rows, ASNs, subnets, loopbacks, spine ports), in slot order. A
document without any `slot` gives its pods slots 1, 2, ... in declaration order (phase by
phase), which is the order they always had. Once a placement says `slot: N` (its pods taking
N, N+1, ...) every placement must (`POD-SLOT`): an implicit slot would move the moment a pod
is declared before it. So a new pod, in any phase, takes the next free slot and moves nothing;
a pod that goes away is `retired` (its slot, and all it was given, stay reserved).
"""

from __future__ import annotations

from typing import Any

from wanka.findings import Finding, Mark, error
from wanka.language.loader import YMap
from wanka.model.names import pod_shorts
from wanka.model.types import Phase

Placement = tuple[int, Phase, Any]  # (slot of its first pod, phase, placement)


def _mark(placement: Any, key: str) -> Mark:
    if isinstance(placement, YMap) and key in placement:
        return placement.value_at[key]
    return getattr(placement, "at", Mark("<input>", 1, 1))


def _label(phase: Phase, placement: Any) -> str:
    return f"placement '{placement['name']}' of phase {phase.name}"


def ordered(phase_decls: list[tuple[Phase, Any]]) -> tuple[list[Placement], list[Finding]]:
    """Every placement with the slot of its first pod, in slot order, and the POD-SLOT
    findings. When slots are missing or overlap, declaration order stands (so nothing
    else is reported for it)."""
    decl = [(phase, pl) for phase, pdecl in phase_decls for pl in pdecl["pods"]]
    implicit: list[Placement] = []
    slot = 1
    for phase, pl in decl:
        implicit.append((slot, phase, pl))
        slot += len(pod_shorts(pl))
    given = [(phase, pl) for phase, pl in decl if "slot" in pl]
    if not given:
        return implicit, []
    missing = [(phase, pl) for phase, pl in decl if "slot" not in pl]
    if missing:
        ph, first = given[0]
        top = max(pl["slot"] + len(pod_shorts(pl)) for _, pl in given)
        phase, pl = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return implicit, [
            error(
                "POD-SLOT",
                f"{_label(phase, pl)} has no slot{more}, but {_label(ph, first)} has one "
                f"({_mark(first, 'slot')}): once one placement has a slot, every placement "
                f"needs one",
                _mark(pl, "name"),
                f"give each a slot; the slots free after the others start at {top} "
                "(`wanka plan` shows the next free slot, `--format json` every pod's)",
            )
        ]
    explicit = sorted(((pl["slot"], phase, pl) for phase, pl in decl), key=lambda e: e[0])
    findings = _overlaps(explicit)
    return (implicit if findings else explicit), findings


def _overlaps(explicit: list[Placement]) -> list[Finding]:
    """POD-SLOT for each placement whose slots overlap an earlier one's."""
    findings: list[Finding] = []
    end, owner = 0, None
    for slot, phase, pl in explicit:
        n = len(pod_shorts(pl))
        if owner is not None and slot < end:
            oph, opl = owner
            last = min(end, slot + n) - 1
            both = f"{slot}" if last == slot else f"{slot}-{last}"
            findings.append(
                error(
                    "POD-SLOT",
                    f"{_label(phase, pl)} takes slot {both}, which {_label(oph, opl)} "
                    f"({_mark(opl, 'slot')}) takes too",
                    _mark(pl, "slot"),
                    f"give it a slot from {end} on: a slot is one pod's, for good",
                )
            )
        if slot + n > end:
            end, owner = slot + n, (phase, pl)
    return findings
