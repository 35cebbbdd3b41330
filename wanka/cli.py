"""The `wanka` command line.

Exit codes (every command):
  0  success: the input is valid (with --strict: and has no warnings)
  1  the input is invalid
  2  the input could not be read, or the command line is wrong
  3  internal error (a bug in wanka: please report it, with WANKA_DEBUG=1 output)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from . import __version__

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


def cmd_validate(args: argparse.Namespace) -> int:
    from . import report
    from .loader import MAX_BYTES
    from .validate import check

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


def cmd_rules(args: argparse.Namespace) -> int:
    from .rules import RULES
    from .rulesdoc import markdown

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
    from .schema import schema_path

    path = schema_path()
    if args.print:
        sys.stdout.write(path.read_text(encoding="utf-8"))
    else:
        print(path)
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "rules": cmd_rules, "schema": cmd_schema}


def main(argv: Sequence[str] | None = None) -> int:
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
