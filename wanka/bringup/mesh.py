"""A run spread over execution nodes: the hosts split by pod, each share sent as an
`ansible-runner transmit` stream to `ansible-runner worker` on its node, the events processed
back into the run's one report.

The run's hosts are split by pod (or rack) into one share per execution node; each share
goes to its node as an `ansible-runner transmit` stream, runs there as `ansible-runner
worker`, and its event stream comes back through `ansible-runner process` into the one
Collector of the run (the same progress view, per-host results, report and rank tables as a
run on the control node alone). This is ansible-runner's own remote-execution protocol, the
one AWX sends over its Receptor mesh; here the stream travels over whatever command reaches
the node (its stdin takes the transmit stream, its stdout gives the worker's stream): `ssh
NODE ansible-runner worker` for a real node, `ip netns exec NS ansible-runner worker` for a
lab's.

    nodes(spec, access) -> [ExecNode]          --execution-nodes: a count (the lab's) or a file
    split(hosts, groups, n) -> [[host]]        pods (racks when fewer pods than nodes) -> nodes
    run_shares(...) -> ({host: HostResult}, status, artifacts)

An execution node that stops mid-run (its worker killed, the node down, the stream cut)
is noticed when its stream ends without the job's end (its last status is neither
successful nor failed): the hosts it had not finished are reported `skipped` with check
`not-run` naming the node, and `--resume` runs them (and only them) again; the hosts it
finished keep their results.

A file naming real execution nodes (YAML or JSON):

    execution_nodes:
      - name: exec-a                      # a name for the report and the progress view
        command: [ssh, -T, root@exec-a, ansible-runner, worker]

Each node needs ansible-core, ansible-runner and wanka (its roles and modules) at the same
paths as the control node, sees the run's render directory and SSH key at the same paths
(the stream carries only the share's inventory), and reaches the servers' SSH and the
BMCs' Redfish (with a lab, through the lab's jump host, as the control node does).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wanka.bringup.options import BringupError
from wanka.bringup.results import HostResult
from wanka.bringup.runner import Collector, Progress
from wanka.lab.access import Access


@dataclass(frozen=True)
class ExecNode:
    """An execution node: its name and the command that runs `ansible-runner worker` on it."""

    name: str
    command: tuple[str, ...]


def nodes(spec: str, access: Access | None) -> list[ExecNode]:
    """The execution nodes of `--execution-nodes SPEC`: a count (the first N of the lab's,
    `wanka lab up --execution-nodes N`) or a file naming them."""
    if spec.isdigit():
        count = int(spec)
        if count < 1:
            raise BringupError("--execution-nodes: a count of at least 1, or a file")
        if access is None:
            raise BringupError(
                f"--execution-nodes {count}: a count names the lab's execution nodes and needs "
                "--lab; for real execution nodes give a file naming them"
            )
        have = access.execution_nodes
        if len(have) < count:
            raise BringupError(
                f"--execution-nodes {count}: the lab has {len(have)} execution node(s) "
                f"(`wanka lab down`, then `wanka lab up --execution-nodes {count}`)"
            )
        return [ExecNode(x.name, x.command) for x in have[:count]]
    return _from_file(Path(spec))


def _from_file(path: Path) -> list[ExecNode]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BringupError(f"--execution-nodes {path}: cannot read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise BringupError(f"{where}: not YAML: {getattr(e, 'problem', e)}") from None
    entries = data.get("execution_nodes") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise BringupError(
            f"{path}: a mapping with `execution_nodes:`, a list of {{name, command}} "
            "(command: the argv that runs `ansible-runner worker` on the node)"
        )
    out: list[ExecNode] = []
    for i, x in enumerate(entries):
        where = f"{path}: execution_nodes[{i}]"
        if not isinstance(x, dict) or set(x) - {"name", "command"}:
            extra = sorted(set(x) - {"name", "command"}) if isinstance(x, dict) else []
            raise BringupError(
                f"{where}: a mapping of name and command"
                + (f" (unknown: {', '.join(map(str, extra))})" if extra else "")
            )
        name, command = x.get("name"), x.get("command")
        if not isinstance(name, str) or not name:
            raise BringupError(f"{where}: `name` must be a non-empty string")
        if not (isinstance(command, list) and command and all(isinstance(a, str) for a in command)):
            raise BringupError(f"{where} ({name}): `command` must be a non-empty list of strings")
        if any(n.name == name for n in out):
            raise BringupError(f"{where}: execution node {name} is named twice")
        out.append(ExecNode(name, tuple(command)))
    return out


def split(hosts: Sequence[str], groups: Mapping[str, tuple[str, str]], n: int) -> list[list[str]]:
    """`hosts` in `n` shares: whole pods (whole racks when there are fewer pods than nodes)
    onto the node with the fewest hosts so far, largest first; a host of no pod or rack
    (`groups`: host -> (pod, rack)) is a unit of its own. Deterministic; empty shares are
    dropped."""
    pods = {groups.get(h, ("", ""))[0] or h for h in hosts}
    level = 0 if len(pods) >= n else 1
    units: dict[str, list[str]] = {}
    for h in hosts:
        key = groups.get(h, ("", ""))[level] or f"host {h}"
        units.setdefault(key, []).append(h)
    shares: list[list[str]] = [[] for _ in range(n)]
    for _, members in sorted(units.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        min(shares, key=len).extend(members)
    return [sorted(s) for s in shares if s]


@dataclass(frozen=True, kw_only=True)
class Job:
    """What every share of a run shares: the playbook and ansible-runner's settings."""

    playbook: Path
    inventory: Path
    extravars: dict[str, Any]
    envvars: dict[str, str]
    forks: int
    ident: str
    private: Path  # the run's ansible-runner directory (DIR/runner)


def _share_dir(job: Job, node: ExecNode, hosts: list[str]) -> Path:
    """The share's private data directory (what transmit sends): its inventory with only
    the host_vars of its hosts."""
    share = job.private / "mesh" / job.ident / node.name
    keep = set(hosts)

    def ignore(directory: str, names: list[str]) -> list[str]:
        if Path(directory) == job.inventory / "host_vars":
            return [n for n in names if n not in keep]
        return []

    shutil.copytree(job.inventory, share / "inventory", ignore=ignore)
    return share


def _transmit(job: Job, node: ExecNode, share: Path, hosts: list[str], stream: Any) -> None:
    import hashlib

    import ansible_runner

    envvars = dict(job.envvars)
    if "ANSIBLE_SSH_CONTROL_PATH_DIR" in envvars:  # each node its own SSH master connections
        tag = hashlib.sha1(node.name.encode()).hexdigest()[:6]
        envvars["ANSIBLE_SSH_CONTROL_PATH_DIR"] += f"-{tag}"

    ansible_runner.run(
        streamer="transmit",
        _output=stream,
        private_data_dir=str(share),
        playbook=str(job.playbook),
        inventory=str(share / "inventory"),  # sent relative to the share: it is in it
        limit=",".join(hosts),
        extravars=job.extravars,
        envvars=envvars,
        forks=min(job.forks, len(hosts)),
        ident=job.ident,
        quiet=True,
        suppress_env_files=True,
    )


@dataclass
class _Outcome:
    status: str = "unstarted"
    stopped: str | None = None  # why the node's unfinished hosts did not finish


def _on_node(
    job: Job, node: ExecNode, hosts: list[str], event: Callable[[dict[str, Any]], bool]
) -> _Outcome:
    """One share, start to end: transmit, the node's worker, process its stream."""
    import ansible_runner

    share = _share_dir(job, node, hosts)
    artifacts = job.private / "artifacts" / job.ident / node.name
    artifacts.mkdir(parents=True, exist_ok=True)
    errors = artifacts / "worker.stderr"
    with tempfile.TemporaryFile() as stream, errors.open("wb") as err:
        _transmit(job, node, share, hosts, stream)
        stream.seek(0)
        try:
            worker = subprocess.Popen(
                list(node.command), stdin=stream, stdout=subprocess.PIPE, stderr=err
            )
        except OSError as e:
            return _Outcome("error", f"execution node {node.name}: cannot start its worker: {e}")
        (artifacts / "worker.pid").write_text(f"{worker.pid}\n", encoding="utf-8")
        said: list[str] = []  # what the stream said of a job that did not run
        assert worker.stdout is not None
        with worker.stdout:
            r = ansible_runner.run(
                streamer="process",
                _input=worker.stdout,
                private_data_dir=str(share),
                artifact_dir=str(artifacts),
                event_handler=event,
                status_handler=lambda data, **_: said.append(str(data.get("job_explanation", ""))),
                quiet=True,
            )
        code = worker.wait()
    shutil.rmtree(share, ignore_errors=True)
    status = str(r.status)
    if status in ("successful", "failed"):  # the whole stream came back (exit: Ansible's)
        return _Outcome(status)
    why = [w for w in said if w][-1:]
    tail = " ".join(errors.read_text(encoding="utf-8", errors="replace").split())[-200:]
    how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
    return _Outcome(
        status,
        f"execution node {node.name} stopped mid-run (worker {how}"
        + "".join(f": {w}" for w in [*why, tail] if w)
        + "): not finished; `--resume` runs it again",
    )


def _did_not_run(artifacts: Path, node: ExecNode) -> str | None:
    """Why no host of a share that ran to its end finished: ansible-playbook stopped before
    any host ran (its exit code and last lines), or None when it ran them."""
    rc = (
        (artifacts / "rc").read_text(encoding="utf-8").strip()
        if (artifacts / "rc").is_file()
        else ""
    )
    if rc in ("", "0"):
        return None
    stdout = artifacts / "stdout"
    lines = (
        stdout.read_text(encoding="utf-8", errors="replace").splitlines()
        if stdout.is_file()
        else []
    )
    tail = [ln.strip() for ln in lines if ln.strip()][-3:]
    return f"did not run on execution node {node.name}: ansible-playbook exit {rc}: " + " | ".join(
        tail
    )


def run_shares(
    job: Job,
    shares: list[tuple[ExecNode, list[str]]],
    *,
    kinds: dict[str, str],
    show: Callable[[Progress], None] | None = None,
) -> tuple[dict[str, HostResult], str, Path]:
    """Run every share on its node at once; (per-host results, the run's status, the
    artifacts directory: one directory per node)."""
    hosts = [h for _, share in shares for h in share]
    progress = Progress(playbook=job.playbook.stem, total=len(hosts))
    collector = Collector(hosts, kinds, progress, show)
    lock = threading.Lock()

    def event(ev: dict[str, Any]) -> bool:
        with lock:
            return collector.event(ev)

    outcomes: dict[str, _Outcome] = {}

    def one(node: ExecNode, share: list[str]) -> None:
        try:
            outcomes[node.name] = _on_node(job, node, share, event)
        except Exception as e:  # a share must never take the others' results with it
            outcomes[node.name] = _Outcome("error", f"execution node {node.name}: {e}")

    threads = [threading.Thread(target=one, args=s, daemon=True) for s in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    artifacts = job.private / "artifacts" / job.ident
    stopped: dict[str, str] = {}
    for node, share in shares:
        reason = outcomes[node.name].stopped
        if reason is None and not collector.finished & set(share):
            reason = _did_not_run(artifacts / node.name, node)
        if reason:
            stopped.update({h: reason for h in share})
    statuses = {o.status for o in outcomes.values()}
    status = next((s for s in ("error", "failed") if s in statuses), "successful")
    (artifacts / "mesh.json").write_text(
        json.dumps({n.name: share for n, share in shares}, indent=1), encoding="utf-8"
    )
    return collector.results(stopped=stopped), status, artifacts


def worker_pids(artifacts: Path) -> dict[str, int]:
    """The worker of each node of a run under way (its artifacts directory): node -> pid."""
    out = {}
    for f in artifacts.glob("*/worker.pid"):
        text = f.read_text(encoding="utf-8").strip()
        if text.isdigit():
            out[f.parent.name] = int(text)
    return out
