"""SVG drawings for `wanka report`: rack elevations, the fabric of a plane, capacity per phase
and the map of pods.

Pure functions: values in, one `<svg>` string out, inlined in the report's HTML pages with
nothing loaded from elsewhere. Figures come from the plan document (`plan.build_plan`) and
the model; nothing here computes power, headroom or capacity. Every rack, device and pod
carries data attributes (`data-rack`, `data-device`, `data-role`, `data-plane`,
`data-tier`, `data-pod`) so that tests and other tools can find them.

Strings are built with lists and one join: a 50,000-card cluster has 2,000 racks with
10,000 devices in them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from wanka.jsonfmt import Json
from wanka.model.types import Rack
from wanka.review import tables

NS = "http://www.w3.org/2000/svg"

# colour per role of what sits in a rack: node roles, then switch tiers
ROLE_COLOURS = {
    "server": "#4e79a7",
    "host": "#f28e2b",
    "storage": "#59a14f",
    "leaf": "#b07aa1",
    "spine": "#9c755f",
    "core": "#e15759",
}
OK, TIGHT, OVER = "#59a14f", "#edc948", "#e15759"  # bars: < 80% used, < 100%, over
TIGHT_FROM = 80.0
PHASE_COLOURS = ("#4e79a7", "#f28e2b", "#76b7b2", "#b07aa1", "#59a14f", "#9c755f")


def _a(value: object) -> str:
    """An attribute value, escaped."""
    return escape(str(value), quote=True)


def _use_colour(pct: float | None) -> str:
    if pct is None or pct < TIGHT_FROM:
        return OK
    return TIGHT if pct <= 100.0 else OVER


def _svg(width: float, height: float, body: Sequence[str], **attrs: object) -> str:
    extra = "".join(f' data-{k.replace("_", "-")}="{_a(v)}"' for k, v in attrs.items())
    return (
        f'<svg xmlns="{NS}" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {width:g} {height:g}" role="img"{extra}>' + "".join(body) + "</svg>"
    )


# ---- rack elevation ------------------------------------------------------------------------

RACK_W = 220  # drawing width
GUTTER = 22  # unit numbers on the left
UNIT_H = 9
HEAD_H = 30
BAR_H = 24


def _label(name: str, prefix: str) -> str:
    """The part of a device name after its rack's or pod's name."""
    return name[len(prefix) + 1 :] if name.startswith(prefix + "-") else name


def _bar(
    y: float, title: str, used: float, capacity: float, text: str, peak: float | None = None
) -> list[str]:
    """A labelled bar: `used` of `capacity` (kW), coloured by how full it is; `peak` (the
    draw at max) as a tick."""
    w = RACK_W - GUTTER - 4
    pct = 100 * used / capacity if capacity else (0.0 if not used else 999.0)
    filled = min(w, w * used / capacity) if capacity else (w if used else 0)
    tick = []
    if peak is not None and capacity:
        px = GUTTER + min(w, w * peak / capacity)
        tick = [f'<line x1="{px:.1f}" y1="{y + 10:g}" x2="{px:.1f}" y2="{y + 22:g}" class="peak"/>']
    return tick + [
        f'<g class="bar" data-bar="{_a(title)}"><title>{escape(title)}: {escape(text)}</title>',
        f'<text x="{GUTTER}" y="{y + 9:g}" class="small">{escape(title)} {escape(text)}</text>',
        f'<rect x="{GUTTER}" y="{y + 12:g}" width="{w}" height="8" class="track"/>',
        f'<rect x="{GUTTER}" y="{y + 12:g}" width="{filled:.1f}" height="8" '
        f'fill="{_use_colour(pct)}"/></g>',
    ]


def rack(r: Rack, power: Json) -> str:
    """Front view of rack `r`, unit 1 at the bottom: every node and switch in its units,
    coloured by role, then bars for power (nominal draw of the feed) and cooling (liquid and
    air heat of their capacity) with the headroom. `power` is the rack's row of the plan's
    `racks` (see power.racks)."""
    units = r.type.units
    body_h = units * UNIT_H
    height = HEAD_H + body_h + 6 + 3 * BAR_H
    x0, w = GUTTER, RACK_W - GUTTER - 4
    top = HEAD_H
    out: list[str] = [
        f'<text x="2" y="12" class="name">{escape(r.name)}</text>',
        f'<text x="2" y="25" class="small">{escape(r.type.key)}, {units}U'
        f"{', ' + escape(r.role) if r.role else ''}</text>",
        f'<rect x="{x0}" y="{top}" width="{w}" height="{body_h}" class="frame"/>',
    ]
    for u in range(1, units + 1):
        if u == 1 or u % 5 == 0:
            y = top + (units - u + 1) * UNIT_H - 1
            out.append(f'<text x="{GUTTER - 3}" y="{y}" class="unit">{u}</text>')
    pod = r.pod.name
    for name, role, unit, size, model, extra in _rack_devices(r):
        y = top + (units - (unit + size - 1)) * UNIT_H
        h = size * UNIT_H
        kind = "node" if role in ("server", "host", "storage") else "switch"
        label = _label(name, r.name) if kind == "node" else _label(name, pod)
        last = unit + size - 1
        span = f"U{unit}" if size == 1 else f"U{unit}-{last}"
        out.append(
            f'<g data-device="{_a(name)}" data-kind="{kind}" data-role="{role}" '
            f'data-unit="{unit}" data-units="{size}"{extra}>'
            f"<title>{escape(name)}: {escape(model)}, {span}</title>"
            f'<rect x="{x0 + 1}" y="{y + 0.5:g}" width="{w - 2}" height="{h - 1}" '
            f'fill="{ROLE_COLOURS.get(role, "#bab0ac")}"/>'
            f'<text x="{x0 + 4}" y="{y + min(h, 12) - 2.5:g}" class="dev">{escape(label)}</text>'
            "</g>"
        )
    out += _rack_bars(top + body_h + 6, power)
    return _svg(RACK_W, height, out, rack=r.name, pod=pod, rack_type=r.type.key)


def _rack_devices(r: Rack) -> list[tuple[str, str, int, int, str, str]]:
    """(name, role, unit, size, what, data attributes) of every node and switch in `r`."""
    devices: list[tuple[str, str, int, int, str, str]] = []
    for n in r.nodes:
        what, extra = n.model.key, ""
        if n.supernode is not None:  # numbered as the rank tables and inventory groups are
            what += f", supernode sn{n.supernode + 1:02d}"
            extra = f' data-supernode="{n.supernode + 1}"'
        if n.facts is not None and n.facts.excluded is not None:
            what += f" (excluded: {n.facts.excluded})"
            extra += ' data-excluded="true" opacity="0.45"'
        devices.append((n.name, n.model.role, n.unit, n.model.rack_units, what, extra))
    for s in r.switches:
        extra = f' data-plane="{_a(s.plane.name)}" data-tier="{s.tier}"'
        devices.append((s.name, s.tier, s.unit, s.model.rack_units, s.model.key, extra))
    return devices


def _rack_bars(y: float, power: Json) -> list[str]:
    """The power bar (nominal draw of the feed, max marked) and the liquid and air bars."""
    feed = float(power["feed_kw"])
    head = float(power["headroom_kw"])
    out = _bar(
        y,
        "power",
        float(power["nominal_kw"]),
        feed,
        f"{tables.kw(power['nominal_kw'])}/{tables.n(feed)} kW, max {tables.kw(power['max_kw'])}, "
        f"{tables.kw(head)} kW free",
        peak=float(power["max_kw"]),
    )
    for i, kind in enumerate(("liquid", "air")):
        heat, cap = float(power[f"{kind}_kw"]), float(power[f"{kind}_capacity_kw"])
        text = (
            f"{tables.kw(heat)}/{tables.n(cap)} kW, {tables.kw(cap - heat)} kW free"
            if cap or heat
            else "none"
        )
        out += _bar(y + (i + 1) * BAR_H, kind, heat, cap, text)
    return out


def legend() -> str:
    """The colours of the rack elevations."""
    out: list[str] = []
    for i, (role, colour) in enumerate(ROLE_COLOURS.items()):
        x = 4 + i * 90
        out.append(
            f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="14" class="small">{role}</text>'
        )
    x = 4 + len(ROLE_COLOURS) * 90
    for i, (text, colour) in enumerate(
        ((f"< {TIGHT_FROM:g}% used", OK), ("tight", TIGHT), ("over", OVER))
    ):
        out.append(
            f'<rect x="{x + i * 90}" y="4" width="24" height="12" fill="{colour}"/>'
            f'<text x="{x + i * 90 + 28}" y="14" class="small">{escape(text)}</text>'
        )
    return _svg(x + 3 * 90, 20, out, legend="racks")


# ---- fabric ----------------------------------------------------------------------------------


@dataclass(slots=True)
class TierBox:
    """One box in a tier row: a group of switches (a rail group on rail-optimised leaves)."""

    label: str
    switches: int
    models: list[str]


@dataclass(slots=True)
class Links:
    """The links between two tiers of a plane (lanes of a breakout counted one by one)."""

    lower: str  # nodes | leaf | spine
    upper: str  # leaf | spine | core
    links: int
    cables: int
    speeds: dict[int, int]  # Gb/s -> links
    media: dict[str, int]  # CAT6, DAC, AOC, MMF, SMF -> links


@dataclass(slots=True)
class FabricView:
    plane: str
    role: str
    nodes: int  # nodes with a port (or a BMC) on the plane
    tiers: dict[str, list[TierBox]] = field(default_factory=dict)  # leaf, spine, core
    links: list[Links] = field(default_factory=list)
    rails: int | None = None


FAB_W = 760
LEFT = 100  # tier names on the left, boxes centred in the rest
ROW_H = 88
BOX_H = 40


def _speeds(speeds: dict[int, int]) -> str:
    return ", ".join(f"{s}G" for s in sorted(speeds, reverse=True))


def fabric(v: FabricView) -> str:
    """A plane's fabric: tiers from core at the top to the nodes at the bottom, each a row of
    boxes (rail groups of leaves on a rail-optimised plane), with the links between two tiers
    as a band labelled with their count, cables, speeds and media."""
    rows = [t for t in ("core", "spine", "leaf") if v.tiers.get(t)] + ["nodes"]
    height = 16 + (len(rows) - 1) * ROW_H + BOX_H
    out: list[str] = []
    centre: dict[str, float] = {}
    for i, tier in enumerate(rows):
        y = 8 + i * ROW_H
        centre[tier] = y
        boxes = (
            v.tiers[tier]
            if tier != "nodes"
            else [TierBox(f"{tables.n(v.nodes)} nodes", v.nodes, [])]
        )
        gap = 8
        bw = min(220.0, (FAB_W - LEFT - gap * (len(boxes) - 1)) / max(len(boxes), 1))
        total = len(boxes) * bw + gap * (len(boxes) - 1)
        x = LEFT + (FAB_W - LEFT - total) / 2
        colour = ROLE_COLOURS.get(tier, "#bab0ac")
        out.append(f'<text x="4" y="{y + 24}" class="tier">{tier}</text>')
        for b in boxes:
            models = ", ".join(b.models)
            tip = f"{b.label}: {b.switches} x {models}" if b.models else b.label
            out.append(
                f'<g data-tier-box="{_a(tier)}" data-switches="{b.switches}">'
                f"<title>{escape(tip)}</title>"
                f'<rect x="{x:.1f}" y="{y}" width="{bw:.1f}" height="{BOX_H}" rx="4" '
                f'fill="{colour}"/>'
                f'<text x="{x + bw / 2:.1f}" y="{y + 17}" class="box">{escape(b.label)}</text>'
            )
            if b.models:  # the model where it fits; the tooltip has it anyway
                small = (
                    f"{tables.n(b.switches)} x {models}"
                    if bw >= 150
                    else f"{tables.n(b.switches)} switches"
                )
                out.append(
                    f'<text x="{x + bw / 2:.1f}" y="{y + 32}" class="boxsmall">'
                    f"{escape(small)}</text>"
                )
            out.append("</g>")
            x += bw + gap
    mid = LEFT + (FAB_W - LEFT) / 2
    for ln in v.links:
        if ln.lower not in centre or ln.upper not in centre:
            continue
        y1, y2 = centre[ln.upper] + BOX_H, centre[ln.lower]
        media = ", ".join(f"{m} {tables.n(c)}" for m, c in sorted(ln.media.items()))
        text = (
            f"{tables.n(ln.links)} links x {_speeds(ln.speeds)} on "
            f"{tables.n(ln.cables)} cables ({media})"
        )
        out.append(
            f'<g data-links="{_a(ln.lower)}-{_a(ln.upper)}" data-count="{ln.links}">'
            f'<rect x="{mid - 40:g}" y="{y1}" width="80" height="{y2 - y1}" class="band"/>'
            f'<text x="{mid:g}" y="{(y1 + y2) / 2 + 4:g}" class="link">{escape(text)}</text>'
            "</g>"
        )
    return _svg(FAB_W, height, out, plane=v.plane)


# ---- capacity --------------------------------------------------------------------------------


def capacity(phases: Sequence[Json], precision: str) -> str:
    """PFLOPS per phase against its target: achieved (available after exclusions darker),
    the target as a line."""
    w, label_w, row = 760, 90, 34
    height = 10 + row * len(phases) + 10
    scale_max = max(
        [float(p["achieved_pflops"]) for p in phases]
        + [float(p["target_pflops"]) for p in phases if p["target_pflops"] is not None]
        + [1e-9]
    )
    span = w - label_w - 230
    out: list[str] = []
    for i, p in enumerate(phases):
        y = 10 + i * row
        got, avail = float(p["achieved_pflops"]), float(p["available_pflops"])
        target = p["target_pflops"]
        meets = p["meets_target"]
        colour = OVER if meets is False else OK
        text = f"{tables.n(got)} PFLOPS {precision}"
        if target is not None:
            text += (
                f" of {tables.n(target)} ({'+' if got >= target else ''}{tables.n(got - target)})"
            )
        out.append(
            f'<g data-phase="{_a(p["name"])}" data-meets-target="{str(meets).lower()}">'
            f'<text x="4" y="{y + 16}" class="tier">{escape(p["name"])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{span * got / scale_max:.1f}" height="22" '
            f'fill="{colour}" opacity="0.45"/>'
            f'<rect x="{label_w}" y="{y}" width="{span * avail / scale_max:.1f}" height="22" '
            f'fill="{colour}"/>'
        )
        if target is not None:
            tx = label_w + span * float(target) / scale_max
            out.append(
                f'<line x1="{tx:.1f}" y1="{y - 3}" x2="{tx:.1f}" y2="{y + 25}" class="target">'
                f"<title>target {tables.n(target)} PFLOPS</title></line>"
            )
        out.append(
            f'<text x="{label_w + span + 8}" y="{y + 15}" class="label">{escape(text)}</text></g>'
        )
    return _svg(w, height, out, chart="capacity")


# ---- pods ------------------------------------------------------------------------------------

TILE_W, TILE_H = 176, 92


def pod_map(pods: Sequence[Json]) -> str:
    """One tile per pod, linking to its page: name, racks, cards, and a bar per rack showing
    its nominal power of its feed. `pods` items: name, href, phase, phase_index, hall, row,
    cards, nodes, switches and racks (the plan's rack rows of the pod)."""
    per_row = 4
    rows = -(-len(pods) // per_row) if pods else 0
    height = rows * (TILE_H + 8) + 4
    out: list[str] = []
    for i, p in enumerate(pods):
        x = 4 + (i % per_row) * (TILE_W + 8)
        y = 4 + (i // per_row) * (TILE_H + 8)
        colour = PHASE_COLOURS[int(p["phase_index"]) % len(PHASE_COLOURS)]
        racks = p["racks"]
        out.append(
            f'<a href="{_a(p["href"])}"><g data-pod="{_a(p["name"])}" data-racks="{len(racks)}">'
            f"<title>{escape(p['name'])}: {len(racks)} racks, {tables.n(p['nodes'])} nodes, "
            f"{tables.n(p['switches'])} switches, {tables.n(p['cards'])} cards</title>"
            f'<rect x="{x}" y="{y}" width="{TILE_W}" height="{TILE_H}" rx="4" class="tile" '
            f'stroke="{colour}"/>'
            f'<text x="{x + 6}" y="{y + 15}" class="name">{escape(p["short"])}</text>'
            f'<text x="{x + 6}" y="{y + 28}" class="small">{escape(p["phase"])}, '
            f"{escape(p['hall'])}/{escape(p['row'] or '-')}, {len(racks)} racks</text>"
            f'<text x="{x + 6}" y="{y + 40}" class="small">{tables.n(p["cards"])} cards, '
            f"{tables.n(p['switches'])} switches</text>"
        )
        n = max(len(racks), 1)
        bw = min(10.0, (TILE_W - 12) / n)
        base = y + TILE_H - 6
        for j, r in enumerate(racks):
            feed = float(r["feed_kw"])
            use = float(r["nominal_kw"]) / feed if feed else 0.0
            h = max(1.0, 36 * min(use, 1.0))
            out.append(
                f'<rect x="{x + 6 + j * bw:.1f}" y="{base - h:.1f}" width="{max(bw - 1, 0.5):.1f}" '
                f'height="{h:.1f}" fill="{_use_colour(100 * use)}"/>'
            )
        out.append("</g></a>")
    return _svg(4 + per_row * (TILE_W + 8), height, out, chart="pods")


# ---- facility --------------------------------------------------------------------------------

FACILITY_COLOURS = {
    "it": "#4e79a7",
    "liquid-overhead": "#76b7b2",
    "air-overhead": "#f28e2b",
    "overhead": "#bab0ac",  # a measured PUE's overhead, not split by path
    "liquid": "#76b7b2",
    "air": "#f28e2b",
}


_FAC_LABEL_W, _FAC_SPAN = 64, 680


@dataclass(frozen=True, slots=True)
class _Scale:
    top: float  # kW at the right end of the bars

    def x(self, kw: float) -> float:
        return _FAC_LABEL_W + _FAC_SPAN * kw / self.top


def _hall_power(h: Json, s: _Scale, y: float) -> list[str]:
    """The stacked power bar of a hall and its IT capacity line."""
    if h["pue_basis"] == "measured":
        parts = [("it", h["it_kw"]), ("overhead", float(h["facility_kw"]) - float(h["it_kw"]))]
    else:
        parts = [
            ("it", h["it_kw"]),
            ("liquid-overhead", h["liquid_overhead_kw"] or 0),
            ("air-overhead", h["air_overhead_kw"] or 0),
        ]
    out: list[str] = []
    at = 0.0
    for seg, value in parts:
        kw = float(value)
        out.append(
            f'<rect x="{s.x(at):.1f}" y="{y}" width="{s.x(at + kw) - s.x(at):.1f}" height="18" '
            f'fill="{FACILITY_COLOURS[seg]}" data-segment="{seg}" data-kw="{kw:.2f}">'
            f"<title>{seg.replace('-', ' ')}: {tables.kw(kw)} kW</title></rect>"
        )
        at += kw
    cap = float(h["it_capacity_kw"])
    pue = "no IT load" if h["pue"] is None else f"PUE {float(h['pue']):.3f}"
    pue += " measured" if h["pue_basis"] == "measured" else ""
    out.append(
        f'<line x1="{s.x(cap):.1f}" y1="{y - 3}" x2="{s.x(cap):.1f}" y2="{y + 21}" '
        f'class="target" data-capacity="it"><title>IT capacity {tables.kw(cap)} kW</title></line>'
        f'<text x="{_FAC_LABEL_W + _FAC_SPAN + 10}" y="{y + 13}" class="label">power '
        f"{tables.kw(h['facility_kw'])} kW ({tables.kw(h['it_kw'])} IT of "
        f"{tables.kw(cap)}), {pue}</text>"
    )
    return out


def _hall_heat(h: Json, path: str, s: _Scale, y: float) -> str:
    """A hall's heat into `path` (liquid, air) against its usable and installed capacity."""
    plant, heat = h[path], float(h[f"{path}_kw"])
    usable = float(plant["usable_kw"]) if plant else 0.0
    installed = float(plant["installed_kw"]) if plant else 0.0
    over = heat > usable + 1e-9
    lw = _FAC_LABEL_W
    if plant is None and not heat:
        what = "no liquid loop" if path == "liquid" else "no air plant"
        return (
            f'<text x="{lw - 6}" y="{y + 10}" class="small" text-anchor="end">{path}</text>'
            f'<text x="{lw + _FAC_SPAN + 10}" y="{y + 11}" class="label" data-no-plant="{path}">'
            f"{what}</text>"
        )
    return (
        f'<text x="{lw - 6}" y="{y + 10}" class="small" text-anchor="end">{path}</text>'
        f'<rect x="{lw}" y="{y + 2}" width="{s.x(installed) - lw:.1f}" height="10" '
        f'class="track"/>'
        f'<rect x="{lw}" y="{y + 2}" width="{s.x(heat) - lw:.1f}" height="10" '
        f'fill="{OVER if over else FACILITY_COLOURS[path]}" data-heat="{path}">'
        f"<title>{path} heat {tables.kw(heat)} kW</title></rect>"
        f'<line x1="{s.x(usable):.1f}" y1="{y}" x2="{s.x(usable):.1f}" y2="{y + 14}" '
        f'class="peak" data-capacity="{path}"><title>usable {path} capacity '
        f"{tables.kw(usable)} kW</title></line>"
        f'<text x="{lw + _FAC_SPAN + 10}" y="{y + 11}" class="label">{path} heat '
        f"{tables.kw(heat)} of {tables.kw(usable)} kW usable "
        f"({tables.kw(usable - heat)} free; {tables.kw(installed)} installed)</text>"
    )


def _facility_legend(y: float, measured: bool) -> list[str]:
    out: list[str] = []
    segs = [("it", "IT"), ("liquid-overhead", "liquid overhead"), ("air-overhead", "air overhead")]
    if measured:
        segs.append(("overhead", "overhead (measured PUE)"))
    for i, (seg, label) in enumerate(segs):
        lx = _FAC_LABEL_W + i * 150
        out.append(
            f'<rect x="{lx}" y="{y}" width="12" height="12" fill="{FACILITY_COLOURS[seg]}"/>'
            f'<text x="{lx + 16}" y="{y + 10}" class="small">{label}</text>'
        )
    lx = _FAC_LABEL_W + 150 * len(segs) + 10
    out.append(
        f'<line x1="{lx}" y1="{y - 1}" x2="{lx}" y2="{y + 13}" class="target"/>'
        f'<text x="{lx + 6}" y="{y + 10}" class="small">capacity (IT; usable cooling with '
        "redundant units held back)</text>"
    )
    return out


def facility(halls: Sequence[Json]) -> str:
    """Per hall: a stacked bar of its facility power (IT, liquid overhead, air overhead; one
    overhead for a measured PUE) against its IT capacity (a line), and its liquid and air heat
    against the usable capacity of its CDUs and air units (a line; the installed capacity,
    redundant units included, as the track). One scale for all bars, in kW."""
    top = max(
        [float(h["facility_kw"]) for h in halls]
        + [float(h["it_capacity_kw"]) for h in halls]
        + [float((h[p] or {}).get("installed_kw", 0)) for h in halls for p in ("liquid", "air")]
        + [1e-9]
    )
    s = _Scale(top)
    out: list[str] = []
    y = 8.0
    for h in halls:
        out.append(
            f'<g data-hall="{_a(h["hall"])}"><text x="4" y="{y + 14}" class="tier">'
            f"{escape(h['hall'])}</text>"
        )
        out += _hall_power(h, s, y)
        y += 30
        for path in ("liquid", "air"):
            out.append(_hall_heat(h, path, s, y))
            y += 18
        out.append("</g>")
        y += 14
    out += _facility_legend(y, any(h["pue_basis"] == "measured" for h in halls))
    return _svg(_FAC_LABEL_W + _FAC_SPAN + 430, y + 20, out, chart="facility")
