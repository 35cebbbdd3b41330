from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("examples/*/cluster.yaml"))


def run_wanka(
    *args: str, timeout: float = 60, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as users do, in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "wanka", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or ROOT,
    )


@pytest.fixture
def lab_text() -> str:
    return (ROOT / "examples/lab-mini/cluster.yaml").read_text(encoding="utf-8")


LAB = (ROOT / "examples/lab-mini/cluster.yaml").read_text(encoding="utf-8")
HEAD = LAB[: LAB.index("  layout:")]


def cluster_text(phase_pods: list[int], rows: int = 40) -> str:
    """The lab cluster with len(phase_pods) phases, phase i adding phase_pods[i] pods."""
    out = [
        HEAD,
        "  layout:\n    halls:\n      - name: lab\n        rows:\n",
        f"          - {{name: A, count: {rows}, positions: 10}}\n",
        "  phases:\n",
    ]
    for i, pods in enumerate(phase_pods):
        out.append(f"    - name: p{i + 1}\n      status: planned\n")
        if i:
            out.append("      depends_on: [p1]\n")
        if i and not pods:
            out.append("      pods: []\n")
            continue
        out.append("      pods:\n")
        if i == 0:
            out.append("        - {name: core, type: lab-spines, hall: lab, row: A}\n")
        if pods:
            out.append(
                f"        - {{name: pod, type: lab-pod, count: {pods}, hall: lab, row: A}}\n"
            )
    return "".join(out)
