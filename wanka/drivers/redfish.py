"""A small Redfish client: one server's BMC, as bring-up needs it.

Used by the lab (`wanka lab power`), the Ansible `bmc` role's module and the Pulumi
`BareMetalNode` provider, so the three speak to a BMC the same way. It covers what bring-up
does: read the system, power actions, one-time boot override, boot mode, BIOS attributes.

Errors are one of two kinds, both with a message naming the BMC and what was asked:
`BmcUnreachable` (no answer within the timeout, connection refused) and `RedfishError` (the
BMC answered with an error; its Redfish extended message is quoted). Credentials are passed
in by the caller (resolved from the cluster file's references) and never appear in a message
or a repr.
"""

from __future__ import annotations

import time
from typing import Any

import requests

RESET_TYPES = ("On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart")
BOOT_TARGETS = ("None", "Pxe", "Hdd", "Cd", "UefiHttp", "BiosSetup")
BOOT_MODES = ("UEFI", "Legacy")
DEFAULT_TIMEOUT = 10.0


class RedfishError(Exception):
    """The BMC answered, with an error."""


class BmcUnreachable(RedfishError):
    """The BMC did not answer (timeout, refused connection)."""


def _message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:200] or resp.reason
    err = body.get("error", {}) if isinstance(body, dict) else {}
    extended = err.get("@Message.ExtendedInfo") or []
    parts = [e.get("Message", "") for e in extended if isinstance(e, dict)]
    return "; ".join(p for p in parts if p) or err.get("message") or resp.reason


class Client:
    """One system behind one BMC: `Client("http://10.0.0.5", "1")` or, in the lab,
    `Client("http://127.0.0.1:8000", "<uuid>")`."""

    def __init__(
        self,
        base_url: str,
        system: str,
        *,
        auth: tuple[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        verify: bool | str = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system_id = system
        self.timeout = timeout
        self._session = requests.Session()
        self._session.verify = verify
        if auth is not None:
            self._session.auth = auth
        self._session.headers["Accept"] = "application/json"

    def __repr__(self) -> str:  # never the credentials
        return f"Client({self.base_url!r}, {self.system_id!r})"

    @property
    def system_path(self) -> str:
        return f"/redfish/v1/Systems/{self.system_id}"

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        what = f"{method} {path} on BMC {self.base_url}"
        try:
            resp = self._session.request(method, url, json=body, timeout=self.timeout)
        except requests.Timeout:
            raise BmcUnreachable(f"{what}: no answer within {self.timeout:g} s") from None
        except requests.ConnectionError as e:
            reason = str(e.args[0] if e.args else e)
            if "Read timed out" in reason:
                raise BmcUnreachable(f"{what}: no answer within {self.timeout:g} s") from None
            raise BmcUnreachable(f"{what}: cannot connect ({reason[:160]})") from None
        if resp.status_code == 401:
            raise RedfishError(f"{what}: refused the credentials (401)")
        if resp.status_code >= 400:
            raise RedfishError(f"{what}: {resp.status_code} {_message(resp)}")
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise RedfishError(f"{what}: the answer is not JSON") from None

    def close(self) -> None:
        self._session.close()

    # -- reading -------------------------------------------------------------------------
    def system(self) -> dict[str, Any]:
        data = self._request("GET", self.system_path)
        if not isinstance(data, dict):
            raise RedfishError(f"GET {self.system_path} on BMC {self.base_url}: no system")
        return data

    def power_state(self) -> str:
        return str(self.system().get("PowerState", "Unknown"))

    def boot(self) -> dict[str, Any]:
        boot = self.system().get("Boot") or {}
        return {
            "target": boot.get("BootSourceOverrideTarget", "None"),
            "enabled": boot.get("BootSourceOverrideEnabled", "Disabled"),
            "mode": boot.get("BootSourceOverrideMode", "UEFI"),
        }

    def bios(self) -> dict[str, Any]:
        data = self._request("GET", f"{self.system_path}/BIOS")
        return dict((data or {}).get("Attributes") or {})

    # -- changing ------------------------------------------------------------------------
    def reset(self, reset_type: str) -> None:
        if reset_type not in RESET_TYPES:
            raise ValueError(f"reset type {reset_type!r}: one of {', '.join(RESET_TYPES)}")
        self._request(
            "POST",
            f"{self.system_path}/Actions/ComputerSystem.Reset",
            {"ResetType": reset_type},
        )

    def set_power(self, on: bool) -> bool:
        """Ask for the power state; True when an action was sent (False: already there, or
        already on its way). Does not wait: see wait_power."""
        state = self.power_state()
        want = "On" if on else "Off"
        if state == want:
            return False
        self.reset("On" if on else "ForceOff")
        return True

    def wait_power(self, want: str, timeout: float, poll: float = 0.5) -> bool:
        """Poll until PowerState is `want`; False when the timeout passes first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.power_state() == want:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)

    def set_boot(self, target: str, *, mode: str | None = None, once: bool = True) -> None:
        if target not in BOOT_TARGETS:
            raise ValueError(f"boot target {target!r}: one of {', '.join(BOOT_TARGETS)}")
        boot: dict[str, Any] = {
            "BootSourceOverrideTarget": target,
            "BootSourceOverrideEnabled": "Once" if once else "Continuous",
        }
        if mode is not None:
            if mode not in BOOT_MODES:
                raise ValueError(f"boot mode {mode!r}: one of {', '.join(BOOT_MODES)}")
            boot["BootSourceOverrideMode"] = mode
        self._request("PATCH", self.system_path, {"Boot": boot})

    def set_bios(self, attributes: dict[str, Any]) -> None:
        self._request("PATCH", f"{self.system_path}/BIOS/Settings", {"Attributes": attributes})
