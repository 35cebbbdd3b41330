"""The lab's code: its one subprocess helper (wanka.lab.proc) and the shape of wanka/lab/
(one module per emulated tool). No root needed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wanka.lab import proc
from wanka.lab.tools import dispatch


class Boom(Exception):
    pass


def test_run_returns_the_output() -> None:
    r = proc.run([sys.executable, "-c", "print('hi')"])
    assert (r.returncode, r.stdout) == (0, "hi\n")


def test_run_raises_the_callers_error_naming_command_and_stderr() -> None:
    cmd = [sys.executable, "-c", "import sys; sys.stderr.write('no such device'); sys.exit(3)"]
    with pytest.raises(Boom) as e:
        proc.run(cmd, error=Boom)
    assert str(e.value) == f"{' '.join(cmd)}: no such device"


def test_run_names_only_the_first_arguments_of_a_long_command() -> None:
    cmd = [sys.executable, "-c", "import sys; sys.exit(1)", *(f"a{i}" for i in range(10))]
    with pytest.raises(proc.CommandFailed) as e:
        proc.run(cmd)
    assert str(e.value) == " ".join(cmd[: proc.SHOWN_ARGS]) + " ...: exit 1"


def test_run_unchecked_returns_the_failure() -> None:
    r = proc.run([sys.executable, "-c", "import sys; sys.exit(4)"], check=False)
    assert r.returncode == 4


def test_run_passes_input() -> None:
    r = proc.run([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], input="x")
    assert r.stdout == "X\n"


def test_run_timeout() -> None:
    cmd = [sys.executable, "-c", "import time; time.sleep(5)"]
    with pytest.raises(Boom, match="no answer within 0.2 s"):
        proc.run(cmd, error=Boom, timeout=0.2)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.run(cmd, timeout=0.2, check=False)


def test_each_tool_is_the_main_of_its_own_module() -> None:
    # one module per tool, its `main`; the emulated package managers share one module, whose
    # function is named after the tool (dnf, yum, apt_get)
    packages = {"dnf", "yum", "apt-get"}
    modules = {name: fn.__module__ for name, fn in dispatch.TOOLS.items() if name not in packages}
    assert len(set(modules.values())) == len(modules), modules
    assert all(dispatch.TOOLS[t].__name__ == "main" for t in modules)
    assert {dispatch.TOOLS[t].__module__ for t in packages} == {"wanka.lab.tools.packages"}
    assert all(dispatch.TOOLS[t].__name__ == t.replace("-", "_") for t in packages)


def test_unknown_tool_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert dispatch.run("nvidia-smi", []) == 2
    assert "unknown tool 'nvidia-smi'" in capsys.readouterr().err
