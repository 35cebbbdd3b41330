"""The phases, in declaration order (spec.phases), each with the declaration its pods are
expanded from; every `depends_on` names a phase."""

from __future__ import annotations

from dataclasses import dataclass

from wanka.findings import Mark, error
from wanka.language.loader import YMap, YSeq
from wanka.model.builders.problems import Problems, at
from wanka.model.types import Phase, Rollout


@dataclass(frozen=True, slots=True, kw_only=True)
class Phases:
    phases: list[Phase]
    decls: list[tuple[Phase, YMap]]  # each phase and its declaration (its pods)


def build_phases(*, spec: YMap, problems: Problems) -> Phases:
    out: list[Phase] = []
    decls: list[tuple[Phase, YMap]] = []
    seen: dict[str, Mark] = {}
    plist = spec.get("phases", [])
    for i, p in enumerate(plist):
        where = plist.item_at[i] if isinstance(plist, YSeq) else Mark("<input>", 1, 1)
        if p["name"] in seen:
            problems.add(
                error(
                    "NAME-UNIQUE",
                    f"phase '{p['name']}' is also defined at {seen[p['name']]}",
                    at(p, "name", value=True),
                )
            )
            continue
        seen[p["name"]] = at(p, "name", value=True)
        deps = p.get("depends_on", [])
        phase = Phase(
            name=p["name"],
            index=len(out),
            status=p["status"],
            target_pflops=p.get("target_pflops"),
            depends_on=tuple(deps),
            at=where,
            depends_at=tuple(deps.item_at) if isinstance(deps, YSeq) else (),
            rollout=_rollout(p.get("rollout")),
        )
        out.append(phase)
        decls.append((phase, p))
    names = [p.name for p in out]
    for ph in out:
        for d, dat in zip(ph.depends_on, ph.depends_at, strict=False):
            if d not in names:
                problems.unresolved("phase", d, names, dat)
    return Phases(phases=out, decls=decls)


def _rollout(ro: YMap | None) -> Rollout | None:
    if ro is None:
        return None
    batch = ro.get("batch")
    return Rollout(
        batch=None if batch is None else str(batch), max_fail_percent=ro.get("max_fail_percent")
    )
