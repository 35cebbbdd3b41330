"""Benchmark the Pulumi program under mocks on a generated cluster.

    python benchmarks/bench_pulumi.py --cards 50000 [--repeat 3] [--json] [--engine]

Generates a cluster with benchmarks/generate.py, validates and derives it once, splits it into
stacks (wanka.pulumi.shards) and runs the program of the largest stack under the SDK's mocks
(wanka.pulumi.preview.run_stack, what `wanka plan --pulumi` and the tests do) `--repeat` times,
in this process. Prints the number of stacks, the largest stack and its resources, and the best
and median run time with CPU time. The first run also pays the SDK's imports; the best run is
the figure to compare. `--engine` also runs `preview` of the largest stack once under the real
engine (wanka.pulumi.engine: the built or installed CLI, a file backend and passphrase made for
the run) and prints its wall time and the CPU time of this process and its children (the CLI,
the dynamic-provider process). Never fails on timings (a benchmark, not a test); exits 1 if
the program fails, 2 if the cluster cannot be generated.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cards", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--engine", action="store_true", help="preview the largest stack for real")
    args = ap.parse_args()

    from wanka.pipeline import check, derive
    from wanka.pulumi import preview, shards
    from wanka.pulumi import stack as stack_module

    tmp = Path(tempfile.mkdtemp(prefix="wanka-bench-pulumi-"))
    try:
        cluster = tmp / "cluster.yaml"
        gen = subprocess.run(
            [sys.executable, str(HERE / "generate.py"), "--cards", str(args.cards)]
            + ["--out", str(cluster)],
            check=False,
        )
        if gen.returncode != 0:
            return 2
        t0 = time.perf_counter()
        d = derive(check(str(cluster)))
        derive_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        stacks = shards.shards(d)
        shard_s = time.perf_counter() - t0
        largest = max(stacks, key=lambda s: s.resources)
        t0 = time.perf_counter()
        stack_module._routing(d)  # every switch's routing, computed once for all stacks
        routing_s = time.perf_counter() - t0
        walls: list[float] = []
        cpus: list[float] = []
        run: Any = None
        for _ in range(args.repeat):
            c0 = time.process_time()
            run = preview.run_stack(d, str(cluster), largest)
            walls.append(run.seconds)
            cpus.append(time.process_time() - c0)
        # for comparison: the largest phase as one unsharded stack (the program finds its
        # shard with the module's budget: lifted for this one run)
        budget, shards.BUDGET = shards.BUDGET, 10**9
        try:
            whole = max(shards.shards(d), key=lambda s: s.resources)
            whole_run = preview.run_stack(d, str(cluster), whole)
        finally:
            shards.BUDGET = budget
        engine: dict[str, Any] = {}
        if args.engine:
            config = preview.config_of(largest, str(cluster))
            engine = _engine_preview(tmp, config, largest.stack)
    except Exception as e:  # a failing program is a result: say what failed
        print(f"bench_pulumi: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    c = d.cluster
    figures = {
        "cards": sum(n.model.cards for n in c.nodes),
        "nodes": len(c.nodes),
        "switches": len(c.switches),
        "stacks": len(stacks),
        "stacks_per_phase": {p.name: sum(s.phase == p.name for s in stacks) for p in c.phases},
        "largest": largest.stack,
        "largest_resources": len(run.resources),
        "largest_counts": run.counts(),
        "budget": shards.BUDGET,
        "validate_derive_s": derive_s,
        "shards_s": shard_s,
        "routing_s": routing_s,
        "unsharded_phase": whole.stack,
        "unsharded_resources": len(whole_run.resources),
        "unsharded_mocks_s": whole_run.seconds,
        "mocks_best_s": min(walls),
        "mocks_median_s": statistics.median(walls),
        "mocks_best_cpu_s": min(cpus),
        "ms_per_resource": 1000 * min(walls) / len(run.resources),
        **engine,
    }
    if args.json:
        print(json.dumps(figures, indent=2, sort_keys=True))
        return 0
    print(
        f"cluster: {figures['cards']:,} cards, {figures['nodes']:,} nodes, "
        f"{figures['switches']:,} switches (validate + derive {derive_s:.1f} s)"
    )
    per_phase = ", ".join(f"{k}: {v}" for k, v in figures["stacks_per_phase"].items())
    print(f"stacks: {len(stacks)} ({per_phase}), split in {shard_s:.2f} s")
    print(f"largest stack: {largest.stack}, {len(run.resources):,} resources {run.counts()}")
    print(
        f"mocks run of the largest stack: best {min(walls):.2f} s, median "
        f"{statistics.median(walls):.2f} s, CPU {min(cpus):.2f} s "
        f"({figures['ms_per_resource']:.1f} ms per resource; {args.repeat} runs; switch "
        f"routing computed once before, {routing_s:.2f} s)"
    )
    print(
        f"for comparison, phase {whole.phase} as one stack: {len(whole_run.resources):,} "
        f"resources, mocks run {whole_run.seconds:.2f} s"
    )
    if engine:
        print(
            f"engine preview of the largest stack: {engine['engine_preview_s']:.1f} s wall, "
            f"{engine['engine_preview_cpu_s']:.1f} s CPU (this process and its children), "
            f"{engine['engine_preview_steps']} steps"
        )
    return 0


def _engine_preview(tmp: Path, config: dict[str, str], stack: str) -> dict[str, Any]:
    """`preview` of `stack` under the real engine: wall and CPU seconds, the steps shown."""
    import resource
    import secrets

    from wanka.pulumi.engine import Engine

    (tmp / "state").mkdir()
    (tmp / "project").mkdir()
    engine = Engine(
        work_dir=tmp / "project",
        backend=(tmp / "state").as_uri(),
        env={"PULUMI_CONFIG_PASSPHRASE": secrets.token_hex(16), "PULUMI_HOME": str(tmp / "home")},
    )
    st = engine.stack(stack, config, secret={"wanka:bmcPassword"})

    def cpu() -> float:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    c0, t0 = cpu(), time.perf_counter()
    result = st.preview(on_output=lambda _line: None, color="never")
    wall, used = time.perf_counter() - t0, cpu() - c0
    return {
        "engine_preview_s": wall,
        "engine_preview_cpu_s": used,
        "engine_preview_steps": sum(result.change_summary.values()),
    }


if __name__ == "__main__":
    sys.exit(main())
