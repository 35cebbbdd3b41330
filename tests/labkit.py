"""One helper for every lab test: bring a lab up (`lab_up`, or the session's shared labs,
`Labs`), reach its servers (`Lab.ssh`, `Lab.sh`, `Lab.client`), run bring-up and verify on
it (`Lab.run`, timed), and inject and clear its faults (`Lab.fault`).

A lab comes up in a directory of its own under /tmp, with a namespace prefix of its own (so
a developer's lab of the same cluster may run beside it), and is always taken down. Lab tests
need root, FRR, lldpd and sshd (CI runs as root): without them they fail, never skip.

Sharing (tests/conftest.py's `labs` fixture, one per session: all lab modules run on one
xdist worker, see LabsOnOneWorker): a module that only needs *a* lab of a cluster takes the
session's (`labs.get(cluster)`), restored to how `up` left it (faults cleared, every server
powered off); a module whose tests need what no earlier module touched (a first fabric or
bring-up that changes things) asks `labs.get(cluster, fresh=True)` and gets it brought up
again when an earlier module used it. Bringing lab-mini up with its servers takes about 4 s
and down 2 s: what a lab module costs is its bring-up and verify runs, not its lab.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import ROOT, require_lab_servers, run_wanka

from wanka.bringup.options import Options
from wanka.bringup.run import run_playbook
from wanka.derive.bundle import Derived
from wanka.derive.routing import SwitchRouting, switch_routing
from wanka.drivers.redfish import Client
from wanka.lab import access as lab_access
from wanka.lab import netlab, nodes
from wanka.lab.state import Proc, State, alive
from wanka.lab.switches import FRR_DAEMONS
from wanka.pipeline import open_cluster

MINI = ROOT / "examples/lab-mini/cluster.yaml"
# the execution nodes a shared lab comes up with: lab-mini's serve tests/test_bringup_mesh_lab.py
SHARED_EXECUTION_NODES = {MINI: 2}
SWITCH_PASSWORD = "WANKA_SWITCH_PASSWORD"  # the lab clusters' credentials.switch.password


@dataclass
class Lab:
    """A lab that is up: its model, directory, state and access.json, and the runs made on
    it (`times`: per run its wall and CPU seconds and task results)."""

    d: Derived
    cluster: Path
    dir: Path
    base: Path  # the temporary directory holding the lab and the runs' directories
    state: State
    access: dict[str, Any]  # access.json as JSON, for the tests that read its keys
    started: float  # time.monotonic() when `up` began
    up_seconds: float
    messages: list[str] = field(default_factory=list)  # what `up` said
    times: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def typed(self) -> lab_access.Access:
        """access.json as wanka reads it (wanka.lab.access): what the code under test takes."""
        return lab_access.read(self.dir)

    @property
    def out(self) -> Path:
        """The run directory of `run`'s default `out`."""
        return self.base / "run"

    @property
    def prefix(self) -> str:
        return self.state.prefix

    def run(
        self, playbook: str = "bringup", *, cluster: Path | str | None = None, out: str = "run",
        **kw: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """`wanka bringup|verify` in-process on this lab (its report as a dict), in the run
        directory `out`, with its wall time, CPU seconds (this process's own and its
        children's: ansible-playbook, its forks and ssh) and task results recorded."""
        before, started = os.times(), time.monotonic()
        opts = Options(
            cluster_file=str(cluster or self.cluster), out_dir=self.base / out,
            playbook=playbook, lab=self.dir, **kw,
        )  # fmt: skip
        r = run_playbook(opts).to_dict()
        after = os.times()
        tasks = sum(
            1
            for f in Path(r["artifacts"]).rglob("job_events/*.json")
            if json.loads(f.read_text()).get("event", "").startswith("runner_on_")
        )
        key = f"{playbook} {kw.get('execution_nodes') or 'plain'}{' resume' * kw.get('resume', 0)}"
        key += f" ({out})" if out != "run" else ""
        key += f" #{len(self.times) + 1}"
        self.times[key] = {
            "hosts": len(r["ran"]),
            "task_results": tasks,
            "self_cpu_s": round(after[0] + after[1] - before[0] - before[1], 2),
            "children_cpu_s": round(after[2] + after[3] - before[2] - before[3], 2),
            "wall_s": round(time.monotonic() - started, 1),
        }
        return r

    def ssh_argv(self, node: str, command: str) -> list[str]:
        """ssh to a server as access.json says (key, known hosts, the jump host's proxy)."""
        a = self.access["ssh"]
        return ["ssh", *a["options"], "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                f"{a['user']}@{self.access['nodes'][node]['address']}", command]  # fmt: skip

    def ssh(self, node: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.ssh_argv(node, command), capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip

    def sh(self, node: str, command: str, timeout: float = 60) -> str:
        """The output of `command` on the server, which must succeed."""
        r = self.ssh(node, command, timeout)
        assert r.returncode == 0, f"{node}: {command}: {r.stderr}"
        return r.stdout

    def client(self, node: str, timeout: float = 10) -> Client:
        """A Redfish client of the server's BMC."""
        url, system = self.typed.bmc_of(node)
        return Client(url, system, timeout=timeout)

    def fault(self, action: str, *specs: str) -> subprocess.CompletedProcess[str]:
        """`wanka lab fault DIR add|clear SPEC...` (its result: tests check the refusals)."""
        return run_wanka("lab", "fault", str(self.dir), action, *specs)

    def restore(self) -> None:
        """Back to how `up` left it, for the next module sharing it: no fault, every server
        powered off (what each server's disk holds stays)."""
        state = State.load(self.dir)
        assert state is not None, f"the shared lab in {self.dir} is gone"
        if state.faults:
            netlab.up(self.d, self.dir, faults=[])
        if state.servers:
            for name in self.access["nodes"]:
                client = self.client(name)
                if client.power_state() != "Off":
                    client.set_power(False)
            for name in self.access["nodes"]:
                assert self.client(name).wait_power("Off", 30), f"{name} did not power off"


def require_lab(*, servers: bool = True) -> None:
    """Fail (never skip) when this machine cannot run the lab (with its servers, or its
    network, FRR and lldpd only)."""
    if servers:
        require_lab_servers()
        return
    import pytest

    from wanka.lab import switches

    if os.geteuid() != 0:
        pytest.fail("the lab tests need root (CI runs as root)", pytrace=False)
    for tool in ("ip", "vtysh", "lldpd", "lldpcli"):
        if shutil.which(tool) is None:
            pytest.fail(f"`{tool}` not found: install iproute2 frr lldpd", pytrace=False)
    for daemon in ("zebra", "bgpd"):
        if not (switches.FRR_DAEMONS / daemon).exists():
            pytest.fail(f"{switches.FRR_DAEMONS / daemon} not found: install frr", pytrace=False)


@contextlib.contextmanager
def lab_up(
    cluster: Path | str = MINI,
    *,
    servers: bool = True,
    execution_nodes: int = 0,
    prepare: Callable[[Path], None] | None = None,
    report: str = "",
    power_delay: tuple[int, int] = (1, 2),
) -> Iterator[Lab]:
    """A lab of `cluster` for the `with` block: up in a temporary directory under its own
    namespace prefix (servers with a `power_delay` of 1-2 s, all off; `servers=False`: the
    network, FRR and lldpd only), with the cluster's switch password reference set (the lab
    keeps its hash only); then down, the directory removed. `prepare(lab_dir)` runs once it
    is up; `report` names the lab in the line of run times printed at the end."""
    require_lab(servers=servers)
    cluster = Path(cluster)
    d = open_cluster(str(cluster))
    base = Path(tempfile.mkdtemp(prefix="wklab-", dir="/tmp"))
    base.chmod(0o755)  # FRR runs as frr and must reach its state directory
    lab_dir = base / "lab"
    password = os.environ.get(SWITCH_PASSWORD)
    os.environ[SWITCH_PASSWORD] = os.urandom(12).hex()
    lab: Lab | None = None
    try:
        messages: list[str] = []
        started = time.monotonic()
        state = netlab.up(
            d, lab_dir, progress=messages.append, prefix=f"wk{os.urandom(3).hex()}",
            servers=servers, power_delay=power_delay if servers else None,
            execution_nodes=execution_nodes,
        )  # fmt: skip
        up_seconds = time.monotonic() - started
        print(f"\n{cluster.name} up in {up_seconds:.2f} s ({state.times})")
        if prepare is not None:
            prepare(lab_dir)
        access = nodes.read_access(lab_dir) if servers else {}
        lab = Lab(d, cluster, lab_dir, base, state, access, started, up_seconds, messages)
        yield lab
    finally:
        netlab.down(lab_dir)
        if lab is not None and lab.times:
            print(f"\nruns on {report or cluster.name}: {json.dumps(lab.times)}")
        shutil.rmtree(base, ignore_errors=True)
        if password is None:
            os.environ.pop(SWITCH_PASSWORD, None)
        else:
            os.environ[SWITCH_PASSWORD] = password


class Labs:
    """The session's shared labs: one per (cluster, execution nodes), brought up when a
    module first asks for it, taken down at the end of the session."""

    def __init__(self) -> None:
        self._labs: dict[tuple[str, int], tuple[contextlib.ExitStack, Lab]] = {}
        self._used: set[tuple[str, int]] = set()

    def get(self, cluster: Path = MINI, *, fresh: bool = False) -> Lab:
        """The shared lab of `cluster` (with its servers and SHARED_EXECUTION_NODES),
        restored (`Lab.restore`); `fresh`: one no earlier module has run anything on
        (brought up again if one did)."""
        key = (str(cluster), SHARED_EXECUTION_NODES.get(cluster, 0))
        held = self._labs.get(key)
        if held is not None and (
            (fresh and key in self._used) or State.load(held[1].dir) is None
        ):  # used, or taken down by a test (test_lab_servers' last)
            held[0].close()
            held = None
        if held is None:
            stack = contextlib.ExitStack()
            lab = stack.enter_context(lab_up(cluster, execution_nodes=key[1]))
            held = self._labs[key] = (stack, lab)
            self._used.discard(key)
        else:
            held[1].restore()
        self._used.add(key)
        return held[1]

    def close(self) -> None:
        for stack, _ in self._labs.values():
            stack.close()
        self._labs.clear()


# --- one switch by hand: FRR (and an sshd) in a namespace of the test's own ------------------


def mini_switch(os_name: str) -> tuple[Derived, dict[str, SwitchRouting], str]:
    """lab-mini, its switches' routing and its first routed switch running `os_name`
    (lab-mini's Debian/FRR switches are its leaves, its spines run SONiC)."""
    d = open_cluster(str(MINI))
    routing = switch_routing(d)
    return d, routing, next(n for n, r in routing.items() if r.os == os_name)


@dataclass
class SwitchSpace:
    """A switch's namespace of a test's own and its directory: `frr` (FRR's state, owned by
    frr) and `lab` (with `lab/ssh`)."""

    ns: str
    base: Path

    @property
    def frr(self) -> Path:
        return self.base / "frr"

    @property
    def lab(self) -> Path:
        return self.base / "lab"


@contextlib.contextmanager
def switch_namespace(tag: str, address: str) -> Iterator[SwitchSpace]:
    """A namespace `wk<tag><pid><hex>` with lo up holding `address`/32, its directory under
    /tmp (searchable by frr), and /run/sshd (sshd's privilege separation directory); then
    the namespace deleted, the directory removed, /run/sshd too if this made it (and it is
    empty)."""
    ns = f"wk{tag}{os.getpid()}{os.urandom(2).hex()}"
    base = Path(tempfile.mkdtemp(prefix=f"{ns}-", dir="/tmp"))
    base.chmod(0o755)
    space = SwitchSpace(ns, base)
    space.frr.mkdir(mode=0o755)
    shutil.chown(space.frr, "frr", "frr")
    (space.lab / "ssh").mkdir(parents=True)
    privsep = Path("/run/sshd")
    made_privsep = not privsep.exists()
    privsep.mkdir(mode=0o755, exist_ok=True)
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=30)
    try:
        lines = f"link set lo up\naddress add {address}/32 dev lo\n"
        subprocess.run(
            ["ip", "-n", ns, "-batch", "-"], input=lines, text=True, check=True,
            capture_output=True, timeout=30,
        )  # fmt: skip
        yield space
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        shutil.rmtree(base, ignore_errors=True)
        if made_privsep:
            with contextlib.suppress(OSError):
                privsep.rmdir()


def start_frr(ns: str, state: Path, conf: dict[str, Path]) -> list[int]:
    """zebra and bgpd in namespace `ns` as user frr, each reading its file of `conf`
    (daemon -> path; one frr.conf for both, or split mode's zebra.conf and bgpd.conf), their
    pid files, vty and zserv sockets in `state`; their pids."""
    pids = []
    for daemon in ("zebra", "bgpd"):
        shutil.chown(conf[daemon], "frr", "frr")
        subprocess.run(
            ["ip", "netns", "exec", ns, str(FRR_DAEMONS / daemon), "-d", "-N", ns,
             "-f", str(conf[daemon]), "-i", str(state / f"{daemon}.pid"), "--vty_socket",
             str(state), "-z", str(state / "zserv.api"), "-u", "frr", "-g", "frr"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not (state / f"{daemon}.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pids.append(int((state / f"{daemon}.pid").read_text().strip()))
    return pids


def stop_switch(pids: list[int], sshd: Proc | None) -> None:
    """Stop the switch's sshd and its FRR daemons (only processes that still run FRR's
    programs), and wait until they are gone."""
    if sshd is not None and alive(sshd):
        os.kill(sshd.pid, signal.SIGTERM)
    for pid in pids:
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and cmdline.read_bytes().startswith(str(FRR_DAEMONS).encode()):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.1)
