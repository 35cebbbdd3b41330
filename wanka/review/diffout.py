"""Reports of a `Diff`: text (coloured on a terminal), Markdown (a pull-request comment), JSON.

All three read `Diff.as_json()`, so they cannot disagree. Text and Markdown list at most
`limit` lines per section (and say how many more there are); JSON lists everything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from wanka import console
from wanka.jsonfmt import Json
from wanka.review import facilitydiff
from wanka.review.diff import HINT, Diff

SIGN = {"added": "+", "removed": "-", "changed": "~", "renamed": ">"}
STYLE = {"added": "green", "removed": "red", "changed": "yellow", "renamed": "cyan"}
SECTIONS = (
    ("changes", "Software, credentials, catalog, planes, phases, pods, racks, nodes, switches"),
    ("addresses", "Addresses"),
    ("subnets", "Subnets"),
    ("cables", "Cables"),
)


def write_json(diff: Diff, out: TextIO) -> None:
    json.dump(diff.as_json(), out, indent=2, sort_keys=True)
    out.write("\n")


# ---- shared wording ------------------------------------------------------------------------


def _v(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, list):
        return ",".join(str(i) for i in x) or "[]"
    if isinstance(x, float):
        return f"{x:,.3f}".rstrip("0").rstrip(".")
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _raw(x: Any) -> str:
    """A value as written in the cluster file: no thousands separators (ASNs, units)."""
    return str(x) if isinstance(x, int) and not isinstance(x, bool) else _v(x)


def _arrow(old: Any, new: Any, fmt: Callable[[Any], str] = _v) -> str:
    return fmt(new) if old == new else f"{fmt(old)} -> {fmt(new)}"


def _side(op: str, old: Any, new: Any, fmt: Callable[[Any], str] = _v) -> str:
    """One value for added or removed things, old -> new for changed ones."""
    if op == "added":
        return fmt(new)
    return fmt(old) if op == "removed" else _arrow(old, new, fmt)


def change_line(ch: Json) -> str:
    """`+ pod lab-p2-pod02 (p2): type lab-pod, hall lab` / `~ node x (p1): unit 1 -> 3`."""
    op = ch["op"]
    head = f"{SIGN[op]} {ch['kind']} {ch['name']}"
    if op == "renamed":
        head = f"{SIGN[op]} {ch['kind']} {ch['old_name']} -> {ch['name']}"
    if ch["phase"] and ch["kind"] != "phase":
        head += f" ({ch['phase']})"
    fields = ch["fields"]
    if ch["kind"] in ("address", "subnet", "cable"):
        ((_, f),) = fields.items()
        return f"{head}: {_side(op, f['old'], f['new'], _raw)}"
    if op in ("added", "removed"):
        side = "new" if op == "added" else "old"
        parts = [f"{k} {_raw(f[side])}" for k, f in fields.items()]
    else:
        parts = [f"{k} {_arrow(f['old'], f['new'], _raw)}" for k, f in sorted(fields.items())]
    return f"{head}: {', '.join(parts)}" if parts else head


def blocking_line(b: Json) -> str:
    return f"error[{b['rule']}]: {b['message']}"


def _headline(doc: Json) -> str:
    n = doc["sizes"]["blocking"]
    if not n:
        return "Nothing blocking: nothing building or live is renumbered, recabled or removed."
    per = ", ".join(f"{r} x{k:,}" for r, k in doc["rules"].items())
    what = f"{n:,} change{'s' if n != 1 else ''} to building or live phases ({per})"
    if doc["allow_live_changes"]:
        return f"Allowed by --allow-live-changes: {what}."
    return f"BLOCKING: {what}."


def _summary_rows(doc: Json) -> list[list[str]]:
    return [
        [kind, *(_v(c[op]) for op in ("added", "removed", "changed", "renamed"))]
        for kind, c in doc["counts"].items()
    ]


_TOTALS = (
    ("pflops", "PFLOPS"),
    ("cards", "cards"),
    ("nodes", "nodes"),
    ("switches", "switches"),
    ("racks", "racks"),
    ("cables", "cables"),
    ("optics", "optics"),
    ("it_nominal_kw", "IT kW (nominal)"),
)


def _delta(old: Any, new: Any) -> str:
    if not isinstance(old, int | float) or not isinstance(new, int | float):
        return ""
    d = new - old
    if not d:
        return "0"
    text = _v(round(d, 3) if isinstance(d, float) else d)
    return text if text.startswith("-") else f"+{text}"


def _totals_rows(doc: Json) -> list[list[str]]:
    t = doc["totals"]
    return [
        [label, _v(t[k]["old"]), _v(t[k]["new"]), _delta(t[k]["old"], t[k]["new"])]
        for k, label in _TOTALS
    ]


_PHASE_COLS = (
    ("status", "Status"),
    ("target_pflops", "Target PFLOPS"),
    ("achieved_pflops", "PFLOPS"),
    ("cards", "Cards"),
    ("servers", "Servers"),
    ("rack_count", "Racks"),
    ("it_nominal_kw", "IT kW"),
)


def _phase_rows(doc: Json) -> list[list[str]]:
    return [
        [p["name"], *(_arrow(p[k]["old"], p[k]["new"]) for k, _ in _PHASE_COLS)]
        for p in doc["phases"]
    ]


_RACK_COLS = (
    ("type", "Type"),
    ("nodes", "Nodes"),
    ("nominal_kw", "Nominal kW"),
    ("max_kw", "Max kW"),
    ("headroom_kw", "Headroom kW"),
    ("liquid_kw", "Liquid kW"),
    ("liquid_capacity_kw", "Liquid cap."),
    ("air_kw", "Air kW"),
    ("air_capacity_kw", "Air cap."),
)


def _rack_rows(doc: Json) -> tuple[list[list[str]], int]:
    rows = [
        [
            f"{SIGN[r['op']]} {r['name']}",
            r["phase"] or "",
            *(_side(r["op"], r[k]["old"], r[k]["new"]) for k, _ in _RACK_COLS),
        ]
        for r in doc["racks"]
    ]
    return rows, max(0, doc["sizes"]["racks"] - len(rows))


def _bom_rows(doc: Json) -> list[list[str]]:
    return [
        [
            b["section"],
            b["item"],
            _v(b["old"]),
            _v(b["new"]),
            f"order {b['delta']:,}" if b["delta"] > 0 else f"freed {-b['delta']:,}",
        ]
        for b in doc["bom"]
    ]


def _more(total: int, shown: int) -> str:
    return f"... and {total - shown:,} more (--format json lists them all, --limit 0 shows all)"


# ---- text ----------------------------------------------------------------------------------


def _table(title: str, columns: Iterable[str], rows: list[list[str]], right: int = 1) -> Table:
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for i, col in enumerate(columns):
        t.add_column(col, justify="right" if i >= right else "left", no_wrap=True)
    for row in rows:
        t.add_row(*row)
    return t


def _renderables(doc: Json) -> list[RenderableType]:
    out: list[RenderableType] = []
    old, new = doc["old"], doc["new"]
    out.append(
        Text(
            f"wanka diff: {old['file']} (cluster {old['cluster']}) -> {new['file']} "
            f"(cluster {new['cluster']})",
            style="bold",
        )
    )
    blocking = doc["blocking"]
    style = "bold red" if doc["blocked"] else "bold yellow" if blocking else "green"
    out.append(Text(_headline(doc), style=style))
    for b in blocking:
        out.append(Text(f"  {blocking_line(b)}", style="red" if doc["blocked"] else "yellow"))
    if len(blocking) < doc["sizes"]["blocking"]:
        out.append(Text(f"  {_more(doc['sizes']['blocking'], len(blocking))}"))
    if doc["blocked"]:
        out.append(Text(f"  hint: {HINT}"))
    if not doc["counts"] and not doc["bom"] and not doc["facility"].get("changed"):
        out += ["", Text("No changes.")]
        return out
    out += [
        "",
        _table("Summary", ("What", "Added", "Removed", "Changed", "Renamed"), _summary_rows(doc)),
        "",
        _table("Totals", ("", "Before", "After", "Change"), _totals_rows(doc)),
        "",
        _table("Capacity per phase", ("Phase", *(c for _, c in _PHASE_COLS)), _phase_rows(doc)),
    ]
    if doc["facility"].get("changed"):
        rows = facilitydiff.rows(doc["facility"])
        out += ["", _table("Facility per hall and phase", facilitydiff.COLUMNS, rows)]
    for key, title in SECTIONS:
        items = doc[key]
        if not items:
            continue
        out += ["", Text(f"{title} ({doc['sizes'][key]:,})", style="bold")]
        for ch in items:
            out.append(Text(f"  {change_line(ch)}", style=STYLE[ch["op"]]))
        if len(items) < doc["sizes"][key]:
            out.append(Text(f"  {_more(doc['sizes'][key], len(items))}"))
    if doc["racks"]:
        rows, more = _rack_rows(doc)
        cols = ("Rack", "Phase", *(c for _, c in _RACK_COLS))
        title = f"Rack power and cooling ({doc['sizes']['racks']:,} racks)"
        out += ["", _table(title, cols, rows, 2)]
        if more:
            out.append(Text(f"  {_more(doc['sizes']['racks'], len(rows))}"))
    if doc["bom"]:
        cols = ("Part", "Item", "Before", "After", "Order / freed")
        out += ["", _table("Bill of materials: what changes", cols, _bom_rows(doc), 2)]
    return out


def write_text(diff: Diff, out: TextIO, *, color: bool, limit: int = 40) -> None:
    """The diff for people; coloured when `color` (a terminal), plain otherwise."""
    console.write(_renderables(diff.as_json(limit)), out, color=color)


# ---- Markdown ------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(columns: Iterable[str], rows: list[list[str]], right: int = 1) -> list[str]:
    cols = list(columns)
    align = ["---" if i < right else "---:" for i in range(len(cols))]
    out = [f"| {' | '.join(cols)} |", f"|{'|'.join(align)}|"]
    out += [f"| {' | '.join(_cell(c) for c in row)} |" for row in rows]
    return out


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"


def markdown(diff: Diff, limit: int = 40) -> str:
    """The diff as a pull-request comment (GitHub-flavoured Markdown)."""
    doc = diff.as_json(limit)
    old, new = doc["old"], doc["new"]
    out = [f"### wanka diff: {_code(old['file'])} → {_code(new['file'])}", ""]
    blocking = doc["blocking"]
    if blocking:
        kind = "CAUTION" if doc["blocked"] else "WARNING"
        out += [f"> [!{kind}]", f"> **{_headline(doc)}**"]
        if doc["blocked"]:
            out.append(f"> {HINT.capitalize()}.")
        out.append("")
        rows = [
            [
                _code(b["rule"]),
                f"{b['phase']} ({b['status']})",
                _code(b["subject"]),
                b["what"],
                _arrow(b["old"], b["new"]) if b["old"] is not None or b["new"] else "",
            ]
            for b in blocking
        ]
        out += _md_table(("Rule", "Phase", "What", "Change", "Old -> new"), rows, 99)
        if len(blocking) < doc["sizes"]["blocking"]:
            out.append(f"\n{_more(doc['sizes']['blocking'], len(blocking))}")
        out.append("")
    else:
        out += [f"**{_headline(doc)}**", ""]
    if not doc["counts"] and not doc["bom"] and not doc["facility"].get("changed"):
        out.append("No changes.")
        return "\n".join(out) + "\n"
    out += _md_table(("What", "Added", "Removed", "Changed", "Renamed"), _summary_rows(doc))
    out += ["", "#### Totals", ""]
    out += _md_table(("", "Before", "After", "Change"), _totals_rows(doc))
    out += ["", "#### Capacity per phase", ""]
    out += _md_table(("Phase", *(c for _, c in _PHASE_COLS)), _phase_rows(doc), 2)
    if doc["facility"].get("changed"):
        out += ["", "#### Facility per hall and phase", ""]
        out += _md_table(facilitydiff.COLUMNS, facilitydiff.rows(doc["facility"]))
    if doc["bom"]:
        out += ["", "#### Bill of materials: what changes", ""]
        out += _md_table(("Part", "Item", "Before", "After", "Order / freed"), _bom_rows(doc), 2)
    if doc["racks"]:
        rows, more = _rack_rows(doc)
        out += ["", f"#### Rack power and cooling ({doc['sizes']['racks']:,} racks)", ""]
        out += _md_table(("Rack", "Phase", *(c for _, c in _RACK_COLS)), rows, 2)
        if more:
            out.append(f"\n{_more(doc['sizes']['racks'], len(rows))}")
    for key, title in SECTIONS:
        items = doc[key]
        if not items:
            continue
        size = doc["sizes"][key]
        out += ["", f"<details><summary>{title} ({size:,})</summary>", "", "```diff"]
        out += [change_line(ch) for ch in items]
        out.append("```")
        if len(items) < size:
            out += ["", _more(size, len(items))]
        out += ["", "</details>"]
    return "\n".join(out) + "\n"
