"""`wanka bmc`: the operator's actions on the cluster's BMCs, in parallel, through the one
Redfish client (wanka.drivers.redfish): power on/off/cycle, the boot override, BIOS
attributes, and `inspect`, which reads each server's serial number and NIC MACs from its
BMC and compares them with the manifest, so a server in the wrong rack position (two
servers swapped) is caught before bring-up.

Which BMCs: the cluster's servers (excluded ones left out), narrowed by phase and by
`--limit` (comma-separated node names, rack, pod or phase names, or shell wildcards of
them). Where each BMC is: https:// and its out-of-band address, or, with a lab, the lab's
access file (`bmc.url`, each node's `system`, and a node's own `bmc` URL where it has one).
Its certificate is checked as the cluster file says (render.inventory.bmc_verify).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from wanka.credentials import CredentialError, resolve
from wanka.derive.bundle import Derived
from wanka.drivers.redfish import Client, RedfishError
from wanka.lab.access import Access
from wanka.render.inventory import bmc_verify

BOOT = {"pxe": "Pxe", "disk": "Hdd", "none": "None"}


class BmcCommandError(Exception):
    """The command cannot run (no such host, unresolvable credential): the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    name: str
    url: str
    system: str | None
    verify: bool | str
    rack: str
    pod: str
    phase: str
    serial: str | None  # the manifest's
    macs: tuple[str, ...]  # the manifest's, lower case


@dataclass(slots=True, kw_only=True)
class Outcome:
    node: str
    ok: bool
    changed: bool = False
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"node": self.node, "ok": self.ok, "changed": self.changed,
                "detail": self.detail, **({"data": self.data} if self.data else {})}  # fmt: skip


def _selected(limit: str | None) -> Callable[[Target], bool]:
    patterns = [p.strip() for p in (limit or "").split(",") if p.strip()]

    def match(t: Target) -> bool:
        if not patterns:
            return True
        keys = (t.name, t.rack, t.pod, t.phase)
        return any(fnmatch.fnmatchcase(k, p) for p in patterns for k in keys)

    return match


def targets(
    d: Derived,
    *,
    phase: str | None = None,
    limit: str | None = None,
    access: Access | None = None,
) -> list[Target]:
    """The BMCs to act on, in the cluster's node order (`access`: a lab's servers, each at
    its BMC there)."""
    out = []
    for node in d.cluster.nodes:
        if node.excluded or (phase is not None and node.pod.phase.name != phase):
            continue
        system: str | None
        if access is not None:
            if node.name not in access.nodes:
                continue  # not a lab server
            url, system = access.bmc_of(node.name)
        else:
            address = d.addressing.bmcs.get(node.name)
            if address is None:
                continue
            url, system = f"https://{address}", None
        facts = node.facts
        out.append(
            Target(
                name=node.name,
                url=url,
                system=system,
                verify=bmc_verify(d, node),
                rack=node.rack.name,
                pod=node.pod.name,
                phase=node.pod.phase.name,
                serial=facts.serial if facts else None,
                macs=tuple(sorted(facts.macs.values())) if facts else (),
            )  # fmt: skip
        )
    match = _selected(limit)
    chosen = [t for t in out if match(t)]
    if not chosen:
        where = f" in phase {phase}" if phase else ""
        raise BmcCommandError(
            f"no server BMC{where}" + (f" matches --limit {limit!r}" if limit else "")
        )
    return chosen


def credentials(d: Derived, use: bool) -> tuple[str, str] | None:
    """(user, password) from the cluster file's bmc credential reference (env or file)."""
    cred = d.cluster.credentials.get("bmc")
    if not use or cred is None or cred.password is None:
        return None
    try:
        value = resolve(cred.password, "BMC password (the cluster file's credentials.bmc)")
    except CredentialError as e:
        raise BmcCommandError(str(e)) from None
    return cred.username, value


# -- the actions, one BMC each -------------------------------------------------------------


def power(c: Client, state: str, timeout: float) -> Outcome:
    started = time.monotonic()
    if state == "cycle":
        if c.power_state() == "On":
            c.restart()
            time.sleep(0.2)
        else:
            c.set_power(True)
        want, changed = "On", True
    else:
        want = "On" if state == "on" else "Off"
        changed = c.set_power(state == "on")
    if not changed:
        return Outcome(node="", ok=True, detail=f"already {want}")
    if timeout <= 0:
        return Outcome(node="", ok=True, changed=True, detail=f"{state}: asked for {want}")
    if not c.wait_power(want, timeout):
        late = f"still {c.power_state()} {timeout:g} s after asking for {want}"
        return Outcome(node="", ok=False, changed=True, detail=late)
    took = time.monotonic() - started
    return Outcome(node="", ok=True, changed=True, detail=f"{state}: {want} after {took:.0f} s")


def boot(c: Client, target: str, once: bool) -> Outcome:
    want = BOOT[target]
    now = c.boot()
    enabled = "Disabled" if want == "None" else ("Once" if once else "Continuous")
    if now["target"] == want and now["enabled"] == enabled:
        return Outcome(node="", ok=True, detail=f"already {want} ({enabled})")
    c.set_boot(want, once=once)
    return Outcome(node="", ok=True, changed=True, detail=f"boot {want} ({enabled})")


def bios_get(c: Client) -> Outcome:
    s = c.bios_settings()
    data = {"current": s["current"], "pending": s["pending"]}
    detail = f"{len(s['current'])} attributes, {len(s['pending'])} pending"
    if s["pending"]:
        detail += ": " + ", ".join(f"{k}={v}" for k, v in sorted(s["pending"].items()))
    return Outcome(node="", ok=True, detail=detail, data=data)


def bios_set(c: Client, attributes: dict[str, Any], apply: str) -> Outcome:
    sent = c.set_bios(attributes, apply=apply)
    if not sent:
        return Outcome(node="", ok=True, detail="in effect or pending already")
    names = ", ".join(f"{k}={v}" for k, v in sorted(sent.items()))
    when = "at the next boot" if apply == "next-boot" else "now"
    return Outcome(node="", ok=True, changed=True, detail=f"{names} ({when})", data=sent)


def inspect(c: Client, t: Target, by_serial: Mapping[str, str]) -> Outcome:
    inv = c.inventory()
    problems = []
    serial = inv.get("serial")
    if t.serial and serial != t.serial:
        other = by_serial.get(str(serial))
        where = f": the manifest's serial of {other}" if other else ""
        problems.append(f"serial {serial}{where} (the manifest says {t.serial})")
    missing = [m for m in t.macs if m not in inv["macs"]]
    if missing:
        problems.append(f"MAC {', '.join(missing)} not on this server")
    if problems:
        return Outcome(node="", ok=False, detail="; ".join(problems), data=inv)
    return Outcome(node="", ok=True, detail=f"serial {serial}, {len(inv['macs'])} MACs", data=inv)


def run(
    targets_: list[Target],
    action: Callable[[Client, Target], Outcome],
    *,
    auth: tuple[str, str] | None,
    timeout: float = 10.0,
    jobs: int = 16,
    progress: Callable[[int, int, Outcome], None] | None = None,
) -> list[Outcome]:
    """`action` on every target's BMC in parallel; outcomes in the targets' order."""

    def one(t: Target) -> Outcome:
        c = Client(t.url, t.system, auth=auth, timeout=timeout, verify=t.verify)
        try:
            out = action(c, t)
        except RedfishError as e:
            out = Outcome(node="", ok=False, detail=str(e))
        finally:
            c.close()
        out.node = t.name
        return out

    results: dict[str, Outcome] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, t) for t in targets_]
        for i, f in enumerate(as_completed(futures), 1):
            o = f.result()
            results[o.node] = o
            if progress is not None:
                progress(i, len(targets_), o)
    return [results[t.name] for t in targets_]
