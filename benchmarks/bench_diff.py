"""Benchmark `wanka diff` on a generated cluster and two reviewed changes to it.

    python benchmarks/bench_diff.py --cards 50000 [--repeat 3] [--json]

Generates a cluster with benchmarks/generate.py, then writes two variants of it:

* **pod**: one more pod in the last phase (the last `count:` of a pod line in the file
  goes up by one), the change a growth pull request makes;
* **pin**: the BMC address of the first node of the manifest pinned to the last host
  address of its subnet, the smallest change there is (in the generated cluster that node
  is in phase 1, which is live: the diff is blocking, exit 1).

For each variant it runs the CLI, `wanka diff OLD NEW --format json`, `--repeat` times in
fresh processes (wall and CPU time, peak RSS from os.wait4), checks its exit code and
counts, and times the stages in this process: validate + derive of each side, `compare`,
and the text, Markdown and JSON reports (CPU time: on a shared machine wall time measures the
neighbours). It prints the figures; it never fails on timings.
Exits 1 if a diff does not find the change it should, 2 if the cluster cannot be generated.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_validate import GENERATOR, run, wanka_command  # noqa: E402


def pod_variant(text: str) -> str:
    """One more pod in the last pod line with a count."""
    found = list(re.finditer(r"(\{name: pod, type: [^,]+, count: )(\d+)", text))
    if not found:
        raise SystemExit("bench_diff: no pod line with a count in the generated cluster")
    m = found[-1]
    return f"{text[: m.start(2)]}{int(m.group(2)) + 1}{text[m.end(2) :]}"


def pin_variant(text: str, path: str) -> tuple[str, str, str]:
    """Pin the first manifest node's BMC address to its subnet's last host address."""
    from wanka.pipeline import check, derive

    d = derive(check(path))
    m = re.search(r"\n      ([\w-]+): \{serial: \"[^\"]+\", bmc: \{mac: \"[^\"]+\"", text)
    if m is None:
        raise SystemExit("bench_diff: no manifest node with a BMC MAC in the generated cluster")
    node = d.cluster.node(m.group(1))
    oob = next(p.name for p in d.cluster.planes.values() if p.role == "oob")
    net = d.addressing.subnet_of(oob, node.pod.name).network
    pin = str(net.broadcast_address - 1)
    old = str(d.addressing.bmcs[node.name])
    start = m.end()
    return f"{text[:start]}, address: {pin}{text[start:]}", node.name, f"{old} -> {pin}"


def stages(old: str, new: str) -> dict[str, float]:
    from wanka.pipeline import check, derive
    from wanka.review import diffout
    from wanka.review.diff import compare

    out: dict[str, float] = {}
    t = time.process_time()
    a = derive(check(old))
    out["validate+derive old"] = time.process_time() - t
    t = time.process_time()
    b = derive(check(new))
    out["validate+derive new"] = time.process_time() - t
    t = time.process_time()
    d = compare(a, b)
    out["compare"] = time.process_time() - t
    t = time.process_time()
    diffout.write_text(d, io.StringIO(), color=False)
    out["text report"] = time.process_time() - t
    t = time.process_time()
    diffout.markdown(d)
    out["markdown report"] = time.process_time() - t
    t = time.process_time()
    diffout.write_json(d, io.StringIO())
    out["json report"] = time.process_time() - t
    return {k: round(v, 3) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cards", type=int, default=50_000, help="cards in the generated cluster")
    p.add_argument("--repeat", type=int, default=3, help="CLI runs per variant (default 3)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    result: dict[str, Any] = {"cards_requested": args.cards, "cpus": len(os.sched_getaffinity(0))}
    failed = False
    with tempfile.TemporaryDirectory(prefix="wanka-bench-diff-") as tmp:
        base = os.path.join(tmp, "cluster.yaml")
        gen = run([sys.executable, str(GENERATOR), "--cards", str(args.cards), "--out", base])
        if gen.exit_code != 0:
            print(f"bench_diff: generating the cluster failed:\n{gen.output}", file=sys.stderr)
            return 2
        text = Path(base).read_text(encoding="utf-8")
        pinned, node, change = pin_variant(text, base)
        variants = {"pod": (pod_variant(text), 0), "pin": (pinned, 1)}
        result["pinned"] = {"node": node, "bmc": change}
        for name, (body, want) in variants.items():
            path = os.path.join(tmp, f"{name}.yaml")
            Path(path).write_text(body, encoding="utf-8")
            cmd = [*wanka_command(), "diff", base, path, "--format", "json"]
            walls, cpus, rss = [], [], []
            doc: dict[str, Any] = {}
            for _ in range(args.repeat):
                r = run(cmd)
                if r.exit_code != want:
                    print(
                        f"bench_diff: {name}: exit {r.exit_code}, expected {want}:\n"
                        f"{r.output[-2000:]}",
                        file=sys.stderr,
                    )
                    return 1
                walls.append(r.wall_s)
                cpus.append(r.cpu_s)
                rss.append(r.peak_rss_mb)
                doc = json.loads(r.output)
            counts = doc["counts"]
            ok = (
                counts.get("pod", {}).get("added") == 1
                if name == "pod"
                else counts.get("address", {}).get("changed", 0) >= 1
                and any(b["subject"] == node for b in doc["blocking"])
            )
            failed = failed or not ok
            result[name] = {
                "found_the_change": ok,
                "counts": counts,
                "blocking": len(doc["blocking"]),
                "cli_wall_best_s": round(min(walls), 3),
                "cli_wall_median_s": round(statistics.median(walls), 3),
                "cli_cpu_best_s": round(min(cpus), 3),
                "peak_rss_mb": round(max(rss), 1),
                "stages_s": stages(base, path),
            }
        result["counts"] = doc_counts(base)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_text(result)
    return 1 if failed else 0


def doc_counts(path: str) -> dict[str, int]:
    from wanka.pipeline import check

    c = check(path).cluster
    assert c is not None
    return {
        "cards": sum(n.model.cards for n in c.nodes),
        "nodes": len(c.nodes),
        "switches": len(c.switches),
        "racks": len(c.racks),
        "pods": len(c.pods),
    }


def print_text(r: dict[str, Any]) -> None:
    c = r["counts"]
    print(
        f"wanka diff benchmark: {c['cards']:,} cards ({c['nodes']:,} nodes, "
        f"{c['switches']:,} switches, {c['racks']:,} racks, {c['pods']:,} pods), {r['cpus']} CPU(s)"
    )
    for name, label in (("pod", "one pod added"), ("pin", f"one BMC pin ({r['pinned']['bmc']})")):
        v = r[name]
        changes = ", ".join(f"{kind} {sum(ops.values()):,}" for kind, ops in v["counts"].items())
        print(
            f"{label}: cli wall best {v['cli_wall_best_s']:.2f} s, median "
            f"{v['cli_wall_median_s']:.2f} s, cpu {v['cli_cpu_best_s']:.2f} s, peak RSS "
            f"{v['peak_rss_mb']:.0f} MB; {v['blocking']} blocking; changes: {changes}"
        )
        print("  stages, cpu: " + ", ".join(f"{k} {s:.2f} s" for k, s in v["stages_s"].items()))
        if not v["found_the_change"]:
            print("  ERROR: the diff did not report the change")


if __name__ == "__main__":
    sys.exit(main())
