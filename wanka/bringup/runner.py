"""Run a playbook with ansible-runner (its Python API and event stream) and turn the events
into per-host results: status, changes, and every failed check with its port and reason.

Failures are read from the events, in this order:
  * a task result with `checks` (the wanka_node module): its checks with status `fail`;
  * a message in the form `check=ID port=PORT reason=TEXT` (several joined by `; `), as the
    roles' asserts and the wanka_redfish module write them;
  * anything else: check = the role (or task) name, reason = the message.
An unreachable host fails check `ssh`. A host that never reached the playbooks' last task
(`Wanka: host complete`) without failing did not finish: `skipped` (its batch was not run
because an earlier batch failed, or the run stopped).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

DONE_TASK = "Wanka: host complete"
_CHECK = re.compile(r"check=(\S+)\s+port=(\S+)\s+reason=(.*?)(?=;\s*check=|;?\s*$)", re.S)


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


def parse_failures(msg: str) -> list[dict[str, str]]:
    """`check=ID port=PORT reason=TEXT; check=...` -> [{check, port, reason}]."""
    out = []
    for m in _CHECK.finditer(msg or ""):
        port = m.group(2)
        out.append(
            {
                "check": m.group(1),
                "port": "" if port == "-" else port,
                "reason": " ".join(m.group(3).split()),
            }
        )
    return out


class Collector:
    """Consumes ansible-runner events; keeps per-host results and feeds a progress view."""

    def __init__(
        self,
        hosts: list[str],
        kinds: dict[str, str],
        progress: Progress,
        show: Callable[[Progress], None] | None = None,
    ) -> None:
        self.hosts: dict[str, dict[str, Any]] = {
            h: {
                "status": "skipped",
                "changed": 0,
                "kind": kinds.get(h, "node"),
                "failed": [],
                "checks": [],
            }
            for h in hosts
        }
        self.finished: set[str] = set()
        self.progress = progress
        self.show = show

    def _host(self, name: str) -> dict[str, Any]:
        if name not in self.hosts:
            self.hosts[name] = {
                "status": "skipped",
                "changed": 0,
                "kind": "node",
                "failed": [],
                "checks": [],
            }
        return self.hosts[name]

    def _fail(self, name: str, status: str, failures: list[dict[str, str]]) -> None:
        h = self._host(name)
        if name not in self.finished:
            self.finished.add(name)
            self.progress.failed += 1
        h["status"] = status
        h["failed"].extend(failures)

    def event(self, ev: dict[str, Any]) -> bool:
        kind = ev.get("event", "")
        data = ev.get("event_data") or {}
        host = data.get("host")
        res = data.get("res") or {}
        if kind == "playbook_on_task_start":
            self.progress.task = str(data.get("task", ""))
        elif kind == "runner_on_ok" and host:
            h = self._host(host)
            if res.get("changed"):
                h["changed"] += 1
            if isinstance(res.get("checks"), list):
                h["checks"].extend(_clean_checks(res["checks"]))
            if data.get("task") == DONE_TASK and host not in self.finished:
                self.finished.add(host)
                h["status"] = "ok"
                self.progress.done += 1
        elif kind == "runner_on_failed" and host and not data.get("ignore_errors"):
            h = self._host(host)
            if res.get("changed"):
                h["changed"] += 1
            if isinstance(res.get("checks"), list):
                checks = _clean_checks(res["checks"])
                h["checks"].extend(checks)
                failures = [
                    {"check": c["check"], "port": c["port"], "reason": c["reason"]}
                    for c in checks
                    if c["status"] == "fail"
                ]
            else:
                msg = str(res.get("msg") or res.get("stderr") or res.get("stdout") or "")
                action = str(data.get("task_action", ""))
                failures = parse_failures(msg) or [
                    {
                        "check": "ssh"
                        if action.endswith("wait_for_connection")
                        else str(data.get("role") or data.get("task") or "task"),
                        "port": "",
                        "reason": f"{data.get('task', '')}: {' '.join(msg.split())[:300]}",
                    }
                ]
            self._fail(host, "failed", failures)
        elif kind == "runner_on_unreachable" and host:
            msg = " ".join(str(res.get("msg", "unreachable")).split())[:300]
            self._fail(host, "unreachable", [{"check": "ssh", "port": "", "reason": msg}])
        else:
            return True
        if self.show is not None:
            self.show(self.progress)
        return True

    def results(self, stopped: str | None = None) -> dict[str, dict[str, Any]]:
        for name, h in self.hosts.items():
            if h["status"] == "skipped" and name not in self.finished:
                reason = stopped or "did not finish (an earlier batch failed)"
                h["failed"].append({"check": "not-run", "port": "", "reason": reason})
        return self.hosts


def _clean_checks(checks: list[Any]) -> list[dict[str, str]]:
    out = []
    for c in checks:
        if isinstance(c, dict) and "check" in c:
            item = {
                "check": str(c["check"]),
                "port": str(c.get("port") or ""),
                "status": str(c.get("status", "fail")),
                "reason": str(c.get("reason") or ""),
            }
            for key in ("peer", "target", "neighbour", "value"):
                if c.get(key):
                    item[key] = str(c[key])
            out.append(item)
    return out


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
    hosts: list[str],
    kinds: dict[str, str],
    limit: str | None,
    extravars: dict[str, Any],
    envvars: dict[str, str],
    forks: int,
    ident: str,
    show: Callable[[Progress], None] | None = None,
) -> tuple[dict[str, dict[str, Any]], str, Path]:
    """Run `playbook`; (per-host results, ansible-runner status, artifacts directory)."""
    import ansible_runner

    progress = Progress(playbook=playbook.stem, total=len(hosts))
    collector = Collector(hosts, kinds, progress, show)
    r = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        playbook=str(playbook),
        inventory=str(private_data_dir / "inventory"),
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
