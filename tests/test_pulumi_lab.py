"""The three providers against the lab (examples/lab-mini, `wanka lab` with servers), in the
order `pulumi up` runs them: BareMetalNode powers two servers on through their Redfish BMC,
SwitchConfig finds their leaf running its rendered frr.conf (netns transport, from the lab's
access.json), BringupBatch brings the two servers up with Ansible and exports the
verification summary. Needs root, FRR, lldpd, sshd and ansible (CI has them): without them
these tests fail, they do not skip. The module takes the session's lab-mini (tests/labkit.py),
restored (no fault, every server off); its servers are reached through its jump namespace, so
it runs beside a developer's lab."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest
from labkit import MINI, Lab, Labs

from wanka.derive.routing import switch_routing
from wanka.drivers.redfish import Client
from wanka.pulumi.providers import BareMetalNodeProvider, BringupBatchProvider, SwitchConfigProvider
from wanka.pulumi.stack import Settings, bmc_props, switch_transport
from wanka.render.frr import render_frr

NODES = ["lab-p1-pod01-r01-s01", "lab-p1-pod01-r01-s02"]
LEAF = "lab-p1-pod01-param-leaf01"


@pytest.fixture(scope="module")
def lab(labs: Labs) -> Lab:
    ansible = shutil.which("ansible-playbook") or Path(sys.executable).parent / "ansible-playbook"
    if not Path(ansible).exists():
        pytest.fail("`ansible-playbook` not found: install it (`make deps`)", pytrace=False)
    return labs.get(MINI)  # restored: no fault, every server off


def test_up_order_on_the_lab(lab: Lab) -> None:
    settings = Settings(str(lab.cluster), "p1", lab=str(lab.dir), power_timeout=30.0)
    # 1. BareMetalNode: the servers start powered off; the provider powers them on
    bmc = BareMetalNodeProvider()
    for name in NODES:
        props = bmc_props(lab.d, lab.d.cluster.node(name), settings, lab.typed, "unused")
        client = Client(props["url"], props["system"], timeout=10)
        assert client.power_state() == "Off"
        outs = bmc.create(props).outs
        assert outs["power"] == "On" and "power" in outs["applied"]
        assert client.power_state() == "On"
        assert bmc.read(name, outs).outs == outs  # no drift
    # 2. SwitchConfig: the lab's leaf already runs its rendered frr.conf: nothing to change
    sw = next(s for s in lab.d.cluster.switches if s.name == LEAF)
    config = render_frr(switch_routing(lab.d)[LEAF])
    transport = switch_transport(lab.d, sw, lab.typed)
    assert transport["kind"] == "netns" and transport["namespace"]
    props = {"switch": LEAF, "config": config, "transport": transport}
    outs = SwitchConfigProvider().create(dict(props)).outs
    assert outs["drift"] == []
    # ... and over SSH (wanka:switchTransport ssh): the leaf's sshd, through the lab's jump
    settings.switch_transport = "ssh"
    over_ssh = switch_transport(lab.d, sw, lab.typed, settings)
    assert over_ssh["kind"] == "ssh" and over_ssh["host"] == str(lab.d.addressing.loopbacks[LEAF])
    read = SwitchConfigProvider().read(LEAF, {**outs, "transport": over_ssh}).outs
    assert read is not None and read["drift"] == []
    # 3. BringupBatch: Ansible brings the two servers up (sshd answers once they are on)
    deadline = time.monotonic() + 20
    while not all(lab.ssh(n, "true", timeout=30).returncode == 0 for n in NODES):
        assert time.monotonic() < deadline, "sshd of the powered servers does not answer"
        time.sleep(0.5)
    batch = {
        "batch": "lab-p1-pod01-r01",
        "cluster": str(lab.cluster),
        "phase": "p1",
        "nodes": NODES,
        "software": {},
        "lab": str(lab.dir),
        "outDir": str(lab.base / "bringup"),
        "after": {},
    }
    created = BringupBatchProvider().create(batch)
    summary = created.outs["verification"]
    assert summary["ok"] is True
    assert summary["hosts"] == {n: "ok" for n in NODES}, summary
    assert (lab.base / "bringup" / "lab-p1-pod01-r01").is_dir()
