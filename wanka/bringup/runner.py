"""Run a playbook with ansible-runner (its Python API and event stream) and turn the events
into per-host results (`HostResult`): status, changes, and every failed check with its port
and reason.

Failures are read from the events' task results (event_data res), in this order:
  * a result with `checks` (the wanka_node and wanka_redfish modules, on success and on
    failure alike): its checks, and those with status `fail` as the host's failures;
  * anything else: check = the role (or task) name, reason = the task and its message (a
    command's own error lines when it exited non-zero).
An unreachable host fails check `ssh`. A host that never reached the playbooks' last task
(`Wanka: host complete`) without failing did not finish: `skipped` (its batch was not run
because an earlier batch failed, or the run stopped).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from wanka.bringup.results import Check, HostResult, HostStatus, checks_of
from wanka.checks import DONE_TASK, NOT_RUN, SSH


@dataclass
class Progress:
    """What the progress view shows."""

    playbook: str
    total: int
    done: int = 0
    failed: int = 0
    task: str = ""
    started: float = field(default_factory=time.monotonic)

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done - self.failed)

    def line(self) -> str:
        took = time.monotonic() - self.started
        text = (
            f"{self.playbook}: {self.done} done, {self.failed} failed, "
            f"{self.remaining} remaining of {self.total} hosts ({took:.0f} s)"
        )
        return text + (f" - {self.task}" if self.task and self.remaining else "")


@dataclass
class _Host:
    """A host's result while the events come in (frozen into a HostResult at the end)."""

    kind: str = "node"
    status: HostStatus = "skipped"
    changed: int = 0
    failed: list[Check] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def freeze(self) -> HostResult:
        return HostResult(
            status=self.status,
            changed=self.changed,
            kind=self.kind,
            failed=tuple(self.failed),
            checks=tuple(self.checks),
        )


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _command_output(res: Mapping[str, Any]) -> str:
    """What a failed command said: its `[ERROR]` lines (as Huawei's installers print them,
    colour codes dropped), else the last line of its stderr or stdout."""
    lines = [
        ANSI.sub("", line).strip()
        for key in ("stderr", "stdout")
        for line in str(res.get(key) or "").splitlines()
    ]
    lines = [line for line in lines if line]
    errors = [line for line in lines if "[ERROR]" in line or "ERROR:" in line]
    return " ".join(errors or lines[-1:])


def _task_failures(data: dict[str, Any], res: dict[str, Any]) -> list[Check]:
    """The failure of a task that returned no checks: named after its role (or task); a
    failed wait for the connection is check `ssh`; a command that exited non-zero is
    told by what it printed (an installer's refusal), not by Ansible's generic message."""
    msg = str(res.get("msg") or res.get("stderr") or res.get("stdout") or "")
    if "rc" in res and msg == "non-zero return code" and _command_output(res):
        msg = f"exit {res['rc']}: {_command_output(res)}"
    action = str(data.get("task_action", ""))
    check = (
        SSH
        if action.endswith("wait_for_connection")
        else str(data.get("role") or data.get("task") or "task")
    )
    return [Check(id=check, reason=f"{data.get('task', '')}: {' '.join(msg.split())[:300]}")]


class Collector:
    """Consumes ansible-runner events; keeps per-host results and feeds a progress view."""

    def __init__(
        self,
        hosts: list[str],
        kinds: dict[str, str],
        progress: Progress,
        show: Callable[[Progress], None] | None = None,
    ) -> None:
        self.hosts: dict[str, _Host] = {h: _Host(kind=kinds.get(h, "node")) for h in hosts}
        self.finished: set[str] = set()
        self.progress = progress
        self.show = show

    def _host(self, name: str) -> _Host:
        return self.hosts.setdefault(name, _Host())

    def _fail(self, name: str, status: HostStatus, failures: list[Check]) -> None:
        h = self._host(name)
        if name not in self.finished:
            self.finished.add(name)
            self.progress.failed += 1
        h.status = status
        h.failed.extend(failures)

    def event(self, ev: dict[str, Any]) -> bool:
        kind = ev.get("event", "")
        data = ev.get("event_data") or {}
        host = data.get("host")
        res = data.get("res") or {}
        if kind == "playbook_on_task_start":
            self.progress.task = str(data.get("task", ""))
        elif kind == "runner_on_ok" and host:
            h = self._host(host)
            h.changed += 1 if res.get("changed") else 0
            h.checks.extend(checks_of(res.get("checks")))
            if data.get("task") == DONE_TASK and host not in self.finished:
                self.finished.add(host)
                h.status = "ok"
                self.progress.done += 1
        elif kind == "runner_on_failed" and host and not data.get("ignore_errors"):
            h = self._host(host)
            h.changed += 1 if res.get("changed") else 0
            if isinstance(res.get("checks"), list):
                checks = checks_of(res["checks"])
                h.checks.extend(checks)
                failures = [c for c in checks if c.status == "fail"]
            else:
                failures = _task_failures(data, res)
            self._fail(host, "failed", failures)
        elif kind == "runner_on_unreachable" and host:
            msg = " ".join(str(res.get("msg", "unreachable")).split())[:300]
            self._fail(host, "unreachable", [Check(id=SSH, reason=msg)])
        else:
            return True
        if self.show is not None:
            self.show(self.progress)
        return True

    def results(self, stopped: str | Mapping[str, str] | None = None) -> dict[str, HostResult]:
        """Every host's result; a host that did not finish fails check `not-run` for the
        reason `stopped` gives (one for all, or per host)."""
        for name, h in self.hosts.items():
            if h.status == "skipped" and name not in self.finished:
                why = stopped.get(name) if isinstance(stopped, Mapping) else stopped
                reason = why or "did not finish (an earlier batch failed)"
                h.failed.append(Check(id=NOT_RUN, reason=reason))
        return {name: h.freeze() for name, h in self.hosts.items()}


class ProgressView:
    """A live line on a terminal (rich), or one line per change elsewhere (CI logs)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._live: Any = None
        self._last = ""

    def __enter__(self) -> ProgressView:
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                "", console=Console(file=self.stream), refresh_per_second=4, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def __call__(self, p: Progress) -> None:
        if self._live is not None:
            self._live.update(p.line())
            return
        key = f"{p.done}/{p.failed}"
        if key != self._last:
            self._last = key
            print(f"wanka {p.line()}", file=self.stream, flush=True)


def run(
    private_data_dir: Path,
    playbook: Path,
    *,
    inventory: Path,
    hosts: list[str],
    kinds: dict[str, str],
    limit: str | None,
    extravars: dict[str, Any],
    envvars: dict[str, str],
    forks: int,
    ident: str,
    show: Callable[[Progress], None] | None = None,
) -> tuple[dict[str, HostResult], str, Path]:
    """Run `playbook`; (per-host results, ansible-runner status, artifacts directory)."""
    import ansible_runner

    progress = Progress(playbook=playbook.stem, total=len(hosts))
    collector = Collector(hosts, kinds, progress, show)
    r = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        playbook=str(playbook),
        inventory=str(inventory),
        limit=limit,
        extravars=extravars,
        envvars=envvars,
        forks=forks,
        ident=ident,
        quiet=True,
        event_handler=collector.event,
        suppress_env_files=True,
    )
    stopped = None
    if r.status not in ("successful", "failed"):
        stopped = f"did not finish: ansible-runner status {r.status}"
    elif not collector.finished and r.rc != 0:  # ansible stopped before any host ran
        tail = [ln.strip() for ln in (r.stdout.read() if r.stdout else "").splitlines()]
        tail = [ln for ln in tail if ln][-3:]
        stopped = f"did not run: ansible-playbook exit {r.rc}: " + " | ".join(tail)
    return collector.results(stopped), str(r.status), private_data_dir / "artifacts" / ident
