"""Benchmark `wanka validate`, `plan` and `render`, and Ansible reading the rendered inventory.

    python benchmarks/bench_render.py --cards 50000 [--repeat 2] [--json]

Generates a cluster with benchmarks/generate.py, then runs each command in a
fresh process (`--repeat` times, best wall time kept) and measures wall time,
CPU time and peak RSS of the child (os.wait4). Then it times
`ansible-inventory --list` on the rendered inventory next to a flat static
YAML inventory of the same hosts with the same host variables (no groups), the
baseline the issue asks the inventory to match; both load the same group_vars.

Targets on 2 cores: validate < 2 s, render < 15 s, peak memory < 1.5 GB, the
rendered inventory no slower than the flat one. Prints figures; never fails on
timings (a benchmark, not a test); exits 1 if a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
WANKA = [sys.executable, "-m", "wanka"]
TARGETS = {"validate": 2.0, "plan": None, "render": 15.0}
TARGET_RSS_MB = 1536.0


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall, CPU and peak RSS of one child process; raises if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {stderr[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
    }


def best(cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> dict[str, float]:
    runs = [measure(cmd, env) for _ in range(repeat)]
    return {
        "wall_s": min(r["wall_s"] for r in runs),
        "cpu_s": min(r["cpu_s"] for r in runs),
        "rss_mb": max(r["rss_mb"] for r in runs),
    }


def flat_inventory(rendered: Path, out: Path) -> int:
    """The same hosts, host variables and group_vars as a flat static YAML inventory (all.hosts
    only, no groups), in its own directory `out` beside a copy of the rendered group_vars:
    `ansible-inventory --list` merges group_vars into every host, which dominates its time."""
    doc = yaml.load(rendered.read_text(), Loader=yaml.CSafeLoader)
    hosts = doc["all"]["hosts"]
    out.mkdir()
    shutil.copytree(rendered.parent / "group_vars", out / "group_vars")
    (out / "inventory.yml").write_text(
        yaml.dump({"all": {"hosts": hosts}}, Dumper=yaml.CSafeDumper, sort_keys=True)
    )
    return len(hosts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cards", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="wanka-bench-"))
    try:
        cluster = tmp / "cluster.yaml"
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                "--cards",
                str(args.cards),
                "--out",
                str(cluster),
            ],
            check=True,
        )
        figures: dict[str, Any] = {
            "cards_requested": args.cards,
            "file_mb": cluster.stat().st_size / 1e6,
        }
        out = tmp / "out"
        commands = {
            "validate": [*WANKA, "validate", "-q", str(cluster)],
            "plan": [*WANKA, "plan", "--format", "json", str(cluster)],
            "render": [*WANKA, "render", str(cluster), "--out", str(out)],
        }
        for name, cmd in commands.items():
            figures[name] = best(cmd, args.repeat)
        files = [p for p in out.rglob("*") if p.is_file()]
        figures["render_files"] = len(files)
        figures["render_mb"] = sum(p.stat().st_size for p in files) / 1e6

        ansible = Path(sys.executable).parent / "ansible-inventory"
        if ansible.exists():
            env = {**os.environ, "ANSIBLE_INVENTORY_ENABLED": "yaml"}
            rendered = out / "ansible" / "inventory.yml"
            flat = tmp / "flat" / "inventory.yml"
            figures["inventory_hosts"] = flat_inventory(rendered, flat.parent)
            figures["ansible_inventory_rendered"] = best(
                [str(ansible), "-i", str(rendered), "--list"], args.repeat, env
            )
            figures["ansible_inventory_flat"] = best(
                [str(ansible), "-i", str(flat), "--list"], args.repeat, env
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        print(json.dumps(figures, indent=2, sort_keys=True))
        return 0
    print(f"cluster: {args.cards:,} cards requested, {figures['file_mb']:.2f} MB of YAML")
    for name, limit in TARGETS.items():
        f = figures[name]
        verdict = (
            ""
            if limit is None
            else (f"  target < {limit:g} s: {'met' if f['wall_s'] < limit else 'MISSED'}")
        )
        print(
            f"{name:>9}: {f['wall_s']:6.2f} s wall, {f['cpu_s']:6.2f} s CPU, "
            f"{f['rss_mb']:7.1f} MB peak{verdict}"
        )
    print(f"   render: {figures['render_files']:,} files, {figures['render_mb']:.1f} MB")
    peak = max(figures[n]["rss_mb"] for n in TARGETS)
    print(
        f"peak memory {peak:.0f} MB, target < {TARGET_RSS_MB:.0f} MB: "
        f"{'met' if peak < TARGET_RSS_MB else 'MISSED'}"
    )
    if "ansible_inventory_rendered" in figures:
        r, f = figures["ansible_inventory_rendered"], figures["ansible_inventory_flat"]
        print(
            f"ansible-inventory --list, {figures['inventory_hosts']:,} hosts: rendered "
            f"{r['wall_s']:.2f} s ({r['rss_mb']:.0f} MB), flat static {f['wall_s']:.2f} s "
            f"({f['rss_mb']:.0f} MB): rendered/flat = {r['wall_s'] / f['wall_s']:.2f}"
        )
    else:
        print("ansible-inventory not installed: inventory timing skipped")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"bench_render: {e}", file=sys.stderr)
        sys.exit(1)
