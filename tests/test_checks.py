"""The check registry (wanka/checks.py) across the wall between Python and Ansible: every check
a role, a playbook or a module names is one the registry has (mypy sees neither YAML nor the
modules, so this test reads them), the modules refuse an unknown one at run time, Python
names checks by the registry's constants, and the playbooks end on the task the runner waits
for."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wanka import checks
from wanka.bringup import runner
from wanka.bringup.results import Check

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "playbooks/library").glob("*.py"))
UTILS = sorted((ROOT / "playbooks/module_utils").glob("*.py"))
# the constructors of wanka_checks and wanka_module, and where their check id is
CONSTRUCTORS = {"result": 0, "failed": 0, "skipped": 0, "fail_check": 1}
TEMPLATE = re.compile(r"^\{\{\s*(\w+)\s*\}\}$")


def _yaml_files(root: Path) -> list[Path]:
    return sorted([*(root / "roles").rglob("*.yml"), *(root / "playbooks").glob("*.yml")])


def _walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def yaml_names(root: Path) -> list[tuple[str, str]]:
    """(file, check) for every check the roles and playbooks name: the lists of wanka_node's
    `checks:` (inline, or the `<role>_checks` default a template names), the `check:` of the
    failures a role reports (action=fail), and every `*_checks` list of the defaults."""
    found: list[tuple[str, str]] = []
    lists: dict[str, list[str]] = {}
    templated: list[tuple[str, str]] = []
    for path in _yaml_files(root):
        rel = str(path.relative_to(root))
        for node in _walk(yaml.safe_load(path.read_text(encoding="utf-8"))):
            if not isinstance(node, dict):
                continue
            for key, value in node.items():
                if key.endswith("_checks") and isinstance(value, list):
                    lists[key] = value
                    found += [(rel, str(v)) for v in value]
            args = node.get("wanka_node")
            if not isinstance(args, dict):
                continue
            asked = args.get("checks")
            if isinstance(asked, list):
                found += [(rel, str(v)) for v in asked]
            elif isinstance(asked, str):
                m = TEMPLATE.match(asked.strip())
                assert m, f"{rel}: checks {asked!r} is neither a list nor one variable"
                templated.append((rel, m.group(1)))
            failures = args.get("failures")
            if isinstance(failures, list):
                found += [(rel, str(f.get("check"))) for f in failures if isinstance(f, dict)]
    for rel, var in templated:
        assert var in lists, f"{rel}: checks {{{{ {var} }}}} is no list of a role's defaults"
    return found


def module_names(paths: list[Path]) -> list[tuple[str, str]]:
    """(file:line, check) for every check id the modules write as a string: the first
    argument of a constructor (under its name or an alias), a dict's "check" key."""
    found: list[tuple[str, str]] = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = {n: i for n, i in CONSTRUCTORS.items()}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    if a.name in CONSTRUCTORS and a.asname:
                        where[a.asname] = CONSTRUCTORS[a.name]
        for node in ast.walk(tree):
            at = f"{path.name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                i = where.get(node.func.id)
                if i is not None and len(node.args) > i:
                    arg = node.args[i]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.append((at, arg.value))
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values, strict=True):
                    if (
                        isinstance(k, ast.Constant)
                        and k.value == "check"
                        and isinstance(v, ast.Constant)
                    ):
                        found.append((at, str(v.value)))
    return found


def unknown(names: list[tuple[str, str]]) -> list[str]:
    ids = set(checks.result_ids())
    return [f"{where}: {name}" for where, name in names if name not in ids]


def test_every_check_a_role_or_playbook_names_is_registered() -> None:
    names = yaml_names(ROOT)
    assert {"npu-count", "roce-ping", "switch-qos", "npu-driver", "os-repositories"} <= {
        n for _, n in names
    }
    assert unknown(names) == []
    asked = [n for f, n in names if f.endswith("defaults/main.yml")]
    assert all(checks.REGISTRY[n].asked for n in asked), asked


def test_every_check_a_module_names_is_registered() -> None:
    names = module_names(MODULES + UTILS)
    assert {"bmc", "power", "identity"} <= {n for _, n in names}  # wanka_redfish's literals
    assert unknown(names) == []


def test_a_misspelt_check_is_caught(tmp_path: Path) -> None:
    """The scans can fail: a role asking for `npu-cout`, a role's failure `npu-drvier`, a
    module building a result of `lldpp`."""
    (tmp_path / "roles/r/defaults").mkdir(parents=True)
    (tmp_path / "roles/r/tasks").mkdir(parents=True)
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "roles/r/defaults/main.yml").write_text("r_checks: [npu-count, npu-cout]\n")
    (tmp_path / "roles/r/tasks/main.yml").write_text(
        '- name: Check\n  wanka_node:\n    checks: "{{ r_checks }}"\n'
        "- name: Fail\n  wanka_node:\n    action: fail\n    failures:\n"
        "      - check: npu-drvier\n        reason: x\n"
    )
    assert unknown(yaml_names(tmp_path)) == [
        "roles/r/defaults/main.yml: npu-cout",
        "roles/r/tasks/main.yml: npu-drvier",
    ]
    (tmp_path / "roles/r/tasks/main.yml").write_text(
        '- name: Check\n  wanka_node:\n    checks: "{{ r_chekcs }}"\n'
    )
    with pytest.raises(AssertionError, match="r_chekcs"):
        yaml_names(tmp_path)
    mod = tmp_path / "m.py"
    mod.write_text(
        "from ansible.module_utils.wanka_module import fail_check as fail\n"
        "def f(m):\n    result('lldpp', 'npu0', True)\n    fail(m, 'bcm', 'x')\n"
        "    return {'check': 'spod', 'port': ''}\n"
    )
    assert unknown(module_names([mod])) == ["m.py:3: lldpp", "m.py:4: bcm", "m.py:5: spod"]


def test_the_constructors_refuse_an_unknown_check() -> None:
    assert checks.result(checks.LLDP, "npu0", False, "x") == {
        "check": "lldp", "port": "npu0", "status": "fail", "reason": "x",
    }  # fmt: skip
    assert checks.skipped(checks.QOS, "Ethernet0", "n/a")["status"] == "skip"
    for build in (
        lambda: checks.result("lldpp", "", True),
        lambda: checks.failed("bcm", "", "x"),
        lambda: checks.skipped("", "", "x"),
    ):
        with pytest.raises(checks.UnknownCheck, match="unknown check"):
            build()
    assert checks.asked(["bgp", "switch-ports"]) == {"bgp", "switch-ports"}
    with pytest.raises(checks.UnknownCheck, match="'qos'"):  # a result, asked for as switch-qos
        checks.asked(["qos"])
    with pytest.raises(checks.UnknownCheck, match="'npu-cout'"):
        checks.asked(["npu-count", "npu-cout"])


def test_spod_info_travels_as_numbers() -> None:
    """The rank tables read the ids as the module sent them, not by splitting a string."""
    sent = checks.spod("npu3", 167772160, 1, 40)
    assert (sent["sdid"], sent["super_pod_id"], sent["server_index"]) == (167772160, 1, 40)
    got = Check.from_dict(json.loads(json.dumps(sent)))
    assert got is not None and (got.sdid, got.super_pod_id, got.server_index) == (167772160, 1, 40)
    assert Check.from_dict(got.to_dict()) == got  # the report keeps them (--resume)
    assert got.value == "167772160:1:40"  # for people


def test_python_names_checks_by_the_registry() -> None:
    """No check id as a string literal compared with a Check's id or given to Check(id=...)
    in wanka/bringup (the registry's constants instead)."""
    found = []
    for path in sorted((ROOT / "wanka/bringup").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            sides: list[ast.expr] = []
            if isinstance(node, ast.Compare) and getattr(node.left, "attr", "") == "id":
                sides = list(node.comparators)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Check":
                sides = [k.value for k in node.keywords if k.arg == "id"]
            for side in sides:
                if isinstance(side, ast.Constant) and isinstance(side.value, str):
                    found.append(f"{path.name}:{node.lineno}: {side.value!r}")
    assert found == []


def test_every_playbook_ends_on_the_task_the_runner_counts() -> None:
    assert runner.DONE_TASK is checks.DONE_TASK
    for path in sorted((ROOT / "playbooks").glob("*.yml")):
        for play in yaml.safe_load(path.read_text(encoding="utf-8")):
            last = (play.get("post_tasks") or [{}])[-1]
            assert last.get("name") == checks.DONE_TASK, f"{path.name}: {play.get('name')}"


def test_the_module_documents_every_check_a_role_may_ask_for() -> None:
    text = (ROOT / "playbooks/library/wanka_node.py").read_text(encoding="utf-8")
    option = text.split("\n  checks:\n", 1)[1].split("\n    type: list", 1)[0]
    said = " ".join(option.split())
    missing = [c for c, d in checks.REGISTRY.items() if d.asked and not re.search(
        rf"(^|[\s,(]){re.escape(c)}[\s,(:.]", said)]  # fmt: skip
    assert missing == []


def test_a_real_ansible_run_refuses_an_unknown_check(tmp_path: Path) -> None:
    """ansible (the checkout's ansible.cfg) ships wanka_checks and wanka_module with
    wanka_node (module_utils importing module_utils); a misspelt check fails the task."""
    env = dict(os.environ, ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="False")  # fmt: skip
    args = '{"action": "check", "checks": ["arch", "npu-cout"], "expect": {}}'
    p = subprocess.run(
        [str(Path(sys.executable).with_name("ansible")), "localhost", "-c", "local",
         "-m", "wanka_node", "-a", args],  # fmt: skip
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = p.stdout + p.stderr
    assert "localhost | FAILED! =>" in out, out
    assert "unknown check 'npu-cout'" in out and "Traceback" not in out, out


class _Module:
    """What a module's failure sends to Ansible (AnsibleModule.fail_json exits: here it
    raises, so nothing runs after it)."""

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}

    def fail_json(self, **kw: Any) -> None:
        self.sent = kw
        raise SystemExit(1)


def test_the_modules_import_guard_fails_one_check() -> None:
    import ansible_module

    shared = ansible_module.util("wanka_module")
    m = _Module()
    assert shared.import_wanka(m, "bmc", "wanka.drivers.redfish").Client  # wanka importable
    with pytest.raises(SystemExit):
        shared.import_wanka(m, "bmc", "wanka.drivers.nothere")
    assert m.sent["checks"] == [
        {"check": "bmc", "port": "", "status": "fail", "reason": m.sent["checks"][0]["reason"]}
    ]
    assert m.sent["msg"].startswith("bmc: the wanka package is not importable")
    assert "wanka.drivers.nothere" in m.sent["msg"] and m.sent["failed_checks"] == 1
    with pytest.raises(SystemExit):
        shared.refuse_unknown(m, checks.UnknownCheck("unknown check 'x' (known: os)"))
    assert m.sent == {
        "msg": "unknown check 'x' (known: os): fix the role or playbook that names it "
        "(wanka/checks.py lists the checks)"
    }


def test_a_role_failure_naming_an_unknown_check_is_refused(capsys: Any) -> None:
    """wanka_node action=fail with a misspelt check: the task fails saying which, instead of
    a failure the report would file under a check nobody knows."""
    import ansible_module
    from ansible.module_utils.testing import patch_module_args

    mod = ansible_module.load("wanka_node")
    failure = {"check": "npu-drvier", "port": "", "reason": "firmware not active"}
    with patch_module_args({"action": "fail", "failures": [failure]}), pytest.raises(SystemExit):
        mod.main()
    sent = json.loads(capsys.readouterr().out)
    assert sent["failed"] and "checks" not in sent, sent
    assert sent["msg"].startswith("unknown check 'npu-drvier' (known: "), sent
