"""What each host must look like, from the model: the `wanka_expect` host variable that the
bring-up and verify roles check hosts against (preflight, npu_network, verify).

A server's expectation holds its CPU, memory, NPU cards and, per NPU device, the RoCE
address, netmask, gateway and netdetect address (as hccn.conf), the port's speed (the
model's NIC speed on the server's parameter plane), its PFC priorities (that plane's QoS:
the one lossless priority), the leaf and port its card is cabled to (as cabling.csv: what LLDP must
show) and a RoCE ping target: the NPU of the next server of the same pod on the next rail
(device + 1), so every port's ping crosses rails. A
routed switch's expectation lists its BGP sessions (interface names) to switches of this
phase or an earlier one (every phase when the run covers them all): later phases' leaves
are not cabled in yet.

Its shape is declared in expectation.py; what follows from the topology (the leaf port of
each card, the ping peers) comes from derive/verifyplan.py. The roles compare and report.
"""

from __future__ import annotations

import re
from collections import defaultdict

from wanka.bringup.expectation import Device, Expect, Mount, NodeExpect, Os, Port, SwitchExpect
from wanka.derive import hccn, routing, verifyplan
from wanka.derive.bundle import Derived
from wanka.derive.cabling import Cable
from wanka.model.types import Drive, Node, Switch


def node_expect(
    d: Derived,
    node: Node,
    devices: list[hccn.Device],
    cabled: dict[tuple[str, int], tuple[str, str]],
) -> NodeExpect:
    model = node.model
    acc = model.accelerator
    dies = acc.dies if acc is not None else 1
    sw = d.cluster.software.for_node(node)
    plane = hccn.parameter_plane(d.cluster, node)
    nic = model.nic(plane.name) if plane is not None else None
    pfc = None
    if plane is not None and plane.qos is not None:
        pfc = ",".join("1" if p == plane.qos.pfc_priority else "0" for p in range(8))
    nvme = [x for x in model.drives if x.interface == "nvme"]
    mounts = _mounts(nvme)
    speed = nic.speed * 1000 if nic is not None else None
    devs = [_device(node, dev, dies, speed, pfc, cabled) for dev in devices]
    return {
        "kind": "node",
        "cpu": {
            "model": model.cpu.model,
            "arch": model.cpu.arch,
            "sockets": model.cpu.sockets,
            "cores_per_socket": model.cpu.cores_per_socket,
        },
        "memory_gb": model.memory_gb,
        "npu": {
            "cards": model.cards,
            "dies": dies,
            "generation": acc.generation if acc is not None else None,
            "pci_device_id": acc.pci_device_id if acc is not None else None,
            "devices": devs,
        },
        "nvme": {
            "count": sum(x.count for x in nvme),
            "capacity_gb": min((x.capacity_gb for x in nvme), default=0),
        },
        "storage": {"mounts": mounts},
        "firmware_range": [sw.firmware_min, sw.firmware_max] if sw else [None, None],
        "os": _os(d, node),
    }


def _os(d: Derived, node: Node) -> Os:
    """The OS the node's type runs (its `os`, else software.os): what preflight's `os`
    check compares /etc/os-release with; empty when the model names none."""
    image = d.cluster.software.os_of(node.model)
    if image is None:
        return {"name": None, "version": None, "family": None, "distribution": None}
    var = image.as_var()
    return {
        "name": var["name"], "version": var["version"], "family": var["family"],
        "distribution": var["distribution"],
    }  # fmt: skip


def _mounts(nvme: list[Drive]) -> list[Mount]:
    """The mounts the model asks of a node's NVMe drives, by their device names in order."""
    mounts: list[Mount] = []
    index = 0
    for drive in nvme:
        for _ in range(drive.count):
            if drive.mount:
                mounts.append(
                    {
                        "device": f"/dev/nvme{index}n1",
                        "filesystem": drive.filesystem,
                        "mount": drive.mount,
                    }
                )
            index += 1
    return mounts


def _device(
    node: Node,
    dev: hccn.Device,
    dies: int,
    speed_mbps: int | None,
    pfc: str | None,
    cabled: dict[tuple[str, int], tuple[str, str]],
) -> Device:
    """What verify expects of one NPU device: its address, port speed, PFC and leaf port."""
    device = int(dev["device"])
    card = device // dies
    entry: Device = {
        "device": device,
        "card": card,
        "chip": device % dies,
        "address": str(dev["address"]),
        "netmask": str(dev["netmask"]),
        "gateway": str(dev["gateway"]),
        "netdetect": str(dev["netdetect"]),
        "speed_mbps": speed_mbps,
        "pfc": pfc,
    }
    switch = cabled.get((node.name, card))
    if switch is not None:
        entry["switch"], entry["switch_port"] = switch
    return entry


def _add_ping_targets(out: dict[str, Expect], by_pod: dict[str, list[verifyplan.Server]]) -> None:
    """Each device's ping target (derive/verifyplan.py: the next rail of the next server)."""
    peers = verifyplan.ping_peers(list(by_pod.values()))
    for servers in by_pod.values():
        for server in servers:
            exp = out[server.name]
            assert exp["kind"] == "node"
            for dev in exp["npu"]["devices"]:
                ping = peers.get((server.name, dev["device"]))
                if ping is not None:
                    dev["ping"], dev["ping_peer"] = ping.address, ping.peer


def switch_expect(
    d: Derived,
    sw: Switch,
    configs: dict[str, routing.SwitchRouting],
    upto: int,
    cables: dict[str, list[Cable]] | None = None,
) -> SwitchExpect:
    """A switch's BGP sessions to switches of phases up to index `upto` (those cabled in), its
    OS, its cabled ports to devices of those phases with their speed (Gb/s), and on a RoCE
    plane the lossless class those ports must hold (PFC priority, DSCP, ECN)."""
    config = configs.get(sw.name)
    if config is None:
        return {"kind": "switch", "routed": False, "bgp_peers": []}
    phase_of = {s.name: s.pod.phase.index for s in d.cluster.switches}
    phase_of.update((n.name, n.pod.phase.index) for n in d.cluster.nodes)
    peers = [i["ifname"] for i in config.interfaces if phase_of.get(i["peer"], upto + 1) <= upto]
    ports: list[Port] = []
    for c in (cables if cables is not None else d.cabling.by_device()).get(sw.name, []):
        mine, other = (c.a, c.b) if c.a.device == sw.name else (c.b, c.a)
        if phase_of.get(other.device, upto + 1) <= upto:
            ports.append({"name": mine.ifname, "speed": c.speed})
    ports.sort(key=lambda p: _port_order(str(p["name"])))
    out: SwitchExpect = {
        "kind": "switch", "routed": True, "bgp_peers": peers, "os": config.os, "ports": ports,
    }  # fmt: skip
    if config.qos is not None:
        q = config.qos
        out["qos"] = {
            "pfc_priority": int(q["pfc_priority"]), "dscp": int(q["dscp"]), "ecn": bool(q["ecn"]),
            "ports": [p["name"] for p in ports],
        }  # fmt: skip
    return out


def _port_order(name: str) -> tuple[str, int, str]:
    m = re.match(r"^(\D*)(\d+)(.*)$", name)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else (name, 0, "")


def expectations(
    d: Derived, nodes: list[Node], switches: list[Switch], phase: str | None = None
) -> dict[str, Expect]:
    """wanka_expect of every node (NPU servers) and switch given, for a run of `phase` (its
    switches' sessions to later phases are not expected) or of every phase (None)."""
    cabled = verifyplan.cabled_cards(d.cluster, d.cabling)
    out: dict[str, Expect] = {}
    by_pod: dict[str, list[verifyplan.Server]] = defaultdict(list)
    for node in nodes:
        devices = hccn.hccn_devices(d, node)
        exp = node_expect(d, node, devices, cabled)
        out[node.name] = exp
        if devices and not node.excluded:
            devs = [(x["device"], x["address"]) for x in exp["npu"]["devices"]]
            by_pod[node.pod.name].append(verifyplan.Server(node.name, devs))
    _add_ping_targets(out, by_pod)
    configs = routing.switch_routing(d) if switches else {}
    chosen = d.cluster.phase(phase) if phase is not None else None
    upto = (
        chosen.index if chosen is not None else max((p.index for p in d.cluster.phases), default=0)
    )
    cables = d.cabling.by_device() if switches else {}
    for sw in switches:
        out[sw.name] = switch_expect(d, sw, configs, upto, cables)
    return out
