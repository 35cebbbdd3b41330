"""`wanka validate`: check cluster files against the schema and the semantic rules."""

from __future__ import annotations

import argparse
import sys

from wanka.cli.common import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, positive


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
        type=positive,
        default=None,
        metavar="N",
        help="largest file to read (default 16 MiB)",
    )
    v.set_defaults(run=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    """Every file is checked and reported, valid or not: validation only, nothing derived."""
    from wanka.language.loader import MAX_BYTES
    from wanka.pipeline import check
    from wanka.rules import output

    limit = MAX_BYTES if args.max_bytes is None else args.max_bytes
    results = [check(f, max_bytes=limit) for f in args.files]
    if args.format == "json":
        output.write_json(results, sys.stdout, strict=args.strict)
    else:
        output.write_text(results, sys.stdout, quiet=args.quiet)
    if any(r.unreadable for r in results):
        return EXIT_UNREADABLE
    if not all(output.ok(r, strict=args.strict) for r in results):
        return EXIT_INVALID
    return EXIT_OK
