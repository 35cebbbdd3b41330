"""The lab state file: everything `wanka lab up` created, so that `down` removes exactly that.

state.json lives in the lab directory (default /run/wanka-lab/<cluster name>/). It is rewritten
atomically (temporary file, fsync, rename) after every creation step, each resource recorded
*before* it is created where possible (namespaces, veth pairs, directories: removing something
that does not exist is harmless) and right after it is started otherwise (processes: their pid
only exists then). A crash therefore leaves a record of everything that may exist.

A process is recorded with its pid, its command line as /proc showed it right after the start,
the prefix that command line must keep (lldpd rewrites its own into `lldpd: monitor.`, so the
full line is informative only) and its start time (clock ticks since boot): `down` signals a pid
only when prefix and start time still match, so a reused pid is never killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_ROOT = Path("/run/wanka-lab")
STATE_FILE = "state.json"
VERSION = 1


def lab_prefix(cluster: str) -> str:
    """`wk-<4 hex>`: the prefix of every namespace of this cluster's lab."""
    return "wk-" + hashlib.sha256(cluster.encode()).hexdigest()[:4]


def default_dir(cluster: str) -> Path:
    return DEFAULT_ROOT / cluster


@dataclass
class Proc:
    pid: int
    cmdline: list[str]  # as /proc/<pid>/cmdline read right after the start
    match: str  # the command line (words joined by spaces) must start with this
    start: int  # field 22 of /proc/<pid>/stat: start time in clock ticks since boot
    namespace: str
    role: str  # zebra | bgpd | lldpd | bmc


@dataclass
class State:
    cluster: str
    prefix: str
    lab_dir: str
    version: int = VERSION
    complete: bool = False  # up finished every step
    namespaces: dict[str, str] = field(default_factory=dict)  # namespace -> device
    veths: list[list[str]] = field(default_factory=list)  # [ns, ifname, peer ns, peer ifname]
    procs: list[Proc] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)  # created by the lab, removed by down
    mounts: list[str] = field(default_factory=list)  # mount points, unmounted by down
    frr: dict[str, str] = field(default_factory=dict)  # namespace -> FRR state dir (vty socket)
    lldp: dict[str, str] = field(default_factory=dict)  # namespace -> lldpd control socket
    times: dict[str, float] = field(default_factory=dict)  # seconds per step
    outside_dirs: list[str] = field(default_factory=list)  # made outside the lab dir: rmdir
    servers: bool = False  # BMCs and servers (sshd) are part of this lab
    faults: list[str] = field(default_factory=list)  # applied fault specs (wanka.lab.faults)

    @property
    def path(self) -> Path:
        return Path(self.lab_dir) / STATE_FILE

    def device_ns(self) -> dict[str, str]:
        return {dev: ns for ns, dev in self.namespaces.items()}

    def save(self) -> None:
        """Write state.json atomically."""
        where = Path(self.lab_dir)
        where.mkdir(parents=True, exist_ok=True)
        data = json.dumps(asdict(self), indent=1, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=where)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, lab_dir: Path) -> State | None:
        path = Path(lab_dir) / STATE_FILE
        try:
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        procs = [Proc(**p) for p in raw.pop("procs", [])]
        return cls(**raw, procs=procs)


def proc_info(pid: int) -> tuple[list[str], int] | None:
    """(cmdline, start time) of a live, non-zombie process; None otherwise."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    if rest[0] in ("Z", "X"):
        return None
    args = [a.decode(errors="replace") for a in raw.split(b"\0")]
    while args and args[-1] == "":
        args.pop()
    return args, int(rest[19])


def alive(p: Proc) -> bool:
    """Is the recorded process still the one we started (same start time, same program)?"""
    info = proc_info(p.pid)
    return info is not None and info[1] == p.start and " ".join(info[0]).startswith(p.match)
