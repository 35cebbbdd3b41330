"""Import one of wanka's Ansible modules (playbooks/library/NAME.py) in a test, with its
module_utils (playbooks/module_utils/*.py) importable as `ansible.module_utils.<name>`, as
Ansible's AnsiballZ wrapper provides them on a host."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import ansible.module_utils

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load(name: str) -> ModuleType:
    todo = {u.stem: u for u in sorted((ROOT / "playbooks/module_utils").glob("*.py"))}
    todo = {s: u for s, u in todo.items() if f"ansible.module_utils.{s}" not in sys.modules}
    while todo:  # each one after the module_utils it imports
        left = len(todo)
        error: ImportError | None = None
        for stem, util in list(todo.items()):
            qualified = f"ansible.module_utils.{stem}"
            try:
                setattr(ansible.module_utils, stem, _load(qualified, util))
                del todo[stem]
            except ImportError as e:
                del sys.modules[qualified]
                error = e
        if len(todo) == left and error is not None:
            raise error
    return _load(name, ROOT / "playbooks/library" / f"{name}.py")


def util(name: str) -> ModuleType:
    """One of the module_utils as the modules import it (after `load`)."""
    load("wanka_node")  # loads every module_util
    return sys.modules[f"ansible.module_utils.{name}"]
