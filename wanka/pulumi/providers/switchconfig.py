"""SwitchConfig: one switch's rendered frr.conf applied through a transport; see the package."""

from __future__ import annotations

import difflib
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi import dynamic

from wanka.pulumi.providers.common import ProviderError, changed

FRR_RELOAD = Path("/usr/lib/frr/frr-reload.py")
FRR_PYTHON = "/usr/bin/python3"  # frr-reload.py is a script for the system Python
SWITCH_TIMEOUT = 60.0
# lines frr-reload reports on every run and cannot change (FRR 8.4): the version stamp, the
# per-daemon hostname, forwarding (the kernel's, per namespace) and the empty `line vty`
UNRECONCILED = (
    "frr version ",
    "hostname ",
    "no hostname ",
    "ip forwarding",
    "ipv6 forwarding",
    "no ip forwarding",
    "no ipv6 forwarding",
    "line vty",
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _run(cmd: list[str], what: str, timeout: float = SWITCH_TIMEOUT) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ProviderError(f"{what}: no answer within {timeout:g} s") from None
    except OSError as e:
        raise ProviderError(f"{what}: cannot run {cmd[0]}: {e.strerror or e}") from None
    if r.returncode != 0:
        out = (r.stderr.strip() or r.stdout.strip()).splitlines()
        raise ProviderError(f"{what}: {' | '.join(out[-3:]) or f'exit {r.returncode}'}")
    return r.stdout


class _Netns:
    """A lab switch: FRR in a network namespace, reached through its vty socket directory."""

    def __init__(self, switch: str, transport: Mapping[str, Any]) -> None:
        self.switch = switch
        self.ns = str(transport.get("namespace") or "")
        self.vty = str(transport.get("vty") or "")
        if not self.ns or not self.vty:
            raise ProviderError(
                f"SwitchConfig {switch}: the netns transport needs namespace and vty"
            )
        if not FRR_RELOAD.exists():
            raise ProviderError(
                f"SwitchConfig {switch}: {FRR_RELOAD} not found: install FRR (apt-get install frr)"
            )

    def _reload(self, config: str, mode: str) -> str:
        with tempfile.TemporaryDirectory(prefix="wanka-switch-") as tmp:
            conf = Path(tmp) / "frr.conf"
            conf.write_text(config, encoding="utf-8")
            return _run(
                [
                    "ip", "netns", "exec", self.ns, FRR_PYTHON, str(FRR_RELOAD), mode,
                    "--stdout", "--vty_socket", self.vty, "--bindir", _bindir(),
                    "--rundir", tmp, str(conf),
                ],
                f"SwitchConfig {self.switch} (namespace {self.ns}): frr-reload {mode}",
            )  # fmt: skip

    def apply(self, config: str) -> None:
        self._reload(config, "--reload")

    def delta(self, config: str) -> list[str]:
        """What the switch would have to change to run `config`: `- line` to delete, `+ line`
        to add (empty: it runs it). Lines frr-reload cannot reconcile are left out."""
        out, sign = [], ""
        for line in self._reload(config, "--test").splitlines():
            if line.startswith("Lines To Delete"):
                sign = "-"
            elif line.startswith("Lines To Add"):
                sign = "+"
            elif sign and line.strip() and not line.startswith(("==", *UNRECONCILED)):
                out.append(f"{sign} {line}")
        return out

    def running(self) -> str:
        return _run(
            ["ip", "netns", "exec", self.ns, _vtysh(), "--vty_socket", self.vty,
             "-c", "show running-config"],
            f"SwitchConfig {self.switch} (namespace {self.ns}): show running-config",
        )  # fmt: skip


def _vtysh() -> str:
    return shutil.which("vtysh") or "/usr/bin/vtysh"


def _bindir() -> str:
    return str(Path(_vtysh()).parent)


def _transport(props: Mapping[str, Any]) -> _Netns:
    switch = str(props["switch"])
    transport = props.get("transport") or {}
    kind = transport.get("kind")
    if kind == "netns":
        return _Netns(switch, transport)
    if kind == "ssh":
        raise ProviderError(
            f"SwitchConfig {switch}: the ssh transport (real switches) is not implemented yet; "
            "only the lab's netns transport is"
        )
    raise ProviderError(f"SwitchConfig {switch}: unknown transport {kind!r} (netns or ssh)")


def config_diff(old: str, new: str, switch: str) -> list[str]:
    """Unified diff of two configurations, for messages and reviews."""
    return list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), f"{switch} (recorded)", f"{switch}", lineterm=""
        )
    )


class SwitchConfigProvider(dynamic.ResourceProvider):
    serialize_as_secret_always = False

    def _apply(self, props: Mapping[str, Any]) -> dict[str, Any]:
        t = _transport(props)
        config = str(props["config"])
        t.apply(config)
        left = t.delta(config)
        if left:
            raise ProviderError(
                f"SwitchConfig {props['switch']}: applied, but the switch still differs in "
                f"{len(left)} line(s): {'; '.join(x.strip() for x in left[:5])}"
            )
        return {**props, "digest": _digest(config), "drift": []}

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(id_=str(props["switch"]), outs=self._apply(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        names = changed(olds, news, ("switch", "config", "transport"))
        return dynamic.DiffResult(
            changes=bool(names),
            replaces=[n for n in names if n == "switch"],
            stables=["switch"],
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(outs=self._apply(news))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """Drift: when the running configuration differs from the recorded one, `config`
        becomes the running configuration and `drift` the lines that differ, so refresh
        shows it and the next up applies the recorded one again."""
        t = _transport(props)
        config = str(props.get("config") or "")
        left = t.delta(config)
        outs = dict(props)
        if left:
            running = t.running()
            outs.update(config=running, digest=_digest(running), drift=left)
        else:
            outs.update(digest=_digest(config), drift=[])
        return dynamic.ReadResult(id_=id_, outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """A switch is never left without a configuration: deleting the resource stops
        managing it and leaves the running configuration as it is."""


class SwitchConfig(dynamic.Resource, module="wanka", name="SwitchConfig"):
    """A switch's rendered configuration (frr.conf), applied to the switch."""

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            SwitchConfigProvider(), name, {**props, "digest": None, "drift": None}, opts
        )
