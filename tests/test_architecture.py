"""The one rule of the house: a module imports only from its own stage or an earlier one.

The stages, in the order data flows through them, and the import walker are defined once in
scripts/architecture.py, which also draws them (docs/architecture.md). A module's stage is
named by its path: `wanka/<stage>/...`, or `wanka/<stage>.py`; the small shared leaves at the
top of the package (findings, jsonfmt, ...) come before all. Every import counts, also those
inside functions (the cheap way to dodge the rule).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_script() -> ModuleType:
    """scripts/architecture.py as a module (scripts/ is not a package on the path)."""
    spec = importlib.util.spec_from_file_location(
        "architecture", ROOT / "scripts" / "architecture.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("architecture", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


arch = _load_script()
PACKAGE = arch.PACKAGE
STAGES = arch.STAGES
RANK = arch.RANK
stage_of = arch.stage_of
module_name = arch.module_name
imports = arch.imports


def violations(files: list[Path], root: Path = PACKAGE.parent) -> list[str]:
    found = []
    for path in files:
        mine = stage_of(module_name(path, root))
        for line, mod in imports(path, root):
            theirs = stage_of(mod)
            if RANK[theirs] > RANK[mine]:
                rel = path.relative_to(root)
                found.append(f"{rel}:{line}: {mine} imports {mod} ({theirs}, a later stage)")
    return found


def test_every_stage_exists_and_every_module_has_a_stage() -> None:
    for stage in STAGES[1:]:
        assert (PACKAGE / stage).is_dir() or (PACKAGE / f"{stage}.py").is_file(), stage
    for path in PACKAGE.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            assert path.name in RANK, f"package wanka/{path.name} is not a stage of STAGES"


def test_imports_point_only_to_earlier_stages() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 40
    assert violations(files) == []


def test_a_later_stage_import_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: a model module that reaches into render is reported."""
    (tmp_path / "wanka" / "model").mkdir(parents=True)
    probe = tmp_path / "wanka" / "model" / "probe.py"
    probe.write_text("def f():\n    from ..render import files\n", encoding="utf-8")
    leaf = tmp_path / "wanka" / "findings.py"
    leaf.write_text("from wanka.model import types\n", encoding="utf-8")
    assert violations([probe, leaf], tmp_path) == [
        "wanka/model/probe.py:2: model imports wanka.render (render, a later stage)",
        "wanka/findings.py:1: leaves imports wanka.model (model, a later stage)",
    ]


@pytest.mark.parametrize(
    ("module", "stage"),
    [
        ("wanka.findings", "leaves"),
        ("wanka.language.loader", "language"),
        ("wanka.pipeline", "pipeline"),
        ("wanka.cli.main", "cli"),
        ("wanka.__main__", "cli"),
    ],
)
def test_stage_of(module: str, stage: str) -> None:
    assert stage_of(module) == stage
