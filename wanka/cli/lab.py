"""`wanka lab`: the emulated cluster on this machine (up, status, power, ssh, fault, down)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wanka.cli.common import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, not_valid

TARGET_HELP = "the cluster file, or the lab directory"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    lab = sub.add_parser(
        "lab",
        help="the emulated cluster on this machine: up, status, power, fault, down (root)",
        description="Run a cluster on one Linux machine: a network namespace per server and "
        "switch, veth pairs cabled as cabling.csv says, FRR with the rendered frr.conf and sshd "
        "on its loopback on every routed switch, lldpd everywhere, a Redfish BMC per server "
        "(sushy-tools, on loopback) and, while a server is powered on, its sshd on its "
        "management address with the emulated npu-smi, hccn_tool and nvme; with "
        "software.mirror, the local mirror over HTTP at its URL's management address. Everything "
        "created is recorded in the lab directory's state.json; `down` removes exactly that. "
        "docs/lab.md has the details.",
        epilog="Exit codes: 0 done, 1 invalid cluster or the lab failed, 2 unreadable input or "
        "usage error.",
    )
    lab.set_defaults(run=cmd_lab)
    actions = lab.add_subparsers(dest="lab_command", metavar="ACTION")
    actions.required = True
    _register_up(actions)
    for action, text in (("status", "what runs"), ("down", "remove everything the lab created")):
        a = actions.add_parser(action, help=text)
        a.add_argument("target", metavar="FILE|DIR", help=TARGET_HELP)
    _register_power_ssh(actions)
    _register_fault(actions)


def _delay(text: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("-")
    if not sep:
        hi = lo
    if not (lo.isdigit() and hi.isdigit()) or int(lo) > int(hi):
        raise argparse.ArgumentTypeError(f"write LO-HI in whole seconds, e.g. 1-3, not {text!r}")
    return int(lo), int(hi)


def _count(text: str) -> int:
    from wanka.lab.execnodes import MAX

    if not text.isdigit() or not 1 <= int(text) <= MAX:
        raise argparse.ArgumentTypeError(f"a count from 1 to {MAX}, not {text!r}")
    return int(text)


def _register_up(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    up = actions.add_parser(
        "up",
        help="bring the lab of a cluster file up (idempotent; on a running lab, --faults "
        "replaces its faults)",
    )
    up.add_argument("file", metavar="FILE", help="cluster file")
    up.add_argument("--dir", metavar="DIR", help="lab directory (default /run/wanka-lab/NAME)")
    up.add_argument(
        "--faults",
        metavar="F",
        help="faults to inject: a YAML file listing them, or specs separated by commas, e.g. "
        "'link-down:NODE:npu3,bmc-slow:NODE=8' (kinds: `wanka lab fault --help`)",
    )
    up.add_argument(
        "--power-delay",
        metavar="SECONDS",
        type=_delay,
        help="seconds a BMC takes to apply a power action: a whole number, or a range LO-HI "
        "from which each action draws one (default 1-11, as sushy-tools; real BMCs vary too)",
    )
    up.add_argument(
        "--ssh-key",
        metavar="PATH",
        help="also authorise this private key's public half on the servers (default: the "
        "cluster's ssh credential when it is a file reference to an existing key)",
    )
    up.add_argument(
        "--execution-nodes",
        type=_count,
        default=0,
        metavar="N",
        help="also N execution nodes (1 to 16): namespaces that reach the servers through the "
        "jump host and the BMCs through a relay, for `wanka bringup|verify --execution-nodes N`",
    )
    up.add_argument(
        "--network-only",
        action="store_true",
        help="namespaces, cables, FRR and lldpd only: no BMCs, no servers",
    )


def _register_power_ssh(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pw = actions.add_parser(
        "power",
        help="power servers on or off through their Redfish BMCs",
        description="Send the Redfish power action to the BMC of each server (all of them when "
        "none is named). The BMC applies it after its power delay; --wait waits for it and, "
        "for `on`, for the server's sshd.",
    )
    pw.add_argument("target", metavar="FILE|DIR", help=TARGET_HELP)
    pw.add_argument("state", choices=("on", "off"))
    pw.add_argument("nodes", nargs="*", metavar="NODE", help="servers (default: all)")
    pw.add_argument("--wait", action="store_true", help="wait until the power state is reached")
    pw.add_argument("--timeout", type=float, default=60.0, metavar="S", help="for --wait")
    sh = actions.add_parser(
        "ssh",
        help="ssh to a lab server (through the lab's jump host) as root",
        description="Run ssh to NODE's management address with the lab's key, its known "
        "hosts and its jump host (the options are in access.json's ssh.options, for other "
        "tools). The server must be powered on.",
    )
    sh.add_argument("target", metavar="FILE|DIR", help=TARGET_HELP)
    sh.add_argument("node", metavar="NODE", help="the server")
    sh.add_argument(
        "remote",
        nargs=argparse.REMAINDER,
        metavar="COMMAND",
        help="a command to run (default: a shell)",
    )


def _register_fault(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fl = actions.add_parser(
        "fault",
        help="inject, clear or list faults on a running lab",
        description="Faults are written KIND:TARGET[:PORT][=VALUE]: "
        "power-never:NODE, bmc-slow:NODE[=SECONDS], bmc-down:NODE, link-down:NODE:npuN, "
        "cable-swap:NODE:npuA=NODE2:npuB, link-speed:NODE:npuN[=MBPS], "
        "nvme-missing:NODE[=COUNT], "
        "npu-health:NODE:npuN[=Warning|Alarm|Critical], firmware:NODE=VERSION, "
        "no-kernel-headers:NODE, bgp-down:SWITCH:IFNAME.",
    )
    fl.add_argument("target", metavar="FILE|DIR", help=TARGET_HELP)
    fl.add_argument("action", choices=("add", "clear", "list"))
    fl.add_argument("specs", nargs="*", metavar="SPEC", help="fault specs, or a YAML file of them")
    fl.add_argument("--all", action="store_true", help="with clear: every fault")


def say(text: str) -> None:
    print(f"wanka lab: {text}", file=sys.stderr, flush=True)


def _lab_dir(target: str) -> Path | None:
    """The lab directory of a cluster file (its default one) or the directory itself.
    Only the cluster's name is read: a lab stays reachable after its file became invalid."""
    from wanka.lab.state import default_dir

    path = Path(target)
    if not path.is_file():
        return path
    from wanka.pipeline import check

    result = check(str(path))
    if result.cluster is None:
        return None
    return default_dir(result.cluster.name)


def cmd_lab(args: argparse.Namespace) -> int:
    from wanka.lab import faults as lab_faults
    from wanka.lab import netlab
    from wanka.lab.access import AccessError

    try:
        if args.lab_command == "up":
            return _lab_up(args)
        target = _lab_dir(args.target)
        if target is None:
            say(f"cannot read the cluster name from {args.target}: give the lab directory")
            return EXIT_UNREADABLE
        return ACTIONS[args.lab_command](target, args)
    except (netlab.LabError, lab_faults.FaultError, AccessError) as e:
        say(str(e))
        return EXIT_INVALID


def _lab_up(args: argparse.Namespace) -> int:
    from wanka.lab import faults as lab_faults
    from wanka.lab import netlab
    from wanka.pipeline import NotValid, open_cluster

    specs = lab_faults.read(args.faults) if args.faults is not None else None
    try:
        derived = open_cluster(args.file)
    except NotValid as e:
        return not_valid(e)
    netlab.up(
        derived,
        args.dir,
        progress=say,
        servers=not args.network_only,
        power_delay=args.power_delay,
        ssh_key=Path(args.ssh_key) if args.ssh_key else None,
        execution_nodes=args.execution_nodes,
        faults=specs,
    )
    return EXIT_OK


def _lab_status(target: Path, args: argparse.Namespace) -> int:
    from wanka.lab import netlab

    json.dump(netlab.status(target), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return EXIT_OK


def _lab_down(target: Path, args: argparse.Namespace) -> int:
    from wanka.lab import netlab

    outcome = netlab.down(target, progress=say)
    if outcome.get("left"):
        say(f"left in place (not ours to stop): {outcome['left']}")
        return EXIT_INVALID
    return EXIT_OK


def _running_lab(target: Path) -> Any:
    from wanka.lab import netlab
    from wanka.lab.state import State

    state = State.load(target)
    if state is None:
        raise netlab.LabError(f"no lab in {target} (no state.json): `wanka lab up` first")
    if not state.servers:
        raise netlab.LabError(f"the lab in {target} runs no BMCs or servers (--network-only)")
    return state


def _lab_power(target: Path, args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from wanka.drivers.redfish import Client, RedfishError
    from wanka.lab import access as lab_access
    from wanka.lab import netlab, nodes

    _running_lab(target)
    access = lab_access.read(target)
    names = args.nodes or sorted(access.nodes)
    unknown = [n for n in names if n not in access.nodes]
    if unknown:
        raise netlab.LabError(f"no server named {unknown[0]} in this lab")
    want = "On" if args.state == "on" else "Off"

    def one(name: str) -> str | None:
        client = Client(*access.bmc_of(name), timeout=10)
        try:
            client.set_power(args.state == "on")
            if args.wait and not client.wait_power(want, args.timeout):
                return f"{name}: still not {want} after {args.timeout:g} s"
            if args.wait and want == "On":
                deadline = time.monotonic() + 15
                while not nodes.running(target, name) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if not nodes.running(target, name):
                    return f"{name}: powered on, but its sshd did not start"
        except RedfishError as e:
            return f"{name}: {e}"
        finally:
            client.close()
        return None

    with ThreadPoolExecutor(max_workers=16) as pool:
        problems = [p for p in pool.map(one, names) if p]
    for p in problems:
        say(p)
    done = len(names) - len(problems)
    verb = "is" if args.wait else "asked to be"
    say(f"{done} of {len(names)} server(s) {verb} powered {args.state}")
    return EXIT_INVALID if problems else EXIT_OK


def _lab_ssh(target: Path, args: argparse.Namespace) -> int:
    from wanka.lab import access as lab_access
    from wanka.lab import netlab

    _running_lab(target)
    access = lab_access.read(target)
    node = access.nodes.get(args.node)
    if node is None:
        raise netlab.LabError(f"no server named {args.node} in this lab")
    command = args.remote[1:] if args.remote[:1] == ["--"] else args.remote
    argv = ["ssh", *access.ssh.options, f"{access.ssh.user}@{node.address}", *command]
    sys.stdout.flush()
    os.execvp("ssh", argv)
    return EXIT_INTERNAL  # not reached


def _lab_fault(target: Path, args: argparse.Namespace) -> int:
    from wanka.lab import faults as lab_faults

    state = _running_lab(target)
    if args.action == "list":
        for spec in state.faults:
            print(spec)
        return EXIT_OK
    specs: list[str] = []
    for s in args.specs:
        specs.extend(lab_faults.read(s))
    if args.action == "add":
        if not specs:
            say("fault add: name at least one fault")
            return EXIT_UNREADABLE
        want = list(state.faults) + [s for s in specs if s not in state.faults]
    else:
        if not specs and not args.all:
            say("fault clear: name the faults to clear, or --all")
            return EXIT_UNREADABLE
        canon = {lab_faults.parse(s).spec for s in specs}
        unknown = sorted(canon - set(state.faults))
        if unknown and not args.all:
            have = ", ".join(state.faults) or "none"
            say(f"not injected: {', '.join(unknown)} (injected: {have})")
            return EXIT_INVALID
        want = [] if args.all else [s for s in state.faults if s not in canon]
    lab_faults.apply(state, want, progress=say)
    return EXIT_OK


ACTIONS: dict[str, Callable[[Path, argparse.Namespace], int]] = {
    "status": _lab_status,
    "down": _lab_down,
    "power": _lab_power,
    "ssh": _lab_ssh,
    "fault": _lab_fault,
}
