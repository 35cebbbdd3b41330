"""`wanka bringup` and `wanka verify`: the command-line side of wanka.bringup.run's
`run_playbook`."""

from __future__ import annotations

import argparse
import re
import sys

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2

EPILOG = (
    "Exit codes: 0 every host passed, 1 a host failed (the summary says which, the report "
    "says why), 2 unreadable input or usage error (invalid cluster, unknown phase, no lab), "
    "3 internal error."
)


def _batch(text: str) -> str:
    if not re.fullmatch(r"[1-9]\d*%?", text) or (text.endswith("%") and int(text[:-1]) > 100):
        raise argparse.ArgumentTypeError(f"a number of hosts or a percentage, not {text!r}")
    return text


def _percent(text: str) -> int:
    if not text.isdigit() or int(text) > 100:
        raise argparse.ArgumentTypeError(f"a percentage from 0 to 100, not {text!r}")
    return int(text)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="cluster file")
    p.add_argument("--phase", metavar="P", help="only this phase's hosts (default: every phase)")
    p.add_argument(
        "--limit",
        metavar="HOSTS",
        help="an Ansible host pattern within the phase: names, "
        "groups (rack_*, pod_*, sn_*), wildcards; e.g. 'rack_lab_p1_pod01_r01'",
    )
    p.add_argument(
        "--lab",
        nargs="?",
        const="",
        metavar="DIR",
        help="run against the lab of `wanka lab up` (its access.json: SSH key, BMC URL, switch "
        "namespaces); DIR defaults to the cluster's lab directory",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="run directory: render, inventory overlay, ansible-runner "
        "artifacts, reports, rank tables (default runs/CLUSTER-PHASE)",
    )
    p.add_argument(
        "--execution-nodes",
        metavar="N|FILE",
        help="spread the run over execution nodes, split by pod (or rack): N of the lab's "
        "(`wanka lab up --execution-nodes N`), or a YAML file naming real ones "
        "(execution_nodes: [{name, command}], command running `ansible-runner worker` there); "
        "each share goes as an ansible-runner transmit stream, events come back into one report",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="re-run only the hosts that failed or did not finish in the run directory's last run",
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    b = sub.add_parser(
        "bringup",
        help="bring up a phase's servers (or, with --fabric, its switches) with Ansible",
        description="Render, then run playbooks/bringup.yml through ansible-runner: power on "
        "through the BMC, wait for SSH, preflight (host vs model), OS baseline, NPU "
        "driver/firmware/CANN, NPU network, storage; in rolling batches. With --fabric, "
        "playbooks/fabric.yml instead: push each routed switch's frr.conf and reload FRR. "
        "Writes bringup-report.json, bringup-report.xml (JUnit) and bringup-summary.txt in "
        "the run directory; a second run of a healthy cluster reports changed=0.",
        epilog=EPILOG,
    )
    _common(b)
    b.set_defaults(run=cmd)
    b.add_argument("--fabric", action="store_true", help="configure the switches instead")
    b.add_argument(
        "--batch",
        type=_batch,
        metavar="N|N%",
        help="hosts per rolling batch (Ansible serial; default: the phase's rollout.batch, "
        "else 100%%: one batch)",
    )
    b.add_argument(
        "--max-fail-percent",
        type=_percent,
        metavar="P",
        help="stop the rollout when more than P%% of a batch fails (default: the phase's "
        "rollout.max_fail_percent, else 50)",
    )
    v = sub.add_parser(
        "verify",
        help="verify a phase's nodes and switches against the model; report and rank tables",
        description="Render, then run playbooks/verify.yml through ansible-runner on every node "
        "and routed switch: card count and health, firmware vs driver, NVMe, per NPU port link, "
        "LLDP neighbour vs the cabling plan, addresses, gateway and RoCE pings across rails; "
        "BGP sessions of each switch. Writes verify-report.json (per node, per check: "
        "pass/fail, the port, the reason), verify-report.xml (JUnit) and verify-summary.txt, "
        "and re-renders the HCCL rank tables with only the nodes that passed (hccl/).",
        epilog=EPILOG,
    )
    _common(v)
    v.set_defaults(run=cmd)


def cmd(args: argparse.Namespace) -> int:
    from wanka.bringup import runner
    from wanka.bringup.options import BringupError, Options
    from wanka.bringup.prepare import open_derived
    from wanka.bringup.run import run_playbook
    from wanka.lab.state import default_dir

    playbook = "verify" if args.command == "verify" else "fabric" if args.fabric else "bringup"
    try:
        derived = open_derived(args.file, args.phase)
    except BringupError as e:
        print(f"wanka {args.command}: {args.file}: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    name = derived.cluster.name
    lab = None
    if args.lab is not None:
        lab = args.lab or str(default_dir(name))
    try:
        with runner.ProgressView(sys.stderr) as view:
            result = run_playbook(
                Options(
                    cluster_file=args.file,
                    phase=args.phase,
                    out_dir=args.out or f"runs/{name}-{args.phase or 'all'}",
                    playbook=playbook,
                    limit=args.limit,
                    lab=lab,
                    progress=view,
                    resume=args.resume,
                    execution_nodes=args.execution_nodes,
                    serial=getattr(args, "batch", None),
                    max_fail_percentage=getattr(args, "max_fail_percent", None),
                ),
                derived=derived,
            )
    except BringupError as e:
        print(f"wanka {args.command}: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    sys.stdout.write(result.summary)
    print(
        f"report: {result.report['json']} (JUnit: {result.report['junit']}); "
        f"artifacts: {result.artifacts}; {result.duration_s:.1f} s"
    )
    return EXIT_OK if result.ok else EXIT_FAILED
