"""Benchmark bring-up and verification on the lab: how their wall time grows with servers.

    python benchmarks/bench_bringup.py [--servers 8 32 ...] [--json]     (root)

For each size, the lab-mini variant of benchmarks/bench_lab.py (4 servers a pod) comes up
in a fresh lab directory (power delay 1-2 s, every server off), then, timed one by one:
`wanka bringup --fabric` (push frr.conf), `wanka bringup` (power on through Redfish, SSH,
preflight, OS baseline, driver/firmware/CANN, NPU network, storage), `wanka verify`, and a
second `wanka bringup` (which must report changed=0); then the lab goes down. Prints the
figures; never fails on timings; exits 1 when a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lab import cluster  # noqa: E402  (lab-mini with N servers)

ROOT = Path(__file__).resolve().parent.parent
WANKA = [sys.executable, "-m", "wanka"]


def run(*args: str, ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    started = time.monotonic()
    r = subprocess.run([*WANKA, *args], capture_output=True, text=True, timeout=3600, cwd=ROOT)
    took = time.monotonic() - started
    if r.returncode not in ok:
        print(f"wanka {' '.join(args[:2])} failed:\n{r.stdout}{r.stderr}", file=sys.stderr)
        raise SystemExit(1)
    return took, r.stdout


def one(servers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wk-bench-bringup-", dir="/tmp") as tmp:
        base = Path(tmp)
        base.chmod(0o755)  # FRR runs as frr and must reach its state directory
        path = base / "cluster.yaml"
        path.write_text(cluster(servers), encoding="utf-8")
        lab, out = base / "lab", base / "run"
        common = ["--lab", str(lab), "--out", str(out)]
        figures: dict[str, Any] = {"servers": servers}
        run("lab", "up", str(path), "--dir", str(lab), "--power-delay", "1-2")
        try:
            figures["fabric_s"], _ = run("bringup", str(path), "--fabric", *common)
            figures["bringup_s"], text = run("bringup", str(path), *common)
            figures["verify_s"], text = run("verify", str(path), *common, ok=(0, 1))
            figures["verify_summary"] = text.splitlines()[0] if text else ""
            figures["bringup_again_s"], text = run("bringup", str(path), *common)
            figures["second_changed_0"] = "changed=0" in text
        finally:
            run("lab", "down", str(lab))
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--servers", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_bringup: the lab needs root", file=sys.stderr)
        return 1
    rows = [one(n) for n in args.servers]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'servers':>7} {'fabric':>8} {'bring-up':>9} {'verify':>8} {'again':>8}  changed=0")
    for r in rows:
        print(
            f"{r['servers']:>7} {r['fabric_s']:>7.1f}s {r['bringup_s']:>8.1f}s "
            f"{r['verify_s']:>7.1f}s {r['bringup_again_s']:>7.1f}s  {r['second_changed_0']}"
        )
        print(f"        {r['verify_summary']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
