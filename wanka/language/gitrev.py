"""A cluster file as it was at a git revision, for `wanka diff --git REV FILE`.

`checkout(rev, path, into)` writes FILE and every file it includes, as of REV
(`git show REV:path`), into the directory `into` at the same paths relative to
the repository root, and returns the path of FILE there. Problems (no git, not a
repository, an unknown revision, FILE or an include missing at REV, an include
outside the repository) raise `GitError` with a message for people.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from wanka.findings import InputError
from wanka.language.loader import YMap, YSeq, load_file


class GitError(Exception):
    """The file cannot be read at that revision."""


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60)
    except FileNotFoundError:
        raise GitError("git is not installed (needed for --git)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)} took more than 60 s") from None


def _first_line(p: subprocess.CompletedProcess[bytes]) -> str:
    text = p.stderr.decode("utf-8", "replace").strip().splitlines()
    return text[0] if text else f"exit {p.returncode}"


def checkout(rev: str, path: str, into: str) -> str:
    """Write `path` and its includes as of `rev` under `into`; the copy of `path`."""
    if rev.startswith("-"):
        raise GitError(f"'{rev}' is not a revision")
    file = Path(path).resolve()
    where = file.parent if file.parent.is_dir() else Path.cwd()
    top = _git(where, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise GitError(f"{path} is not in a git repository ({_first_line(top)})")
    root = Path(top.stdout.decode().strip()).resolve()
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if commit.returncode != 0:
        raise GitError(f"unknown git revision '{rev}'")
    sha = commit.stdout.decode().strip()
    try:
        rel = file.relative_to(root)
    except ValueError:
        raise GitError(f"{path} is outside the git repository {root}") from None

    def fetch(relpath: Path, what: str) -> Path:
        shown = _git(root, "show", f"{sha}:{relpath.as_posix()}")
        if shown.returncode != 0:
            raise GitError(f"{what} {relpath.as_posix()} is not in revision '{rev}'")
        target = Path(into) / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(shown.stdout)
        return target

    copy = fetch(rel, "file")
    try:
        data = load_file(str(copy))
    except InputError:
        return str(copy)  # validation of the copy reports why, with positions
    includes = data.get("include") if isinstance(data, YMap) else None
    if isinstance(includes, YSeq):
        for inc in includes:
            if not isinstance(inc, str) or os.path.isabs(inc):
                continue  # INCLUDE-PATH and the schema report these
            inc_rel = Path(os.path.normpath(rel.parent / inc))
            if inc_rel.parts and inc_rel.parts[0] == "..":
                raise GitError(f"include '{inc}' of {path} is outside the git repository")
            fetch(inc_rel, f"include '{inc}':")
    return str(copy)
