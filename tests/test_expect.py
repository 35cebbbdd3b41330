"""The per-host expectation (`wanka_expect`) against its declared shape (bringup/expectation.py)
across the wall: what expect.py builds for the examples lacks no declared key and adds none,
every `wanka_expect.` path a role or playbook reads is declared, and so is every key the
wanka_node module reads of its `expect`."""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path
from typing import Any

import pytest

from wanka.bringup import expectation
from wanka.bringup.expect import expectations
from wanka.derive import verifyplan
from wanka.pipeline import open_cluster

ROOT = Path(__file__).resolve().parent.parent
CLUSTERS = [
    "examples/lab-mini/cluster.yaml",
    "tests/examples/positive/lab-a3-supernode.yaml",
    "tests/examples/positive/lab-storage.yaml",
    "tests/examples/positive/two-parameter-planes.yaml",
    "tests/examples/positive/lab-mixed-os.yaml",
]
DECLARED = expectation.paths(expectation.NodeExpect) | expectation.paths(expectation.SwitchExpect)


def _expect(rel: str) -> dict[str, Any]:
    d = open_cluster(str(ROOT / rel))
    return dict(expectations(d, list(d.cluster.nodes), list(d.cluster.switches)))


@pytest.mark.parametrize("rel", CLUSTERS)
def test_what_expect_builds_is_the_declared_shape(rel: str) -> None:
    exp = _expect(rel)
    kinds = {e["kind"] for e in exp.values()}
    assert kinds == {"node", "switch"}, rel
    assert [p for name, e in exp.items() for p in expectation.problems(e, where=name)] == []


def test_a_missing_or_undeclared_key_is_caught() -> None:
    exp = _expect(CLUSTERS[0])
    node = next(e for e in exp.values() if e["kind"] == "node" and e["npu"]["devices"])
    switch = next(e for e in exp.values() if e["kind"] == "switch" and e["routed"])
    bad = copy.deepcopy(node)
    del bad["npu"]["devices"][0]["netmask"]
    bad["cpu"]["threads"] = 2
    bad["memory_gb"] = "512"
    assert expectation.problems(bad, where="s01") == [
        "s01.cpu.threads: not declared",
        "s01.memory_gb: '512' is not int | float",
        "s01.npu.devices[0].netmask: missing",
    ]
    bad = copy.deepcopy(switch)
    bad["qos"] = {"pfc_priority": 3, "dscp": 26, "ecn": "yes", "ports": []}
    del bad["bgp_peers"]
    assert expectation.problems(bad, where="leaf") == [
        "leaf.bgp_peers: missing",
        "leaf.qos.ecn: 'yes' is not <class 'bool'>",
    ]
    assert expectation.problems({"kind": "pdu"}) == [
        "wanka_expect: kind 'pdu' is neither node nor switch"
    ]


def _role_paths() -> set[tuple[str, str]]:
    found = set()
    for path in sorted([*(ROOT / "roles").rglob("*.yml"), *(ROOT / "playbooks").glob("*.yml")]):
        for m in re.finditer(r"wanka_expect\.([a-z_]+(?:\.[a-z_]+)*)", path.read_text("utf-8")):
            found.add((str(path.relative_to(ROOT)), m.group(1)))
    return found


def test_every_path_a_role_reads_is_declared() -> None:
    found = _role_paths()
    assert {p for _, p in found} >= {"kind", "routed", "npu.devices", "storage.mounts"}
    assert sorted(f"{f}: {p}" for f, p in found if p not in DECLARED) == []


def _module_keys() -> set[tuple[str, str]]:
    """Keys the module reads of `expect` and of what it took from it (`npu`, `dev`, `want`,
    `cpu`, `qos`): x["key"] and x.get("key") on those names."""
    names = {"expect", "npu", "dev", "cpu", "qos", "want"}
    found = set()
    utils = sorted((ROOT / "playbooks/module_utils").glob("wanka_*checks.py"))
    for path in [*utils, ROOT / "playbooks/module_utils/wanka_node_facts.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            key = None
            if isinstance(node, ast.Subscript) and getattr(node.value, "id", "") in names:
                key = node.slice
                owner = node.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and getattr(node.func.value, "id", "") in names
                and node.args
            ):
                key, owner = node.args[0], node.func.value
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.add((f"{path.name}:{node.lineno}:{getattr(owner, 'id', '')}", key.value))
    return found


def test_every_key_the_module_reads_is_declared() -> None:
    leaves = {p.rsplit(".", 1)[-1] for p in DECLARED}
    found = _module_keys()
    assert {k for _, k in found} >= {"firmware_range", "devices", "pci_device_id", "bgp_peers"}
    assert sorted(f"{w}: {k}" for w, k in found if k not in leaves) == []


def test_cards_are_cabled_by_the_cables_own_port_number() -> None:
    """derive/verifyplan.py: the leaf port of each card, from the cable's index (the old
    guess from a port-name prefix read `param1x` wrong); every server's card has one."""
    d = open_cluster(str(ROOT / CLUSTERS[0]))
    cabled = verifyplan.cabled_cards(d.cluster, d.cabling)
    servers = [n for n in d.cluster.nodes if n.model.accelerator is not None]
    assert servers and all((n.name, c) in cabled for n in servers for c in range(n.model.cards))
    leaves = {s.name for s in d.cluster.switches}
    assert {sw for sw, _ in cabled.values()} <= leaves


def test_ping_peers_cross_rails_and_servers() -> None:
    a = verifyplan.Server("a", [(0, "10.0.0.1"), (1, "10.0.1.1")])
    b = verifyplan.Server("b", [(0, "10.0.0.2"), (1, "10.0.1.2")])
    peers = verifyplan.ping_peers([[a, b]])
    assert peers[("a", 0)] == verifyplan.Ping("10.0.1.2", "b:npu1")
    assert peers[("b", 1)] == verifyplan.Ping("10.0.0.1", "a:npu0")
    alone = verifyplan.Server("c", [(0, "10.0.0.3")])
    assert verifyplan.ping_peers([[alone]]) == {}  # a lone one-device server pings nobody
