"""Benchmark `wanka validate` on a generated cluster.

    python benchmarks/bench_validate.py --cards 50000 [--repeat 3] [--json] [--out FILE]

Generates a cluster with benchmarks/generate.py into a temporary file (or
FILE; timed on its own), then, `--repeat` times each, in fresh processes:

* runs the whole CLI, `wanka validate FILE`, and measures its wall time, CPU
  time (user + system) and peak RSS (ru_maxrss of the child, from os.wait4);
* runs a child Python process that times each stage of the pipeline on its
  own: import, load (wanka.language.document.load_document: YAML and JSON Schema),
  build (wanka.model.build.build), topology (wanka.derive.topology.compute) and rules
  (wanka.rules.run), with the high-water RSS after each;
* runs another child that splits the load stage, cold: the YAML parse
  (wanka.language.loader.load_file) and the JSON Schema check (wanka.language.schema.validate,
  compiling the validators included).

Prints best and median wall times, best CPU times, peak RSS, the input size
and the cluster's counts, and how the CLI compares with the targets
(validate < 2 s wall and < 1.5 GB peak RSS on 2 cores). Validation is single
threaded, so on an idle machine wall time is about CPU time; on a busy one
the CPU time is the figure to compare. It never fails on timings: it is a
benchmark, not a test. It exits 1 if validation itself fails (the CLI exits
non-zero, or the stages report findings), 2 if the cluster cannot be generated.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "generate.py"
TARGET_WALL_S = 2.0
TARGET_RSS_MB = 1536.0  # 1.5 GB
STAGES = ("import", "load", "build", "topology", "rules")
LOAD_PARTS = ("load.yaml", "load.schema")
BUSY = 1.3  # wall/CPU ratio above which the machine was busy during a run

# Runs in a fresh interpreter: argv[1] is the mode, argv[2] the cluster file; prints one JSON line.
# Mode "stages": the pipeline stage by stage. Mode "load": the two halves of the load stage, cold.
STAGE_CHILD = r"""
import json, os, resource, sys, time
RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux

out = {"wall": {}, "cpu": {}, "rss_mb": {}}
def start():
    return time.perf_counter(), time.process_time()
def lap(name, t0):
    out["wall"][name] = time.perf_counter() - t0[0]
    out["cpu"][name] = time.process_time() - t0[1]
    out["rss_mb"][name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * RSS_UNIT / 2**20
def finish(findings):
    out["finding_count"] = len(findings)
    out["findings"] = [f"{f.where}: {f.severity}[{f.rule}]: {f.message}" for f in findings[:20]]
    print(json.dumps(out))

mode, path = sys.argv[1], sys.argv[2]
t = start()
from wanka import rules
from wanka.language import schema
from wanka.model.build import build
from wanka.language.document import load_document
from wanka.language.loader import load_file
from wanka.derive.topology import compute
lap("import", t)

if mode == "load":
    t = start()
    data = load_file(path)
    lap("load.yaml", t)
    t = start()
    problems = schema.validate(data)
    lap("load.schema", t)
    finish(problems)
    sys.exit(0)

t = start()
doc = load_document(path)
lap("load", t)
out["input_bytes"] = sum(os.path.getsize(f) for f in doc.files)  # the file and its includes
findings = list(doc.findings)
if doc.data is not None and not findings:
    t = start()
    cluster, found = build(doc.data, doc.files)
    lap("build", t)
    findings += found
    t = start()
    topo = compute(cluster)
    lap("topology", t)
    t = start()
    findings += rules.run(cluster, topo)
    lap("rules", t)
    out["counts"] = {
        "phases": len(cluster.phases), "pods": len(cluster.pods), "racks": len(cluster.racks),
        "nodes": len(cluster.nodes), "switches": len(cluster.switches),
        "cards": sum(n.model.cards for n in cluster.nodes),
    }
finish(findings)
"""


@dataclass
class Run:
    wall_s: float
    cpu_s: float  # user + system
    peak_rss_mb: float
    exit_code: int
    output: str


def _rss_mb(ru_maxrss: int) -> float:
    return ru_maxrss * (1 if sys.platform == "darwin" else 1024) / 2**20


def run(argv: list[str]) -> Run:
    """Run argv in a fresh process: its wall time, CPU time and peak RSS (os.wait4), output."""
    with tempfile.TemporaryFile() as out:
        fd = out.fileno()
        actions = [(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)]
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Run(
        wall,
        usage.ru_utime + usage.ru_stime,
        _rss_mb(usage.ru_maxrss),
        os.waitstatus_to_exitcode(status),
        text,
    )


def wanka_command() -> list[str]:
    """The `wanka` console script of this interpreter's environment, else `python -m wanka`."""
    script = Path(sys.executable).with_name("wanka")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("wanka")
    return [found] if found else [sys.executable, "-m", "wanka"]


@dataclass
class Series:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float, rss: float | None = None) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)
        if rss is not None:
            self.rss.append(rss)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "best_s": round(min(self.wall), 4),
            "median_s": round(statistics.median(self.wall), 4),
            "runs_s": [round(t, 4) for t in self.wall],
            "cpu_best_s": round(min(self.cpu), 4),
            "cpu_median_s": round(statistics.median(self.cpu), 4),
        }
        if self.rss:
            out["peak_rss_mb"] = round(max(self.rss), 1)
        return out


def _fail(message: str, output: str, code: int) -> int:
    print(f"bench_validate: {message}", file=sys.stderr)
    for line in output.strip().splitlines()[:40]:
        print(f"  {line}", file=sys.stderr)
    return code


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def bench(args: argparse.Namespace, workdir: str) -> tuple[dict[str, Any] | None, int]:
    path = args.file or args.out or os.path.join(workdir, f"cluster-{args.cards}.yaml")
    result: dict[str, Any] = {
        "cards_requested": None if args.file else args.cards,
        "repeat": args.repeat,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": _cpus(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
    }
    if not args.file:
        gen = run([sys.executable, str(GENERATOR), "--cards", str(args.cards), "--out", path])
        if gen.exit_code != 0:
            return None, _fail("generating the cluster failed", gen.output, 2)
        result["generate"] = {
            "wall_s": round(gen.wall_s, 4),
            "cpu_s": round(gen.cpu_s, 4),
            "peak_rss_mb": round(gen.peak_rss_mb, 1),
        }
    result["file"] = {"path": path}

    cli = Series()
    validate = [*wanka_command(), "validate", path]
    result["cli_command"] = " ".join(validate)
    for _ in range(args.repeat):
        r = run(validate)
        if r.exit_code != 0:
            cmd = " ".join(validate)
            return None, _fail(f"validation failed (exit {r.exit_code}): {cmd}", r.output, 1)
        cli.add(r.wall_s, r.cpu_s, r.peak_rss_mb)
    result["cli"] = cli.summary()

    stages = {name: Series() for name in (*STAGES, "total", *LOAD_PARTS)}
    child = Series()
    for _ in range(args.repeat):
        for mode, names in (("stages", STAGES), ("load", LOAD_PARTS)):
            r = run([sys.executable, "-c", STAGE_CHILD, mode, path])
            if r.exit_code != 0:
                return None, _fail(f"the stage-timing child ({mode}) failed", r.output, 1)
            report = json.loads(r.output.strip().splitlines()[-1])
            if report["finding_count"]:
                problems = "\n".join(report["findings"])
                message = f"validation found {report['finding_count']} problem(s)"
                return None, _fail(message, problems, 1)
            for name in names:
                stages[name].add(report["wall"][name], report["cpu"][name], report["rss_mb"][name])
            if mode == "stages":
                stages["total"].add(
                    sum(report["wall"][n] for n in STAGES[1:]),
                    sum(report["cpu"][n] for n in STAGES[1:]),
                )
                child.add(r.wall_s, r.cpu_s, r.peak_rss_mb)
                result["counts"] = report["counts"]
                size = report["input_bytes"]
                result["file"].update(bytes=size, mb=round(size / 1e6, 3))
    result["stages"] = {name: s.summary() for name, s in stages.items()}
    result["stage_child"] = child.summary()
    in_process = sum(result["stages"][n]["cpu_best_s"] for n in STAGES)
    result["cli_outside_stages_cpu_s"] = round(result["cli"]["cpu_best_s"] - in_process, 4)
    result["target"] = {
        "wall_s": TARGET_WALL_S,
        "peak_rss_mb": TARGET_RSS_MB,
        "wall_met": min(cli.wall) < TARGET_WALL_S,
        "cpu_met": min(cli.cpu) < TARGET_WALL_S,
        "rss_met": max(cli.rss) < TARGET_RSS_MB,
        "machine_busy": statistics.median(cli.wall) > BUSY * statistics.median(cli.cpu),
    }
    return result, 0


def _row(label: str, s: dict[str, Any], rss_label: str = "RSS after") -> str:
    rss = f"   {rss_label} {s['peak_rss_mb']:6.1f} MB" if "peak_rss_mb" in s else ""
    return (
        f"{label:<22} wall best {s['best_s']:6.3f} s  median {s['median_s']:6.3f} s"
        f"   cpu best {s['cpu_best_s']:6.3f} s{rss}"
    )


def print_text(r: dict[str, Any]) -> None:
    m = r["machine"]
    c = r["counts"]
    load = ", ".join(f"{x:g}" for x in m["load_average"])
    print(f"wanka validate benchmark: {r['file']['path']}")
    print(
        f"  python {m['python']} on {m['platform']}, {m['cpus']} CPU(s), load average {load}; "
        f"{r['repeat']} run(s) each"
    )
    if "generate" in r:
        g = r["generate"]
        print(
            f"{'generate':<22} wall {g['wall_s']:6.3f} s   cpu {g['cpu_s']:6.3f} s   "
            f"peak RSS {g['peak_rss_mb']:6.1f} MB   (--cards {r['cards_requested']:,})"
        )
    print(f"{'input':<22} {r['file']['mb']:.2f} MB")
    print(
        f"{'counts':<22} {c['nodes']:,} nodes, {c['cards']:,} cards, {c['switches']:,} switches, "
        f"{c['racks']:,} racks ({c['pods']:,} pods, {c['phases']} phases)"
    )
    print(_row("cli: wanka validate", r["cli"], "peak RSS"))
    for name, s in r["stages"].items():
        label = f"stage: {name}" if name in STAGES or name == "total" else f"  {name} (cold)"
        print(_row(label, s))
    print(
        f"{'cli minus stages':<22} cpu {r['cli_outside_stages_cpu_s']:6.3f} s "
        "(interpreter start, report, exit)"
    )
    print(_row("stage child process", r["stage_child"], "peak RSS"))
    t = r["target"]
    cli = r["cli"]
    verdict = "met" if t["wall_met"] and t["rss_met"] else "NOT met"
    print(
        f"target: validate < {t['wall_s']:g} s wall and < {t['peak_rss_mb'] / 1024:g} GB peak on "
        f"2 cores: {verdict}: {cli['best_s']:.3f} s wall ({cli['best_s'] / t['wall_s']:.0%} of "
        f"the budget), {cli['cpu_best_s']:.3f} s cpu ({cli['cpu_best_s'] / t['wall_s']:.0%}), "
        f"{cli['peak_rss_mb']:.0f} MB peak ({cli['peak_rss_mb'] / t['peak_rss_mb']:.0%}), "
        f"{m['cpus']} CPU(s)"
    )
    if t["machine_busy"]:
        print(
            "  note: the machine was busy (median wall > "
            f"{BUSY:g} x cpu): compare the cpu figures, which waiting for the CPU does not inflate"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Benchmark `wanka validate` on a generated cluster (wall and CPU time, peak "
        "RSS, per-stage breakdown). Exits 1 if validation fails; never on timings."
    )
    p.add_argument("--cards", type=int, default=50_000, help="cards in the generated cluster")
    p.add_argument("--repeat", type=int, default=3, help="runs of each measurement (default 3)")
    p.add_argument(
        "--file", metavar="FILE", help="benchmark this cluster file instead of generating one"
    )
    p.add_argument("--out", metavar="FILE", help="keep the generated cluster in FILE")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    with tempfile.TemporaryDirectory(prefix="wanka-bench-") as workdir:
        result, code = bench(args, workdir)
    if result is None:
        return code
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_text(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
