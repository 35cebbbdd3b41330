"""`make test`'s pytest-xdist schedule (tests/conftest.py): under `-n 2 --dist loadfile`
every module that brings up a lab runs on one worker, so two labs never run at once, while
the other modules run on the other worker beside them. A real pytest-xdist run over small
modules that only name what a lab module calls."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

CONFTEST = f"""
import importlib.util

spec = importlib.util.spec_from_file_location("real", {str(ROOT / "tests/conftest.py")!r})
real = importlib.util.module_from_spec(spec)
spec.loader.exec_module(real)
pytest_xdist_make_scheduler = real.pytest_xdist_make_scheduler
"""
# what each such module says, in pieces: this module itself brings up no lab
LAB_MODULES = {
    "test_a_lab.py": "# calls require_lab_servers" + "() first\n",
    "test_b_lab.py": "# brings up its own: netlab.up" + "(d, where)\n",
    "test_c_sshd.py": 'PRIVSEP = "/run' + '/sshd"\n',
}
PLAIN = "import time\n\n" + "".join(
    f"def test_{i}() -> None:\n    time.sleep(0.3)\n\n\n" for i in range(3)
)


def test_lab_modules_share_one_worker_and_the_rest_runs_beside(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for name, line in LAB_MODULES.items():
        (tmp_path / name).write_text(line + PLAIN)
    for name in ("test_d.py", "test_e.py", "test_f.py", "test_g.py"):
        (tmp_path / name).write_text(PLAIN)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-n", "2", "--dist", "loadfile",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    ran = re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED (test_\w+)\.py::", res.stdout)
    assert len(ran) == 7 * 3, res.stdout
    lab_workers = {w for w, m in ran if f"{m}.py" in LAB_MODULES}
    assert len(lab_workers) == 1, res.stdout  # all the labs on one worker, one after another
    assert {w for w, m in ran if f"{m}.py" not in LAB_MODULES} - lab_workers, res.stdout
