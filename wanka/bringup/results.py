"""The results of a bring-up or verify run, as types: a check, a host, a run.

A `Check` is one outcome of one check on one port (or on the host, port ""): what the
wanka_node module returns in `checks`, what the report lists. A `HostResult` is a host's
status, its changes, its checks and its failures (checks that failed, and failures outside
any check: a task, SSH, the BMC). A `RunResult` is the run: its hosts, its rollout, where its
artifacts and reports are. `to_dict` gives the JSON the report keeps (the names it always
had: `check` for a check's id); `from_dict` reads it back (what --resume reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

CheckStatus = Literal["pass", "fail", "skip"]
HostStatus = Literal["ok", "failed", "unreachable", "skipped"]
CHECK_STATUSES: tuple[CheckStatus, ...] = ("pass", "fail", "skip")
HOST_STATUSES: tuple[HostStatus, ...] = ("ok", "failed", "unreachable", "skipped")
# what a check may add to say more (the ping's peer, the neighbour LLDP saw, ...)
DETAILS = ("peer", "target", "neighbour", "value")
# spod-info's ids of a die, numbers (wanka/checks.py spod)
SPOD = ("sdid", "super_pod_id", "server_index")


@dataclass(frozen=True, kw_only=True)
class Check:
    id: str
    port: str = ""
    status: CheckStatus = "fail"
    reason: str = ""
    peer: str = ""
    target: str = ""
    neighbour: str = ""
    value: str = ""
    sdid: int | None = None
    super_pod_id: int | None = None
    server_index: int | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Check | None:
        """A check as the Ansible modules return it (or the report keeps it); None when
        `data` is no check. A status other than pass or skip is a failure."""
        if not isinstance(data, Mapping) or not data.get("check"):
            return None
        status = str(data.get("status", "fail"))
        return cls(
            id=str(data["check"]),
            port=str(data.get("port") or ""),
            status=cast(CheckStatus, status if status in CHECK_STATUSES else "fail"),
            reason=str(data.get("reason") or ""),
            **_details(data),
        )

    def to_dict(self) -> dict[str, str | int]:
        out: dict[str, str | int] = {"check": self.id, "port": self.port, "status": self.status}
        out["reason"] = self.reason
        out.update({k: getattr(self, k) for k in DETAILS if getattr(self, k)})
        out.update({k: getattr(self, k) for k in SPOD if getattr(self, k) is not None})
        return out

    def failure(self) -> dict[str, str]:
        """As the report lists it under a host's `failed`."""
        return {"check": self.id, "port": self.port, "reason": self.reason}


def _details(data: Mapping[str, Any]) -> dict[str, Any]:
    """A check's details (text) and spod-info's ids (those that are numbers)."""
    out: dict[str, Any] = {k: str(data[k]) for k in DETAILS if data.get(k)}
    out.update({k: data[k] for k in SPOD if isinstance(data.get(k), int)})
    return out


def checks_of(items: Any) -> tuple[Check, ...]:
    """The checks in a module's `checks` list (anything else in it is left out)."""
    if not isinstance(items, list):
        return ()
    return tuple(c for c in (Check.from_dict(i) for i in items) if c is not None)


@dataclass(frozen=True, kw_only=True)
class HostResult:
    status: HostStatus = "skipped"
    changed: int = 0
    kind: str = "node"
    failed: tuple[Check, ...] = ()
    checks: tuple[Check, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HostResult:
        status = str(data.get("status", "failed"))
        return cls(
            status=cast(HostStatus, status if status in HOST_STATUSES else "failed"),
            changed=int(data.get("changed") or 0),
            kind=str(data.get("kind") or "node"),
            failed=checks_of(list(data.get("failed") or [])),
            checks=checks_of(list(data.get("checks") or [])),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "changed": self.changed,
            "kind": self.kind,
            "failed": [f.failure() for f in self.failed],
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """A run: the agreed contract of `wanka.bringup.run.run_playbook`, read by BringupBatch too."""

    playbook: str
    phase: str | None
    hosts: Mapping[str, HostResult]
    cluster: str = ""
    lab: str | None = None
    resumed: bool = False
    batch: str = "100%"
    max_fail_percent: int = 50
    ran: tuple[str, ...] = ()
    runner_status: str = "successful"
    artifacts: str = ""
    duration_s: float = 0.0
    summary: str = ""
    rank_tables: tuple[str, ...] = ()
    report: Mapping[str, str] = field(default_factory=dict)  # json, junit, summary: paths

    @property
    def ok(self) -> bool:
        return all(h.status == "ok" for h in self.hosts.values())

    @property
    def changed(self) -> int:
        return sum(h.changed for h in self.hosts.values())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        """The run `to_dict` wrote (`ok` and `changed` follow from the hosts; a host's
        failures keep what the report lists of them: check, port, reason)."""
        rollout = data.get("rollout") or {}
        return cls(
            playbook=str(data["playbook"]),
            phase=data.get("phase"),
            hosts={str(n): HostResult.from_dict(h) for n, h in (data.get("hosts") or {}).items()},
            cluster=str(data.get("cluster") or ""),
            lab=data.get("lab"),
            resumed=bool(data.get("resumed")),
            batch=str(rollout.get("batch", "100%")),
            max_fail_percent=int(rollout.get("max_fail_percent", 50)),
            ran=tuple(data.get("ran") or ()),
            runner_status=str(data.get("runner_status") or ""),
            artifacts=str(data.get("artifacts") or ""),
            duration_s=float(data.get("duration_s") or 0.0),
            summary=str(data.get("summary") or ""),
            rank_tables=tuple(data.get("rank_tables") or ()),
            report=dict(data.get("report") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON of the report (and, once written, where the report is)."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "changed": self.changed,
            "playbook": self.playbook,
            "phase": self.phase,
            "cluster": self.cluster,
            "lab": self.lab,
            "resumed": self.resumed,
            "rollout": {"batch": self.batch, "max_fail_percent": self.max_fail_percent},
            "ran": list(self.ran),
            "runner_status": self.runner_status,
            "hosts": {name: h.to_dict() for name, h in self.hosts.items()},
            "artifacts": self.artifacts,
            "duration_s": self.duration_s,
            "summary": self.summary,
            "rank_tables": list(self.rank_tables),
        }
        if self.report:
            out["report"] = dict(self.report)
        return out
