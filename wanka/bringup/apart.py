"""A bring-up run in a process of its own: `run(opts, prepared_dir)` starts a fresh
interpreter (`python -m wanka.bringup.apart`) that runs `wanka.bringup.run.run_playbook` on the
prepared run in `prepared_dir` and hands back its `RunResult`.

Why: Pulumi's dynamic-provider process serves gRPC from worker threads, and gRPC (grpcio
1.81 and later, grpc/grpc#43055) registers fork handlers that restart its poller thread in a
forked child. ansible-runner starts ansible-playbook through pexpect, which forks and then
closes every descriptor before exec: the restarted poller meets its closed epoll descriptor
and aborts the child (SIGABRT, "Epoll1Poller ... epoll_wait error: Bad file descriptor") before
ansible-playbook starts, a few times in a hundred, and the batch reports "did not run:
ansible-playbook exit None". `subprocess` starts this interpreter with vfork and exec, which
runs no fork handlers; inside it nothing serves gRPC, so pexpect's fork is safe there.

The request goes to the child on stdin as JSON (the options without `progress`, which cannot
cross processes, and the prepared directory), the result comes back in a file named in it.
A `BringupError` in the child is raised again here with its message; anything else that
stops the child raises one naming its exit status and the last line of its stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from wanka.bringup.options import BringupError, Options
from wanka.bringup.results import RunResult

ERROR_EXIT = 3  # the child's exit status after a BringupError (its message in the result)


def run(opts: Options, prepared_dir: str | os.PathLike[str]) -> RunResult:
    """`wanka.bringup.run.run_playbook(opts, prepared=Prepared.load(prepared_dir))` in a fresh
    interpreter; its result."""
    if opts.progress is not None:
        raise BringupError("a bring-up in a process of its own shows no progress view")
    fields = {k: v for k, v in asdict(opts).items() if k != "progress"}
    fields = {k: (os.fspath(v) if isinstance(v, os.PathLike) else v) for k, v in fields.items()}
    fields["extra_vars"] = dict(opts.extra_vars)
    with tempfile.TemporaryDirectory(prefix="wanka-apart-") as tmp:
        result_file = Path(tmp) / "result.json"
        request = {"options": fields, "prepared": os.fspath(prepared_dir)}
        request["result"] = str(result_file)
        child = subprocess.run(
            [sys.executable, "-m", "wanka.bringup.apart"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            check=False,
        )
        data = json.loads(result_file.read_text("utf-8")) if result_file.is_file() else None
    if child.returncode == ERROR_EXIT and data is not None:
        raise BringupError(str(data["error"]))
    if child.returncode != 0 or data is None:
        last = [x.strip() for x in child.stderr.splitlines() if x.strip()][-1:]  # the error
        raise BringupError(
            f"the bring-up process stopped (exit {child.returncode}): {''.join(last)}"
        )
    return RunResult.from_dict(data)


def main() -> int:
    """The child: read the request on stdin, run, write the result (or the error)."""
    from wanka.bringup.prepare import Prepared
    from wanka.bringup.run import run_playbook

    request: dict[str, Any] = json.loads(sys.stdin.read())
    out = Path(request["result"])
    try:
        opts = Options(**request["options"])
        result = run_playbook(opts, prepared=Prepared.load(Path(request["prepared"])))
    except BringupError as e:
        out.write_text(json.dumps({"error": str(e)}), encoding="utf-8")
        return ERROR_EXIT
    out.write_text(json.dumps(result.to_dict()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
