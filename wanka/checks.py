"""The checks of bring-up and verify: their ids, what each runs on, and the one way a result is
built.

One definition for both sides of the wall between Python and Ansible: wanka's Python (the
runner, the run's re-attribution of pings, the rank tables' hardware ids) names checks by the
constants here, and the Ansible modules get this file as `ansible.module_utils.wanka_checks`
(playbooks/module_utils/wanka_checks.py is a link to it), build every result with its
constructors and refuse a check the registry does not have. tests/test_checks.py fails when a
role, a playbook or a module names an unknown check. Like versions.py it is standard library
only and runs on the hosts' Python (3.7 or later; the annotations are never evaluated).

A result is `{check, port, status, reason}` (port "" for the host itself; status pass, fail
or skip) with optional details: the ping's `peer` and `target`, the `neighbour` LLDP saw, a
`value`; spod-info adds the die's `sdid`, `super_pod_id` and `server_index` as numbers.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# where a check runs: wanka_node on a server or a switch, wanka_redfish against the BMC,
# wanka_switch pushing the fabric, a role that found the failure itself (wanka_node
# action=fail), or the runner (a host it could not reach or that did not finish)
SCOPES = ("node", "switch", "bmc", "fabric", "role", "run")
STATUSES = ("pass", "fail", "skip")

OS = "os"
ARCH = "arch"
CPU = "cpu"
MEMORY = "memory"
NPU_COUNT = "npu-count"
NPU_MODEL = "npu-model"
NPU_HEALTH = "npu-health"
FIRMWARE = "firmware"
SPOD_INFO = "spod-info"
NVME = "nvme"
LINK = "link"
SPEED = "speed"
LLDP = "lldp"
ADDRESS = "address"
GATEWAY = "gateway"
NETDETECT = "netdetect"
PFC = "pfc"
GATEWAY_PING = "gateway-ping"
ROCE_PING = "roce-ping"
BGP = "bgp"
SWITCH_PORTS = "switch-ports"
SWITCH_QOS = "switch-qos"
QOS = "qos"
BMC = "bmc"
POWER = "power"
IDENTITY = "identity"
FABRIC = "fabric"
OS_REPOSITORIES = "os-repositories"
NPU_DRIVER = "npu-driver"
SSH = "ssh"
NOT_RUN = "not-run"

# The last task of every playbook (playbooks/*.yml post_tasks): a host that reached it
# finished; the runner counts it done (tests/test_checks.py reads the playbooks for it).
DONE_TASK = "Wanka: host complete"


class Definition(NamedTuple):
    """A check: its id, the scopes it runs in, what it compares, whether a role may ask for it
    by name (wanka_node `checks:`) and the ids its results carry (its own unless said)."""

    id: str
    scopes: tuple[str, ...]
    what: str
    asked: bool = True
    results: tuple[str, ...] = ()


def _defs(*defs: Definition) -> dict[str, Definition]:
    return {d.id: d for d in defs}


N, S, NS = ("node",), ("switch",), ("node", "switch")
REGISTRY = _defs(
    Definition(OS, N, "/etc/os-release against the OS of the server's type"),
    Definition(ARCH, N, "uname -m against the CPU's architecture"),
    Definition(CPU, N, "lscpu's model name and sockets"),
    Definition(MEMORY, N, "/proc/meminfo: at least 90% of the model's memory"),
    Definition(NPU_COUNT, N, "npu-smi info -l: the model's NPU cards"),
    Definition(NPU_MODEL, N, "npu-smi board: each card's PCI device id"),
    Definition(NPU_HEALTH, N + ("role",), "npu-smi health of every die"),
    Definition(FIRMWARE, N, "each card's firmware against the model's and the driver's range"),
    Definition(SPOD_INFO, N, "A3: each die's SDID, Super Pod ID and Server Index"),
    Definition(NVME, N, "nvme list: the model's drives, large enough"),
    Definition(LINK, NS, "an NPU port's link (a switch's cabled port: oper and admin up)"),
    Definition(SPEED, NS, "a port's speed against the model's"),
    Definition(LLDP, N, "an NPU port's LLDP neighbour against the cabling plan"),
    Definition(ADDRESS, N, "an NPU port's RoCE address and netmask"),
    Definition(GATEWAY, N, "an NPU port's gateway"),
    Definition(NETDETECT, N, "an NPU port's netdetect address"),
    Definition(PFC, N, "an NPU port's PFC priorities (its plane's QoS)"),
    Definition(GATEWAY_PING, N, "an NPU port reaches its gateway"),
    Definition(ROCE_PING, N, "an NPU port reaches another server's NPU on another rail"),
    Definition(BGP, S, "every BGP session of the model is Established"),
    Definition(SWITCH_PORTS, S, "every cabled port up at its speed", results=(LINK, SPEED)),
    Definition(SWITCH_QOS, S, "the lossless class on a RoCE plane's ports", results=(QOS,)),
    Definition(QOS, S, "one port's lossless class (a result of switch-qos)", asked=False),
    Definition(BMC, ("bmc",), "the BMC answers (and the power is as wanted)", asked=False),
    Definition(POWER, ("bmc",), "the server reached the power state asked", asked=False),
    Definition(IDENTITY, ("bmc",), "the BMC's serial and MACs are the manifest's", asked=False),
    Definition(FABRIC, ("fabric",), "the switch took its rendered configuration", asked=False),
    Definition(OS_REPOSITORIES, ("role",), "the mirror has the OS's repository", asked=False),
    Definition(NPU_DRIVER, ("role",), "driver, firmware and CANN installed", asked=False),
    Definition(SSH, ("run",), "the host answers over SSH", asked=False),
    Definition(NOT_RUN, ("run",), "the host finished the playbook", asked=False),
)
del N, S, NS


class UnknownCheck(ValueError):
    """A check id the registry does not have; the message names it and the known ones."""


def _unknown(check: object, known: list[str]) -> UnknownCheck:
    return UnknownCheck(f"unknown check {check!r} (known: {', '.join(known)})")


def result_ids() -> list[str]:
    """Every id a result may carry."""
    out = set(REGISTRY)
    for d in REGISTRY.values():
        out.update(d.results)
    return sorted(out)


def known(check: object) -> str:
    """`check` when a result may carry it, else UnknownCheck."""
    if check not in REGISTRY and check not in result_ids():
        raise _unknown(check, result_ids())
    return str(check)


def asked(checks: Any, scopes: tuple[str, ...] = ("node", "switch")) -> set[str]:
    """The set of checks a role asked for (wanka_node `checks:`); UnknownCheck for a name
    that is not a check a role may ask for in these scopes."""
    names = sorted(c for c, d in REGISTRY.items() if d.asked and set(d.scopes) & set(scopes))
    for check in checks:
        if check not in names:
            raise _unknown(check, names)
    return set(checks)


def result(check: str, port: str, ok: bool, reason: str = "", **extra: Any) -> dict[str, Any]:
    """A passed (ok) or failed result, with details (peer, target, neighbour, value...)."""
    out = {"check": known(check), "port": port, "status": "pass" if ok else "fail"}
    out["reason"] = reason
    out.update(extra)
    return out


def failed(check: str, port: str, reason: str, **extra: Any) -> dict[str, Any]:
    return result(check, port, False, reason, **extra)


def skipped(check: str, port: str, reason: str) -> dict[str, Any]:
    return {"check": known(check), "port": port, "status": "skip", "reason": reason}


def spod(port: str, sdid: int, super_pod_id: int, server_index: int) -> dict[str, Any]:
    """A die's passed spod-info: its ids as numbers (what the rank tables read) and, for
    people, `value` SDID:Super Pod ID:Server Index."""
    value = f"{sdid:d}:{super_pod_id:d}:{server_index:d}"
    return result(
        SPOD_INFO, port, True, "", value=value, sdid=sdid, super_pod_id=super_pod_id,
        server_index=server_index,
    )  # fmt: skip


def summary(checks: list[dict[str, Any]]) -> str:
    """`N failed: check port: reason; ...`, the message of a task that failed checks."""
    bad = [c for c in checks if c.get("status") == "fail"]
    said = "; ".join(
        f"{c['check']}{' ' + c['port'] if c.get('port') else ''}: {c.get('reason', '')}"
        for c in bad
    )
    return f"{len(bad)} failed: {said}"
