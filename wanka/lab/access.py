"""`<lab>/access.json`: how to reach a running lab, as one typed object with one reader and one
writer.

`wanka lab up` writes it (`write`); the lab's own commands (power, ssh, faults, status), the
bring-up (`--lab`: its inventory overlay, the BMC commands, the execution nodes) and the Pulumi
program (`wanka:lab`) read it (`read`), each into an `Access`, so none of them knows the file's
keys. A lab server's BMC is the lab's one sushy-tools emulator unless it has one of its own (a
vendor profile): `Access.bmc_of` says which, once.

The file (JSON, keys sorted):

    {"cluster": NAME,
     "ssh": {"user", "private_key", "known_hosts", "jump_namespace", "proxy_command",
             "options": [ssh's arguments]},
     "bmc": {"url": the emulator's URL, "auth": false},
     "nodes": {NAME: {"address", "system", "namespace", "lldp_socket", "bmc": its own URL}},
     "switches": {NAME: {"namespace", "vty", "ssh": {"address", "port", "user", "password",
                                                     "proxy_command", "sonic_cli"}}},
     "packages": the installer stand-ins' directory,
     "mirror": {"url", "namespace", "log", "pid"},
     "execution_nodes": [{"name", "namespace", "command": [...]}]}

`bmc.url` is null while the lab comes up (before its BMCs listen); `mirror` and
`execution_nodes` only when the lab has them. A file that is not this shape is an AccessError
naming the file and the key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

FILE = "access.json"
DEFAULT_PYTHON = "/usr/bin/python3"  # the servers' system Python

__all__ = [
    "FILE",
    "Access",
    "AccessError",
    "ExecutionNode",
    "Mirror",
    "Server",
    "Ssh",
    "Switch",
    "SwitchSsh",
    "read",
    "write",
]


class AccessError(ValueError):
    """access.json missing or not of its shape; the message names the file (and the key)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Ssh:
    """How the controller logs in to the lab's servers: the lab's key, its known hosts, the
    jump host's namespace and the ssh ProxyCommand through it."""

    user: str
    private_key: str
    known_hosts: str
    jump_namespace: str
    proxy_command: str
    options: tuple[str, ...]  # ssh's arguments for all of the above


@dataclass(frozen=True, slots=True, kw_only=True)
class Server:
    address: str  # its management address
    system: str  # its system at the BMC ("" on a BMC of its own: that BMC's only system)
    namespace: str
    lldp_socket: str | None = None
    bmc: str | None = None  # the URL of a BMC of its own (a vendor profile)


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchSsh:
    """A routed switch's sshd (wanka.lab.switchssh), on its loopback address."""

    address: str
    port: int
    user: str
    password: bool  # it takes the switch credential's password too (else the lab's key only)
    proxy_command: str
    sonic_cli: str | None = None  # a SONiC switch: its CLI's wrappers


@dataclass(frozen=True, slots=True, kw_only=True)
class Switch:
    namespace: str
    vty: str | None = None  # FRR's vty socket directory, when the switch routes
    ssh: SwitchSsh | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Mirror:
    url: str
    namespace: str
    log: str
    pid: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionNode:
    name: str
    namespace: str
    command: tuple[str, ...]  # runs `ansible-runner worker` in it


@dataclass(frozen=True, slots=True, kw_only=True)
class Access:
    cluster: str
    ssh: Ssh
    bmc_url: str | None  # the lab's sushy-tools emulator; None until it listens
    bmc_auth: bool = False  # the emulator asks for the credential
    nodes: Mapping[str, Server] = field(default_factory=dict)
    switches: Mapping[str, Switch] = field(default_factory=dict)
    packages: str | None = None
    mirror: Mirror | None = None
    execution_nodes: tuple[ExecutionNode, ...] = ()
    python: str = DEFAULT_PYTHON

    def bmc_of(self, node: str) -> tuple[str, str]:
        """(URL, system) of a node's BMC in the lab: a BMC of its own (a vendor profile),
        else the lab's emulator, where a node the lab has no server for is a system of its
        name (which the emulator does not have: the BMC's error says so)."""
        server = self.nodes.get(node)
        url = (server.bmc if server is not None else None) or self.bmc_url
        if not url:
            raise AccessError(f"{FILE}: the lab's BMCs are not up yet (no bmc.url)")
        return url, server.system if server is not None else node

    def with_bmcs(self, url: str, own: Mapping[str, str]) -> Access:
        """The lab's BMCs listening: the emulator at `url`, the servers of `own` at theirs."""
        nodes = {
            n: replace(s, bmc=own[n], system="") if n in own else s for n, s in self.nodes.items()
        }
        return replace(self, bmc_url=url, nodes=nodes)

    def to_dict(self) -> dict[str, Any]:
        """The file's JSON form."""
        out: dict[str, Any] = {
            "cluster": self.cluster,
            "ssh": {**_fields(self.ssh), "options": list(self.ssh.options)},
            "bmc": {"url": self.bmc_url, **({"auth": True} if self.bmc_auth else {})},
            "nodes": {n: _fields(s, drop_none=("bmc",)) for n, s in self.nodes.items()},
            "switches": {n: _switch(s) for n, s in self.switches.items()},
            "packages": self.packages,
        }
        if self.python != DEFAULT_PYTHON:
            out["python"] = self.python
        if self.mirror is not None:
            out["mirror"] = _fields(self.mirror)
        if self.execution_nodes:
            out["execution_nodes"] = [
                {**_fields(x), "command": list(x.command)} for x in self.execution_nodes
            ]
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = FILE) -> Access:
        """The object of the file's JSON form; AccessError naming `where` and the key."""
        get = _Reader(where)
        top = get.mapping(data, "")
        nodes = get.mapping(top.get("nodes", {}), "nodes")
        switches = get.mapping(top.get("switches", {}), "switches")
        bmc = get.mapping(top.get("bmc", {}), "bmc")
        mirror = top.get("mirror")
        return cls(
            cluster=get.text(top, "cluster", ""),
            ssh=_ssh(get, get.mapping(top.get("ssh"), "ssh")),
            bmc_url=get.optional(bmc, "url", "bmc."),
            bmc_auth=bool(bmc.get("auth")),
            nodes={str(n): _server(get, v, f"nodes.{n}.") for n, v in nodes.items()},
            switches={str(n): _switch_of(get, v, f"switches.{n}.") for n, v in switches.items()},
            packages=get.optional(top, "packages", ""),
            mirror=None if mirror is None else _mirror(get, get.mapping(mirror, "mirror")),
            execution_nodes=tuple(
                _exec_node(get, x, f"execution_nodes[{i}].")
                for i, x in enumerate(top.get("execution_nodes") or [])
            ),
            python=get.optional(top, "python", "") or DEFAULT_PYTHON,
        )


def read(lab: Path | str | os.PathLike[str]) -> Access:
    """The lab's access.json, the one reader; AccessError when it is missing or not its shape."""
    path = Path(lab) / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccessError(
            f"{path}: no such file (is the lab up? `wanka lab up FILE --dir {lab}`)"
        ) from None
    except (OSError, ValueError) as e:
        raise AccessError(f"{path}: cannot read the lab's access file: {e}") from None
    return Access.from_dict(data, str(path))


def write(lab: Path | str, access: Access) -> Path:
    """Write `<lab>/access.json` atomically, the one writer."""
    path = Path(lab) / FILE
    tmp = path.with_suffix(".tmp")
    text = json.dumps(access.to_dict(), indent=1, sort_keys=True) + "\n"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


# -- the JSON form ------------------------------------------------------------------------------


def _fields(obj: Any, drop_none: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {k: getattr(obj, k) for k in obj.__slots__}
    return {k: v for k, v in out.items() if not (k in drop_none and v is None)}


def _switch(s: Switch) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": s.namespace, "vty": s.vty}
    if s.ssh is not None:
        out["ssh"] = _fields(s.ssh, drop_none=("sonic_cli",))
    return out


class _Reader:
    """Typed reads of the JSON form, each failure an AccessError naming the file and key."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, want: str) -> AccessError:
        return AccessError(f"{self.where}: '{key}' must be {want} in the lab's access file")

    def mapping(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key or "(the file)", "an object")
        return value

    def text(self, m: Mapping[str, Any], key: str, prefix: str) -> str:
        value = m.get(key)
        if not isinstance(value, str):
            raise self.fail(prefix + key, "a string")
        return value

    def optional(self, m: Mapping[str, Any], key: str, prefix: str) -> str | None:
        return None if m.get(key) is None else self.text(m, key, prefix)

    def strings(self, m: Mapping[str, Any], key: str, prefix: str) -> tuple[str, ...]:
        value = m.get(key)
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise self.fail(prefix + key, "a list of strings")
        return tuple(value)

    def number(self, m: Mapping[str, Any], key: str, prefix: str) -> int:
        value = m.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(prefix + key, "a number")
        return value


def _ssh(get: _Reader, m: Mapping[str, Any]) -> Ssh:
    return Ssh(
        user=get.text(m, "user", "ssh."),
        private_key=get.text(m, "private_key", "ssh."),
        known_hosts=get.text(m, "known_hosts", "ssh."),
        jump_namespace=get.text(m, "jump_namespace", "ssh."),
        proxy_command=get.text(m, "proxy_command", "ssh."),
        options=get.strings(m, "options", "ssh."),
    )


def _server(get: _Reader, value: Any, p: str) -> Server:
    m = get.mapping(value, p.rstrip("."))
    return Server(
        address=get.text(m, "address", p),
        system=get.text(m, "system", p),
        namespace=get.text(m, "namespace", p),
        lldp_socket=get.optional(m, "lldp_socket", p),
        bmc=get.optional(m, "bmc", p),
    )


def _switch_of(get: _Reader, value: Any, p: str) -> Switch:
    m = get.mapping(value, p.rstrip("."))
    ssh = m.get("ssh")
    sm = None if ssh is None else get.mapping(ssh, p + "ssh")
    return Switch(
        namespace=get.text(m, "namespace", p),
        vty=get.optional(m, "vty", p),
        ssh=None
        if sm is None
        else SwitchSsh(
            address=get.text(sm, "address", p + "ssh."),
            port=get.number(sm, "port", p + "ssh."),
            user=get.text(sm, "user", p + "ssh."),
            password=bool(sm.get("password")),
            proxy_command=get.text(sm, "proxy_command", p + "ssh."),
            sonic_cli=get.optional(sm, "sonic_cli", p + "ssh."),
        ),
    )


def _mirror(get: _Reader, m: Mapping[str, Any]) -> Mirror:
    return Mirror(
        url=get.text(m, "url", "mirror."),
        namespace=get.text(m, "namespace", "mirror."),
        log=get.text(m, "log", "mirror."),
        pid=get.number(m, "pid", "mirror."),
    )


def _exec_node(get: _Reader, value: Any, p: str) -> ExecutionNode:
    m = get.mapping(value, p.rstrip("."))
    return ExecutionNode(
        name=get.text(m, "name", p),
        namespace=get.text(m, "namespace", p),
        command=get.strings(m, "command", p),
    )
