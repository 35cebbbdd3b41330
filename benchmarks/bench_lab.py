"""Benchmark the lab: how long `wanka lab up`, powering every server on and `down` take.

    python benchmarks/bench_lab.py [--servers 8 32 ...] [--json]     (root)

For each size, a copy of examples/lab-mini with that many servers (4 per pod; every pod
adds a param leaf, a management and an out-of-band switch; 2 shared spines) is brought up
in a fresh lab directory, then every server is powered on through its Redfish BMC (power
delay 1 s) and reached over ssh, BGP is waited for on every fabric link, and the lab is
torn down. Prints wall times, the processes and the memory (summed RSS) the running lab
holds. The issue's target: 32 servers come up in under 60 s on 2 cores. Prints figures;
never fails on timings; exits 1 if a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WANKA = [sys.executable, "-m", "wanka"]
LAB = ROOT / "examples/lab-mini/cluster.yaml"


def cluster(servers: int) -> str:
    """lab-mini with `servers` servers: phase 1 holds all but the last pod, phase 2 one."""
    if servers % 4 or servers < 8:
        raise SystemExit("--servers: a multiple of 4, at least 8")
    pods = servers // 4
    text = LAB.read_text(encoding="utf-8")
    text = text.replace("{name: A, positions: 10}", "{name: A, positions: 400}")
    first = text.index("type: lab-pod, count: 1,")
    text = text[:first] + text[first:].replace("count: 1,", f"count: {pods - 1},", 1)
    return text


def run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([*WANKA, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if r.returncode != 0:
        print(f"wanka {' '.join(args[:3])} failed:\n{r.stderr}", file=sys.stderr)
        raise SystemExit(1)
    return r


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        m = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(m.group(1)) if m else 0
    return total / 1024


def lab_pids(lab: Path) -> list[int]:
    state = json.loads((lab / "state.json").read_text())
    pids = [p["pid"] for p in state["procs"]]
    mnts = set()
    for rec in (lab / "nodes").glob("*/server.json"):
        mnts.add(tuple(json.loads(rec.read_text())["mnt"]))
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                st = os.stat(f"/proc/{entry}/ns/mnt")
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in mnts:
                pids.append(int(entry))
    return pids


def one(servers: int) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="wanka-bench-lab-"))
    base.chmod(0o755)
    path = base / "cluster.yaml"
    path.write_text(cluster(servers), encoding="utf-8")
    lab = base / "lab"
    out: dict[str, Any] = {"servers": servers}
    try:
        t0 = time.perf_counter()
        run("lab", "up", str(path), "--dir", str(lab), "--power-delay", "1-1")
        out["up_s"] = round(time.perf_counter() - t0, 2)
        state = json.loads((lab / "state.json").read_text())
        out["namespaces"] = len(state["namespaces"])
        out["switches"] = out["namespaces"] - servers
        out["cables"] = len(state["veths"])
        t1 = time.perf_counter()
        run("lab", "power", str(lab), "on", "--wait", "--timeout", "120")
        out["power_on_all_s"] = round(time.perf_counter() - t1, 2)
        deadline = time.monotonic() + 120
        while True:
            st = json.loads(run("lab", "status", str(lab)).stdout)
            bgp = st.get("bgp", {})
            if all(v["established"] == v["peers"] > 0 for v in bgp.values()):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"BGP not established after 120 s: {bgp}")
            time.sleep(0.5)
        out["up_to_all_bgp_and_ssh_s"] = round(time.perf_counter() - t0, 2)
        pids = lab_pids(lab)
        out["processes"] = len(pids)
        out["rss_mb"] = round(rss_mb(pids), 1)
        t2 = time.perf_counter()
        run("lab", "down", str(lab))
        out["down_s"] = round(time.perf_counter() - t2, 2)
    finally:
        if (lab / "state.json").exists():
            subprocess.run([*WANKA, "lab", "down", str(lab)], capture_output=True, cwd=ROOT)
        for p in (path,):
            p.unlink(missing_ok=True)
        if base.exists() and not any(base.iterdir()):
            base.rmdir()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--servers", type=int, nargs="+", default=[8, 32])
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("bench_lab: the lab needs root", file=sys.stderr)
        return 1
    results = [one(n) for n in args.servers]
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(
        f"{'servers':>8} {'switches':>8} {'cables':>6} {'up s':>6} {'power-on s':>10} "
        f"{'all ready s':>11} {'procs':>6} {'RSS MB':>7} {'down s':>6}"
    )
    for r in results:
        print(
            f"{r['servers']:>8} {r['switches']:>8} {r['cables']:>6} {r['up_s']:>6} "
            f"{r['power_on_all_s']:>10} {r['up_to_all_bgp_and_ssh_s']:>11} {r['processes']:>6} "
            f"{r['rss_mb']:>7} {r['down_s']:>6}"
        )
    print("target: 32 servers up (every server reachable, BGP established) in < 60 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
