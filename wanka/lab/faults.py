"""Lab faults: what breaks, how it is made to break, and how it is mended.

A fault is written `KIND:TARGET[:PORT][=VALUE]`; several are separated by commas or spaces
on the command line, or listed (one string each) in a YAML file:

  power-never:NODE          the BMC accepts power-on and nothing happens (Redfish stays Off)
  bmc-slow:NODE[=SECONDS]   every Redfish request for that system waits SECONDS (default 5)
  bmc-down:NODE             Redfish requests for that system are never answered
  link-down:NODE:npuN       the switch end of NPU N's cable goes down: carrier lost on the
                            server's port (hccn_tool -link -g: DOWN; no LLDP neighbour)
  cable-swap:NODE:npuA=NODE2:npuB
                            the two NPU ports' cables are exchanged (the server-side veth
                            ends trade places): LLDP neighbours no longer match the cabling
  link-speed:NODE:npuN[=MBPS]
                            NPU N's port comes up at MBPS Mb/s (default half the model's
                            speed: a 200G optic in a 400G port); `hccn_tool -speed -g`
  nvme-missing:NODE[=COUNT] the last COUNT NVMe drives (default 1) vanish from `nvme list`
  npu-health:NODE:npuN[=H]  npu-smi shows health H (Warning, Alarm, Critical; default Alarm)
  firmware:NODE=VERSION     the cards report firmware VERSION whatever was installed
  no-kernel-headers:NODE    the running kernel's headers are not installed: the driver
                            installer refuses to build its modules (Drv_dkms_env_check)
  bgp-down:SWITCH:IFNAME    the switch's BGP session on IFNAME is shut (`neighbor shutdown`)

Quirks of a vendor-profile BMC (a server type with bmc.firmware other than generic):

  bmc-etag-stale:NODE[=N]   the next N PATCHes (default 1) find the resource changed (412)
  bmc-busy:NODE[=N]         the next N requests (default 3) answer 503 with Retry-After: 1
  bmc-task:NODE[=SECONDS]   a BIOS change answers 202 and a task that runs SECONDS (default 20)

(The lab's BMCs need no login, so session expiry is a fault of the tests' BMCs only.)

`apply(state, specs)` makes the running lab have exactly those faults: what is no longer
listed is mended, what is new is made. The applied specs are recorded in the lab state.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wanka.derive.bundle import Derived
from wanka.findings import InputError
from wanka.lab import access as lab_access
from wanka.lab import bmc, nodes, proc
from wanka.lab.profile import HEALTH, apply_faults
from wanka.lab.state import State

KINDS = {
    # kind: (needs a port, value: None = no value, "opt" = optional, "req" = required)
    "power-never": (False, None),
    "bmc-slow": (False, "opt"),
    "bmc-down": (False, None),
    "link-down": (True, None),
    "cable-swap": (True, "req"),
    "link-speed": (True, "opt"),
    "nvme-missing": (False, "opt"),
    "npu-health": (True, "opt"),
    "firmware": (False, "req"),
    "no-kernel-headers": (False, None),
    "bgp-down": (True, None),
    "bmc-etag-stale": (False, "opt"),
    "bmc-busy": (False, "opt"),
    "bmc-task": (False, "opt"),
}
# acted out by a vendor-profile BMC (wanka.lab.vendorbmc): kind -> (its fault, default)
VENDOR_KINDS = {
    "bmc-etag-stale": ("stale_etag", 1),
    "bmc-busy": ("busy", 3),
    "bmc-task": ("task_seconds", 20.0),
}
SWITCH_KINDS = ("bgp-down",)
# acted out by the device tools
PROFILE_KINDS = ("nvme-missing", "npu-health", "firmware", "link-speed", "no-kernel-headers")
DEFAULT_SLOW = 5.0

_SPEC = re.compile(
    r"^(?P<kind>[a-z-]+):(?P<target>[^:=\s]+)(?::(?P<port>[^=\s]+))?(?:=(?P<value>\S+))?$"
)


class FaultError(Exception):
    pass


@dataclass(frozen=True, order=True)
class Fault:
    kind: str
    target: str
    port: str | None = None
    value: str | None = None

    @property
    def spec(self) -> str:
        text = f"{self.kind}:{self.target}"
        if self.port:
            text += f":{self.port}"
        if self.value is not None:
            text += f"={self.value}"
        return text

    def npu(self) -> int:
        assert self.port is not None
        return int(self.port.removeprefix("npu"))

    def other_end(self) -> tuple[str, str]:
        """cable-swap: the (node, npuB) of its value NODE2:npuB."""
        node, _, port = (self.value or "").partition(":")
        return node, port


def parse(spec: str) -> Fault:
    m = _SPEC.match(spec.strip())
    if m is None:
        raise FaultError(
            f"fault '{spec}': write KIND:TARGET[:PORT][=VALUE] (e.g. link-down:NODE:npu3); "
            f"kinds: {', '.join(KINDS)}"
        )
    kind, target, port, value = m["kind"], m["target"], m["port"], m["value"]
    if kind not in KINDS:
        raise FaultError(f"fault '{spec}': unknown kind '{kind}' (known: {', '.join(KINDS)})")
    needs_port, val = KINDS[kind]
    if needs_port and not port:
        what = "IFNAME" if kind in SWITCH_KINDS else "npuN"
        raise FaultError(f"fault '{spec}': {kind} needs a port: {kind}:{target}:{what}")
    if not needs_port and port:
        raise FaultError(f"fault '{spec}': {kind} takes no port")
    if val is None and value is not None:
        raise FaultError(f"fault '{spec}': {kind} takes no value")
    if val == "req" and value is None:
        example = "NODE2:npuB" if kind == "cable-swap" else "VERSION"
        raise FaultError(f"fault '{spec}': {kind} needs a value: ...={example}")
    if port and kind not in SWITCH_KINDS and not re.fullmatch(r"npu\d+", port):
        raise FaultError(f"fault '{spec}': the port is an NPU device, npu0, npu1, ...")
    if kind == "bmc-slow" and value is not None:
        try:
            if float(value) <= 0:
                raise ValueError
        except ValueError:
            raise FaultError(f"fault '{spec}': seconds must be a positive number") from None
    if kind in ("bmc-etag-stale", "bmc-busy") and value is not None and not value.isdigit():
        raise FaultError(f"fault '{spec}': the count must be a whole number")
    if kind == "bmc-task" and value is not None and not re.fullmatch(r"\d+(\.\d+)?", value):
        raise FaultError(f"fault '{spec}': seconds must be a positive number")
    if kind == "nvme-missing" and value is not None and not value.isdigit():
        raise FaultError(f"fault '{spec}': the count must be a whole number")
    if kind == "link-speed" and value is not None and not (value.isdigit() and int(value) > 0):
        raise FaultError(f"fault '{spec}': the speed is a whole number of Mb/s, e.g. 200000")
    if kind == "npu-health" and value is not None and value not in HEALTH[1:]:
        raise FaultError(f"fault '{spec}': health is one of {', '.join(HEALTH[1:])}")
    if kind == "cable-swap" and not re.fullmatch(r"[^:=\s]+:npu\d+", value or ""):
        raise FaultError(f"fault '{spec}': write cable-swap:NODE:npuA=NODE2:npuB")
    return Fault(kind, target, port, value)


def split(text: str) -> list[str]:
    return [p for p in re.split(r"[,\s]+", text) if p]


def read(arg: str) -> list[str]:
    """Specs from a command-line argument: a YAML file (a list of specs, or a mapping with a
    `faults:` list) when `arg` names a file, else specs separated by commas or spaces. Every
    spec is checked for form (not against a cluster: see check)."""
    path = Path(arg)
    if not path.is_file():
        specs = split(arg)
        for s in specs:
            parse(s)
        return specs
    from wanka.language.loader import YSeq, load_file

    try:
        data = load_file(str(path))
    except InputError as e:
        raise FaultError("; ".join(str(f) for f in e.findings)) from None
    if isinstance(data, dict):
        data = data.get("faults")
    if not isinstance(data, YSeq):
        raise FaultError(f"{path}: expected a list of faults (or `faults:` with a list)")
    specs = []
    for i, item in enumerate(data):
        at = data.item_at[i]
        if not isinstance(item, str):
            raise FaultError(f"{at.file}:{at.line}:{at.col}: a fault is a string KIND:TARGET...")
        try:
            parse(item)
        except FaultError as e:
            raise FaultError(f"{at.file}:{at.line}:{at.col}: {e}") from None
        specs.append(item.strip())
    return specs


# ----------------------------------------------------------------------------- checks


@dataclass
class Targets:
    """What faults can name: servers (their NPU device count) and switches (their ports)."""

    devices: dict[str, int]
    switch_ports: dict[str, set[str]]
    vendor: set[str] = field(default_factory=set)  # servers with a vendor-profile BMC

    @classmethod
    def of_model(cls, d: Derived) -> Targets:
        ports: dict[str, set[str]] = {s.name: set() for s in d.cluster.switches}
        for c in d.cabling.cables:
            for end in (c.a, c.b):
                if end.device in ports:
                    ports[end.device].add(end.ifname)
        devices = {
            n.name: n.model.cards * (n.model.accelerator.dies if n.model.accelerator else 1)
            for n in d.cluster.nodes
            if n.model.cards
        }
        vendor = {n.name for n in d.cluster.nodes if n.model.bmc_firmware != "generic"}
        return cls(devices, ports, vendor)

    @classmethod
    def of_lab(cls, lab: Path) -> Targets:
        access = lab_access.read(lab)
        devices = {}
        for name in access.nodes:
            base = json.loads((nodes.node_dir(lab, name) / "profile.base.json").read_text())
            devices[name] = len(base["devices"])
        vendor = {n for n, v in access.nodes.items() if v.bmc}
        return cls(devices, {s: set() for s in access.switches}, vendor)


def check(faults: Iterable[Fault], targets: Targets) -> None:
    seen: dict[tuple[str, str, str | None], str] = {}
    for f in faults:
        if f.kind in SWITCH_KINDS:
            if f.target not in targets.switch_ports:
                raise FaultError(f"fault '{f.spec}': no switch named {f.target}")
            ports = targets.switch_ports[f.target]
            if ports and f.port not in ports:
                raise FaultError(f"fault '{f.spec}': {f.target} has no port {f.port}")
        else:
            ends = [(f.target, f.port)]
            if f.kind == "cable-swap":
                ends.append(f.other_end())
            for node, port in ends:
                if node not in targets.devices:
                    raise FaultError(f"fault '{f.spec}': no server named {node} in the lab")
                if port is not None and int(port[3:]) >= targets.devices[node]:
                    raise FaultError(
                        f"fault '{f.spec}': {node} has NPU devices npu0 to "
                        f"npu{targets.devices[node] - 1}"
                    )
        if f.kind in VENDOR_KINDS and f.target not in targets.vendor:
            raise FaultError(
                f"fault '{f.spec}': {f.target}'s BMC is the generic one (sushy-tools); "
                "BMC quirks need a server type with bmc.firmware huawei-ibmc, ami-megarac "
                "or dmtf-reference"
            )
        key = (f.kind, f.target, f.port)
        if key in seen:
            raise FaultError(f"faults '{seen[key]}' and '{f.spec}' break the same thing")
        seen[key] = f.spec


def check_specs(d: Derived, specs: list[str]) -> None:
    check([parse(s) for s in specs], Targets.of_model(d))


# ----------------------------------------------------------------------------- applying


def _ip(*args: str) -> None:
    proc.run(["ip", *args], error=FaultError)


def _base(lab: Path, node: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (nodes.node_dir(lab, node) / "profile.base.json").read_text(encoding="utf-8")
    )
    return data


def _device(lab: Path, node: str, npu: int) -> dict[str, Any]:
    for dev in _base(lab, node)["devices"]:
        if int(dev["device"]) == npu:
            return dict(dev)
    raise FaultError(f"{node} has no NPU device {npu}")


def _bmc_faults(lab: Path, faults: list[Fault]) -> None:
    out: dict[str, Any] = {"slow": {}, "down": [], "power_never": []}
    for f in faults:
        if f.kind == "bmc-slow":
            out["slow"][f.target] = float(f.value or DEFAULT_SLOW)
        elif f.kind == "bmc-down":
            out["down"].append(f.target)
        elif f.kind == "power-never":
            out["power_never"].append(f.target)
        elif f.kind in VENDOR_KINDS:
            name, default = VENDOR_KINDS[f.kind]
            value = type(default)(float(f.value)) if f.value is not None else default
            out.setdefault("vendor", {}).setdefault(f.target, {})[name] = value
    bmc.write_faults(lab / "bmc", out)


def _profiles(lab: Path, faults: list[Fault], touched: set[str]) -> None:
    per_node: dict[str, dict[str, Any]] = {}
    for f in faults:
        if f.kind not in PROFILE_KINDS:
            continue
        agg = per_node.setdefault(f.target, {})
        if f.kind == "nvme-missing":
            agg["nvme_missing"] = int(f.value or 1)
        elif f.kind == "npu-health":
            agg.setdefault("npu_health", {})[str(f.npu())] = f.value or "Alarm"
        elif f.kind == "firmware":
            agg["firmware_version"] = f.value
        elif f.kind == "no-kernel-headers":
            agg["kernel_headers_missing"] = True
        elif f.kind == "link-speed":
            speed = f.value or (_device(lab, f.target, f.npu()).get("speed_mbps") or 0) // 2
            agg.setdefault("link_speed", {})[str(f.npu())] = int(speed)
    for node in sorted(touched | set(per_node)):
        profile = apply_faults(_base(lab, node), per_node.get(node, {}))
        path = nodes.node_dir(lab, node) / "profile.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(profile, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def _link(lab: Path, f: Fault, up: bool) -> None:
    access = lab_access.read(lab)
    peer = _device(lab, f.target, f.npu()).get("peer")
    if not peer:
        raise FaultError(f"fault '{f.spec}': that NPU port is not cabled")
    ns = access.switches[peer["device"]].namespace
    _ip("-n", ns, "link", "set", peer["ifname"], "up" if up else "down")


def _swap(lab: Path, f: Fault) -> None:
    """Exchange the server-side ends of two NPU cables (its own inverse)."""
    access = lab_access.read(lab)
    ends = []
    for node, port in ((f.target, f.port or ""), f.other_end()):
        dev = _device(lab, node, int(port[3:]))
        ends.append((access.nodes[node].namespace, str(dev["ifname"])))
    (ns_a, if_a), (ns_b, if_b) = ends
    if (ns_a, if_a) == (ns_b, if_b):
        raise FaultError(f"fault '{f.spec}': both ends are the same port")
    # an NPU keeps its address whatever cable is plugged in: note them, re-set them after
    kept = {end: _addresses(*end) for end in ends}
    routes = {end: _npu_routes(*end) for end in ends}  # each NPU's own table (hccn_tool -ip -s)
    tmp_a, tmp_b = "wkswap-a", "wkswap-b"
    _ip("-n", ns_a, "link", "set", if_a, "down", "name", tmp_a)
    _ip("-n", ns_b, "link", "set", if_b, "down", "name", tmp_b)
    # lldpd keeps a port whose name and ifindex are unchanged, and with it a raw socket bound
    # to the device that left: a cable moved back where another had taken its ifindex would
    # never be heard again. Let each lldpd drop the old name before the new cable takes it.
    for node, ifname in ((f.target, if_a), (f.other_end()[0], if_b)):
        _lldpd_forgets(access.nodes[node].lldp_socket, ifname)
    if ns_a != ns_b:
        _ip("-n", ns_a, "link", "set", tmp_a, "netns", ns_b)
        _ip("-n", ns_b, "link", "set", tmp_b, "netns", ns_a)
    # tmp_a (A's old cable) now lives where B was, and takes B's name; and the other way
    _ip("-n", ns_b, "link", "set", tmp_a, "name", if_b, "up")
    _ip("-n", ns_a, "link", "set", tmp_b, "name", if_a, "up")
    for (ns, ifname), addrs in kept.items():
        _ip("-n", ns, "address", "flush", "dev", ifname)
        for addr in addrs:
            _ip("-n", ns, "address", "add", addr, "dev", ifname)
        for r in routes[(ns, ifname)]:
            src = ["src", r["prefsrc"]] if r.get("prefsrc") else []
            _ip("-n", ns, "route", "replace", r["dst"], "dev", ifname, *src,
                "table", str(r["table"]))  # fmt: skip


def _lldpd_forgets(sock: str | None, ifname: str, timeout: float = 15.0) -> None:
    """Wait until the lldpd behind `sock` no longer lists the port `ifname`."""
    if not sock or shutil.which("lldpcli") is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cmd = ["lldpcli", "-u", sock, "-f", "json", "show", "interfaces", "ports", ifname]
        r = proc.run(cmd, timeout=10, check=False)
        if r.returncode != 0:
            return  # no lldpd there: nothing holds the port
        if not (json.loads(r.stdout or "{}").get("lldp") or {}).get("interface"):
            return
        time.sleep(0.2)
    raise FaultError(f"lldpd ({sock}) still lists {ifname} {timeout:g} s after it was unplugged")


def _npu_routes(ns: str, ifname: str) -> list[dict[str, Any]]:
    """The routes on an interface in tables other than main and local."""
    cmd = ["ip", "-n", ns, "-j", "-4", "route", "show", "table", "all", "dev", ifname]
    r = proc.run(cmd, error=FaultError, timeout=30)
    return [
        route
        for route in json.loads(r.stdout or "[]")
        if route.get("table") not in (None, "main", "local") and route.get("dst")
    ]


def _addresses(ns: str, ifname: str) -> list[str]:
    """The IPv4 addresses (with prefix length) on an interface of a namespace."""
    cmd = ["ip", "-n", ns, "-j", "-4", "address", "show", "dev", ifname]
    r = proc.run(cmd, error=FaultError, timeout=30)
    return [
        f"{a['local']}/{a['prefixlen']}"
        for link in json.loads(r.stdout or "[]")
        for a in link.get("addr_info", [])
    ]


def _bgp(lab: Path, f: Fault, down: bool) -> None:
    from wanka.lab.switches import vtysh_json

    vty = lab_access.read(lab).switches[f.target].vty
    if not vty:
        raise FaultError(f"fault '{f.spec}': {f.target} runs no BGP in the lab")
    summary = vtysh_json(vty, "show bgp summary json").get("ipv4Unicast", {})
    if f.port not in summary.get("peers", {}):
        raise FaultError(f"fault '{f.spec}': {f.target} has no BGP session on {f.port}")
    cmd = f"{'' if down else 'no '}neighbor {f.port} shutdown"
    vtysh = ["vtysh", "--vty_socket", vty, "-c", "configure terminal"]
    r = proc.run([*vtysh, "-c", f"router bgp {summary['as']}", "-c", cmd], check=False, timeout=30)
    if r.returncode != 0:
        raise FaultError(f"fault '{f.spec}': vtysh: {(r.stderr or r.stdout).strip()}")


def _act(lab: Path, f: Fault, on: bool) -> None:
    if f.kind == "link-down":
        _link(lab, f, up=not on)
    elif f.kind == "cable-swap":
        _swap(lab, f)
    elif f.kind == "bgp-down":
        _bgp(lab, f, down=on)


def apply(state: State, specs: list[str], *, progress: Callable[[str], None] = print) -> None:
    """Make the running lab have exactly the faults `specs`."""
    if not state.servers:
        raise FaultError("this lab runs no BMCs or servers (it was brought up without them)")
    lab = Path(state.lab_dir)
    want = [parse(s) for s in specs]
    check(want, Targets.of_lab(lab))
    have = [parse(s) for s in state.faults]
    gone = [f for f in have if f not in want]
    new = [f for f in want if f not in have]
    for f in gone:
        _act(lab, f, on=False)
        state.faults.remove(f.spec)
        state.save()
    _bmc_faults(lab, want)
    touched = {f.target for f in have + want if f.kind in PROFILE_KINDS}
    _profiles(lab, want, touched)
    for f in new:
        state.faults.append(f.spec)
        state.save()  # recorded first: a half-made fault is mended by `clear`/`down`
        _act(lab, f, on=True)
    if gone:
        progress(f"mended {len(gone)} fault(s): {', '.join(f.spec for f in gone)}")
    if new:
        progress(f"made {len(new)} fault(s): {', '.join(f.spec for f in new)}")
    if not gone and not new:
        progress("faults unchanged")
