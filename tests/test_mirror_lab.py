"""The air-gapped lab (tests/examples/positive/lab-mirror.yaml, 2 servers): `wanka lab up`
serves the cluster's mirror (software.mirror) on the management network, bring-up points the
servers' dnf at it alone and fetches every Ascend package from it, checked against its
SHA-256, and nothing else is reachable from the lab's namespaces.

Needs root, FRR, lldpd, sshd (CI runs as root): without them these tests fail, they do not
skip. The lab comes up once for the module under its own namespace prefix and is always torn
down. Only one lab with servers runs on a machine at a time (flock /tmp/wanka-lab.lock).
"""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from labkit import Lab, lab_up

from wanka.derive.bundle import Derived
from wanka.lab import mirror, nodes

LAB = ROOT / "tests/examples/positive/lab-mirror.yaml"
A = "lab-p1-pod01-r01-s01"
STRAY = ROOT / "tests/fixtures/mirror/openEuler.repo"  # what an installed openEuler reads


def fetched(lab: Lab) -> list[tuple[str, str, str, int]]:
    return mirror.requests(Path(lab.access["mirror"]["log"]))


def _stray_repository(lab_dir: Path) -> None:
    """Server A's disk holds the OS's own repository file, as an installed openEuler's does."""
    repos = nodes.node_dir(lab_dir, A) / "fs/etc/upper/yum.repos.d"
    repos.mkdir(parents=True)
    shutil.copy(STRAY, repos / "openEuler.repo")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(LAB, prepare=_stray_repository, report="lab-mirror (2 servers)") as lab:
        yield lab


def _packages(d: Derived) -> set[str]:
    sw = d.cluster.software.npu
    assert sw is not None
    arch = "aarch64"  # lab-mirror's servers are Kunpeng
    return {sw.driver_packages[arch], sw.cann_packages[arch], sw.kernels_packages[arch],
            sw.firmware_package or ""}  # fmt: skip


def test_lab_serves_the_mirror_where_the_cluster_file_names_it(lab: Lab) -> None:
    m = lab.d.cluster.software.mirror
    assert m is not None and m.ascend is not None
    assert lab.access["mirror"]["url"] == "http://10.90.0.6:8080/"
    assert m.ascend.startswith(lab.access["mirror"]["url"])
    # its namespace holds the mirror's address alone, with no route but its subnet's
    ns = lab.access["mirror"]["namespace"]
    addrs = json.loads(subprocess.run(["ip", "-n", ns, "-j", "-4", "addr"], capture_output=True,
                                      text=True, check=True).stdout)  # fmt: skip
    held = {a["local"] for i in addrs for a in i["addr_info"] if a["local"] != "127.0.0.1"}
    assert held == {"10.90.0.6"}


def _routes(ns: str) -> list[dict[str, Any]]:
    out = subprocess.run(["ip", "-n", ns, "-j", "-4", "route", "show", "table", "all"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [r for r in json.loads(out) if r.get("table") != "local"]


def test_bringup_fetches_every_package_from_the_mirror_and_nothing_else(lab: Lab) -> None:
    r = lab.run("bringup")
    assert r["ok"], r["summary"]
    servers = {n["address"] for n in lab.access["nodes"].values()}
    want = {(addr, f"/ascend/{pkg}") for addr in servers for pkg in _packages(lab.d)}
    got = fetched(lab)
    assert {(c, p) for c, meth, p, code in got if meth == "GET" and code == 200} == want
    assert {c for c, *_ in got} <= servers  # only the servers asked, and nothing else
    # nothing else was reachable: no namespace of the lab has a route beyond its own subnets
    for ns in [n["namespace"] for n in lab.access["nodes"].values()] + [
        lab.access["mirror"]["namespace"]
    ]:
        routes = _routes(ns)
        assert routes and all("gateway" not in x and x["dst"] != "default" for x in routes), ns
    # dnf reads the mirror's repository alone: the OS's own was moved aside
    assert lab.sh(A, "ls /etc/yum.repos.d").split() == ["wanka-mirror.repo"]
    assert lab.sh(A, "ls /etc/yum.repos.d.wanka-aside").split() == ["openEuler.repo"]
    repo = configparser.ConfigParser(interpolation=None)
    repo.read_string(lab.sh(A, "cat /etc/yum.repos.d/wanka-mirror.repo"))
    assert repo.sections() == ["wanka-mirror"]
    m = lab.d.cluster.software.mirror
    assert m is not None
    assert repo["wanka-mirror"]["baseurl"] == m.repositories["openeuler"]["aarch64"]


def test_second_bringup_changes_and_fetches_nothing(lab: Lab) -> None:
    before = len(fetched(lab))
    r = lab.run("bringup")
    assert r["ok"] and r["changed"] == 0, r["summary"]
    assert len(fetched(lab)) == before
