from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def require_lab_servers() -> None:
    """Fail (never skip) a test of the lab's servers when this machine cannot run them."""
    import os
    import shutil

    from wanka.lab import nodes

    if os.geteuid() != 0:
        pytest.fail("the lab tests need root (CI runs as root)", pytrace=False)
    for tool in ("ip", "vtysh", "lldpd", "lldpcli", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            pytest.fail(f"`{tool}` not found: install iproute2 frr lldpd openssh", pytrace=False)
    if not Path(nodes.SSHD).exists():
        pytest.fail(f"{nodes.SSHD} not found: install openssh-server", pytrace=False)


@pytest.fixture(scope="session")
def labs() -> Iterator[Any]:
    """The session's shared labs (tests/labkit.py's Labs): taken down at its end."""
    from labkit import Labs

    shared = Labs()
    try:
        yield shared
    finally:
        shared.close()


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


# --- lab tests on one pytest-xdist worker -------------------------------------------------
# `make test` runs the suite on two workers (`-n 2 --dist loadfile`). xdist's loadfile sends
# each test module whole to one worker; here every module that brings up a lab (it calls
# require_lab_servers, netlab.up or tests/labkit.py's lab_up, or takes a shared lab from the
# session's `labs`) or an sshd of its own (labkit's switch_namespace, or its own: it may make
# and remove /run/sshd,
# which the lab's sshd need) goes into one unit, "lab": one worker runs the labs one after
# another, never two at once, while the other worker runs the rest beside them; and so the
# session's shared labs (`labs`) serve every lab module. (Not
# `--dist loadgroup` with xdist_group marks: with pytest 9.2 it silently stops grouping,
# pytest-dev/pytest-xdist#1386.) Without xdist nothing changes.
LAB_WORDS = (
    "require_lab_servers(",
    "netlab.up(",
    "lab_up(",
    "labs.get(",
    "switch_namespace(",  # tests/labkit.py's: it makes /run/sshd for the switch's sshd
    '"/run/sshd"',
)


def brings_up_a_lab(path: Path, seen: dict[Path, bool] = {}) -> bool:  # noqa: B006
    """Whether the test module at `path` brings up a lab or an sshd (read once)."""
    if path not in seen:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        seen[path] = path.name != "conftest.py" and any(w in text for w in LAB_WORDS)
    return seen[path]


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # before xdist's own; only with xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LabsOnOneWorker(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return "lab" if brings_up_a_lab(config.rootpath / module) else module

    return LabsOnOneWorker(config, log)
