"""The layout: halls and their rows, with the cable-run distances of each (spec.layout).

A row declared with a count is a group of numbered rows (`wanka.model.names.row_names`):
pods placed in the group take the first of its rows with room.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from wanka.findings import Mark, error
from wanka.language.loader import YMap, YSeq
from wanka.model.builders.problems import Problems, at
from wanka.model.names import row_names
from wanka.model.types import Distances, Row

RowKey = tuple[str, str]  # (hall, row or row-group name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    rows: dict[RowKey, Row]
    row_groups: dict[RowKey, list[Row]]  # by the name a row was declared under
    halls: dict[str, Mark]
    between_halls_m: float


def build_layout(*, spec: YMap, problems: Problems) -> Layout:
    rows: dict[RowKey, Row] = {}
    row_groups: dict[RowKey, list[Row]] = {}
    halls: dict[str, Mark] = {}
    layout = spec.get("layout", {})
    site = Distances(**layout.get("distances", {}))
    declared = layout.get("halls", [])
    for i, h in enumerate(declared):
        hat = declared.item_at[i] if isinstance(declared, YSeq) else Mark("<input>", 1, 1)
        if h["name"] in halls:
            problems.add(
                error(
                    "NAME-UNIQUE",
                    f"hall '{h['name']}' is also defined at {halls[h['name']]}",
                    at(h, "name", value=True),
                )
            )
            continue
        halls[h["name"]] = hat
        hall = replace(site, **h.get("distances", {}))
        for j, r in enumerate(h["rows"]):
            rat = h["rows"].item_at[j] if isinstance(h["rows"], YSeq) else hat
            group = []
            for n in row_names(r):
                if (h["name"], n) in rows:
                    problems.add(
                        error(
                            "NAME-UNIQUE",
                            f"row '{n}' in hall '{h['name']}' is defined twice",
                            at(r, "name", value=True),
                        )
                    )
                    continue
                row = Row(
                    hall=h["name"],
                    name=n,
                    group=r["name"],
                    positions=r["positions"],
                    at=rat,
                    order=sum(1 for k in rows if k[0] == h["name"]),
                    distances=replace(hall, rack_pitch_m=r.get("rack_pitch_m", hall.rack_pitch_m)),
                )
                rows[(h["name"], n)] = row
                group.append(row)
            row_groups.setdefault((h["name"], r["name"]), []).extend(group)
    return Layout(
        rows=rows, row_groups=row_groups, halls=halls, between_halls_m=site.between_halls_m
    )
