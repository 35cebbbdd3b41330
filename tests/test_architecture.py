"""The one rule of the house: a module imports only from its own stage or an earlier one.

The stages, in the order data flows through them, and the import walker are defined once in
scripts/architecture.py (docs/architecture.md), which also draws them: docs/architecture.dot
and .svg, and the stage list of docs/architecture.md, are checked here to be what that script
makes of the current code. A module's stage is named by its path: `wanka/<stage>/...`, or
`wanka/<stage>.py`; the small shared leaves at the top of the package (findings, jsonfmt, ...)
come before all. Every import counts, also those inside functions (the cheap way to dodge the
rule).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
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


def test_the_drawing_is_fresh() -> None:
    """docs/architecture.dot is what the script makes of the code now (`make docs`)."""
    dot = (ROOT / "docs" / "architecture.dot").read_text(encoding="utf-8")
    assert dot == arch.dot_source(arch.modules(), arch.seams()), (
        "docs/architecture.dot is stale: run make docs"
    )


def test_the_stage_list_of_the_doc_is_fresh() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = arch.markdown(arch.modules(), arch.seams())
    assert block in text, "docs/architecture.md is stale: run make docs"
    assert arch.stale() == []


def test_the_svg_is_rendered_from_the_dot() -> None:
    """The svg parses, and holds every stage and module of the dot (dot names each cluster and
    node by a <title>): a drawing left behind after the dot changed is caught."""
    svg = ET.parse(ROOT / "docs" / "architecture.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    titles = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")}
    dot = (ROOT / "docs" / "architecture.dot").read_text(encoding="utf-8")
    wanted = set(re.findall(r"subgraph (cluster_\w+)", dot))
    wanted |= set(re.findall(r'^    "(wanka[\w.]*)" \[label=', dot, re.M))
    assert len(wanted) > 40
    assert wanted <= titles, (
        f"docs/architecture.svg is stale: run make docs (missing {sorted(wanted - titles)[:5]})"
    )


def test_the_doc_embeds_the_drawing_and_the_readme_links_the_doc() -> None:
    assert "](architecture.svg)" in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "](docs/architecture.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    return tmp_path / "wanka"


def test_seams_count_each_module_import_once(tmp_path: Path) -> None:
    """Two imports of one module by one module count once; imports inside a stage not at all."""
    pkg = _package(
        tmp_path,
        {
            "wanka/findings.py": '"""Findings."""\n',
            "wanka/model/__init__.py": '"""Stage 2, model: the model."""\n',
            "wanka/model/types.py": '"""Types."""\nfrom wanka import findings\n',
            "wanka/render/__init__.py": '"""Stage 7, render: files."""\n',
            "wanka/render/frr.py": (
                '"""Frr."""\nfrom wanka.model.types import A\nfrom wanka.model.types import B\n'
                "from wanka.findings import F\nfrom . import hccn\n"
            ),
            "wanka/render/hccn.py": '"""Hccn."""\nfrom ..model import types\n',
        },
    )
    assert arch.seams(pkg) == Counter(
        {("render", "model"): 2, ("render", "leaves"): 1, ("model", "leaves"): 1}
    )
    mods = arch.modules(pkg)
    assert [m.path for m in mods] == [
        "wanka/findings.py",
        "wanka/model/__init__.py",
        "wanka/model/types.py",
        "wanka/render/__init__.py",
        "wanka/render/frr.py",
        "wanka/render/hccn.py",
    ]
    dot = arch.dot_source(mods, arch.seams(pkg))
    # the docstring-only __init__ is not drawn; render's bus branches into model with "2"
    assert '"wanka.model"' not in dot and '"wanka.render.frr" [label="frr"' in dot
    assert re.search(r'"render:bus@model" -> "model:port" \[[^]]*taillabel=<<b>2</b>>', dot)
    md = arch.markdown(mods, arch.seams(pkg))
    assert "### 7 render\n\nFiles.\n\nImports: leaves (1), model (2)." in md
    assert "| `wanka/render/frr.py` | Frr. |" in md


MAX_LINES = 70


def long_functions(root: Path, limit: int) -> list[str]:
    """`file:line name (length)` of every function longer than `limit` lines below `root`."""
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    out.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({length})")
    return out


def test_no_function_is_longer_than_70_lines() -> None:
    """Long functions hide their steps: name them (the house issue split the last 23)."""
    assert long_functions(PACKAGE, MAX_LINES) == []


def test_the_long_function_finder_finds_one(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def f():\n{body}\n", encoding="utf-8")
    assert long_functions(tmp_path, MAX_LINES) == [f"m.py:1 f ({MAX_LINES + 1})"]
