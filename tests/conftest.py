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
