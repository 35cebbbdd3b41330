"""The lab's BMCs: sushy-tools' Redfish emulator (fake driver), one system per server.

One process serves every server's BMC on loopback (`http://127.0.0.1:<port>`, the system id
is the node's UUID, its name the node name). It is sushy-tools' own Flask application with
three additions, all in this module:

- `LabDriver`, the fake driver plus BIOS attributes (the stock fake driver has none) and a
  configurable power delay: a power action lands `WANKA_POWER_DELAY` seconds later (a random
  whole number in the range; sushy-tools' own 1-11 s by default), as on real BMCs.
- `FaultGate`, a WSGI middleware in front of the application that acts out the BMC faults of
  `faults.json` (re-read when it changes): a BMC that answers slowly (`slow`: seconds per
  request), one that never answers (`down`: the request hangs until the client gives up), a
  server that never powers on (`power_never`: a reset that would power it on is accepted,
  204, and nothing happens; power-off still works).
- servers whose BMC firmware is a vendor's (the model's bmc.firmware) get a BMC of that
  profile of their own (`wanka.lab.vendorbmc`, each on its own port, listed in
  `vendor-ports.json`, behind the same FaultGate), with the vendor quirks of faults.json's
  `vendor` entry (stale ETags, 503s, long tasks, expired sessions); their state is in memory.
- a power watcher (with `--watch`): a thread that reads every system's power state each
  `POLL` seconds and calls `wanka.lab.nodes.power_changed` on each change, which starts the
  server's sshd on power-on and stops everything running on the server on power-off. The
  watcher reads the driver directly, not through the gate: a faulty BMC does not stop a
  powered server from running.

Files in the BMC directory (`<lab>/bmc/`): `emulator.conf` (sushy-tools configuration, Python
syntax), `faults.json`, `port` (`PID PORT`, written once the server listens), `state/` (the driver's
sqlite state: power and BIOS survive a restart of the emulator).

`python -m wanka.lab.bmc DIR [--watch LAB_DIR]` runs it; `start()` starts it as a child process
and waits for its port. It needs no root: tests of the Redfish client and the Pulumi provider
start one of their own.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

CONFIG = "emulator.conf"
FAULTS = "faults.json"
PORT_FILE = "port"
LOG = "emulator.log"
POLL = 0.5
# a restart keeps the server off at least this long: the watcher, reading every POLL s, sees
# the off (a shorter one, int(now) + 1 - now, could fall between two reads: no restart)
RESTART_OFF = 3 * POLL
HANG = 900.0  # seconds a `down` BMC holds a request: longer than any client's timeout
DEFAULT_DELAY = (1, 11)

DEFAULT_BIOS = {
    "BootMode": "Uefi",
    "ProcTurboMode": "Enabled",
    "NumaGroupSizeOpt": "Clustered",
    "PowerProfile": "Performance",
    "SriovGlobalEnable": "Enabled",
}

# a fixed namespace: a node's UUID follows from the cluster and node names, stable across labs
_NS = uuid.UUID("6f1c7a2e-4b8d-5e3f-9a01-77a3c0de1ab5")


def system_uuid(cluster: str, node: str) -> str:
    return str(uuid.uuid5(_NS, f"{cluster}/{node}"))


def system(
    cluster: str,
    node: str,
    nics: Iterable[tuple[str, str]],
    *,
    firmware: str = "generic",
    serial: str | None = None,
) -> dict[str, Any]:
    """The fake driver's record of one server: (mac, ip) per NIC. A server whose BMC
    firmware is a vendor's (`firmware`, the model's bmc.firmware) is served by a BMC of that
    profile instead (wanka.lab.vendorbmc), reporting `serial`."""
    out: dict[str, Any] = {
        "uuid": system_uuid(cluster, node),
        "name": node,
        "power_state": "Off",
        "external_notifier": False,
        "nics": [{"mac": mac, "ip": ip} for mac, ip in nics],
        "bios": dict(DEFAULT_BIOS),
    }
    if firmware != "generic":
        out["firmware"], out["serial"] = firmware, serial
    return out


def write_config(
    where: Path,
    systems: list[dict[str, Any]],
    *,
    delay: tuple[int, int] = DEFAULT_DELAY,
) -> Path:
    """Write the emulator's configuration into `where` (created) and an empty fault file."""
    where.mkdir(parents=True, exist_ok=True)
    vendor = [s for s in systems if s.get("firmware")]
    systems = [s for s in systems if not s.get("firmware")]
    lines = [
        "# written by wanka lab: sushy-tools configuration (Python syntax)",
        "SUSHY_EMULATOR_FAKE_DRIVER = True",
        f"SUSHY_EMULATOR_STATE_DIR = {str(where / 'state')!r}",
        f"SUSHY_EMULATOR_FAKE_SYSTEMS = {systems!r}",
        f"WANKA_POWER_DELAY = {tuple(delay)!r}",
        f"WANKA_VENDOR_SYSTEMS = {vendor!r}",
        "",
    ]
    path = where / CONFIG
    path.write_text("\n".join(lines), encoding="utf-8")
    write_faults(where, {})
    return path


def write_faults(where: Path, faults: dict[str, Any]) -> None:
    """Atomically replace faults.json: {"slow": {system: seconds}, "down": [system],
    "power_never": [system], "vendor": {name: {vendorbmc fault: value}}} (system: UUID or
    name; vendor faults act on the vendor-profile BMCs only)."""
    tmp = where / (FAULTS + ".tmp")
    tmp.write_text(json.dumps(faults, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, where / FAULTS)


# -- inside the emulator process ---------------------------------------------------------------


def _lab_driver(base: type) -> type:
    class LabDriver(base):  # type: ignore[misc, valid-type]
        """sushy-tools' fake driver with BIOS attributes and a configurable power delay."""

        def set_power_state(self, identity: str, state: str) -> None:
            low, high = self._config.get("WANKA_POWER_DELAY", DEFAULT_DELAY)
            system = self._get(identity)
            if "On" in state:
                pending = "On"
            elif "Off" in state or "Shutdown" in state:
                pending = "Off"
            else:
                pending = state
            if "Restart" in state:
                system["power_state"] = "Off"
                pending = "On"
            elif pending not in ("On", "Off"):
                from sushy_tools import error

                raise error.NotSupportedError(f"Power state {state} is not supported")
            if system["power_state"] != pending or "Restart" in state:
                when: float = int(time.time()) + random.randint(low, high)
                if "Restart" in state:  # off long enough for the power watcher to see it
                    when = max(when, time.time() + RESTART_OFF)
                self._update(system, pending_power={"power_state": pending, "apply_time": when})

        def get_bios(self, identity: str) -> dict[str, Any]:
            return dict(self._get(identity).get("bios") or DEFAULT_BIOS)

        def set_bios(self, identity: str, attributes: dict[str, Any]) -> None:
            system = self._get(identity)
            bios = dict(system.get("bios") or DEFAULT_BIOS)
            bios.update(attributes or {})
            self._update(system, bios=bios)

        def reset_bios(self, identity: str) -> None:
            self._update(identity, bios=dict(DEFAULT_BIOS))

    return LabDriver


class FaultGate:
    """WSGI middleware acting out the BMC faults of faults.json."""

    def __init__(self, app: Callable[..., Any], fault_file: Path, names: dict[str, str]):
        self.app = app
        self.fault_file = fault_file
        self.names = names  # name -> uuid, so a fault may name either
        self._mtime = -1.0
        self._faults: dict[str, Any] = {}
        self._lock = threading.Lock()

    def faults(self) -> dict[str, Any]:
        try:
            mtime = self.fault_file.stat().st_mtime
        except OSError:
            return {}
        with self._lock:
            if mtime != self._mtime:
                try:
                    raw = json.loads(self.fault_file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    raw = {}
                norm: dict[str, Any] = {"slow": {}, "down": set(), "power_never": set()}
                for k, v in (raw.get("slow") or {}).items():
                    norm["slow"][self.names.get(k, k)] = float(v)
                for key in ("down", "power_never"):
                    norm[key] = {self.names.get(k, k) for k in raw.get(key) or ()}
                self._faults, self._mtime = norm, mtime
            return self._faults

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        ident = parts[3] if len(parts) > 3 and parts[2] == "Systems" else None
        if ident is not None:
            ident = self.names.get(ident, ident)
            f = self.faults()
            if ident in f["down"]:
                time.sleep(HANG)  # hold the connection without a byte: the client times out
            elif ident in f["slow"]:
                time.sleep(f["slow"][ident])
            if (
                ident in f["power_never"]
                and environ.get("REQUEST_METHOD") == "POST"
                and parts[-1] == "ComputerSystem.Reset"
            ):
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                if b"On" in body or b"Restart" in body:  # accepted, and nothing happens
                    start_response("204 No Content", [("Content-Length", "0")])
                    return [b""]
        return self.app(environ, start_response)


PROFILE_OF = {"dmtf-reference": "dmtf", "huawei-ibmc": "ibmc", "ami-megarac": "ami"}
VENDOR_PORTS = "vendor-ports.json"


def _vendor_bmcs(app: Any, where: Path) -> dict[str, Any]:
    """One BMC of its vendor's profile per WANKA_VENDOR_SYSTEMS entry, each on its own
    loopback port behind a FaultGate; their ports go to vendor-ports.json {name: port}."""
    from wanka.lab import vendorbmc

    low, _ = app.config.get("WANKA_POWER_DELAY", DEFAULT_DELAY)
    out: dict[str, Any] = {}
    ports: dict[str, int] = {}
    for v in app.config.get("WANKA_VENDOR_SYSTEMS") or []:
        b = vendorbmc.Bmc(
            PROFILE_OF[v["firmware"]], name=v["name"], serial=v.get("serial"),
            uuid=v["uuid"], macs=[n["mac"] for n in v.get("nics") or []], delay=float(low),
        )  # fmt: skip
        ident = b.system.rsplit("/", 1)[-1]
        gate = FaultGate(b, where / FAULTS, {v["name"]: v["uuid"], ident: v["uuid"]})
        server, _thread, _url = vendorbmc.serve(gate)  # type: ignore[arg-type]
        out[v["name"]] = (b, server)
        ports[v["name"]] = int(server.server_port)
    tmp = where / (VENDOR_PORTS + ".tmp")
    tmp.write_text(json.dumps(ports, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, where / VENDOR_PORTS)
    return out


def _vendor_faults(where: Path, vendors: dict[str, Any], seen: dict[str, Any]) -> None:
    """Hand a vendor BMC its faults from faults.json's `vendor` entry when they changed (a
    count, such as busy's, is armed again only then)."""
    try:
        mtime = (where / FAULTS).stat().st_mtime
        if mtime == seen.get(""):
            return
        raw = json.loads((where / FAULTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    seen[""] = mtime
    wanted = raw.get("vendor") or {}
    for name, (b, _) in vendors.items():
        mine = dict(wanted.get(name) or {})
        if seen.get(name) != mine:
            seen[name] = mine
            b.set_faults(dict(mine))


def _power_states(app: Any, systems: dict[str, str], vendors: dict[str, Any]) -> Iterable[Any]:
    for ident, name in systems.items():
        try:
            yield name, app.systems.get_power_state(ident)
        except Exception:  # a driver hiccup (sqlite busy): next round
            continue
    for name, (b, _) in vendors.items():
        yield name, b.power_state()


def _feed_faults(where: Path, vendors: dict[str, Any], stop: threading.Event) -> None:
    seen: dict[str, Any] = {}
    while not stop.is_set():
        _vendor_faults(where, vendors, seen)
        stop.wait(POLL / 5)


def _watch(
    app: Any,
    systems: dict[str, str],
    lab_dir: Path,
    stop: threading.Event,
    vendors: dict[str, Any] | None = None,
) -> None:
    from wanka.lab import nodes

    known: dict[str, str] = {}
    while not stop.is_set():
        for name, state in _power_states(app, systems, vendors or {}):
            if known.get(name) != state:
                try:
                    nodes.power_changed(lab_dir, name, state == "On")
                    known[name] = state
                except Exception as e:  # keep watching the others; say why in the log
                    print(f"wanka-bmc: {name} power {state}: {e}", file=sys.stderr, flush=True)
        stop.wait(POLL)


def serve(where: Path, watch: Path | None = None, port: int = 0) -> None:
    from sushy_tools.emulator import main as sushy
    from sushy_tools.emulator.resources.systems import fakedriver
    from werkzeug.serving import make_server

    app = sushy.app
    app.configure(config_file=str(where / CONFIG))
    fakedriver.FakeDriver = _lab_driver(fakedriver.FakeDriver)  # before app.systems is built
    systems = {s["uuid"]: s["name"] for s in app.config["SUSHY_EMULATOR_FAKE_SYSTEMS"]}
    gate = FaultGate(app, where / FAULTS, {n: u for u, n in systems.items()})
    server = make_server("127.0.0.1", port, gate, threaded=True)
    vendors = _vendor_bmcs(app, where)
    stop = threading.Event()

    def finish(*_: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()
        for _b, vendor_server in vendors.values():
            threading.Thread(target=vendor_server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    app.systems  # noqa: B018  build the driver (and its state) before answering
    watcher = None
    if watch is not None:
        watcher = threading.Thread(
            target=_watch, args=(app, systems, watch, stop, vendors), daemon=True
        )
        watcher.start()
    if vendors:
        threading.Thread(target=_feed_faults, args=(where, vendors, stop), daemon=True).start()

    tmp = where / (PORT_FILE + ".tmp")
    tmp.write_text(f"{os.getpid()} {server.server_port}\n")
    os.replace(tmp, where / PORT_FILE)
    server.serve_forever()
    stop.set()
    if watcher is not None and watch is not None:
        watcher.join(timeout=5)
        from wanka.lab import nodes

        nodes.power_all_off(watch)


def start(where: Path, *, watch: Path | None = None, timeout: float = 30.0) -> tuple[int, int]:
    """Start the emulator of `where` as a daemon (`setsid --fork`: its own session, not our
    child, so a terminal's ^C does not reach it and no one has to wait for it); wait until it
    listens. Returns (pid, port), read from the port file it writes once it listens."""
    (where / PORT_FILE).unlink(missing_ok=True)
    cmd = ["setsid", "--fork", sys.executable, "-m", "wanka.lab.bmc", str(where)]
    if watch is not None:
        cmd += ["--watch", str(watch)]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(where / LOG, "ab") as log:
        subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, check=True, timeout=30
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            pid, port = (where / PORT_FILE).read_text().split()
            return int(pid), int(port)
        time.sleep(0.05)
    tail = (where / LOG).read_text(errors="replace").strip().splitlines()[-3:]
    raise RuntimeError(
        f"the BMC emulator did not listen within {timeout:g} s ({' | '.join(tail)}): "
        f"see {where / LOG}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wanka.lab.bmc", description=__doc__.split("\n")[0])
    p.add_argument("dir", type=Path, help="the BMC directory (emulator.conf, faults.json)")
    p.add_argument("--watch", type=Path, metavar="LAB_DIR", help="start/stop servers on power")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = p.parse_args(argv)
    serve(args.dir, args.watch, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
