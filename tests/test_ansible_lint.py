"""The roles and playbooks are clean under ansible-lint's production profile, offline (no
collection is downloaded: they use ansible.builtin and wanka's own modules only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

ROLES = (
    "bmc",
    "preflight",
    "os_baseline",
    "host_network",
    "npu_driver",
    "npu_network",
    "storage",
    "fabric",
)


def test_ansible_lint_production_offline(tmp_path: Path) -> None:
    lint = Path(sys.executable).parent / "ansible-lint"
    assert lint.is_file(), "ansible-lint is a test dependency (pip install -e '.[test]')"
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"),  # empty: nothing to resolve
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        NO_COLOR="1",
    )
    res = subprocess.run(
        [str(lint), "--offline", "--profile", "production", "--nocolor", "roles", "playbooks"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Profile 'production' was required, and it passed" in res.stdout + res.stderr
    assert not (tmp_path / "collections").exists() or not any((tmp_path / "collections").iterdir())


def test_every_role_has_readme_commented_defaults_and_numbered_tasks() -> None:
    for role in (*ROLES, "verify"):
        base = ROOT / "roles" / role
        assert (base / "README.md").is_file(), role
        defaults = (base / "defaults" / "main.yml").read_text(encoding="utf-8")
        settings = [ln for ln in defaults.splitlines() if ln and ln[0].isalpha()]
        assert settings, role
        lines = defaults.splitlines()
        for line in settings:  # every setting has a comment right above it
            i = lines.index(line)
            assert lines[i - 1].startswith("#") or lines[i - 1].startswith("  "), (role, line)
        tasks = sorted(p.name for p in (base / "tasks").glob("*.yml") if p.name != "main.yml")
        assert tasks and all(t[:2].isdigit() and t[2] == "-" for t in tasks), (role, tasks)
        main = (base / "tasks" / "main.yml").read_text(encoding="utf-8")
        for t in tasks:
            assert t in main, (role, t)


def test_no_check_is_ignored() -> None:
    for path in [*ROOT.glob("roles/**/*.yml"), *ROOT.glob("playbooks/*.yml")]:
        assert "ignore_errors" not in path.read_text(encoding="utf-8"), path
