"""Build the model from a schema-valid document.

Resolves every reference (models, rack types, planes, pod types, halls,
rows, phases, manifest keys) and expands the compact declarations: phases
add pods, pods are made of racks, racks hold nodes and switches, named in
declaration order (`wanka.model.names`) and numbered as they are built
(ASNs and rails: `wanka.model.numbering`).

Problems found while building (unknown names, duplicate names, no room in a
row) are returned as findings; what cannot be resolved is left out so the
rules can still check the rest.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from wanka.findings import Finding, Mark, error, listed
from wanka.language.loader import YMap, YSeq
from wanka.language.positions import choices_hint
from wanka.model import parts, slots
from wanka.model.names import (
    NODE_PREFIX,
    check_names,
    node_name,
    pod_name,
    pod_shorts,
    rack_name,
    row_names,
    switch_name,
)
from wanka.model.numbering import AsnNumbering, PlaneTier, switch_rails, type_totals
from wanka.model.types import (
    DEFAULT_SET,
    Accelerator,
    Bgp,
    BmcTls,
    Cluster,
    Credential,
    Distances,
    Fabric,
    Mirror,
    NicSet,
    Node,
    NodeFacts,
    NodeModel,
    NpuSoftware,
    OsImage,
    Phase,
    Plane,
    Pod,
    Rack,
    RackType,
    Rollout,
    Row,
    SecretRef,
    Software,
    Switch,
    SwitchFacts,
    SwitchModel,
    Tier,
    TierName,
    gbps,
    npu_key,
    package_family,
)

NODE_SECTIONS = (("servers", "server"), ("hosts", "host"), ("storage_nodes", "storage"))


def _m(ymap: Any, key: str, *, value: bool = False) -> Mark:
    """Mark of `key` in `ymap` (the key itself, or its value), or of the map."""
    if isinstance(ymap, YMap) and key in ymap:
        return ymap.value_at[key] if value else ymap.key_at[key]
    return getattr(ymap, "at", Mark("<input>", 1, 1))


def _items(ymap: Any) -> list[tuple[str, Any]]:
    return list(ymap.items()) if isinstance(ymap, dict) else []


@dataclass(slots=True)
class _Where:
    """What the pods of one placement are placed and numbered with."""

    group: list[Row]
    used_rows: dict[tuple[str, str], int]
    pod_names: dict[str, Mark]
    numbering: AsnNumbering
    slot: int  # of its first pod


@dataclass(slots=True)
class _PodCursor:
    """Where a pod being filled is: its switch totals, and counts of what it has so far."""

    totals: Counter[PlaneTier]  # switches per (plane, tier): rails depend on the leaf count
    first_pos: int | None  # row position of its first rack
    racks: int = 0
    nodes: int = 0
    servers: int = 0
    ordinals: Counter[PlaneTier] = field(default_factory=Counter)


class Builder:
    def __init__(self, data: YMap, files: list[str]) -> None:
        self.data = data
        self.files = files
        self.findings: list[Finding] = []
        self.incomplete = False  # some pods, racks or nodes could not be built

    # ---- helpers ---------------------------------------------------------
    def cut_short(self, what: str, name: str, choices: Any, at: Mark, where: str = "") -> None:
        """An unresolved name that leaves part of the cluster unbuilt."""
        self.unresolved(what, name, choices, at, where)
        self.incomplete = True

    def unresolved(self, what: str, name: str, choices: Any, at: Mark, where: str = "") -> None:
        text = f"unknown {what} '{name}'" + (f" {where}" if where else "")
        self.findings.append(error("REF-UNRESOLVED", text, at, choices_hint(name, choices)))

    # ---- catalog ---------------------------------------------------------
    def catalog(self, spec: YMap) -> None:
        cat = spec.get("catalog", {})
        self.accelerators: dict[str, Accelerator] = {
            key: parts.accelerator(key, a, _m(cat["accelerators"], key))
            for key, a in _items(cat.get("accelerators"))
        }
        self.node_models: dict[str, NodeModel] = {}
        self._node_models(cat)
        self.switch_models: dict[str, SwitchModel] = {
            key: parts.switch_model(key, s, _m(cat["switches"], key))
            for key, s in _items(cat.get("switches"))
        }
        self.rack_types: dict[str, RackType] = {
            key: parts.rack_type(key, r, _m(cat["racks"], key))
            for key, r in _items(cat.get("racks"))
        }

    def _node_models(self, cat: YMap) -> None:
        """Server, host and storage-node models: one namespace."""
        seen: dict[str, Mark] = {}
        for section, role in NODE_SECTIONS:
            block = cat.get(section)
            for key, n in _items(block):
                at = _m(block, key)
                if key in seen:
                    self.findings.append(
                        error(
                            "NAME-UNIQUE",
                            f"node model '{key}' is also defined at {seen[key]}",
                            at,
                            "server, host and storage-node models share one namespace; rename one",
                        )
                    )
                    continue
                seen[key] = at
                self.node_models[key] = self._node_model(key, role, n, at)

    def _node_model(self, key: str, role: str, n: YMap, at: Mark) -> NodeModel:
        acc = None
        cards = 0
        if "accelerator" in n:
            acc_key = n["accelerator"]["model"]
            acc = self.accelerators.get(acc_key)
            if acc is None:
                self.unresolved(
                    "accelerator model",
                    acc_key,
                    self.accelerators,
                    _m(n["accelerator"], "model", value=True),
                )
            cards = n["accelerator"]["count"]
        return NodeModel(
            key=key,
            role=role,  # type: ignore[arg-type]
            cpu=parts.cpu(n["cpu"]),
            memory_gb=n["memory_gb"],
            accelerator=acc,
            cards=cards,
            nics=tuple(
                NicSet(plane=p, count=v["count"], speed=gbps(v["speed"]), at=_m(n["nics"], p))
                for p, v in n["nics"].items()
            ),
            bmc_speed=gbps(n.get("bmc", {}).get("speed", "1G")),
            bmc_firmware=str(n.get("bmc", {}).get("firmware", "generic")),
            drives=tuple(parts.drive(d) for d in n.get("drives", [])),
            rack_units=n["rack_units"],
            power_nominal_w=n["power_w"]["nominal"],
            power_max_w=n["power_w"]["max"],
            liquid_share=n.get("liquid_share", 0),
            at=at,
            description=n.get("description", ""),
            os_key=n.get("os"),
            os_at=_m(n, "os", value=True) if "os" in n else None,
        )

    # ---- networks --------------------------------------------------------
    def networks(self, spec: YMap) -> None:
        net = spec.get("networks", {})
        planes = net.get("planes", {})
        self.planes: dict[str, Plane] = {
            name: self._plane(name, p, _m(planes, name)) for name, p in _items(planes)
        }
        self.loopbacks: IPv4Network | None = None
        self.loopbacks_at = _m(net, "loopbacks", value=True) if "loopbacks" in net else None
        if self.loopbacks_at is not None:
            self.loopbacks = self._network(
                net["loopbacks"], "loopbacks", self.loopbacks_at, "10.255.0.0/20"
            )
        self.links_at = _m(net, "links", value=True) if "links" in net else None
        self.links = (
            self._network(net["links"], "links", self.links_at, "10.254.0.0/16")
            if self.links_at is not None
            else None
        )
        b = net.get("bgp")
        self.bgp = (
            Bgp(
                asn_base=b["asn_base"],
                asns_per_phase=b.get("asns_per_phase", 1000),
                at=_m(net, "bgp"),
            )
            if b
            else None
        )
        self._check_nic_planes()

    def _plane(self, name: str, p: YMap, at: Mark) -> Plane:
        fab = self._fabric(p["fabric"], _m(p, "fabric")) if "fabric" in p else None
        qos = parts.qos(p["qos"], _m(p, "qos")) if "qos" in p else None
        cidr = None
        if "cidr" in p:
            cidr = self._network(
                p["cidr"], f"plane '{name}'", _m(p, "cidr", value=True), "10.64.0.0/16"
            )
        return Plane(
            name=name,
            role=p["role"],
            cidr=cidr,
            mtu=p.get("mtu", 1500),
            vlan=p.get("vlan"),
            bonded=p.get("bonded", False),
            bond_mode=p.get("bond_mode", "active-backup"),
            qos=qos,
            fabric=fab,
            at=at,
            value_at={k: _m(p, k, value=True) for k in p},
        )

    def _fabric(self, f: YMap, at: Mark) -> Fabric:
        tiers: dict[str, Tier] = {}
        for t in ("leaf", "spine", "core"):
            if t in f:
                d = f[t]
                if d["model"] not in self.switch_models:
                    self.unresolved(
                        "switch model", d["model"], self.switch_models, _m(d, "model", value=True)
                    )
                tiers[t] = parts.tier(t, d, _m(f, t))
        return Fabric(
            tiers=f["tiers"],
            rail_optimised=f.get("rail_optimised", False),
            rails=f.get("rails"),
            spine_groups=f.get("spine_groups", "shared"),
            leaf=tiers["leaf"],
            spine=tiers.get("spine"),
            core=tiers.get("core"),
            at=at,
        )

    def _network(self, text: str, what: str, at: Mark, example: str) -> IPv4Network | None:
        try:
            return IPv4Network(text)
        except ValueError as e:
            self.findings.append(
                error(
                    "NET-CIDR-INVALID",
                    f"{what}: {e}",
                    at,
                    f"write the network address, e.g. {example}",
                )
            )
            return None

    def _check_nic_planes(self) -> None:
        """Node models: every NIC plane must exist."""
        for model in self.node_models.values():
            for nic in model.nics:
                if nic.plane not in self.planes:
                    self.unresolved("plane", nic.plane, self.planes, nic.at)

    # ---- software and credentials ---------------------------------------
    def software(self, spec: YMap, phases: list[Phase]) -> Software:
        sw = spec.get("software", {})
        os_ = sw.get("os", {})
        npu = sw.get("npu")
        known = {p.name for p in phases}
        sets = []
        for name, s in _items(sw.get("npu_sets")):
            one = self._npu_set(name, s, _m(sw["npu_sets"], name))
            for phase, at in zip(one.phases or (), one.phase_marks, strict=True):
                if phase not in known:
                    self.unresolved("phase", phase, known, at, f"in npu_sets.{name}.phases")
            sets.append(one)
        oses = sw.get("oses", {})
        return Software(
            os=self._os(None, os_, _m(sw, "os")) if os_ else None,
            oses={key: self._os(key, o, _m(oses, key)) for key, o in _items(oses)},
            npu=self._npu_set(DEFAULT_SET, npu, _m(sw, "npu")) if npu else None,
            sets=tuple(sets),
            mirror=self._mirror(sw["mirror"], _m(sw, "mirror")) if sw.get("mirror") else None,
        )

    @staticmethod
    def _mirror(mirror: YMap, at: Mark) -> Mirror:
        repos = mirror.get("repositories") or {}
        url_at = {
            f"repositories.{fam}.{arch}": _m(arches, arch, value=True)
            for fam, arches in repos.items()
            for arch in arches
        }
        if "ascend" in mirror:
            url_at["ascend"] = _m(mirror, "ascend", value=True)
        sha = mirror.get("sha256") or {}
        return Mirror(
            repositories={fam: dict(arches) for fam, arches in repos.items()},
            ascend=mirror.get("ascend"),
            sha256={name: str(v).lower() for name, v in sha.items()},
            at=at,
            repositories_at=_m(mirror, "repositories") if repos else None,
            url_at=url_at,
            sha256_at={name: _m(sha, name) for name in sha},
        )

    @staticmethod
    def _os(key: str | None, o: YMap, at: Mark) -> OsImage:
        name, version = str(o["name"]), str(o["version"])
        stated = o.get("family")
        return OsImage(
            key=key,
            name=name,
            version=version,
            family=stated or package_family(name),
            stated_family=stated is not None,
            at=at,
        )

    @staticmethod
    def _npu_set(name: str, npu: YMap, at: Mark) -> NpuSoftware:
        drv = npu.get("driver", {})
        fw = npu.get("firmware", {})
        cann = npu.get("cann", {})
        rng = drv.get("firmware_range", {})
        phases = npu.get("phases")
        return NpuSoftware(
            name=name,
            generation=npu.get("generation"),
            phases=tuple(phases) if phases is not None else None,
            phase_marks=tuple(phases.item_at) if phases is not None else (),
            driver_version=drv.get("version"),
            firmware_min=rng.get("min"),
            firmware_max=rng.get("max"),
            driver_packages=dict(drv.get("packages", {})),
            firmware_version=fw.get("version"),
            firmware_package=fw.get("package"),
            cann_version=cann.get("version"),
            cann_packages=dict(cann.get("packages", {})),
            kernels_packages=dict(cann.get("kernels", {})),
            at=_m(npu, "driver") if drv else at,
            firmware_at=_m(fw, "version", value=True) if fw else None,
            range_at=_m(drv, "firmware_range") if rng else None,
            cann_at=_m(npu, "cann") if cann else None,
            key_at=at,
        )

    def credentials(self, spec: YMap) -> dict[str, Credential]:
        out = {}
        for name, c in _items(spec.get("credentials")):
            if name == "bmc_tls":  # not a login: see bmc_tls()
                continue
            refs = {}
            for field_ in ("password", "private_key"):
                if field_ in c:
                    ((src, val),) = c[field_].items()
                    refs[field_] = SecretRef(source=src, name=val)
            out[name] = Credential(
                username=c["username"],
                password=refs.get("password"),
                private_key=refs.get("private_key"),
            )
        return out

    def bmc_tls(self, spec: YMap) -> BmcTls | None:
        tls = (spec.get("credentials") or {}).get("bmc_tls")
        if not isinstance(tls, dict):
            return None
        names = tls.get("insecure") or []
        at = getattr(names, "item_at", None) or [_m(tls, "insecure", value=True)] * len(names)
        return BmcTls(
            ca=tls.get("ca"),
            insecure={str(n): at[i] for i, n in enumerate(names)},
            at=_m(spec["credentials"], "bmc_tls"),
        )

    # ---- layout ----------------------------------------------------------
    def layout(self, spec: YMap) -> None:
        self.rows: dict[tuple[str, str], Row] = {}
        self.row_groups: dict[tuple[str, str], list[Row]] = {}
        self.halls: dict[str, Mark] = {}
        layout = spec.get("layout", {})
        site = Distances(**layout.get("distances", {}))
        self.between_halls_m = site.between_halls_m
        halls = layout.get("halls", [])
        for i, h in enumerate(halls):
            hat = halls.item_at[i] if isinstance(halls, YSeq) else Mark("<input>", 1, 1)
            if h["name"] in self.halls:
                self.findings.append(
                    error(
                        "NAME-UNIQUE",
                        f"hall '{h['name']}' is also defined at {self.halls[h['name']]}",
                        _m(h, "name", value=True),
                    )
                )
                continue
            self.halls[h["name"]] = hat
            hall = replace(site, **h.get("distances", {}))
            for j, r in enumerate(h["rows"]):
                rat = h["rows"].item_at[j] if isinstance(h["rows"], YSeq) else hat
                group = []
                for n in row_names(r):
                    if (h["name"], n) in self.rows:
                        self.findings.append(
                            error(
                                "NAME-UNIQUE",
                                f"row '{n}' in hall '{h['name']}' is defined twice",
                                _m(r, "name", value=True),
                            )
                        )
                        continue
                    row = Row(
                        hall=h["name"],
                        name=n,
                        group=r["name"],
                        positions=r["positions"],
                        at=rat,
                        order=sum(1 for k in self.rows if k[0] == h["name"]),
                        distances=replace(
                            hall, rack_pitch_m=r.get("rack_pitch_m", hall.rack_pitch_m)
                        ),
                    )
                    self.rows[(h["name"], n)] = row
                    group.append(row)
                self.row_groups.setdefault((h["name"], r["name"]), []).extend(group)

    # ---- phases and expansion ----------------------------------------------
    def phases(self, spec: YMap) -> list[Phase]:
        out: list[Phase] = []
        self.phase_decls: list[tuple[Phase, YMap]] = []
        seen: dict[str, Mark] = {}
        plist = spec.get("phases", [])
        for i, p in enumerate(plist):
            at = plist.item_at[i] if isinstance(plist, YSeq) else Mark("<input>", 1, 1)
            if p["name"] in seen:
                self.findings.append(
                    error(
                        "NAME-UNIQUE",
                        f"phase '{p['name']}' is also defined at {seen[p['name']]}",
                        _m(p, "name", value=True),
                    )
                )
                continue
            seen[p["name"]] = _m(p, "name", value=True)
            deps = p.get("depends_on", [])
            dep_at = tuple(deps.item_at) if isinstance(deps, YSeq) else ()
            ro = p.get("rollout")
            rollout = None
            if ro is not None:
                batch = ro.get("batch")
                rollout = Rollout(
                    batch=None if batch is None else str(batch),
                    max_fail_percent=ro.get("max_fail_percent"),
                )
            phase = Phase(
                name=p["name"],
                index=len(out),
                status=p["status"],
                target_pflops=p.get("target_pflops"),
                depends_on=tuple(deps),
                at=at,
                depends_at=dep_at,
                rollout=rollout,
            )
            out.append(phase)
            self.phase_decls.append((phase, p))
        names = [p.name for p in out]
        for ph in out:
            for d, dat in zip(ph.depends_on, ph.depends_at, strict=False):
                if d not in names:
                    self.unresolved("phase", d, names, dat)
        return out

    def expand(self, spec: YMap, cluster: Cluster) -> None:
        """Every pod, built in slot order (`wanka.model.slots`)."""
        pod_types = spec.get("pod_types", {})
        used_rows: dict[tuple[str, str], int] = defaultdict(int)
        pod_names: dict[str, Mark] = {}
        numbering = AsnNumbering(self.bgp)
        numbering.start(pod_types, [(ph.name, pd["pods"]) for ph, pd in self.phase_decls])
        placements, problems = slots.ordered(self.phase_decls)
        self.findings.extend(problems)
        for slot, phase, placement in placements:
            ptype_name = placement["type"]
            ptype = pod_types.get(ptype_name)
            if ptype is None:
                self.cut_short("pod type", ptype_name, pod_types, _m(placement, "type", value=True))
                continue
            if placement["hall"] not in self.halls:
                self.cut_short(
                    "hall", placement["hall"], self.halls, _m(placement, "hall", value=True)
                )
                continue
            group = self._row_group(placement)
            if group is None:
                continue
            where = _Where(group, used_rows, pod_names, numbering, slot)
            self._placement(cluster, phase, placement, ptype, where)
        self._retire(cluster)

    def _retire(self, cluster: Cluster) -> None:
        """Retired pods keep what they were given (`cluster.slots`), and leave the rest."""
        cluster.slots = cluster.pods
        cluster.all_switches = cluster.switches
        if any(p.retired for p in cluster.pods):
            cluster.pods = [p for p in cluster.slots if not p.retired]
            cluster.racks = [r for r in cluster.racks if not r.pod.retired]
            cluster.nodes = [n for n in cluster.nodes if not n.pod.retired]
            cluster.switches = [s for s in cluster.all_switches if not s.pod.retired]

    def _placement(
        self, cluster: Cluster, phase: Phase, placement: YMap, ptype: YMap, where: _Where
    ) -> None:
        """The pods of one placement, each in the first row of `group` with room for it. The
        pods that find no room, or whose names are taken, are one finding each for the
        placement (they share its position), naming them."""
        rack_total = sum(g.get("count", 1) for g in ptype["racks"])
        homeless: list[str] = []
        taken: list[str] = []
        at = _m(placement, "name", value=True)
        pod_names, used_rows = where.pod_names, where.used_rows
        shorts = pod_shorts(placement)
        retired = set(placement.get("retired", []))
        self._check_retired(phase, placement, shorts, retired)
        for i, short in enumerate(shorts):
            full = pod_name(cluster.name, phase.name, short)
            if full in pod_names:
                taken.append(full)
                continue
            pod_names[full] = at
            row = self._place(where.group, rack_total, used_rows)
            if row is None:
                homeless.append(full)
            pod = self._pod(cluster, phase, placement, ptype, full, short, row)
            pod.slot, pod.retired = where.slot + i, short in retired
            first_pos = (used_rows[(row.hall, row.name)] - rack_total + 1) if row else None
            self._fill_pod(cluster, pod, ptype, first_pos, where.numbering)
        if taken:
            who = f"pod {listed(taken)} is" if len(taken) == 1 else f"pods {listed(taken)} are"
            self.findings.append(
                error(
                    "NAME-UNIQUE",
                    f"{who} also defined at {pod_names[taken[0]]}",
                    at,
                    "pods of one phase need distinct names; set `first` to continue numbering",
                )
            )
        if homeless:
            self._row_full(homeless, where.group, rack_total, used_rows, placement)

    def _check_retired(
        self, phase: Phase, placement: YMap, shorts: list[str], retired: set[str]
    ) -> None:
        unknown = sorted(retired - set(shorts))
        if unknown:
            self.findings.append(
                error(
                    "POD-RETIRED",
                    f"placement '{placement['name']}' of phase {phase.name} makes no pod "
                    f"{listed(unknown)} (it makes {listed(shorts)})",
                    _m(placement, "retired", value=True),
                    "name the retired pods as the placement numbers them",
                )
            )

    def _pod(
        self,
        cluster: Cluster,
        phase: Phase,
        placement: YMap,
        ptype: YMap,
        full: str,
        short: str,
        row: Row | None,
    ) -> Pod:
        pod = Pod(
            name=full,
            short=short,
            phase=phase,
            type=placement["type"],
            index=len(cluster.pods),
            hall=placement["hall"],
            row=row.name if row else None,
            at=placement.at if isinstance(placement, YMap) else phase.at,
        )
        sn = ptype.get("supernode")
        if sn:
            pod.supernode_servers, pod.supernode_cards = sn["servers"], sn["cards"]
            pod.supernode_at = _m(ptype, "supernode")
        cluster.pods.append(pod)
        return pod

    def _row_group(self, placement: YMap) -> list[Row] | None:
        hall, row = placement["hall"], placement["row"]
        group = self.row_groups.get((hall, row))
        if group is None and (hall, row) in self.rows:
            group = [self.rows[(hall, row)]]
        if group is None:
            choices = {n for (h, n) in self.rows if h == hall} | {
                g for (h, g) in self.row_groups if h == hall
            }
            self.cut_short(
                "row", row, choices, _m(placement, "row", value=True), f"in hall '{hall}'"
            )
        return group

    def _place(self, group: list[Row], racks: int, used: dict[tuple[str, str], int]) -> Row | None:
        for row in group:
            if used[(row.hall, row.name)] + racks <= row.positions:
                used[(row.hall, row.name)] += racks
                return row
        return None

    def _row_full(
        self,
        pods: list[str],
        group: list[Row],
        racks: int,
        used: dict[tuple[str, str], int],
        placement: YMap,
    ) -> None:
        """One LAYOUT-ROW-FULL for the pods of one placement that found no room: the pods
        after the first one that does not fit find none either (the rows only fill up)."""
        free = max((r.positions - used[(r.hall, r.name)] for r in group), default=0)
        kind = placement["type"]
        who = (
            f"pod {listed(pods)} (type {kind}) needs"
            if len(pods) == 1
            else f"pods of type {kind} {listed(pods)} need"
        )
        each = "" if len(pods) == 1 else " each"
        self.findings.append(
            error(
                "LAYOUT-ROW-FULL",
                f"{who} {racks} adjacent rack positions{each}; the most free in row "
                f"'{placement['row']}' is {free}",
                _m(placement, "row", value=True),
                "add rows (or positions) to the hall, or place the pod in another row",
            )
        )

    def _fill_pod(
        self,
        cluster: Cluster,
        pod: Pod,
        ptype: YMap,
        first_pos: int | None,
        numbering: AsnNumbering,
    ) -> None:
        cursor = _PodCursor(type_totals(ptype), first_pos)
        for g in ptype["racks"]:
            rtype = self.rack_types.get(g["rack"])
            if rtype is None:
                self.cut_short("rack type", g["rack"], self.rack_types, _m(g, "rack", value=True))
                continue
            for _ in range(g.get("count", 1)):
                rack = self._add_rack(cluster, pod, rtype, g, cursor)
                unit = self._add_nodes(cluster, rack, g.get("nodes", []), cursor)
                self._add_switches(cluster, rack, g.get("switches", []), cursor, unit, numbering)

    def _add_rack(
        self, cluster: Cluster, pod: Pod, rtype: RackType, g: YMap, cursor: _PodCursor
    ) -> Rack:
        cursor.racks += 1
        first_pos = cursor.first_pos
        rack = Rack(
            name=rack_name(pod.name, cursor.racks),
            pod=pod,
            type=rtype,
            role=g.get("role"),
            position=first_pos + cursor.racks - 1 if first_pos is not None else None,
            at=g.at,
        )
        pod.racks.append(rack)
        cluster.racks.append(rack)
        return rack

    def _add_nodes(
        self, cluster: Cluster, rack: Rack, decls: list[YMap], cursor: _PodCursor
    ) -> int:
        """The rack's nodes from its lowest unit up; the next free unit."""
        pod = rack.pod
        unit = 1
        per_prefix: Counter[str] = Counter()
        for nd in decls:
            model = self.node_models.get(nd["model"])
            if model is None:
                self.cut_short(
                    "node model", nd["model"], self.node_models, _m(nd, "model", value=True)
                )
                continue
            prefix = NODE_PREFIX[model.role]
            for _k in range(nd["count"]):
                per_prefix[prefix] += 1
                supernode = None
                if model.role == "server":
                    if pod.supernode_servers:
                        supernode = cursor.servers // pod.supernode_servers
                    cursor.servers += 1
                name = node_name(rack.name, prefix, per_prefix[prefix])
                node = Node(
                    name=name,
                    pod=pod,
                    rack=rack,
                    model=model,
                    unit=unit,
                    index_in_pod=cursor.nodes,
                    at=nd.at,
                    supernode=supernode,
                    facts=self.node_facts.get(name),
                )
                cursor.nodes += 1
                unit += model.rack_units
                rack.nodes.append(node)
                pod.nodes.append(node)
                cluster.nodes.append(node)
        return unit

    def _add_switches(
        self,
        cluster: Cluster,
        rack: Rack,
        decls: list[YMap],
        cursor: _PodCursor,
        unit: int,
        numbering: AsnNumbering,
    ) -> None:
        """The rack's switches above its nodes, from `unit` up."""
        pod = rack.pod
        for sd in decls:
            resolved = self._switch_decl(sd)
            if resolved is None:
                continue
            plane, tier, smodel = resolved
            key = (plane.name, tier)
            for _k in range(sd["count"]):
                ordinal = cursor.ordinals[key]
                cursor.ordinals[key] += 1
                name = switch_name(pod.name, plane.name, tier, ordinal)
                rails = switch_rails(plane, tier, ordinal, cursor.totals[key])
                facts = self.switch_facts.get(name)
                group = numbering.group(pod, plane, tier, ordinal, cursor.totals)
                sw = Switch(
                    name=name,
                    pod=pod,
                    rack=rack,
                    plane=plane,
                    tier=tier,
                    model=smodel,
                    ordinal=ordinal,
                    unit=unit,
                    at=sd.at,
                    rails=rails,
                    asn=numbering.asn(pod, plane, group, facts),
                    facts=facts,
                    asn_group=group,
                )
                unit += smodel.rack_units
                rack.switches.append(sw)
                pod.switches.append(sw)
                cluster.switches.append(sw)

    def _switch_decl(self, sd: YMap) -> tuple[Plane, TierName, SwitchModel] | None:
        """The plane, tier and model of a rack's switch declaration; None if one is missing."""
        plane = self.planes.get(sd["plane"])
        if plane is None:
            self.cut_short("plane", sd["plane"], self.planes, _m(sd, "plane", value=True))
            return None
        tier = plane.fabric.tier(sd["tier"]) if plane.fabric else None
        if tier is None:
            self.incomplete = True
            self.findings.append(
                error(
                    "FABRIC-TIER",
                    f"plane '{plane.name}' has no {sd['tier']} tier"
                    + (
                        f" (its fabric has {plane.fabric.tiers} tier(s))"
                        if plane.fabric
                        else " (it has no fabric)"
                    ),
                    _m(sd, "tier", value=True),
                    "add the tier to the plane's fabric, or use one of its tiers",
                )
            )
            return None
        smodel = self.switch_models.get(tier.model)
        if smodel is None:
            # reported with the fabric (REF-UNRESOLVED); its switches are not built, so the
            # rules that would miss them (FABRIC-NO-LEAF, port counts) stay quiet
            self.incomplete = True
            return None
        return plane, sd["tier"], smodel

    # ---- manifest ----------------------------------------------------------
    def manifest(self, spec: YMap) -> None:
        man = spec.get("manifest", {})
        self.node_facts: dict[str, NodeFacts] = {}
        nodes = man.get("nodes", {})
        for name, f in _items(nodes):
            marks = {"serial": _m(f, "serial", value=True)}
            bmc = f.get("bmc", {})
            if "mac" in bmc:
                marks["bmc.mac"] = _m(bmc, "mac", value=True)
            if "address" in bmc:
                marks["bmc.address"] = _m(bmc, "address", value=True)
            for k in f.get("macs", {}):
                marks[f"macs.{k}"] = _m(f["macs"], k)
            for k in f.get("addresses", {}):
                marks[f"addresses.{k}"] = _m(f["addresses"], k)
            addrs = {}
            for k, v in f.get("addresses", {}).items():
                ip = self._ip(v, marks[f"addresses.{k}"])
                if ip is not None:
                    addrs[k] = ip
            self.node_facts[name] = NodeFacts(
                serial=f.get("serial"),
                bmc_mac=bmc.get("mac", "").lower() or None,
                bmc_address=(
                    self._ip(bmc["address"], marks["bmc.address"]) if "address" in bmc else None
                ),
                macs={k: v.lower() for k, v in f.get("macs", {}).items()},
                addresses=addrs,
                excluded=f["exclude"]["reason"] if "exclude" in f else None,
                at=_m(nodes, name),
                key_marks=marks,
                bmc_ca=bmc.get("ca"),
            )
        self.switch_facts: dict[str, SwitchFacts] = {}
        switches = man.get("switches", {})
        for name, f in _items(switches):
            marks = {k: _m(f, k, value=True) for k in f}
            self.switch_facts[name] = SwitchFacts(
                serial=f.get("serial"),
                mac=f.get("mac", "").lower() or None,
                asn=f.get("asn"),
                loopback=self._ip(f["loopback"], marks["loopback"]) if "loopback" in f else None,
                at=_m(switches, name),
                key_marks=marks,
            )

    def _ip(self, text: str, at: Mark) -> IPv4Address | None:
        try:
            return IPv4Address(text)
        except ValueError:
            self.findings.append(
                error("NET-ADDRESS-INVALID", f"'{text}' is not an IPv4 address", at)
            )
            return None

    def check_manifest_keys(self, cluster: Cluster) -> None:
        if self.incomplete:
            return  # names of what was not built would be reported as unknown
        nodes = {n.name: n for n in cluster.nodes}
        for name, f in self.node_facts.items():
            node = nodes.get(name)
            if node is None:
                self.unresolved("node", name, nodes, f.at)
                continue
            # host ports by name (mgmt0), NPU devices by id (npu3: A3 dies are devices),
            # bonded planes by plane name (one address per node); a bond member has a MAC
            # of its own but no address
            ports, bonded, members = set(), set(), {}
            for nic in node.model.nics:
                pl = self.planes.get(nic.plane)
                if pl is not None and pl.role == "parameter":
                    continue
                if pl is not None and pl.bonded:
                    bonded.add(nic.plane)
                    members.update(dict.fromkeys(node.port_names(nic.plane), nic.plane))
                ports.update(node.port_names(nic.plane))
            npus = {npu_key(d) for d in range(node.npu_devices)}
            for k in f.macs:
                if k not in ports and k not in npus:
                    self.unresolved(
                        f"port or NPU of {name}", k, ports | npus, f.key_marks[f"macs.{k}"]
                    )
            for k in f.addresses:
                if k in members:
                    self.findings.append(
                        error(
                            "NET-PIN-BONDED",
                            f"'{k}' of {name} is a member of the bond on plane '{members[k]}': "
                            "the address belongs to the bond, not to its member ports",
                            f.key_marks[f"addresses.{k}"],
                            f"pin it as addresses: {{{members[k]}: ...}}",
                        )
                    )
                elif k not in ports and k not in bonded and k not in npus:
                    self.unresolved(
                        f"port, NPU or bonded plane of {name}",
                        k,
                        ports | bonded | npus,
                        f.key_marks[f"addresses.{k}"],
                    )
        switches = {s.name for s in cluster.switches}
        for name, sf in self.switch_facts.items():
            if name not in switches:
                self.unresolved("switch", name, switches, sf.at)


def build(data: YMap, files: list[str]) -> tuple[Cluster, list[Finding]]:
    """The model of a schema-valid document, and the problems found building it."""
    b = Builder(data, files)
    spec = data["spec"]
    b.catalog(spec)
    b.networks(spec)
    b.layout(spec)
    b.manifest(spec)
    phases = b.phases(spec)
    cluster = Cluster(
        name=data["metadata"]["name"],
        labels=dict(data["metadata"].get("labels", {})),
        files=files,
        at=data.at,
        precision=spec.get("capacity", {}).get("precision", "fp16"),
        accelerators=b.accelerators,
        node_models=b.node_models,
        switch_models=b.switch_models,
        rack_types=b.rack_types,
        planes=b.planes,
        loopbacks=b.loopbacks,
        loopbacks_at=b.loopbacks_at,
        links=b.links,
        links_at=b.links_at,
        bgp=b.bgp,
        software=b.software(spec, phases),
        credentials=b.credentials(spec),
        bmc_tls=b.bmc_tls(spec),
        rows=b.rows,
        between_halls_m=b.between_halls_m,
        phases=phases,
        node_facts=b.node_facts,
        switch_facts=b.switch_facts,
    )
    b.expand(spec, cluster)
    cluster.complete = not b.incomplete
    b.check_manifest_keys(cluster)
    check_names(cluster, b.findings)
    # a bad pod type is met once per pod built from it: report each place once
    unique = {(f.rule, f.where, f.message): f for f in b.findings}
    return cluster, list(unique.values())
