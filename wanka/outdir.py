"""Write a tree of rendered files into an output directory atomically (render, report)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path


def write_tree(
    items: Iterable[tuple[str, str]],
    out: str | os.PathLike[str],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write (relative path, text) items into `out` atomically: into a temporary sibling
    directory that then replaces `out`; on any failure `out` keeps its previous content.
    Returns the number of files written. Shared by `wanka render` and `wanka report`."""
    target = Path(out).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    count = 0
    try:
        made: set[Path] = set()
        for rel, text in items:
            path = tmp / rel
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_text(text, encoding="utf-8")
            count += 1
            if progress is not None and count % 500 == 0:
                progress(count)
        os.chmod(tmp, 0o755)
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            os.rename(target, old)
        try:
            os.rename(tmp, target)
        except OSError:
            if old is not None:
                os.rename(old, target)  # put the previous output back
            raise
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return count


def write_file(text: str, out: str | os.PathLike[str]) -> None:
    """Write one file atomically: into a temporary sibling that then replaces `out`, so a
    reader never sees half a file and a failure leaves the previous one (`wanka ranktable`)."""
    target = Path(out).absolute()
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(name, 0o644)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
