"""`wanka up` (the real Pulumi engine) against `wanka bringup` on the same lab.

    sudo flock /tmp/wanka-lab.lock .venv/bin/python benchmarks/bench_pulumi_lab.py [--json]

Brings up a lab of examples/lab-mini (its own namespace prefix; root, FRR, lldpd, sshd and
`make tools` needed), then, phase by phase: `wanka up --phase P` (BMCs power the servers on,
the switch configurations, the bring-up batches), `wanka destroy --phase P` (powers them off),
and `wanka bringup --phase P --lab` (powers them on and brings them up through Ansible, no
switch configuration). Prints each command's wall time; the lab is taken down at the end.
A benchmark, not a test: it never fails on timings; exits 1 when a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
LAB = ROOT / "examples/lab-mini/cluster.yaml"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    from wanka.lab import netlab
    from wanka.pipeline import check, derive
    from wanka.pulumi.engine import Engine

    base = Path(tempfile.mkdtemp(prefix="wkbench-lab-", dir="/tmp"))
    base.chmod(0o755)  # FRR runs as frr and must reach its state directory
    for sub in ("state", "project"):
        (base / sub).mkdir()
    shutil.copyfile(ROOT / "stacks/Pulumi.yaml", base / "project/Pulumi.yaml")
    engine = Engine(
        work_dir=base / "project",
        backend=(base / "state").as_uri(),
        env={"PULUMI_CONFIG_PASSPHRASE": secrets.token_hex(16), "PULUMI_HOME": str(base / "home")},
    )
    env = {**os.environ, **engine.env_vars(), "WANKA_BMC_PASSWORD": secrets.token_hex(12)}
    lab = base / "lab"
    times: dict[str, float] = {}

    def wanka(*argv: str) -> None:
        started = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "wanka", *argv], env=env, cwd=ROOT, capture_output=True,
            text=True, timeout=1800, check=False,
        )  # fmt: skip
        times[f"wanka {argv[0]} --phase {argv[argv.index('--phase') + 1]}"] = round(
            time.monotonic() - started, 1
        )
        if r.returncode != 0:
            raise RuntimeError(f"wanka {' '.join(argv)}: exit {r.returncode}\n{r.stdout}{r.stderr}")

    try:
        d = derive(check(str(LAB)))
        started = time.monotonic()
        netlab.up(d, lab, prefix=f"wkb{os.urandom(2).hex()}", power_delay=(1, 2))
        times["lab up"] = round(time.monotonic() - started, 1)
        stacks = ["--stacks", str(base / "project"), "--lab", str(lab)]
        for phase in ("p1", "p2"):
            wanka("up", str(LAB), "--phase", phase, *stacks)
        for phase in ("p2", "p1"):
            wanka("destroy", str(LAB), "--phase", phase, *stacks)
        for phase in ("p1", "p2"):
            out = str(base / f"bringup-{phase}")
            wanka("bringup", str(LAB), "--phase", phase, "--lab", str(lab), "--out", out)
    except Exception as e:  # a failed command is a result: say what failed
        print(f"bench_pulumi_lab: {e}", file=sys.stderr)
        return 1
    finally:
        netlab.down(lab)
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(times, indent=2))
    else:
        for what, seconds in times.items():
            print(f"{what}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
