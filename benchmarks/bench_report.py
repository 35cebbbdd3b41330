"""Benchmark `wanka report` on a generated cluster.

    python benchmarks/bench_report.py --cards 50000 [--repeat 2] [--json]

Generates a cluster with benchmarks/generate.py, then runs `wanka report FILE --out DIR` in a
fresh process `--repeat` times (validation and derivation included, as users run it) and
prints the best wall time, CPU time and the peak RSS of the child (os.wait4, see
bench_render.measure), with the pages and bytes written.

Target on 2 cores: the report of the 50,000-card cluster written in under 30 s. Prints
figures; never fails on timings (a benchmark, not a test); exits 1 if the command fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_render import WANKA, best

HERE = Path(__file__).resolve().parent
TARGET_S = 30.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cards", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="wanka-bench-report-"))
    try:
        cluster = tmp / "cluster.yaml"
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), "--cards", str(args.cards)]
            + ["--out", str(cluster)],
            check=True,
        )
        out = tmp / "report"
        figures: dict[str, Any] = {
            "cards_requested": args.cards,
            "file_mb": cluster.stat().st_size / 1e6,
            "report": best([*WANKA, "report", str(cluster), "--out", str(out)], args.repeat),
        }
        pages = sorted(out.glob("*.html"))
        figures["pages"] = len(pages)
        figures["report_mb"] = sum(p.stat().st_size for p in pages) / 1e6
        figures["index_kb"] = (out / "index.html").stat().st_size / 1e3
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        print(json.dumps(figures, indent=2, sort_keys=True))
        return 0
    f = figures["report"]
    print(f"cluster: {args.cards:,} cards requested, {figures['file_mb']:.2f} MB of YAML")
    print(
        f"wanka report: {f['wall_s']:.2f} s wall, {f['cpu_s']:.2f} s CPU, {f['rss_mb']:.1f} MB "
        f"peak; {figures['pages']:,} pages, {figures['report_mb']:.1f} MB "
        f"(index.html {figures['index_kb']:.0f} kB)"
    )
    print(
        f"target < {TARGET_S:g} s: {'met' if f['wall_s'] < TARGET_S else 'MISSED'} "
        f"(best of {args.repeat})"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"bench_report: {e}", file=sys.stderr)
        sys.exit(1)
