"""The hardware profile of one lab server: a plain JSON dict derived from the model.

The emulated device tools (`wanka.lab.tools`: npu-smi, hccn_tool, nvme, lscpu, the driver and
firmware installers) print everything they know from this profile, so a lab server looks
like the server the model describes. Nothing here is random: serials and bus ids follow
from the node's manifest serial (or its name) and the device index.

Keys (all JSON types):
  node, serial, generation (A2 | A3), chip_name, cards, dies, pci_device_id
  cards_info: [{card, serial, pci_device_id, chips}]
  devices: [{device, card, chip, phy_id, pci_device_id, bus_id, hbm_mb, hbm_used_mb,
             power_w (None on the second die: npu-smi prints `-`), temp_c, health, ifname,
             peer: {device, port, ifname, max_frame} (the leaf port the card is cabled to,
             None when not cabled), link_down, speed_mbps (the port's speed: the model's
             NIC speed on the parameter plane, `hccn_tool -speed -g`)}]
  npu_interfaces: {device id (str): Linux interface in the server's namespace}
  spod (A3 only): {super_pod_id, server_index, super_pod_size} - what `npu-smi info -t
      spod-info` prints; each device then has an `sdid`, the hardware id HCCL links dies by,
      encoded as the MindCluster code decodes it (reference ascend_05): server index << 22
      | NPU << 18 | chip << 16 | physical id. The lab's SuperPoDs number their servers in
      model order and themselves in cluster order, as a site's iBMC configuration would.
  nvme: [{node, serial, model, firmware, capacity_bytes, sector_size, use}]
  software: {driver_version, firmware_min, firmware_max, firmware_version,
             driver_package, firmware_package, cann_version}
  cpu: {vendor, model, arch, sockets, cores_per_socket}, memory_gb
  faults: the faults applied (see FAULTS)

Faults (`faults=` argument, all optional):
  npu_health: {device id: "Warning" | "Alarm" | "Critical"} - npu-smi Health column,
      `-t health` Health Status
  nvme_missing: N - the last N NVMe drives are absent from `nvme list`
  firmware_version: "7.3.0.1.100" - the firmware the cards report (npu-smi), whatever the
      installers wrote: a flash that did not take
  link_down: [device ids] - hccn_tool reports `link status: DOWN` whatever the veth says
  link_speed: {device id: Mb/s} - the port came up at that speed (`hccn_tool -speed -g`):
      a 200G optic in a 400G port, a link that trained down
  kernel_headers_missing: true - the running kernel's headers are not installed (and the
      driver's prebuilt modules were built for another kernel): the driver installer refuses
  server_index: N - (A3) the server's Server Index in its SuperPoD is N, whatever its place
      in the model (a board configured so): its SDIDs follow
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from wanka.derive.bundle import Derived
from wanka.derive.hccn import parameter_plane
from wanka.model.types import Node

FAULTS = (
    "npu_health",
    "nvme_missing",
    "firmware_version",
    "link_down",
    "link_speed",
    "server_index",
    "kernel_headers_missing",
)
HEALTH = ("OK", "Warning", "Alarm", "Critical")

# PCIe bus numbers as captured on real servers (reference/ascend): the 910B 8-card board
# and the 910C board (two dies a card, die 1 two buses above die 0).
A2_BUSES = (0xC1, 0x01, 0xC2, 0x02, 0x81, 0x41, 0x82, 0x42)
A3_FIRST_BUS = 0x9D

# Idle figures shown by real boards (npu-smi captures): power (W), temperature (C),
# share of HBM the driver holds when no process runs.
IDLE_POWER_W = {"A2": 85.0, "A3": 182.0}
IDLE_TEMP_C = 36
IDLE_HBM_SHARE = 0.05

Profile = dict[str, Any]


def _digest(*parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest().upper()


def _card_serial(base: str, card: int) -> str:
    # Ascend boards have 12-character serials (033XXX...): 033 + 9 from the node serial
    return "033" + _digest(base, "npu", card)[:9]


def _chip_name(key: str, generation: str) -> str:
    if generation == "A3":
        return "Ascend910"  # what npu-smi prints for a 910C die
    name = key.lower().removeprefix("ascend-").removeprefix("ascend")
    return name.upper() or "910B"


def _bus(generation: str, card: int, die: int, cards: int) -> str:
    if generation == "A3":
        bus = (A3_FIRST_BUS - 4 * card + 2 * die) & 0xFF
    elif cards <= len(A2_BUSES):
        bus = A2_BUSES[card]
    else:
        bus = card + 1
    return f"0000:{bus:02X}:00.0"


def _nvme_model(capacity_gb: float) -> str:
    # Huawei ES3000 V6 naming: HWE62P4 + capacity code (3T8 = 3.84 TB, 960G) + M005N
    if capacity_gb < 1000:
        code = f"{int(capacity_gb)}G"
    else:
        tb = capacity_gb / 1000
        code = f"{int(tb)}T{int(round(tb * 100)) // 10 % 10}"
    return f"HWE62P4{code}M005N"


def node_profile(d: Derived, node: Node | str, faults: dict[str, Any] | None = None) -> Profile:
    """The JSON hardware profile of `node` (a server of the model), with `faults` applied."""
    server = node if isinstance(node, Node) else d.cluster.node(node)
    model = server.model
    acc = model.accelerator
    if acc is None or model.cards == 0:
        raise ValueError(f"{server.name} has no NPUs")
    base = server.facts.serial if server.facts and server.facts.serial else server.name
    pci = (acc.pci_device_id or "0xd802").lower()
    pci_id = "0x" + pci.removeprefix("0x").upper()
    cards_info, devices = _npus(d, server, base, pci_id)
    arch = model.cpu.arch
    profile: Profile = {
        "node": server.name,
        "serial": base,
        "generation": acc.generation,
        "chip_name": _chip_name(acc.key, acc.generation),
        "cards": model.cards,
        "dies": acc.dies,
        "pci_device_id": pci_id,
        "cards_info": cards_info,
        "devices": devices,
        "npu_interfaces": {str(x["device"]): x["ifname"] for x in devices},
        "nvme": _drives(server, base),
        "software": _software(d, server, arch),
        "cpu": {
            "vendor": model.cpu.vendor,
            "model": model.cpu.model,
            "arch": arch,
            "sockets": model.cpu.sockets,
            "cores_per_socket": model.cpu.cores_per_socket,
        },
        "memory_gb": model.memory_gb,
        "os": _os(d, server),
        "faults": {},
    }
    if acc.generation == "A3":
        profile["spod"] = _spod(d, server)
        set_sdids(profile)
    return apply_faults(profile, faults) if faults else profile


def _os(d: Derived, server: Node) -> dict[str, str | None]:
    """The OS the server's type runs: the os-release and package manager it presents."""
    image = d.cluster.software.os_of(server.model)
    return image.as_var() if image is not None else {"name": None, "version": None}


def _spod(d: Derived, server: Node) -> dict[str, int]:
    """The server's SuperPoD as its hardware reports it (see the module docstring)."""
    sn = server.supernode if server.supernode is not None else 0
    pod_ids = [
        (p.name, k)
        for p in d.cluster.pods
        for k in sorted({n.supernode or 0 for n in p.nodes if n.model.accelerator is not None})
    ]
    members = [n for n in server.pod.nodes if (n.supernode or 0) == sn and n.model.accelerator]
    cards = server.pod.supernode_cards or sum(n.model.cards for n in members)
    return {
        "super_pod_id": pod_ids.index((server.pod.name, sn)),
        "server_index": members.index(server),
        "super_pod_size": cards,
    }


def sdid(server_index: int, card: int, chip: int, phy_id: int) -> int:
    """The A3 super device id of one die (reference ascend_05's bit layout)."""
    return (server_index << 22) | (card << 18) | (chip << 16) | phy_id


def set_sdids(profile: Profile) -> None:
    for dev in profile["devices"]:
        dev["sdid"] = sdid(profile["spod"]["server_index"], dev["card"], dev["chip"], dev["phy_id"])


def _parameter_ports(d: Derived, server: Node) -> tuple[dict[int, str], dict[int, dict[str, Any]]]:
    """Per NPU port of `server` on the parameter plane: its Linux interface and the switch
    port at the cable's other end (device, port, ifname, that switch model's max frame)."""
    plane = parameter_plane(d.cluster, server)
    ifnames: dict[int, str] = {}
    peers: dict[int, dict[str, Any]] = {}
    if plane is None:
        return ifnames, peers
    switches = {sw.name: sw for sw in d.cluster.switches}
    for c in d.cabling.cables:
        if c.a.device == server.name and c.plane == plane.name:
            port = int(c.a.port.removeprefix(plane.name))
            ifnames[port] = c.a.ifname
            leaf = switches.get(c.b.device)
            peers[port] = {
                "device": c.b.device,
                "port": c.b.port,
                "ifname": c.b.ifname,
                "max_frame": leaf.model.max_frame if leaf is not None else None,
            }
    return ifnames, peers


def _npus(
    d: Derived, server: Node, base: str, pci_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(a record per card, a record per NPU device: one per die) of a healthy server."""
    model = server.model
    acc = model.accelerator
    assert acc is not None
    generation, dies = acc.generation, acc.dies
    plane = parameter_plane(d.cluster, server)
    pname = plane.name if plane is not None else "param"
    ifnames, peers = _parameter_ports(d, server)
    nic = model.nic(pname)
    speed_mbps = nic.speed * 1000 if nic is not None else None
    hbm_mb = acc.hbm_gb * 1024 // dies
    cards_info = []
    devices = []
    for card in range(model.cards):
        cards_info.append(
            {
                "card": card,
                "serial": _card_serial(base, card),
                "pci_device_id": pci_id,
                "chips": dies,
            }
        )
        for die in range(dies):
            device = card * dies + die
            devices.append(
                {
                    "device": device,
                    "card": card,
                    "chip": die,
                    "phy_id": device,
                    "pci_device_id": pci_id,
                    "bus_id": _bus(generation, card, die, model.cards),
                    "hbm_mb": hbm_mb,
                    "hbm_used_mb": int(hbm_mb * IDLE_HBM_SHARE),
                    "power_w": IDLE_POWER_W.get(generation, 85.0) if die == 0 else None,
                    "temp_c": IDLE_TEMP_C,
                    "health": "OK",
                    "ifname": ifnames.get(card, f"{pname}{card}"),
                    "peer": peers.get(card),
                    "link_down": False,
                    "speed_mbps": speed_mbps,
                }
            )
    return cards_info, devices


def _drives(server: Node, base: str) -> list[dict[str, Any]]:
    """The server's NVMe drives as `nvme list` shows them: /dev/nvme<i>n1, serial, model."""
    drives = []
    index = 0
    for drive in server.model.drives:
        if drive.interface != "nvme":
            continue
        for _ in range(drive.count):
            drives.append(
                {
                    "node": f"/dev/nvme{index}n1",
                    "serial": "2102" + _digest(base, "nvme", index)[:16],
                    "model": _nvme_model(drive.capacity_gb),
                    "firmware": "1053",
                    "capacity_bytes": int(drive.capacity_gb * 10**9),
                    "sector_size": 512,
                    "use": drive.use,
                }
            )
            index += 1
    return drives


def _software(d: Derived, server: Node, arch: str) -> dict[str, Any]:
    """The server's NPU software set: versions, firmware range and the packages for `arch`."""
    sw = d.cluster.software.for_node(server)
    if sw is None:
        keys = ("driver_version", "firmware_min", "firmware_max", "firmware_version")
        return dict.fromkeys((*keys, "driver_package", "firmware_package", "cann_version"))
    return {
        "driver_version": sw.driver_version,
        "firmware_min": sw.firmware_min,
        "firmware_max": sw.firmware_max,
        "firmware_version": sw.firmware_version,
        "driver_package": sw.driver_packages.get(arch),
        "firmware_package": sw.firmware_package,
        "cann_version": sw.cann_version,
    }


def apply_faults(base: Profile, faults: dict[str, Any]) -> Profile:
    """A copy of the healthy profile `base` with `faults` applied (see FAULTS)."""
    faults = dict(faults or {})
    unknown = sorted(set(faults) - set(FAULTS))
    if unknown:
        raise ValueError(f"unknown fault keys {unknown} (known: {', '.join(FAULTS)})")
    out: Profile = json.loads(json.dumps(base))
    health = {int(k): str(v) for k, v in (faults.get("npu_health") or {}).items()}
    for dev, h in health.items():
        if h not in HEALTH:
            raise ValueError(f"npu_health of device {dev}: '{h}' is not one of {HEALTH}")
    link_down = {int(x) for x in faults.get("link_down") or []}
    speeds = {int(k): int(v) for k, v in (faults.get("link_speed") or {}).items()}
    for dev in out["devices"]:
        dev["health"] = health.get(int(dev["device"]), "OK")
        dev["link_down"] = int(dev["device"]) in link_down
        if int(dev["device"]) in speeds:
            dev["speed_mbps"] = speeds[int(dev["device"])]
    missing = int(faults.get("nvme_missing") or 0)
    if missing:
        out["nvme"] = out["nvme"][: max(0, len(out["nvme"]) - missing)]
    if faults.get("server_index") is not None and "spod" in out:
        out["spod"]["server_index"] = int(faults["server_index"])
        set_sdids(out)
    if faults.get("firmware_version"):
        out["software"]["firmware_version"] = str(faults["firmware_version"])
    out["faults"] = faults
    return out


def write_profile(
    d: Derived, node: Node | str, path: str | Path, faults: dict[str, Any] | None = None
) -> Profile:
    """Write the profile of `node` as JSON to `path` (what WANKA_LAB_PROFILE names)."""
    profile = node_profile(d, node, faults)
    Path(path).write_text(json.dumps(profile, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return profile
