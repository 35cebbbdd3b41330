"""Stage 4, rules (validate): what the schema cannot say, run on the model and its topology.

Every rule has a stable id. Rules that check the built model are functions
registered with `@rule`; the ids raised while loading, checking the schema or
building the model are declared with `declare` so that every id a user can
see is listed here, with an example of its message. docs/rules.md is
generated from this registry (`wanka rules --format markdown`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wanka.derive.topology import Topology
from wanka.findings import Finding, Severity
from wanka.model.types import Cluster

Check = Callable[[Cluster, Topology], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    stage: str  # load | schema | build | model
    title: str
    example: str
    check: Check | None = None


RULES: dict[str, Rule] = {}


def declare(
    id: str, stage: str, title: str, example: str, severity: Severity = Severity.ERROR
) -> None:
    if id in RULES:
        raise ValueError(f"rule {id} declared twice")
    RULES[id] = Rule(id, severity, stage, title, example)


def rule(
    id: str, title: str, example: str, severity: Severity = Severity.ERROR
) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        if id in RULES:
            raise ValueError(f"rule {id} declared twice")
        RULES[id] = Rule(id, severity, "model", title, example, fn)
        return fn

    return register


def run(cluster: Cluster, topology: Topology) -> list[Finding]:
    """All findings of all model rules."""
    out: list[Finding] = list(topology.findings)
    for r in RULES.values():
        if r.check is not None:
            out.extend(r.check(cluster, topology))
    return out


# ---- ids raised before the model exists ------------------------------------
declare(
    "LOAD-NOT-FOUND",
    "load",
    "The file does not exist.",
    "cluster.yaml: error[LOAD-NOT-FOUND]: no such file",
)
declare(
    "LOAD-NOT-FILE",
    "load",
    "The path is a directory.",
    "examples: error[LOAD-NOT-FILE]: is a directory, not a cluster file",
)
declare(
    "LOAD-UNREADABLE",
    "load",
    "The file cannot be read (permissions, I/O).",
    "c.yaml: error[LOAD-UNREADABLE]: cannot read: Permission denied",
)
declare(
    "LOAD-TOO-LARGE",
    "load",
    "The file is over the size limit (16 MiB; --max-bytes).",
    "big.yaml: error[LOAD-TOO-LARGE]: file is 104,857,600 bytes, over the 16,777,216-byte limit",
)
declare(
    "LOAD-BINARY",
    "load",
    "The file holds NUL bytes: it is not text.",
    "c.yaml:1:9: error[LOAD-BINARY]: contains NUL bytes: this is a binary file, not YAML",
)
declare(
    "LOAD-ENCODING",
    "load",
    "The file is not valid UTF-8.",
    "c.yaml:3:12: error[LOAD-ENCODING]: not valid UTF-8 (byte 0xff)",
)
declare(
    "YAML-SYNTAX",
    "load",
    "The YAML does not parse (a tab in the indentation, a line indented unlike its neighbours, "
    "': ' in a plain value, ...); the line is shown with a caret under the column.",
    "c.yaml:4:1: error[YAML-SYNTAX]: a tab at column 1: YAML indents with spaces, never tabs "
    "(replace the tab with spaces)",
)
declare(
    "YAML-EMPTY",
    "load",
    "The file holds no document (empty, or only comments): unreadable input, exit 2.",
    "c.yaml:1:1: error[YAML-EMPTY]: the file is empty or holds only comments: there is no YAML "
    "document to check",
)
declare(
    "YAML-MULTI-DOC",
    "load",
    "More than one YAML document in a file.",
    "c.yaml:40:1: error[YAML-MULTI-DOC]: more than one YAML document in the file",
)
declare(
    "YAML-DUPLICATE-KEY",
    "load",
    "A key appears twice in one mapping.",
    "c.yaml:12:5: error[YAML-DUPLICATE-KEY]: duplicate key 'mtu' (first written at line 10)",
)
declare(
    "YAML-KEY",
    "load",
    "A mapping key is not a string.",
    "c.yaml:4:3: error[YAML-KEY]: keys must be strings, found 1 (quote the key)",
)
declare(
    "YAML-TAG",
    "load",
    "A YAML tag other than the core ones (!!str, !!int, ...).",
    "c.yaml:2:7: error[YAML-TAG]: tag tag:yaml.org,2002:python/object is not allowed",
)
declare(
    "YAML-VALUE",
    "load",
    "A non-finite number (.nan, .inf).",
    "c.yaml:9:12: error[YAML-VALUE]: non-finite number '.inf' is not allowed",
)
declare(
    "YAML-ALIAS",
    "load",
    "An alias with no anchor, or one that contains itself.",
    "c.yaml:3:9: error[YAML-ALIAS]: alias *a refers to the value that contains it",
)
declare(
    "YAML-ALIAS-LIMIT",
    "load",
    "Aliases expand to too many nodes (an alias bomb).",
    "c.yaml:6:8: error[YAML-ALIAS-LIMIT]: aliases expand to more than 100,000 nodes",
)
declare(
    "YAML-DEPTH",
    "load",
    "Nesting deeper than 64 levels.",
    "c.yaml:1:65: error[YAML-DEPTH]: nesting deeper than 64 levels",
)
declare(
    "INCLUDE-PATH",
    "load",
    "An include path is absolute.",
    "c.yaml:5:5: error[INCLUDE-PATH]: include '/etc/x.yaml' must be a relative path",
)
declare(
    "INCLUDE-LOAD",
    "load",
    "An included file cannot be loaded (its own error follows).",
    "c.yaml:5:5: error[INCLUDE-LOAD]: cannot load include 'catalog.yaml'",
)
declare(
    "INCLUDE-KIND",
    "load",
    "An included file is a whole Cluster, not a ClusterFragment.",
    "catalog.yaml:2:7: error[INCLUDE-KIND]: 'catalog.yaml' is a whole Cluster, not a fragment",
)
declare(
    "INCLUDE-CONFLICT",
    "load",
    "Two files set the same key.",
    "catalog.yaml:8:5: error[INCLUDE-CONFLICT]: spec.catalog.racks.lc-60 is already set at cluster.yaml:40:7",
)
declare(
    "SCHEMA-UNKNOWN-KEY",
    "schema",
    "A key the language does not have (typo).",
    "c.yaml:2:1: error[SCHEMA-UNKNOWN-KEY]: (document): unknown key 'kinf' (did you mean 'kind'?)",
)
declare(
    "SCHEMA-REQUIRED",
    "schema",
    "A required key is missing.",
    "c.yaml:12:3: error[SCHEMA-REQUIRED]: spec: missing required key 'phases'",
)
declare(
    "SCHEMA-TYPE",
    "schema",
    "A value of the wrong type.",
    "c.yaml:60:18: error[SCHEMA-TYPE]: spec.software.npu.driver.version: expected a string, found 24.1 (quote it)",
)
declare(
    "SCHEMA-ENUM",
    "schema",
    "A value outside its fixed set.",
    "c.yaml:33:24: error[SCHEMA-ENUM]: ...nics.param.speed: \"2000G\" is not allowed (did you mean '200G'?)",
)
declare(
    "SCHEMA-CONST",
    "schema",
    "A value that must be one constant.",
    'c.yaml:1:13: error[SCHEMA-CONST]: apiVersion: must be "wanka/v1", found "wanka/v2"',
)
declare(
    "SCHEMA-RANGE",
    "schema",
    "A number outside its range.",
    "c.yaml:88:14: error[SCHEMA-RANGE]: spec.networks.planes.param.mtu: 20000 is above the maximum 16000",
)
declare(
    "SCHEMA-FORMAT",
    "schema",
    "A string of the wrong form (names, CIDRs, MACs, versions).",
    'c.yaml:9:9: error[SCHEMA-FORMAT]: metadata.name: "SZ_1" is not well formed',
)
declare(
    "SCHEMA-SIZE",
    "schema",
    "Too few or too many items or keys.",
    "c.yaml:20:5: error[SCHEMA-SIZE]: spec.catalog.servers.a2.nics: has too few keys",
)
declare(
    "SCHEMA-NOT-ALLOWED",
    "schema",
    "A key that is not allowed in this place (e.g. an accelerator on a CPU-only host).",
    "c.yaml:30:9: error[SCHEMA-NOT-ALLOWED]: spec.catalog.hosts.h1.accelerator: not allowed here",
)
declare(
    "SCHEMA",
    "schema",
    "Any other schema failure.",
    "c.yaml:5:3: error[SCHEMA]: spec: does not match the schema (dependentRequired)",
)
declare(
    "CRED-VALUE",
    "schema",
    "A credential is written as a value instead of a reference ({env}, {file} or {pulumi}); the value is never echoed.",
    "c.yaml:70:20: error[CRED-VALUE]: spec.credentials.bmc.password: expected a mapping, found the value",
)
declare(
    "QOS-RANGE",
    "schema",
    "RoCE QoS out of range: DSCP 0-63, traffic class a multiple of 4 in 0-255, PFC priority 0-7.",
    "c.yaml:90:20: error[QOS-RANGE]: spec.networks.planes.param.qos.dscp: 70 is above the maximum 63",
)
declare(
    "CPU-ARCH",
    "schema",
    "CPU vendor and architecture disagree (Phytium and Kunpeng are aarch64, Hygon is x86_64).",
    'c.yaml:31:59: error[CPU-ARCH]: ...cpu.arch: must be "x86_64", found "aarch64"',
)
declare(
    "REF-UNRESOLVED",
    "build",
    "A name that refers to nothing: model, rack type, plane, pod type, hall, row, phase, manifest node or port.",
    "c.yaml:140:30: error[REF-UNRESOLVED]: unknown rack type 'lc-06' (did you mean 'lc-60'?)",
)
declare(
    "NAME-UNIQUE",
    "build",
    "Two things with one name (phases, pods, halls, rows, node models, derived names).",
    "c.yaml:171:17: error[NAME-UNIQUE]: pod 'lab-p1-pod01' is also defined at c.yaml:170:17",
)
declare(
    "NAME-LENGTH",
    "build",
    "A derived host name is longer than 63 characters.",
    "c.yaml:150:11: error[NAME-LENGTH]: derived name '...' is longer than 63 characters",
)
declare(
    "NET-CIDR-INVALID",
    "build",
    "A CIDR with host bits set.",
    "c.yaml:88:15: error[NET-CIDR-INVALID]: plane 'param': 10.64.0.1/16 has host bits set",
)
declare(
    "NET-ADDRESS-INVALID",
    "build",
    "A pinned address that is not an IPv4 address.",
    "c.yaml:200:40: error[NET-ADDRESS-INVALID]: '10.99.0.300' is not an IPv4 address",
)
declare(
    "NET-PIN-BONDED",
    "build",
    "An address pinned to a member port of a bonded plane (mgmt0): the plane's address is the "
    "bond's, pinned under the plane's name (mgmt).",
    "c.yaml:201:22: error[NET-PIN-BONDED]: 'mgmt0' of lab-p1-pod01-r02-s02 is a member of the "
    "bond on plane 'mgmt': the address belongs to the bond, not to its member ports",
)
declare(
    "POD-SLOT",
    "build",
    "Pods take distinct allocation slots, and once one placement has a `slot` every placement "
    "has one (an implicit slot would move when a pod is declared before it).",
    "c.yaml:181:73: error[POD-SLOT]: placement 'pod' of phase p2 takes slot 2, which placement 'pod' of phase p1 (c.yaml:174:73) takes too",
)
declare(
    "POD-RETIRED",
    "build",
    "A retired pod is one the placement makes, and no pod that stays uplinks into its switches.",
    "c.yaml:181:76: error[POD-RETIRED]: placement 'pod' of phase p2 makes no pod 'pod02' (it makes 'pod01')",
)
declare(
    "LAYOUT-ROW-FULL",
    "build",
    "A pod does not fit in the row (group) it is placed in.",
    "c.yaml:180:60: error[LAYOUT-ROW-FULL]: pods of type sn 'qy-p3-sn47', 'qy-p3-sn48', 'qy-p3-sn49' (and 1 more) need 3 adjacent rack positions each; the most free in row 'A' is 1",
)
declare(
    "FABRIC-TIER",
    "build",
    "A switch is placed in a tier its plane's fabric does not have.",
    "c.yaml:150:42: error[FABRIC-TIER]: plane 'mgmt' has no spine tier (its fabric has 1 tier(s))",
)
declare(
    "FABRIC-NO-LEAF",
    "model",
    "A pod has nodes with ports on a plane but no leaf of that plane.",
    "c.yaml:147:15: error[FABRIC-NO-LEAF]: pod 'lab-p1-pod01' has nodes with ports on plane 'mgmt' but no mgmt leaf",
)
declare(
    "FABRIC-NO-SPINE",
    "model",
    "Leaves (or spines) have no tier above them to connect to.",
    "c.yaml:151:15: error[FABRIC-NO-SPINE]: leaf switches of plane 'param' in pod 'lab-p2-pod01' have no spine to connect to",
)
declare(
    "FABRIC-UPLINKS",
    "model",
    "Uplinks do not spread evenly over the switches above.",
    "c.yaml:105:11: error[FABRIC-UPLINKS]: leaf 'lab-p1-pod01-param-leaf01' has 3 uplinks to spread over 2 spine switches; they must divide evenly",
)

# ---- ids raised by `wanka diff` (wanka/review/diff.py): changes to building and live phases ----
declare(
    "DIFF-LIVE-RENUMBER",
    "diff",
    "An address, subnet, loopback or ASN of a device in a building or live phase changes, or a pod, rack or device in it is renamed.",
    "error[DIFF-LIVE-RENUMBER]: phase p1 (live): lab-p1-pod01-r01-s01 npu0 renumbered (and 7 more of its addresses): 10.64.0.2 -> 10.65.0.2",
)
declare(
    "DIFF-LIVE-RECABLE",
    "diff",
    "A cable between building or live devices goes to another port, changes media or length, or goes away while both ends stay; or such a device moves.",
    "error[DIFF-LIVE-RECABLE]: phase p2 (building): sz1-p2-stor01-storage-leaf01 400GE1/0/57 recabled: sz1-p1-core-storage-spine01 400GE1/0/105 (400G SMF 300 m) -> sz1-p1-core-storage-spine01 400GE1/0/103 (400G SMF 300 m)",
)
declare(
    "DIFF-LIVE-REMOVE",
    "diff",
    "A building or live phase, or a pod, rack, node or switch in one, is removed or replaced by another model or rack type.",
    "error[DIFF-LIVE-REMOVE]: phase p1 (live): pod lab-p1-pod02 removed",
)

# the model rules register themselves on import
import wanka.rules.facility  # noqa: E402,F401
from wanka.rules import fabric, manifest, mirror, network, oses, phases, ports, racks, software, vrp  # noqa: E402,F401
