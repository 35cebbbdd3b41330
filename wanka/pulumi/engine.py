"""The real Pulumi engine through the Automation API: preview, up, refresh, destroy of a stack.

Each stack's program is `stack.main` run inline (`pulumi.automation`, the engine talks to
this process over gRPC), so only the `pulumi` CLI and the dynamic-provider script
`pulumi-resource-pulumi-python` are needed: `make tools` builds and copies both into
`.tools/bin/` of a checkout, or a CLI from Pulumi on PATH does. The dynamic providers run in
the engine's provider process with this interpreter (`PULUMI_PYTHON_CMD`), so it imports the
same `wanka`.

State goes where `PULUMI_BACKEND_URL` says (e.g. `file:///var/lib/wanka/state`), secrets are
encrypted with the passphrase in `PULUMI_CONFIG_PASSPHRASE` (or `_FILE`); neither is ever
written by this module. Stack configuration lives in `Pulumi.<stack>.yaml` of the project
directory (`stacks/`), which Pulumi itself updates (secrets encrypted, the salt).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wanka.pulumi.preview import PROJECT

CHECKOUT_TOOLS = Path(__file__).resolve().parents[2] / ".tools"  # `make tools` puts them here
PROVIDER_SCRIPT = "pulumi-resource-pulumi-python"


class EngineError(Exception):
    """The engine cannot run (no CLI, no backend) or a stack operation failed: says which."""


def tools_root() -> Path:
    """The directory whose bin/ holds `pulumi` and the dynamic-provider script: the checkout's
    .tools (make tools) when built, else the directory of `pulumi` on PATH."""
    if (CHECKOUT_TOOLS / "bin" / "pulumi").is_file():
        return CHECKOUT_TOOLS
    found = shutil.which("pulumi")
    if found is None:
        raise EngineError(
            "no Pulumi CLI: run `make tools` (builds .tools/bin/pulumi) or install Pulumi's"
        )
    return Path(found).resolve().parent.parent


@dataclass(slots=True)
class Engine:
    """Where the engine keeps state and how it reaches its tools; `env` is passed to every
    CLI run on top of this process's environment (the passphrase comes from there)."""

    work_dir: Path  # the project directory: Pulumi.yaml and the Pulumi.<stack>.yaml files
    backend: str | None = None  # PULUMI_BACKEND_URL; None: the environment's
    env: dict[str, str] = field(default_factory=dict)
    root: Path = field(default_factory=tools_root)
    program: Callable[[], None] | None = None  # default: wanka.pulumi.stack.main

    def env_vars(self) -> dict[str, str]:
        # the CLI and the provider script; then this interpreter's scripts (ansible-playbook,
        # which the bring-up runs inside the provider process)
        dirs = [str(self.root / "bin"), str(Path(sys.executable).parent)]
        env = {
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_PYTHON_CMD": sys.executable,  # the provider process runs our interpreter
            "PATH": os.pathsep.join([*dirs, os.environ.get("PATH", "")]),
        }
        if self.backend is not None:
            env["PULUMI_BACKEND_URL"] = self.backend
        env.update(self.env)
        if "PULUMI_BACKEND_URL" not in env and "PULUMI_BACKEND_URL" not in os.environ:
            raise EngineError("no state backend: set PULUMI_BACKEND_URL (e.g. file:///path)")
        return env

    def stack(self, name: str, config: Mapping[str, str], secret: set[str] | None = None) -> Any:
        """The stack `name` (created when new) with `config` set (the keys in `secret` as
        secrets, encrypted by the engine)."""
        from pulumi import automation as auto

        from wanka.pulumi import stack as program

        opts = auto.LocalWorkspaceOptions(
            work_dir=str(self.work_dir),
            env_vars=self.env_vars(),
            secrets_provider="passphrase",
            pulumi_command=auto.PulumiCommand(root=str(self.root), skip_version_check=True),
        )
        try:
            st = auto.create_or_select_stack(
                stack_name=name,
                project_name=PROJECT,
                program=self.program or program.main,
                opts=opts,
            )
            values = {
                k: auto.ConfigValue(value=v, secret=k in (secret or set()))
                for k, v in config.items()
            }
            st.set_all_config(values)
        except auto.CommandError as e:
            raise EngineError(f"stack {name}: {_short(e)}") from None
        return st

    def export(self, name: str) -> dict[str, Any]:
        """`pulumi stack export` of the stack, as a user runs it: secrets stay encrypted (the
        Automation API's own export_stack shows them, `--show-secrets`)."""
        import json
        import subprocess

        cli = str(self.root / "bin" / "pulumi")
        r = subprocess.run(
            [cli, "stack", "export", "--stack", name, "--non-interactive"],
            cwd=self.work_dir,
            env={**os.environ, **self.env_vars()},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if r.returncode != 0:
            raise EngineError(f"stack {name}: export failed: {r.stderr.strip()}")
        data: dict[str, Any] = json.loads(r.stdout)
        return data


def _short(e: BaseException) -> str:
    """The CLI's own error lines, without the command line and its environment."""
    text = str(e)
    lines = [x for x in text.splitlines() if x.strip().startswith(("error:", "  error:"))]
    return "\n".join(lines) or text.splitlines()[-1] if text else type(e).__name__
