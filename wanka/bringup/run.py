"""Bring-up and verification runs: render, write the run's inventory, run a playbook through
ansible-runner, report.

    run(cluster_file, phase=P, out_dir=DIR, playbook="bringup" | "fabric" | "verify",
        limit=None, lab=None, resume=False, ...) -> result

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

The result (the agreed contract, read by the Pulumi BringupBatch provider too):

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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wanka import jsonfmt
from wanka.bringup import expect, runner
from wanka.bringup import report as verifyreport
from wanka.datafiles import data_path
from wanka.derive.bundle import Derived
from wanka.model.types import Cluster, Phase
from wanka.render import files as render
from wanka.render import ranktable

PLAYBOOKS = {"bringup": "bringup.yml", "fabric": "fabric.yml", "verify": "verify.yml"}
HOSTS = {
    "bringup": "servers:!excluded",
    "fabric": "switches",
    "verify": "servers:switches:!excluded",
}
DEFAULT_SERIAL = "100%"
DEFAULT_MAX_FAIL = 50


class BringupError(Exception):
    """Bad input or a run that could not start: one line for the user."""


def _load(cluster_file: str) -> Derived:
    from wanka.pipeline import derive
    from wanka.rules import output as report
    from wanka.rules.check import check

    result = check(cluster_file)
    if result.errors:
        lines = [report.line(f) for f in result.findings if f.severity == "error"][:20]
        raise BringupError("the cluster file is invalid:\n" + "\n".join(lines))
    d = derive(result)
    if d.findings:
        raise BringupError(
            "the cluster file is invalid:\n" + "\n".join(report.line(f) for f in d.findings[:20])
        )
    return d


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render.dump_yaml(data), encoding="utf-8")


def lab_access(lab: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(lab) / "access.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BringupError(
            f"{path}: no such file (is the lab up? `wanka lab up FILE --dir {lab}`)"
        ) from None
    except (OSError, ValueError) as e:
        raise BringupError(f"{path}: cannot read the lab's access file: {e}") from None
    for key in ("ssh", "bmc", "nodes"):
        if key not in data:
            raise BringupError(f"{path}: no '{key}' in the lab's access file")
    return data


def lab_overlay(access: dict[str, Any], names: set[str]) -> dict[str, dict[str, Any]]:
    """Host vars that point the production inventory at the lab."""
    ssh = access["ssh"]
    out: dict[str, dict[str, Any]] = {}
    for name, node in (access.get("nodes") or {}).items():
        if name not in names:
            continue
        out[name] = {
            "ansible_host": node["address"],
            "ansible_user": ssh.get("user", "root"),
            "ansible_ssh_private_key_file": ssh["private_key"],
            # the servers' system Python (interpreter discovery would find the lab host's
            # user-level shims, which the server's overlaid /root also shows)
            "ansible_python_interpreter": access.get("python", "/usr/bin/python3"),
            # the servers' /root is an overlay on this machine's live /root, where the
            # controller keeps its own temporary files: work in the server's private /tmp
            "ansible_remote_tmp": "/tmp/.ansible-wanka",
            "wanka_bmc_url": access["bmc"]["url"],
            "wanka_bmc_system": node.get("system") or name,
            "wanka_bmc_auth": False,
            # lab servers run no service manager or boot loader and share the host's kernel
            "os_baseline_hostname_use": "alpine",  # /etc/hostname + `hostname -F`
            "os_baseline_manage_services": False,
            "os_baseline_sysctl_apply": False,
            "os_baseline_bootloader_update": False,
        }
    for name, sw in (access.get("switches") or {}).items():
        if name not in names:
            continue
        entry: dict[str, Any] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "wanka_switch_command_prefix": ["ip", "netns", "exec", sw["namespace"]],
        }
        if sw.get("vty"):
            entry["wanka_frr_vty_socket"] = sw["vty"]
            entry["wanka_frr_conf"] = str(Path(sw["vty"]) / "frr.conf")
        out[name] = entry
    return out


def _ssh_group_vars(d: Derived) -> dict[str, Any]:
    cred = d.cluster.credentials.get("ssh")
    if cred is None:
        return {}
    out: dict[str, Any] = {"ansible_user": cred.username}
    if cred.private_key is not None and cred.private_key.source == "file":
        out["ansible_ssh_private_key_file"] = cred.private_key.name  # a path, not a secret
    return out


def _scope(inventory: Path, pattern: str, limit: str | None) -> list[str]:
    """The hosts a playbook's pattern and --limit select, with Ansible's own matching."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    im = InventoryManager(loader=DataLoader(), sources=[str(inventory / "hosts.yml")])
    if limit:
        im.subset(limit)
    # leave out groups this inventory does not have (no `excluded` nodes): no warning
    parts = [p for p in pattern.split(":") if p.lstrip("!&") in im.groups]
    return sorted(h.name for h in im.get_hosts(":".join(parts))) if parts else []


def _secret_values(d: Derived) -> list[str]:
    """The values the cluster file's credential references point at, where readable here:
    scrubbed from the artifacts whatever happens."""
    out = []
    for cred in d.cluster.credentials.values():
        for ref in (cred.password, cred.private_key):
            if ref is None:
                continue
            value = None
            if ref.source == "env":
                value = os.environ.get(ref.name)
            elif ref.source == "file" and ref is cred.password:
                try:
                    value = Path(ref.name).expanduser().read_text(encoding="utf-8").strip()
                except OSError:
                    value = None
            if value and len(value) >= 4:
                out.append(value)
    return out


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


def _reattribute_pings(hosts: dict[str, dict[str, Any]]) -> None:
    """A RoCE ping fails when either end is broken. When the far end's port failed a check of
    its own (link, LLDP, address, health) or its host did not pass, the ping is not the
    sender's fault: mark it skipped, naming the peer, so the report names only the cause."""
    broken: dict[str, set[str]] = {}
    for name, h in hosts.items():
        ports = {
            c["port"] for c in h["checks"] if c["status"] == "fail" and c["check"] != "roce-ping"
        }
        own = [f for f in h["failed"] if f["check"] != "roce-ping"]
        if h["status"] in ("unreachable", "skipped") or any(not f["port"] for f in own):
            ports.add("*")
        broken[name] = ports
    for h in hosts.values():
        changed = False
        for c in h["checks"]:
            if c["check"] != "roce-ping" or c["status"] != "fail" or not c.get("peer"):
                continue
            peer, _, port = c["peer"].partition(":")
            bad = broken.get(peer, set())
            if port in bad or "*" in bad:
                c["status"] = "skip"
                c["reason"] = f"peer {c['peer']} failed its own checks"
                changed = True
        if changed:
            skipped = {(c["check"], c["port"]) for c in h["checks"] if c["status"] == "skip"}
            h["failed"] = [f for f in h["failed"] if (f["check"], f["port"]) not in skipped]
            if h["status"] == "failed" and not h["failed"]:
                h["status"] = "ok"


def _write_rank_tables(d: Derived, out: Path, phase: str | None, passed: set[str]) -> list[str]:
    tables = ranktable.rank_tables(d, only=passed)
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


def rollout(
    c: Cluster, phase: str | None, serial: str | None, max_fail_percentage: int | None
) -> tuple[str, int]:
    """Ansible's serial and max_fail_percentage for a run: the command line's when given,
    else the phase's `rollout` (a run of every phase needs them to agree), else the defaults."""
    phases = [p for p in c.phases if phase is None or p.name == phase]
    batch = serial if serial is not None else _agreed(phases, "batch", "--batch")
    max_fail = (
        max_fail_percentage
        if max_fail_percentage is not None
        else _agreed(phases, "max_fail_percent", "--max-fail-percent")
    )
    return batch or DEFAULT_SERIAL, DEFAULT_MAX_FAIL if max_fail is None else int(max_fail)


def _agreed(phases: list[Phase], field: str, flag: str) -> Any:
    """The rollout `field` the phases share (None: the default), or why they do not."""
    said = {p.name: getattr(p.rollout, field) if p.rollout else None for p in phases}
    if len(set(said.values())) > 1:
        named = ", ".join(f"{n}: {v if v is not None else 'default'}" for n, v in said.items())
        raise BringupError(
            f"the phases' rollout {field} differ ({named}): run one phase (--phase) or give {flag}"
        )
    return next(iter(said.values()), None)


def run(
    cluster_file: str,
    *,
    phase: str | None,
    out_dir: str | os.PathLike[str],
    playbook: str = "bringup",
    limit: str | None = None,
    lab: str | os.PathLike[str] | None = None,
    progress: Callable[[runner.Progress], None] | None = None,
    resume: bool = False,
    serial: str | None = None,
    max_fail_percentage: int | None = None,
    forks: int | None = None,
    extra_vars: dict[str, Any] | None = None,
    derived: Derived | None = None,
) -> dict[str, Any]:
    """Render, run `playbook` on the phase's hosts through ansible-runner, report."""
    if playbook not in PLAYBOOKS:
        raise BringupError(f"unknown playbook '{playbook}' (one of {', '.join(PLAYBOOKS)})")
    started = time.monotonic()
    d = derived if derived is not None else _load(cluster_file)
    c = d.cluster
    if phase is not None and c.phase(phase) is None:
        names = ", ".join(p.name for p in c.phases)
        raise BringupError(f"unknown phase '{phase}' (phases: {names})")
    if playbook == "bringup":  # the phase's rollout is about its servers
        batch, max_fail = rollout(c, phase, serial, max_fail_percentage)
    else:
        batch = serial or DEFAULT_SERIAL
        max_fail = DEFAULT_MAX_FAIL if max_fail_percentage is None else max_fail_percentage
    out = Path(out_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    access = lab_access(lab) if lab is not None else None

    render.write(d, out / "render", phase)
    nodes = [n for n in c.nodes if phase is None or n.pod.phase.name == phase]
    switches = [s for s in c.switches if phase is None or s.pod.phase.name == phase]
    expectations = expect.expectations(d, nodes, switches, phase)

    private = out / "runner"
    inv = private / "inventory"
    if inv.exists():
        shutil.rmtree(inv)
    inv.mkdir(parents=True)
    shutil.copyfile(out / "render" / "ansible" / "inventory.yml", inv / "hosts.yml")
    shutil.copytree(out / "render" / "ansible" / "group_vars", inv / "group_vars")
    _dump(inv / "group_vars" / "all" / "ssh.yml", _ssh_group_vars(d))
    for name, exp in expectations.items():
        _dump(inv / "host_vars" / name / "expect.yml", {"wanka_expect": exp})
    if access is not None:
        for name, hv in lab_overlay(access, set(expectations)).items():
            _dump(inv / "host_vars" / name / "lab.yml", hv)

    state_path = out / "state.json"
    state: dict[str, dict[str, str]] = {}
    if state_path.is_file():
        state = json.loads(state_path.read_text(encoding="utf-8"))
    previous = state.get(playbook, {})
    report_json = out / f"{playbook}-report.json"
    earlier: dict[str, Any] = {}
    if resume and report_json.is_file():
        earlier = json.loads(report_json.read_text(encoding="utf-8")).get("hosts", {})

    try:
        scope = _scope(inv, HOSTS[playbook], limit)
    except Exception as e:  # Ansible's own message for a bad pattern
        raise BringupError(f"--limit {limit!r}: {e}") from None
    if not scope:
        raise BringupError(
            f"no hosts to {playbook}"
            + (f" in phase {phase}" if phase else "")
            + (f" matching --limit {limit!r}" if limit else "")
        )
    run_hosts = [h for h in scope if previous.get(h) != "ok"] if resume else scope
    kinds = {name: exp["kind"] for name, exp in expectations.items()}

    ident = time.strftime("%Y%m%dT%H%M%S") + f"-{playbook}"
    artifacts = private / "artifacts" / ident
    results: dict[str, dict[str, Any]] = {}
    status = "successful"
    if run_hosts:
        pb_dir = data_path("playbooks")
        extravars: dict[str, Any] = {
            "wanka_render_dir": str(out / "render"),
            "wanka_serial": batch,
            "wanka_max_fail_percentage": max_fail,
        }
        if access is not None and access.get("packages"):
            extravars["wanka_packages_dir"] = access["packages"]
        extravars.update(extra_vars or {})
        path = os.environ.get("PATH", "/usr/bin:/bin")
        envvars = {
            "PATH": f"{Path(sys.executable).parent}:{path}",
            "ANSIBLE_ROLES_PATH": str(data_path("roles")),
            "ANSIBLE_LIBRARY": str(pb_dir / "library"),
            "ANSIBLE_MODULE_UTILS": str(pb_dir / "module_utils"),
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
            kh = access["ssh"].get("known_hosts")
            if kh:
                ssh_args += f" -o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes"
            proxy = access["ssh"].get("proxy_command")
            if proxy:  # the lab's servers are reached through its jump host (a namespace)
                ssh_args += f' -o "ProxyCommand={proxy}"'

        envvars["ANSIBLE_SSH_ARGS"] = ssh_args
        limit_arg = ",".join(run_hosts) if resume or limit else None
        results, status, artifacts = runner.run(
            private,
            pb_dir / PLAYBOOKS[playbook],
            hosts=run_hosts,
            kinds=kinds,
            limit=limit_arg,
            extravars=extravars,
            envvars=envvars,
            forks=forks or _forks(len(run_hosts), lab=access is not None),
            ident=ident,
            show=progress,
        )
        _scrub(artifacts, _secret_values(d))
    hosts: dict[str, dict[str, Any]] = {}
    for name in scope:
        if name in results:
            hosts[name] = results[name]
        elif name in earlier:  # --resume: kept from the earlier run
            hosts[name] = earlier[name]
            hosts[name]["changed"] = 0
        else:
            hosts[name] = {
                "status": "ok",
                "changed": 0,
                "kind": kinds.get(name, "node"),
                "failed": [],
                "checks": [],
            }
    if playbook == "verify":
        _reattribute_pings(hosts)

    result: dict[str, Any] = {
        "ok": all(h["status"] == "ok" for h in hosts.values()),
        "changed": sum(int(h["changed"]) for h in hosts.values()),
        "playbook": playbook,
        "phase": phase,
        "cluster": c.name,
        "lab": str(lab) if lab is not None else None,
        "resumed": resume,
        "rollout": {"batch": batch, "max_fail_percent": max_fail},
        "ran": run_hosts,
        "runner_status": status,
        "hosts": hosts,
        "artifacts": str(artifacts),
        "duration_s": round(time.monotonic() - started, 1),
    }
    result["summary"] = verifyreport.summary(result)
    state[playbook] = {**previous, **{n: h["status"] for n, h in hosts.items()}}
    result["rank_tables"] = []
    if playbook == "verify":  # only nodes whose last verification passed train
        passed = {n.name for n in nodes if state[playbook].get(n.name) == "ok"}
        result["rank_tables"] = _write_rank_tables(d, out, phase, passed)
    state_path.write_text(jsonfmt.dumps(state), encoding="utf-8")
    paths = verifyreport.write(result, out, prefix=playbook)
    result["report"] = {k: str(v) for k, v in paths.items()}
    return result
