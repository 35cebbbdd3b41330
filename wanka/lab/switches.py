"""The lab's control plane: FRR on every routed switch, lldpd in every namespace.

FRR (zebra + bgpd, Debian's /usr/lib/frr) runs per routed switch in its namespace as the lab
notes say: `-d -N <ns> -f frr.conf -i <pid file> --vty_socket <dir> -z <dir>/zserv.api -u frr
-g frr`, with a state directory <lab>/frr/<ns> owned by frr:frr; frr.conf is
render_frr(switch_routing(d)[name]) unchanged, its interface names being the veth names; beside
it a copy of this machine's /etc/frr/daemons (Debian's: bgpd=no), which the fabric role edits
or replaces with the rendered one, as on a real switch (the lab starts zebra and bgpd itself,
so nothing reads it). A SONiC switch runs FRR as its bgp container does in split routing mode:
bgpd reads the rendered bgpd.conf, zebra its own zebra.conf, and the addresses SONiC sets from
config_db (loopback, gateway) are the namespace's.
`vtysh --vty_socket <dir>` talks to one instance.

lldpd (1.0.16) runs in every namespace with its own control socket, pid file and startup
configuration: `lldpd -u <lab>/lldp/<ns>.sock -p <ns>.pid -O <ns>.conf`, the configuration
setting the system name to the device name, the port id to the interface name and a 1 s
transmit interval (neighbours known within 1-2 s; a real switch says 30 s). lldpd forks a
privilege-separated child: both the monitor and the child are recorded.

Every pid is recorded in the state (with its start time) as soon as it is known.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wanka.derive.bundle import Derived
from wanka.derive.routing import SwitchRouting, switch_routing
from wanka.lab import proc
from wanka.lab.state import Proc, State, proc_info
from wanka.render.frr import render_frr
from wanka.render.sonic import render_bgpd

FRR_DAEMONS = Path("/usr/lib/frr")
DEBIAN_DAEMONS = Path("/etc/frr/daemons")
LLDP_TX_INTERVAL = 1
WORKERS = 8


class SwitchError(Exception):
    """A switch of the lab (its FRR or lldpd) did not start."""


def _quiet(_: str) -> None:
    pass


def _wait_pid(pidfile: Path, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = pidfile.read_text().strip()
        except FileNotFoundError:
            text = ""
        if text.isdigit():
            return int(text)
        time.sleep(0.02)
    raise SwitchError(f"no pid in {pidfile} after {timeout:.0f} s")


def _record(pid: int, ns: str, role: str, match: str) -> Proc:
    info = proc_info(pid)
    if info is None:
        raise SwitchError(f"{role} in {ns} (pid {pid}) exited at once")
    return Proc(pid=pid, cmdline=info[0], match=match, start=info[1], namespace=ns, role=role)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def _mkdir(state: State, path: Path, owner: str | None = None) -> None:
    """Create a directory of the lab, recording it first."""
    if str(path) not in state.dirs and not path.exists():
        state.dirs.append(str(path))
        state.save()
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    if owner:
        shutil.chown(path, owner, owner)


def _start_all(state: State, jobs: list[tuple[Callable[..., list[Proc]], tuple[Any, ...]]]) -> None:
    """Run the start functions in parallel, recording each one's processes in the state as
    soon as it returns; raise every start failure at the end, once all are recorded."""
    errors = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(fn, *args) for fn, args in jobs]
        for f in futures:
            try:
                state.procs.extend(f.result())
            except SwitchError as e:
                errors.append(str(e))
            state.save()
    if errors:
        raise SwitchError("; ".join(errors))


def _start_frr_one(ns: str, where: Path) -> list[Proc]:
    out = []
    split = (where / "bgpd.conf").exists()  # a SONiC switch: a file per daemon
    for daemon in ("zebra", "bgpd"):
        conf = where / (f"{daemon}.conf" if split else "frr.conf")
        binary = FRR_DAEMONS / daemon
        pidfile = where / f"{daemon}.pid"
        proc.run(
            [
                "ip", "netns", "exec", ns, str(binary), "-d", "-N", ns, "-f", str(conf),
                "-i", str(pidfile), "--vty_socket", str(where), "-z", str(where / "zserv.api"),
                "-u", "frr", "-g", "frr", "--log", f"file:{where / daemon}.log",
            ],
            error=SwitchError,
        )  # fmt: skip
        pid = _wait_pid(pidfile)
        out.append(_record(pid, ns, daemon, f"{binary} -d -N {ns} "))
    return out


def frr_files(r: SwitchRouting) -> dict[str, str]:
    """The FRR configuration a switch of this OS runs: Debian/FRR's frr.conf; SONiC's split
    mode files, bgpd.conf as rendered and zebra.conf as SONiC leaves it (nothing of its own:
    addresses come from config_db, here from the lab's namespaces)."""
    if r.os == "sonic":
        return {"bgpd.conf": render_bgpd(r), "zebra.conf": f"hostname {r.hostname}\n"}
    return {"frr.conf": render_frr(r)}


def _forward(ns: str) -> None:
    """A SONiC switch forwards in its ASIC, not by FRR's `ip forwarding` (its split-mode
    zebra.conf has none, where Debian/FRR's frr.conf turns the kernel's on): in the lab the
    namespace's kernel is the data plane, so it forwards as the ASIC would."""
    proc.run(
        ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]
        + ["net.ipv6.conf.all.forwarding=1"],
        error=SwitchError,
    )


def start_frr(d: Derived, state: State, *, progress: Any = _quiet) -> None:
    """zebra + bgpd in every routed switch's namespace."""
    routing = switch_routing(d)
    if not routing:
        return
    for daemon in ("zebra", "bgpd"):
        if not (FRR_DAEMONS / daemon).exists():
            raise SwitchError(
                f"{FRR_DAEMONS / daemon} not found: install FRR (apt-get install frr)"
            )
    ns_of = state.device_ns()
    base = Path(state.lab_dir) / "frr"
    _mkdir(state, base)
    jobs: dict[str, Path] = {}
    for name, r in routing.items():
        ns = ns_of[name]
        where = base / ns
        _mkdir(state, where, "frr")
        for name, text in frr_files(r).items():
            conf = where / name
            conf.write_text(text, encoding="utf-8")
            shutil.chown(conf, "frr", "frr")
        if DEBIAN_DAEMONS.is_file():  # as the package ships it: the fabric role turns on bgpd
            shutil.copyfile(DEBIAN_DAEMONS, where / "daemons")
        state.frr[ns] = str(where)
        jobs[ns] = where
        if r.os == "sonic":
            _forward(ns)
    state.save()
    progress(f"starting FRR (zebra, bgpd) on {len(jobs)} routed switches")
    started = time.monotonic()
    _start_all(state, [(_start_frr_one, (ns, where)) for ns, where in jobs.items()])
    state.times["frr"] = round(time.monotonic() - started, 2)
    state.save()


def _start_lldpd_one(ns: str, device: str, base: Path, names: dict[str, str]) -> list[Proc]:
    conf = base / f"{ns}.conf"
    conf.write_text(
        f"configure system hostname {device}\n"
        "configure lldp portidsubtype ifname\n"
        f"configure lldp tx-interval {LLDP_TX_INTERVAL}\n"
        # a switch advertises its own port names (400GE1/0/12:2), as real switches do
        + "".join(
            f"configure ports {ifname} lldp portidsubtype local {name}\n"
            for ifname, name in sorted(names.items())
        ),
        encoding="utf-8",
    )
    pidfile = base / f"{ns}.pid"
    sock = base / f"{ns}.sock"
    cmd = ["ip", "netns", "exec", ns, "lldpd", "-u", str(sock), "-p", str(pidfile), "-O", str(conf)]
    proc.run(cmd, error=SwitchError)
    pid = _wait_pid(pidfile)
    return [_record(pid, ns, "lldpd", "lldpd")]


def _lldpd_children(monitors: list[Proc], timeout: float = 5.0) -> list[Proc]:
    """The privilege-separated child of every lldpd monitor, once it has named itself
    (`lldpd: ...`; before that a child may still be a short-lived lldpcli being exec'd)."""
    found: dict[int, Proc] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(found) < len(monitors):
        for m in monitors:
            if m.pid in found:
                continue
            for kid in _children(m.pid):
                info = proc_info(kid)
                if info is not None and " ".join(info[0]).startswith("lldpd: "):
                    found[m.pid] = _record(kid, m.namespace, "lldpd", "lldpd: ")
                    break
        time.sleep(0.05)
    missing = [m.namespace for m in monitors if m.pid not in found]
    if missing:
        raise SwitchError(f"lldpd did not start its child in {', '.join(missing)}")
    return list(found.values())


def switch_port_names(d: Derived) -> dict[str, dict[str, str]]:
    """Switch name -> {Linux ifname: the switch's own port name} for every cabled port."""
    out: dict[str, dict[str, str]] = {s.name: {} for s in d.cluster.switches}
    for c in d.cabling.cables:
        for end in (c.a, c.b):
            if end.device in out and end.port != end.ifname:
                out[end.device][end.ifname] = end.port
    return out


def start_lldpd(
    state: State,
    *,
    progress: Any = _quiet,
    port_names: dict[str, dict[str, str]] | None = None,
) -> None:
    """lldpd in every namespace, system name = device name; on switches, port ids are the
    switch's port names (`port_names`: device -> {ifname: name}), else the Linux ifname."""
    if shutil.which("lldpd") is None:
        raise SwitchError("lldpd not found: install it (apt-get install lldpd)")
    base = Path(state.lab_dir) / "lldp"
    _mkdir(state, base)
    for ns in state.namespaces:
        state.lldp[ns] = str(base / f"{ns}.sock")
    state.save()
    progress(f"starting lldpd in {len(state.namespaces)} namespaces")
    started = time.monotonic()
    names = port_names or {}
    _start_all(
        state,
        [
            (_start_lldpd_one, (ns, dev, base, names.get(dev, {})))
            for ns, dev in state.namespaces.items()
        ],
    )
    monitors = [p for p in state.procs if p.role == "lldpd"]
    state.procs.extend(_lldpd_children(monitors))
    state.save()
    state.times["lldpd"] = round(time.monotonic() - started, 2)
    state.save()


def _json_of(cmd: list[str]) -> dict[str, Any]:
    """The JSON object a command prints, or {} when it prints none (daemon not ready yet)."""
    r = proc.run(cmd, timeout=15, check=False)
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def vtysh_json(vty_dir: str, command: str) -> dict[str, Any]:
    return _json_of(["vtysh", "--vty_socket", vty_dir, "-c", command])


def bgp_peers(vty_dir: str) -> dict[str, str]:
    """ifname -> BGP state of one FRR instance's IPv4 unicast peers."""
    summary = vtysh_json(vty_dir, "show bgp summary json")
    peers = summary.get("ipv4Unicast", {}).get("peers", {})
    return {name: str(p.get("state")) for name, p in peers.items()}


def bgp_summary(state: State) -> dict[str, dict[str, Any]]:
    """Per routed switch (device name): peers, Established sessions."""
    items = sorted(state.frr.items())
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(lambda item: bgp_peers(item[1]), items))
    out = {}
    for (ns, _), peers in zip(items, results, strict=True):
        established = sum(1 for s in peers.values() if s == "Established")
        out[state.namespaces[ns]] = {"peers": len(peers), "established": established}
    return out


def lldp_neighbors(sock: str) -> dict[str, list[tuple[str, str]]]:
    """ifname -> [(neighbour system name, neighbour port id)] as one lldpd sees them."""
    data = _json_of(["lldpcli", "-u", sock, "-f", "json0", "show", "neighbors"])
    out: dict[str, list[tuple[str, str]]] = {}
    for lldp in data.get("lldp", []):
        for iface in lldp.get("interface", []):
            found = out.setdefault(iface.get("name", ""), [])
            for chassis in iface.get("chassis", []):
                names = [n.get("value", "") for n in chassis.get("name", [])]
                ports = [i.get("value", "") for p in iface.get("port", []) for i in p.get("id", [])]
                found.append((names[0] if names else "", ports[0] if ports else ""))
    return out
