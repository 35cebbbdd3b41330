"""The lab's execution nodes (`wanka lab up --execution-nodes N`): a namespace each, where
`wanka bringup|verify --execution-nodes N` runs `ansible-runner worker`.

The namespaces are `<prefix>-x1` ... `<prefix>-xN`, each reaching the servers the way the
control node does, through the lab's jump host (the SSH ProxyCommand of access.json enters
the jump host's namespace, which has a link into each management subnet; the lab's
management subnets are sized for the model's devices, /29 for lab-mini's racks, and leave no
address to spare for execution nodes of their own), and the BMC emulator (on this machine's
loopback) through a relay listening on the same port on the node's own loopback
(wanka.lab.relay), as an execution node reaches the BMCs on the out-of-band network. Nothing
else of this machine's network is reachable from them. A bring-up or verify run with
`--execution-nodes N` runs `ansible-runner worker` in the first N of them, which access.json
lists:

    "execution_nodes": [{"name": "x1", "namespace": "<prefix>-x1",
                         "command": ["ip", "netns", "exec", "<prefix>-x1", "env",
                                     "PATH=...", "ansible-runner", "worker"]}]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wanka.lab.state import Proc, State, proc_info

MAX = 16  # execution nodes a lab has at most


class ExecNodeError(Exception):
    """A lab cannot have these execution nodes."""


def start(
    state: State, count: int, bmc_port: int, progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Create the `count` execution nodes; their entries of access.json."""
    from wanka.lab.netlab import ip

    if not 1 <= count <= MAX:
        raise ExecNodeError(f"--execution-nodes: from 1 to {MAX}, not {count}")
    bin_dir = Path(sys.executable).parent  # ansible-runner and the ansible-playbook it runs
    path = f"PATH={bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    entries = []
    for i in range(1, count + 1):
        ns = f"{state.prefix}-x{i}"
        state.namespaces[ns] = f"exec-node-x{i}"  # recorded first, like every namespace
        state.save()
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        _start_relay(state, ns, bmc_port)
        entries.append(
            {
                "name": f"x{i}",
                "namespace": ns,
                "command": ["ip", "netns", "exec", ns, "env", path, "ansible-runner", "worker"],
            }
        )
    progress(f"{count} execution node(s) {state.prefix}-x1..x{count} on the management network")
    return entries


def _start_relay(state: State, ns: str, port: int) -> None:
    """The node's BMC relay, as a daemon (`setsid --fork`, like the BMC emulator), recorded
    once it listens."""
    import subprocess
    import time

    where = Path(state.lab_dir)
    log, pidfile = where / f"relay-{ns}.log", where / f"relay-{ns}.pid"
    pidfile.unlink(missing_ok=True)
    cmd = ["setsid", "--fork", sys.executable, "-m", "wanka.lab.relay", ns, str(port), str(pidfile)]
    with log.open("ab") as f:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=f, check=True, timeout=30)
    deadline = time.monotonic() + 30
    while not pidfile.is_file():
        if time.monotonic() > deadline:
            raise ExecNodeError(f"the BMC relay of {ns} did not listen within 30 s: see {log}")
        time.sleep(0.05)
    pid = int(pidfile.read_text(encoding="utf-8"))
    info = proc_info(pid)
    if info is None:
        raise ExecNodeError(f"the BMC relay of {ns} (pid {pid}) exited at once: see {log}")
    state.procs.append(Proc(pid, info[0], " ".join(info[0][:4]), info[1], "", "bmc-relay"))
    state.save()
