"""The lab's local mirror (software.mirror): Python's HTTP server (http.server's own request
handler, as `python -m http.server` runs it) in a namespace of its own, `<prefix>-mirror`,
cabled into the management switch of the subnet its URLs' address is in and holding that
address alone, with no route: it reaches nothing but that subnet, as the servers there reach
nothing but the lab. It serves `<lab>/mirror/www`, where every URL path of the cluster's
mirror is a directory: the Ascend one holds the lab's installer stand-ins (`<lab>/packages`),
an OS repository's is empty (the lab's servers install no OS packages from it). Its access
log (one line per request, the client's address and the path) is `<lab>/mirror/access.log`."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network, ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wanka.derive.bundle import Derived
from wanka.lab.jump import enter
from wanka.lab.state import Proc, State, proc_info

MIRROR = "mirror"  # the namespace: <prefix>-mirror
DEVICE = "(mirror)"  # its entry in the state's namespace -> device map
IFNAME, SWITCH_IFNAME = "mirror0", "uplink-mirror"
LOG = "access.log"
PID_FILE = "mirror.pid"
START_TIMEOUT = 10.0


class MirrorError(Exception):
    """The lab cannot serve the cluster's mirror."""


def _where(d: Derived) -> tuple[IPv4Address, int]:
    """The one address and port every URL of the mirror names."""
    m = d.cluster.software.mirror
    assert m is not None
    hosts = set()
    for _, url in m.urls():
        u = urlsplit(url)
        hosts.add((u.hostname or "", u.port or (443 if u.scheme == "https" else 80), u.scheme))
    if len(hosts) != 1:
        names = ", ".join(sorted(f"{h}:{p}" for h, p, _ in hosts))
        raise MirrorError(f"the lab serves one mirror, but software.mirror names {names}")
    ((host, port, scheme),) = hosts
    if scheme != "http":
        raise MirrorError(f"the lab's mirror speaks http, not {scheme} ({host}:{port})")
    try:
        addr = ip_address(host)
    except ValueError:
        raise MirrorError(
            f"the lab serves the mirror at an address of the management network, not at the "
            f"name {host!r}"
        ) from None
    if not isinstance(addr, IPv4Address):
        raise MirrorError(f"the lab's management network is IPv4, not {addr}")
    return addr, port


def _link(d: Derived, links: list[dict[str, Any]], addr: IPv4Address) -> dict[str, Any]:
    """The access link (provision.access_links) of the management subnet holding `addr`, once
    checked that no device of the lab holds it."""
    taken = {a for a in d.addressing.bonds.values()} | set(d.addressing.bmcs.values())
    for x in links:
        net = IPv4Network(x["network"])
        if addr in net:
            if addr == IPv4Address(x["address"].split("/")[0]) or addr in taken:
                raise MirrorError(f"the mirror's address {addr} is held by a device of the lab")
            if addr in (net.network_address, net.broadcast_address):
                raise MirrorError(f"the mirror's address {addr} is not a host of {net}")
            return x
    nets = ", ".join(x["network"] for x in links) or "none"
    raise MirrorError(
        f"the mirror's address {addr} is in no management subnet of the lab ({nets}): the "
        "servers could not reach it"
    )


def _docroot(d: Derived, www: Path, packages: Path) -> None:
    """Every URL path of the mirror as a directory; the Ascend one with the packages."""
    m = d.cluster.software.mirror
    assert m is not None
    for where, url in m.urls():
        path = www / urlsplit(url).path.strip("/")
        path.mkdir(parents=True, exist_ok=True)
        if where == "ascend":
            for pkg in sorted(packages.iterdir()):
                shutil.copy2(pkg, path / pkg.name)


def start(
    d: Derived,
    state: State,
    links: list[dict[str, Any]],
    packages: Path,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """The mirror's namespace, link, files and HTTP server; its entry of access.json."""
    from wanka.lab.netlab import ip

    addr, port = _where(d)
    link = _link(d, links, addr)
    ns = f"{state.prefix}-{MIRROR}"
    state.namespaces[ns] = DEVICE  # recorded first, like every namespace
    state.save()
    ip("netns", "add", ns)
    switch_ns = state.device_ns()[link["switch"]]
    ip("-n", ns, "link", "add", IFNAME, "type", "veth", "peer", "name", SWITCH_IFNAME,
       "netns", switch_ns)  # fmt: skip
    ip("-n", switch_ns, "link", "set", SWITCH_IFNAME, "mtu", str(link["mtu"]), "master",
       link["bridge"], "up")  # fmt: skip
    prefixlen = IPv4Network(link["network"]).prefixlen
    lines = ["link set lo up", f"address add {addr}/{prefixlen} dev {IFNAME}",
             f"link set {IFNAME} mtu {link['mtu']} up"]  # fmt: skip
    ip("-n", ns, "-batch", "-", input="\n".join(lines) + "\n")
    where = Path(state.lab_dir) / MIRROR
    _docroot(d, where / "www", packages)
    pid = _serve(state, ns, addr, port, where)
    progress(f"mirror http://{addr}:{port}/ in {ns} (pid {pid}), log {where / LOG}")
    return {"url": f"http://{addr}:{port}/", "namespace": ns, "log": str(where / LOG), "pid": pid}


def _serve(state: State, ns: str, addr: IPv4Address, port: int, where: Path) -> int:
    """Start the HTTP server inside `ns` as a daemon (`setsid --fork`: its own session, not
    our child); record it once it listens (it writes its pid file then)."""
    pidfile = where / PID_FILE
    pidfile.unlink(missing_ok=True)
    cmd = ["setsid", "--fork", sys.executable, "-u", "-m", "wanka.lab.mirror", ns, str(addr),
           str(port), str(where / "www"), str(pidfile)]  # fmt: skip
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(where / LOG, "ab") as log:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                       check=True, timeout=30)  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            pid = int(pidfile.read_text())
            info = proc_info(pid)
            if info is not None:
                state.procs.append(Proc(pid, info[0], " ".join(info[0][:4]), info[1], ns, "mirror"))
                state.save()
                return pid
        time.sleep(0.05)
    tail = (where / LOG).read_text(errors="replace").strip().splitlines()[-2:]
    raise MirrorError(f"the mirror's HTTP server did not start: {' | '.join(tail)}")


def main(argv: list[str] | None = None) -> int:
    """`python -m wanka.lab.mirror NAMESPACE ADDRESS PORT DIR PIDFILE`: enter the namespace,
    listen, write the pid file, serve DIR with http.server's own handler (its access log on
    stderr) until stopped."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 5 or not args[2].isdigit():
        print(
            "usage: python -m wanka.lab.mirror NAMESPACE ADDRESS PORT DIR PIDFILE", file=sys.stderr
        )
        return 2
    namespace, address, port, root, pidfile = args
    try:
        enter(namespace)
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
        server = http.server.ThreadingHTTPServer((address, int(port)), handler)
    except OSError as e:
        print(f"wanka lab mirror: {namespace} {address}:{port}: {e}", file=sys.stderr)
        return 1
    with open(pidfile + ".tmp", "w", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(pidfile + ".tmp", pidfile)
    print(f"Serving HTTP on {address} port {port} from {root}", file=sys.stderr)
    with server:
        server.serve_forever()
    return 0


def requests(log: Path) -> list[tuple[str, str, str, int]]:
    """(client address, method, path, status) of every request in the access log, as
    http.server writes it: `ADDR - - [DATE] "GET /PATH HTTP/1.1" STATUS SIZE`."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        head, sep, rest = line.partition(" - - [")
        if not sep or '] "' not in rest:
            continue
        req, _, tail = rest.split('] "', 1)[1].partition('" ')
        words, code = req.split(), tail.split()[:1]
        if len(words) == 3 and code and code[0].isdigit():
            out.append((head, words[0], words[1], int(code[0])))
    return out


if __name__ == "__main__":
    sys.exit(main())
