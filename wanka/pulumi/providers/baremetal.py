"""BareMetalNode: one server's BMC through Redfish (power, boot, BIOS); see the package."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import pulumi
from pulumi import dynamic

from wanka.pulumi.providers.common import ProviderError, changed

# the properties that change the BMC (and the order create applies them in), and those that
# only change how it is reached
BMC_STATE = ("bios", "bootMode", "bootTarget", "power")
BMC_ACCESS = ("url", "system", "username", "password", "timeout", "powerTimeout", "verify")


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
        """Deleting the resource hands the server back powered off (waits for it, as create
        waits for its power state: a destroy that returns has the servers off)."""
        node = str(props.get("node", _id))
        timeout = float(props.get("powerTimeout") or 120)
        with _client(props) as c:
            try:
                c.set_power(False)
                off = c.wait_power("Off", timeout)
            except Exception as e:
                raise _bmc_error(node, "power off", e) from None
            if not off:
                raise ProviderError(
                    f"BareMetalNode {node}: power Off asked, the BMC still says "
                    f"{c.power_state()} after {timeout:g} s"
                )


class BareMetalNode(dynamic.Resource, module="wanka", name="BareMetalNode"):
    """A server's BMC: power, boot source override, boot mode, BIOS attributes."""

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        opts = pulumi.ResourceOptions.merge(opts, secret)
        super().__init__(BareMetalNodeProvider(), name, {**props, "applied": None}, opts)
