"""The `wanka` command line.

Exit codes (every command):
  0  success: the input is valid (with --strict: and has no warnings)
  1  the input is invalid
  2  the input could not be read, or the command line is wrong
  3  internal error (a bug in wanka: please report it, with WANKA_DEBUG=1 output)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wanka import __version__

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE, EXIT_INTERNAL = 0, 1, 2, 3


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wanka",
        description="Infrastructure as code for 10,000-card Ascend AI training clusters.",
        epilog="Exit codes: 0 valid, 1 invalid, 2 unreadable input or usage error, "
        "3 internal error.",
    )
    p.add_argument("--version", action="version", version=f"wanka {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    v = sub.add_parser(
        "validate",
        help="check cluster files against the schema and the semantic rules",
        description="Check cluster files: YAML, JSON Schema, then the semantic rules. Prints every "
        "problem as `file:line:col: severity[RULE-ID]: message (hint)` and a summary.",
        epilog="Exit codes: 0 valid, 1 invalid (or warnings with --strict), 2 unreadable input "
        "or usage error. Rules: `wanka rules` or docs/rules.md.",
    )
    v.add_argument("files", nargs="+", metavar="FILE", help="cluster file(s) (kind: Cluster)")
    v.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    v.add_argument("--strict", action="store_true", help="fail on warnings too")
    v.add_argument("--quiet", "-q", action="store_true", help="print only problems and the summary")
    v.add_argument(
        "--max-bytes",
        type=_positive,
        default=None,
        metavar="N",
        help="largest file to read (default 16 MiB)",
    )

    pl = sub.add_parser(
        "plan",
        help="summarise what the cluster file derives: capacity, bill of materials, fabric, power",
        description="Validate, derive and summarise: capacity per phase against its target, the "
        "bill of materials (servers, switches, cables, optics), oversubscription, rack power and "
        "cooling, the address plan. --format json gives the same content for CI and reviews.",
        epilog="Exit codes: 0 done, 1 the cluster is invalid, 2 unreadable input or usage error.",
    )
    pl.add_argument("file", metavar="FILE", help="cluster file")
    pl.add_argument("--phase", metavar="P", help="only this phase")
    pl.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    pl.add_argument(
        "--pulumi",
        action="store_true",
        help="instead: the resources each Pulumi stack would create (computed with the SDK's "
        "mocks; no Pulumi CLI needed), per stack and type",
    )
    pl.add_argument(
        "--stack-files",
        metavar="DIR",
        help="with --pulumi: also write Pulumi.<stack>.yaml of every stack into DIR, the Pulumi "
        "project directory (stacks/)",
    )

    rd = sub.add_parser(
        "render",
        help="write inventories, switch configs, hccn.conf, rank tables, cabling and the plan",
        description="Validate, derive and write every generated file into DIR. Output is "
        "deterministic (a re-render is byte-identical) and atomic (written aside, then swapped "
        "in; on failure DIR keeps its previous content).",
        epilog="Exit codes: 0 written, 1 invalid cluster, 2 unreadable input or usage error.",
    )
    rd.add_argument("file", metavar="FILE", help="cluster file")
    rd.add_argument("--out", required=True, metavar="DIR", help="output directory")
    rd.add_argument("--phase", metavar="P", help="only this phase")

    rp = sub.add_parser(
        "report",
        help="write a static HTML report: rack elevations, fabric, capacity, BOM, findings",
        description="Validate, derive and write a self-contained HTML report into DIR "
        "(index.html, and a pod-<pod>.html per pod when there are more than 40 racks): rack "
        "elevations with power and cooling headroom, the fabric per plane, capacity per phase "
        "against its target, the bill of materials and the findings. SVG drawings, inline CSS, "
        "no script, nothing loaded from elsewhere. Written atomically, like render. A cluster "
        "with errors gets a report of its findings only (exit 1).",
        epilog="Exit codes: 0 written, 1 invalid cluster (its findings-only report written), "
        "2 unreadable input or usage error (nothing written).",
    )
    rp.add_argument("file", metavar="FILE", help="cluster file")
    rp.add_argument("--out", required=True, metavar="DIR", help="output directory")
    rp.add_argument("--phase", metavar="P", help="only this phase")

    lab = sub.add_parser(
        "lab",
        help="the emulated cluster on this machine: up, status, power, fault, down (root)",
        description="Run a cluster on one Linux machine: a network namespace per server and "
        "switch, veth pairs cabled as cabling.csv says, FRR with the rendered frr.conf on every "
        "routed switch, lldpd everywhere, a Redfish BMC per server (sushy-tools, on loopback) "
        "and, while a server is powered on, its sshd on its management address with the "
        "emulated npu-smi, hccn_tool and nvme. Everything created is recorded in the lab "
        "directory's state.json; `down` removes exactly that. docs/lab.md has the details.",
        epilog="Exit codes: 0 done, 1 invalid cluster or the lab failed, 2 unreadable input or "
        "usage error.",
    )
    lab_sub = lab.add_subparsers(dest="lab_command", metavar="ACTION")
    lab_sub.required = True
    lab_up = lab_sub.add_parser(
        "up",
        help="bring the lab of a cluster file up (idempotent; on a running lab, --faults "
        "replaces its faults)",
    )
    lab_up.add_argument("file", metavar="FILE", help="cluster file")
    lab_up.add_argument("--dir", metavar="DIR", help="lab directory (default /run/wanka-lab/NAME)")
    lab_up.add_argument(
        "--faults",
        metavar="F",
        help="faults to inject: a YAML file listing them, or specs separated by commas, e.g. "
        "'link-down:NODE:npu3,bmc-slow:NODE=8' (kinds: `wanka lab fault --help`)",
    )
    lab_up.add_argument(
        "--power-delay",
        metavar="SECONDS",
        type=_delay,
        help="seconds a BMC takes to apply a power action: a whole number, or a range LO-HI "
        "from which each action draws one (default 1-11, as sushy-tools; real BMCs vary too)",
    )
    lab_up.add_argument(
        "--ssh-key",
        metavar="PATH",
        help="also authorise this private key's public half on the servers (default: the "
        "cluster's ssh credential when it is a file reference to an existing key)",
    )
    lab_up.add_argument(
        "--network-only",
        action="store_true",
        help="namespaces, cables, FRR and lldpd only: no BMCs, no servers",
    )
    for action, text in (("status", "what runs"), ("down", "remove everything the lab created")):
        a = lab_sub.add_parser(action, help=text)
        a.add_argument("target", metavar="FILE|DIR", help="the cluster file, or the lab directory")
    pw = lab_sub.add_parser(
        "power",
        help="power servers on or off through their Redfish BMCs",
        description="Send the Redfish power action to the BMC of each server (all of them when "
        "none is named). The BMC applies it after its power delay; --wait waits for it and, "
        "for `on`, for the server's sshd.",
    )
    pw.add_argument("target", metavar="FILE|DIR", help="the cluster file, or the lab directory")
    pw.add_argument("state", choices=("on", "off"))
    pw.add_argument("nodes", nargs="*", metavar="NODE", help="servers (default: all)")
    pw.add_argument("--wait", action="store_true", help="wait until the power state is reached")
    pw.add_argument("--timeout", type=float, default=60.0, metavar="S", help="for --wait")
    sh = lab_sub.add_parser(
        "ssh",
        help="ssh to a lab server (through the lab's jump host) as root",
        description="Run ssh to NODE's management address with the lab's key, its known "
        "hosts and its jump host (the options are in access.json's ssh.options, for other "
        "tools). The server must be powered on.",
    )
    sh.add_argument("target", metavar="FILE|DIR", help="the cluster file, or the lab directory")
    sh.add_argument("node", metavar="NODE", help="the server")
    sh.add_argument(
        "remote",
        nargs=argparse.REMAINDER,
        metavar="COMMAND",
        help="a command to run (default: a shell)",
    )
    fl = lab_sub.add_parser(
        "fault",
        help="inject, clear or list faults on a running lab",
        description="Faults are written KIND:TARGET[:PORT][=VALUE]: "
        "power-never:NODE, bmc-slow:NODE[=SECONDS], bmc-down:NODE, link-down:NODE:npuN, "
        "cable-swap:NODE:npuA=NODE2:npuB, link-speed:NODE:npuN[=MBPS], "
        "nvme-missing:NODE[=COUNT], "
        "npu-health:NODE:npuN[=Warning|Alarm|Critical], firmware:NODE=VERSION, "
        "bgp-down:SWITCH:IFNAME.",
    )
    fl.add_argument("target", metavar="FILE|DIR", help="the cluster file, or the lab directory")
    fl.add_argument("action", choices=("add", "clear", "list"))
    fl.add_argument("specs", nargs="*", metavar="SPEC", help="fault specs, or a YAML file of them")
    fl.add_argument("--all", action="store_true", help="with clear: every fault")

    df = sub.add_parser(
        "diff",
        help="what a change to a cluster file does: things, addresses, cables, power, parts",
        description="Semantic diff of two cluster files (or, with --git REV, of FILE as of REV "
        "and FILE in the working tree, includes and all): software versions, credential "
        "references, catalog parts, planes, phases, pods, racks, nodes and switches added, "
        "removed, changed or renamed; addresses, subnets and cables that "
        "change; capacity per phase and power and cooling per rack before and after; the parts "
        "to order. A change that renumbers, recables or removes anything in a phase whose "
        "status in OLD is building or live is blocking (DIFF-LIVE-RENUMBER, DIFF-LIVE-RECABLE, "
        "DIFF-LIVE-REMOVE). Both files must validate: an invalid one gets its findings printed "
        "and exit 2, since a diff of an invalid cluster means nothing.",
        epilog="Exit codes: 0 nothing blocking (or --allow-live-changes), 1 blocking changes, "
        "2 unreadable or invalid input, unknown revision, or usage error. See docs/review.md.",
    )
    df.add_argument(
        "files", nargs="*", metavar="FILE", help="OLD NEW; with --git, one FILE (cluster.yaml)"
    )
    df.add_argument("--git", metavar="REV", help="compare FILE as of git revision REV with FILE")
    df.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="output format"
    )
    df.add_argument(
        "--allow-live-changes",
        action="store_true",
        help="report changes to building and live phases but do not fail on them",
    )
    df.add_argument(
        "--limit",
        type=int,
        default=40,
        metavar="N",
        help="lines per section in text and markdown (default 40, 0 for all; json lists all)",
    )

    from wanka.cli import bringup as cli_bringup

    cli_bringup.add_parsers(sub)

    r = sub.add_parser(
        "rules",
        help="list the rule ids and what they check",
        description="List every rule id wanka can report, with an example message.",
    )
    r.add_argument("--format", choices=("text", "markdown", "json"), default="text")

    s = sub.add_parser(
        "schema",
        help="print the path of the cluster JSON Schema (or, with --print, the schema itself)",
    )
    s.add_argument("--print", action="store_true", help="print the schema instead of its path")
    return p


def _colour() -> bool:
    """Colour on a terminal, unless NO_COLOR is set (https://no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def cmd_validate(args: argparse.Namespace) -> int:
    from wanka.language.loader import MAX_BYTES
    from wanka.rules import output as report
    from wanka.rules.check import check

    limit = MAX_BYTES if args.max_bytes is None else args.max_bytes
    results = [check(f, max_bytes=limit) for f in args.files]
    if args.format == "json":
        report.write_json(results, sys.stdout, strict=args.strict)
    else:
        report.write_text(results, sys.stdout, quiet=args.quiet)
    if any(r.unreadable for r in results):
        return EXIT_UNREADABLE
    if not all(report.ok(r, strict=args.strict) for r in results):
        return EXIT_INVALID
    return EXIT_OK


def _derived(path: str) -> tuple[Any, int]:
    """Validate and derive; on problems print them and return (None, exit code)."""
    from wanka.pipeline import derive
    from wanka.rules import output as report
    from wanka.rules.check import check

    result = check(path)
    if result.errors:
        report.write_text([result], sys.stderr, quiet=True)
        return None, EXIT_UNREADABLE if result.unreadable else EXIT_INVALID
    derived = derive(result)
    if derived.findings:
        for f in derived.findings:
            print(report.line(f), file=sys.stderr)
        return None, EXIT_INVALID
    return derived, EXIT_OK


def _unknown_phase(derived: Any, phase: str | None, command: str) -> bool:
    if phase is None or derived.cluster.phase(phase) is not None:
        return False
    names = ", ".join(p.name for p in derived.cluster.phases)
    print(f"wanka {command}: unknown phase '{phase}' (phases: {names})", file=sys.stderr)
    return True


def cmd_plan(args: argparse.Namespace) -> int:
    from wanka.review import plan

    derived, code = _derived(args.file)
    if derived is None:
        return code
    if _unknown_phase(derived, args.phase, "plan"):
        return EXIT_UNREADABLE
    if args.pulumi or args.stack_files:
        from wanka.pulumi.preview import plan_command

        return plan_command(derived, args)
    doc = plan.build_plan(derived, args.phase)
    if args.format == "json":
        from wanka.jsonfmt import dumps

        sys.stdout.write(dumps(doc))  # the same bytes as render's plan.json
    else:
        plan.write_text(doc, sys.stdout, color=_colour())
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    import time

    from wanka.render import files as render

    start = time.monotonic()
    derived, code = _derived(args.file)
    if derived is None:
        return code
    if _unknown_phase(derived, args.phase, "render"):
        return EXIT_UNREADABLE
    tty = sys.stderr.isatty()

    def progress(n: int) -> None:
        if tty:
            print(f"\rwanka render: {n:,} files", end="", file=sys.stderr, flush=True)

    try:
        count = render.write(derived, args.out, args.phase, progress)
    except OSError as e:
        print(
            f"wanka render: cannot write {args.out}: {e.strerror or e} "
            "(its previous content is unchanged)",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    if tty:
        print("\r", end="", file=sys.stderr)
    print(f"wanka render: wrote {count:,} files to {args.out} in {time.monotonic() - start:.1f} s")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    import time

    from wanka.pipeline import derive
    from wanka.review import report as htmlreport
    from wanka.rules import output as report
    from wanka.rules.check import check

    start = time.monotonic()
    result = check(args.file)
    if result.unreadable:
        report.write_text([result], sys.stderr, quiet=True)
        return EXIT_UNREADABLE
    if result.fragment:
        print(
            f"wanka report: {args.file} is a fragment: report the cluster file that includes it",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    derived = None if result.errors else derive(result)
    problems = list(result.errors) if derived is None else list(derived.findings)
    try:
        if problems:
            for f in problems:
                print(report.line(f), file=sys.stderr)
            htmlreport.write_findings(result, args.out, problems)
            print(
                f"wanka report: {args.file} is invalid: wrote its {len(problems):,} finding(s) "
                f"to {args.out}/index.html",
                file=sys.stderr,
            )
            return EXIT_INVALID
        assert derived is not None  # no problems: derived
        if _unknown_phase(derived, args.phase, "report"):
            return EXIT_UNREADABLE
        count = htmlreport.write(derived, args.out, args.phase)
    except OSError as e:
        print(
            f"wanka report: cannot write {args.out}: {e.strerror or e} "
            "(its previous content is unchanged)",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    print(
        f"wanka report: wrote {count:,} page{'s' if count != 1 else ''} to {args.out} in "
        f"{time.monotonic() - start:.1f} s"
    )
    return EXIT_OK


def _delay(text: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("-")
    if not sep:
        hi = lo
    if not (lo.isdigit() and hi.isdigit()) or int(lo) > int(hi):
        raise argparse.ArgumentTypeError(f"write LO-HI in whole seconds, e.g. 1-3, not {text!r}")
    return int(lo), int(hi)


def _lab_dir(target: str) -> Path | None:
    """The lab directory of a cluster file (its default one) or the directory itself."""
    from wanka.lab.state import default_dir

    path = Path(target)
    if not path.is_file():
        return path
    from wanka.rules.check import check

    result = check(str(path))
    if result.cluster is None:
        return None
    return default_dir(result.cluster.name)


def cmd_lab(args: argparse.Namespace) -> int:
    from wanka.lab import faults as lab_faults
    from wanka.lab import netlab

    def say(text: str) -> None:
        print(f"wanka lab: {text}", file=sys.stderr, flush=True)

    try:
        if args.lab_command == "up":
            specs = lab_faults.read(args.faults) if args.faults is not None else None
            derived, code = _derived(args.file)
            if derived is None:
                return code
            netlab.up(
                derived,
                args.dir,
                progress=say,
                servers=not args.network_only,
                power_delay=args.power_delay,
                ssh_key=Path(args.ssh_key) if args.ssh_key else None,
                faults=specs,
            )
            return EXIT_OK
        target = _lab_dir(args.target)
        if target is None:
            say(f"cannot read the cluster name from {args.target}: give the lab directory")
            return EXIT_UNREADABLE
        if args.lab_command == "status":
            json.dump(netlab.status(target), sys.stdout, indent=2, sort_keys=True)
            sys.stdout.write("\n")
            return EXIT_OK
        if args.lab_command == "power":
            return _lab_power(target, args, say)
        if args.lab_command == "fault":
            return _lab_fault(target, args, say)
        if args.lab_command == "ssh":
            return _lab_ssh(target, args)
        outcome = netlab.down(target, progress=say)
        if outcome.get("left"):
            say(f"left in place (not ours to stop): {outcome['left']}")
            return EXIT_INVALID
        return EXIT_OK
    except (netlab.LabError, lab_faults.FaultError) as e:
        say(str(e))
        return EXIT_INVALID


def _running_lab(target: Path) -> Any:
    from wanka.lab import netlab
    from wanka.lab.state import State

    state = State.load(target)
    if state is None:
        raise netlab.LabError(f"no lab in {target} (no state.json): `wanka lab up` first")
    if not state.servers:
        raise netlab.LabError(f"the lab in {target} runs no BMCs or servers (--network-only)")
    return state


def _lab_power(target: Path, args: argparse.Namespace, say: Any) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from wanka.drivers.redfish import Client, RedfishError
    from wanka.lab import netlab, nodes

    _running_lab(target)
    access = nodes.read_access(target)
    names = args.nodes or sorted(access["nodes"])
    unknown = [n for n in names if n not in access["nodes"]]
    if unknown:
        raise netlab.LabError(f"no server named {unknown[0]} in this lab")
    want = "On" if args.state == "on" else "Off"

    def one(name: str) -> str | None:
        client = Client(access["bmc"]["url"], access["nodes"][name]["system"], timeout=10)
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
    from wanka.lab import netlab, nodes

    _running_lab(target)
    access = nodes.read_access(target)
    node = access["nodes"].get(args.node)
    if node is None:
        raise netlab.LabError(f"no server named {args.node} in this lab")
    ssh = access["ssh"]
    command = args.remote[1:] if args.remote[:1] == ["--"] else args.remote
    argv = ["ssh", *ssh["options"], f"{ssh['user']}@{node['address']}", *command]
    sys.stdout.flush()
    os.execvp("ssh", argv)
    return EXIT_INTERNAL  # not reached


def _lab_fault(target: Path, args: argparse.Namespace, say: Any) -> int:
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


def _derive_quiet(path: str, rename: tuple[str, str] = ("", "")) -> Any:
    """Validate and derive for `wanka diff`; None (after printing why) if `path` is not valid.
    `rename` = (prefix, replacement) shows a revision's temporary copy as `REV:path`."""
    from wanka.pipeline import derive
    from wanka.rules import output as report
    from wanka.rules.check import check

    def say(text: str) -> None:
        print(text.replace(*rename) if rename[0] else text, file=sys.stderr)

    result = check(path)
    derived = derive(result) if not result.errors and not result.fragment else None
    problems = result.errors if derived is None else derived.findings
    for f in problems:
        say(report.line(f))
    if result.fragment:
        say(f"{path}: a ClusterFragment: diff the cluster file that includes it")
    if derived is None or problems:
        say(f"wanka diff: {path} is not a valid cluster: nothing to compare")
        return None
    return derived


def cmd_diff(args: argparse.Namespace) -> int:
    import tempfile

    from wanka.language import gitrev
    from wanka.review import diff, diffout

    if args.limit < 0:
        print("wanka diff: --limit must be 0 (all) or more", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.git is not None:
        if len(args.files) > 1:
            print("wanka diff: with --git REV, give one FILE", file=sys.stderr)
            return EXIT_UNREADABLE
        new_path = args.files[0] if args.files else "cluster.yaml"
    elif len(args.files) != 2:
        print("wanka diff: give OLD and NEW, or --git REV [FILE]", file=sys.stderr)
        return EXIT_UNREADABLE
    with tempfile.TemporaryDirectory(prefix="wanka-diff-") as tmp:
        if args.git is not None:
            try:
                old_path = gitrev.checkout(args.git, new_path, tmp)
            except gitrev.GitError as e:
                print(f"wanka diff: {e}", file=sys.stderr)
                return EXIT_UNREADABLE
            old_label = f"{args.git}:{new_path}"
        else:
            old_path, new_path = args.files
            old_label = old_path
        rename = (os.path.join(tmp, ""), f"{args.git}:") if args.git is not None else ("", "")
        old = _derive_quiet(old_path, rename)
        new = _derive_quiet(new_path)
    if old is None or new is None:
        return EXIT_UNREADABLE
    d = diff.compare(
        old,
        new,
        old_label=old_label,
        new_label=new_path,
        allow_live_changes=args.allow_live_changes,
    )
    if args.format == "json":
        diffout.write_json(d, sys.stdout)
    elif args.format == "markdown":
        sys.stdout.write(diffout.markdown(d, args.limit))
    else:
        diffout.write_text(d, sys.stdout, color=_colour(), limit=args.limit)
    return EXIT_INVALID if d.blocked else EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
    from wanka.rules import RULES
    from wanka.rules.doc import markdown

    if args.format == "markdown":
        sys.stdout.write(markdown())
    elif args.format == "json":
        json.dump(
            [
                {
                    "id": r.id,
                    "severity": str(r.severity),
                    "stage": r.stage,
                    "title": r.title,
                    "example": r.example,
                }
                for r in RULES.values()
            ],
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        width = max(len(i) for i in RULES)
        for r in RULES.values():
            print(f"{r.id:<{width}}  {r.severity:<7}  {r.title}")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from wanka.language.schema import schema_path

    path = schema_path()
    if args.print:
        sys.stdout.write(path.read_text(encoding="utf-8"))
    else:
        print(path)
    return EXIT_OK


COMMANDS = {
    "validate": cmd_validate,
    "plan": cmd_plan,
    "render": cmd_render,
    "report": cmd_report,
    "lab": cmd_lab,
    "diff": cmd_diff,
    "rules": cmd_rules,
    "schema": cmd_schema,
    "bringup": lambda args: _bringup_cmd(args),
    "verify": lambda args: _bringup_cmd(args),
}


def _bringup_cmd(args: argparse.Namespace) -> int:
    from wanka.cli import bringup as cli_bringup

    return cli_bringup.cmd(args)


def main(argv: Sequence[str] | None = None) -> int:
    # The model is tens of thousands of small objects made once and kept: the default
    # collector thresholds rescan them over and over (about 10% of a large validation).
    gc.set_threshold(50_000, 20, 100)
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("wanka: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # a bug: say so in one line, never a traceback unless asked
        if os.environ.get("WANKA_DEBUG"):
            raise
        print(
            f"wanka: internal error: {type(e).__name__}: {e} "
            "(a bug in wanka; rerun with WANKA_DEBUG=1 and report the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
