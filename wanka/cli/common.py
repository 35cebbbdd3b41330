"""What every command module shares: the exit codes, argument types, and how a cluster file
that is not valid, or a phase it does not have, is told to the user."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from wanka.derive.bundle import Derived
    from wanka.pipeline import NotValid, UnknownPhase

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE, EXIT_INTERNAL = 0, 1, 2, 3


def positive(text: str) -> int:
    """An argument type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def colour() -> bool:
    """Colour on a terminal, unless NO_COLOR is set (https://no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def not_valid(e: NotValid, out: TextIO | None = None) -> int:
    """Print why a cluster file is not valid and return the exit code: 1 for errors, 2 when
    the file could not be read or is a fragment without errors (the wrong file to give).

    Validation errors are printed as `wanka validate --quiet` prints them (warnings and the
    summary too); findings of deriving a valid model, or a fragment, as `NotValid.lines()`."""
    from wanka.rules import output

    out = sys.stderr if out is None else out
    if e.result.errors:
        output.write_text([e.result], out, quiet=True)
        return EXIT_UNREADABLE if e.unreadable else EXIT_INVALID
    for text in e.lines():
        print(text, file=out)
    return EXIT_UNREADABLE if e.fragment else EXIT_INVALID


def unknown_phase(e: UnknownPhase, command: str) -> int:
    """Print `wanka COMMAND: unknown phase 'p9' (phases: p1, p2)`; exit 2 (a usage error)."""
    print(f"wanka {command}: {e}", file=sys.stderr)
    return EXIT_UNREADABLE


def open_checked(args: argparse.Namespace, command: str) -> Derived | int:
    """The derived cluster of `args.file` (scoped to `args.phase`), or, when it cannot be had,
    the exit code after telling why (not valid: `not_valid`; no such phase: `unknown_phase`)."""
    from wanka.pipeline import NotValid, UnknownPhase, open_cluster

    try:
        return open_cluster(args.file, phase=args.phase)
    except NotValid as e:
        return not_valid(e)
    except UnknownPhase as e:
        return unknown_phase(e, command)
