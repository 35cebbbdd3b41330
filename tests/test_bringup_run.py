"""wanka.bringup.run, the module, and its entry point run_playbook.

- the module is a module and nothing else: its entry point is `run_playbook` (no function
  named like the module), and it re-exports nothing (its `__all__` names what it defines);
- it reads the run's inventory with Ansible only under the lock Ansible's plugin loader needs
  (`_scope` and `_groups` both: `_groups` once did without it);
- a run with a lab reads the lab's access.json once and hands the one `Access` on.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import ansible.inventory.manager
import pytest
from conftest import ROOT

from wanka.bringup import prepare as prepare_module
from wanka.bringup import run as run_module
from wanka.bringup.options import Options
from wanka.bringup.prepare import shared
from wanka.bringup.run import run_playbook
from wanka.lab import access as lab_access
from wanka.lab.access import Access, Server, Ssh
from wanka.pipeline import open_cluster

LAB = str(ROOT / "examples/lab-mini/cluster.yaml")


def test_the_module_defines_what_it_exports_and_no_function_named_run() -> None:
    tree = ast.parse(Path(run_module.__file__ or "").read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    for n in tree.body:
        if isinstance(n, ast.Assign):
            defined |= {t.id for t in n.targets if isinstance(t, ast.Name)}
    assert "run" not in defined
    assert set(run_module.__all__) <= defined, "wanka.bringup.run re-exports names"
    assert inspect.isfunction(run_playbook) and "run_playbook" in run_module.__all__


def test_the_inventory_is_read_with_ansible_only_under_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = shared(Options(cluster_file=LAB, phase="p1", out_dir=tmp_path / "run"),
                      tmp_path / "prepared")  # fmt: skip
    real = ansible.inventory.manager.InventoryManager
    made: list[bool] = []

    def checked(*args: Any, **kw: Any) -> Any:
        made.append(run_module._ANSIBLE_LOCK.locked())
        return real(*args, **kw)

    monkeypatch.setattr(ansible.inventory.manager, "InventoryManager", checked)
    hosts = list(prepared.nodes)
    groups = run_module._groups(prepared.inventory, hosts)
    assert set(groups) == set(hosts)
    assert all(pod.startswith("pod_") and rack.startswith("rack_") for pod, rack in groups.values())
    assert run_module._scope(prepared.inventory, "servers", None) == sorted(hosts)
    assert made == [True, True]  # each InventoryManager made with the lock held
    assert not run_module._ANSIBLE_LOCK.locked()


def test_a_run_with_a_lab_reads_access_json_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = open_cluster(LAB)
    servers = [n.name for n in d.cluster.nodes if n.pod.phase.name == "p1" and n.model.cards]
    ssh = Ssh(user="root", private_key="/lab/ssh/id", known_hosts="/lab/ssh/known_hosts",
              jump_namespace="wk-jump", proxy_command="jump %h %p", options=())  # fmt: skip
    access = Access(
        cluster=d.cluster.name, ssh=ssh, bmc_url="http://127.0.0.1:9", packages="/lab/packages",
        nodes={n: Server(address=f"10.90.0.{i + 10}", system=f"uuid-{n}", namespace=f"ns-{n}")
               for i, n in enumerate(servers)},
    )  # fmt: skip
    (tmp_path / "lab").mkdir()
    lab_access.write(tmp_path / "lab", access)
    reads: list[Path] = []
    real_read = prepare_module.read_access

    def counted(lab: Any) -> Access:
        reads.append(Path(lab))
        return real_read(lab)

    played: list[Any] = []

    def play(opts: Options, prepared: Any, out: Path, hosts: list[str], execs: Any,
             got: Access | None) -> tuple[dict[str, Any], str, Path]:  # fmt: skip
        played.append(got)
        return {}, "successful", out / "runner" / "artifacts" / "x"

    monkeypatch.setattr(prepare_module, "read_access", counted)
    monkeypatch.setattr(run_module, "_play", play)
    opts = Options(
        cluster_file=LAB, phase="p1", out_dir=tmp_path / "run", lab=str(tmp_path / "lab")
    )
    run_playbook(opts, derived=d)
    assert reads == [tmp_path / "lab"]
    assert played == [access]
    lab_vars = (tmp_path / "run/runner/inventory/host_vars" / servers[0] / "lab.yml").read_text()
    assert "wanka_bmc_url: http://127.0.0.1:9" in lab_vars
    assert f"wanka_bmc_system: uuid-{servers[0]}" in lab_vars
