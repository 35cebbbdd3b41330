"""The one rule of the house: a module imports only from its own stage or an earlier one.

The stages, in the order data flows through them (docs/architecture.md). A module's
stage is named by its path: `wanka/<stage>/...`, or `wanka/<stage>.py`; the small
shared leaves at the top of the package (findings, jsonfmt, ...) come before all.
Every import counts, also those inside functions (the cheap way to dodge the rule).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wanka"

STAGES = (
    "leaves",  # wanka/*.py below: findings, jsonfmt, datafiles, templates, console, outdir
    "language",
    "model",
    "derive",
    "rules",
    "pipeline",
    "review",
    "render",
    "drivers",
    "lab",
    "bringup",
    "pulumi",
    "cli",
)
RANK = {s: i for i, s in enumerate(STAGES)}
ENTRY = {"__main__": "cli"}  # `python -m wanka` is the command line


def stage_of(module: str) -> str:
    """The stage of a dotted module name inside the package (`wanka.derive.ipam` -> derive)."""
    parts = module.split(".")
    assert parts[0] == "wanka", module
    if len(parts) == 1:
        return "leaves"
    head = parts[1]
    if head in RANK:
        return head
    return ENTRY.get(head, "leaves")


def module_name(path: Path, root: Path = PACKAGE.parent) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path = PACKAGE.parent) -> list[tuple[int, str]]:
    """(line, dotted module) of every wanka import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "wanka"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "wanka":
                continue
            # `from wanka import review` imports the stage package itself
            names = [f"{mod}.{a.name}" for a in node.names] if mod == "wanka" else [mod]
            out += [(node.lineno, n) for n in names]
    return out


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
