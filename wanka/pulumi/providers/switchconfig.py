"""SwitchConfig: one switch's rendered configuration applied through a transport, by the
applier of its OS (wanka.drivers.switch, the client the fabric role uses too); see the
package."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
from pulumi import dynamic

from wanka.pulumi.providers.common import ProviderError, changed

FRR_RELOAD = Path("/usr/lib/frr/frr-reload.py")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _applier(props: Mapping[str, Any]) -> Any:
    """The applier of the switch's OS (`os`, default frr) over its transport: `netns` (the
    lab: FRR in a namespace, through its vty socket) or `ssh` (wanka.drivers.switch)."""
    from wanka.drivers import switch as driver

    name = str(props["switch"])
    spec = props.get("transport") or {}
    kind = spec.get("kind")
    if kind == "netns" and not (spec.get("namespace") and spec.get("vty")):
        raise ProviderError(f"SwitchConfig {name}: the netns transport needs namespace and vty")
    if kind not in ("netns", "ssh"):
        raise ProviderError(f"SwitchConfig {name}: unknown transport {kind!r} (netns or ssh)")
    if kind == "netns" and not FRR_RELOAD.exists():
        raise ProviderError(
            f"SwitchConfig {name}: {FRR_RELOAD} not found: install FRR (apt-get install frr)"
        )
    try:
        t = driver.transport(name, spec, password=props.get("password") or None)
        os_ = str(props.get("os") or "frr")
        if os_ == "vrp":  # a CLI session over SSH (the lab: its VRP CLI's state directory)
            return driver.applier(os_, t, vrp_dir=spec.get("vrp_dir") or None)
        if os_ == "sonic":  # the lab's SONiC switches: FRR in the namespace, their CLI's dir
            lab = {"container": ()} if spec.get("sonic_cli") else {}
            cli = spec.get("sonic_cli") or None
            return driver.applier(os_, t, vty=spec.get("vty") or None, cli=cli, **lab)
        return driver.applier(os_, t, vty=spec.get("vty") or None)
    except driver.SwitchError as e:
        raise ProviderError(f"SwitchConfig {e}") from None


@contextmanager
def _switch(props: Mapping[str, Any]) -> Iterator[Any]:
    """The applier, its transport closed afterwards; a SwitchError becomes a ProviderError."""
    from wanka.drivers.switch import SwitchError

    a = _applier(props)
    try:
        yield a
    except SwitchError as e:
        raise ProviderError(f"SwitchConfig {e}") from None
    finally:
        a.t.close()


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
        """Apply the configuration; the switch refusing it, or running something else once
        applied, raises (the switch is put back to what it ran: see wanka.drivers.switch)."""
        config = str(props["config"])
        extra = {"config_db": str(props["config_db"])} if props.get("config_db") else {}
        with _switch(props) as a:
            done = a.apply(config, **extra)
        return {**props, "digest": _digest(config), "drift": [], "applied": done.delta}

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(id_=str(props["switch"]), outs=self._apply(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        names = changed(olds, news, ("switch", "config", "config_db", "transport", "os"))
        return dynamic.DiffResult(
            changes=bool(names),
            replaces=[n for n in names if n == "switch"],
            stables=["switch"],
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(outs=self._apply(news))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """Drift: when the running configuration differs from the applied one, `config`
        becomes the running configuration and `drift` the lines that differ, so refresh
        shows it and the next up applies the recorded one again. The applied one is kept as
        `applied_config` while it is not running: the reads after a recorded refresh
        compare with it, not with what the switch ran then."""
        config = str(props.get("applied_config") or props.get("config") or "")
        extra = {"config_db": str(props["config_db"])} if props.get("config_db") else {}
        with _switch(props) as a:
            left = a.delta(config, **extra)
            running = a.running() if left else ""
        outs = dict(props)
        outs.pop("applied_config", None)
        if left:
            outs.update(config=running, digest=_digest(running), drift=left)
            outs["applied_config"] = config
        else:
            outs.update(config=config, digest=_digest(config), drift=[])
        return dynamic.ReadResult(id_=id_, outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """A switch is never left without a configuration: deleting the resource stops
        managing it and leaves the running configuration as it is."""


class SwitchConfig(dynamic.Resource, module="wanka", name="SwitchConfig"):
    """A switch's rendered configuration (frr.conf; on SONiC bgpd.conf and `config_db`, its
    config_db.json), applied to the switch."""

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        opts = pulumi.ResourceOptions.merge(opts, secret)
        super().__init__(
            SwitchConfigProvider(),
            name,
            {**props, "digest": None, "drift": None, "applied": None},
            opts,
        )
