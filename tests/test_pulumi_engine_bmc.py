"""BareMetalNode under the real engine (`make tools`: .tools/bin/pulumi), against a
sushy-tools BMC emulator of our own on loopback: no lab, no root. A file backend and a
passphrase made for the test; the BMC password a secret of the stack's configuration.

up powers both servers on, a second up changes nothing, a server powered off by hand is
named by a refresh preview (`wanka drift`: nothing recorded), shows in refresh and the next up
powers it on again, another is found and powered on by one `up --refresh` (a plain up, working
from the state, does not see it), destroy powers both off; the password is in
none of the state files, the export, the outputs or the engine's output.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from wanka.drivers.redfish import Client
from wanka.lab import bmc
from wanka.pulumi.drift import Difference, findings
from wanka.pulumi.engine import CHECKOUT_TOOLS, Engine
from wanka.pulumi.providers import BareMetalNode

NODES = ("n1", "n2")


def program() -> None:
    """Two BareMetalNodes, as the stack program registers them (password: a secret)."""
    config = pulumi.Config("wanka")
    password = config.require_secret("bmcPassword")
    for node in NODES:
        BareMetalNode(
            node,
            {
                "node": node,
                "url": config.require("bmcUrl"),
                "system": node,
                "username": "Administrator",
                "password": password,
                "timeout": 5.0,
                "powerTimeout": 30.0,
                "verify": True,
                "power": "On",
                "bootTarget": "Hdd",
                "bootMode": "UEFI",
                "bios": {"PowerProfile": "Performance"},
            },
        )
    pulumi.export("nodes", list(NODES))


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    where = tmp_path_factory.mktemp("bmc")
    systems = [
        bmc.system("lab", f"n{i}", [(f"02:00:00:00:00:0{i}", f"10.0.0.{i}")]) for i in (1, 2)
    ]
    bmc.write_config(where, systems, delay=(1, 2))
    pid, port = bmc.start(where)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
                time.sleep(0.05)


def _power(url: str, node: str) -> str:
    return Client(url, node, timeout=10).power_state()


def test_bare_metal_nodes_under_the_engine(emulator: str, tmp_path: Path) -> None:
    if not (CHECKOUT_TOOLS / "bin" / "pulumi").is_file():
        pytest.fail("no .tools/bin/pulumi: run `make tools`", pytrace=False)
    password = secrets.token_hex(12)
    (tmp_path / "state").mkdir()
    (tmp_path / "project").mkdir()
    engine = Engine(
        work_dir=tmp_path / "project",
        backend=(tmp_path / "state").as_uri(),
        env={
            "PULUMI_CONFIG_PASSPHRASE": secrets.token_hex(16),
            "PULUMI_HOME": str(tmp_path / "home"),
        },
        root=CHECKOUT_TOOLS,
        program=program,
    )
    config = {"wanka:bmcUrl": emulator, "wanka:bmcPassword": password}
    st = engine.stack("bmc", config, secret={"wanka:bmcPassword"})
    logs: list[str] = []
    kw: dict[str, Any] = {"on_output": logs.append, "color": "never", "show_secrets": False}
    assert [_power(emulator, n) for n in NODES] == ["Off", "Off"]

    up = st.up(**kw)
    assert up.summary.resource_changes.get("create") == 3  # the stack and two nodes
    assert [_power(emulator, n) for n in NODES] == ["On", "On"]

    again = st.up(**kw)
    assert set(again.summary.resource_changes) == {"same"}, again.summary.resource_changes

    Client(emulator, "n1", timeout=10).reset("ForceOff")  # by hand, behind Pulumi's back
    deadline = time.monotonic() + 30
    while _power(emulator, "n1") != "Off":
        assert time.monotonic() < deadline, "n1 did not power off"
        time.sleep(0.5)
    # `wanka drift`'s refresh preview names n1's power and records nothing
    events: list[Any] = []
    st.preview(refresh=True, on_event=events.append, on_output=logs.append, color="never")
    (found,) = findings("bmc", events)
    assert (found.kind, found.name, found.op) == ("BareMetalNode", "n1", "update")
    assert found.differences == [Difference("power", "On", "Off")]
    recorded = {
        r["urn"].rsplit("::", 1)[-1]: r for r in engine.export("bmc")["deployment"]["resources"]
    }
    assert recorded["n1"]["outputs"]["power"] == "On"  # the preview recorded nothing
    assert _power(emulator, "n1") == "Off"  # and changed nothing

    refreshed = st.refresh(**kw)
    assert refreshed.summary.resource_changes.get("update") == 1, refreshed.summary
    repaired = st.up(**kw)
    assert repaired.summary.resource_changes.get("update") == 1, repaired.summary
    assert _power(emulator, "n1") == "On"

    # up --refresh: a server powered off again is found and powered on in one run
    Client(emulator, "n2", timeout=10).reset("ForceOff")
    deadline = time.monotonic() + 30
    while _power(emulator, "n2") != "Off":
        assert time.monotonic() < deadline, "n2 did not power off"
        time.sleep(0.5)
    assert set(st.up(**kw).summary.resource_changes) == {"same"}  # the state says On
    both = st.up(refresh=True, **kw)
    assert both.summary.resource_changes.get("update") == 1, both.summary
    assert _power(emulator, "n2") == "On"
    events.clear()
    st.preview(refresh=True, on_event=events.append, on_output=logs.append, color="never")
    assert findings("bmc", events) == []

    exported = json.dumps(engine.export("bmc"))  # `pulumi stack export`: secrets encrypted
    outputs = json.dumps({k: v.value for k, v in st.outputs().items()})
    gone = st.destroy(**kw)
    assert gone.summary.resource_changes.get("delete") == 3, gone.summary
    assert [_power(emulator, n) for n in NODES] == ["Off", "Off"]

    assert "BareMetalNode" in exported and '"ciphertext"' in exported
    assert password not in exported
    assert password not in outputs
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any("state" in p.parts for p in files)
    for p in files:
        assert password.encode() not in p.read_bytes(), p
    assert logs and not any(password in line for line in logs)
