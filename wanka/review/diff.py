"""`wanka diff`: what a change to a cluster file does, for the people reviewing it.

`compare(old, new)` joins two derived clusters by name (dicts, so it stays linear in the
size of the cluster) and returns a `Diff`:

* software versions, credential references, catalog parts, planes, phases, pods, racks,
  nodes and switches added, removed or changed (attribute by attribute). Something that
  disappears under one name and appears under another at the same place on the floor
  (hall, row, rack position, rack unit) is *renamed*, not removed and added; its
  addresses and cables are then compared under the new name;
* addresses (every port, bond, BMC and loopback), subnets and cables that change;
* capacity per phase and power and cooling per rack before and after (the figures of
  `capacity.phases` and `power.racks`, the ones `wanka plan` prints), and the bill of
  materials before and after (`bom.bom`): what to order, what is freed
  (`wanka.review.difffigures`);
* blocking findings (ids declared in `wanka.rules`): a change that would renumber
  (`DIFF-LIVE-RENUMBER`), recable (`DIFF-LIVE-RECABLE`) or remove (`DIFF-LIVE-REMOVE`)
  anything in a phase whose status in OLD is `building` or `live`. Growth is never
  blocking: new cables to a live spine take its next free ports, which cabling guarantees.

Everything is plain data (`as_json`), so the text, Markdown and JSON reports
(`wanka.review.diffout`) cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from wanka.derive.addresses import Addressing
from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.model.types import Cluster, npu_key
from wanka.review import facilitydiff
from wanka.review.diffattrs import attributes, change_op, join_changed, rack_place, unit_place
from wanka.review.difffigures import figures

FROZEN = ("building", "live")  # phase statuses whose hardware must not be renumbered, ...
HINT = "if this is intended (a planned outage), rerun with --allow-live-changes"

GLOBAL = ("software", "credential", "catalog", "plane")  # things of no phase
KINDS = (*GLOBAL, "phase", "pod", "rack", "node", "switch")


@dataclass(frozen=True, slots=True)
class Change:
    """One thing added, removed, changed or renamed. `fields` maps an attribute to its
    (old, new) value; for added/removed things it holds the one side's attributes."""

    kind: str  # phase | pod | rack | node | switch | address | subnet | cable
    op: str  # added | removed | changed | renamed
    name: str  # the new name (the old one for removed things)
    phase: str | None
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    old_name: str | None = None  # for renamed things

    def as_json(self) -> Json:
        out: Json = {"kind": self.kind, "op": self.op, "name": self.name, "phase": self.phase}
        if self.old_name is not None:
            out["old_name"] = self.old_name
        out["fields"] = {k: {"old": o, "new": n} for k, (o, n) in self.fields.items()}
        return out


@dataclass(frozen=True, slots=True)
class Blocking:
    """A change to a building or live phase: which rule, phase, device, old -> new."""

    rule: str
    phase: str
    status: str
    subject: str  # the device, rack, pod or phase
    what: str  # what happens to it
    old: str | None
    new: str | None

    @property
    def message(self) -> str:
        if self.what == "renamed":  # the subject is the old name: say it once
            kind = self.subject.split(" ", 1)[0]
            return f"phase {self.phase} ({self.status}): {kind} renamed: {self.old} -> {self.new}"
        change = f": {self.old} -> {self.new}" if self.old is not None or self.new else ""
        if self.old is not None and not self.new:
            change = f": {self.old} -> (none)"
        return f"phase {self.phase} ({self.status}): {self.subject} {self.what}{change}"

    def as_json(self) -> Json:
        return {
            "rule": self.rule,
            "phase": self.phase,
            "status": self.status,
            "subject": self.subject,
            "what": self.what,
            "old": self.old,
            "new": self.new,
            "message": self.message,
            "hint": HINT,
        }


@dataclass(slots=True)
class Diff:
    old_label: str
    new_label: str
    old_cluster: str
    new_cluster: str
    things: list[Change] = field(default_factory=list)  # phases, pods, racks, nodes, switches
    addresses: list[Change] = field(default_factory=list)
    subnets: list[Change] = field(default_factory=list)
    cables: list[Change] = field(default_factory=list)
    blocking: list[Blocking] = field(default_factory=list)
    phases: list[Json] = field(default_factory=list)  # capacity per phase, before and after
    racks: list[Json] = field(default_factory=list)  # racks whose power or cooling changes
    bom: list[Json] = field(default_factory=list)  # bill-of-materials lines that change
    totals: Json = field(default_factory=dict)
    facility: Json = field(default_factory=dict)  # per hall, before and after (facilitydiff)
    allow_live_changes: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.things
            or self.addresses
            or self.subnets
            or self.cables
            or self.bom
            or self.facility.get("changed")
        )

    @property
    def blocked(self) -> bool:
        return bool(self.blocking) and not self.allow_live_changes

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for ch in (*self.things, *self.addresses, *self.subnets, *self.cables):
            row = out.setdefault(ch.kind, {"added": 0, "removed": 0, "changed": 0, "renamed": 0})
            row[ch.op] += 1
        order = {k: i for i, k in enumerate((*KINDS, "address", "subnet", "cable"))}
        return dict(sorted(out.items(), key=lambda kv: order[kv[0]]))

    def as_json(self, limit: int = 0) -> Json:
        """Everything as plain data; with `limit`, at most that many items per list (for the
        text and Markdown reports; `sizes` still says how many there are)."""

        def cap(items: list[Any]) -> list[Any]:
            return items[:limit] if limit > 0 else items

        lists: dict[str, list[Any]] = {
            "blocking": self.blocking,
            "changes": self.things,
            "addresses": self.addresses,
            "subnets": self.subnets,
            "cables": self.cables,
        }
        return {
            "old": {"file": self.old_label, "cluster": self.old_cluster},
            "new": {"file": self.new_label, "cluster": self.new_cluster},
            "blocked": self.blocked,
            "allow_live_changes": self.allow_live_changes,
            "rules": dict(Counter(b.rule for b in self.blocking)),
            "sizes": {**{k: len(v) for k, v in lists.items()}, "racks": len(self.racks)},
            **{k: [x.as_json() for x in cap(v)] for k, v in lists.items()},
            "counts": self.counts(),
            "totals": self.totals,
            "phases": self.phases,
            "racks": cap(self.racks),
            "bom": self.bom,
            "facility": self.facility,
        }


# Attributes whose change to a building or live device is blocking, and why.
_REPLACED = {"model", "type", "plane", "tier"}  # another part: the old one is removed
_MOVED = {"rack", "unit", "position", "hall", "row", "pod"}  # it moves: recabled
_RENUMBERED = {"asn"}


@dataclass(slots=True)
class _Side:
    """One cluster, indexed by name."""

    d: Derived
    attrs: dict[str, dict[str, Json]]
    phase_of: dict[str, str]  # pod, rack, node and switch name -> phase name
    status: dict[str, str]  # phase name -> status
    places: dict[str, dict[tuple[Any, ...], str]]  # kind -> place -> name
    pod_of: dict[str, str]  # rack, node and switch name -> pod name

    @classmethod
    def of(cls, d: Derived) -> _Side:
        c = d.cluster
        attrs = attributes(c)
        phase_of: dict[str, str] = {}
        for p in c.pods:
            phase_of[p.name] = p.phase.name
        for r in c.racks:
            phase_of[r.name] = r.pod.phase.name
        for n in c.nodes:
            phase_of[n.name] = n.pod.phase.name
        for s in c.switches:
            phase_of[s.name] = s.pod.phase.name
        places: dict[str, dict[tuple[Any, ...], str]] = {"rack": {}, "node": {}, "switch": {}}
        for r in c.racks:
            rp = rack_place(r)
            if rp is not None:
                places["rack"][rp] = r.name
        for kind, items in (("node", c.nodes), ("switch", c.switches)):
            for dev in items:
                up = unit_place(dev)
                if up is not None:
                    places[kind][up] = dev.name
        pod_of = {r.name: r.pod.name for r in c.racks}
        pod_of.update((n.name, n.pod.name) for n in c.nodes)
        pod_of.update((s.name, s.pod.name) for s in c.switches)
        status = {p.name: p.status for p in c.phases}
        return cls(d, attrs, phase_of, status, places, pod_of)

    def frozen(self, name: str) -> tuple[str, str] | None:
        """(phase, status) of a pod, rack or device if its phase is building or live."""
        phase = self.phase_of.get(name)
        if phase is None:
            return None
        status = self.status[phase]
        return (phase, status) if status in FROZEN else None


def _renames(old: _Side, new: _Side) -> dict[str, str]:
    """Old name -> new name of racks, nodes and switches that stay where they are under
    another name, and of pods all of whose racks are renamed to one pod."""
    out: dict[str, str] = {}
    for kind in ("rack", "node", "switch"):
        gone = old.attrs[kind].keys() - new.attrs[kind].keys()
        if not gone:
            continue
        came = new.attrs[kind].keys() - old.attrs[kind].keys()
        by_place = {p: n for p, n in new.places[kind].items() if n in came}
        for place, name in old.places[kind].items():
            if name in gone and place in by_place:
                out[name] = by_place[place]
    gone_pods = old.attrs["pod"].keys() - new.attrs["pod"].keys()
    if gone_pods:
        new_pod_of_rack = {r: a["pod"] for r, a in new.attrs["rack"].items()}
        for pod in old.d.cluster.pods:
            if pod.name not in gone_pods or not pod.racks:
                continue
            targets = {new_pod_of_rack.get(out.get(r.name, "")) for r in pod.racks}
            if len(targets) == 1:
                (target,) = targets
                if target is not None and target not in old.attrs["pod"]:
                    out[pod.name] = target
    return out


def _things(old: _Side, new: _Side, rn: Mapping[str, str], diff: Diff) -> None:
    """Phases, pods, racks, nodes, switches; blocking removals, moves and renames."""
    removed: set[str] = set()
    for kind in KINDS:
        _kind_changes(kind, old, new, rn, diff, removed)
    _removal_blocking(old, removed, diff)


def _kind_changes(
    kind: str, old: _Side, new: _Side, rn: Mapping[str, str], diff: Diff, removed: set[str]
) -> None:
    """The things of one kind renamed, removed (added to `removed`), changed and added."""
    o_all, n_all = old.attrs[kind], new.attrs[kind]
    renamed_to = set()
    for name, o in o_all.items():
        target = rn.get(name)
        if target is not None:
            renamed_to.add(target)
            _renamed(kind, name, target, old, new, rn, diff)
            continue
        phase = o.get("phase") if kind == "pod" else old.phase_of.get(name)
        if kind == "phase" or kind in GLOBAL:
            phase = name if kind == "phase" else None
        if name not in n_all:
            removed.add(name)
            diff.things.append(Change(kind, "removed", name, phase, _one_side(o, old=True)))
            continue
        fields = _changed(_translate(o, rn), n_all[name])
        if fields:
            diff.things.append(Change(kind, "changed", name, phase, fields))
            if kind != "phase" and kind not in GLOBAL:
                fr = old.frozen(name)
                if fr is not None:
                    _attr_blocking(kind, name, fr, fields, diff)
    for name, n in n_all.items():
        if name not in o_all and name not in renamed_to:
            phase = name if kind == "phase" else None if kind in GLOBAL else new.phase_of.get(name)
            if kind == "pod":
                phase = n["phase"]
            diff.things.append(Change(kind, "added", name, phase, _one_side(n, old=False)))


def _translate(attrs: Json, rn: Mapping[str, str]) -> Json:
    """Old attributes with the pods and racks they name under their new names."""
    return {k: rn.get(v, v) if k in ("pod", "rack") else v for k, v in attrs.items()}


def _renamed(
    kind: str,
    name: str,
    target: str,
    old: _Side,
    new: _Side,
    rn: Mapping[str, str],
    diff: Diff,
) -> None:
    fields = _changed(_translate(old.attrs[kind][name], rn), new.attrs[kind][target])
    diff.things.append(Change(kind, "renamed", target, new.phase_of.get(target), fields, name))
    fr = old.frozen(name)
    if fr is not None and old.pod_of.get(name) not in rn:  # else: the pod says it
        diff.blocking.append(
            Blocking("DIFF-LIVE-RENUMBER", *fr, f"{kind} {name}", "renamed", name, target)
        )
        _attr_blocking(kind, target, fr, fields, diff)


def _removal_blocking(old: _Side, removed: set[str], diff: Diff) -> None:
    """Removals: report the biggest thing removed (a phase, else its pods, else racks, ...)."""
    c = old.d.cluster
    for ph in c.phases:
        if ph.name in removed and ph.status in FROZEN:
            diff.blocking.append(
                Blocking(
                    "DIFF-LIVE-REMOVE",
                    ph.name,
                    ph.status,
                    f"phase {ph.name}",
                    "removed",
                    None,
                    None,
                )
            )
    for pod in c.pods:
        if pod.name in removed and pod.phase.name not in removed:
            _removed(old, "pod", pod.name, diff)
    for r in c.racks:
        if r.name in removed and r.pod.name not in removed:
            _removed(old, "rack", r.name, diff)
    for kind, devs in (("node", c.nodes), ("switch", c.switches)):
        for dev in devs:
            if dev.name in removed and dev.rack.name not in removed and dev.pod.name not in removed:
                _removed(old, kind, dev.name, diff)


def _removed(old: _Side, kind: str, name: str, diff: Diff) -> None:
    fr = old.frozen(name)
    if fr is not None:
        diff.blocking.append(
            Blocking("DIFF-LIVE-REMOVE", *fr, f"{kind} {name}", "removed", None, None)
        )


def _attr_blocking(
    kind: str, name: str, fr: tuple[str, str], fields: Mapping[str, tuple[Any, Any]], diff: Diff
) -> None:
    for key, (o, n) in fields.items():
        if key in _REPLACED:
            rule, what = "DIFF-LIVE-REMOVE", f"replaced ({key})"
        elif key in _MOVED:
            rule, what = "DIFF-LIVE-RECABLE", f"moves ({key})"
        elif key in _RENUMBERED:
            rule, what = "DIFF-LIVE-RENUMBER", f"renumbered ({key})"
        else:
            continue
        diff.blocking.append(Blocking(rule, *fr, f"{kind} {name}", what, _s(o), _s(n)))


def _s(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, list):
        return ",".join(str(x) for x in v) or "[]"
    return str(v)


def _changed(o: Json, n: Json) -> dict[str, tuple[Any, Any]]:
    keys = [*o, *(k for k in n if k not in o)]  # a list, not a set: a stable order
    return {k: (o.get(k), n.get(k)) for k in keys if o.get(k) != n.get(k)}


def _one_side(a: Json, *, old: bool) -> dict[str, tuple[Any, Any]]:
    return {k: ((v, None) if old else (None, v)) for k, v in a.items() if v not in (None, [])}


# ---- addresses, subnets, cables -----------------------------------------------------------


def _addresses(
    a: Addressing, c: Cluster, rn: Mapping[str, str]
) -> dict[tuple[str, str], IPv4Address]:
    """(device, what) -> address, device names translated by `rn`."""
    role = {p.name: p.role for p in c.planes.values()}
    out: dict[tuple[str, str], IPv4Address] = {}
    for (node, plane, index), ip in a.ports.items():
        what = npu_key(index) if role.get(plane) == "parameter" else f"{plane}{index}"
        out[(rn.get(node, node), what)] = ip
    for (node, plane), ip in a.bonds.items():
        out[(rn.get(node, node), plane)] = ip
    for node, ip in a.bmcs.items():
        out[(rn.get(node, node), "bmc")] = ip
    for sw, ip in a.loopbacks.items():
        out[(rn.get(sw, sw), "loopback")] = ip
    return out


def _subnets(a: Addressing, rn: Mapping[str, str]) -> dict[tuple[str, str], str]:
    return {(s.plane, rn.get(s.owner, s.owner)): str(s.network) for s in a.subnets}


_CableKey = tuple[str, str]
_CableValue = tuple[str, str, int, str, int, str | None]


def _cables(d: Derived, rn: Mapping[str, str]) -> dict[_CableKey, _CableValue]:
    """(lower device, its port) -> (upper device, its port, speed, media, length, breakout)."""
    return {
        (rn.get(cb.a.device, cb.a.device), cb.a.port): (
            rn.get(cb.b.device, cb.b.device),
            cb.b.port,
            cb.speed,
            cb.media,
            cb.length_m,
            cb.breakout,
        )
        for cb in d.cabling.cables
    }


def _cable_text(v: _CableValue | None) -> str | None:
    if v is None:
        return None
    dev, port, speed, media, length, bo = v
    return f"{dev} {port} ({speed}G {media} {length} m{', ' + bo if bo else ''})"


Renumbered = dict[tuple[str, str], list[tuple[str, str | None, str | None]]]
# (phase, status) -> (what, old address, new address) of a building or live phase


def _wires(old: _Side, new: _Side, rn: Mapping[str, str], diff: Diff) -> None:
    """Addresses, subnets and cables; blocking renumbering and recabling."""
    back = {v: k for k, v in rn.items()}  # new name -> old name, to find a device's old phase
    renumbered: Renumbered = {}
    _address_changes(old, new, rn, back, diff, renumbered)
    _subnet_changes(old, new, rn, back, diff, renumbered)
    _renumber_blocking(renumbered, diff)
    _cable_changes(old, new, rn, back, diff)


def _phase_of(dev: str, old: _Side, new: _Side, back: Mapping[str, str]) -> str | None:
    return new.phase_of.get(dev) or old.phase_of.get(back.get(dev, dev))


def _kept_devices(new: _Side) -> set[str]:
    return new.attrs["node"].keys() | new.attrs["switch"].keys()


def _address_changes(
    old: _Side,
    new: _Side,
    rn: Mapping[str, str],
    back: Mapping[str, str],
    diff: Diff,
    renumbered: Renumbered,
) -> None:
    kept_new = _kept_devices(new)
    oa = _addresses(old.d.addressing, old.d.cluster, rn)
    na = _addresses(new.d.addressing, new.d.cluster, {})
    for (dev, what), o_ip, n_ip in join_changed(oa, na):
        o, n = _s(o_ip), _s(n_ip)
        phase = _phase_of(dev, old, new, back)
        diff.addresses.append(
            Change("address", change_op(o, n), f"{dev} {what}", phase, {"address": (o, n)})
        )
        if o is not None and dev in kept_new:
            fr = old.frozen(back.get(dev, dev))
            if fr is not None:
                renumbered.setdefault(fr, []).append((f"{dev} {what}", o, n))


def _subnet_changes(
    old: _Side,
    new: _Side,
    rn: Mapping[str, str],
    back: Mapping[str, str],
    diff: Diff,
    renumbered: Renumbered,
) -> None:
    kept_new = _kept_devices(new)
    os_, ns = _subnets(old.d.addressing, rn), _subnets(new.d.addressing, {})
    for (plane, owner), o, n in join_changed(os_, ns):
        phase = _phase_of(owner, old, new, back)
        diff.subnets.append(
            Change("subnet", change_op(o, n), f"{plane} {owner}", phase, {"network": (o, n)})
        )
        if o is not None and (owner in kept_new or owner in new.attrs["pod"]):
            fr = old.frozen(back.get(owner, owner))
            if fr is not None:
                renumbered.setdefault(fr, []).append((f"subnet {plane} of {owner}", o, n))


def _renumber_blocking(renumbered: Renumbered, diff: Diff) -> None:
    """One finding per device (or subnet): what changed first, and how many more."""
    for (phase, status), items in renumbered.items():
        per_subject: dict[str, list[tuple[str, str | None, str | None]]] = {}
        for what, o, n in items:
            subject = what.split(" ", 1)[0] if not what.startswith("subnet ") else what
            per_subject.setdefault(subject, []).append((what, o, n))
        for subject, rows in per_subject.items():
            what, o, n = rows[0]
            more = f" (and {len(rows) - 1} more of its addresses)" if len(rows) > 1 else ""
            label = what if what.startswith("subnet ") else f"{subject}"
            detail = "" if what.startswith("subnet ") else f"{what.split(' ', 1)[1]} "
            diff.blocking.append(
                Blocking(
                    "DIFF-LIVE-RENUMBER", phase, status, label, f"{detail}renumbered{more}", o, n
                )
            )


def _cable_changes(
    old: _Side, new: _Side, rn: Mapping[str, str], back: Mapping[str, str], diff: Diff
) -> None:
    gone = old.attrs["node"].keys() | old.attrs["switch"].keys()
    gone -= _kept_devices(new)
    gone -= rn.keys()
    oc, nc = _cables(old.d, rn), _cables(new.d, {})
    for (dev, port), o, n in join_changed(oc, nc):
        phase = _phase_of(dev, old, new, back)
        diff.cables.append(
            Change(
                "cable",
                change_op(o, n),
                f"{dev} {port}",
                phase,
                {"to": (_cable_text(o), _cable_text(n))},
            )
        )
        if o is None:
            continue  # a new cable: growth
        ends = (dev, o[0])
        if any(e in gone for e in ends):
            continue  # its device is removed: DIFF-LIVE-REMOVE says so
        # a cable is there (or being pulled) only if both its ends are building or live
        fr, other = old.frozen(back.get(dev, dev)), old.frozen(back.get(o[0], o[0]))
        if fr is not None and other is not None:
            what = "cable removed" if n is None else "recabled"
            diff.blocking.append(
                Blocking(
                    "DIFF-LIVE-RECABLE", *fr, f"{dev} {port}", what, _cable_text(o), _cable_text(n)
                )
            )


# ---- entry point ----------------------------------------------------------------------------


def compare(
    old: Derived,
    new: Derived,
    *,
    old_label: str = "OLD",
    new_label: str = "NEW",
    allow_live_changes: bool = False,
) -> Diff:
    """The semantic difference between two derived clusters (see the module docstring)."""
    o, n = _Side.of(old), _Side.of(new)
    diff = Diff(
        old_label,
        new_label,
        old.cluster.name,
        new.cluster.name,
        allow_live_changes=allow_live_changes,
    )
    rn = _renames(o, n)
    _things(o, n, rn, diff)
    _wires(o, n, rn, diff)
    fig = figures(old, new, rn)
    diff.phases, diff.racks, diff.bom, diff.totals = fig.phases, fig.racks, fig.bom, fig.totals
    diff.facility = facilitydiff.compare(old, new)
    # the gravest first: removals, then renumbering, then recabling
    rank = {"DIFF-LIVE-REMOVE": 0, "DIFF-LIVE-RENUMBER": 1, "DIFF-LIVE-RECABLE": 2}
    diff.blocking.sort(key=lambda b: (rank[b.rule], b.phase, b.subject))
    return diff
