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
BMC_ACCESS = (
    "url", "system", "username", "password", "timeout", "powerTimeout", "verify", "biosApply",
)  # fmt: skip


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


def _observe(c: Any, want_bios: Mapping[str, Any], used: str | None = None) -> dict[str, Any]:
    """What the BMC reports, as BareMetalNode properties (BIOS: the managed attributes in
    effect, or pending for the next boot: staged is not drift). The boot override is set
    Once: when the BMC reports it cleared (Disabled), the boot it was for has used it, so
    with `used` (the target applied before) that target counts as seen, not as drift."""
    system = c.system()
    boot = system.get("Boot") or {}
    bios: dict[str, Any] = {}
    if want_bios:
        s = c.bios_settings()
        bios = {**s["current"], **s["pending"]}
    target = boot.get("BootSourceOverrideTarget", "None")
    if used and boot.get("BootSourceOverrideEnabled", "Disabled") == "Disabled":
        target = used
    return {
        "power": str(system.get("PowerState", "Unknown")),
        "bootTarget": target,
        "bootMode": boot.get("BootSourceOverrideMode", "UEFI"),
        "bios": {k: bios.get(k) for k in sorted(want_bios)},
    }


def _apply_bmc(props: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Bring the BMC to `props` (only what differs from what it reports), wait for the power
    state, and return the outputs: the inputs plus what was observed. On an update (`olds`)
    a boot override the last boot used is set again only when the wanted one changed."""
    node = str(props["node"])
    same_boot = olds is not None and not changed(olds, props, ("bootTarget", "bootMode"))
    used = str(props["bootTarget"]) if same_boot else None
    with _client(props) as c:
        try:
            seen = _observe(c, props.get("bios") or {}, used)
        except Exception as e:
            raise _bmc_error(node, "read the BMC", e) from None
        # what the BMC says decides, not what was recorded: drift is undone too
        todo = changed(seen, props, BMC_STATE)
        try:
            if "bios" in todo:
                want = dict(props.get("bios") or {})
                diff = {k: v for k, v in want.items() if seen["bios"].get(k) != v}
                if diff:
                    c.set_bios(diff, apply=str(props.get("biosApply") or "next-boot"))
            if "bootTarget" in todo or "bootMode" in todo:
                # Once: the next boot PXE-boots, the ones after boot from disk (Disabled
                # when the target is None)
                c.set_boot(str(props["bootTarget"]), mode=str(props["bootMode"]), once=True)
            if "power" in todo:
                on = props["power"] == "On"
                c.set_power(on)
                timeout = float(props.get("powerTimeout") or 120)
                if not c.wait_power(str(props["power"]), timeout):
                    raise ProviderError(
                        f"BareMetalNode {node}: power {props['power']} asked, the BMC still "
                        f"says {c.power_state()} after {timeout:g} s"
                    )
            seen = _observe(c, props.get("bios") or {}, str(props["bootTarget"]))
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
        return dynamic.UpdateResult(outs=_apply_bmc(news, olds))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        with _client(props) as c:
            try:
                used = str(props["bootTarget"]) if props.get("bootTarget") else None
                seen = _observe(c, props.get("bios") or {}, used)
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
