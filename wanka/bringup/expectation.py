"""The shape of `wanka_expect`, declared: what each host must look like, as the roles and the
wanka_node module read it (a server's CPU, memory, NPUs and their ports, NVMe, mounts, OS; a
switch's BGP sessions, ports and lossless class).

expect.py builds these types (mypy checks it fills every key); `problems` checks a value
against them at run time (tests/test_expect.py: expect.py's output lacks no declared key and
adds none; every `wanka_expect.` path a role reads and every key wanka_node reads is declared).
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, TypedDict, Union


class Cpu(TypedDict):
    model: str
    arch: str
    sockets: int
    cores_per_socket: int


class _Device(TypedDict):
    device: int
    card: int
    chip: int
    address: str
    netmask: str
    gateway: str
    netdetect: str
    speed_mbps: int | None
    pfc: str | None


class Device(_Device, total=False):
    """One NPU device (die): its RoCE port as hccn.conf sets it, its speed and PFC, the leaf
    port its card is cabled to (LLDP; not on a card the model does not cable) and its ping
    peer (none without a peer)."""

    switch: str
    switch_port: str
    ping: str
    ping_peer: str


class Npu(TypedDict):
    cards: int
    dies: int
    generation: str | None
    pci_device_id: str | None
    devices: list[Device]


class Nvme(TypedDict):
    count: int
    capacity_gb: int | float


class Mount(TypedDict):
    device: str
    filesystem: str | None
    mount: str


class Storage(TypedDict):
    mounts: list[Mount]


class Os(TypedDict):
    name: str | None
    version: str | None
    family: str | None
    distribution: str | None


class NodeExpect(TypedDict):
    kind: Literal["node"]
    cpu: Cpu
    memory_gb: int | float
    npu: Npu
    nvme: Nvme
    storage: Storage
    firmware_range: list[str | None]
    os: Os


class Port(TypedDict):
    name: str
    speed: int


class Qos(TypedDict):
    pfc_priority: int
    dscp: int
    ecn: bool
    ports: list[str]


class _Switch(TypedDict):
    kind: Literal["switch"]
    routed: bool
    bgp_peers: list[str]


class SwitchExpect(_Switch, total=False):
    """A switch's: only `routed` and `bgp_peers` when it has no routing of its own; `qos` on
    a RoCE plane."""

    os: str
    ports: list[Port]
    qos: Qos


Expect = NodeExpect | SwitchExpect
KINDS: dict[str, type] = {"node": NodeExpect, "switch": SwitchExpect}


def _typed_dict(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, dict) and hasattr(t, "__required_keys__")


def _scalar_ok(value: Any, t: Any) -> bool:
    origin = typing.get_origin(t)
    if origin in (Union, types.UnionType):
        return any(_scalar_ok(value, a) for a in typing.get_args(t))
    if origin is Literal:
        return value in typing.get_args(t)
    if t is type(None):
        return value is None
    if t is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is list:
        return isinstance(value, list)
    return isinstance(value, t) if isinstance(t, type) else True


def problems(value: Any, t: Any = None, where: str = "wanka_expect") -> list[str]:
    """What is wrong with `value` as type `t` (by its `kind` when None): a missing declared
    key, a key not declared, a value of another type; [] when none."""
    if t is None:
        kind = value.get("kind") if isinstance(value, dict) else None
        if kind not in KINDS:
            return [f"{where}: kind {kind!r} is neither node nor switch"]
        t = KINDS[kind]
    if _typed_dict(t):
        if not isinstance(value, dict):
            return [f"{where}: not a mapping"]
        hints = typing.get_type_hints(t)
        out = [f"{where}.{k}: missing" for k in sorted(t.__required_keys__ - set(value))]
        out += [f"{where}.{k}: not declared" for k in sorted(set(value) - set(hints))]
        for k in sorted(set(value) & set(hints)):
            out += problems(value[k], hints[k], f"{where}.{k}")
        return out
    if typing.get_origin(t) is list and isinstance(value, list):
        (item,) = typing.get_args(t)
        return [p for i, v in enumerate(value) for p in problems(v, item, f"{where}[{i}]")]
    if not _scalar_ok(value, t):
        return [f"{where}: {value!r} is not {t}"]
    return []


def paths(t: Any, prefix: str = "") -> set[str]:
    """Every dotted key path of a declared type (lists: their items' keys under the list)."""
    if typing.get_origin(t) is list:
        return paths(typing.get_args(t)[0], prefix)
    if not _typed_dict(t):
        return set()
    out: set[str] = set()
    for k, h in typing.get_type_hints(t).items():
        out.add(prefix + k)
        out |= paths(h, f"{prefix}{k}.")
    return out
