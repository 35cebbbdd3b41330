"""Benchmark Ansible reading the rendered inventory, next to a flat one of the same hosts.

    python benchmarks/bench_inventory.py --cards 50000 [--repeat 3] [--json]
    python benchmarks/bench_inventory.py --rendered out/shenzhen-14000p/ansible/inventory.yml

Renders a generated cluster (benchmarks/generate.py; or takes an inventory already
rendered, `--rendered`), writes the flat baseline beside it (the same hosts, host
variables and group_vars, no groups: `bench_render.flat_inventory`) and times
`ansible-inventory --list` on each, alternating the two `--repeat` times, with only the
YAML inventory plugin enabled (as bench_render.py does). The figure is CPU time (user +
system of the child), which waiting for a busy machine's CPU does not inflate; wall time
and peak RSS are printed beside it. Target: rendered/flat <= 1.1.

Prints figures; never fails on timings (a benchmark, not a test); exits 1 if a command
fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_render import flat_inventory, measure

HERE = Path(__file__).resolve().parent
WANKA = [sys.executable, "-m", "wanka"]
TARGET = 1.1


def rendered_inventory(cards: int, tmp: Path) -> Path:
    """The inventory `wanka render` writes for a generated cluster of `cards` cards."""
    cluster = tmp / "cluster.yaml"
    generate = [sys.executable, str(HERE / "generate.py"), "--cards", str(cards)]
    subprocess.run([*generate, "--out", str(cluster)], check=True, stdout=subprocess.DEVNULL)
    out = tmp / "out"
    subprocess.run(
        [*WANKA, "render", str(cluster), "--out", str(out)], check=True, stdout=subprocess.DEVNULL
    )
    return out / "ansible" / "inventory.yml"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cards", type=int, default=50_000, help="cards in the generated cluster")
    ap.add_argument("--rendered", metavar="FILE", help="an inventory.yml already rendered")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    ansible = Path(sys.executable).parent / "ansible-inventory"
    if not ansible.exists():
        print(f"bench_inventory: {ansible} not installed (make setup)", file=sys.stderr)
        return 1
    env = {**os.environ, "ANSIBLE_INVENTORY_ENABLED": "yaml"}
    tmp = Path(tempfile.mkdtemp(prefix="wanka-bench-inventory-"))
    try:
        source = Path(args.rendered) if args.rendered else rendered_inventory(args.cards, tmp)
        rendered = tmp / "rendered"
        rendered.mkdir()
        shutil.copy(source, rendered / "inventory.yml")
        shutil.copytree(source.parent / "group_vars", rendered / "group_vars")
        hosts = flat_inventory(rendered / "inventory.yml", tmp / "flat")
        runs: dict[str, list[dict[str, float]]] = {"rendered": [], "flat": []}
        for _ in range(args.repeat):  # alternating: a load that comes and goes hits both
            for name in runs:
                cmd = [str(ansible), "-i", str(tmp / name / "inventory.yml"), "--list"]
                runs[name].append(measure(cmd, env))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    figures = {
        name: {
            "cpu_s": min(r["cpu_s"] for r in rs),
            "wall_s": min(r["wall_s"] for r in rs),
            "rss_mb": max(r["rss_mb"] for r in rs),
        }
        for name, rs in runs.items()
    }
    ratio = figures["rendered"]["cpu_s"] / figures["flat"]["cpu_s"]
    if args.json:
        print(json.dumps({"hosts": hosts, "ratio_cpu": ratio, **figures}, indent=2))
        return 0
    print(f"ansible-inventory --list, {hosts:,} hosts, best of {args.repeat}:")
    for name, f in figures.items():
        print(
            f"  {name:>8}: {f['cpu_s']:6.2f} s CPU  {f['wall_s']:6.2f} s wall  "
            f"{f['rss_mb']:5.0f} MB peak"
        )
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"rendered/flat = {ratio:.2f} (CPU); target <= {TARGET}: {verdict}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"bench_inventory: {e}", file=sys.stderr)
        sys.exit(1)
