"""Generate a large, realistic, valid wanka cluster for benchmarks.

    python benchmarks/generate.py --cards 50000 [--out FILE]

writes a Cluster (apiVersion wanka/v1) with at least that many Ascend 910C
cards, rounded up to whole A3 supernodes (48 servers x 8 cards = 384 cards),
laid out the way a real site of that size is:

* compute pods: one A3 supernode each, 12 liquid-cooled compute racks of 4
  servers plus 4 network/bus racks holding the pod's leaves; servers run on
  Phytium (aarch64) hosts in odd phases and Hygon (x86_64) hosts in even ones;
* a rail-optimised 2-tier RoCE parameter plane: 8 rails, one 64 x 800GE leaf
  per rail per pod (8 x 400GE NPU ports per server on 2x400G breakouts,
  non-blocking), per-rail spine groups sized to the port budgets (fixed
  64-port spines for small sites, 576 x 800GE chassis for large ones);
* a 2-tier storage plane (bonded 2 x 200GE) with storage pods of NVMe
  storage nodes, a bonded management plane and a 1G out-of-band plane;
* a control pod of CPU-only Hygon hosts;
* the parameter and storage switches run SONiC (config_db.json and bgpd.conf
  are rendered for them), the management and out-of-band ones Debian/FRR;
* several phases that all hang off the phase-1 spines, data halls of row
  groups, and a delivery manifest with a serial and a BMC MAC for every node
  (and a serial and MAC for every switch), as a real delivery has.

Address spaces, loopbacks and the BGP ASN block per phase are sized from the
generated cluster with headroom. The output is a pure function of the
arguments: the same arguments give byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wanka.derive.ipam import subnet_size
from wanka.derive.topology import port_leaf_index
from wanka.model.names import NODE_PREFIX
from wanka.model.numbering import leaf_rails

SITE = "qy1"
CARDS_PER_SERVER = 8
SERVERS_PER_POD = 48
CARDS_PER_POD = SERVERS_PER_POD * CARDS_PER_SERVER  # one A3 supernode
TFLOPS_BF16 = 752
PODS_PER_HALL = 40  # data halls: 40 rows of 18 positions, one supernode (16 racks) per row
ROW_POSITIONS = 18
PODS_PER_PHASE = 36  # about 13,800 cards a phase
COMPUTE_PODS_PER_STORAGE_POD = 32
RAILS = 8
PARAM_UPLINKS = 24  # 48 x 400G down = 24 x 800G up: non-blocking
STORAGE_UPLINKS = 16
ASN_BASE = 4_200_000_000

# ---------------------------------------------------------------------------
# catalog (the parts that the generator's arithmetic depends on)


@dataclass(frozen=True)
class NodeModel:
    key: str
    role: str  # server | host | storage
    nics: Mapping[str, int]  # plane -> ports
    serial_prefix: str
    dies: int = 0  # NPU dies per card: each has its own address on the parameter plane


@dataclass(frozen=True)
class SwitchModel:
    key: str
    ports: int
    rack_units: int
    max_w: int


NODE_MODELS = {
    m.key: m
    for m in (
        NodeModel("a3-phytium", "server", {"param": 8, "storage": 2, "mgmt": 2}, "2102315LBF", 2),
        NodeModel("a3-hygon", "server", {"param": 8, "storage": 2, "mgmt": 2}, "2102315LBH", 2),
        NodeModel("st-nvme", "storage", {"storage": 2, "mgmt": 2}, "2102312STN"),
        NodeModel("ctl-hygon", "host", {"mgmt": 2}, "2102313CTL"),
    )
}

PARAM_SPINE_BOX = SwitchModel("spine-64x800g", 64, 2, 2800)
PARAM_SPINE_CHASSIS = SwitchModel("spine-576x800g", 576, 35, 30000)
STORAGE_SPINE_BOX = SwitchModel("sspine-64x400g", 64, 2, 1400)
STORAGE_SPINE_CHASSIS = SwitchModel("sspine-768x400g", 768, 35, 26000)


@dataclass(frozen=True)
class PlaneInfo:
    role: str
    routed: bool  # 2-tier (leaves and spines get ASNs and loopbacks)
    one_per_node: bool  # bonded or oob: one subnet per pod, one address per node
    rail_optimised: bool = False
    per_rail_spines: bool = False


PLANES = {
    "param": PlaneInfo("parameter", True, False, rail_optimised=True, per_rail_spines=True),
    "storage": PlaneInfo("storage", True, True),
    "mgmt": PlaneInfo("management", False, True),
    "oob": PlaneInfo("oob", False, True),
}
OOB = "oob"

# ---------------------------------------------------------------------------
# pod types


@dataclass(frozen=True)
class RackGroup:
    rack: str
    count: int
    role: str
    nodes: tuple[tuple[str, int], ...] = ()  # (node model, per rack)
    switches: tuple[tuple[str, str, int], ...] = ()  # (plane, tier, per rack)


@dataclass(frozen=True)
class PodType:
    key: str
    description: str
    groups: tuple[RackGroup, ...]
    supernode: bool = False

    @property
    def racks(self) -> int:
        return sum(g.count for g in self.groups)

    def switch_count(self, plane: str, tier: str) -> int:
        return sum(
            g.count * n for g in self.groups for p, t, n in g.switches if p == plane and t == tier
        )

    def nodes(self) -> Iterator[tuple[str, NodeModel]]:
        """(name suffix, model) of every node, in build order: `r03-s02`."""
        rack_no = 0
        for g in self.groups:
            for _ in range(g.count):
                rack_no += 1
                per_prefix: dict[str, int] = {}
                for model_key, n in g.nodes:
                    model = NODE_MODELS[model_key]
                    prefix = NODE_PREFIX[model.role]
                    for _k in range(n):
                        per_prefix[prefix] = per_prefix.get(prefix, 0) + 1
                        yield f"r{rack_no:02d}-{prefix}{per_prefix[prefix]:02d}", model

    def switches(self) -> Iterator[tuple[str, str]]:
        """(plane, switch name suffix) of every switch, in build order: `param-leaf03`."""
        ordinals: dict[tuple[str, str], int] = {}
        for g in self.groups:
            for _ in range(g.count):
                for plane, tier, n in g.switches:
                    for _k in range(n):
                        ordinals[(plane, tier)] = ordinals.get((plane, tier), 0) + 1
                        yield plane, f"{plane}-{tier}{ordinals[(plane, tier)]:02d}"

    @property
    def cards(self) -> int:
        return sum(CARDS_PER_SERVER for _, m in self.nodes() if m.role == "server")


def compute_pod(key: str, model: str, cpu: str) -> PodType:
    return PodType(
        key,
        f"A3 supernode, 48 servers x 8 Ascend 910C on {cpu}: 12 compute racks, 4 network/bus racks",
        (
            RackGroup("lc-60", 12, "compute", nodes=((model, 4),)),
            RackGroup(
                "net-20",
                2,
                "network",
                switches=(("param", "leaf", 2), ("storage", "leaf", 1), ("mgmt", "leaf", 1)),
            ),
            RackGroup("net-20", 2, "bus", switches=(("param", "leaf", 2), ("oob", "leaf", 1))),
        ),
        supernode=True,
    )


STORAGE_POD = PodType(
    "storage",
    # 48 nodes: their 96 bonded management ports fill one leaf pair of 48 ports (a bonded plane
    # has at most one pair per pod, NET-BOND-LEAVES)
    "48 NVMe storage nodes in 6 racks, with their leaves",
    (
        RackGroup("air-15", 6, "storage", nodes=(("st-nvme", 8),)),
        RackGroup(
            "net-20",
            1,
            "network",
            switches=(("storage", "leaf", 2), ("mgmt", "leaf", 2), ("oob", "leaf", 1)),
        ),
    ),
)

CONTROL_POD = PodType(
    "control",
    "CPU-only Hygon hosts: schedulers, monitoring, image and software repositories",
    (
        RackGroup("air-15", 2, "control", nodes=(("ctl-hygon", 12),)),
        RackGroup("net-20", 1, "network", switches=(("mgmt", "leaf", 2), ("oob", "leaf", 1))),
    ),
)


def spine_pod(key: str, plane: str, model: SwitchModel, count: int, description: str) -> PodType:
    per_rack = next(n for n in (4, 2, 1) if count % n == 0 and n * model.rack_units <= 40)
    return PodType(
        key,
        description,
        (
            RackGroup(
                "core-36", count // per_rack, "network", switches=((plane, "spine", per_rack),)
            ),
        ),
    )


# ---------------------------------------------------------------------------
# the plan


@dataclass(frozen=True)
class Placement:
    name: str
    type: PodType
    count: int | None  # None: a single, unnumbered pod
    first: int
    hall: str
    row: str

    def shorts(self) -> list[str]:
        if self.count is None:
            return [self.name]
        return [f"{self.name}{k:02d}" for k in range(self.first, self.first + self.count)]


@dataclass(frozen=True)
class Phase:
    name: str
    description: str
    status: str
    placements: tuple[Placement, ...]
    target_pflops: int
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    requested: int
    compute_pods: int
    phases: tuple[Phase, ...]
    pod_types: tuple[PodType, ...]
    param_spine: SwitchModel
    param_spines_per_rail: int
    storage_spine: SwitchModel
    storage_spines: int
    halls: int
    storage_rows: int
    core_positions: int

    def pods(self) -> Iterator[tuple[Phase, str, PodType]]:
        """(phase, full pod name, type) in build order."""
        for ph in self.phases:
            for pl in ph.placements:
                for short in pl.shorts():
                    yield ph, f"{SITE}-{ph.name}-{short}", pl.type

    @property
    def cards(self) -> int:
        return self.compute_pods * CARDS_PER_POD


def _smallest_divisor(total: int, at_least: int, fits: Callable[[int], bool]) -> int | None:
    for d in range(at_least, total + 1):
        if total % d == 0 and fits(d):
            return d
    return None


def _spines(
    leaves: int, uplinks: int, box: SwitchModel, chassis: SwitchModel, max_box: int
) -> tuple[SwitchModel, int]:
    """Model and count of the spines a group of `leaves` leaves needs: every leaf spreads its
    uplinks evenly over every spine of the group, and no spine runs out of ports."""
    for model, most in ((box, max_box), (chassis, uplinks)):

        def fits(spines: int, ports: int = model.ports) -> bool:
            return leaves * (uplinks // spines) <= ports

        n = _smallest_divisor(uplinks, 2, fits)
        if n is not None and n <= most:
            return model, n
    raise SystemExit(
        f"generate: {leaves} leaves are too many for one 2-tier spine layer "
        f"({chassis.key}): lower --cards"
    )


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _status(i: int, n: int) -> str:
    if i < max(1, math.ceil(n / 2)):
        return "live"
    if i >= n - max(1, n // 4):
        return "planned"
    return "building"


def make_plan(cards: int) -> Plan:
    if cards < 1:
        raise SystemExit("generate: --cards must be at least 1")
    pods = math.ceil(cards / CARDS_PER_POD)
    n_phases = min(pods, max(3, min(8, math.ceil(pods / PODS_PER_PHASE))))
    per_phase = _split(pods, n_phases)
    storage_per_phase = [math.ceil(n / COMPUTE_PODS_PER_STORAGE_POD) for n in per_phase]
    halls = math.ceil(pods / PODS_PER_HALL)

    phytium = compute_pod("a3-phytium", "a3-phytium", "Phytium S5000C (aarch64)")
    hygon = compute_pod("a3-hygon", "a3-hygon", "Hygon C86 7390 (x86_64)")

    # spines: the parameter plane's per-rail groups and the storage plane's shared group
    param_leaves_per_rail = pods * phytium.switch_count("param", "leaf") // RAILS
    pspine, per_rail = _spines(
        param_leaves_per_rail, PARAM_UPLINKS, PARAM_SPINE_BOX, PARAM_SPINE_CHASSIS, 8
    )
    storage_pods = sum(storage_per_phase)
    storage_leaves = pods * phytium.switch_count("storage", "leaf")
    storage_leaves += storage_pods * STORAGE_POD.switch_count("storage", "leaf")
    sspine, n_sspines = _spines(
        storage_leaves, STORAGE_UPLINKS, STORAGE_SPINE_BOX, STORAGE_SPINE_CHASSIS, 8
    )
    core_param = spine_pod(
        "core-param",
        "param",
        pspine,
        per_rail * RAILS,
        f"parameter-plane spines: {RAILS} rail groups of {per_rail} {pspine.key}",
    )
    core_storage = spine_pod(
        "core-storage",
        "storage",
        sspine,
        n_sspines,
        f"storage-plane spines: {n_sspines} {sspine.key}",
    )
    core_positions = max(core_param.racks, core_storage.racks) + 2

    phases: list[Phase] = []
    hall_pos = 0  # compute pods placed so far (40 per data hall)
    for i, (n_compute, n_storage) in enumerate(zip(per_phase, storage_per_phase, strict=True)):
        name = f"p{i + 1}"
        ptype, cpu = (phytium, "Phytium") if i % 2 == 0 else (hygon, "Hygon")
        placements: list[Placement] = []
        if i == 0:
            placements += [
                Placement("core-param", core_param, None, 1, "nh", "K"),
                Placement("core-storage", core_storage, None, 1, "nh", "K"),
                Placement("ctl", CONTROL_POD, None, 1, "nh", "C"),
            ]
        first = 1
        left = n_compute
        while left:
            hall = hall_pos // PODS_PER_HALL
            n = min(left, PODS_PER_HALL - hall_pos % PODS_PER_HALL)
            placements.append(Placement("pod", ptype, n, first, f"dh{hall + 1}", "A"))
            first += n
            left -= n
            hall_pos += n
        placements.append(Placement("stor", STORAGE_POD, n_storage, 1, "nh", "S"))
        pflops = n_compute * CARDS_PER_POD * TFLOPS_BF16 / 1000
        phases.append(
            Phase(
                name,
                f"{n_compute} A3 supernodes on {cpu} hosts ({n_compute * CARDS_PER_POD:,} cards), "
                f"{n_storage} storage pod(s)"
                + (", the spines and the control pod" if i == 0 else ""),
                _status(i, n_phases),
                tuple(placements),
                int(pflops // 10 * 10),
                () if i == 0 else ("p1",),
            )
        )
    return Plan(
        cards,
        pods,
        tuple(phases),
        (phytium, hygon, STORAGE_POD, CONTROL_POD, core_param, core_storage),
        pspine,
        per_rail,
        sspine,
        n_sspines,
        halls,
        math.ceil(storage_pods / 2),
        core_positions,
    )


# ---------------------------------------------------------------------------
# address plan: wanka's own arithmetic (rails, port -> leaf, subnet size), to size the spaces


def subnet_demand(pt: PodType, plane: str) -> list[int]:
    """Addresses of each subnet of `plane` in a pod of this type, in order: one subnet per pod on
    bonded and oob planes (a node once, however many leaves its ports reach), else one per leaf
    (one address per node port cabled to it; on the parameter plane one per NPU die behind it:
    two on a 910C card)."""
    info = PLANES[plane]
    n_leaves = pt.switch_count(plane, "leaf")
    if n_leaves == 0:
        return []
    if info.one_per_node:
        return [sum(1 for _, m in pt.nodes() if plane == OOB or m.nics.get(plane))]
    lanes = [0] * n_leaves
    rails = [leaf_rails(j, n_leaves, RAILS) for j in range(n_leaves)]
    k = 0
    for _, model in pt.nodes():
        ports = model.nics.get(plane, 0)
        if not ports:
            continue
        for i in range(ports):
            leaf = port_leaf_index(rails, info.rail_optimised, k, ports, i)
            lanes[leaf] += max(1, model.dies) if info.role == "parameter" else 1
        k += 1
    return lanes


def _space(needed: int) -> int:
    """A power-of-two space for `needed` addresses with at least a quarter to spare."""
    size = max(256, 1 << (needed - 1).bit_length())
    return size * 2 if needed * 4 > size * 3 else size


def address_plan(plan: Plan) -> dict[str, str]:
    """CIDR per plane, and of the loopbacks, packed into 10.0.0.0/8 (largest first)."""
    demand = {p: [subnet_demand(pt, p) for pt in plan.pod_types] for p in PLANES}
    by_type = {pt.key: i for i, pt in enumerate(plan.pod_types)}
    sizes: dict[str, int] = {}
    for plane in PLANES:
        cursor = 0
        for _, _, pt in plan.pods():
            for hosts in demand[plane][by_type[pt.key]]:
                size = subnet_size(hosts)
                cursor = -(-cursor // size) * size + size
        sizes[plane] = _space(cursor)
    routed = sum(
        pt.switch_count(p, t)
        for _, _, pt in plan.pods()
        for p, info in PLANES.items()
        if info.routed
        for t in ("leaf", "spine")
    )
    sizes["loopbacks"] = _space(routed)
    out: dict[str, str] = {}
    base = 0
    for key in sorted(sizes, key=lambda k: (-sizes[k], list(sizes).index(k))):
        size = sizes[key]
        if base + size > 1 << 24:
            raise SystemExit("generate: the address plan does not fit in 10.0.0.0/8")
        addr = (10 << 24) + base
        out[key] = (
            ".".join(str(addr >> s & 255) for s in (24, 16, 8, 0))
            + f"/{32 - size.bit_length() + 1}"
        )
        base += size
    return out


def asns_per_phase(plan: Plan) -> int:
    """ASNs set aside per phase: each routed leaf one, each spine group one; half again spare."""
    need: dict[str, int] = {}
    for ph, _, pt in plan.pods():
        n = sum(pt.switch_count(p, "leaf") for p, info in PLANES.items() if info.routed)
        for p, info in PLANES.items():
            spines = pt.switch_count(p, "spine")
            if info.routed and spines:
                n += min(RAILS, spines) if info.per_rail_spines else 1
        need[ph.name] = need.get(ph.name, 0) + n
    most = max(need.values())
    return max(1000, math.ceil(most * 1.5 / 1000) * 1000)


# ---------------------------------------------------------------------------
# YAML rendering

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./()+-]*(?: [A-Za-z0-9_./()+,-]+)*\Z")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}


def scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _RESERVED and ", " not in s:
        return s
    return json.dumps(s, ensure_ascii=False)


def flow(v: Any) -> str:
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k}: {flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    return scalar(v)


def text(v: str) -> str:
    """A free-text scalar in block context: plain when YAML reads it back unchanged."""
    if (
        re.fullmatch(r"[A-Za-z][^:#\"'{}\[\]&*!|>%@`]*", v)
        and not v.endswith(" ")
        and v.lower() not in _RESERVED
    ):
        return v
    return json.dumps(v, ensure_ascii=False)


def mac(prefix: int, seq: int) -> str:
    return ":".join(f"{b:02x}" for b in (0x02, prefix, *seq.to_bytes(4, "big")))


CATALOG = """\
  catalog:
    accelerators:
      ascend-910c:
        vendor: huawei
        generation: A3
        dies: 2
        hbm_gb: 128
        tflops: {bf16: 752, fp16: 752, int8: 1504}
        pci_device_id: "0xd803"

    servers:
      a3-phytium:
        description: A3 supernode server, 8 x Ascend 910C, Phytium host CPUs
        vendor: huawei
        cpu: {vendor: phytium, model: S5000C, arch: aarch64, sockets: 2, cores_per_socket: 64}
        memory_gb: 1536
        accelerator: {model: ascend-910c, count: 8}
        nics:
          param: {count: 8, speed: 400G}
          storage: {count: 2, speed: 200G}
          mgmt: {count: 2, speed: 25G}
        bmc: {protocol: redfish, speed: 1G}
        drives:
          - {interface: sata, count: 2, capacity_gb: 960, use: os, raid: raid1}
          - {interface: nvme, count: 4, capacity_gb: 7680, use: data, raid: raid0, mount: /data}
        rack_units: 6
        power_w: {nominal: 10000, max: 12000}
        liquid_share: 0.8
      a3-hygon:
        description: A3 supernode server, 8 x Ascend 910C, Hygon host CPUs
        vendor: huawei
        cpu: {vendor: hygon, model: C86 7390, arch: x86_64, sockets: 2, cores_per_socket: 32}
        memory_gb: 1536
        accelerator: {model: ascend-910c, count: 8}
        nics:
          param: {count: 8, speed: 400G}
          storage: {count: 2, speed: 200G}
          mgmt: {count: 2, speed: 25G}
        bmc: {protocol: redfish, speed: 1G}
        drives:
          - {interface: sata, count: 2, capacity_gb: 960, use: os, raid: raid1}
          - {interface: nvme, count: 4, capacity_gb: 7680, use: data, raid: raid0, mount: /data}
        rack_units: 6
        power_w: {nominal: 10000, max: 12000}
        liquid_share: 0.8

    hosts:
      ctl-hygon:
        description: control host (schedulers, monitoring, repositories), Hygon
        cpu: {vendor: hygon, model: C86 7390, arch: x86_64, sockets: 2, cores_per_socket: 32}
        memory_gb: 512
        nics:
          mgmt: {count: 2, speed: 25G}
        bmc: {protocol: redfish, speed: 1G}
        drives:
          - {interface: sata, count: 2, capacity_gb: 960, use: os, raid: raid1}
          - {interface: nvme, count: 2, capacity_gb: 3840, use: data, raid: raid1, mount: /var/lib}
        rack_units: 2
        power_w: {nominal: 800, max: 1100}

    storage_nodes:
      st-nvme:
        description: all-flash distributed storage node, 12 x 7.68 TB NVMe
        cpu: {vendor: hygon, model: C86 7390, arch: x86_64, sockets: 2, cores_per_socket: 32}
        memory_gb: 512
        nics:
          storage: {count: 2, speed: 200G}
          mgmt: {count: 2, speed: 25G}
        bmc: {protocol: redfish, speed: 1G}
        drives:
          - {interface: sata, count: 2, capacity_gb: 960, use: os, raid: raid1}
          - {interface: nvme, count: 12, capacity_gb: 7680, use: storage, filesystem: none}
        rack_units: 2
        power_w: {nominal: 1200, max: 1600}

    switches:
      leaf-64x800g:
        description: 51.2T box, 64 x 800GE (parameter-plane leaf)
        vendor: huawei
        os: sonic
        ports: {count: 64, speed: 800G, lanes: 8}
        breakouts: [2x400G, 4x200G, 8x100G]
        port_name: "800GE1/0/{port}"
        max_frame: 9216
        rack_units: 2
        power_w: {nominal: 1800, max: 2800}
      spine-64x800g:
        description: 51.2T box, 64 x 800GE (parameter-plane spine, small sites)
        vendor: huawei
        os: sonic
        ports: {count: 64, speed: 800G, lanes: 8}
        port_name: "800GE1/0/{port}"
        max_frame: 9216
        rack_units: 2
        power_w: {nominal: 1800, max: 2800}
      spine-576x800g:
        description: 16-slot chassis, 16 x 36 x 800GE (parameter-plane spine)
        vendor: huawei
        os: sonic
        ports: {count: 576, speed: 800G, lanes: 8}
        port_name: "800GE{port}"
        max_frame: 9216
        rack_units: 35
        power_w: {nominal: 22000, max: 30000}
      sleaf-64x400g:
        description: 25.6T box, 64 x 400GE (storage-plane leaf)
        vendor: huawei
        os: sonic
        ports: {count: 64, speed: 400G, lanes: 8}
        breakouts: [2x200G, 4x100G]
        port_name: "400GE1/0/{port}"
        max_frame: 9216
        rack_units: 2
        power_w: {nominal: 900, max: 1400}
      sspine-64x400g:
        description: 25.6T box, 64 x 400GE (storage-plane spine, small sites)
        vendor: huawei
        os: sonic
        ports: {count: 64, speed: 400G, lanes: 8}
        port_name: "400GE1/0/{port}"
        max_frame: 9216
        rack_units: 2
        power_w: {nominal: 900, max: 1400}
      sspine-768x400g:
        description: 16-slot chassis, 16 x 48 x 400GE (storage-plane spine)
        vendor: huawei
        os: sonic
        ports: {count: 768, speed: 400G, lanes: 4}
        port_name: "400GE{port}"
        max_frame: 9216
        rack_units: 35
        power_w: {nominal: 18000, max: 26000}
      mgmt-48x25g:
        # 48 x 25GE access ports and 8 uplink ports, counted as 25GE (one port group per
        # model): one of them is the active-backup leaf pair's peer link
        description: 48 x 25GE access switch (management) with 8 uplink ports
        vendor: huawei
        os: debian
        ports: {count: 56, speed: 25G}
        port_name: "25GE1/0/{port}"
        max_frame: 9216
        rack_units: 1
        power_w: {nominal: 250, max: 350}
      oob-48x1g:
        description: 48 x GE access switch (out-of-band, BMCs)
        vendor: huawei
        os: debian
        ports: {count: 48, speed: 1G}
        port_name: "GE1/0/{port}"
        max_frame: 9216
        rack_units: 1
        power_w: {nominal: 80, max: 120}

    racks:
      lc-60:
        description: liquid-cooled compute rack (CDU loop), 4 A3 servers
        units: 42
        power_kw: 60
        cooling: {liquid_kw: 48, air_kw: 15}
      net-20:
        description: air-cooled network or bus rack
        units: 42
        power_kw: 20
        cooling: {liquid_kw: 0, air_kw: 20}
      core-36:
        description: air-cooled core rack for spine chassis
        units: 47
        power_kw: 36
        cooling: {liquid_kw: 0, air_kw: 36}
      air-15:
        description: air-cooled storage or control rack
        units: 42
        power_kw: 15
        cooling: {liquid_kw: 0, air_kw: 15}

  software:
    os: {name: openEuler, version: "22.03 LTS SP4", kernel: "5.10.0-216.0.0.115.oe2203sp4"}
    npu:
      driver:
        version: "24.1.0.3"
        firmware_range: {min: "7.5.0", max: "7.7.99"}
        packages:
          aarch64: Ascend-hdk-910c-npu-driver_24.1.0.3_linux-aarch64.run
          x86_64: Ascend-hdk-910c-npu-driver_24.1.0.3_linux-x86-64.run
      firmware:
        version: "7.5.0.109.220"
        package: Ascend-hdk-910c-npu-firmware_7.5.0.109.220.run
      cann:
        version: "8.0.0"
        packages:
          aarch64: Ascend-cann-toolkit_8.0.0_linux-aarch64.run
          x86_64: Ascend-cann-toolkit_8.0.0_linux-x86_64.run
        kernels:
          aarch64: Atlas-A3-cann-kernels_8.0.0_linux-aarch64.run
          x86_64: Atlas-A3-cann-kernels_8.0.0_linux-x86_64.run

  credentials:
    bmc: {username: Administrator, password: {env: WANKA_BMC_PASSWORD}}
    ssh: {username: root, private_key: {file: ~/.ssh/wanka_ed25519}}
    switch: {username: admin, password: {env: WANKA_SWITCH_PASSWORD}}
"""


def _networks(plan: Plan) -> list[str]:
    cidr = address_plan(plan)
    pspine, sspine = plan.param_spine.key, plan.storage_spine.key
    return [
        "  networks:",
        f"    loopbacks: {cidr['loopbacks']}",
        "    bgp:",
        f"      asn_base: {ASN_BASE}",
        f"      asns_per_phase: {asns_per_phase(plan)}",
        "    planes:",
        "      param:",
        "        role: parameter",
        "        description: RoCE parameter plane, one 400GE port per NPU, 8 rails",
        f"        cidr: {cidr['param']}",
        "        mtu: 9000",
        "        qos: {dscp: 33, traffic_class: 132, pfc_priority: 4, ecn: true}",
        "        fabric:",
        "          tiers: 2",
        "          rail_optimised: true",
        f"          rails: {RAILS}",
        "          spine_groups: per_rail",
        f"          leaf: {{model: leaf-64x800g, uplinks: {PARAM_UPLINKS}, "
        "downlink_breakout: 2x400G, max_oversubscription: 1}",
        f"          spine: {{model: {pspine}}}",
        "      storage:",
        "        role: storage",
        "        description: RoCE storage plane to the NVMe storage pods, bonded 2 x 200GE",
        f"        cidr: {cidr['storage']}",
        "        mtu: 9000",
        "        bonded: true",
        "        qos: {dscp: 26, traffic_class: 104, pfc_priority: 3, ecn: true}",
        "        fabric:",
        "          tiers: 2",
        "          spine_groups: shared",
        f"          leaf: {{model: sleaf-64x400g, uplinks: {STORAGE_UPLINKS}, "
        "downlink_breakout: 2x200G, max_oversubscription: 2}",
        f"          spine: {{model: {sspine}}}",
        "      mgmt:",
        "        role: management",
        "        description: host management and SSH, bonded 2 x 25GE",
        f"        cidr: {cidr['mgmt']}",
        "        mtu: 1500",
        "        bonded: true",
        "        fabric:",
        "          tiers: 1",
        "          leaf: {model: mgmt-48x25g}",
        "      oob:",
        "        role: oob",
        "        description: BMCs (Redfish), 1GE",
        f"        cidr: {cidr['oob']}",
        "        mtu: 1500",
        "        fabric:",
        "          tiers: 1",
        "          leaf: {model: oob-48x1g}",
        "      ub:",
        "        role: bus",
        "        description: the supernode's unified bus (UB) between the 384 NPUs, not addressed",
    ]


def _pod_types(plan: Plan) -> list[str]:
    out = ["  pod_types:"]
    for pt in plan.pod_types:
        out.append(f"    {pt.key}:")
        out.append(f"      description: {text(pt.description)}")
        if pt.supernode:
            out.append(f"      supernode: {{servers: {SERVERS_PER_POD}, cards: {CARDS_PER_POD}}}")
        out.append("      racks:")
        for g in pt.groups:
            out.append(f"        - rack: {g.rack}")
            if g.count != 1:
                out.append(f"          count: {g.count}")
            out.append(f"          role: {g.role}")
            if g.nodes:
                out.append("          nodes:")
                out += [f"            - {flow({'model': m, 'count': n})}" for m, n in g.nodes]
            if g.switches:
                out.append("          switches:")
                out += [
                    f"            - {flow({'plane': p, 'tier': t, 'count': n})}"
                    for p, t, n in g.switches
                ]
    return out


def _layout(plan: Plan) -> list[str]:
    out = ["  layout:", "    halls:"]
    for h in range(plan.halls):
        out += [
            f"      - name: dh{h + 1}",
            f"        description: data hall {h + 1}, one A3 supernode per row",
            "        rows:",
            f"          - {{name: A, count: {PODS_PER_HALL}, positions: {ROW_POSITIONS}}}",
        ]
    out += [
        "      - name: nh",
        "        description: network hall (spines), storage and control",
        "        rows:",
        f"          - {{name: K, count: 2, positions: {plan.core_positions}}}",
        f"          - {{name: S, count: {plan.storage_rows}, positions: {ROW_POSITIONS}}}",
        f"          - {{name: C, positions: {ROW_POSITIONS}}}",
    ]
    return out


# the rack types of CATALOG: (feed kW, liquid cooling kW, air cooling kW)
RACK_RATINGS = {
    "lc-60": (60, 48, 15),
    "net-20": (20, 0, 20),
    "core-36": (36, 0, 36),
    "air-15": (15, 0, 15),
}
CDU_KW, CRAH_KW = 1200, 250


def _facility(plan: Plan) -> list[str]:
    """Every hall's plant, sized to its racks' ratings (feeds, liquid and air cooling) with
    N+1 CDUs and N+2 CRAHs; the Shenzhen example's overheads (liquid 0.05, air 0.20) and
    tariff (Guangdong's periods), for the benchmark's figures."""
    rated: dict[str, list[int]] = {}
    for ph in plan.phases:
        for pl in ph.placements:
            acc = rated.setdefault(pl.hall, [0, 0, 0])
            for g in pl.type.groups:
                for i, v in enumerate(RACK_RATINGS[g.rack]):
                    acc[i] += (pl.count or 1) * g.count * v
    out = [
        "  facility:",
        "    utilisation: 0.92",
        "    sites:",
        "      campus:",
        "        currency: CNY",
        "        bands:",
        '          peak: {price_per_kwh: 1.105, hours: ["10:00-12:00", "14:00-19:00"]}',
        "          flat: {price_per_kwh: 0.65, hours: "
        '["08:00-10:00", "12:00-14:00", "19:00-24:00"]}',
        '          valley: {price_per_kwh: 0.247, hours: ["00:00-08:00"]}',
        "    halls:",
    ]
    for hall, (feed, liquid, air) in rated.items():
        out += [f"      {hall}:", f"        it_power_kw: {feed}"]
        if liquid:
            cdus = math.ceil(liquid / CDU_KW) + 1
            loop = {"cdus": cdus, "cdu_kw": CDU_KW, "redundant": 1, "overhead": 0.05}
            out.append(f"        liquid: {flow(loop)}")
        crahs = math.ceil(air / CRAH_KW) + 2
        plant = {"units": crahs, "unit_kw": CRAH_KW, "redundant": 2, "overhead": 0.2}
        out.append(f"        air: {flow(plant)}")
    return out


def _phases(plan: Plan) -> list[str]:
    out = ["  phases:"]
    for ph in plan.phases:
        out += [
            f"    - name: {ph.name}",
            f"      description: {text(ph.description)}",
            f"      status: {ph.status}",
        ]
        if ph.depends_on:
            out.append(f"      depends_on: {flow(list(ph.depends_on))}")
        out += [f"      target_pflops: {ph.target_pflops}", "      pods:"]
        for pl in ph.placements:
            d: dict[str, Any] = {"name": pl.name, "type": pl.type.key}
            if pl.count is not None:
                d["count"] = pl.count
                if pl.first != 1:
                    d["first"] = pl.first
            d["hall"], d["row"] = pl.hall, pl.row
            out.append(f"        - {flow(d)}")
    return out


def _manifest(plan: Plan) -> list[str]:
    """Serial and BMC MAC of every node, serial and MAC of every switch, in build order;
    about one server in a thousand of the live phases is out for repair."""
    nodes = ["  manifest:", "    nodes:"]
    switches = ["    switches:"]
    seq = 0
    server_no = 0
    for ph, pod, pt in plan.pods():
        for suffix, model in pt.nodes():
            seq += 1
            facts: dict[str, Any] = {
                "serial": f"{model.serial_prefix}{seq:08d}",
                "bmc": {"mac": mac(0xA3, seq)},
            }
            if model.role == "server":
                server_no += 1
                if ph.status == "live" and server_no % 997 == 0:
                    facts["exclude"] = {
                        "reason": "NPU HBM ECC errors, board swap",
                        "ticket": f"RMA-{server_no:06d}",
                        "since": "2025-03-14",
                    }
            nodes.append(f"      {pod}-{suffix}: {flow(facts)}")
        for _plane, suffix in pt.switches():
            seq += 1
            facts = {"serial": f"2102351SW{seq:08d}", "mac": mac(0x5C, seq)}
            switches.append(f"      {pod}-{suffix}: {flow(facts)}")
    return nodes + switches


def render(plan: Plan, argv: Sequence[str]) -> str:
    servers = plan.compute_pods * SERVERS_PER_POD
    header = [
        f"# Generated by benchmarks/generate.py {' '.join(argv)}: do not edit by hand.",
        "#",
        f"# {SITE}: {plan.cards:,} Ascend 910C cards ({plan.requested:,} requested, rounded up to",
        f"# whole supernodes) in {plan.compute_pods} A3 supernode pods of 48 servers ({servers:,} "
        f"servers), {len(plan.phases)} phases.",
        f"# Parameter plane: 8 rails, {plan.param_spines_per_rail} {plan.param_spine.key} per rail;"
        f" storage plane: {plan.storage_spines} {plan.storage_spine.key}.",
        "apiVersion: wanka/v1",
        "kind: Cluster",
        "metadata:",
        f"  name: {SITE}",
        f"  description: {text(f'{plan.cards:,}-card Ascend 910C (A3) training cluster')}",
        "  site: Qingyang data center campus, Gansu",
        "  owner: infra-platform",
        f"  labels: {flow({'generator': 'benchmarks/generate.py', 'cards': str(plan.cards)})}",
        "",
        "spec:",
        "  capacity:",
        "    precision: bf16",
        "",
    ]
    parts = [
        header,
        [CATALOG.rstrip("\n")],
        [""],
        _networks(plan),
        [""],
        _pod_types(plan),
        [""],
        _layout(plan),
        [""],
        _facility(plan),
        [""],
        _phases(plan),
        [""],
        _manifest(plan),
    ]
    return "\n".join(line for part in parts for line in part) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--cards",
        type=int,
        default=50_000,
        help="accelerator cards wanted (rounded up to whole 384-card supernodes)",
    )
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    args = p.parse_args(args_list)
    doc = render(make_plan(args.cards), [f"--cards {args.cards}"])
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="\n") as f:
            f.write(doc)
    else:
        sys.stdout.write(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
