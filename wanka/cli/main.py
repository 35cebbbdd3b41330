"""The `wanka` command line: the top-level parser, assembled from the sub-parsers each command
module registers (validate, plan and render, report, lab, diff, bringup and verify, preview,
up, refresh, destroy and drift, bmc, ranktable, rules and schema), and `main`, which runs the
command chosen and turns what escapes it into an exit code.

Exit codes (every command):
  0  success: the input is valid (with --strict: and has no warnings)
  1  the input is invalid
  2  the input could not be read, or the command line is wrong
  3  internal error (a bug in wanka: please report it, with WANKA_DEBUG=1 output)
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence

from wanka import __version__
from wanka.cli import bmc, bringup, diff, lab, plan, ranktable, reference, report, stacks, validate
from wanka.cli.common import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE

__all__ = ["EXIT_INTERNAL", "EXIT_INVALID", "EXIT_OK", "EXIT_UNREADABLE", "main", "parser"]

# in the order `wanka --help` lists the commands
MODULES = (validate, plan, report, lab, diff, bringup, stacks, bmc, ranktable, reference)


def parser() -> argparse.ArgumentParser:
    """The whole command line: each command's sub-parser sets `run`, the function to call."""
    p = argparse.ArgumentParser(
        prog="wanka",
        description="Infrastructure as code for 10,000-card Ascend AI training clusters.",
        epilog="Exit codes: 0 valid, 1 invalid, 2 unreadable input or usage error, "
        "3 internal error.",
    )
    p.add_argument("--version", action="version", version=f"wanka {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in MODULES:
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # The model is tens of thousands of small objects made once and kept: the default
    # collector thresholds rescan them over and over (about 10% of a large validation).
    gc.set_threshold(50_000, 20, 100)
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
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
