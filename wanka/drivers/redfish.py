"""A Redfish client that follows the spec: one server's BMC, as bring-up needs it.

Used by the lab (`wanka lab power`), `wanka bmc`, the Ansible `bmc` role's module and the
Pulumi `BareMetalNode` provider, so all of them speak to a BMC the same way. It covers what
bring-up does: read the system and its NICs, power actions, one-time boot override, BIOS
attributes.

It follows links, not paths (DSP0266): the system is found from the service root's `Systems`
collection (an id given by the caller is looked up there, none given means the only member),
BIOS at the system's `Bios` link, BIOS changes go to the `@Redfish.Settings` `SettingsObject`,
the reset target and its allowed `ResetType`s come from the system's `Actions` (or its
`@Redfish.ActionInfo`), boot targets are checked against `@Redfish.AllowableValues`.
Every PATCH carries the resource's ETag in `If-Match` (read from the `ETag` header or
`@odata.etag`); a 412 re-reads it and retries once. With credentials it opens a session
(SessionService, `X-Auth-Token`, logged out by `close()`), falling back to Basic when the
service has no session service; an expired session is opened again once. A 202 with a task
monitor is polled to the end, a 503 is retried after its `Retry-After`. TLS is verified
unless the caller passes `verify=False` (or a CA bundle path).

Errors are of three kinds, each with a message naming the BMC and what was asked:
`BmcUnreachable` (no answer within the timeout, connection refused), `BmcCertificate` (its
certificate is not trusted) and `RedfishError` (the BMC answered with an error; its Redfish
extended message is quoted). Credentials are passed in by the caller and never appear in a
message or a repr.
"""

from __future__ import annotations

import contextlib
import email.utils
import time
import warnings
from typing import Any

import requests
import urllib3

from wanka.drivers.redfish_messages import clip, extended, mac_of, refused, said

RESET_TYPES = (
    "On",
    "ForceOff",
    "GracefulShutdown",
    "GracefulRestart",
    "ForceRestart",
    "ForcePowerCycle",
    "PowerCycle",
    "Nmi",
)
BOOT_TARGETS = ("None", "Pxe", "Hdd", "Cd", "UefiHttp", "BiosSetup")
BOOT_MODES = ("UEFI", "Legacy")
# how BIOS settings take effect: at the server's next reboot (nothing else done), or now
# (the server is restarted when it is on)
BIOS_APPLY = ("next-boot", "now")
DEFAULT_TIMEOUT = 10.0
ROOT = "/redfish/v1/"
MAX_RETRY_AFTER = 60.0


class RedfishError(Exception):
    """The BMC answered, with an error."""


class BmcUnreachable(RedfishError):
    """The BMC did not answer (timeout, refused connection)."""


class BmcCertificate(BmcUnreachable):
    """The BMC's TLS certificate is not trusted."""


def _message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return clip(resp.text, 200) or resp.reason
    err = body.get("error", {}) if isinstance(body, dict) else {}
    if not isinstance(err, dict):
        return resp.reason
    parts = [said(e) for e in extended(err)]
    return "; ".join(p for p in parts if p) or err.get("message") or resp.reason


def _link(body: Any, *keys: str) -> str | None:
    """body[k1][k2]...['@odata.id'], or None."""
    for k in keys:
        body = body.get(k) if isinstance(body, dict) else None
    if isinstance(body, dict):
        body = body.get("@odata.id")
    return str(body) if isinstance(body, str) and body else None


def _retry_after(resp: requests.Response, default: float) -> float:
    value = resp.headers.get("Retry-After")
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        seconds = when.timestamp() - time.time() if when else default
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def _etag(resp: requests.Response, body: Any) -> str | None:
    tag = resp.headers.get("ETag")
    if not tag and isinstance(body, dict):
        tag = body.get("@odata.etag")
    return str(tag) if tag else None


HINTS = {
    412: "the resource changed between reading it and writing it (its ETag is stale)",
    428: "the BMC requires If-Match on this request and gave no ETag to send; "
    "a BMC firmware update may be needed",
}


class Client:
    """One system behind one BMC: `Client("https://10.0.0.5")` (the only system),
    `Client("https://10.0.0.5", "1")` or, in the lab, `Client("http://127.0.0.1:8000", "<uuid>")`.
    """

    def __init__(
        self,
        base_url: str,
        system: str | None = None,
        *,
        auth: tuple[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        verify: bool | str = True,
        retries: int = 3,
        task_timeout: float = 600.0,
        poll: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system_id = system or None
        self.timeout = timeout
        self.retries = retries
        self.task_timeout = task_timeout
        self.poll = poll
        self._auth = auth
        self._session = requests.Session()
        # given on every request: a session's own `verify` loses to REQUESTS_CA_BUNDLE
        self._verify = verify
        self._session.headers["Accept"] = "application/json"
        self._root: dict[str, Any] | None = None
        self._system_path: str | None = None
        self._logged_in = False
        self._logout: str | None = None
        self.auth_mode = "none"  # "session", "basic" or "none", once connected
        self.messages: list[str] = []  # what the BMC said with the last PATCH it applied

    def __repr__(self) -> str:  # never the credentials
        return f"Client({self.base_url!r}, {self.system_id!r})"

    # -- transport -----------------------------------------------------------------------
    def _what(self, method: str, path: str) -> str:
        return f"{method} {path} on BMC {self.base_url}"

    def _raw(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        url = path if path.startswith("http") else self.base_url + path
        what = self._what(method, path)
        try:
            with warnings.catch_warnings():
                if self._verify is False:  # insecure, as the cluster file says by name
                    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                return self._session.request(
                    method, url, json=body, headers=headers, timeout=self.timeout,
                    verify=self._verify, allow_redirects=True,
                )  # fmt: skip
        except requests.exceptions.SSLError as e:
            reason = str(e.args[0] if e.args else e)
            hint = (
                "give its CA bundle: the cluster file's credentials.bmc_tls.ca, or the node's "
                "bmc.ca in the manifest"
            )
            if "CERTIFICATE_VERIFY_FAILED" not in reason:
                hint = "check that the BMC speaks HTTPS on this port"
            raise BmcCertificate(
                f"{what}: its TLS certificate is not trusted ({clip(reason, 160, tail=True)}); "
                + hint
            ) from None
        except requests.Timeout:
            raise BmcUnreachable(f"{what}: no answer within {self.timeout:g} s") from None
        except requests.ConnectionError as e:
            reason = str(e.args[0] if e.args else e)
            if "Read timed out" in reason:
                raise BmcUnreachable(f"{what}: no answer within {self.timeout:g} s") from None
            raise BmcUnreachable(f"{what}: cannot connect ({clip(reason, 160)})") from None

    def _send(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """One request with the protocol's retries: a 503 after its Retry-After, a 401 of an
        expired session after logging in again, a 202 task monitor polled to its end."""
        if method != "GET" or path.rstrip("/") != ROOT.rstrip("/"):
            self._login()
        relogged = False
        for attempt in range(self.retries + 1):
            resp = self._raw(method, path, body, headers)
            if resp.status_code == 503 and attempt < self.retries:
                time.sleep(_retry_after(resp, self.poll))
                continue
            if resp.status_code == 401 and self.auth_mode == "session" and not relogged:
                relogged = True
                self._logged_in = False
                self._login()
                resp = self._raw(method, path, body, headers)
            break
        if resp.status_code == 401:
            raise RedfishError(f"{self._what(method, path)}: refused the credentials (401)")
        if resp.status_code >= 400:
            hint = HINTS.get(resp.status_code)
            raise RedfishError(
                f"{self._what(method, path)}: {resp.status_code} {_message(resp)}"
                + (f" ({hint})" if hint else "")
            )
        if resp.status_code == 202 and resp.headers.get("Location"):
            return self._wait_task(method, path, resp.headers["Location"])
        return resp

    def _wait_task(self, method: str, path: str, monitor: str) -> requests.Response:
        """Poll a task monitor until it stops answering 202; fail on a task that failed."""
        deadline = time.monotonic() + self.task_timeout
        what = self._what(method, path)
        while True:
            resp = self._raw("GET", monitor)
            if resp.status_code == 202 or resp.status_code == 503:
                if time.monotonic() >= deadline:
                    raise RedfishError(
                        f"{what}: its task {monitor} still runs after {self.task_timeout:g} s"
                    )
                time.sleep(_retry_after(resp, self.poll))
                continue
            if resp.status_code >= 400:
                raise RedfishError(f"{what}: task {monitor}: {resp.status_code} {_message(resp)}")
            body = self._json(resp, "GET", monitor) if resp.content else None
            state = body.get("TaskState") if isinstance(body, dict) else None
            if state in ("Exception", "Killed", "Cancelled"):
                msgs = [m.get("Message", "") for m in body.get("Messages") or []]  # type: ignore[union-attr]
                raise RedfishError(
                    f"{what}: task {monitor} ended {state}"
                    + (f": {'; '.join(m for m in msgs if m)}" if any(msgs) else "")
                )
            return resp

    def _json(self, resp: requests.Response, method: str, path: str) -> Any:
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise RedfishError(f"{self._what(method, path)}: the answer is not JSON") from None

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._json(self._send(method, path, body), method, path)

    def _get(self, path: str) -> tuple[dict[str, Any], str | None]:
        resp = self._send("GET", path)
        data = self._json(resp, "GET", path)
        if not isinstance(data, dict):
            raise RedfishError(f"{self._what('GET', path)}: not a Redfish resource")
        return data, _etag(resp, data)

    def _patch(self, path: str, body: dict[str, Any]) -> Any:
        """PATCH with the resource's ETag in If-Match; on 412 read it again and retry once."""
        for attempt in (1, 2):
            _, tag = self._get(path)
            headers = {"If-Match": tag} if tag else None
            resp = self._raw_patch(path, body, headers, last=attempt == 2)
            if resp is not None:
                return self._patched(resp, path)
        return None  # pragma: no cover - the second attempt returns or raises

    def _patched(self, resp: requests.Response, path: str) -> Any:
        """A PATCH's answer. A 200 may carry Redfish messages (DSP0266): one saying a property
        was not applied, or of severity Critical, fails the request (the rest of it may have
        been applied: the message says what); the others (a reset needed, a success) are
        kept in `messages` for the caller."""
        data = self._json(resp, "PATCH", path)
        told = extended(data)
        if bad := refused(told):
            raise RedfishError(
                f"{self._what('PATCH', path)}: {resp.status_code}, but the BMC did not apply "
                + "; ".join(said(m) for m in bad)
            )
        self.messages = [said(m) for m in told]
        return data

    def _raw_patch(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None, *, last: bool
    ) -> requests.Response | None:
        try:
            return self._send("PATCH", path, body, headers)
        except RedfishError as e:
            if last or ": 412 " not in str(e):
                raise
            return None

    # -- sessions ------------------------------------------------------------------------
    def root(self) -> dict[str, Any]:
        if self._root is None:
            data = self._json(self._send("GET", ROOT), "GET", ROOT)  # (503s waited for)
            if not isinstance(data, dict) or not data.get("@odata.id", "").startswith(
                "/redfish/v1"
            ):
                raise RedfishError(f"{self._what('GET', ROOT)}: not a Redfish service root")
            self._root = data
        return self._root

    def _login(self) -> None:
        """Open a session (SessionService) once; Basic when the service offers none."""
        if self._logged_in or self._auth is None:
            self._logged_in = True
            return
        self._logged_in = True
        root = self.root()
        sessions = _link(root, "Links", "Sessions")
        service = _link(root, "SessionService")
        if sessions is None and service is not None:
            # DSP0266 fixes the collection's URI under the service (iBMC's root has no link;
            # reading the service itself would need the session being opened)
            sessions = service.rstrip("/") + "/Sessions"
        self._session.headers.pop("X-Auth-Token", None)
        self._session.auth = None
        if sessions is not None:
            user, password = self._auth
            resp = self._raw("POST", sessions, {"UserName": user, "Password": password})
            if resp.status_code in (401, 403):
                raise RedfishError(f"{self._what('POST', sessions)}: refused the credentials")
            token = resp.headers.get("X-Auth-Token")
            if resp.status_code < 300 and token:
                self._session.headers["X-Auth-Token"] = token
                self._logout = resp.headers.get("Location")
                self.auth_mode = "session"
                return
        self._session.auth = self._auth
        self.auth_mode = "basic"

    def close(self) -> None:
        """Log out (delete the session) and close the connection."""
        if self._logout and self.auth_mode == "session":
            with contextlib.suppress(RedfishError):  # gone: the session times out there
                self._raw("DELETE", self._logout)
            self._logout = None
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- discovery -----------------------------------------------------------------------
    @property
    def system_path(self) -> str:
        """The system's @odata.id, found in the service root's Systems collection."""
        if self._system_path is None:
            self._system_path = self._discover()
        return self._system_path

    def _discover(self) -> str:
        collection = _link(self.root(), "Systems")
        if collection is None:
            raise RedfishError(f"BMC {self.base_url}: its service root has no Systems")
        data, _ = self._get(collection)
        members = [str(m["@odata.id"]) for m in data.get("Members") or [] if "@odata.id" in m]
        if self.system_id is None:
            if len(members) == 1:
                return members[0]
            raise RedfishError(
                f"BMC {self.base_url}: {len(members)} systems ({', '.join(members[:5])}); "
                "name the one meant"
            )
        for m in members:
            if m.rstrip("/").rsplit("/", 1)[-1] == self.system_id:
                return m
        # not a member id: the service may know it by another name (sushy-tools: the name)
        path = f"{collection.rstrip('/')}/{self.system_id}"
        try:
            found, _ = self._get(path)
        except RedfishError as e:
            if isinstance(e, BmcUnreachable):
                raise
            raise RedfishError(
                f"GET {path} on BMC {self.base_url}: 404 no system {self.system_id!r} "
                f"(it has {', '.join(members[:5]) or 'none'})"
            ) from None
        return str(found.get("@odata.id") or path)

    # -- reading -------------------------------------------------------------------------
    def system(self) -> dict[str, Any]:
        data, _ = self._get(self.system_path)
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

    def _bios_resource(self) -> tuple[str, dict[str, Any]]:
        path = _link(self.system(), "Bios")
        if path is None:
            raise RedfishError(f"BMC {self.base_url}: system {self.system_path} has no Bios link")
        data, _ = self._get(path)
        return path, data

    def bios(self) -> dict[str, Any]:
        """The BIOS attributes in effect."""
        _, data = self._bios_resource()
        return dict(data.get("Attributes") or {})

    def bios_settings(self) -> dict[str, Any]:
        """Where BIOS changes go and what is pending there: {path, current, pending (only
        what differs from current), apply_times (the SupportedApplyTimes, maybe empty)}."""
        path, data = self._bios_resource()
        current = dict(data.get("Attributes") or {})
        settings = data.get("@Redfish.Settings") or {}
        target = _link(settings, "SettingsObject")
        pending: dict[str, Any] = {}
        if target is not None and target.rstrip("/") != path.rstrip("/"):
            staged, _ = self._get(target)
            pending = {
                k: v for k, v in (staged.get("Attributes") or {}).items() if current.get(k) != v
            }
        return {
            "path": target or path,
            "current": current,
            "pending": pending,
            "apply_times": list(settings.get("SupportedApplyTimes") or []),
        }

    def bios_pending(self) -> dict[str, Any]:
        return dict(self.bios_settings()["pending"])

    def _members(self, collection: str) -> list[dict[str, Any]]:
        coll, _ = self._get(collection)
        return [self._get(str(m["@odata.id"]))[0] for m in coll.get("Members") or []]

    def _functions(self, system: dict[str, Any]) -> list[dict[str, Any]]:
        """The network device functions of the system's network interfaces: each interface's
        `NetworkDeviceFunctions`, else those of the adapter it links to (`Chassis/.../
        NetworkAdapters/...`, where a SmartNIC's or an add-in card's ports live)."""
        interfaces = _link(system, "NetworkInterfaces")
        out: list[dict[str, Any]] = []
        for iface in self._members(interfaces) if interfaces else []:
            functions = _link(iface, "NetworkDeviceFunctions")
            if functions is None:
                adapter = _link(iface, "Links", "NetworkAdapter")
                functions = (
                    _link(self._get(adapter)[0], "NetworkDeviceFunctions") if adapter else None
                )
            out.extend(self._members(functions) if functions else [])
        return out

    def inventory(self) -> dict[str, Any]:
        """What identifies the server: serial, UUID, maker, model, power, NIC MACs (of its
        Ethernet interfaces and of its network interfaces' device functions; each MAC once,
        the permanent one where the BMC gives it: a VLAN or other virtual interface repeats
        its parent's)."""
        system = self.system()
        macs: set[str] = set()
        nics = _link(system, "EthernetInterfaces")
        for r in [*(self._members(nics) if nics else []), *self._functions(system)]:
            if mac := mac_of(r):
                macs.add(mac)
        return {
            "system": self.system_path,
            "serial": system.get("SerialNumber"),
            "uuid": system.get("UUID"),
            "manufacturer": system.get("Manufacturer"),
            "model": system.get("Model"),
            "power": system.get("PowerState", "Unknown"),
            "macs": sorted(macs),
        }

    # -- changing ------------------------------------------------------------------------
    def reset_types(self) -> tuple[str, list[str]]:
        """The reset action's target and the ResetTypes it allows (empty: not said)."""
        action = (self.system().get("Actions") or {}).get("#ComputerSystem.Reset") or {}
        target = action.get("target")
        if not target:
            raise RedfishError(f"BMC {self.base_url}: {self.system_path} has no Reset action")
        allowed = list(action.get("ResetType@Redfish.AllowableValues") or [])
        info = action.get("@Redfish.ActionInfo")
        if not allowed and info:
            data, _ = self._get(str(info))
            for p in data.get("Parameters") or []:
                if p.get("Name") == "ResetType":
                    allowed = list(p.get("AllowableValues") or [])
        return str(target), allowed

    def reset(self, reset_type: str) -> None:
        if reset_type not in RESET_TYPES:
            raise ValueError(f"reset type {reset_type!r}: one of {', '.join(RESET_TYPES)}")
        target, allowed = self.reset_types()
        if allowed and reset_type not in allowed:
            raise RedfishError(
                f"BMC {self.base_url}: ResetType {reset_type} is not offered "
                f"(it offers {', '.join(allowed)})"
            )
        self._request("POST", target, {"ResetType": reset_type})

    def _pick(self, *choices: str) -> str:
        _, allowed = self.reset_types()
        for c in choices:
            if not allowed or c in allowed:
                return c
        raise RedfishError(
            f"BMC {self.base_url}: none of {', '.join(choices)} is offered "
            f"(it offers {', '.join(allowed)})"
        )

    def set_power(self, on: bool) -> bool:
        """Ask for the power state; True when an action was sent (False: already there).
        Does not wait: see wait_power."""
        state = self.power_state()
        want = "On" if on else "Off"
        if state == want:
            return False
        self.reset(
            self._pick("On", "ForceOn") if on else self._pick("ForceOff", "GracefulShutdown")
        )
        return True

    def restart(self) -> None:
        """Restart a running server (ForceRestart, else a power cycle the BMC offers)."""
        self.reset(self._pick("ForceRestart", "GracefulRestart", "ForcePowerCycle", "PowerCycle"))

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
        """Boot override: `target` once (or continuously); target "None" clears it
        (BootSourceOverrideEnabled Disabled)."""
        if target not in BOOT_TARGETS:
            raise ValueError(f"boot target {target!r}: one of {', '.join(BOOT_TARGETS)}")
        current = self.system().get("Boot") or {}
        allowed = current.get("BootSourceOverrideTarget@Redfish.AllowableValues")
        if allowed and target not in allowed and target != "None":
            raise RedfishError(
                f"BMC {self.base_url}: boot target {target} is not offered "
                f"(it offers {', '.join(allowed)})"
            )
        enabled = "Disabled" if target == "None" else ("Once" if once else "Continuous")
        # None clears the override even where the allowable values omit it (sushy-tools)
        boot: dict[str, Any] = {
            "BootSourceOverrideTarget": target,
            "BootSourceOverrideEnabled": enabled,
        }
        if mode is not None:
            if mode not in BOOT_MODES:
                raise ValueError(f"boot mode {mode!r}: one of {', '.join(BOOT_MODES)}")
            boot["BootSourceOverrideMode"] = mode
        self._patch(self.system_path, {"Boot": boot})

    def set_bios(self, attributes: dict[str, Any], *, apply: str = "next-boot") -> dict[str, Any]:
        """Stage the BIOS attributes that differ from what is current or already pending;
        returns those sent ({} when nothing differs: nothing is sent). `apply` next-boot
        (the default) leaves them for the server's next reboot, `now` restarts a running
        server so they take effect (or asks the BMC to apply them Immediate)."""
        if apply not in BIOS_APPLY:
            raise ValueError(f"BIOS apply {apply!r}: one of {', '.join(BIOS_APPLY)}")
        s = self.bios_settings()
        unknown = sorted(k for k in attributes if k not in s["current"])
        if unknown:
            raise RedfishError(
                f"BMC {self.base_url}: BIOS has no attribute {', '.join(unknown)} "
                f"(it has {len(s['current'])}, e.g. {', '.join(sorted(s['current'])[:5])})"
            )
        effective = {**s["current"], **s["pending"]}
        diff = {k: v for k, v in attributes.items() if effective.get(k) != v}
        if diff:
            body: dict[str, Any] = {"Attributes": diff}
            when = "Immediate" if apply == "now" else "OnReset"
            if when in s["apply_times"]:
                body["@Redfish.SettingsApplyTime"] = {"ApplyTime": when}
            self._patch(s["path"], body)
            if apply == "now" and when not in s["apply_times"] and self.power_state() == "On":
                self.restart()
        return diff
