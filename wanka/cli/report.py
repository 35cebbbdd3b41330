"""`wanka report`: the static HTML report of a cluster file; of an invalid one, its findings."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from wanka.cli.common import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, not_valid, unknown_phase

if TYPE_CHECKING:
    from wanka.pipeline import NotValid


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rp = sub.add_parser(
        "report",
        help="write a static HTML report: rack elevations, fabric, capacity, BOM, findings",
        description="Validate, derive and write a self-contained HTML report into DIR "
        "(index.html, a pod-<pod>.html per pod when there are more than 40 racks, and with "
        "spec.facility a facility.html of the halls' power, cooling, PUE and cost): rack "
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
    rp.set_defaults(run=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from wanka.pipeline import NotValid, UnknownPhase, open_cluster
    from wanka.review import htmlreport

    start = time.monotonic()
    try:
        derived = open_cluster(args.file, phase=args.phase)
    except NotValid as e:
        if e.unreadable:
            return not_valid(e)
        if e.fragment:
            print(
                f"wanka report: {args.file} is a fragment: report the cluster file that "
                "includes it",
                file=sys.stderr,
            )
            return EXIT_UNREADABLE
        return _findings_report(e, args.out)
    except UnknownPhase as e:
        return unknown_phase(e, "report")
    try:
        count = htmlreport.write(derived, args.out, args.phase)
    except OSError as e:
        return _cannot_write(args.out, e)
    print(
        f"wanka report: wrote {count:,} page{'s' if count != 1 else ''} to {args.out} in "
        f"{time.monotonic() - start:.1f} s"
    )
    return EXIT_OK


def _findings_report(e: NotValid, out: str) -> int:
    """An invalid cluster: its errors on stderr and in a findings-only report; exit 1."""
    from wanka.review import htmlreport

    for text in e.lines():
        print(text, file=sys.stderr)
    try:
        htmlreport.write_findings(e.path, e.result.cluster, [*e.result.findings, *e.findings], out)
    except OSError as err:
        return _cannot_write(out, err)
    print(
        f"wanka report: {e.path} is invalid: wrote its {len(e.findings):,} finding(s) "
        f"to {out}/index.html",
        file=sys.stderr,
    )
    return EXIT_INVALID


def _cannot_write(out: str, e: OSError) -> int:
    print(
        f"wanka report: cannot write {out}: {e.strerror or e} (its previous content is unchanged)",
        file=sys.stderr,
    )
    return EXIT_UNREADABLE
