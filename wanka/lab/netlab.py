"""The lab's network: one network namespace per device, one veth pair per cable.

Every node and every switch of the cluster gets a namespace named `<prefix>-<index>` (prefix
`wk-<4 hex of the cluster name's hash>`, see state.lab_prefix; switches first, then nodes, in
model order), and every cable of d.cabling a veth pair whose ends carry the cable ends' Linux
names: `param3`, `mgmt0`, `bmc` in the node's namespace, `swp12s2` in the switch's. Both ends
take the plane's MTU and are up.

Switches: the loopback (d.addressing.loopbacks) on lo; leaves get a Linux bridge holding their
node-facing ports. A routed leaf's bridge is its gateway interface as routing.switch_routing
says (name and address: `br-param` with 10.64.0.1/26). A leaf of a one-tier plane (mgmt, oob)
is a plain L2 switch: the bridge `br-<plane>` without an address, since no device of the model
routes those planes.

The two leaves of an active-backup pair have their peer link in their bridges too.

Nodes: NPU ports (per-port planes, `param<i>`) stay without addresses, hccn_tool sets them
later. Bonded planes (mgmt): the node's address goes on the plane's first port (`mgmt0`), the
other ports stay up without an address: what an active-backup bond with its primary member
active looks like from the switches. Not a bond: this kernel (and many CI VMs) has no bonding
module (`ip link add type bond` answers `Unknown device type`); a later version can make it a
bond where the module exists. The BMC port (`bmc`, oob plane) takes the BMC's address.

up() is idempotent: with the lab up (state complete, every namespace present, every recorded
process alive) it changes nothing and says so. A half-built lab (a crash) is refused: run down
first. down() removes exactly what the state file lists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from wanka import credentials
from wanka.derive.bundle import Derived
from wanka.derive.routing import IFNAME_MAX, gateway_ifname, is_routed, port_key, switch_routing
from wanka.lab import access as lab_access
from wanka.lab import execnodes, proc
from wanka.lab import faults as lab_faults
from wanka.lab.mirror import MirrorError
from wanka.lab.provision import (
    JUMP,
    JUMP_DEVICE,
    ProvisionError,
    access_links,
    prepare,
)
from wanka.lab.state import STATE_FILE, Proc, State, alive, default_dir, lab_prefix, proc_info
from wanka.lab.teardown import NETNS_DIR as NETNS_DIR
from wanka.lab.teardown import down as down

Progress = Callable[[str], None]

# One namespace per device, and per routed switch zebra + bgpd, per namespace lldpd (2
# processes): a few MB each. 200 namespaces is about 600 processes and 1-2 GB of memory.
MAX_NAMESPACES = 200
LIMIT_ENV = "WANKA_LAB_MAX_NAMESPACES"


class LabError(Exception):
    pass


def _quiet(_: str) -> None:
    pass


def ip(*args: str, input: str | None = None) -> None:
    proc.run(["ip", *args], error=LabError, timeout=120, input=input)


def namespaces_present(prefix: str) -> list[str]:
    """The namespaces (of /run/netns) whose name starts with `<prefix>-`."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(prefix + "-"))


def limit() -> int:
    raw = os.environ.get(LIMIT_ENV, "")
    return int(raw) if raw.isdigit() else MAX_NAMESPACES


def estimate(d: Derived) -> dict[str, int]:
    switches = len(d.cluster.switches)
    nodes = len(d.cluster.nodes)
    routed = sum(1 for s in d.cluster.switches if is_routed(s))
    return {
        "namespaces": switches + nodes,
        "veths": len(d.cabling.cables),
        "processes": 2 * routed + 2 * (switches + nodes),
    }


def _prefixlen(d: Derived, plane: str, addr: IPv4Address) -> int:
    for sub in d.addressing.subnets:
        if sub.plane == plane and addr in sub.network:
            return sub.network.prefixlen
    raise LabError(f"{addr} is in no subnet of plane {plane}")


def plan(d: Derived, prefix: str) -> tuple[dict[str, str], list[list[str]], dict[str, list[str]]]:
    """(namespace -> device, veth pairs [ns, ifname, peer ns, peer ifname], namespace -> the
    `ip -batch` lines configuring it)."""
    devices = [s.name for s in d.cluster.switches] + [n.name for n in d.cluster.nodes]
    ns_of = {dev: f"{prefix}-{i}" for i, dev in enumerate(devices)}
    veths: list[list[str]] = []
    batch: dict[str, list[str]] = {ns: ["link set lo up"] for ns in ns_of.values()}
    mtu = {p.name: p.mtu for p in d.cluster.planes.values()}
    switches = {s.name: s for s in d.cluster.switches}
    downlinks: dict[str, list[str]] = defaultdict(list)
    node_ports: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in d.cabling.cables:
        for end in (c.a, c.b):
            if end.device not in ns_of:
                raise LabError(f"cable {c.id}: {end.device} is not a device of the cluster")
            if len(end.ifname) > IFNAME_MAX:
                raise LabError(f"cable {c.id}: interface name {end.ifname} is too long")
        veths.append([ns_of[c.a.device], c.a.ifname, ns_of[c.b.device], c.b.ifname])
        for end in (c.a, c.b):
            batch[ns_of[end.device]].append(f"link set {end.ifname} mtu {mtu[c.plane]} up")
        if c.a.device not in switches:
            downlinks[c.b.device].append(c.b.ifname)
            node_ports[(c.a.device, c.plane)].append(c.a.ifname)
        elif c.peer:  # an active-backup pair's peer link: in both leaves' bridges
            downlinks[c.a.device].append(c.a.ifname)
            downlinks[c.b.device].append(c.b.ifname)

    routing = switch_routing(d)
    for sw in d.cluster.switches:
        lines = batch[ns_of[sw.name]]
        lo = d.addressing.loopbacks.get(sw.name)
        if lo is not None:
            lines.append(f"address add {lo}/32 dev lo")
        if sw.tier != "leaf":
            continue
        r = routing.get(sw.name)
        bridges: dict[str, tuple[list[str], list[str]]] = {}
        if r is not None:
            for g in r.gateways:
                members, addrs = bridges.setdefault(g["ifname"], ([], []))
                members.extend(m for m in g["members"] if m not in members)
                addrs.append(g["address"])
        elif downlinks[sw.name]:
            bridges[gateway_ifname(sw.plane.name, None)] = (downlinks[sw.name], [])
        for br, (members, addrs) in bridges.items():
            lines.append(f"link add {br} mtu {sw.plane.mtu} type bridge")
            lines.extend(f"link set {m} master {br}" for m in members)
            lines.append(f"link set {br} up")
            lines.extend(f"address add {a} dev {br}" for a in addrs)

    for node in d.cluster.nodes:
        lines = batch[ns_of[node.name]]
        for (name, plane), addr in sorted(d.addressing.bonds.items()):
            ports = sorted(node_ports[(node.name, plane)], key=port_key)
            if name == node.name and ports:
                lines.append(f"address add {addr}/{_prefixlen(d, plane, addr)} dev {ports[0]}")
        bmc = d.addressing.bmcs.get(node.name)
        if bmc is not None:
            oob = next(p.name for p in d.cluster.planes.values() if p.role == "oob")
            lines.append(f"address add {bmc}/{_prefixlen(d, oob, bmc)} dev bmc")
    return {ns: dev for dev, ns in ns_of.items()}, veths, batch


def is_up(state: State) -> tuple[bool, list[str]]:
    """Is the recorded lab complete and running? (and what is missing)"""
    missing = [f"namespace {ns}" for ns in state.namespaces if not (NETNS_DIR / ns).exists()]
    missing += [f"{p.role} pid {p.pid} in {p.namespace}" for p in state.procs if not alive(p)]
    if not state.complete:
        missing.append("the state says up did not finish")
    return not missing, missing


def _no_vrp(d: Derived) -> None:
    """VRP names ports 400GE1/0/1, which is no Linux interface name: the lab does not run VRP
    switches yet (docs/switches/vrp.md); say so before anything is built."""
    vrp = [s.name for s in d.cluster.switches if s.model.os == "vrp"]
    if vrp:
        more = f" and {len(vrp) - 3} more" if len(vrp) > 3 else ""
        raise LabError(f"wanka lab does not run VRP switches yet: {', '.join(vrp[:3])}{more}")


def up(
    d: Derived,
    lab_dir: Path | str | None = None,
    *,
    progress: Progress = _quiet,
    frr: bool = True,
    lldp: bool = True,
    servers: bool = True,
    prefix: str | None = None,
    power_delay: tuple[int, int] | None = None,
    ssh_key: Path | None = None,
    faults: list[str] | None = None,
    execution_nodes: int = 0,
) -> State:
    """Bring the lab up (namespaces, veths, addresses; FRR and lldpd; the BMCs and servers)
    unless told not to. `prefix` replaces the namespace prefix derived from the cluster name
    (tests use it to run beside a lab of the same cluster). `faults`: specs of
    wanka.lab.faults, applied once everything runs; on a lab already up they replace the
    faults in place. `execution_nodes`: that many execution nodes on the management network
    (wanka.lab.execnodes; needs the servers)."""
    if os.geteuid() != 0:
        raise LabError("wanka lab needs root (network namespaces)")
    name = d.cluster.name
    where = Path(lab_dir) if lab_dir is not None else default_dir(name)
    prefix = prefix or lab_prefix(name)
    old = State.load(where)
    if old is not None:
        return _already_up(old, name, where, faults, progress, execution_nodes)
    if execution_nodes and not servers:
        raise LabError("execution nodes run the servers' bring-up: not with --network-only")
    _preflight(d, where, prefix, faults, frr=frr)
    links = access_links(d) if servers else []
    started = time.monotonic()
    state = State(cluster=name, prefix=prefix, lab_dir=str(where))
    # the lab directory and those of its parents that do not exist yet (/run/wanka-lab)
    state.dirs.extend(str(p) for p in reversed([where, *where.parents]) if not p.exists())
    namespaces, veths, batch = plan(d, prefix)
    # record first, then create: a crash in between leaves a record of all that may exist
    state.namespaces = namespaces
    state.save()
    from wanka.lab.switches import SwitchError

    try:
        _network(state, veths, batch, progress)
        state.times["network"] = round(time.monotonic() - started, 2)
        state.save()
        _run_lab(d, state, links, progress, frr=frr, lldp=lldp, servers=servers,
                 power_delay=power_delay, ssh_key=ssh_key, faults=faults)  # fmt: skip
        if execution_nodes:
            _start_execution_nodes(state, execution_nodes, progress)
    except (
        LabError,
        execnodes.ExecNodeError,
        SwitchError,
        ProvisionError,
        lab_faults.FaultError,
        MirrorError,
        RuntimeError,
        OSError,
        subprocess.SubprocessError,
    ) as e:
        raise LabError(
            f"{e}. The lab is half up, all of it recorded in {state.path}: "
            "`wanka lab down` removes it (FRR logs are in its frr/ directory until then)"
        ) from e
    state.complete = True
    state.times["up"] = round(time.monotonic() - started, 2)
    state.save()
    progress(f"lab {name} up in {state.times['up']:.1f} s: {where / STATE_FILE}")
    return state


def _start_execution_nodes(state: State, count: int, progress: Progress) -> None:
    """The execution nodes, listed in access.json for `--execution-nodes`."""
    where = Path(state.lab_dir)
    access = lab_access.read(where)
    port = int(str(access.bmc_url).rsplit(":", 1)[1])
    started = execnodes.start(state, count, port, progress)
    execution_nodes = tuple(
        lab_access.ExecutionNode(
            name=x["name"], namespace=x["namespace"], command=tuple(x["command"])
        )
        for x in started
    )
    lab_access.write(where, replace(access, execution_nodes=execution_nodes))


def _already_up(
    old: State,
    name: str,
    where: Path,
    faults: list[str] | None,
    progress: Progress,
    execution_nodes: int = 0,
) -> State:
    """`up` on a lab recorded in its directory: no change (or its faults replaced) when it
    is fully up; an error when it is not, or has other execution nodes than asked for."""
    have = sum(1 for dev in old.namespaces.values() if dev.startswith("exec-node-"))
    if execution_nodes and execution_nodes != have:
        raise LabError(
            f"the lab in {where} is up with {have} execution node(s), not "
            f"{execution_nodes}: `wanka lab down` first"
        )
    ok, missing = is_up(old)
    if not ok:
        raise LabError(
            f"a lab is recorded in {where / STATE_FILE} but is not fully up "
            f"({'; '.join(missing[:5])}): run `wanka lab down` first"
        )
    if faults is not None and sorted(faults) != sorted(old.faults):
        lab_faults.apply(old, faults, progress=progress)
        return old
    progress(f"lab {name} is already up ({len(old.namespaces)} namespaces): no change")
    return old


def _preflight(
    d: Derived, where: Path, prefix: str, faults: list[str] | None, *, frr: bool
) -> None:
    """What `up` checks before it creates anything: the machine's namespace limit, no stray
    namespaces of this prefix, no VRP switch, iproute2, the fault specs, a lab directory FRR
    can reach."""
    _no_vrp(d)
    name = d.cluster.name
    need = estimate(d)
    cap = limit()
    if need["namespaces"] > cap:
        raise LabError(
            f"cluster {name} needs {need['namespaces']} namespaces and about "
            f"{need['processes']} processes; this machine's lab limit is {cap} namespaces. "
            f"Use a smaller cluster, or raise the limit with {LIMIT_ENV}=N if the machine "
            "has the memory (about 5 MB per namespace)"
        )
    stray = namespaces_present(prefix)
    if stray:
        raise LabError(
            f"namespaces {', '.join(stray[:5])} exist with this lab's prefix {prefix} but no "
            f"state file is in {where}: another lab of the same cluster name? Remove them by hand"
        )
    for tool in ("ip",):
        if shutil.which(tool) is None:
            raise LabError(f"`{tool}` not found: install iproute2")
    if faults:
        lab_faults.check_specs(d, faults)
    closed = [str(p) for p in [where, *where.parents] if p.exists() and not p.stat().st_mode & 1]
    if frr and closed:
        raise LabError(
            f"FRR runs as user frr and must reach {where}, but {closed[0]} is not searchable "
            "by others (mode o+x): choose another lab directory or chmod o+x it"
        )


def _network(
    state: State, veths: list[list[str]], batch: dict[str, list[str]], progress: Progress
) -> None:
    """The namespaces, the veth pairs (the cables), then each namespace's addresses,
    bridges and links (`plan`'s batches)."""
    where = Path(state.lab_dir)
    if str(where) in state.dirs:
        where.chmod(0o755)
    progress(f"creating {len(state.namespaces)} namespaces ({state.prefix}-*)")
    ip("-batch", "-", input="".join(f"netns add {ns}\n" for ns in state.namespaces))
    state.veths = veths
    state.save()
    progress(f"creating {len(veths)} veth pairs")
    ip(
        "-batch",
        "-",
        input="".join(
            f"link add {a} netns {ans} type veth peer name {b} netns {bns}\n"
            for ans, a, bns, b in veths
        ),
    )
    progress("addresses, bridges, links up")
    for ns, lines in batch.items():
        ip("-n", ns, "-batch", "-", input="\n".join(lines) + "\n")


def _run_lab(
    d: Derived,
    state: State,
    links: list[dict[str, Any]],
    progress: Progress,
    *,
    frr: bool,
    lldp: bool,
    servers: bool,
    power_delay: tuple[int, int] | None,
    ssh_key: Path | None,
    faults: list[str] | None,
) -> None:
    """What runs on the network: FRR and lldpd on the switches, the BMCs and servers, then
    the faults."""
    from wanka.lab import switches

    if frr:
        switches.start_frr(d, state, progress=progress)
    if lldp:
        switches.start_lldpd(state, progress=progress, port_names=switches.switch_port_names(d))
    if servers:
        start_servers(d, state, links, progress, power_delay, ssh_key)
    if faults:
        lab_faults.apply(state, faults, progress=progress)


def start_servers(
    d: Derived,
    state: State,
    links: list[dict[str, Any]],
    progress: Progress,
    power_delay: tuple[int, int] | None,
    ssh_key: Path | None,
) -> None:
    """The jump host, server files, then the BMC emulator watching the power of every server
    (all Off: bring-up powers them on)."""
    from wanka.lab import bmc

    started = time.monotonic()
    where = Path(state.lab_dir)
    state.servers = True
    jump = _start_jump(state, links, progress)  # also makes /run/sshd
    access = prepare(d, state, _ssh_key(d, ssh_key), jump)
    progress(f"{len(access.nodes)} servers: keys, sshd configs, hardware profiles")
    if d.cluster.software.mirror is not None:  # the local mirror, on the management network
        from wanka.lab import mirror

        served = mirror.start(d, state, links, Path(str(access.packages)), progress)
        access = replace(access, mirror=lab_access.Mirror(**served))
    if state.frr:
        from wanka.lab import switchssh

        sshd = switchssh.start_all(d, state)
        switches = {
            n: replace(sw, ssh=lab_access.SwitchSsh(**sshd[n])) if n in sshd else sw
            for n, sw in access.switches.items()
        }
        access = replace(access, switches=switches)
        progress(f"sshd on {len(state.frr)} routed switches (their loopback addresses)")
    systems = _bmc_systems(d, access.nodes)
    bmc_dir = where / "bmc"
    bmc.write_config(bmc_dir, systems, delay=power_delay or bmc.DEFAULT_DELAY)
    pid, port = bmc.start(bmc_dir, watch=where)
    info = proc_info(pid)
    if info is None:
        raise LabError(f"the BMC emulator (pid {pid}) exited at once: see {bmc_dir / bmc.LOG}")
    match = " ".join(info[0][:4])
    state.procs.append(Proc(pid, info[0], match, info[1], "", "bmc"))
    state.save()
    vendor = json.loads((bmc_dir / bmc.VENDOR_PORTS).read_text(encoding="utf-8"))
    # a vendor-profile BMC of its own: its only system
    own = {name: f"http://127.0.0.1:{vport}" for name, vport in vendor.items()}
    access = access.with_bmcs(f"http://127.0.0.1:{port}", own)
    lab_access.write(where, access)
    state.times["servers"] = round(time.monotonic() - started, 2)
    progress(
        f"BMCs on {access.bmc_url} ({len(systems) - len(vendor)} systems)"
        + (f" and {len(vendor)} of their vendor's profile" if vendor else "")
        + ", all powered off"
    )
    if access.nodes:
        progress(
            f"power on: `wanka lab power {where} on --wait`; then "
            f"`wanka lab ssh {where} NODE` (the ssh options are in {where / lab_access.FILE})"
        )


def _start_jump(state: State, links: list[dict[str, Any]], progress: Progress) -> str:
    """The jump host's namespace, with a link into each management subnet's switch (and
    /run/sshd, sshd's privilege separation directory). Returns its namespace."""
    jump = f"{state.prefix}-{JUMP}"
    state.namespaces[jump] = JUMP_DEVICE  # recorded first, like every namespace
    privsep = Path("/run/sshd")  # sshd's privilege separation directory (Debian: tmpfiles)
    if not privsep.exists():
        state.outside_dirs.append(str(privsep))
    state.save()
    privsep.mkdir(mode=0o755, exist_ok=True)
    progress(f"jump host {jump}: a link into each of {len(links)} management subnet(s)")
    ip("netns", "add", jump)
    ns_of = {dev: ns for ns, dev in state.namespaces.items()}
    lines = ["link set lo up"]
    for x in links:
        ns = ns_of[x["switch"]]
        ip("-n", jump, "link", "add", x["ifname"], "type", "veth", "peer", "name",
           x["switch_ifname"], "netns", ns)  # fmt: skip
        ip("-n", ns, "link", "set", x["switch_ifname"], "mtu", str(x["mtu"]), "master",
           x["bridge"], "up")  # fmt: skip
        lines += [f"address add {x['address']} dev {x['ifname']}",
                  f"link set {x['ifname']} mtu {x['mtu']} up"]  # fmt: skip
    ip("-n", jump, "-batch", "-", input="\n".join(lines) + "\n")
    return jump


def _ssh_key(d: Derived, ssh_key: Path | None) -> Path | None:
    """The key to authorise besides the lab's own: `ssh_key`, else the cluster's ssh
    credential's key file when it names an existing one (`{file: PATH}`, or `{env: NAME}`
    holding the path)."""
    if ssh_key is not None:
        return ssh_key
    cred = d.cluster.credentials.get("ssh")
    if cred is None or cred.private_key is None:
        return None
    try:
        return Path(credentials.key_file(cred.private_key, "the ssh credential's key"))
    except credentials.CredentialError:
        return None  # the lab's own key only


def _bmc_systems(d: Derived, servers: Mapping[str, lab_access.Server]) -> list[dict[str, Any]]:
    """The BMC emulator's system of each server: its first MAC with the management address,
    and its BMC's MAC and address, when the facts know them."""
    from wanka.lab import bmc

    systems = []
    for name, info in servers.items():
        node = d.cluster.node(name)
        # sushy-tools: the first MAC, with the management address; a vendor-profile BMC lists
        # every NIC the manifest knows (`wanka bmc inspect` compares them all)
        many = None if node.model.bmc_firmware != "generic" else 1
        nics = (
            [(mac, info.address) for mac in list(node.facts.macs.values())[:many]]
            if (node.facts)
            else []
        )
        bmc_addr = d.addressing.bmcs.get(name)
        if node.facts and node.facts.bmc_mac and bmc_addr is not None:
            nics.append((node.facts.bmc_mac, str(bmc_addr)))
        systems.append(
            bmc.system(
                d.cluster.name,
                name,
                nics,
                firmware=node.model.bmc_firmware,
                serial=node.facts.serial if node.facts else None,
            )  # fmt: skip
        )
    return systems


def status(lab_dir: Path | str) -> dict[str, Any]:
    """What runs: namespaces present, processes alive, BGP sessions Established."""
    from wanka.lab import switches

    where = Path(lab_dir)
    state = State.load(where)
    if state is None:
        return {"lab_dir": str(where), "up": False, "state": None}
    present = [ns for ns in state.namespaces if (NETNS_DIR / ns).exists()]
    procs: dict[str, list[int]] = {}
    for p in state.procs:
        counts = procs.setdefault(p.role, [0, 0])
        counts[0] += alive(p)
        counts[1] += 1
    ok, missing = is_up(state)
    out: dict[str, Any] = {
        "lab_dir": str(where),
        "cluster": state.cluster,
        "prefix": state.prefix,
        "up": ok,
        "complete": state.complete,
        "namespaces": {"recorded": len(state.namespaces), "present": len(present)},
        "processes": {role: {"alive": a, "recorded": n} for role, (a, n) in sorted(procs.items())},
        "missing": missing,
        "times": state.times,
    }
    if state.frr:
        out["bgp"] = switches.bgp_summary(state)
    if state.servers:
        from wanka.lab import nodes

        try:
            access: lab_access.Access | None = lab_access.read(where)
        except lab_access.AccessError:
            access = None
        names = sorted(access.nodes) if access is not None else []
        on = [n for n in names if nodes.running(where, n)]
        out["bmc"] = access.bmc_url if access is not None else None
        out["servers"] = {"count": len(names), "running": on}
        out["faults"] = list(state.faults)
        if access is not None and access.execution_nodes:
            out["execution_nodes"] = [x.name for x in access.execution_nodes]
    return out
