"""`wanka diff`: what a change to a cluster file does, between two files or two revisions."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from wanka.cli.common import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, colour

if TYPE_CHECKING:
    from wanka.derive.bundle import Derived


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    df = sub.add_parser(
        "diff",
        help="what a change to a cluster file does: things, addresses, cables, power, parts",
        description="Semantic diff of two cluster files (or, with --git REV, of FILE as of REV "
        "and FILE in the working tree, includes and all): software versions, credential "
        "references, catalog parts, planes, phases, pods, racks, nodes and switches added, "
        "removed, changed or renamed; addresses, subnets and cables that "
        "change; capacity per phase and power and cooling per rack before and after; facility "
        "power, PUE and yearly cost per hall and phase before and after; the parts "
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
    df.set_defaults(run=cmd_diff)


def _usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the command line, if anything."""
    if args.limit < 0:
        return "--limit must be 0 (all) or more"
    if args.git is not None:
        return "with --git REV, give one FILE" if len(args.files) > 1 else None
    return None if len(args.files) == 2 else "give OLD and NEW, or --git REV [FILE]"


def _open_quiet(path: str, rename: tuple[str, str] = ("", "")) -> Derived | None:
    """The derived cluster of `path`; None (after printing why) if it is not valid.
    `rename` = (prefix, replacement) shows a revision's temporary copy as `REV:path`."""
    from wanka.pipeline import NotValid, open_cluster

    def say(text: str) -> None:
        print(text.replace(*rename) if rename[0] else text, file=sys.stderr)

    try:
        return open_cluster(path)
    except NotValid as e:
        for text in e.lines(verb="diff"):
            say(text)
        say(f"wanka diff: {path} is not a valid cluster: nothing to compare")
        return None


def _open_both(args: argparse.Namespace) -> tuple[Derived | None, Derived | None, str, str]:
    """(old, new, old label, new label); old and new None when invalid (after saying why).
    With --git, OLD is FILE checked out (with its includes) as of REV into a temporary
    directory; raises gitrev.GitError for an unknown revision."""
    import tempfile

    from wanka.language import gitrev

    if args.git is None:
        old_path, new_path = args.files
        return _open_quiet(old_path), _open_quiet(new_path), old_path, new_path
    new_path = args.files[0] if args.files else "cluster.yaml"
    with tempfile.TemporaryDirectory(prefix="wanka-diff-") as tmp:
        old_path = gitrev.checkout(args.git, new_path, tmp)
        old = _open_quiet(old_path, (os.path.join(tmp, ""), f"{args.git}:"))
        new = _open_quiet(new_path)
    return old, new, f"{args.git}:{new_path}", new_path


def cmd_diff(args: argparse.Namespace) -> int:
    from wanka.language import gitrev
    from wanka.review import diff, diffout

    problem = _usage_error(args)
    if problem is not None:
        print(f"wanka diff: {problem}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        old, new, old_label, new_label = _open_both(args)
    except gitrev.GitError as e:
        print(f"wanka diff: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    if old is None or new is None:
        return EXIT_UNREADABLE
    d = diff.compare(
        old,
        new,
        old_label=old_label,
        new_label=new_label,
        allow_live_changes=args.allow_live_changes,
    )
    if args.format == "json":
        diffout.write_json(d, sys.stdout)
    elif args.format == "markdown":
        sys.stdout.write(diffout.markdown(d, args.limit))
    else:
        diffout.write_text(d, sys.stdout, color=colour(), limit=args.limit)
    return EXIT_INVALID if d.blocked else EXIT_OK
