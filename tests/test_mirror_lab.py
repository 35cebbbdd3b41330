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
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, require_lab_servers

from wanka.bringup.options import Options
from wanka.bringup.run import run_playbook
from wanka.derive.bundle import Derived
from wanka.lab import mirror, netlab, nodes
from wanka.pipeline import check, derive

LAB = str(ROOT / "tests/examples/positive/lab-mirror.yaml")
A = "lab-p1-pod01-r01-s01"
SWITCH_PASSWORD = "WANKA_SWITCH_PASSWORD"  # lab-mini's credentials.switch.password reference
STRAY = ROOT / "tests/fixtures/mirror/openEuler.repo"  # what an installed openEuler reads


@dataclass
class Lab:
    d: Derived
    dir: Path
    out: Path
    access: dict[str, Any]
    times: dict[str, float]

    def run(self, playbook: str) -> dict[str, Any]:
        started = time.monotonic()
        opts = Options(cluster_file=LAB, out_dir=self.out, playbook=playbook, lab=self.dir)
        r = run_playbook(opts).to_dict()
        self.times[f"{playbook}-{len(self.times)}"] = round(time.monotonic() - started, 1)
        return r

    def ssh(self, node: str, command: str) -> str:
        a = self.access["ssh"]
        res = subprocess.run(
            ["ssh", *a["options"], "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
             f"{a['user']}@{self.access['nodes'][node]['address']}", command],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        return res.stdout

    def fetched(self) -> list[tuple[str, str, str, int]]:
        return mirror.requests(Path(self.access["mirror"]["log"]))


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require_lab_servers()
    d = derive(check(LAB))
    base = Path(tempfile.mkdtemp(prefix="wklab-mirror-", dir="/tmp"))
    base.chmod(0o755)  # FRR runs as frr and must reach its state directory
    times: dict[str, float] = {}
    os.environ[SWITCH_PASSWORD] = os.urandom(12).hex()
    try:
        netlab.up(d, base / "lab", prefix=f"wkm{os.urandom(2).hex()}", power_delay=(1, 2))
        # server A's disk holds the OS's own repository file, as an installed openEuler's does
        repos = nodes.node_dir(base / "lab", A) / "fs/etc/upper/yum.repos.d"
        repos.mkdir(parents=True)
        shutil.copy(STRAY, repos / "openEuler.repo")
        yield Lab(d, base / "lab", base / "run", nodes.read_access(base / "lab"), times)
    finally:
        netlab.down(base / "lab")
        print(f"\nbring-up wall times on lab-mirror (2 servers): {json.dumps(times)}")
        shutil.rmtree(base, ignore_errors=True)
        os.environ.pop(SWITCH_PASSWORD, None)


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
    got = lab.fetched()
    assert {(c, p) for c, meth, p, code in got if meth == "GET" and code == 200} == want
    assert {c for c, *_ in got} <= servers  # only the servers asked, and nothing else
    # nothing else was reachable: no namespace of the lab has a route beyond its own subnets
    for ns in [n["namespace"] for n in lab.access["nodes"].values()] + [
        lab.access["mirror"]["namespace"]
    ]:
        routes = _routes(ns)
        assert routes and all("gateway" not in x and x["dst"] != "default" for x in routes), ns
    # dnf reads the mirror's repository alone: the OS's own was moved aside
    assert lab.ssh(A, "ls /etc/yum.repos.d").split() == ["wanka-mirror.repo"]
    assert lab.ssh(A, "ls /etc/yum.repos.d.wanka-aside").split() == ["openEuler.repo"]
    repo = configparser.ConfigParser(interpolation=None)
    repo.read_string(lab.ssh(A, "cat /etc/yum.repos.d/wanka-mirror.repo"))
    assert repo.sections() == ["wanka-mirror"]
    m = lab.d.cluster.software.mirror
    assert m is not None
    assert repo["wanka-mirror"]["baseurl"] == m.repositories["openeuler"]["aarch64"]


def test_second_bringup_changes_and_fetches_nothing(lab: Lab) -> None:
    before = len(lab.fetched())
    r = lab.run("bringup")
    assert r["ok"] and r["changed"] == 0, r["summary"]
    assert len(lab.fetched()) == before
