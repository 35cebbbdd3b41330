"""The Pulumi program: one stack (a phase, or one shard of it) of a validated cluster.

`main()` is what `stacks/__main__.py` runs under `pulumi up`: it reads the stack
configuration, validates and derives the cluster file, finds its shard (see `shards`) and
registers, per pod and rack (components, `parent=`), the shard's SwitchConfig, BareMetalNode
and BringupBatch resources.

Configuration (namespace `wanka`):

    cluster        path of the cluster file, relative to the project directory (required)
    phase          the phase (required)
    pod            the shard of a sharded phase: a pod's name, or `fabric`
    bmcPassword    the BMC password, a secret (or the key the cluster file's
                   `credentials.bmc.password: {pulumi: KEY}` names)
    bmcUrl         Redfish endpoint, `{address}` and `{node}` replaced (default https://{address})
    bmcSystem      Redfish system id, same fields (default: the BMC's only system, found
                   from its service root)
    bmcTimeout     seconds a BMC has to answer one request (default 10)
    bmcVerify      check the BMC's TLS certificate (default true)
    bmcCa          CA bundle (a path) the BMC's certificate is checked against
    powerTimeout   seconds a server has to reach its power state (default 300)
    power          On | Off (default On)
    bootTarget     boot source override for the next boot (Once; None clears it) (default Hdd)
    bootMode       UEFI | Legacy (default UEFI)
    bios           BIOS attributes to hold (default DEFAULT_BIOS)
    lab            a lab directory (`wanka lab up`): its access.json gives the BMC endpoint,
                   each node's system id and each switch's namespace and vty socket
    bringupOut     where BringupBatch writes bring-up reports (default bringup)
    switchTransport  with `lab`: netns (default, FRR's commands in the switch's namespace) or
                   ssh (the switch's sshd, through the lab's jump, with the lab's key)
    switchKnownHosts  a known_hosts file with the switches' host keys (default: the user's)
    switchPassword the switch password, a secret, when the cluster file's
                   `credentials.switch.password` is `{pulumi: KEY}` (KEY names it)

Dependencies: a BringupBatch waits for the BareMetalNode of each of its nodes, for the
SwitchConfig of its pod's leaves (each of which waits for the spines it peers with when they
are in the same stack), and for the stacks it references (their `fabric` output).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import pulumi

from wanka.derive.bundle import Derived
from wanka.derive.routing import switch_routing
from wanka.lab.access import Access, AccessError
from wanka.lab.access import read as read_access
from wanka.model.types import Node, Switch, UnknownPhase
from wanka.pulumi.providers import BareMetalNode, BringupBatch, SwitchConfig
from wanka.pulumi.shards import Shard, shards
from wanka.render import sonic
from wanka.render.frr import render_frr
from wanka.render.vrp import render_vrp

POD_TYPE = "wanka:cluster:Pod"
RACK_TYPE = "wanka:cluster:Rack"
DEFAULT_BIOS = {
    "NumaGroupSizeOpt": "Clustered",
    "PowerProfile": "Performance",
    "ProcTurboMode": "Enabled",
    "SriovGlobalEnable": "Enabled",
}
PASSWORD_KEY = "wanka:bmcPassword"


class StackError(Exception):
    """The stack configuration or the cluster file is wrong: the message says how."""


@dataclass(slots=True)
class Settings:
    cluster: str
    phase: str
    pod: str | None = None
    bmc_url: str = "https://{address}"
    bmc_system: str = ""  # empty: the BMC's only system
    bmc_timeout: float = 10.0
    bmc_verify: bool = True  # check the BMC's TLS certificate
    bmc_ca: str | None = None  # against this CA bundle
    power_timeout: float = 300.0
    power: str = "On"
    boot_target: str = "Hdd"
    boot_mode: str = "UEFI"
    bios: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_BIOS))
    lab: str | None = None
    bringup_out: str = "bringup"
    switch_transport: str | None = None  # in a lab: netns (default) or ssh
    switch_known_hosts: str | None = None  # real switches: their host keys (default ~/.ssh)

    @classmethod
    def from_config(cls, config: pulumi.Config) -> Settings:
        s = cls(config.require("cluster"), config.require("phase"), config.get("pod"))
        s.bmc_url = config.get("bmcUrl") or s.bmc_url
        s.bmc_system = config.get("bmcSystem") or s.bmc_system
        s.bmc_timeout = config.get_float("bmcTimeout") or s.bmc_timeout
        verify = config.get_bool("bmcVerify")
        s.bmc_verify = s.bmc_verify if verify is None else verify
        s.bmc_ca = config.get("bmcCa") or None
        s.power_timeout = config.get_float("powerTimeout") or s.power_timeout
        s.power = config.get("power") or s.power
        s.boot_target = config.get("bootTarget") or s.boot_target
        s.boot_mode = config.get("bootMode") or s.boot_mode
        bios = config.get_object("bios")
        if bios is not None:
            if not isinstance(bios, dict):
                raise StackError("wanka:bios must be a map of BIOS attribute names to values")
            s.bios = dict(bios)
        s.lab = config.get("lab")
        s.bringup_out = config.get("bringupOut") or s.bringup_out
        s.switch_transport = config.get("switchTransport")
        s.switch_known_hosts = config.get("switchKnownHosts")
        if s.switch_transport not in (None, "netns", "ssh"):
            raise StackError(f"wanka:switchTransport is {s.switch_transport!r}: netns or ssh")
        if s.power not in ("On", "Off"):
            raise StackError(f"wanka:power is {s.power!r}: On or Off")
        return s


class Pod(pulumi.ComponentResource):
    def __init__(self, name: str, kind: str) -> None:
        super().__init__(POD_TYPE, name, {"type": kind})
        self.register_outputs({})


class Rack(pulumi.ComponentResource):
    def __init__(self, name: str, parent: Pod) -> None:
        super().__init__(RACK_TYPE, name, {}, pulumi.ResourceOptions(parent=parent))
        self.register_outputs({})


def find_shard(d: Derived, s: Settings) -> Shard:
    try:
        d.cluster.require_phase(s.phase)
    except UnknownPhase as e:
        known = ", ".join(e.known)
        raise StackError(
            f"wanka:phase is '{s.phase}', not a phase of {s.cluster} ({known})"
        ) from None
    mine = shards(d, s.phase)
    for shard in mine:
        if shard.pod == s.pod:
            return shard
    if s.pod is None:
        raise StackError(
            f"phase {s.phase} is sharded: set wanka:pod to one of "
            + ", ".join(str(x.pod) for x in mine)
        )
    raise StackError(
        f"wanka:pod is '{s.pod}', not a shard of phase {s.phase} (shards: "
        + ", ".join(str(x.pod) for x in mine)
        + ")"
    )


def _access(lab: str | None) -> Access | None:
    if lab is None:
        return None
    try:
        return read_access(lab)
    except AccessError as e:
        raise StackError(f"wanka:lab: {e}") from None


def _password(d: Derived) -> pulumi.Output[str]:
    cred = d.cluster.credentials.get("bmc")
    key = PASSWORD_KEY
    if cred is not None and cred.password is not None and cred.password.source == "pulumi":
        key = cred.password.name
    namespace, _, name = key.rpartition(":")
    return pulumi.Config(namespace or None).require_secret(name)


def bmc_props(
    d: Derived, node: Node, s: Settings, access: Access | None, password: Any
) -> dict[str, Any]:
    cred = d.cluster.credentials.get("bmc")
    address = d.addressing.bmcs.get(node.name)
    fields = {"address": str(address) if address else node.name, "node": node.name}
    if access is not None:
        url, system = access.bmc_of(node.name)
    else:
        url, system = s.bmc_url.format(**fields), s.bmc_system.format(**fields)
    return {
        "node": node.name,
        "url": url,
        "system": system,
        "username": cred.username if cred is not None else None,
        "password": password,
        "timeout": s.bmc_timeout,
        "powerTimeout": s.power_timeout,
        "verify": (s.bmc_ca or True) if s.bmc_verify else False,
        "power": s.power,
        "bootTarget": s.boot_target,
        "bootMode": s.boot_mode,
        "bios": dict(sorted(s.bios.items())),
    }


def switch_transport(
    d: Derived, sw: Switch, access: Access | None, s: Settings | None = None
) -> dict[str, Any]:
    """How the provider reaches a switch: in a lab, `netns` (fast), or `ssh` through the lab's
    jump into the switch's namespace with the lab's key when `wanka:switchTransport` is ssh;
    else `ssh` to its loopback address with the cluster file's switch credential (password or
    key reference; a `{pulumi: KEY}` password is the secret `password` input)."""
    cred = d.cluster.credentials.get("switch")
    if access is not None:
        entry = access.switches.get(sw.name)
        ssh = entry.ssh if entry is not None else None
        vty = entry.vty if entry is not None else None
        # a lab SONiC switch: its CLI's wrappers (FRR runs in its namespace)
        cli = {"sonic_cli": ssh.sonic_cli} if ssh is not None and ssh.sonic_cli else {}
        if s is None or s.switch_transport != "ssh" or ssh is None:
            namespace = entry.namespace if entry is not None else None
            return {"kind": "netns", "namespace": namespace, "vty": vty, **cli}
        return {
            "kind": "ssh", "host": ssh.address, "port": ssh.port, "username": ssh.user,
            "private_key": {"file": access.ssh.private_key}, "known_hosts": access.ssh.known_hosts,
            "proxy_command": ssh.proxy_command, "vty": vty, **cli,
        }  # fmt: skip
    out: dict[str, Any] = {
        "kind": "ssh",
        "host": str(d.addressing.loopbacks.get(sw.name, sw.name)),
        "username": cred.username if cred is not None else None,
    }
    if cred is not None:
        if cred.password is not None and cred.password.source != "pulumi":
            out["credential"] = {cred.password.source: cred.password.name}
        if cred.private_key is not None and cred.private_key.source != "pulumi":
            out["private_key"] = {cred.private_key.source: cred.private_key.name}
    if s is not None and s.switch_known_hosts:
        out["known_hosts"] = s.switch_known_hosts
    return out


def switch_password(d: Derived, access: Access | None) -> pulumi.Output[str] | None:
    """The switch password as a secret, when the cluster file keeps it in Pulumi's config."""
    cred = d.cluster.credentials.get("switch")
    if access is not None or cred is None or cred.password is None:
        return None
    if cred.password.source != "pulumi":
        return None
    namespace, _, name = cred.password.name.rpartition(":")
    return pulumi.Config(namespace or None).require_secret(name)


def _software(d: Derived, nodes: list[Node]) -> dict[str, Any]:
    """The OS and the versions of the NPU software set these nodes take (a rack's servers
    share a phase and usually a set; several sets are listed by name)."""
    sw = d.cluster.software
    chosen = {s.name: s for n in nodes if (s := sw.for_node(n)) is not None}
    one = next(iter(chosen.values())) if len(chosen) == 1 else None
    oses = {f"{o.name} {o.version}" for n in nodes if (o := sw.os_of(n.model)) is not None}
    out: dict[str, Any] = {
        "os": ", ".join(sorted(oses)) or None,
        "driver": one.driver_version if one else None,
        "firmware": one.firmware_version if one else None,
        "cann": one.cann_version if one else None,
    }
    if len(chosen) > 1:
        out["sets"] = {
            name: [s.driver_version, s.firmware_version, s.cann_version]
            for name, s in sorted(chosen.items())
        }
    return out


_last_routing: list[tuple[Derived, dict[str, Any]]] = []


def _routing(d: Derived) -> dict[str, Any]:
    """switch_routing of the cluster, computed once for the stacks of one preview."""
    if not _last_routing or _last_routing[0][0] is not d:
        _last_routing[:] = [(d, switch_routing(d))]
    return _last_routing[0][1]


class _Racks:
    """The Pod and Rack components resources are parented to, made when first needed."""

    def __init__(self) -> None:
        self.pods: dict[str, Pod] = {}
        self.racks: dict[str, Rack] = {}

    def of(self, x: Node | Switch) -> Rack:
        rack = self.racks.get(x.rack.name)
        if rack is None:
            pod = self.pods.get(x.pod.name)
            if pod is None:
                pod = self.pods[x.pod.name] = Pod(x.pod.name, x.pod.type)
            rack = self.racks[x.rack.name] = Rack(x.rack.name, pod)
        return rack


def build(d: Derived, s: Settings) -> Shard:
    """Register the resources of the stack `s` names; returns its shard."""
    shard = find_shard(d, s)
    access = _access(s.lab)
    refs = [
        pulumi.StackReference(name, f"{pulumi.get_organization()}/{pulumi.get_project()}/{name}")
        for name in shard.references
    ]
    racks = _Racks()
    configs = _switch_configs(d, s, shard, access, racks)
    bmcs = _bare_metal(d, s, shard, access, racks)
    batches = _batches(d, s, shard, racks, bmcs, configs, refs)
    pulumi.export("fabric", pulumi.Output.all(*(c.id for c in configs.values())))
    pulumi.export("nodes", len(shard.nodes))
    pulumi.export(
        "verification",
        {name: b.verification for name, b in batches.items()},  # type: ignore[attr-defined]
    )
    return shard


def _switch_configs(
    d: Derived, s: Settings, shard: Shard, access: Access | None, racks: _Racks
) -> dict[str, SwitchConfig]:
    """The shard's SwitchConfigs, spines first: a leaf waits for the spines it peers with."""
    routing = _routing(d) if shard.switches else {}
    password = switch_password(d, access) if shard.switches else None
    configs: dict[str, SwitchConfig] = {}
    fabric_first = sorted(shard.switches, key=lambda x: x.tier == "leaf")  # spines, then leaves
    for sw in fabric_first:
        r = routing[sw.name]
        peers = [configs[i["peer"]] for i in r.interfaces if i["peer"] in configs]
        configs[sw.name] = SwitchConfig(
            sw.name,
            {
                "switch": sw.name,
                **_switch_files(r, sw.model.max_frame),
                "transport": switch_transport(d, sw, access, s),
                "os": {"sonic": "sonic", "vrp": "vrp"}.get(sw.model.os, "frr"),  # its applier
                "password": password,
            },
            pulumi.ResourceOptions(parent=racks.of(sw), depends_on=peers),
        )
    return configs


def _switch_files(r: Any, max_frame: int) -> dict[str, str]:
    """What a SwitchConfig applies: frr.conf, SONiC's bgpd.conf and config_db.json, or VRP's
    vrp.cfg."""
    if r.os == "sonic":
        return {"config": sonic.render_bgpd(r), "config_db": sonic.dumps(sonic.config_db(r))}
    if r.os == "vrp":
        return {"config": render_vrp(r, max_frame)}
    return {"config": render_frr(r)}


def _bare_metal(
    d: Derived, s: Settings, shard: Shard, access: Access | None, racks: _Racks
) -> dict[str, list[BareMetalNode]]:
    """The shard's BareMetalNodes, by rack."""
    password = _password(d) if shard.nodes else None
    bmcs: dict[str, list[BareMetalNode]] = {}
    for node in shard.nodes:
        bmc = BareMetalNode(
            node.name,
            bmc_props(d, node, s, access, password),
            pulumi.ResourceOptions(parent=racks.of(node)),
        )
        bmcs.setdefault(node.rack.name, []).append(bmc)
    return bmcs


def _deployed(stack: str, fabric: Any) -> int:
    """The length of a referenced stack's `fabric` output; a stack without one is not deployed."""
    if fabric is None:
        raise pulumi.RunError(
            f"stack {stack} has no 'fabric' output: it is not deployed yet (up it first)"
        )
    return len(fabric)


def _batches(
    d: Derived,
    s: Settings,
    shard: Shard,
    racks: _Racks,
    bmcs: dict[str, list[BareMetalNode]],
    configs: dict[str, SwitchConfig],
    refs: list[pulumi.StackReference],
) -> dict[str, BringupBatch]:
    """A BringupBatch per rack: after its nodes' BMCs, its pod's leaves and the stacks it
    references (their `fabric`, kept short: a count per stack)."""
    after = {
        name: r.get_output("fabric").apply(functools.partial(_deployed, name))
        for name, r in zip(shard.references, refs, strict=True)
    }
    by_rack: dict[str, list[Node]] = {}
    for node in shard.nodes:
        by_rack.setdefault(node.rack.name, []).append(node)
    leaves: dict[str, list[SwitchConfig]] = {}
    for sw in shard.switches:
        if sw.tier == "leaf":
            leaves.setdefault(sw.pod.name, []).append(configs[sw.name])
    batches: dict[str, BringupBatch] = {}
    for rack_name, nodes in by_rack.items():
        pod = nodes[0].pod.name
        batches[rack_name] = BringupBatch(
            rack_name,
            {
                "batch": rack_name,
                "cluster": s.cluster,
                "phase": s.phase,
                "nodes": [n.name for n in nodes],
                "software": _software(d, nodes),
                "lab": s.lab,
                "outDir": s.bringup_out,
                "after": after,
            },
            pulumi.ResourceOptions(
                parent=racks.racks[rack_name],
                depends_on=[*bmcs[rack_name], *leaves.get(pod, []), *refs],
            ),
        )
    return batches


def main(derived: Derived | None = None) -> None:
    """The program `stacks/__main__.py` runs (`derived`: an already derived cluster, as the
    mocks preview passes it, so the cluster file is read once for all stacks)."""
    try:
        s = Settings.from_config(pulumi.Config("wanka"))
        d = derived if derived is not None else _derive(s.cluster)
        build(d, s)
    except StackError as e:
        raise pulumi.RunError(str(e)) from None


def _derive(path: str) -> Derived:
    from wanka.pipeline import NotValid, open_cluster

    try:
        return open_cluster(path)
    except NotValid as e:
        shown = "\n".join(e.lines(limit=20))
        raise StackError(f"wanka:cluster {path} is not valid:\n{shown}") from None
