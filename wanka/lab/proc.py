"""The lab's one way to run a command: captured text output, a timeout, and on failure the
caller's error naming the command and what it printed on stderr (else stdout).

`run(cmd)` raises on a non-zero exit or a timeout; `run(cmd, check=False)` returns the
result whatever the exit code (for commands whose failure is an answer: `ip rule del` of a
rule not there yet, a ping that gets no reply, a daemon not ready).
"""

from __future__ import annotations

import subprocess

SHOWN_ARGS = 8  # how much of a command an error message shows
DETAIL_CHARS = 300  # how much of its output


class CommandFailed(Exception):
    """A command the lab ran failed (the default error of `run`)."""


def describe(cmd: list[str]) -> str:
    """The command as an error message shows it: its first arguments, `...` if there are more."""
    shown = " ".join(cmd[:SHOWN_ARGS])
    return shown + " ..." if len(cmd) > SHOWN_ARGS else shown


def run(
    cmd: list[str],
    *,
    error: type[Exception] = CommandFailed,
    timeout: float = 60,
    input: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd` (text in and out, both captured). With `check`, a non-zero exit or the
    timeout raises `error("<command>: <stderr or stdout>")`; without, a non-zero exit is
    returned (a timeout still raises subprocess.TimeoutExpired)."""
    try:
        r = subprocess.run(
            cmd, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        if not check:
            raise
        raise error(f"{describe(cmd)}: no answer within {timeout:g} s") from None
    if check and r.returncode != 0:
        detail = (r.stderr or r.stdout).strip()[:DETAIL_CHARS]
        raise error(f"{describe(cmd)}: {detail or f'exit {r.returncode}'}")
    return r
