"""Bring-up and verification runs: prepare (render, write the run's inventory), run a
playbook through ansible-runner, collect the results, report.

    run_playbook(Options(cluster_file=F, phase=P, out_dir=DIR, playbook="bringup" | "fabric" |
        "verify", limit=None, lab=None, resume=False, ...)) -> RunResult

(the module is `run`, its entry point `run_playbook`: what a caller imports is
`from wanka.bringup.run import run_playbook`; Options and BringupError live in
wanka.bringup.options, the preparation in wanka.bringup.prepare)

The run directory DIR holds everything a run used and made:

    DIR/render/                  `wanka render --phase P` output (inventory, frr.conf, hccn.conf)
    DIR/runner/inventory/        the rendered inventory and group_vars, plus an overlay:
                                 host_vars/<host>/expect.yml (wanka_expect, from the model) and,
                                 with a lab, host_vars/<host>/lab.yml (addresses, keys, BMC URL)
    DIR/runner/artifacts/<id>/   ansible-runner's artifacts of each run (events, stdout)
    DIR/<playbook>-report.json   per host, per check: pass/fail, port, reason
    DIR/<playbook>-report.xml    JUnit XML
    DIR/<playbook>-summary.txt   the short summary
    DIR/hccl/<phase>/*.json      rank tables with only the nodes whose last verify passed
    DIR/state.json               each host's last status per playbook (what --resume reads)

A run given a `Prepared` (`prepare.shared`: what the BringupBatch resources of one stack
share) renders nothing and reads no cluster file: DIR then holds no render/ and no
inventory, the prepared directory does.

The result is a `RunResult` (wanka.bringup.results, read by the Pulumi BringupBatch provider
too); its `to_dict()` is the JSON report:

    {"ok": bool, "changed": int, "playbook": str, "phase": str | None,
     "hosts": {NAME: {"status": "ok" | "failed" | "unreachable" | "skipped", "changed": int,
                      "failed": [{"check", "port", "reason"}], "kind", "checks": [...]}},
     "summary": str, "report": {"json": path, "junit": path, "summary": path},
     "rollout": {"batch": str, "max_fail_percent": int}, "artifacts": path,
     "duration_s": float}

Credentials: the cluster file holds references only. The BMC password is resolved by the
wanka_redfish module on the controller from the reference (env or file); SSH uses the key
file the reference names. No secret value is written into the run directory; the artifacts
are scrubbed of the referenced values and of ansible-runner's copy of the environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wanka import jsonfmt
from wanka.bringup import mesh, runner
from wanka.bringup import report as verifyreport
from wanka.bringup.options import PLAYBOOKS, BringupError, Options
from wanka.bringup.prepare import (
    Prepared,
    lab_access,
    open_derived,
    prepare,
    run_rollout,
)
from wanka.bringup.results import Check, HostResult, RunResult
from wanka.checks import ROCE_PING, SPOD_INFO
from wanka.datafiles import data_path
from wanka.derive.bundle import Derived
from wanka.lab.access import Access
from wanka.render import ranktable

__all__ = ["HOSTS", "hardware_ids", "run_playbook"]

HOSTS = {
    "bringup": "servers:!excluded",
    "fabric": "switches",
    "verify": "servers:switches:!excluded",
}


def run_playbook(
    opts: Options, *, derived: Derived | None = None, prepared: Prepared | None = None
) -> RunResult:
    """Prepare (unless `prepared` is given), run `opts.playbook` on the hosts it selects
    through ansible-runner, collect the results, write the reports (and, for a verify, the
    rank tables). `derived`: the cluster as `open_derived(opts.cluster_file, opts.phase)`
    gives it, when the caller has it already."""
    started = time.monotonic()
    out = Path(opts.out_dir).absolute()
    d = derived
    if prepared is None:
        d = d if d is not None else open_derived(opts.cluster_file, opts.phase)
        run_rollout(d.cluster, opts)  # a bad rollout is told before a lab that is not up
    # the lab's access.json, read once for the run; refused before anything is written
    access = lab_access(opts.lab) if opts.lab is not None else None
    execs = None
    if opts.execution_nodes is not None:
        execs = mesh.nodes(opts.execution_nodes, access)
    if prepared is None:
        assert d is not None
        prepared = prepare(d, opts, out / "render", out / "runner" / "inventory", access)
    elif (prepared.playbook, prepared.phase) != (opts.playbook, opts.phase):
        raise BringupError(
            f"a run prepared for {prepared.playbook} of phase {prepared.phase} cannot "
            f"{opts.playbook} phase {opts.phase}"
        )
    out.mkdir(parents=True, exist_ok=True)
    state = _State.read(out, opts)
    scope = _select(prepared, opts)
    ran = [h for h in scope if state.previous.get(h) != "ok"] if opts.resume else scope
    results, status, artifacts = _play(opts, prepared, out, ran, execs, access)
    result = RunResult(
        playbook=opts.playbook,
        phase=opts.phase,
        hosts=_collect(scope, results, state.earlier, prepared),
        cluster=prepared.cluster,
        lab=str(opts.lab) if opts.lab is not None else None,
        resumed=opts.resume,
        batch=prepared.batch,
        max_fail_percent=prepared.max_fail_percent,
        ran=tuple(ran),
        runner_status=status,
        artifacts=str(artifacts),
        duration_s=round(time.monotonic() - started, 1),
    )
    result = replace(result, summary=verifyreport.summary(result))
    state.record(result)
    if opts.playbook == "verify":  # only nodes whose last verification passed train
        d = d if d is not None else open_derived(opts.cluster_file, opts.phase)
        tables = _rank_tables(d, out, prepared, state, result)
        result = replace(result, rank_tables=tuple(tables))
    state.write()
    paths = verifyreport.write(result, out, prefix=opts.playbook)
    return replace(result, report={k: str(v) for k, v in paths.items()})


@dataclass(kw_only=True)
class _State:
    """DIR/state.json (each host's last status per playbook) and, for --resume, the hosts
    of the last report."""

    path: Path
    playbook: str
    all: dict[str, dict[str, str]] = field(default_factory=dict)
    earlier: dict[str, HostResult] = field(default_factory=dict)

    @classmethod
    def read(cls, out: Path, opts: Options) -> _State:
        s = cls(path=out / "state.json", playbook=opts.playbook)
        if s.path.is_file():
            s.all = json.loads(s.path.read_text(encoding="utf-8"))
        report = out / f"{opts.playbook}-report.json"
        if opts.resume and report.is_file():
            hosts = json.loads(report.read_text(encoding="utf-8")).get("hosts", {})
            s.earlier = {name: HostResult.from_dict(h) for name, h in hosts.items()}
        return s

    @property
    def previous(self) -> dict[str, str]:
        return self.all.get(self.playbook, {})

    def record(self, result: RunResult) -> None:
        self.all[self.playbook] = {
            **self.previous,
            **{n: h.status for n, h in result.hosts.items()},
        }

    def write(self) -> None:
        self.path.write_text(jsonfmt.dumps(self.all), encoding="utf-8")


def _select(prepared: Prepared, opts: Options) -> list[str]:
    """The hosts of the run: the playbook's pattern and --limit, in the inventory."""
    try:
        scope = _scope(prepared.inventory, HOSTS[opts.playbook], opts.limit)
    except Exception as e:  # Ansible's own message for a bad pattern
        raise BringupError(f"--limit {opts.limit!r}: {e}") from None
    if not scope:
        raise BringupError(
            f"no hosts to {opts.playbook}"
            + (f" in phase {opts.phase}" if opts.phase else "")
            + (f" matching --limit {opts.limit!r}" if opts.limit else "")
        )
    return scope


# Ansible's plugin loader imports inventory plugins lazily and is not thread-safe: two bring-ups
# at once in one process (the batches of a stack, in Pulumi's provider process) saw a
# half-imported `ansible.plugins.inventory.yaml` ("has no attribute 'InventoryModule'")
_ANSIBLE_LOCK = threading.Lock()


@contextmanager
def _inventory_manager(inventory: Path) -> Iterator[Any]:
    """Ansible's InventoryManager of the run's inventory, used under `_ANSIBLE_LOCK`: the one
    way this module reads the inventory with Ansible."""
    with _ANSIBLE_LOCK:
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader

        yield InventoryManager(loader=DataLoader(), sources=[str(inventory / "hosts.yml")])


def _scope(inventory: Path, pattern: str, limit: str | None) -> list[str]:
    """The hosts a playbook's pattern and --limit select, with Ansible's own matching."""
    with _inventory_manager(inventory) as im:
        if limit:
            im.subset(limit)
        # leave out groups this inventory does not have (no `excluded` nodes): no warning
        parts = [p for p in pattern.split(":") if p.lstrip("!&") in im.groups]
        return sorted(h.name for h in im.get_hosts(":".join(parts))) if parts else []


def _play(
    opts: Options,
    prepared: Prepared,
    out: Path,
    hosts: list[str],
    execs: list[mesh.ExecNode] | None = None,
    access: Access | None = None,
) -> tuple[dict[str, HostResult], str, Path]:
    """Run the playbook on `hosts` (none: nothing to run), here or spread over the
    execution nodes `execs`; (results, ansible-runner's status, the artifacts directory),
    the artifacts scrubbed of secrets. `access`: the lab's, with `opts.lab`."""
    private = out / "runner"
    ident = time.strftime("%Y%m%dT%H%M%S") + f"-{opts.playbook}"
    if not hosts:
        return {}, "successful", private / "artifacts" / ident
    pb_dir = data_path("playbooks")
    extravars: dict[str, Any] = {
        "wanka_render_dir": str(prepared.render),
        "wanka_serial": prepared.batch,
        "wanka_max_fail_percentage": prepared.max_fail_percent,
    }
    if access is not None and access.packages:
        extravars["wanka_packages_dir"] = access.packages
    extravars.update(opts.extra_vars)
    private.mkdir(parents=True, exist_ok=True)  # a shared prepared run keeps its inventory apart
    if execs:
        return _play_mesh(opts, prepared, out, hosts, execs, extravars, ident, access)
    results, status, artifacts = runner.run(
        private,
        pb_dir / PLAYBOOKS[opts.playbook],
        inventory=prepared.inventory,
        hosts=hosts,
        kinds=dict(prepared.kinds),
        limit=",".join(hosts) if opts.resume or opts.limit else None,
        extravars=extravars,
        envvars=_environment(out, private, access),
        forks=opts.forks or _forks(len(hosts), lab=access is not None),
        ident=ident,
        show=opts.progress,
    )
    _scrub(artifacts, prepared.secret_values())
    return results, status, artifacts


def _play_mesh(
    opts: Options,
    prepared: Prepared,
    out: Path,
    hosts: list[str],
    execs: list[mesh.ExecNode],
    extravars: dict[str, Any],
    ident: str,
    access: Access | None,
) -> tuple[dict[str, HostResult], str, Path]:
    """`_play` over execution nodes: the hosts split by pod (or rack), one share per node.
    A lab's nodes share this machine's cores, so they share its forks too; real ones have
    their own."""
    shares = mesh.split(hosts, _groups(prepared.inventory, hosts), len(execs))
    if opts.forks:
        forks = opts.forks
    elif access is not None:
        forks = max(1, _forks(len(hosts), lab=True) // len(shares))
    else:
        forks = _forks(max(len(s) for s in shares), lab=False)
    job = mesh.Job(
        playbook=data_path("playbooks") / PLAYBOOKS[opts.playbook],
        inventory=prepared.inventory,
        extravars=extravars,
        envvars=_environment(out, out / "runner", access),
        forks=forks,
        ident=ident,
        private=out / "runner",
    )
    results, status, artifacts = mesh.run_shares(
        job, list(zip(execs, shares, strict=False)), kinds=dict(prepared.kinds), show=opts.progress
    )
    for node_dir in artifacts.iterdir():
        if node_dir.is_dir():
            _scrub(node_dir, prepared.secret_values())
    return results, status, artifacts


def _groups(inventory: Path, hosts: list[str]) -> dict[str, tuple[str, str]]:
    """Each host's pod and rack (its inventory groups pod_* and rack_*)."""
    with _inventory_manager(inventory) as im:
        groups = {
            name: sorted(g.name for g in host.get_groups()) if host is not None else []
            for name, host in ((n, im.get_host(n)) for n in hosts)
        }
    return {
        name: (
            next((g for g in mine if g.startswith("pod_")), ""),
            next((g for g in mine if g.startswith("rack_")), ""),
        )
        for name, mine in groups.items()
    }


def _environment(out: Path, private: Path, access: Access | None) -> dict[str, str]:
    """ansible-playbook's environment: wanka's roles and modules, quiet, SSH of this run."""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    envvars = {
        "PATH": f"{Path(sys.executable).parent}:{path}",
        "ANSIBLE_ROLES_PATH": str(data_path("roles")),
        "ANSIBLE_LIBRARY": str(data_path("playbooks") / "library"),
        "ANSIBLE_MODULE_UTILS": str(data_path("playbooks") / "module_utils"),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INTERPRETER_PYTHON": "auto_silent",
        "ANSIBLE_TIMEOUT": "15",
        "ANSIBLE_SSH_RETRIES": "2",
        "ANSIBLE_LOCAL_TEMP": str(private / "tmp"),
        # SSH master connections of this run directory only: two labs (or sites) with the
        # same management addresses must never share one (the socket is named after
        # user@host:port); short, for the socket path limit
        "ANSIBLE_SSH_CONTROL_PATH_DIR": "/tmp/wanka-cp-"
        + hashlib.sha1(str(out).encode()).hexdigest()[:12],
    }
    ssh_args = "-o ControlMaster=auto -o ControlPersist=120s"
    if access is not None:
        kh = access.ssh.known_hosts
        if kh:
            ssh_args += f" -o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes"
        proxy = access.ssh.proxy_command
        if proxy:  # the lab's servers are reached through its jump host (a namespace)
            ssh_args += f' -o "ProxyCommand={proxy}"'
    envvars["ANSIBLE_SSH_ARGS"] = ssh_args
    return envvars


def _scrub(artifacts: Path, secrets: list[str]) -> None:
    """ansible-runner keeps the environment of the run in artifacts/<id>/command: keep the
    command line and the directory, not the environment; and no file keeps a secret value."""
    command = artifacts / "command"
    if command.is_file():
        try:
            data = json.loads(command.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "env" in data:
                data["env"] = {k: "(not kept)" for k in sorted(data["env"])}
                command.write_text(json.dumps(data, indent=1), encoding="utf-8")
        except ValueError:
            command.unlink()
    if not secrets:
        return
    for path in artifacts.rglob("*"):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if any(s in text for s in secrets):
            for s in secrets:
                text = text.replace(s, "********")
            path.write_text(text, encoding="utf-8")


def _collect(
    scope: list[str],
    results: dict[str, HostResult],
    earlier: dict[str, HostResult],
    prepared: Prepared,
) -> dict[str, HostResult]:
    """Every host of the scope: this run's result, else (--resume) the earlier one, else a
    host this run had nothing to do on; a verify's pings re-attributed to their cause."""
    hosts: dict[str, HostResult] = {}
    for name in scope:
        if name in results:
            hosts[name] = results[name]
        elif name in earlier:  # --resume: kept from the earlier run
            hosts[name] = replace(earlier[name], changed=0)
        else:
            hosts[name] = HostResult(status="ok", kind=prepared.kinds.get(name, "node"))
    if prepared.playbook == "verify":  # (the run's own playbook: `run` checked)
        hosts = _reattribute_pings(hosts)
    return hosts


def _reattribute_pings(hosts: dict[str, HostResult]) -> dict[str, HostResult]:
    """A RoCE ping fails when either end is broken. When the far end's port failed a check of
    its own (link, LLDP, address, health) or its host did not pass, the ping is not the
    sender's fault: mark it skipped, naming the peer, so the report names only the cause."""
    broken: dict[str, set[str]] = {}
    for name, h in hosts.items():
        ports = {c.port for c in h.checks if c.status == "fail" and c.id != ROCE_PING}
        own = [f for f in h.failed if f.id != ROCE_PING]
        if h.status in ("unreachable", "skipped") or any(not f.port for f in own):
            ports.add("*")
        broken[name] = ports
    out: dict[str, HostResult] = {}
    for name, h in hosts.items():
        checks = tuple(_excused(c, broken) for c in h.checks)
        if checks == h.checks:
            out[name] = h
            continue
        skipped = {(c.id, c.port) for c in checks if c.status == "skip"}
        failed = tuple(f for f in h.failed if (f.id, f.port) not in skipped)
        status = "ok" if h.status == "failed" and not failed else h.status
        out[name] = replace(h, checks=checks, failed=failed, status=status)
    return out


def _excused(c: Check, broken: dict[str, set[str]]) -> Check:
    """A failed ping to a port (or host) that is broken itself: skipped, naming the peer."""
    if c.id != ROCE_PING or c.status != "fail" or not c.peer:
        return c
    peer, _, port = c.peer.partition(":")
    bad = broken.get(peer, set())
    if port in bad or "*" in bad:
        return replace(c, status="skip", reason=f"peer {c.peer} failed its own checks")
    return c


def _rank_tables(
    d: Derived, out: Path, prepared: Prepared, state: _State, result: RunResult
) -> list[str]:
    passed = {n for n in prepared.nodes if state.previous.get(n) == "ok"}
    return _write_rank_tables(d, out, prepared.phase, passed, hardware_ids(result))


def hardware_ids(result: RunResult) -> ranktable.Hardware:
    """Per host and NPU device, the (SDID, Super Pod ID) its `spod-info` check read."""
    out: ranktable.Hardware = {}
    for name, h in result.hosts.items():
        for c in h.checks:
            if c.id != SPOD_INFO or c.status != "pass":
                continue
            if c.sdid is not None and c.super_pod_id is not None:
                device = int(c.port.removeprefix("npu"))
                out.setdefault(name, {})[device] = (c.sdid, c.super_pod_id)
    return out


def _write_rank_tables(
    d: Derived,
    out: Path,
    phase: str | None,
    passed: set[str],
    hardware: ranktable.Hardware | None = None,
) -> list[str]:
    tables = ranktable.rank_tables(d, only=passed, hardware=hardware)
    target = out / "hccl"
    if target.exists():
        shutil.rmtree(target)
    written = []
    for path, table in sorted(tables.items()):
        if phase is not None and path.split("/")[1] != phase:
            continue
        file = out / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(ranktable.dumps(table), encoding="utf-8")
        written.append(str(file))
    return written


def _forks(hosts: int, *, lab: bool) -> int:
    """Hosts Ansible works on at once. Real hosts each run their own checks: all of them (up
    to 50). A lab's servers all run on this machine's CPUs: beyond about four per core they
    only queue for the same cores, and starve the kernel's packet processing until the RoCE
    pings between servers time out (32 lab servers at once on 2 cores: 22 to 27 of them
    failed a ping; 8 at a time: all green, in the same wall time)."""
    if lab:
        return max(1, min(hosts, 4 * (os.cpu_count() or 1)))
    return max(5, min(50, hosts))
