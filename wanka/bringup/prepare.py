"""Preparing a run: the rendered phase, the run's inventory (the rendered one plus an overlay
of expectations and, with a lab, the lab's addresses), and what the runs need to know of the
model, so that a run reads no cluster file again.

    prepare(d, opts, render_dir, inventory_dir) -> Prepared     (`wanka bringup`: in DIR)
    shared(opts, root) -> Prepared                              (BringupBatch: cached)

`shared` prepares once per key and hands every later caller the same directory: the key is
the cluster file's content, the phase, the playbook, the rollout options, the lab (its
directory and access.json) and wanka's version; the files the cluster includes are recorded
with their digests and checked on every use. The Pulumi engine may create many batches at
once, in threads or in processes: one of them prepares under a lock file, in a temporary
directory renamed into place when complete, and the others wait for it and use it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import wanka
from wanka import credentials
from wanka.bringup import expect
from wanka.bringup.options import BringupError, Options
from wanka.derive.bundle import Derived
from wanka.lab.access import FILE as ACCESS_FILE
from wanka.lab.access import Access, AccessError, Ssh, Switch
from wanka.lab.access import read as read_access
from wanka.model.types import Cluster, Phase
from wanka.render import files as render

DEFAULT_SERIAL = "100%"
DEFAULT_MAX_FAIL = 50
MANIFEST = "prepared.json"


def open_derived(cluster_file: str, phase: str | None) -> Derived:
    """The pipeline's one way in (`open_cluster`), its refusals as a BringupError."""
    from wanka.pipeline import NotValid, UnknownPhase, open_cluster

    try:
        return open_cluster(cluster_file, phase=phase)
    except NotValid as e:
        raise BringupError(
            "the cluster file is invalid:\n" + "\n".join(e.lines(limit=20))
        ) from None
    except UnknownPhase as e:
        raise BringupError(str(e)) from None


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """A prepared run: where its rendered phase and inventory are, and what of the model the
    runs use (host kinds, the phase's nodes, the rollout, the credential references)."""

    render: Path
    inventory: Path
    cluster: str
    phase: str | None
    playbook: str
    batch: str
    max_fail_percent: int
    kinds: Mapping[str, str]
    nodes: tuple[str, ...]  # the phase's nodes (the rank tables list those that passed)
    # (source, name, is a password) of each credential reference: names, never values
    references: tuple[tuple[str, str, bool], ...] = ()
    files: Mapping[str, str] | None = None  # cluster file and includes: their digests

    def save(self, directory: Path) -> None:
        data = {
            "cluster": self.cluster,
            "phase": self.phase,
            "playbook": self.playbook,
            "batch": self.batch,
            "max_fail_percent": self.max_fail_percent,
            "kinds": dict(self.kinds),
            "nodes": list(self.nodes),
            "references": [list(r) for r in self.references],
            "files": dict(self.files or {}),
            "render": os.path.relpath(self.render, directory),
            "inventory": os.path.relpath(self.inventory, directory),
        }
        (directory / MANIFEST).write_text(json.dumps(data, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> Prepared:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        return cls(
            render=directory / data["render"],
            inventory=directory / data["inventory"],
            cluster=data["cluster"],
            phase=data["phase"],
            playbook=data["playbook"],
            batch=data["batch"],
            max_fail_percent=int(data["max_fail_percent"]),
            kinds=data["kinds"],
            nodes=tuple(data["nodes"]),
            references=tuple((s, n, bool(p)) for s, n, p in data["references"]),
            files=data["files"],
        )

    def secret_values(self) -> list[str]:
        """The values the credential references point at, where readable here: scrubbed
        from the artifacts whatever happens."""
        out = []
        for source, name, password in self.references:
            if source == "file" and not password:
                continue  # a private key's file: ssh reads it, and it is no value in the logs
            value = credentials.lookup({source: name})
            if value and len(value) >= 4:
                out.append(value)
        return out


def _references(d: Derived) -> tuple[tuple[str, str, bool], ...]:
    out = []
    for cred in d.cluster.credentials.values():
        for ref in (cred.password, cred.private_key):
            if ref is not None:
                out.append((ref.source, ref.name, ref is cred.password))
    return tuple(out)


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render.dump_yaml(data), encoding="utf-8")


def prepare(
    d: Derived, opts: Options, render_dir: Path, inventory: Path, access: Access | None = None
) -> Prepared:
    """Render the phase into `render_dir` and write the run's inventory into `inventory`.
    The rollout and the lab are checked first: when refused, nothing is written. `access`:
    the lab's (`opts.lab`), when the caller has read it already."""
    c, phase = d.cluster, opts.phase
    batch, max_fail = run_rollout(c, opts)
    if access is None and opts.lab is not None:
        access = lab_access(opts.lab)
    render.write(d, render_dir, phase)
    nodes = [n for n in c.nodes if phase is None or n.pod.phase.name == phase]
    switches = [s for s in c.switches if phase is None or s.pod.phase.name == phase]
    expectations = expect.expectations(d, nodes, switches, phase)

    if inventory.exists():
        shutil.rmtree(inventory)
    inventory.mkdir(parents=True)
    shutil.copyfile(render_dir / "ansible" / "inventory.yml", inventory / "hosts.yml")
    shutil.copytree(render_dir / "ansible" / "group_vars", inventory / "group_vars")
    _dump(inventory / "group_vars" / "all" / "ssh.yml", _ssh_group_vars(d))
    for name, exp in expectations.items():
        _dump(inventory / "host_vars" / name / "expect.yml", {"wanka_expect": exp})
    if access is not None:
        for name, hv in lab_overlay(access, set(expectations)).items():
            _dump(inventory / "host_vars" / name / "lab.yml", hv)
    return Prepared(
        render=render_dir,
        inventory=inventory,
        cluster=c.name,
        phase=phase,
        playbook=opts.playbook,
        batch=batch,
        max_fail_percent=max_fail,
        kinds={name: exp["kind"] for name, exp in expectations.items()},
        nodes=tuple(n.name for n in nodes),
        references=_references(d),
    )


# -- shared: prepared once for many runs --------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise BringupError(f"{path}: cannot read: {e.strerror or e}") from None


def cache_key(opts: Options) -> str:
    """What a prepared run depends on, as one digest (see the module's docstring)."""
    h = hashlib.sha256(_read(opts.cluster_file))
    lab = None
    if opts.lab is not None:
        lab = str(Path(opts.lab).absolute())
        h.update(_read(Path(lab) / ACCESS_FILE))
    parts = (wanka.__version__, opts.phase, opts.playbook, opts.serial)
    for part in (*parts, opts.max_fail_percentage, lab):
        h.update(b"\0" + repr(part).encode())
    return h.hexdigest()[:20]


def _fresh(directory: Path) -> Prepared | None:
    """The prepared run in `directory` when complete and its cluster files unchanged."""
    if not (directory / MANIFEST).is_file():
        return None
    prepared = Prepared.load(directory)
    for path, digest in (prepared.files or {}).items():
        try:
            if _digest(Path(path).read_bytes()) != digest:
                return None
        except OSError:
            return None
    return prepared


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def shared(opts: Options, root: str | os.PathLike[str]) -> Prepared:
    """The prepared run of `opts` under `root`: prepared by the first caller, used as it is
    by every later one (each with its own --limit and run directory)."""
    base = Path(root).absolute()
    key = cache_key(opts)
    final = base / key
    found = _fresh(final)
    if found is not None:
        return found
    base.mkdir(parents=True, exist_ok=True)
    with _locked(base / f"{key}.lock"):
        found = _fresh(final)  # prepared by another while this one waited
        if found is not None:
            return found
        from wanka.language.document import load_document

        d = open_derived(opts.cluster_file, opts.phase)
        files = {
            str(Path(f).absolute()): _digest(_read(f))
            for f in load_document(opts.cluster_file).files
        }
        work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=base))
        try:
            p = prepare(d, opts, work / "render", work / "inventory")
            replace(p, files=files).save(work)
            if final.exists():  # an included file changed: prepared anew
                shutil.rmtree(final)
            os.rename(work, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return Prepared.load(final)


# -- the lab, credentials, rollout ---------------------------------------------------------------


def lab_access(lab: str | os.PathLike[str]) -> Access:
    """The lab's access.json (wanka.lab.access), its errors as BringupError."""
    try:
        return read_access(lab)
    except AccessError as e:
        raise BringupError(str(e)) from None


def lab_overlay(access: Access, names: set[str]) -> dict[str, dict[str, Any]]:
    """Host vars that point the production inventory at the lab."""
    ssh = access.ssh
    out: dict[str, dict[str, Any]] = {}
    for name, node in access.nodes.items():
        if name not in names:
            continue
        bmc_url, bmc_system = access.bmc_of(name)
        out[name] = {
            "ansible_host": node.address,
            "ansible_user": ssh.user,
            "ansible_ssh_private_key_file": ssh.private_key,
            # the servers' system Python (interpreter discovery would find the lab host's
            # user-level shims, which the server's overlaid /root also shows)
            "ansible_python_interpreter": access.python,
            # the servers' /root is an overlay on this machine's live /root, where the
            # controller keeps its own temporary files: work in the server's private /tmp
            "ansible_remote_tmp": "/tmp/.ansible-wanka",
            # the lab's one sushy-tools emulator, or the server's own vendor-profile BMC
            "wanka_bmc_url": bmc_url,
            "wanka_bmc_system": bmc_system,
            "wanka_bmc_auth": False,
            # sushy-tools' systems report no serial number: the identity check needs a BMC
            # that does (the vendor profiles, a real one)
            "wanka_bmc_check_identity": False,
            # lab servers run no service manager or boot loader and share the host's kernel
            "os_baseline_hostname_use": "alpine",  # /etc/hostname + `hostname -F`
            "os_baseline_manage_services": False,
            "os_baseline_sysctl_apply": False,
            "os_baseline_bootloader_update": False,
            # nor NetworkManager or networkd, and a kernel without bonding: each server's
            # management address is on its primary port already (docs/outputs.md)
            "host_network_enabled": False,
            # the driver's build prerequisites install through the server's emulated package
            # manager (its OS family's, wanka.lab.tools.packages), which records them; a
            # reboot is a restart through the server's BMC (the emulator powers it off and on)
            "npu_driver_reboot": "bmc",
        }
    for name, sw in access.switches.items():
        if name not in names:
            continue
        entry: dict[str, Any] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "wanka_switch_command_prefix": ["ip", "netns", "exec", sw.namespace],
        }
        if sw.vty:
            entry["wanka_frr_vty_socket"] = sw.vty
            entry["wanka_frr_conf"] = str(Path(sw.vty) / "frr.conf")
            # the lab starts zebra and bgpd itself: its copy of Debian's daemons file is
            # edited as a switch's would be, and nothing restarts
            daemons = Path(sw.vty) / "daemons"
            entry["wanka_frr_daemons"] = str(daemons) if daemons.is_file() else ""
            entry["wanka_frr_restart"] = []
        cli = sw.ssh.sonic_cli if sw.ssh is not None else None
        if cli:  # a SONiC switch: its CLI's wrappers, FRR in the namespace (no bgp container)
            entry["wanka_sonic_cli"] = cli
            entry["wanka_sonic_bgp_container"] = []
            if sw.vty:
                entry["wanka_frr_conf"] = str(Path(sw.vty) / "bgpd.conf")
        entry["wanka_switch_transport"] = _switch_transport(ssh, sw)
        out[name] = entry
    return out


def _switch_transport(ssh: Ssh, sw: Switch) -> dict[str, Any]:
    """How the fabric role reaches a lab switch: its sshd, through the lab's jump into its
    namespace, with the cluster file's switch password when the lab took it (`lab up` could
    read the reference), else the lab's key; a lab without switch sshd: its namespace."""
    entry = sw.ssh
    if entry is None:
        return {"kind": "netns", "namespace": sw.namespace}
    out: dict[str, Any] = {
        "kind": "ssh",
        "host": entry.address,
        "port": entry.port,
        "username": entry.user,
        "known_hosts": ssh.known_hosts,
        "proxy_command": entry.proxy_command,
    }
    if entry.password:
        out["credential"] = "{{ wanka_credentials.switch.password }}"
    else:
        out["private_key"] = {"file": ssh.private_key}
    return out


def _ssh_group_vars(d: Derived) -> dict[str, Any]:
    cred = d.cluster.credentials.get("ssh")
    if cred is None:
        return {}
    out: dict[str, Any] = {"ansible_user": cred.username}
    if cred.private_key is not None and cred.private_key.source == "file":
        out["ansible_ssh_private_key_file"] = cred.private_key.name  # a path, not a secret
    return out


def run_rollout(c: Cluster, opts: Options) -> tuple[str, int]:
    """The serial and max_fail_percentage of a run of `opts.playbook`: a bring-up follows
    the phase's rollout (it is about its servers), the others only the command line."""
    if opts.playbook == "bringup":
        return rollout(c, opts.phase, opts.serial, opts.max_fail_percentage)
    max_fail = opts.max_fail_percentage
    return opts.serial or DEFAULT_SERIAL, DEFAULT_MAX_FAIL if max_fail is None else max_fail


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
