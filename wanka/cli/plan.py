"""`wanka plan` and `wanka render`: what a valid cluster file derives, summarised or written."""

from __future__ import annotations

import argparse
import sys
import time

from wanka.cli.common import EXIT_OK, EXIT_UNREADABLE, colour, open_checked


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pl = sub.add_parser(
        "plan",
        help="summarise what the cluster file derives: capacity, bill of materials, fabric, power",
        description="Validate, derive and summarise: capacity per phase against its target, the "
        "bill of materials (servers, switches, cables, optics), oversubscription, rack power and "
        "cooling, with spec.facility the facility (per phase and hall: facility power, PUE, heat "
        "against the plant, yearly energy and cost), the address plan. --format json gives the "
        "same content for CI and reviews.",
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
    pl.set_defaults(run=cmd_plan)

    rd = sub.add_parser(
        "render",
        help="write inventories, switch configs, host network files, hccn.conf, rank tables, "
        "cabling and the plan",
        description="Validate, derive and write every generated file into DIR. Output is "
        "deterministic (a re-render is byte-identical) and atomic (written aside, then swapped "
        "in; on failure DIR keeps its previous content).",
        epilog="Exit codes: 0 written, 1 invalid cluster, 2 unreadable input or usage error.",
    )
    rd.add_argument("file", metavar="FILE", help="cluster file")
    rd.add_argument("--out", required=True, metavar="DIR", help="output directory")
    rd.add_argument("--phase", metavar="P", help="only this phase")
    rd.set_defaults(run=cmd_render)


def cmd_plan(args: argparse.Namespace) -> int:
    from wanka.review import plan

    derived = open_checked(args, "plan")
    if isinstance(derived, int):
        return derived
    if args.pulumi or args.stack_files:
        from wanka.pulumi.preview import plan_command

        return plan_command(derived, args)
    doc = plan.build_plan(derived, args.phase)
    if args.format == "json":
        from wanka.jsonfmt import dumps

        sys.stdout.write(dumps(doc))  # the same bytes as render's plan.json
    else:
        plan.write_text(doc, sys.stdout, color=colour())
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from wanka.render import files as render

    start = time.monotonic()
    derived = open_checked(args, "render")
    if isinstance(derived, int):
        return derived
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
