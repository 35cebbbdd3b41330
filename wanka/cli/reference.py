"""`wanka rules` and `wanka schema`: the reference of the cluster language (the rule ids and
the JSON Schema), read from the package, no cluster file needed."""

from __future__ import annotations

import argparse
import json
import sys

from wanka.cli.common import EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    r = sub.add_parser(
        "rules",
        help="list the rule ids and what they check",
        description="List every rule id wanka can report, with an example message.",
    )
    r.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    r.set_defaults(run=cmd_rules)

    s = sub.add_parser(
        "schema",
        help="print the path of the cluster JSON Schema (or, with --print, the schema itself)",
    )
    s.add_argument("--print", action="store_true", help="print the schema instead of its path")
    s.set_defaults(run=cmd_schema)


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
