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
    for util in sorted((ROOT / "playbooks/module_utils").glob("*.py")):
        qualified = f"ansible.module_utils.{util.stem}"
        if qualified not in sys.modules:
            setattr(ansible.module_utils, util.stem, _load(qualified, util))
    return _load(name, ROOT / "playbooks/library" / f"{name}.py")
