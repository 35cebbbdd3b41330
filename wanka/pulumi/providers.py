"""Dynamic providers, pure Python: the physical state of a cluster as Pulumi resources.

Three resources, each a `pulumi.dynamic.Resource` with its provider (their type tokens read
`pulumi-python:dynamic/wanka:BareMetalNode`, `.../wanka:SwitchConfig`, `.../wanka:BringupBatch`):

- `BareMetalNode`: one server's BMC through Redfish (`wanka.drivers.redfish`, the client the lab and
  the Ansible `bmc` role use): power, boot source override, boot mode, BIOS attributes.
  `create` and `update` change only what differs, then wait for the power state; `read`
  reports what the BMC says (drift shows in `pulumi refresh`); `delete` powers the server
  off. A BMC that does not answer within `timeout` raises `BmcUnreachable` before anything
  is returned, so the engine records nothing (create) or keeps the old state (update).
- `SwitchConfig`: one switch's rendered frr.conf applied through a transport. `netns` (the
  lab): `frr-reload.py --reload` against the switch's FRR through its vty socket, inside its
  network namespace; `read` asks `frr-reload.py --test` for the difference between the
  running configuration and the recorded one and, when there is one, reports the running
  configuration (drift). `ssh` (real switches) is declared and refused: not implemented.
- `BringupBatch`: the Ansible bring-up of a batch of nodes through `wanka.bringup.run.run`;
  replaced when its inputs change (nodes, software versions, cluster file), exporting the
  batch's verification summary; a failed bring-up raises, so it is retried on the next up.

The providers hold no state and no credentials (`serialize_as_secret_always = False`): they
are pickled by reference, module-level classes whose clients are built inside each method.
Credentials reach them as secret inputs (the BMC password) and leave as secret outputs.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi import dynamic

# values the engine does not know yet during a preview (pulumi.runtime.rpc.UNKNOWN)
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

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

# BareMetalNode: the properties that change the BMC (and the order create applies them in),
# and those that only change how it is reached
BMC_STATE = ("bios", "bootMode", "bootTarget", "power")
BMC_ACCESS = ("url", "system", "username", "password", "timeout", "powerTimeout", "verify")


class ProviderError(Exception):
    """A provider could not do what was asked; the message says what and where."""


def changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    """The keys of `keys` whose values differ (an unknown new value counts as a change)."""
    return [k for k in keys if news.get(k) == UNKNOWN or olds.get(k) != news.get(k)]


# -- BareMetalNode ------------------------------------------------------------------------------


@contextlib.contextmanager
def _client(props: Mapping[str, Any]) -> Iterator[Any]:
    from wanka.drivers.redfish import Client

    password = props.get("password")
    auth = (str(props["username"]), str(password)) if props.get("username") and password else None
    c = Client(
        str(props["url"]),
        str(props["system"]),
        auth=auth,
        timeout=float(props.get("timeout") or 10),
        verify=props.get("verify", True),
    )
    try:
        yield c
    finally:
        c.close()


def _bmc_error(node: str, action: str, e: Exception) -> ProviderError:
    return ProviderError(f"BareMetalNode {node}: {action}: {e}")


def _observe(c: Any, want_bios: Mapping[str, Any]) -> dict[str, Any]:
    """What the BMC reports, as BareMetalNode properties (BIOS: the managed attributes only)."""
    system = c.system()
    boot = system.get("Boot") or {}
    bios = c.bios() if want_bios else {}
    return {
        "power": str(system.get("PowerState", "Unknown")),
        "bootTarget": boot.get("BootSourceOverrideTarget", "None"),
        "bootMode": boot.get("BootSourceOverrideMode", "UEFI"),
        "bios": {k: bios.get(k) for k in sorted(want_bios)},
    }


def _apply_bmc(props: Mapping[str, Any]) -> dict[str, Any]:
    """Bring the BMC to `props` (only what differs from what it reports), wait for the power
    state, and return the outputs: the inputs plus what was observed."""
    node = str(props["node"])
    with _client(props) as c:
        try:
            seen = _observe(c, props.get("bios") or {})
        except Exception as e:
            raise _bmc_error(node, "read the BMC", e) from None
        # what the BMC says decides, not what was recorded: drift is undone too
        todo = changed(seen, props, BMC_STATE)
        try:
            if "bios" in todo:
                want = dict(props.get("bios") or {})
                diff = {k: v for k, v in want.items() if seen["bios"].get(k) != v}
                if diff:
                    c.set_bios(diff)
            if "bootTarget" in todo or "bootMode" in todo:
                c.set_boot(str(props["bootTarget"]), mode=str(props["bootMode"]), once=False)
            if "power" in todo:
                on = props["power"] == "On"
                c.set_power(on)
                timeout = float(props.get("powerTimeout") or 120)
                if not c.wait_power(str(props["power"]), timeout):
                    raise ProviderError(
                        f"BareMetalNode {node}: power {props['power']} asked, the BMC still "
                        f"says {c.power_state()} after {timeout:g} s"
                    )
            seen = _observe(c, props.get("bios") or {})
        except ProviderError:
            raise
        except Exception as e:
            raise _bmc_error(node, f"set {', '.join(todo) or 'nothing'}", e) from None
    out = dict(props)
    out.update(seen)
    out["applied"] = todo
    return out


class BareMetalNodeProvider(dynamic.ResourceProvider):
    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        outs = _apply_bmc(props)
        return dynamic.CreateResult(id_=str(props["node"]), outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        names = changed(olds, news, ("node", *BMC_STATE, *BMC_ACCESS))
        return dynamic.DiffResult(
            changes=bool(names),
            replaces=[n for n in names if n == "node"],
            stables=["node"],
            delete_before_replace=True,
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(outs=_apply_bmc(news))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        with _client(props) as c:
            try:
                seen = _observe(c, props.get("bios") or {})
            except Exception as e:
                raise _bmc_error(str(props.get("node", id_)), "read the BMC", e) from None
        outs = dict(props)
        outs.update(seen)
        return dynamic.ReadResult(id_=id_, outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Deleting the resource hands the server back powered off."""
        with _client(props) as c:
            try:
                c.set_power(False)
            except Exception as e:
                raise _bmc_error(str(props.get("node", _id)), "power off", e) from None


class BareMetalNode(dynamic.Resource, module="wanka", name="BareMetalNode"):
    """A server's BMC: power, boot source override, boot mode, BIOS attributes."""

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        opts = pulumi.ResourceOptions.merge(opts, secret)
        super().__init__(BareMetalNodeProvider(), name, {**props, "applied": None}, opts)


# -- SwitchConfig -------------------------------------------------------------------------------


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


# -- BringupBatch -------------------------------------------------------------------------------

# inputs that define the batch: any change replaces it (a new bring-up run)
BATCH_INPUTS = ("cluster", "phase", "nodes", "software", "lab", "outDir")


PREPARED = ".prepared"  # under outDir: the stack's shared, prepared bring-up runs


def _summary(report: Any) -> dict[str, Any]:
    """The batch's verification output, from the run's result (a RunResult)."""
    hosts = report.hosts
    counts: dict[str, int] = {}
    for h in hosts.values():
        counts[h.status] = counts.get(h.status, 0) + 1
    return {
        "ok": bool(report.ok),
        "changed": int(report.changed),
        "summary": str(report.summary),
        "hosts": {name: str(h.status) for name, h in sorted(hosts.items())},
        "counts": dict(sorted(counts.items())),
        "failed": {
            name: [f"{f.id}: {f.reason}" for f in h.failed]
            for name, h in sorted(hosts.items())
            if h.failed
        },
    }


class BringupBatchProvider(dynamic.ResourceProvider):
    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        name = str(props["batch"])
        nodes = [str(n) for n in props["nodes"]]
        out_dir = Path(str(props["outDir"])) / name
        try:
            from wanka.bringup import run as bringup  # type: ignore[attr-defined,unused-ignore]

            opts = bringup.Options(
                cluster_file=str(props["cluster"]),
                phase=str(props["phase"]),
                limit=",".join(nodes),
                lab=props.get("lab") or None,
                out_dir=out_dir,
            )
            # the stack's batches share one prepared run: rendered once, not once a rack
            prepared = bringup.shared(opts, Path(str(props["outDir"])) / PREPARED)
            report = bringup.run(opts, prepared=prepared)
        except Exception as e:
            raise ProviderError(f"BringupBatch {name}: the bring-up did not run: {e}") from None
        summary = _summary(report)
        missing = sorted(set(nodes) - set(summary["hosts"]))
        if not summary["ok"] or missing:
            bad = {n: s for n, s in summary["hosts"].items() if s != "ok"}
            raise ProviderError(
                f"BringupBatch {name}: bring-up failed ({summary['summary'] or bad}); "
                + (f"no report for {', '.join(missing)}; " if missing else "")
                + f"report in {out_dir}"
            )
        return dynamic.CreateResult(id_=name, outs={**props, "verification": summary})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        names = changed(olds, news, BATCH_INPUTS)
        # `after` (what the batch waits for) orders the run and never replaces it
        return dynamic.DiffResult(changes=bool(names), replaces=names, stables=["batch"])

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        return dynamic.ReadResult(id_=id_, outs=props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """A bring-up cannot be undone: deleting the batch only forgets it."""


class BringupBatch(dynamic.Resource, module="wanka", name="BringupBatch"):
    """The Ansible bring-up of a batch of nodes; exports their verification summary."""

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(BringupBatchProvider(), name, {**props, "verification": None}, opts)


PROVIDERS = (BareMetalNodeProvider, SwitchConfigProvider, BringupBatchProvider)
