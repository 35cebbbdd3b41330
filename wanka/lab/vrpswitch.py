"""A lab switch of an `os: vrp` model: the lab's VRP CLI (wanka.lab.tools.vrp_cli) as what its
sshd runs for every session, and SFTP into its flash directory (how the applier puts vrp.cfg on
a CloudEngine).

`write(where, switch)` makes `<where>/vrp/` (the CLI's state: a factory configuration with
the management part a CloudEngine holds, its flash) and `<where>/vrp-shell`, the program sshd
forces on the switch user: an SFTP request (`internal-sftp`, sshd's SSH_ORIGINAL_COMMAND for
the subsystem) gets OpenSSH's sftp-server started in the flash directory, anything else the
CLI. `force(where, shell)` adds `ForceCommand` to the switch's sshd_config
(wanka.lab.switchssh.write_files). The CLI's `display bgp peer` and the other displays read
the state files `<where>/vrp/bgp.json`, `lldp.json`, `links.json`; FRR carrying the sessions
the configuration describes is not wired to them yet (docs/switches/vrp.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

SFTP_SERVER = "/usr/lib/openssh/sftp-server"
FACTORY = """#
sysname {switch}
#
stelnet server enable
ssh authorization-type default aaa
#
"""
SHELL = """#!/bin/sh
# wanka lab: the VRP CLI of switch {switch} (wanka.lab.tools.vrp_cli), SFTP into its flash
export WANKA_VRP_DIR={state}
export PYTHONPATH={root}
case "$SSH_ORIGINAL_COMMAND" in
  internal-sftp|*sftp-server*) cd {state}/flash && exec {sftp} -d {state}/flash ;;
esac
exec {python} -m wanka.lab.tools.vrp_cli
"""


def write(where: Path, switch: str) -> Path:
    """The VRP CLI's state and the forced shell of a lab VRP switch; returns the shell."""
    state = where / "vrp"
    (state / "flash").mkdir(parents=True, exist_ok=True)
    running = state / "running.cfg"
    if not running.exists():
        running.write_text(FACTORY.format(switch=switch), encoding="utf-8")
    shell = where / "vrp-shell"
    root = Path(__file__).resolve().parents[2]
    shell.write_text(
        SHELL.format(switch=switch, state=state, root=root, sftp=SFTP_SERVER,
                     python=sys.executable),
        encoding="utf-8",
    )  # fmt: skip
    shell.chmod(0o755)
    return shell


def force(where: Path, shell: Path) -> None:
    """sshd runs `shell` for every session of the switch's sshd (its sshd_config)."""
    conf = where / "sshd_config"
    text = conf.read_text(encoding="utf-8")
    if "ForceCommand" not in text:
        conf.write_text(text + f"ForceCommand {shell}\n", encoding="utf-8")
