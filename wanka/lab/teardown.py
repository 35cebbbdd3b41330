"""Taking a lab down: `down` removes exactly what the lab's state file lists (its
processes, if they are still the lab's, its mounts, namespaces and directories), finds the
daemons an interrupted `up` started but did not record (their pid files), and leaves alone,
and reports, what it did not start. Split from netlab (bringing the lab up), which
re-exports `down`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wanka.lab import proc
from wanka.lab.state import Proc, State, alive, proc_info

NETNS_DIR = Path("/run/netns")


def _quiet(_: str) -> None:
    pass


def _sshd_running() -> bool:
    """Does any sshd run on this machine (another lab's server, the system's own)?"""
    from wanka.lab.nodes import SSHD

    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "exe") == SSHD:
                    return True
    return False


def _ns_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _lab_namespaces(state: State) -> dict[tuple[int, int], str]:
    out = {}
    for ns in state.namespaces:
        ident = _ns_id(NETNS_DIR / ns)
        if ident is not None:
            out[ident] = ns
    return out


def _inside(state: State) -> list[tuple[int, str, str]]:
    """(pid, namespace, command line) of every live process in one of the lab's namespaces."""
    ours = _lab_namespaces(state)
    out: list[tuple[int, str, str]] = []
    if not ours:
        return out
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        ns = ours.get(_ns_id(entry / "ns/net") or (0, 0))
        info = proc_info(int(entry.name)) if ns is not None else None
        if ns is not None and info is not None:
            out.append((int(entry.name), ns, " ".join(info[0])))
    return out


def _from_pid_files(state: State) -> list[Proc]:
    """Daemons whose pid file is in the lab's directories but whose pid is not recorded (up
    was interrupted between starting one and recording it): taken only when the process runs
    the expected program inside the expected lab namespace."""
    from wanka.lab.switches import FRR_DAEMONS

    recorded = {p.pid for p in state.procs}
    candidates: list[tuple[Path, str, str, str]] = []
    for ns, vty in state.frr.items():
        for daemon in ("zebra", "bgpd"):
            match = f"{FRR_DAEMONS / daemon} -d -N {ns} "
            candidates.append((Path(vty) / f"{daemon}.pid", ns, daemon, match))
    for ns, sock in state.lldp.items():
        candidates.append((Path(sock).with_suffix(".pid"), ns, "lldpd", "lldpd"))
    out = []
    for pidfile, ns, role, match in candidates:
        try:
            text = pidfile.read_text().strip()
        except OSError:
            continue
        if not text.isdigit() or int(text) in recorded:
            continue
        pid = int(text)
        info = proc_info(pid)
        here = _ns_id(NETNS_DIR / ns)
        if info is None or here is None or _ns_id(Path(f"/proc/{pid}/ns/net")) != here:
            continue
        found = Proc(pid, info[0], match, info[1], ns, role)
        if alive(found):
            out.append(found)
    return out


def down(lab_dir: Path | str, *, progress: Callable[[str], None] = _quiet) -> dict[str, Any]:
    """Remove exactly what the state file lists: processes (if still ours), mounts, namespaces
    (and so their veths), directories; then the state file. What remains is reported."""
    where = Path(lab_dir)
    state = State.load(where)
    if state is None:
        progress(f"no lab state in {where}: nothing to do")
        return {"removed": False, "left": []}
    procs = [p for p in state.procs if alive(p)] + _from_pid_files(state)
    progress(f"stopping {len(procs)} processes")
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in procs):
        time.sleep(0.05)
    for p in procs:
        if alive(p):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
    if state.servers:
        from wanka.lab import nodes

        cut = nodes.power_all_off(where)  # the BMC does it when it stops; this if it died
        if cut:
            progress(f"cut the power of servers still running ({cut} processes)")
    for m in reversed(state.mounts):
        proc.run(["umount", "-l", m], timeout=30, check=False)
    strangers = [
        f"pid {pid} ({cmd[:40]}) in {ns}, not started by the lab: not killed"
        for pid, ns, cmd in _inside(state)
    ]
    present = [ns for ns in state.namespaces if (NETNS_DIR / ns).exists()]
    progress(f"deleting {len(present)} namespaces")
    if present:
        batch = "".join(f"netns del {ns}\n" for ns in present)
        proc.run(["ip", "-force", "-batch", "-"], input=batch, timeout=120, check=False)
    for dir_ in sorted(state.dirs, key=len, reverse=True):
        if Path(dir_).is_relative_to(where) and Path(dir_) != where:
            shutil.rmtree(dir_, ignore_errors=True)
    left = [f"pid {p.pid} ({p.role})" for p in [*state.procs, *procs] if alive(p)]
    left += strangers
    left += [f"namespace {ns}" for ns in state.namespaces if (NETNS_DIR / ns).exists()]
    if not left:
        if not _sshd_running():  # /run/sshd: another lab's servers or a system sshd need it
            for dir_ in state.outside_dirs:
                with contextlib.suppress(OSError):  # only if empty
                    Path(dir_).rmdir()
        state.path.unlink(missing_ok=True)
        if str(where) in state.dirs:
            shutil.rmtree(where, ignore_errors=True)
        for dir_ in sorted(state.dirs, key=len, reverse=True):
            if where.is_relative_to(dir_) and Path(dir_) != where:
                with contextlib.suppress(OSError):  # only if empty: another lab may live there
                    Path(dir_).rmdir()
        progress(f"lab {state.cluster} down")
    else:
        progress(f"lab {state.cluster}: left behind {', '.join(left)}; state kept in {where}")
    return {"removed": not left, "left": left}
