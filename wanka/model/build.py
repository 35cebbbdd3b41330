"""Build the model from a schema-valid document.

Resolves every reference (models, rack types, planes, pod types, halls,
rows, phases, manifest keys) and expands the compact declarations: phases
add pods, pods are made of racks, racks hold nodes and switches. Names are
derived in declaration order, so adding a phase, or a pod at the end of the
last phase, never changes an existing name:

    sz1-p1-pod03               pod
    sz1-p1-pod03-r07           rack
    sz1-p1-pod03-r07-s02       server (h: CPU host, st: storage node)
    sz1-p1-pod03-param-leaf05  switch: plane, tier, number within the pod

Problems found while building (unknown names, duplicate names, no room in a
row) are returned as findings; what cannot be resolved is left out so the
rules can still check the rest.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from wanka.findings import Finding, Mark, error
from wanka.language.loader import YMap, YSeq
from wanka.language.positions import choices_hint
from wanka.model.types import (
    Accelerator,
    Bgp,
    Cluster,
    Cpu,
    Credential,
    Drive,
    Fabric,
    NicSet,
    Node,
    NodeFacts,
    NodeModel,
    Phase,
    Plane,
    Pod,
    Qos,
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
    gbps,
    npu_key,
)

NODE_PREFIX = {"server": "s", "host": "h", "storage": "st"}
MAX_HOSTNAME = 63


def _m(ymap: Any, key: str, *, value: bool = False) -> Mark:
    """Mark of `key` in `ymap` (the key itself, or its value), or of the map."""
    if isinstance(ymap, YMap) and key in ymap:
        return ymap.value_at[key] if value else ymap.key_at[key]
    return getattr(ymap, "at", Mark("<input>", 1, 1))


def _items(ymap: Any) -> list[tuple[str, Any]]:
    return list(ymap.items()) if isinstance(ymap, dict) else []


def _list(value: Any) -> YSeq | list[Any]:
    return value if isinstance(value, list) else []


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
        self.accelerators: dict[str, Accelerator] = {}
        for key, a in _items(cat.get("accelerators")):
            self.accelerators[key] = Accelerator(
                key=key,
                generation=a["generation"],
                dies=a["dies"],
                hbm_gb=a["hbm_gb"],
                tflops=dict(a["tflops"]),
                pci_device_id=a.get("pci_device_id"),
                at=_m(cat["accelerators"], key),
            )

        self.node_models: dict[str, NodeModel] = {}
        seen: dict[str, Mark] = {}
        for section, role in (
            ("servers", "server"),
            ("hosts", "host"),
            ("storage_nodes", "storage"),
        ):
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
                c = n["cpu"]
                nics = tuple(
                    NicSet(plane=p, count=v["count"], speed=gbps(v["speed"]), at=_m(n["nics"], p))
                    for p, v in n["nics"].items()
                )
                drives = tuple(
                    Drive(
                        interface=d["interface"],
                        count=d["count"],
                        capacity_gb=d["capacity_gb"],
                        use=d.get("use", "data"),
                        raid=d.get("raid", "none"),
                        filesystem=d.get("filesystem", "xfs"),
                        mount=d.get("mount"),
                    )
                    for d in n.get("drives", [])
                )
                self.node_models[key] = NodeModel(
                    key=key,
                    role=role,  # type: ignore[arg-type]
                    cpu=Cpu(
                        vendor=c["vendor"],
                        model=c["model"],
                        arch=c["arch"],
                        sockets=c["sockets"],
                        cores_per_socket=c["cores_per_socket"],
                    ),
                    memory_gb=n["memory_gb"],
                    accelerator=acc,
                    cards=cards,
                    nics=nics,
                    bmc_speed=gbps(n.get("bmc", {}).get("speed", "1G")),
                    drives=drives,
                    rack_units=n["rack_units"],
                    power_nominal_w=n["power_w"]["nominal"],
                    power_max_w=n["power_w"]["max"],
                    liquid_share=n.get("liquid_share", 0),
                    at=at,
                    description=n.get("description", ""),
                )

        self.switch_models: dict[str, SwitchModel] = {}
        for key, s in _items(cat.get("switches")):
            self.switch_models[key] = SwitchModel(
                key=key,
                ports=s["ports"]["count"],
                speed=gbps(s["ports"]["speed"]),
                breakouts=tuple(s.get("breakouts", [])),
                port_name=s.get("port_name", "Ethernet{port}"),
                max_frame=s["max_frame"],
                rack_units=s["rack_units"],
                power_nominal_w=s["power_w"]["nominal"],
                power_max_w=s["power_w"]["max"],
                liquid_share=s.get("liquid_share", 0),
                os=s.get("os", "sonic"),
                at=_m(cat["switches"], key),
            )

        self.rack_types: dict[str, RackType] = {}
        for key, r in _items(cat.get("racks")):
            self.rack_types[key] = RackType(
                key=key,
                units=r["units"],
                power_kw=r["power_kw"],
                liquid_kw=r["cooling"]["liquid_kw"],
                air_kw=r["cooling"]["air_kw"],
                at=_m(cat["racks"], key),
            )

    # ---- networks --------------------------------------------------------
    def networks(self, spec: YMap) -> None:
        net = spec.get("networks", {})
        self.planes: dict[str, Plane] = {}
        planes = net.get("planes", {})
        for name, p in _items(planes):
            fab = None
            if "fabric" in p:
                f = p["fabric"]
                tiers: dict[str, Tier] = {}
                for t in ("leaf", "spine", "core"):
                    if t in f:
                        d = f[t]
                        if d["model"] not in self.switch_models:
                            self.unresolved(
                                "switch model",
                                d["model"],
                                self.switch_models,
                                _m(d, "model", value=True),
                            )
                        tiers[t] = Tier(
                            name=t,  # type: ignore[arg-type]
                            model=d["model"],
                            uplinks=d.get("uplinks", 0),
                            downlink_breakout=d.get("downlink_breakout"),
                            max_oversubscription=d.get("max_oversubscription", 1),
                            at=_m(f, t),
                        )
                fab = Fabric(
                    tiers=f["tiers"],
                    rail_optimised=f.get("rail_optimised", False),
                    rails=f.get("rails"),
                    spine_groups=f.get("spine_groups", "shared"),
                    leaf=tiers["leaf"],
                    spine=tiers.get("spine"),
                    core=tiers.get("core"),
                    at=_m(p, "fabric"),
                )
            qos = None
            if "qos" in p:
                q = p["qos"]
                qos = Qos(
                    dscp=q["dscp"],
                    traffic_class=q.get("traffic_class"),
                    pfc_priority=q["pfc_priority"],
                    ecn=q.get("ecn", True),
                    at=_m(p, "qos"),
                )
            cidr = None
            if "cidr" in p:
                try:
                    cidr = IPv4Network(p["cidr"])
                except ValueError as e:
                    self.findings.append(
                        error(
                            "NET-CIDR-INVALID",
                            f"plane '{name}': {e}",
                            _m(p, "cidr", value=True),
                            "write the network address, e.g. 10.64.0.0/16",
                        )
                    )
            self.planes[name] = Plane(
                name=name,
                role=p["role"],
                cidr=cidr,
                mtu=p.get("mtu", 1500),
                vlan=p.get("vlan"),
                bonded=p.get("bonded", False),
                qos=qos,
                fabric=fab,
                at=_m(planes, name),
                value_at={k: _m(p, k, value=True) for k in p},
            )
        self.loopbacks = None
        self.loopbacks_at = _m(net, "loopbacks", value=True) if "loopbacks" in net else None
        if "loopbacks" in net:
            try:
                self.loopbacks = IPv4Network(net["loopbacks"])
            except ValueError as e:
                self.findings.append(
                    error(
                        "NET-CIDR-INVALID",
                        f"loopbacks: {e}",
                        self.loopbacks_at,
                        "write the network address, e.g. 10.255.0.0/20",
                    )
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

        # node models: every NIC plane must exist
        for model in self.node_models.values():
            for nic in model.nics:
                if nic.plane not in self.planes:
                    self.unresolved("plane", nic.plane, self.planes, nic.at)

    # ---- software and credentials ---------------------------------------
    def software(self, spec: YMap) -> Software:
        sw = spec.get("software", {})
        os_ = sw.get("os", {})
        npu = sw.get("npu", {})
        drv = npu.get("driver", {})
        fw = npu.get("firmware", {})
        cann = npu.get("cann", {})
        rng = drv.get("firmware_range", {})
        return Software(
            os_name=os_.get("name"),
            os_version=os_.get("version"),
            driver_version=drv.get("version"),
            firmware_min=rng.get("min"),
            firmware_max=rng.get("max"),
            driver_packages=dict(drv.get("packages", {})),
            firmware_version=fw.get("version"),
            firmware_package=fw.get("package"),
            cann_version=cann.get("version"),
            cann_packages=dict(cann.get("packages", {})),
            at=_m(npu, "driver") if drv else None,
            firmware_at=_m(fw, "version", value=True) if fw else None,
            range_at=_m(drv, "firmware_range") if rng else None,
        )

    def credentials(self, spec: YMap) -> dict[str, Credential]:
        out = {}
        for name, c in _items(spec.get("credentials")):
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

    # ---- layout ----------------------------------------------------------
    def layout(self, spec: YMap) -> None:
        self.rows: dict[tuple[str, str], Row] = {}
        self.row_groups: dict[tuple[str, str], list[Row]] = {}
        self.halls: dict[str, Mark] = {}
        halls = spec.get("layout", {}).get("halls", [])
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
            for j, r in enumerate(h["rows"]):
                rat = h["rows"].item_at[j] if isinstance(h["rows"], YSeq) else hat
                names = (
                    [r["name"]]
                    if "count" not in r
                    else [f"{r['name']}{k:02d}" for k in range(1, r["count"] + 1)]
                )
                group = []
                for n in names:
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
                        hall=h["name"], name=n, group=r["name"], positions=r["positions"], at=rat
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
        site = cluster.name
        pod_types = spec.get("pod_types", {})
        used_rows: dict[tuple[str, str], int] = defaultdict(int)
        pod_names: dict[str, Mark] = {}
        asn_next: dict[int, int] = defaultdict(int)
        spine_asn: dict[tuple[Any, ...], int] = {}
        for phase, pdecl in self.phase_decls:
            self._phase_scope(pdecl, pod_types)
            for placement in pdecl["pods"]:
                pat = placement.at if isinstance(placement, YMap) else phase.at
                ptype_name = placement["type"]
                ptype = pod_types.get(ptype_name)
                if ptype is None:
                    self.cut_short(
                        "pod type", ptype_name, pod_types, _m(placement, "type", value=True)
                    )
                    continue
                if placement["hall"] not in self.halls:
                    self.cut_short(
                        "hall", placement["hall"], self.halls, _m(placement, "hall", value=True)
                    )
                    continue
                group = self._row_group(placement)
                if group is None:
                    continue
                if "count" in placement:
                    first = placement.get("first", 1)
                    shorts = [
                        f"{placement['name']}{k:02d}"
                        for k in range(first, first + placement["count"])
                    ]
                else:
                    shorts = [placement["name"]]
                rack_total = sum(g.get("count", 1) for g in ptype["racks"])
                for short in shorts:
                    full = f"{site}-{phase.name}-{short}"
                    if full in pod_names:
                        self.findings.append(
                            error(
                                "NAME-UNIQUE",
                                f"pod '{full}' is also defined at {pod_names[full]}",
                                _m(placement, "name", value=True),
                                "pods of one phase need distinct names; "
                                "set `first` to continue numbering",
                            )
                        )
                        continue
                    pod_names[full] = _m(placement, "name", value=True)
                    row = self._place(group, rack_total, used_rows, placement)
                    pod = Pod(
                        name=full,
                        short=short,
                        phase=phase,
                        type=ptype_name,
                        index=len(cluster.pods),
                        hall=placement["hall"],
                        row=row.name if row else None,
                        at=pat,
                    )
                    sn = ptype.get("supernode")
                    if sn:
                        pod.supernode_servers, pod.supernode_cards = sn["servers"], sn["cards"]
                        pod.supernode_at = _m(ptype, "supernode")
                    first_pos = (used_rows[(row.hall, row.name)] - rack_total + 1) if row else None
                    cluster.pods.append(pod)
                    self._fill_pod(cluster, pod, ptype, first_pos, asn_next, spine_asn)

    def _phase_scope(self, pdecl: YMap, pod_types: YMap) -> None:
        """Count the phase's spines and cores in network pods (pods without leaves of their
        plane): the leaves of the phase reach them as one set, so their ASN groups are numbered
        across those pods (`asn_group`), the way topology groups them."""
        self.scope_total: Counter[tuple[str, str]] = Counter()
        self.scope_ordinal: Counter[tuple[str, str]] = Counter()
        for placement in pdecl["pods"]:
            ptype = pod_types.get(placement["type"])
            if ptype is None:
                continue
            totals = _type_totals(ptype)
            for (plane, tier), n in totals.items():
                if tier != "leaf" and not totals[(plane, "leaf")]:
                    self.scope_total[(plane, tier)] += n * placement.get("count", 1)

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

    def _place(
        self, group: list[Row], racks: int, used: dict[tuple[str, str], int], placement: YMap
    ) -> Row | None:
        for row in group:
            if used[(row.hall, row.name)] + racks <= row.positions:
                used[(row.hall, row.name)] += racks
                return row
        free = max((r.positions - used[(r.hall, r.name)] for r in group), default=0)
        self.findings.append(
            error(
                "LAYOUT-ROW-FULL",
                f"pod '{placement['name']}' needs {racks} adjacent rack positions; "
                f"the most free in row "
                f"'{placement['row']}' is {free}",
                _m(placement, "row", value=True),
                "add rows (or positions) to the hall, or place the pod in another row",
            )
        )
        return None

    def _fill_pod(
        self,
        cluster: Cluster,
        pod: Pod,
        ptype: YMap,
        first_pos: int | None,
        asn_next: dict[int, int],
        spine_asn: dict[tuple[Any, ...], int],
    ) -> None:
        # count the pod's switches per (plane, tier) first: rails depend on the leaf count
        totals = _type_totals(ptype)
        ordinals: Counter[tuple[str, str]] = Counter()
        node_ix = 0
        servers_seen = 0
        rack_no = 0
        for g in ptype["racks"]:
            rtype = self.rack_types.get(g["rack"])
            if rtype is None:
                self.cut_short("rack type", g["rack"], self.rack_types, _m(g, "rack", value=True))
                continue
            gat = g.at
            for _ in range(g.get("count", 1)):
                rack_no += 1
                rack = Rack(
                    name=f"{pod.name}-r{rack_no:02d}",
                    pod=pod,
                    type=rtype,
                    role=g.get("role"),
                    position=first_pos + rack_no - 1 if first_pos is not None else None,
                    at=gat,
                )
                pod.racks.append(rack)
                cluster.racks.append(rack)
                unit = 1
                per_prefix: Counter[str] = Counter()
                for nd in g.get("nodes", []):
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
                                supernode = servers_seen // pod.supernode_servers
                            servers_seen += 1
                        name = f"{rack.name}-{prefix}{per_prefix[prefix]:02d}"
                        node = Node(
                            name=name,
                            pod=pod,
                            rack=rack,
                            model=model,
                            unit=unit,
                            index_in_pod=node_ix,
                            at=nd.at,
                            supernode=supernode,
                            facts=self.node_facts.get(name),
                        )
                        node_ix += 1
                        unit += model.rack_units
                        rack.nodes.append(node)
                        pod.nodes.append(node)
                        cluster.nodes.append(node)
                for sd in g.get("switches", []):
                    plane = self.planes.get(sd["plane"])
                    if plane is None:
                        self.cut_short(
                            "plane", sd["plane"], self.planes, _m(sd, "plane", value=True)
                        )
                        continue
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
                        continue
                    smodel = self.switch_models.get(tier.model)
                    if smodel is None:
                        continue  # reported with the fabric
                    key = (plane.name, sd["tier"])
                    for _k in range(sd["count"]):
                        ordinal = ordinals[key]
                        ordinals[key] += 1
                        name = f"{pod.name}-{plane.name}-{sd['tier']}{ordinal + 1:02d}"
                        rails = _rails(plane, sd["tier"], ordinal, totals[key])
                        facts = self.switch_facts.get(name)
                        if sd["tier"] != "leaf" and not totals[(plane.name, "leaf")]:
                            scope = f"{pod.phase.name}/"  # a network pod: numbered per phase
                            group = asn_group(
                                scope,
                                plane,
                                sd["tier"],
                                self.scope_ordinal[key],
                                self.scope_total[key],
                            )
                            self.scope_ordinal[key] += 1
                        else:
                            group = asn_group(pod.name, plane, sd["tier"], ordinal, totals[key])
                        asn = self._asn(pod, plane, group, facts, asn_next, spine_asn)
                        sw = Switch(
                            name=name,
                            pod=pod,
                            rack=rack,
                            plane=plane,
                            tier=sd["tier"],
                            model=smodel,
                            ordinal=ordinal,
                            unit=unit,
                            at=sd.at,
                            rails=rails,
                            asn=asn,
                            facts=facts,
                            asn_group=group,
                        )
                        unit += smodel.rack_units
                        rack.switches.append(sw)
                        pod.switches.append(sw)
                        cluster.switches.append(sw)

    def _asn(
        self,
        pod: Pod,
        plane: Plane,
        key: tuple[Any, ...],
        facts: SwitchFacts | None,
        asn_next: dict[int, int],
        groups: dict[tuple[Any, ...], int],
    ) -> int | None:
        """RFC 7938 numbering: a leaf has its own ASN; a spine group shares one; so do cores."""
        if facts is not None and facts.asn is not None:
            return facts.asn
        if self.bgp is None or plane.fabric is None or plane.fabric.tiers < 2:
            return None
        phase = pod.phase.index
        if key not in groups:
            groups[key] = self.bgp.asn_base + phase * self.bgp.asns_per_phase + asn_next[phase]
            asn_next[phase] += 1
        return groups[key]

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
            # bonded planes by plane name (one address per node)
            ports, bonded = set(), set()
            for nic in node.model.nics:
                pl = self.planes.get(nic.plane)
                if pl is not None and pl.role == "parameter":
                    continue
                if pl is not None and pl.bonded:
                    bonded.add(nic.plane)
                ports.update(node.port_names(nic.plane))
            npus = {npu_key(d) for d in range(node.npu_devices)}
            for k in f.macs:
                if k not in ports and k not in npus:
                    self.unresolved(
                        f"port or NPU of {name}", k, ports | npus, f.key_marks[f"macs.{k}"]
                    )
            for k in f.addresses:
                if k not in ports and k not in bonded and k not in npus:
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


def _type_totals(ptype: YMap) -> Counter[tuple[str, str]]:
    """Switches per (plane, tier) in one pod of this type."""
    totals: Counter[tuple[str, str]] = Counter()
    for g in ptype["racks"]:
        for s in g.get("switches", []):
            totals[(s["plane"], s["tier"])] += s["count"] * g.get("count", 1)
    return totals


def asn_group(scope: str, plane: Plane, tier: str, ordinal: int, total: int) -> tuple[Any, ...]:
    """Switches with the same key share an ASN (RFC 7938): every leaf alone; the spines of one
    group together (all spines of the scope, or one rail's share of per-rail spines); the cores
    of the scope together. The scope is the pod for pod-local spines (3 tiers), and the phase
    for the spines and cores of its network pods, which its leaves reach as one set."""
    fab = plane.fabric
    if tier == "leaf":
        return ("leaf", scope, plane.name, ordinal)
    if tier == "spine" and fab is not None and fab.tiers == 2 and fab.spine_groups == "per_rail":
        rails = fab.rails or 1
        return ("spine", scope, plane.name, ordinal * rails // max(total, 1))
    return (tier, scope, plane.name)


def _rails(plane: Plane, tier: str, ordinal: int, leaves: int) -> tuple[int, ...]:
    fab = plane.fabric
    if tier != "leaf" or fab is None or not fab.rail_optimised or not fab.rails or leaves == 0:
        return ()
    return leaf_rails(ordinal, leaves, fab.rails)


def leaf_rails(ordinal: int, leaves: int, rails: int) -> tuple[int, ...]:
    """Rails leaf `ordinal` of a pod's `leaves` serves: leaf j of L serves rail j mod R
    (L >= R), or the j-th block of R/L rails (L < R; none when R/L is not whole)."""
    if leaves >= rails:
        return (ordinal % rails,)
    per = rails // leaves if rails % leaves == 0 else 0
    if per == 0:
        return ()
    return tuple(range(ordinal * per, (ordinal + 1) * per))


def build(data: YMap, files: list[str]) -> tuple[Cluster, list[Finding]]:
    """The model of a schema-valid document, and the problems found building it."""
    b = Builder(data, files)
    spec = data["spec"]
    b.catalog(spec)
    b.networks(spec)
    b.layout(spec)
    b.manifest(spec)
    cluster = Cluster(
        name=data["metadata"]["name"],
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
        bgp=b.bgp,
        software=b.software(spec),
        credentials=b.credentials(spec),
        rows=b.rows,
        phases=b.phases(spec),
        node_facts=b.node_facts,
        switch_facts=b.switch_facts,
    )
    b.expand(spec, cluster)
    cluster.complete = not b.incomplete
    b.check_manifest_keys(cluster)
    _check_names(cluster, b.findings)
    # a bad pod type is met once per pod built from it: report each place once
    unique = {(f.rule, f.where, f.message): f for f in b.findings}
    return cluster, list(unique.values())


def _check_names(cluster: Cluster, findings: list[Finding]) -> None:
    seen: dict[str, Mark] = {}
    objs: list[Node | Switch | Rack] = [*cluster.nodes, *cluster.switches, *cluster.racks]
    for obj in objs:
        if len(obj.name) > MAX_HOSTNAME:
            findings.append(
                error(
                    "NAME-LENGTH",
                    f"derived name '{obj.name}' is longer than {MAX_HOSTNAME} characters",
                    obj.at,
                    "shorten the site, phase, pod or plane names",
                )
            )
        if obj.name in seen:
            findings.append(
                error(
                    "NAME-UNIQUE",
                    f"derived name '{obj.name}' is also produced at {seen[obj.name]}",
                    obj.at,
                )
            )
        else:
            seen[obj.name] = obj.at
