"""`wanka preview|up|refresh|destroy|drift`: a phase's Pulumi stacks through the real engine,
in waves."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wanka.cli.common import EXIT_OK, EXIT_UNREADABLE, not_valid, positive, unknown_phase
from wanka.credentials import CredentialError

if TYPE_CHECKING:
    from wanka.pulumi.waves import Job

EXIT_FAILED = 1
DRIFT_EPILOG = (
    "Changes nothing: a refresh preview of every stack (`pulumi preview --refresh`), each "
    "BMC and switch read, nothing recorded. Exit codes: 0 no drift, 1 a device differs from "
    "the model or a stack could not be read (a scheduled job opens a ticket), 2 unreadable "
    "input or usage error, 3 internal error."
)
EPILOG = (
    "State goes to PULUMI_BACKEND_URL (e.g. file:///srv/wanka/state), secrets are encrypted "
    "with PULUMI_CONFIG_PASSPHRASE. Exit codes: 0 every stack done, 1 a stack failed (the "
    "ones after it were not started; run again to resume), 2 unreadable input or usage error "
    "(invalid cluster, unknown phase, no CLI, no backend, the BMC password's reference "
    "unreadable), "
    "3 internal error."
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    helps = {
        "preview": "what `up` would change in each stack of a phase (no BMC, no switch touched)",
        "up": "deploy a phase's stacks: fabric stack first, then its pod stacks N at a time",
        "refresh": "read every BMC and switch of a phase's stacks back into their state",
        "destroy": "remove a phase's stacks (pod stacks first): servers powered off",
        "drift": "per device, what differs from the model (power, boot, BIOS, switch lines)",
    }
    for op, text in helps.items():
        epilog = DRIFT_EPILOG if op == "drift" else EPILOG
        p = sub.add_parser(op, help=text, description=text + ".", epilog=epilog)
        p.add_argument("file", metavar="FILE", help="cluster file")
        p.add_argument("--phase", metavar="P", required=True, help="the phase")
        p.add_argument(
            "--stacks",
            metavar="DIR",
            default="stacks",
            help="the Pulumi project directory holding Pulumi.<stack>.yaml (default: stacks)",
        )
        p.add_argument(
            "--jobs",
            type=positive,
            default=4,
            metavar="N",
            help=("stacks read at once" if op == "drift" else "stacks of one wave run at once")
            + " (default 4)",
        )
        p.add_argument(
            "--lab",
            nargs="?",
            const="",
            metavar="DIR",
            help="the lab of `wanka lab up` (sets wanka:lab: its access.json gives the BMC "
            "URL, system ids, switch namespaces); DIR defaults to the cluster's lab directory",
        )
        if op in ("up", "preview"):
            p.add_argument(
                "--refresh",
                action="store_true",
                help="read every BMC and switch first, so drift is "
                + ("repaired too" if op == "up" else "shown too (nothing recorded)"),
            )
        if op == "drift":
            p.add_argument(
                "--format", choices=["text", "json", "markdown"], default="text", help="output"
            )
        p.add_argument(
            "--logs",
            metavar="DIR",
            help="where each stack's engine output goes (default: DIR/.logs of --stacks)",
        )
        p.set_defaults(run=cmd_stacks, op=op)


def cmd_stacks(args: argparse.Namespace) -> int:
    from wanka.lab import access
    from wanka.lab.state import default_dir
    from wanka.pipeline import NotValid, UnknownPhase, open_cluster
    from wanka.pulumi import waves
    from wanka.pulumi.engine import EngineError, tools_root

    name = f"wanka {args.op}"
    try:
        d = open_cluster(args.file, phase=args.phase)
        d.cluster.require_phase(args.phase)
    except NotValid as e:
        return not_valid(e)
    except UnknownPhase as e:
        return unknown_phase(e, args.op)
    extra: dict[str, str] = {}
    if args.lab is not None:
        lab = Path(args.lab or default_dir(d.cluster.name)).absolute()
        try:
            access.read(lab)
        except access.AccessError as e:
            print(f"{name}: {e}", file=sys.stderr)
            return EXIT_UNREADABLE
        extra["wanka:lab"] = str(lab)
    work = Path(args.stacks).absolute()
    if not (work / "Pulumi.yaml").is_file():
        print(f"{name}: {work}/Pulumi.yaml: no Pulumi project there (--stacks)", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        tools_root()
        if not os.environ.get("PULUMI_BACKEND_URL"):
            raise EngineError("no state backend: set PULUMI_BACKEND_URL (e.g. file:///path)")
    except EngineError as e:
        print(f"{name}: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    logs = Path(args.logs).absolute() if args.logs else work / ".logs"
    logs.mkdir(parents=True, exist_ok=True)
    cluster = os.path.relpath(Path(args.file).absolute(), work)
    plan: list[list[waves.Job]] = []
    try:
        for wave in waves.waves(d, args.phase):
            plan.append(
                [
                    waves.Job(
                        op=args.op,
                        stack=s.stack,
                        work_dir=str(work),
                        config=waves.stack_config(d, s, cluster, extra),
                        secret=["wanka:bmcPassword"],
                        log=str(logs / f"{s.stack}.{args.op}.log"),
                        refresh=bool(getattr(args, "refresh", False)),
                    )
                    for s in wave
                ]
            )
    except CredentialError as e:
        print(f"{name}: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.op == "destroy":
        plan.reverse()
    if args.op == "drift":
        return _drift(d.cluster.name, args, plan)
    outcomes = waves.run_waves(plan, args.jobs, lambda line: print(line, flush=True))
    ok = [o for o in outcomes if o.ok]
    print(f"{name}: {len(ok)} of {sum(len(w) for w in plan)} stacks done")
    return EXIT_OK if len(ok) == sum(len(w) for w in plan) else EXIT_FAILED


def _drift(cluster: str, args: argparse.Namespace, plan: list[list[Job]]) -> int:
    """Every stack's refresh preview in one wave (a preview records nothing, so none waits
    for another), each read even when one fails; the report on stdout, progress on stderr."""
    from wanka.pulumi import drift, waves

    jobs = [j for w in plan for j in w]
    outcomes = waves.run_waves(
        [jobs], args.jobs, lambda line: print(line, file=sys.stderr), keep_going=True
    )
    report = drift.Report(cluster, args.phase, [j.stack for j in jobs])
    for o in outcomes:
        report.findings.extend(o.drift)
        if not o.ok:
            report.failed[o.stack] = o.error
    sys.stdout.write(drift.FORMATS[args.format](report))
    return EXIT_FAILED if report.drifted else EXIT_OK
