"""One lab whose servers run three OSes (tests/examples/positive/lab-mixed-os.yaml, 3
servers): openEuler 22.03 LTS SP4 on Kunpeng (aarch64), Kylin V10 SP3 on Hygon (x86_64),
Ubuntu 22.04 on Kunpeng. Each server presents its type's /etc/os-release and package manager;
bring-up and verify are green, the roles installed their packages with that family's manager
(dnf or apt-get, recorded by the lab), chrony's file went to the family's path, a second run
changes nothing, and preflight refuses a server whose os-release is not its type's OS.

Needs root, FRR, lldpd, sshd, like the other lab tests (never skipped); one lab for the module,
under its own namespace prefix, always torn down. Run it under /tmp/wanka-lab.lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import ROOT, run_wanka
from labkit import Lab, lab_up

LAB = ROOT / "tests/examples/positive/lab-mixed-os.yaml"
EULER = "lab-p1-pod01-r01-s01"  # a2-kunpeng: software.os, openEuler
KYLIN = "lab-p1-pod01-r01-s02"  # a2-hygon: os kylin
UBUNTU = "lab-p1-pod01-r01-s03"  # a2-kunpeng-ubuntu: os ubuntu


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(LAB, report="lab-mixed-os (3 servers)") as lab:
        yield lab


def test_bringup_installs_with_each_family_and_verify_is_green(lab: Lab) -> None:
    r = lab.run("bringup")
    assert r["ok"], r["summary"]
    assert sorted(r["hosts"]) == sorted([EULER, KYLIN, UBUNTU])
    for node, conf in ((EULER, "/etc/chrony.conf"), (KYLIN, "/etc/chrony.conf"),
                       (UBUNTU, "/etc/chrony/chrony.conf")):  # fmt: skip
        installed = json.loads(lab.sh(node, "cat /var/lib/wanka-lab/packages.json"))
        assert {"chrony", "dkms", "gcc", "make"} <= set(installed), (node, installed)
        headers = [p for p in installed if p.startswith(("kernel-headers-", "linux-headers-"))]
        assert headers and headers[0].startswith(
            "linux-headers-" if node == UBUNTU else "kernel-headers-"
        ), (node, installed)
        drift = lab.sh(node, f"grep ^driftfile {conf}").strip()
        assert drift == ("driftfile /var/lib/chrony/chrony.drift" if node == UBUNTU
                         else "driftfile /var/lib/chrony/drift"), (node, drift)  # fmt: skip
    assert installed["chrony"] == "1.0-1"  # Ubuntu's: a deb version, no rpm release tag
    euler = json.loads(lab.sh(EULER, "cat /var/lib/wanka-lab/packages.json"))
    assert euler["chrony"] == "1.0-1.oe2203sp4.aarch64"
    res = run_wanka("verify", LAB, "--lab", str(lab.dir), "--out", str(lab.out), timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 of 3 nodes ok" in res.stdout, res.stdout


def test_each_server_presents_its_types_os(lab: Lab) -> None:
    """(after bring-up: it powered the servers on)"""
    release = {n: lab.sh(n, "cat /etc/os-release; uname -m") for n in (EULER, KYLIN, UBUNTU)}
    assert 'PRETTY_NAME="openEuler 22.03 (LTS-SP4)"' in release[EULER]
    assert release[EULER].rstrip().endswith("aarch64")
    assert 'NAME="Kylin Linux Advanced Server"' in release[KYLIN]
    assert release[KYLIN].rstrip().endswith("x86_64")
    assert "ID=ubuntu" in release[UBUNTU] and 'VERSION_ID="22.04"' in release[UBUNTU]
    # sh (dash) names only what it can run: this machine's own apt-get and dnf are /dev/null
    # on the servers of the other family (bash's `command -v` still names the path)
    managers = {
        n: lab.sh(n, "sh -c 'for t in dnf yum apt-get; do command -v $t; done; true'").split()
        for n in release
    }
    assert "apt-get: not executable" in lab.sh(
        EULER, "test -x /usr/bin/apt-get || echo 'apt-get: not executable'"
    )
    for node in (EULER, KYLIN):
        assert managers[node] == ["/usr/local/bin/dnf", "/usr/local/bin/yum"], managers
    assert managers[UBUNTU] == ["/usr/local/bin/apt-get"], managers


def test_second_bringup_changes_nothing(lab: Lab) -> None:
    r = lab.run("bringup")
    assert r["ok"] and r["changed"] == 0, r["summary"]


def test_preflight_refuses_a_server_whose_os_is_not_its_types(lab: Lab) -> None:
    ubuntu = lab.sh(UBUNTU, "cat /etc/os-release")
    saved = lab.sh(KYLIN, "cat /etc/os-release")
    lab.sh(KYLIN, f"printf '%s' '{ubuntu}' > /etc/os-release")
    try:
        r = lab.run("bringup")
        assert not r["ok"]
        failed = {n: h["failed"] for n, h in r["hosts"].items() if h["failed"]}
        assert set(failed) == {KYLIN}, failed
        reasons = [f["reason"] for f in failed[KYLIN] if f["check"] == "os"]
        assert reasons == ["OS Ubuntu 22.04 LTS (Jammy Jellyfish), the model says Kylin V10 SP3"]
    finally:
        lab.sh(KYLIN, f"printf '%s' '{saved}' > /etc/os-release")
