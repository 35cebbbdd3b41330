"""Printing rich renderables (tables, text) as the commands' text output.

One width for all (the widest table's, at least 100 columns, so nothing wraps), colour only
when asked (a terminal without NO_COLOR), and no trailing blanks, so the text diffs cleanly
and pastes into pull requests as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from io import StringIO
from typing import TextIO

from rich.console import Console, RenderableType
from rich.table import Table


def write(parts: Iterable[RenderableType], out: TextIO, *, color: bool) -> None:
    parts = list(parts)
    probe = Console(file=StringIO(), width=1000, markup=False, emoji=False, highlight=False)
    width = max([100, *(probe.measure(p).maximum for p in parts if isinstance(p, Table))])
    buf = StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=True,
    )
    for p in parts:
        console.print(p)
    out.write("".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines()))
