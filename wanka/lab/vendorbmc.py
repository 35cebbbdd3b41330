"""Lab BMCs that behave like a vendor's: the DMTF reference mockup, Huawei iBMC, AMI MegaRAC.

sushy-tools (`wanka.lab.bmc`) is one implementation of Redfish, and a lenient one: fixed
routes (`/Systems/<uuid>/BIOS/Settings`), no ETags, BIOS changes in effect at once. Real BMCs
differ in the ways a client gets wrong, so these profiles serve one system each, from the
resources captured from that vendor (`bmc_profiles/<profile>.json`, whose `_source` says
where each part came from and which parts are only DSP0266's standard shape), and act out
its documented behaviour:

- `dmtf`: DMTF's public-rackmount1 mockup (system `437XR1138R2`, BIOS at the system's `Bios`
  link, changes at `Bios/Settings`); like DMTF's Redfish-Mockup-Server it checks no If-Match.
- `ibmc`: `/Systems/1`, `Bios/Settings`, weak ETags, a PATCH without `If-Match` or with a
  stale one answers 412, sessions only (`X-Auth-Token`), ResetTypes from `ResetActionInfo`.
- `ami`: `/Systems/Self`, `Bios/SD`, `@odata.etag`, a PATCH without `If-Match` answers the
  `Ami.1.0.PreconditionHeaderMissing` error (428), a stale one 412; sessions or Basic.

Common to all, as real servers do: a power action lands `delay` seconds later; BIOS changes
wait in the settings object until the server boots (power on or restart), and so does a
`Once` boot override, cleared by the boot that used it. Faults (attributes of `Bmc.faults`,
set by tests or the lab): `stale_etag` (the next N PATCHes find the resource changed under
them), `busy` (the next N requests answer 503 with `Retry-After: 1`), `task_seconds` (a BIOS
change answers 202 and a task monitor that runs that long), `expire_sessions` (every open
session is forgotten, as after the BMC's session timeout), `no_etag` (reads carry no ETag,
yet a PATCH needs one: the firmware bug behind Lenovo's 428s).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PROFILES = ("dmtf", "ibmc", "ami")
HERE = Path(__file__).resolve().parent / "bmc_profiles"
ROOT = "/redfish/v1"

Start = Callable[..., Any]
Result = tuple[str, Any, dict[str, str]]  # status line, JSON body (None: no body), headers


def load(profile: str) -> dict[str, Any]:
    if profile not in PROFILES:
        raise ValueError(f"BMC profile {profile!r}: one of {', '.join(PROFILES)}")
    data: dict[str, Any] = json.loads((HERE / f"{profile}.json").read_text(encoding="utf-8"))
    return data


def _error(message: str, message_id: str = "Base.1.0.GeneralError") -> dict[str, Any]:
    return {
        "error": {
            "code": message_id,
            "message": message,
            "@Message.ExtendedInfo": [{"MessageId": message_id, "Message": message}],
        }
    }


class Bmc:
    """One server's BMC of a profile, as a WSGI application."""

    def __init__(
        self,
        profile: str,
        *,
        name: str = "server",
        serial: str | None = None,
        uuid: str | None = None,
        macs: Iterable[str] = (),
        power: str = "Off",
        delay: float = 1.0,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.profile = profile
        self.spec = load(profile)
        self.res: dict[str, dict[str, Any]] = copy.deepcopy(self.spec["resources"])
        self.system = str(self.spec["system"])
        self.delay = delay
        self.auth = auth
        self.faults: dict[str, Any] = {}
        self.sessions: dict[str, str] = {}
        self.tasks: dict[str, tuple[float, Callable[[], None]]] = {}
        self.versions: dict[str, int] = {}
        self.pending_power: tuple[str, float] | None = None
        self.requests: list[
            tuple[str, str, dict[str, str], Any]
        ] = []  # method, path, headers, body
        self._lock = threading.Lock()
        sysres = self.res[self.system]
        sysres["Name"] = name
        sysres["PowerState"] = power
        if serial is not None:
            sysres["SerialNumber"] = serial
        if uuid is not None:
            sysres["UUID"] = uuid
        self._nics(list(macs))

    def _nics(self, macs: list[str]) -> None:
        if not macs:
            return
        template = self.res.pop(self.spec["nic"])
        collection = self.res[template["@odata.id"].rsplit("/", 1)[0]]
        collection["Members"] = []
        for i, mac in enumerate(macs):
            nic = copy.deepcopy(template)
            nic["Id"] = f"{template['Id']}{i}" if i else template["Id"]
            nic["@odata.id"] = f"{collection['@odata.id']}/{nic['Id']}"
            nic["MACAddress"] = nic["PermanentMACAddress"] = mac.upper()
            self.res[nic["@odata.id"]] = nic
            collection["Members"].append({"@odata.id": nic["@odata.id"]})
        collection["Members@odata.count"] = len(macs)

    def power_state(self) -> str:
        with self._lock:
            self.tick()
            return str(self.res[self.system]["PowerState"])

    def set_faults(self, faults: dict[str, Any]) -> None:
        with self._lock:
            self.faults = faults

    # -- state -------------------------------------------------------------------------
    def settings_path(self) -> str:
        bios = self.res[self.res[self.system]["Bios"]["@odata.id"]]
        return str(bios["@Redfish.Settings"]["SettingsObject"]["@odata.id"])

    def etag(self, path: str) -> str | None:
        kind = self.spec["etag"]
        if kind == "none":
            return None
        digest = hashlib.sha1(f"{path}#{self.versions.get(path, 0)}".encode()).hexdigest()
        if kind == "weak":
            return f'W/"{digest[:8]}"'
        return '"' + str(int(digest[:8], 16)) + '"'

    def changed(self, path: str) -> None:
        self.versions[path] = self.versions.get(path, 0) + 1

    def tick(self) -> None:
        """Land a due power action; a power-on is a boot: pending settings take effect."""
        now = time.monotonic()
        for tid, (due, finish) in list(self.tasks.items()):
            if due <= now and finish is not None:
                finish()
                self.tasks[tid] = (due, None)  # type: ignore[assignment]
        if self.pending_power is None or self.pending_power[1] > now:
            return
        state, _ = self.pending_power
        self.pending_power = None
        system = self.res[self.system]
        system["PowerState"] = state
        self.changed(self.system)
        if state == "On":
            self.boot()

    def boot(self) -> None:
        settings = self.res[self.settings_path()]
        bios = self.res[self.res[self.system]["Bios"]["@odata.id"]]
        if settings.get("Attributes") and settings is not bios:
            bios["Attributes"].update(settings["Attributes"])
            settings["Attributes"] = {} if self.profile != "dmtf" else dict(bios["Attributes"])
            self.changed(bios["@odata.id"])
            self.changed(settings["@odata.id"])
        boot = self.res[self.system].setdefault("Boot", {})
        if boot.get("BootSourceOverrideEnabled") == "Once":
            boot["BootSourceOverrideEnabled"] = "Disabled"
            boot["BootSourceOverrideTarget"] = "None"

    # -- WSGI ----------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Start) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = "/" + environ.get("PATH_INFO", "").strip("/")
        headers = {
            k[5:].replace("_", "-").title(): str(v)
            for k, v in environ.items()
            if k.startswith("HTTP_")
        }
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self.requests.append((method, path, headers, body))
            self.tick()
            status, out, extra = self.handle(method, path, headers, body)
        data = b"" if out is None else json.dumps(out, sort_keys=True).encode()
        hdrs = [("Content-Length", str(len(data))), ("OData-Version", "4.0")]
        if data:
            hdrs.append(("Content-Type", "application/json;charset=utf-8"))
        hdrs += list(extra.items())
        start_response(status, hdrs)
        return [data]

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Result:
        if self.faults.get("busy"):
            self.faults["busy"] -= 1
            return "503 Service Unavailable", _error("The service is busy."), {"Retry-After": "1"}
        if path in (ROOT, ROOT + "/"):
            return self._get(ROOT + "/")
        sessions = self.res[ROOT + "/SessionService"]["Sessions"]["@odata.id"]
        if method == "POST" and path == sessions:
            return self._login(body)
        if not self._authorized(headers):
            return "401 Unauthorized", _error("Authorization failed."), {}
        if method == "DELETE" and path.startswith(sessions + "/"):
            self.sessions.pop(path.rsplit("/", 1)[-1], None)
            return "204 No Content", None, {}
        if method == "GET":
            return self._get(path)
        if method == "PATCH":
            return self._patch(path, headers, body or {})
        if method == "POST" and path.endswith("/Actions/ComputerSystem.Reset"):
            return self._reset(body or {})
        return "405 Method Not Allowed", _error(f"{method} {path} is not allowed"), {}

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.auth is None:
            return True
        if self.faults.pop("expire_sessions", False):
            self.sessions.clear()
        if headers.get("X-Auth-Token") in self.sessions.values():
            return True
        basic = headers.get("Authorization", "")
        if self.spec["auth"] == "any" and basic.startswith("Basic "):
            user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            return (user, password) == self.auth
        return False

    def _login(self, body: Any) -> Result:
        creds = (body or {}).get("UserName"), (body or {}).get("Password")
        if self.auth is not None and creds != self.auth:
            return "401 Unauthorized", _error("Authorization failed."), {}
        sid, token = secrets.token_hex(4), secrets.token_hex(16)
        self.sessions[sid] = token
        where = f"{self.res[ROOT + '/SessionService']['Sessions']['@odata.id']}/{sid}"
        session = {"@odata.id": where, "Id": sid, "Name": "User Session", "UserName": creds[0]}
        return "201 Created", session, {"X-Auth-Token": token, "Location": where}

    def _get(self, path: str) -> Result:
        if path in self.tasks:
            task = copy.deepcopy(self.res[self.spec["task"]])
            task["@odata.id"] = path
            task["Id"] = path.rsplit("/", 1)[-1]
            running = self.tasks[path][1] is not None
            task["TaskState"] = "Running" if running else "Completed"
            return ("202 Accepted" if running else "200 OK"), task, {}
        res = self.res.get(path)
        if res is None:
            return "404 Not Found", _error(f"The resource at the URI {path} was not found."), {}
        out = copy.deepcopy(res)
        tag = self.etag(path)
        extra: dict[str, str] = {}
        if self.faults.get("no_etag"):
            out.pop("@odata.etag", None)
        elif tag is not None:
            if self.spec["etag"] == "odata":
                out["@odata.etag"] = tag
            extra["ETag"] = tag
        return "200 OK", out, extra

    def _precondition(self, path: str, headers: dict[str, str]) -> Result | None:
        if self.spec["etag"] == "none":
            return None
        if self.faults.get("stale_etag"):
            self.faults["stale_etag"] -= 1
            self.changed(path)  # someone else changed it since the client read it
        given = headers.get("If-Match")
        errors = self.spec.get("errors") or {}
        if not given:
            status = int(self.spec["missing_if_match"])
            body = errors.get(str(status))
            name = {412: "Precondition Failed", 428: "Precondition Required"}[status]
            return f"{status} {name}", body, {}
        if given != self.etag(path):
            body = json.loads(json.dumps(errors.get("412")).replace("{path}", path))
            return "412 Precondition Failed", body, {}
        return None

    def _patch(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Result:
        if path not in self.res:
            return "404 Not Found", _error(f"The resource at the URI {path} was not found."), {}
        refused = self._precondition(path, headers)
        if refused is not None:
            return refused
        if path == self.system:
            problem = self._patch_boot(body.get("Boot") or {})
        elif path == self.settings_path():
            problem = self._patch_bios(path, body)
            if problem is None and self.faults.get("task_seconds"):
                return self._task(path, body)
        else:
            return "405 Method Not Allowed", _error(f"PATCH {path} is not allowed"), {}
        if problem is not None:
            return "400 Bad Request", _error(problem, "Base.1.0.PropertyValueNotInList"), {}
        self.changed(path)
        if int(self.spec.get("patch_status") or 204) == 200:
            return self._get(path)
        return "204 No Content", None, {}

    def _patch_boot(self, boot: dict[str, Any]) -> str | None:
        current = self.res[self.system].setdefault("Boot", {})
        allowed = current.get("BootSourceOverrideTarget@Redfish.AllowableValues")
        target = boot.get("BootSourceOverrideTarget")
        if allowed and target is not None and target not in allowed:
            return (
                f"The value {target} for the property BootSourceOverrideTarget is not in "
                "the list of acceptable values."
            )
        enabled = boot.get("BootSourceOverrideEnabled")
        if enabled is not None and enabled not in ("Disabled", "Once", "Continuous"):
            return (
                f"The value {enabled} for the property BootSourceOverrideEnabled is not in "
                "the list of acceptable values."
            )
        current.update(boot)
        return None

    def _patch_bios(self, path: str, body: dict[str, Any]) -> str | None:
        bios = self.res[self.res[self.system]["Bios"]["@odata.id"]]
        attrs = body.get("Attributes") or {}
        unknown = sorted(set(attrs) - set(bios["Attributes"]))
        if unknown:
            return f"The property {unknown[0]} is not in the list of valid properties."
        if not self.faults.get("task_seconds"):
            self.res[path].setdefault("Attributes", {}).update(attrs)
        return None

    def _task(self, path: str, body: dict[str, Any]) -> Result:
        tid = f"{ROOT}/TaskService/Tasks/{len(self.tasks) + 1}"
        attrs = dict(body.get("Attributes") or {})

        def finish() -> None:
            self.res[path].setdefault("Attributes", {}).update(attrs)
            self.changed(path)

        self.tasks[tid] = (time.monotonic() + float(self.faults["task_seconds"]), finish)
        return "202 Accepted", None, {"Location": tid}

    def _reset(self, body: dict[str, Any]) -> Result:
        action = self.res[self.system]["Actions"]["#ComputerSystem.Reset"]
        allowed = action.get("ResetType@Redfish.AllowableValues")
        if allowed is None and action.get("@Redfish.ActionInfo"):
            info = self.res[action["@Redfish.ActionInfo"]]
            allowed = info["Parameters"][0]["AllowableValues"]
        kind = body.get("ResetType")
        if kind not in (allowed or ()):
            msg = f"The value {kind} for the parameter ResetType in the action Reset is invalid."
            return "400 Bad Request", _error(msg, "Base.1.0.ActionParameterValueFormatError"), {}
        system = self.res[self.system]
        due = time.monotonic() + self.delay
        if kind in ("On", "ForceOn"):
            if system["PowerState"] != "On":
                self.pending_power = ("On", due)
        elif kind in ("ForceOff", "GracefulShutdown"):
            if system["PowerState"] != "Off":
                self.pending_power = ("Off", due)
        elif kind != "Nmi":
            system["PowerState"] = "Off"  # a restart: down now, up after the delay
            self.pending_power = ("On", due)
        return "204 No Content", None, {}


def serve(
    bmc: Bmc, *, port: int = 0, tls: tuple[str, str] | None = None
) -> tuple[Any, threading.Thread, str]:
    """Serve `bmc` on 127.0.0.1 in a thread: (server, thread, base URL); `tls` is (cert, key).
    Stop it with `server.shutdown()`."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, bmc, threaded=True, ssl_context=tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    return server, thread, f"{scheme}://127.0.0.1:{server.server_port}"
