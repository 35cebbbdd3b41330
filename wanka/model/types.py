"""The cluster model: typed, immutable objects that every later stage reads.

Catalog and declarations mirror the YAML; `Pod`, `Rack`, `Node` and `Switch`
are the expanded, named things (`sz1-p1-pod03-r07-s02`). Every object keeps
the `Mark` of the declaration it came from, so rules can point at it.
Speeds are integers in Gb/s; power in W; cooling and feeds in kW.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Literal

from wanka.findings import Mark
from wanka.model.facility import Facility
from wanka.model.software import OsImage, Software

Role = Literal["server", "host", "storage"]
PlaneRole = Literal["parameter", "storage", "management", "oob", "bus"]
TierName = Literal["leaf", "spine", "core"]
TIERS: tuple[TierName, ...] = ("leaf", "spine", "core")


class UnknownPhase(ValueError):
    """A phase name the cluster does not have: the one phase lookup (`Cluster.require_phase`)."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown phase '{name}' (phases: {', '.join(known)})")
        self.name = name
        self.known = known


def npu_key(device: int) -> str:
    """Manifest key of NPU device N (`hccn_tool -i N`): its pinned address or MAC.
    On A3 each die is a device: card c holds devices 2c and 2c+1, both on the card's port."""
    return f"npu{device}"


def gbps(speed: str) -> int:
    """'400G' -> 400."""
    return int(speed.rstrip("G"))


def breakout_lanes(mode: str) -> tuple[int, int]:
    """'2x200G' -> (2, 200)."""
    n, speed = mode.split("x", 1)
    return int(n), gbps(speed)


@dataclass(frozen=True, slots=True, kw_only=True)
class Accelerator:
    key: str
    generation: str  # A2 | A3
    dies: int
    hbm_gb: int
    tflops: dict[str, float]
    pci_device_id: str | None
    at: Mark


@dataclass(frozen=True, slots=True, kw_only=True)
class Cpu:
    vendor: str
    model: str
    arch: str
    sockets: int
    cores_per_socket: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NicSet:
    plane: str
    count: int
    speed: int  # Gb/s
    at: Mark


@dataclass(frozen=True, slots=True, kw_only=True)
class Drive:
    interface: str
    count: int
    capacity_gb: float
    use: str
    raid: str
    filesystem: str
    mount: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeModel:
    key: str
    role: Role
    cpu: Cpu
    memory_gb: int
    accelerator: Accelerator | None
    cards: int
    nics: tuple[NicSet, ...]
    bmc_speed: int
    drives: tuple[Drive, ...]
    rack_units: int
    power_nominal_w: float
    power_max_w: float
    liquid_share: float
    at: Mark
    description: str = ""
    bmc_firmware: str = "generic"  # the lab's BMC profile (schema: bmc.firmware)
    os_key: str | None = None  # a key of software.oses; None: software.os
    os_at: Mark | None = None

    def nic(self, plane: str) -> NicSet | None:
        for n in self.nics:
            if n.plane == plane:
                return n
        return None


SwitchOs = Literal["sonic", "debian", "vrp"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PortGroup:
    """Ports `first`..`first + count - 1` (1-based, numbered across the model's groups) of one
    speed. `first_lane` is the lane offset of the group's first port: SONiC names port p
    `Ethernet<first_lane + (p - first) x lanes>`."""

    first: int
    count: int
    speed: int  # Gb/s
    lanes: int | None  # SerDes lanes per port; None: not given (Debian/FRR models need none)
    first_lane: int
    breakouts: tuple[str, ...]
    at: Mark

    @property
    def last(self) -> int:
        return self.first + self.count - 1

    def first_lane_of(self, port: int) -> int:
        return self.first_lane + (port - self.first) * (self.lanes or 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchModel:
    key: str
    ports: int  # all groups
    speed: int  # of the first group (the ports nodes take)
    breakouts: tuple[str, ...]  # of the first group
    port_name: str
    max_frame: int
    rack_units: int
    power_nominal_w: float
    power_max_w: float
    liquid_share: float
    os: SwitchOs
    at: Mark
    groups: tuple[PortGroup, ...] = ()
    platform: str | None = None  # SONiC DEVICE_METADATA platform / hwsku
    hwsku: str | None = None

    def group(self, port: int) -> PortGroup:
        """The port group port `port` (1-based) is in; ports past the last count as the last
        group's (PORT-CAPACITY reports them)."""
        for g in self.groups:
            if port <= g.last:
                return g
        return self.groups[-1]

    def port_speed(self, port: int) -> int:
        """Gb/s of port `port` (1-based)."""
        if len(self.groups) == 1:
            return self.speed
        return self.group(port).speed

    @property
    def mixed(self) -> bool:
        return len({g.speed for g in self.groups}) > 1

    def describe_ports(self) -> str:
        """'64x400G', or '48x25G+8x100G'."""
        return "+".join(f"{g.count}x{g.speed}G" for g in self.groups)


@dataclass(frozen=True, slots=True, kw_only=True)
class RackType:
    key: str
    units: int
    power_kw: float
    liquid_kw: float
    air_kw: float
    at: Mark


@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    name: TierName
    model: str
    uplinks: int
    downlink_breakout: str | None
    max_oversubscription: float
    at: Mark
    mlag: bool = False  # the pod's leaf pair runs M-LAG (refused: not rendered, BOND-MLAG)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fabric:
    tiers: int
    rail_optimised: bool
    rails: int | None
    spine_groups: str  # shared | per_rail
    leaf: Tier
    spine: Tier | None
    core: Tier | None
    at: Mark

    def tier(self, name: TierName) -> Tier | None:
        return {"leaf": self.leaf, "spine": self.spine, "core": self.core}[name]


@dataclass(frozen=True, slots=True, kw_only=True)
class Qos:
    dscp: int
    traffic_class: int | None
    pfc_priority: int
    ecn: bool
    at: Mark


@dataclass(frozen=True, slots=True, kw_only=True)
class Plane:
    name: str
    role: PlaneRole
    cidr: IPv4Network | None
    mtu: int
    vlan: int | None
    bonded: bool
    qos: Qos | None
    fabric: Fabric | None
    at: Mark
    value_at: dict[str, Mark] = field(default_factory=dict, compare=False)  # cidr, mtu, ... marks
    bond_mode: str = "active-backup"  # active-backup | 802.3ad (bonded planes)

    def mark(self, key: str) -> Mark:
        return self.value_at.get(key, self.at)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bgp:
    asn_base: int
    asns_per_phase: int
    at: Mark


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretRef:
    """Where a secret lives: ('env', 'WANKA_BMC_PASSWORD'), never its value."""

    source: Literal["env", "file", "pulumi"]
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    username: str
    password: SecretRef | None
    private_key: SecretRef | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BmcTls:
    """credentials.bmc_tls: the site's CA bundle for BMC certificates (path as written,
    relative to the cluster file) and the nodes named as not checked."""

    ca: str | None
    insecure: dict[str, Mark]  # node name -> where it is named
    at: Mark


@dataclass(frozen=True, slots=True, kw_only=True)
class Distances:
    """Cable-run distances (layout.distances, a hall's, a row's rack pitch), in metres."""

    rack_pitch_m: float = 0.6  # between neighbouring rack positions of a row
    row_pitch_m: float = 3.0  # between neighbouring rows
    rack_slack_m: float = 4.0  # a run between two racks of a row adds this to their distance
    cross_row_m: float = 20.0  # a run between rows takes this before the rows' distance
    between_halls_m: float = 300.0  # a run between halls


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    hall: str
    name: str
    group: str  # the row-group name it was declared under (== name without count)
    positions: int
    at: Mark
    order: int = 0  # among its hall's rows, in declaration order
    distances: Distances = field(default_factory=Distances)  # its hall's, its own rack pitch


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeFacts:
    serial: str | None
    bmc_mac: str | None
    bmc_address: IPv4Address | None
    macs: dict[str, str]
    addresses: dict[str, IPv4Address]
    excluded: str | None  # reason
    at: Mark
    key_marks: dict[str, Mark] = field(default_factory=dict)  # 'serial', 'bmc.mac', 'macs.x', ...
    bmc_ca: str | None = None  # CA bundle of this BMC's certificate (path as written)


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchFacts:
    serial: str | None
    mac: str | None
    asn: int | None
    loopback: IPv4Address | None
    at: Mark
    key_marks: dict[str, Mark] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Phase:
    name: str
    index: int
    status: str
    target_pflops: float | None
    depends_on: tuple[str, ...]
    at: Mark
    depends_at: tuple[Mark, ...]
    rollout: Rollout | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollout:
    """How bring-up rolls over a phase's servers: Ansible serial and max_fail_percentage."""

    batch: str | None  # "8" or "25%"; None: all at once
    max_fail_percent: int | None  # None: the default


@dataclass(frozen=True, slots=True, eq=False, repr=False, kw_only=True)
class Pod:
    # A pod's racks, nodes and switches point back at it: their lists are filled while the
    # pod is built (wanka.model.builders.racks) and only read after.
    name: str  # full name: sz1-p1-pod03
    short: str  # pod03
    phase: Phase
    type: str
    index: int  # order in the cluster
    hall: str
    row: str | None  # assigned row (None when it could not be placed)
    at: Mark
    slot: int = 0  # allocation slot, cluster-wide (wanka.model.slots)
    retired: bool = False  # gone, its slot and all it was given kept (not in Cluster.pods)
    supernode_servers: int | None = None
    supernode_cards: int | None = None
    supernode_at: Mark | None = None  # the pod type's `supernode:` declaration
    racks: list[Rack] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)


@dataclass(frozen=True, slots=True, eq=False, repr=False, kw_only=True)
class Rack:
    name: str
    pod: Pod
    type: RackType
    role: str | None
    position: int | None  # position in its row, 1-based
    at: Mark
    nodes: list[Node] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)


@dataclass(frozen=True, slots=True, eq=False, repr=False, kw_only=True)
class Node:
    name: str
    pod: Pod
    rack: Rack
    model: NodeModel
    unit: int  # lowest rack unit it occupies, 1-based
    index_in_pod: int  # among the pod's nodes, in order
    at: Mark
    supernode: int | None = None  # index within the pod
    facts: NodeFacts | None = None

    @property
    def excluded(self) -> bool:
        return self.facts is not None and self.facts.excluded is not None

    @property
    def npu_devices(self) -> int:
        """NPU devices on this node: cards x dies (16 on an 8-card A3 server)."""
        acc = self.model.accelerator
        return self.model.cards * acc.dies if acc is not None else 0

    def port_names(self, plane: str) -> list[str]:
        n = self.model.nic(plane)
        return [f"{plane}{i}" for i in range(n.count)] if n else []


@dataclass(frozen=True, slots=True, eq=False, repr=False, kw_only=True)
class Switch:
    name: str
    pod: Pod
    rack: Rack
    plane: Plane
    tier: TierName
    model: SwitchModel
    ordinal: int  # 0-based among the pod's switches of this plane and tier
    unit: int
    at: Mark
    rails: tuple[int, ...] = ()  # rails served (rail-optimised leaves)
    asn: int | None = None
    facts: SwitchFacts | None = None
    asn_group: tuple[object, ...] = ()  # one key, one ASN (see model.numbering.asn_group)


@dataclass(frozen=True, slots=True, repr=False, kw_only=True)
class Cluster:
    """The validated, expanded cluster, made once by `wanka.model.build` from all its parts."""

    name: str
    files: list[str]
    at: Mark
    precision: str
    accelerators: dict[str, Accelerator]
    node_models: dict[str, NodeModel]
    switch_models: dict[str, SwitchModel]
    rack_types: dict[str, RackType]
    planes: dict[str, Plane]
    loopbacks: IPv4Network | None
    loopbacks_at: Mark | None
    bgp: Bgp | None
    software: Software
    credentials: dict[str, Credential]
    rows: dict[tuple[str, str], Row]
    phases: list[Phase]
    between_halls_m: float = 300.0  # layout.distances.between_halls_m
    links: IPv4Network | None = None  # networks.links: numbered fabric links (VRP)
    links_at: Mark | None = None
    pods: list[Pod] = field(default_factory=list)
    racks: list[Rack] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)
    # every pod in slot order, retired ones too, and every switch in that order: what
    # allocation walks, so a retired pod keeps its subnets, loopbacks and spine ports
    slots: list[Pod] = field(default_factory=list)
    all_switches: list[Switch] = field(default_factory=list)
    node_facts: dict[str, NodeFacts] = field(default_factory=dict)
    switch_facts: dict[str, SwitchFacts] = field(default_factory=dict)
    # False when unresolved names left pods, racks or nodes unbuilt: checks of the
    # whole cluster (capacity, manifest names, missing leaves) would only echo that
    complete: bool = True
    labels: dict[str, str] = field(default_factory=dict)  # metadata.labels, for inventories
    bmc_tls: BmcTls | None = None
    facility: Facility | None = None  # spec.facility (wanka.model.facility)

    def allocated_pods(self) -> list[Pod]:
        """Every pod allocation walks, in slot order: retired ones too."""
        return self.slots or self.pods

    def allocated_switches(self) -> list[Switch]:
        """Every switch allocation walks, in slot order: those of retired pods too."""
        return self.all_switches or self.switches

    def oses_run(self) -> list[tuple[OsImage, list[str]]]:
        """Each OS the nodes run (their model's: software.oses by `os`, else software.os),
        with the keys of the node models that run it, in the order first met; the default OS
        alone when there are no nodes (the mirror's rules and files)."""
        sw = self.software
        out: dict[tuple[str | None, str, str], tuple[OsImage, list[str]]] = {}
        for n in self.nodes:
            image = sw.os_of(n.model)
            if image is None:
                continue
            _, models = out.setdefault((image.key, image.name, image.version), (image, []))
            if n.model.key not in models:
                models.append(n.model.key)
        if not out and sw.os is not None:
            return [(sw.os, [])]
        return list(out.values())

    def phase(self, name: str) -> Phase | None:
        for p in self.phases:
            if p.name == name:
                return p
        return None

    def require_phase(self, name: str) -> Phase:
        """The phase called `name`; UnknownPhase (naming the phases there are) if none is."""
        found = self.phase(name)
        if found is None:
            raise UnknownPhase(name, tuple(p.name for p in self.phases))
        return found

    def plane_of(self, node: Node, role: PlaneRole) -> Plane | None:
        """The plane of this role that a node has ports on (its model's first NIC set on a
        plane of the role), if any. A cluster may have several planes of one role (a parameter
        plane for the A2 phase, another for the A3 phases): each node is on its own."""
        for nic in node.model.nics:
            plane = self.planes.get(nic.plane)
            if plane is not None and plane.role == role:
                return plane
        return None

    def node(self, name: str) -> Node:
        """The node with this derived name; KeyError if there is none."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node named '{name}'")


def _short_repr(self: Pod | Rack | Node | Switch | Cluster) -> str:
    # the expanded objects point at each other (pod -> nodes -> pod): a field-by-field repr
    # would print the whole cluster
    return f"{type(self).__name__}({self.name!r})"


for _cls in (Pod, Rack, Node, Switch, Cluster):
    _cls.__repr__ = _short_repr  # type: ignore[method-assign,assignment]
