"""The architecture drawing of the package, made from its code (docs/architecture.md).

The stages, in the order data flows through them, and the import walker are defined here
once: tests/test_architecture.py imports them to enforce the one rule of the house (a module
imports only from its own stage or an earlier one), and this script draws the same facts:

    python scripts/architecture.py          write docs/architecture.dot, docs/architecture.svg
                                            (with graphviz `dot`) and the generated part of
                                            docs/architecture.md
    python scripts/architecture.py --check  exit 1 if any of them is stale (no `dot` needed)

Standard library only; the output is sorted, so the same code gives the same bytes.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wanka"
DOCS = ROOT / "docs"

STAGES = (
    "leaves",  # wanka/*.py that are not a stage: findings, jsonfmt, datafiles, templates, ...
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
    """The dotted name of a file of the package (`wanka/derive/ipam.py` -> wanka.derive.ipam)."""
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path = PACKAGE.parent) -> list[tuple[int, str]]:
    """(line, dotted module) of every wanka import in a file, relative ones resolved.

    Every import counts, also those inside functions (the cheap way to dodge the rule)."""
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
    return sorted(out)


@dataclass(frozen=True, kw_only=True)
class Module:
    name: str  # dotted: wanka.derive.ipam
    path: str  # from the repository: wanka/derive/ipam.py
    stage: str
    doc: str  # the docstring's first paragraph, on one line ("" when it has none)
    more: str  # its second paragraph, on one line ("" when it has none)
    code: bool  # more than a docstring (a package's __init__ that is only its docstring is not)


def _paragraph(doc: str | None, k: int) -> str:
    paragraphs = (doc or "").split("\n\n")
    return " ".join(paragraphs[k].split()) if k < len(paragraphs) else ""


def modules(package: Path = PACKAGE) -> list[Module]:
    """Every module of the package, in stage order, then by name."""
    out = []
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        body = tree.body[1:] if ast.get_docstring(tree) is not None else tree.body
        name = module_name(path, package.parent)
        out.append(
            Module(
                name=name,
                path=path.relative_to(package.parent).as_posix(),
                stage=stage_of(name),
                doc=_paragraph(ast.get_docstring(tree), 0),
                more=_paragraph(ast.get_docstring(tree), 1),
                code=bool(body),
            )
        )
    return sorted(out, key=lambda m: (RANK[m.stage], m.path))


def seams(package: Path = PACKAGE) -> Counter[tuple[str, str]]:
    """(importing stage, imported stage) -> how many modules import how many: each distinct
    (module, module it imports) pair across two stages counts once."""
    pairs = set()
    for path in package.rglob("*.py"):
        mine = module_name(path, package.parent)
        for _, theirs in imports(path, package.parent):
            if stage_of(mine) != stage_of(theirs):
                pairs.add((mine, theirs))
    return Counter((stage_of(a), stage_of(b)) for a, b in pairs)


# one colour per stage, in pipeline order: its bus line; the stage's box is a tint of it
COLOURS = (
    "#7f7f7f",  # leaves
    "#17a2b8",  # language
    "#a6a61c",  # model
    "#9467bd",  # derive
    "#d62728",  # rules
    "#1f77b4",  # pipeline
    "#ff7f0e",  # review
    "#2ca02c",  # render
    "#e377c2",  # drivers
    "#8c564b",  # lab
    "#3949ab",  # bringup
    "#e6ab02",  # pulumi
    "#222222",  # cli
)


def _colour(stage: str) -> str:
    return COLOURS[RANK[stage] % len(COLOURS)]


def _tint(colour: str, white: float = 0.8) -> str:
    rgb = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c + (255 - c) * white):02x}" for c in rgb)


COLUMNS = 6  # modules per row of a stage; a stage with more takes more rows


def _short(m: Module) -> str:
    """A module's name inside its stage: ipam for wanka.derive.ipam, __init__ for a package."""
    parts = m.name.split(".")
    if m.path.endswith("__init__.py"):
        return "__init__"
    return ".".join(parts[1:] if m.stage == "leaves" or len(parts) == 2 else parts[2:])


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def drawn(mods: list[Module], stage: str) -> list[Module]:
    """The modules a stage shows: all but a package's __init__ that holds only its docstring."""
    return [m for m in mods if m.stage == stage and (m.code or not m.path.endswith("__init__.py"))]


def dot_source(mods: list[Module], counts: Counter[tuple[str, str]]) -> str:
    """The drawing: one cluster per stage, top to bottom in pipeline order, its modules inside
    in rows of COLUMNS; on the right one line per importing stage (a bus, in its colour) that
    climbs from it and branches off with an arrow into every earlier stage it imports,
    labelled with how many module imports cross that seam."""
    order = [s for s in STAGES if drawn(mods, s)]
    out = [
        "// generated by scripts/architecture.py from the imports of wanka/: run `make docs`",
        "digraph architecture {",
        "  graph [rankdir=TB, newrank=true, nodesep=0.1, ranksep=0.2, splines=line,"
        " outputorder=edgesfirst,"
        ' fontname="Helvetica", fontsize=15, labelloc=t,'
        ' label="wanka: its stages in pipeline order\\nA line starts at a stage (the disc with'
        ' its number) and climbs to the earlier stages it imports; the figure: module imports"];',
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica",'
        ' fontsize=11, width=1.05, height=0.28, margin="0.06,0.02"];',
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.6];',
    ]
    port = {s: _q(f"{s}:port") for s in order}
    first_row: dict[str, list[str]] = {}
    chains: list[str] = []  # the first cell of each row, top to bottom
    for stage in order:
        i = RANK[stage]
        shown = drawn(mods, stage)
        out.append(f"  subgraph cluster_{stage} {{")
        out.append(
            f"    graph [label={_q(f'{i} {stage}')}, labeljust=l, fontsize=13,"
            f' style="rounded,filled", fillcolor="{_tint(_colour(stage))}", color="#666666"];'
        )
        rows = [shown[k : k + COLUMNS] for k in range(0, len(shown), COLUMNS)]
        for r, row in enumerate(rows):
            cells = [_q(m.name) for m in row]
            for m in row:
                tip = m.doc or m.path
                out.append(f"    {_q(m.name)} [label={_q(_short(m))}, tooltip={_q(tip)}];")
            for k in range(len(row), COLUMNS):
                cells.append(_q(f"{stage}:pad{r}.{k}"))
                out.append(f'    {cells[-1]} [style=invis, label=""];')
            if r == 0:
                out.append(f'    {port[stage]} [shape=point, width=0.05, color="#444444"];')
                cells.append(port[stage])
                first_row[stage] = cells
            else:
                out.append(f"    {{ rank=same; {' -> '.join(cells)} [style=invis]; }}")
            chains.append(cells[0])
        out.append("  }")
    # the buses: importer t's line runs from its own row up to the row of the earliest stage it
    # imports; lanes side by side, the earlier importer nearer the stages
    imported: dict[str, list[tuple[str, int]]] = {}
    for (src, dst), n in counts.items():
        if src in port and dst in port:
            imported.setdefault(src, []).append((dst, n))
    lanes: dict[str, list[str]] = {s: [] for s in order}  # row -> its lane nodes, left to right
    edges: list[str] = []
    for t in sorted(imported, key=RANK.__getitem__):
        top = min(RANK[d] for d, _ in imported[t])
        rows_of_bus = [s for s in order if top <= RANK[s] <= RANK[t]]
        colour = _colour(t)
        node = {s: _q(f"{t}:bus@{s}") for s in rows_of_bus}
        for s in rows_of_bus:
            if s == t:  # where the bus starts: a disc with the stage's number
                out.append(
                    f'  {node[s]} [shape=circle, label="{RANK[t]}", width=0.22, fixedsize=true,'
                    f' fontsize=9, fontcolor=white, style=filled, color="{colour}",'
                    f' fillcolor="{colour}", tooltip={_q(t)}];'
                )
            else:
                out.append(f"  {node[s]} [shape=point, width=0.34, style=invis];")
            lanes[s].append(node[s])
        for upper, lower in zip(rows_of_bus, rows_of_bus[1:], strict=False):
            edges.append(
                f"  {node[upper]} -> {node[lower]} [dir=none, weight=100, headclip=false,"
                f' tailclip=false, color="{colour}", penwidth=1.5];'
            )
        edges.append(
            f'  {port[t]} -> {node[t]} [dir=none, color="{colour}", penwidth=1.5, weight=0];'
        )
        for d, n in sorted(imported[t], key=lambda dn: RANK[dn[0]]):
            edges.append(
                f'  {node[d]} -> {port[d]} [color="{colour}", penwidth={1 + n / 5:.1f},'
                f' tailclip=false, taillabel=<<b>{n}</b>>, fontcolor="{colour}",'
                " labeldistance=1.4, weight=0];"
            )
    for stage in order:
        cells = first_row[stage] + lanes[stage]
        out.append(f"  {{ rank=same; {' -> '.join(cells)} [style=invis]; }}")
    for a, b in zip(chains, chains[1:], strict=False):
        out.append(f"  {a} -> {b} [style=invis, weight=50];")
    out += edges
    out.append("}")
    return "\n".join(out) + "\n"


LEAVES = (
    "The small shared modules at the top of the package, before every stage: any stage may"
    " import them, and they import no stage."
)
BEGIN = "<!-- begin: generated by scripts/architecture.py (make docs); edit the docstrings -->"
END = "<!-- end: generated -->"


def _about(stage: str, mods: list[Module]) -> str:
    """What a stage owns, from its package's (or module's) docstring, without "Stage N, x:"."""
    if stage == "leaves":
        return LEAVES
    own = [m for m in mods if m.name == f"wanka.{stage}"]
    doc = own[0].doc if own else ""
    doc = re.sub(r"^Stage \d+, [^:]*:\s*", "", doc) or "(no docstring)"
    return doc[:1].upper() + doc[1:]


def markdown(mods: list[Module], counts: Counter[tuple[str, str]]) -> str:
    """The generated part of docs/architecture.md: each stage, what it owns, its modules (one
    line each, from their docstrings) and the earlier stages it imports."""
    out = [BEGIN]
    for stage in STAGES:
        mine = [m for m in mods if m.stage == stage]
        if not mine:
            continue
        out += ["", f"### {RANK[stage]} {stage}", "", _about(stage, mods), ""]
        uses = sorted(
            ((d, n) for (s, d), n in counts.items() if s == stage), key=lambda dn: RANK[dn[0]]
        )
        if uses:
            out += ["Imports: " + ", ".join(f"{d} ({n})" for d, n in uses) + ".", ""]
        else:
            out += ["Imports no other stage.", ""]
        rows = []
        for m in mine:
            doc = m.doc
            if m.name == f"wanka.{stage}":  # its docstring is the stage's, shown above
                if not m.code or not m.path.endswith("__init__.py"):
                    continue
                doc = m.more or doc
            if not doc and m.name.split(".")[-1] in ENTRY:
                doc = "`python -m wanka`: the entry point of the command line."
            doc = (doc or "(no docstring)").replace("|", r"\|")
            rows.append(f"| `{m.path}` | {doc} |")
        if rows:
            out += ["| module | what it owns |", "|---|---|", *rows]
        else:
            out.append(f"The stage is one module, `{mine[0].path}`.")
    out += ["", END]
    return "\n".join(out) + "\n"


def with_markdown(text: str, block: str) -> str:
    """docs/architecture.md with its generated part replaced by `block`."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"docs/architecture.md: no {BEGIN!r} ... {END!r} to fill in")
    return text[:start] + block + text[end + len(END) + 1 :]


def stale(root: Path = ROOT) -> list[str]:
    """The generated files that differ from what the code gives now (the svg is not checked
    here: rendering it needs graphviz; tests/test_architecture.py compares its nodes)."""
    mods, counts = modules(root / "wanka"), seams(root / "wanka")
    docs = root / "docs"
    found = []
    dot = docs / "architecture.dot"
    if not dot.exists() or dot.read_text(encoding="utf-8") != dot_source(mods, counts):
        found.append("docs/architecture.dot")
    md = docs / "architecture.md"
    text = md.read_text(encoding="utf-8") if md.exists() else ""
    if BEGIN not in text or with_markdown(text, markdown(mods, counts)) != text:
        found.append("docs/architecture.md")
    return found


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the docs are stale")
    args = ap.parse_args(list(argv) if argv is not None else None)
    if args.check:
        for name in stale():
            print(f"{name} is stale: run make docs", file=sys.stderr)
        return 1 if stale() else 0
    mods, counts = modules(), seams()
    target = DOCS / "architecture.dot"
    target.write_text(dot_source(mods, counts), encoding="utf-8")
    md = DOCS / "architecture.md"
    md.write_text(with_markdown(md.read_text(encoding="utf-8"), markdown(mods, counts)), "utf-8")
    exe = shutil.which("dot")
    if exe is None:
        print("architecture.py: no graphviz `dot` (apt-get install graphviz)", file=sys.stderr)
        return 2
    subprocess.run([exe, "-Tsvg", str(target), "-o", str(DOCS / "architecture.svg")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
