"""`wanka ranktable`: one HCCL rank table for a job, over verified servers of a phase, across
as many SuperPoDs as it needs, with the ids the hardware reported."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wanka.cli.common import EXIT_OK, EXIT_UNREADABLE, open_checked, positive

if TYPE_CHECKING:
    from wanka.derive.bundle import Derived
    from wanka.model.types import Node
    from wanka.render.ranktable import Hardware


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rp = sub.add_parser(
        "ranktable",
        help="write a job's HCCL rank table over verified servers, across SuperPoDs",
        description="Write one HCCL rank table (hccl.json) for a job over the NPU servers of "
        "PHASE that passed their last `wanka verify` (DIR/verify-report.json, from "
        "`wanka bringup --playbook verify --out DIR`). A3: version 1.2, super_device_id and "
        "super_pod_id as each server's `npu-smi info -t spod-info` reported them, one "
        "super_pod_list entry per SuperPoD the job spans; A2: version 1.0. Servers are taken "
        "in SuperPoD order (Super Pod ID), then model order.",
        epilog="Exit codes: 0 written, 1 invalid cluster, 2 unreadable input, usage error or "
        "not enough verified servers (nothing written).",
    )
    rp.add_argument("file", metavar="FILE", help="cluster file")
    rp.add_argument("--phase", required=True, metavar="P", help="the phase of the job")
    rp.add_argument("--verified", required=True, metavar="DIR", help="verify's output directory")
    pick = rp.add_mutually_exclusive_group()
    pick.add_argument(
        "--supernodes", metavar="ID,...", help="only these SuperPoDs (Super Pod IDs, A3)"
    )
    pick.add_argument("--cards", type=positive, metavar="N", help="the first N cards' servers")
    rp.add_argument("--out", metavar="FILE", help="write here (default: stdout)")
    rp.set_defaults(run=cmd_ranktable)


def _fail(text: str) -> int:
    print(f"wanka ranktable: {text}", file=sys.stderr)
    return EXIT_UNREADABLE


def _verified(path: Path) -> tuple[set[str], Hardware]:
    """Hosts whose last verify passed, and the spod-info ids it read."""
    from wanka.bringup.results import HostResult, RunResult
    from wanka.bringup.run import hardware_ids

    data = json.loads(path.read_text(encoding="utf-8"))
    hosts = {name: HostResult.from_dict(h) for name, h in (data.get("hosts") or {}).items()}
    result = RunResult(playbook="verify", phase=data.get("phase"), hosts=hosts)
    return {n for n, h in hosts.items() if h.status == "ok"}, hardware_ids(result)


def _pick(servers: list[Node], hw: Hardware, args: argparse.Namespace) -> list[Node] | str:
    def pod_of(n: Node) -> int:
        return next(iter(hw[n.name].values()))[1] if n.name in hw else -1

    servers = sorted(servers, key=pod_of)  # stable: model order inside a SuperPoD
    if args.supernodes:
        try:
            want = {int(x) for x in args.supernodes.split(",")}
        except ValueError:
            return f"--supernodes takes Super Pod IDs (numbers), not {args.supernodes!r}"
        servers = [n for n in servers if pod_of(n) in want]
        absent = sorted(want - {pod_of(n) for n in servers})
        if absent:
            return f"no verified server reported Super Pod ID {', '.join(map(str, absent))}"
    if args.cards:
        out, cards = [], 0
        for n in servers:
            if cards >= args.cards:
                break
            out.append(n)
            cards += n.model.cards
        if cards != args.cards:
            return f"{args.cards} cards: the verified servers hold {cards} in whole servers"
        servers = out
    return servers or "no verified NPU server in the phase"


def _servers(d: Derived, phase: str, passed: set[str]) -> list[Node]:
    return [
        n
        for n in d.cluster.nodes
        if n.pod.phase.name == phase
        and n.model.accelerator is not None
        and n.name in passed
        and not n.excluded
    ]


def cmd_ranktable(args: argparse.Namespace) -> int:
    from wanka.outdir import write_file
    from wanka.render import ranktable

    d = open_checked(args, "ranktable")
    if isinstance(d, int):
        return d
    report = Path(args.verified) / "verify-report.json"
    try:
        passed, hw = _verified(report)
    except (OSError, ValueError) as e:
        return _fail(f"{report}: cannot read verify's report: {e}")
    chosen = _pick(_servers(d, args.phase, passed), hw, args)
    if isinstance(chosen, str):
        return _fail(chosen)
    try:
        table = ranktable.job_table(d, chosen, hw)
    except ValueError as e:
        return _fail(str(e))
    text = ranktable.dumps(table)
    if args.out:
        try:
            write_file(text, args.out)
        except OSError as e:
            return _fail(f"{args.out}: cannot write the rank table: {e.strerror or e}")
        cards = sum(n.model.cards for n in chosen)
        print(f"wanka ranktable: {len(chosen)} servers, {cards} cards -> {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK
