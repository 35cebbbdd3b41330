"""Lab servers: what runs on a server while its BMC says the power is on.

A powered-on lab server is one process tree started by the BMC's power watcher
(`wanka.lab.bmc`): `ip netns exec <server ns> unshare --mount --uts --propagation private
python -m wanka.lab.nodes boot LAB NODE`, which (each step an exec, so one pid throughout)

- mounts the server's own filesystem view: an overlay on each of /etc /usr /opt /var /root
  /home /srv whose upper directory is `<lab>/nodes/<node>/fs/<dir>/upper` (the server's
  "disk": it survives a power cycle; what Ansible writes on one server is not seen on
  another), a private tmpfs on /tmp, and bind mounts of the model's /proc/meminfo and
  /proc/cpuinfo (as lxcfs does), so Ansible's memory and CPU facts are the model's;
- writes /etc/os-release of the OS the model says (`wanka.lab.osrelease`);
- sets the hostname (UTS namespace) from the server's /etc/hostname, written once with the
  node name on first boot;
- writes `/etc/wanka-lab/env` (this server's hardware profile, the Python that runs the
  emulated tools and a new boot id, recorded in its install log) and the tools in
  /usr/local/bin: npu-smi, hccn_tool, nvme, lscpu, uname
  (`-m` prints the model's architecture), and its OS family's package manager (dnf and yum,
  or apt-get: `wanka.lab.tools.packages`);
- execs sshd, listening on the server's management address only, with the lab's
  authorized_keys.

Powering off kills every process in that mount namespace (sshd and its sessions) at once,
like a power cut. The record of a running server is `<lab>/nodes/<node>/server.json` (pid,
start time, command line, mount namespace), which `wanka lab down` also reads, so a server
is stopped even when the BMC process is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from wanka.lab import access as lab_access
from wanka.lab.tools.server import INSTALL_LOG

OVERLAY_DIRS = ("etc", "usr", "opt", "var", "root", "home", "srv")
SERVER_FILE = "server.json"
SSHD = "/usr/sbin/sshd"
BOOT_TIMEOUT = 15.0
TOOLS = ("npu-smi", "hccn_tool", "nvme", "lscpu")
PACKAGE_TOOLS = {"dnf": ("dnf", "yum"), "yum": ("dnf", "yum"), "apt": ("apt-get",)}

MS_BIND = 4096
MS_NOSUID = 2
MS_NODEV = 4

_children: dict[str, subprocess.Popen[bytes]] = {}


def node_dir(lab_dir: Path | str, node: str) -> Path:
    return Path(lab_dir) / "nodes" / node


def read_access(lab_dir: Path | str) -> dict[str, Any]:
    """access.json in its JSON form, read (and checked) by wanka.lab.access: for the lab tests
    that look at the file as written; wanka's own code reads the typed `Access`."""
    return lab_access.read(lab_dir).to_dict()


def _server(lab: Path, node: str) -> lab_access.Server:
    return lab_access.read(lab).nodes[node]


def _mnt_ns(pid: int) -> tuple[int, int] | None:
    try:
        st = os.stat(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _start_time(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(text[text.rindex(")") + 2 :].split()[19])


def server_record(lab_dir: Path | str, node: str) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(
            (node_dir(lab_dir, node) / SERVER_FILE).read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    return data


def running(lab_dir: Path | str, node: str) -> bool:
    """Is the server's process tree (its sshd) the one the lab started, and alive?"""
    rec = server_record(lab_dir, node)
    return (
        rec is not None
        and _start_time(int(rec["pid"])) == rec["start"]
        and _mnt_ns(int(rec["pid"])) == tuple(rec["mnt"])
    )


def members(rec: dict[str, Any]) -> list[int]:
    """Every live process in the recorded server's mount namespace."""
    want = tuple(rec["mnt"])
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _mnt_ns(int(entry)) == want:
            out.append(int(entry))
    return out


# ----------------------------------------------------------------------------- power


def power_changed(lab_dir: Path | str, node: str, on: bool) -> None:
    """The BMC watcher's hook: the system's PowerState changed (or was first seen)."""
    reap()
    if on:
        if not running(lab_dir, node):
            power_on(lab_dir, node)
    else:
        power_off(lab_dir, node)


def reap() -> None:
    for node, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[node]


def power_on(lab_dir: Path | str, node: str) -> int:
    """Boot the server: start its process tree and wait for sshd's pid file. Returns the pid."""
    lab = Path(lab_dir)
    where = node_dir(lab, node)
    info = _server(lab, node)
    pidfile = where / "sshd.pid"
    pidfile.unlink(missing_ok=True)
    cmd = [
        "ip", "netns", "exec", info.namespace,
        "unshare", "--mount", "--uts", "--propagation", "private",
        sys.executable, "-m", "wanka.lab.nodes", "boot", str(lab), node,
    ]  # fmt: skip
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "LANG": "C.UTF-8",
    }
    with open(where / "console.log", "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            start_new_session=True,
        )  # fmt: skip
    _children[node] = proc
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            console = where / "console.log"
            raise RuntimeError(f"{node} did not boot (exit {proc.returncode}): see {console}")
        if pidfile.exists():
            break
        time.sleep(0.02)
    else:
        proc.kill()
        raise RuntimeError(f"{node}: sshd did not start within {BOOT_TIMEOUT:g} s")
    start = _start_time(proc.pid)
    mnt = _mnt_ns(proc.pid)
    record = {
        "pid": proc.pid,
        "start": start,
        "mnt": list(mnt) if mnt else None,
        "cmdline": cmd,
        "address": info.address,
    }
    tmp = where / (SERVER_FILE + ".tmp")
    tmp.write_text(json.dumps(record) + "\n", encoding="utf-8")
    os.replace(tmp, where / SERVER_FILE)
    return proc.pid


def power_off(lab_dir: Path | str, node: str) -> int:
    """Cut the power: SIGKILL every process of the server. Returns how many there were."""
    rec = server_record(lab_dir, node)
    if rec is None or not rec.get("mnt"):
        return 0
    victims = members(rec)
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc = _children.pop(node, None)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and members(rec):
        time.sleep(0.02)
    (node_dir(lab_dir, node) / SERVER_FILE).unlink(missing_ok=True)
    (node_dir(lab_dir, node) / "sshd.pid").unlink(missing_ok=True)
    return len(victims)


def power_all_off(lab_dir: Path | str) -> int:
    base = Path(lab_dir) / "nodes"
    if not base.is_dir():
        return 0
    return sum(power_off(lab_dir, n.name) for n in sorted(base.iterdir()))


# ----------------------------------------------------------------------------- boot


def _libc_mount(source: str, target: str, fstype: str | None, flags: int, data: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.mount(
        source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
        data.encode() if data else None,
    )  # fmt: skip
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target} ({fstype}): {os.strerror(err)}")


TOOL_WRAPPER = """#!/bin/sh
# wanka lab: stand-in for {tool} (wanka.lab.tools), from this server's hardware profile
. /etc/wanka-lab/env
exec "$WANKA_LAB_PYTHON" -m wanka.lab.tools {tool} "$@"
"""

UNAME_WRAPPER = """#!/bin/sh
# wanka lab: uname with the model's machine architecture; everything else is the real uname
. /etc/wanka-lab/env
real=$(/usr/bin/uname -m)
case "$*" in
  -m|--machine|-p|--processor|-i|--hardware-platform) echo "$WANKA_LAB_ARCH" ;;
  *) /usr/bin/uname "$@" | sed "s/$real/$WANKA_LAB_ARCH/g" ;;
esac
"""


def _present_os(profile: dict[str, Any]) -> None:
    """/etc/os-release of the OS the model says (wanka.lab.osrelease), in the server's
    overlay: what preflight's `os` check and Ansible's facts read."""
    from wanka.lab.osrelease import os_release

    os_ = profile.get("os") or {}
    text = os_release(os_.get("name"), os_.get("version"))
    if text is not None:
        path = Path("/etc/os-release")
        if path.is_symlink():
            path.unlink()  # Debian's is a link into /usr/lib
        path.write_text(text, encoding="utf-8")


def boot(lab_dir: str, node: str) -> None:
    """Inside the server's fresh mount and UTS namespaces: mount, write, exec sshd."""
    lab = Path(lab_dir)
    where = node_dir(lab, node)
    profile = json.loads((where / "profile.json").read_text(encoding="utf-8"))
    # what the server needs from this machine, whatever the mounts below hide: the lab
    # directory, the Python environment that runs the tools, the wanka package
    needed = _outermost([lab, Path(sys.prefix), Path(__file__).resolve().parents[2]])
    keep = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in needed}
    mounted = []
    for name in OVERLAY_DIRS:
        lower = Path("/") / name
        if not lower.is_dir() or lower.is_symlink():
            continue
        upper, work = where / "fs" / name / "upper", where / "fs" / name / "work"
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        _libc_mount(
            "overlay", str(lower), "overlay", 0,
            f"lowerdir={lower},upperdir={upper},workdir={work}",
        )  # fmt: skip
        mounted.append(lower)
    _libc_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    mounted.append(Path("/tmp"))
    for path, fd in keep.items():
        if any(path.is_relative_to(m) for m in mounted):  # e.g. a checkout under /tmp
            path.mkdir(parents=True, exist_ok=True)
            _libc_mount(f"/proc/self/fd/{fd}", str(path), None, MS_BIND, "")
        os.close(fd)
    for proc_file in ("meminfo", "cpuinfo"):
        _libc_mount(str(where / proc_file), f"/proc/{proc_file}", None, MS_BIND, "")
    # each NPU port answers ARP for its own address only, as the NPUs do (on the lab's veths
    # in one namespace the kernel would otherwise answer for all of them on every port)
    for key, value in (("arp_ignore", "1"), ("arp_announce", "2")):
        Path(f"/proc/sys/net/ipv4/conf/all/{key}").write_text(value)

    _present_os(profile)
    hostname = Path("/etc/hostname")
    if not (where / "fs/etc/upper/hostname").exists():
        hostname.write_text(node + "\n")
    socket.sethostname(hostname.read_text().strip() or node)

    _write_env(lab, node, where, profile)
    bindir = Path("/usr/local/bin")
    bindir.mkdir(parents=True, exist_ok=True)
    family = str((profile.get("os") or {}).get("family") or "")
    for tool in TOOLS + PACKAGE_TOOLS.get(family, ()):  # and its OS family's package manager
        _write_exec(bindir / tool, TOOL_WRAPPER.format(tool=tool))
    _write_exec(bindir / "uname", UNAME_WRAPPER)
    _hide_other_managers(family)
    sys.stdout.flush()
    os.execv(SSHD, [SSHD, "-D", "-e", "-f", str(where / "sshd_config")])


def _hide_other_managers(family: str) -> None:
    """The package managers of the other OS families that this machine has (its own apt-get,
    the dnf the tests' parser check installs) are not on the server: /dev/null is bound over
    each, inside the server's mount namespace only, so no shell finds one to run."""
    if family not in PACKAGE_TOOLS:
        return
    own = set(PACKAGE_TOOLS[family])
    for tool in sorted({t for ts in PACKAGE_TOOLS.values() for t in ts} - own):
        for d in ("/usr/bin", "/usr/sbin"):
            path = Path(d) / tool
            if path.exists() and not path.is_symlink():
                _libc_mount("/dev/null", str(path), None, MS_BIND, "")
            elif path.is_symlink() and path.resolve().exists():
                _libc_mount("/dev/null", str(path.resolve()), None, MS_BIND, "")


def _write_env(lab: Path, node: str, where: Path, profile: dict[str, Any]) -> None:
    """/etc/wanka-lab/env of this boot (a new boot id), recorded in the install log."""
    conf = Path("/etc/wanka-lab")
    conf.mkdir(exist_ok=True)
    env = {
        "WANKA_LAB_PROFILE": str(where / "profile.json"),
        "WANKA_LAB_STATE": "/var/lib/wanka-lab",
        "WANKA_LAB_ROOT": "/",
        "WANKA_LAB_ARCH": str(profile["cpu"]["arch"]),
        "WANKA_LAB_PYTHON": sys.executable,
        # a new id at every power-on: firmware flashed in an earlier boot is active
        "WANKA_LAB_BOOT": f"{time.time_ns():x}",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    lldp = _server(lab, node).lldp_socket
    if lldp:
        env["WANKA_LAB_LLDP_SOCKET"] = str(lldp)
    (conf / "env").write_text(
        "# wanka lab: this server's hardware profile and tools (read by /usr/local/bin/*)\n"
        + "".join(f"{k}='{v}'\nexport {k}\n" for k, v in env.items())
    )
    state = Path(env["WANKA_LAB_STATE"])  # its install log records this power-on
    state.mkdir(parents=True, exist_ok=True)
    with (state / INSTALL_LOG).open("a", encoding="utf-8") as f:
        f.write(f"{env['WANKA_LAB_BOOT']} boot\n")


def _outermost(paths: list[Path]) -> list[Path]:
    """The paths that are not inside another of them."""
    out: list[Path] = []
    for p in sorted({q.resolve() for q in paths}, key=lambda q: len(q.parts)):
        if not any(p.is_relative_to(o) for o in out):
            out.append(p)
    return out


def _write_exec(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 3 and args[0] == "boot":
        boot(args[1], args[2])
        return 0  # not reached: boot execs sshd
    print("usage: python -m wanka.lab.nodes boot LAB_DIR NODE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
