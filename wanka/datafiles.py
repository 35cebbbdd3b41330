"""Where wanka's data files are: the copy packaged in a wheel, else the repository's."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(rel: str) -> Path:
    """`schemas/...` or `templates/...`: wanka/_data/<rel> when installed from a wheel (see
    pyproject's force-include), else <repository>/<rel> (an editable install or a checkout)."""
    packaged = resources.files("wanka").joinpath("_data", rel)
    if packaged.is_file() or packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / rel
