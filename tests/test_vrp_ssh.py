"""The VRP applier over real SSH: OpenSSH's sshd in a network namespace, as the lab runs one on
each routed switch (wanka.lab.switchssh), forcing the lab's VRP CLI on the session and SFTP
into its flash (wanka.lab.vrpswitch); the applier reaches it through the lab's jump with the
switch credential `{env: NAME}` and the switch's host key in known_hosts.

What it shows over SSH: a first push of a leaf's vrp.cfg (loaded from flash by SFTP, committed
as a trial, confirmed, saved), a second push that commits nothing, and a file with a line the
switch does not know refused with the old configuration left. The BGP check of the trial is
left out here (verify=()): no FRR answers `display bgp peer` in this namespace; the trial's
verification and rollback are tests/test_vrp_apply.py's.

Needs root and sshd (CI runs as root): without them these tests fail, they do not skip.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from labkit import switch_namespace

from wanka.derive.routing import switch_routing
from wanka.drivers import switch as driver
from wanka.drivers import vrp
from wanka.lab import switchssh, vrpswitch
from wanka.lab.provision import keygen, proxy_command
from wanka.lab.state import alive
from wanka.pipeline import check, derive
from wanka.render.vrp import render_vrp

PASSWORD_ENV = "WANKA_TEST_VRP_PASSWORD"
FABRIC = ROOT / "tests/examples/positive/vrp-fabric.yaml"


@dataclass
class Switch:
    name: str
    state: Path
    config: str
    spec: dict[str, Any]

    def applier(self) -> vrp.Vrp:
        a = driver.applier("vrp", driver.transport(self.name, self.spec))
        a.checks = []  # no FRR here: see the module docstring
        a.verify_s = 0
        return a


@pytest.fixture(scope="module")
def sw() -> Iterator[Switch]:
    if not Path(switchssh.SSHD).exists() or not Path(vrpswitch.SFTP_SERVER).exists():
        pytest.fail("sshd or sftp-server not found: install openssh-server", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the VRP SSH tests need root (CI runs as root)", pytrace=False)
    d = derive(check(str(FABRIC)))
    name, r = next((n, r) for n, r in switch_routing(d).items() if r.tier == "leaf")
    address = str(d.addressing.loopbacks[name])
    os.environ[PASSWORD_ENV] = os.urandom(12).hex()
    sshd = None
    try:
        with switch_namespace("vr", address) as space:
            lab = space.lab
            (lab / "ssh/authorized_keys").write_text(keygen(lab / "ssh/id_ed25519", "t") + "\n")
            hashed = switchssh.password_hash(os.environ[PASSWORD_ENV])
            where = lab / "sw"
            pub = switchssh.write_files(where, lab, name, address, "admin", hashed)
            vrpswitch.force(where, vrpswitch.write(where, name))
            (lab / "ssh/known_hosts").write_text(f"{address} {' '.join(pub.split()[:2])}\n")
            sshd = switchssh.start(space.ns, where)
            spec = {
                "kind": "ssh", "host": address, "username": "admin",
                "credential": {"env": PASSWORD_ENV}, "known_hosts": str(lab / "ssh/known_hosts"),
                "proxy_command": proxy_command(space.ns),
            }  # fmt: skip
            try:
                yield Switch(name, where / "vrp", render_vrp(r, 9216), spec)
            finally:
                if sshd is not None and alive(sshd):
                    os.kill(sshd.pid, signal.SIGTERM)
    finally:
        os.environ.pop(PASSWORD_ENV, None)


def test_first_push_over_ssh_then_nothing(sw: Switch) -> None:
    a = sw.applier()
    try:
        r = a.apply(sw.config)
    finally:
        a.t.close()
    assert r.changed and any(d.startswith("+ bgp ") for d in r.delta)
    running = (sw.state / "running.cfg").read_text()
    assert vrp.same(running, vrp.compose(sw.config, r.before))
    assert "stelnet server enable" in running  # the management part kept
    assert (sw.state / "flash" / vrp.FILE).exists()  # by SFTP
    assert (sw.state / "saved.cfg").read_text() == running
    labels = [c["label"] for c in json.loads((sw.state / "commits.json").read_text())]
    assert labels == ["wanka-1"]
    a = sw.applier()
    try:
        again = a.apply(sw.config)
    finally:
        a.t.close()
    assert not again.changed and again.delta == []


def test_a_refused_file_over_ssh_leaves_the_old_configuration(sw: Switch) -> None:
    before = (sw.state / "running.cfg").read_text()
    bad = sw.config.replace(" undo portswitch", " undo portswich", 1)
    a = sw.applier()
    try:
        with pytest.raises(driver.Refused, match=r"Unrecognized command.*portswich.*nothing"):
            a.apply(bad)
    finally:
        a.t.close()
    assert (sw.state / "running.cfg").read_text() == before
