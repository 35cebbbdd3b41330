"""`wanka bmc`: power, boot override, BIOS and inspection of the cluster's BMCs (the work is
wanka.bringup.bmc's)."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2

EPILOG = (
    "Exit codes: 0 every BMC did what was asked (or already was so), 1 a BMC failed or "
    "(inspect) a server is not the one the manifest puts there, 2 unreadable input or usage "
    "error (invalid cluster, no such host, credential not resolvable), 3 internal error."
)


def _attribute(text: str) -> tuple[str, Any]:
    from wanka.language.loader import resolve_plain

    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"NAME=VALUE, not {text!r}")
    return name, resolve_plain(value)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "bmc",
        help="power, boot override, BIOS and inspection of the servers' BMCs (Redfish)",
        description="Act on the BMCs of the cluster's servers through Redfish, in parallel, "
        "with a progress line: `power on|off|cycle`, `boot pxe|disk|none` (once: the boot "
        "after uses the normal order), `bios get`, `bios set NAME=VALUE...` (staged for the "
        "next boot, or --apply now), `inspect` (serial number and NIC MACs read from each BMC, "
        "compared with the manifest: catches servers in the wrong rack position). TLS "
        "certificates are checked as credentials.bmc_tls and the manifest's bmc.ca say.",
        epilog=EPILOG,
    )
    p.add_argument("file", metavar="FILE", help="cluster file")
    p.add_argument("--phase", metavar="P", help="only this phase's servers")
    p.add_argument(
        "--limit",
        metavar="HOSTS",
        help="comma-separated node, rack, pod or phase names, or shell wildcards of them",
    )
    p.add_argument(
        "--lab",
        nargs="?",
        const="",
        metavar="DIR",
        help="the lab of `wanka lab up` (its access.json: BMC URLs, system ids); DIR defaults "
        "to the cluster's lab directory",
    )
    p.add_argument("--format", choices=["table", "json"], default="table", help="output")
    p.add_argument("--jobs", type=int, default=16, metavar="N", help="BMCs at once (16)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds per answer")
    verbs = p.add_subparsers(dest="verb", metavar="ACTION")
    verbs.required = True
    pw = verbs.add_parser("power", help="power on, off, or cycle (restart a running server)")
    pw.add_argument("state", choices=["on", "off", "cycle"])
    pw.add_argument("--wait", type=float, default=300.0, metavar="S",
                    help="seconds to wait for the power state (0: do not wait)")  # fmt: skip
    bt = verbs.add_parser("boot", help="the boot override for the next boot")
    bt.add_argument("target", choices=["pxe", "disk", "none"])
    bt.add_argument("--once", dest="once", action="store_true", default=True,
                    help="for the next boot only (the default)")  # fmt: skip
    bt.add_argument("--continuous", dest="once", action="store_false",
                    help="for every boot until cleared")  # fmt: skip
    bi = verbs.add_parser("bios", help="read or stage BIOS attributes")
    bi.add_argument("op", choices=["get", "set"])
    bi.add_argument("attributes", nargs="*", type=_attribute, metavar="NAME=VALUE")
    bi.add_argument(
        "--apply",
        choices=["next-boot", "now"],
        default="next-boot",
        help="when set attributes take effect (now: restart a running server)",
    )
    verbs.add_parser("inspect", help="serial and MACs from each BMC against the manifest")
    p.set_defaults(run=cmd)


def _action(args: argparse.Namespace, by_serial: dict[str, str]) -> Any:
    from wanka.bringup import bmc

    if args.verb == "power":
        return lambda c, t: bmc.power(c, args.state, args.wait)
    if args.verb == "boot":
        return lambda c, t: bmc.boot(c, args.target, args.once)
    if args.verb == "bios" and args.op == "get":
        return lambda c, t: bmc.bios_get(c)
    if args.verb == "bios":
        return lambda c, t: bmc.bios_set(c, dict(args.attributes), args.apply)
    return lambda c, t: bmc.inspect(c, t, by_serial)


def _progress(done: int, total: int, outcome: Any, *, tty: bool) -> None:
    mark = "ok" if outcome.ok else "FAILED"
    line = f"wanka bmc: [{done}/{total}] {outcome.node} {mark}"
    if tty:
        sys.stderr.write("\r\x1b[2K" + line + ("\n" if done == total else ""))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def cmd(args: argparse.Namespace) -> int:
    from wanka.bringup import bmc
    from wanka.bringup.prepare import BringupError, lab_access, open_derived
    from wanka.lab.state import default_dir

    if args.verb == "bios" and args.op == "set" and not args.attributes:
        print("wanka bmc: bios set: give NAME=VALUE attributes", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        d = open_derived(args.file, args.phase)
        access = None
        if args.lab is not None:
            access = lab_access(args.lab or str(default_dir(d.cluster.name)))
        targets = bmc.targets(d, phase=args.phase, limit=args.limit, access=access)
        use_auth = access is None or access.bmc_auth
        auth = bmc.credentials(d, use_auth)
    except (BringupError, bmc.BmcCommandError) as e:
        print(f"wanka bmc: {args.file}: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    by_serial = {t.serial: t.name for t in bmc.targets(d, access=access) if t.serial}
    outcomes = bmc.run(
        targets,
        _action(args, by_serial),
        auth=auth,
        timeout=args.timeout,
        jobs=args.jobs,
        progress=partial(_progress, tty=sys.stderr.isatty()),
    )
    _print(args, outcomes)
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED


def _print(args: argparse.Namespace, outcomes: list[Any]) -> None:
    if args.format == "json":
        json.dump([o.as_json() for o in outcomes], sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return
    width = max(len(o.node) for o in outcomes)
    print(f"{'NODE':<{width}}  {'RESULT':<9}  DETAIL")
    for o in outcomes:
        result = "FAILED" if not o.ok else ("changed" if o.changed else "ok")
        print(f"{o.node:<{width}}  {result:<9}  {o.detail}")
    failed = sum(not o.ok for o in outcomes)
    changed = sum(o.changed for o in outcomes)
    print(f"{len(outcomes)} BMC(s): {changed} changed, {failed} failed")
