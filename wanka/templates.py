"""Jinja2 rendering of templates/*.j2: plain values in, text out, nothing undefined."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from wanka.datafiles import data_path


@cache
def environment(html: bool = False) -> jinja2.Environment:
    """The templates' Jinja: nothing undefined; `html` autoescapes (the report's pages)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_path("templates"))),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **values: Any) -> str:
    """The text of template `name` (e.g. `frr.conf.j2`), ending in a newline."""
    text = environment().get_template(name).render(**values)
    return text if text.endswith("\n") else text + "\n"
