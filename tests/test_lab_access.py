"""The lab's access.json: one typed object (wanka.lab.access.Access), one reader, one writer.

- what `wanka lab up` writes reads back as the same object (every field, the optional ones
  too), and the file is the JSON the module's docstring shows;
- a file not of that shape is an AccessError naming the file and the key, never a KeyError;
- a lab server's BMC is said once (`bmc_of`): its own, else the lab's emulator;
- nothing but wanka/lab/access.py names the file: every reader goes through `read`.
"""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path

import pytest

from wanka.lab import access as lab_access
from wanka.lab.access import (
    Access,
    AccessError,
    ExecutionNode,
    Mirror,
    Server,
    Ssh,
    Switch,
    SwitchSsh,
)

ROOT = Path(__file__).resolve().parent.parent
SSH = Ssh(user="root", private_key="/lab/ssh/id_ed25519", known_hosts="/lab/ssh/known_hosts",
          jump_namespace="wk-lab-jump", proxy_command="python -m wanka.lab.jump wk-lab-jump %h %p",
          options=("-i", "/lab/ssh/id_ed25519"))  # fmt: skip


def full() -> Access:
    return Access(
        cluster="lab",
        ssh=SSH,
        bmc_url="http://127.0.0.1:8000",
        nodes={
            "s1": Server(
                address="10.90.0.11",
                system="uuid-1",
                namespace="wk-s1",
                lldp_socket="/lab/lldpd/s1.ctl",
            ),
            "s2": Server(
                address="10.90.0.12", system="", namespace="wk-s2", bmc="http://127.0.0.1:8001"
            ),
        },  # fmt: skip
        switches={
            "leaf1": Switch(
                namespace="wk-leaf1",
                vty="/lab/frr/wk-leaf1",
                ssh=SwitchSsh(
                    address="10.255.0.3",
                    port=22,
                    user="admin",
                    password=True,
                    proxy_command="jump leaf1 %h %p",
                ),
            ),
            "spine1": Switch(
                namespace="wk-spine1",
                vty=None,
                ssh=SwitchSsh(
                    address="10.255.0.1",
                    port=22,
                    user="admin",
                    password=False,
                    proxy_command="jump spine1 %h %p",
                    sonic_cli="/lab/switches/spine1/bin",
                ),
            ),
            "oob": Switch(namespace="wk-oob"),
        },  # fmt: skip
        packages="/lab/packages",
        mirror=Mirror(
            url="http://10.90.0.6:8080/", namespace="wk-mirror", log="/lab/m.log", pid=4242
        ),  # fmt: skip
        execution_nodes=(
            ExecutionNode(
                name="x1",
                namespace="wk-x1",
                command=("ip", "netns", "exec", "wk-x1", "ansible-runner", "worker"),
            ),
        ),  # fmt: skip
    )


def test_what_is_written_reads_back(tmp_path: Path) -> None:
    a = full()
    path = lab_access.write(tmp_path, a)
    assert path == tmp_path / "access.json"
    assert lab_access.read(tmp_path) == a
    data = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(data) == ["bmc", "cluster", "execution_nodes", "mirror", "nodes", "packages",
                            "ssh", "switches"]  # fmt: skip
    assert data["bmc"] == {"url": "http://127.0.0.1:8000"}
    s1 = {"address": "10.90.0.11", "system": "uuid-1", "namespace": "wk-s1",
          "lldp_socket": "/lab/lldpd/s1.ctl"}  # fmt: skip
    assert data["nodes"]["s1"] == s1
    assert data["switches"]["oob"] == {"namespace": "wk-oob", "vty": None}
    assert "sonic_cli" not in data["switches"]["leaf1"]["ssh"]
    # a lab coming up: no BMC yet, no mirror, no execution nodes
    bare = Access(cluster="lab", ssh=SSH, bmc_url=None)
    lab_access.write(tmp_path, bare)
    assert lab_access.read(tmp_path) == bare
    assert sorted(json.loads(path.read_text())) == ["bmc", "cluster", "nodes", "packages", "ssh",
                                                   "switches"]  # fmt: skip


def test_the_bmc_of_a_server_is_said_once() -> None:
    a = full()
    assert a.bmc_of("s1") == ("http://127.0.0.1:8000", "uuid-1")  # the lab's emulator
    assert a.bmc_of("s2") == ("http://127.0.0.1:8001", "")  # its own (a vendor profile)
    assert a.bmc_of("not-a-lab-server") == ("http://127.0.0.1:8000", "not-a-lab-server")
    with pytest.raises(AccessError, match="the lab's BMCs are not up yet"):
        replace(a, bmc_url=None).bmc_of("s1")
    up = Access(cluster="lab", ssh=SSH, bmc_url=None, nodes=full().nodes).with_bmcs(
        "http://127.0.0.1:9000", {"s1": "http://127.0.0.1:9001"}
    )
    assert up.bmc_of("s1") == ("http://127.0.0.1:9001", "")
    assert up.bmc_of("s2") == ("http://127.0.0.1:8001", "")


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d.pop("ssh"), "'ssh' must be an object"),
        (lambda d: d["ssh"].pop("known_hosts"), "'ssh.known_hosts' must be a string"),
        (lambda d: d["ssh"].update(options="-i k"), "'ssh.options' must be a list of strings"),
        (lambda d: d["nodes"]["s1"].pop("address"), "'nodes.s1.address' must be a string"),
        (lambda d: d["nodes"].update(s1=[]), "'nodes.s1' must be an object"),
        (lambda d: d["switches"]["leaf1"]["ssh"].update(port="22"),
         "'switches.leaf1.ssh.port' must be a number"),
        (lambda d: d["mirror"].pop("pid"), "'mirror.pid' must be a number"),
        (lambda d: d["execution_nodes"][0].pop("command"),
         "'execution_nodes[0].command' must be a list of strings"),
        (lambda d: d["bmc"].update(url=8000), "'bmc.url' must be a string"),
    ],
)  # fmt: skip
def test_a_file_not_of_its_shape_is_refused_by_key(tmp_path: Path, edit, words: str) -> None:  # type: ignore[no-untyped-def]
    data = full().to_dict()
    edit(data)
    (tmp_path / "access.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(AccessError) as e:
        lab_access.read(tmp_path)
    assert str(e.value) == f"{tmp_path}/access.json: {words} in the lab's access file"


def test_a_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(AccessError, match="access.json: no such file \\(is the lab up\\?"):
        lab_access.read(tmp_path)
    (tmp_path / "access.json").write_text("{", encoding="utf-8")
    with pytest.raises(AccessError, match="cannot read the lab's access file"):
        lab_access.read(tmp_path)
    (tmp_path / "access.json").write_text("[]", encoding="utf-8")
    with pytest.raises(AccessError, match="'\\(the file\\)' must be an object"):
        lab_access.read(tmp_path)


def test_only_the_access_module_names_the_file() -> None:
    """Every reader and writer goes through wanka.lab.access: no other module of wanka/ has
    the file's name as a string (docstrings aside)."""
    found = []
    for path in sorted((ROOT / "wanka").rglob("*.py")):
        if path == ROOT / "wanka/lab/access.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value == "access.json":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
