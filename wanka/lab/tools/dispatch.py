"""The entry point of the emulated tools: `python -m wanka.lab.tools TOOL ARGS...` runs one
tool and turns its errors into the real tools' exit codes (2 and a message on stderr for bad
arguments, 1 and a message on stdout for a failed operation)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from wanka.lab.tools import (
    hccn_tool,
    installers,
    lscpu,
    npu_smi,
    nvme,
    packages,
    sonic_cfggen,
    sonic_config,
    sonic_show,
)
from wanka.lab.tools.server import Failed, UsageError

TOOLS: dict[str, Callable[[list[str]], int]] = {
    "npu-smi": npu_smi.main,
    "hccn_tool": hccn_tool.main,
    "nvme": nvme.main,
    "install": installers.main,
    "lscpu": lscpu.main,
    "dnf": packages.dnf,
    "yum": packages.yum,
    "apt-get": packages.apt_get,
    # a lab SONiC switch (its sshd's /usr/local/bin)
    "sonic-cfggen": sonic_cfggen.main,
    "config": sonic_config.main,
    "show": sonic_show.main,
}


def run(tool: str, argv: list[str]) -> int:
    fn = TOOLS.get(tool)
    if fn is None:
        print(f"unknown tool '{tool}' (known: {', '.join(TOOLS)})", file=sys.stderr)
        return 2
    try:
        return fn(argv)
    except UsageError as e:
        print(str(e).rstrip(), file=sys.stderr)
        return 2
    except Failed as e:
        print(str(e))
        return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(f"usage: python -m wanka.lab.tools {{{'|'.join(TOOLS)}}} ...", file=sys.stderr)
        return 2
    return run(args[0], args[1:])
