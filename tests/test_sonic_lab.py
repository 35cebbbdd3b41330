"""The SONiC path on a lab switch: lab-mini's first spine (an `os: sonic` model) as `lab up`
makes it - real FRR (zebra, bgpd) in split routing mode in its namespace, OpenSSH's sshd
there with SONiC's CLI on /usr/local/bin (wanka.lab.switchssh.write_sonic; the CLI emulated
from SONiC's own sources and tests, tests/captures/sonic/) - configured by the Sonic applier
over SSH, and the fabric checks of the verify role (wanka_node) read back from it.

What it shows: config_db.json and bgpd.conf pushed with the diff shown, CONFIG_DB and bgpd
then holding the rendered ones, a second push changing nothing; drift made by hand in CONFIG_DB
found and repaired; bgpd.conf refused by FRR after config_db.json was loaded puts the previous
CONFIG_DB back (and bgpd keeps its configuration); the switch checks pass, then name the port
that is down, the port whose speed is off and the port without PFC; on a Debian/FRR port (a
veth) the speed and PFC are "not checked", never passed.

Needs root, FRR and sshd (CI runs as root; `make deps` installs them): without them these tests
fail, they do not skip. Run by hand under the lab lock:
`flock /tmp/wanka-lab.lock .venv/bin/python -m pytest -q tests/test_sonic_lab.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ansible_module
import pytest
from labkit import mini_switch, start_frr, stop_switch, switch_namespace

from wanka.bringup.expect import expectations
from wanka.derive.routing import SwitchRouting
from wanka.drivers import switch as driver
from wanka.lab import switchssh
from wanka.lab.provision import keygen, proxy_command
from wanka.lab.switches import frr_files
from wanka.render import sonic

FRR_DAEMONS = Path("/usr/lib/frr")
NODE = ansible_module.load("wanka_node")


@dataclass
class Sw:
    name: str
    ns: str
    vty: Path
    cli: Path  # the CLI wrappers (also bind-mounted on /usr/local/bin for sshd)
    r: SwitchRouting
    spec: dict[str, Any]
    expect: dict[str, Any]

    def applier(self) -> driver.Sonic:
        t = driver.transport(self.name, self.spec)
        a = driver.applier("sonic", t, vty=str(self.vty), container=())
        assert isinstance(a, driver.Sonic)
        return a

    def bgpd(self) -> str:
        return sh("ip", "netns", "exec", self.ns, "vtysh", "--vty_socket", str(self.vty),
                  "-c", "show running-config bgpd")  # fmt: skip

    def db(self) -> dict[str, Any]:
        out = sh("ip", "netns", "exec", self.ns, str(self.cli / "sonic-cfggen"), "-d",
                 "--print-data")  # fmt: skip
        return dict(json.loads(out))

    def files(self) -> tuple[str, str]:
        return sonic.render_bgpd(self.r), sonic.dumps(sonic.config_db(self.r))


def sh(*argv: str, stdin: str | None = None) -> str:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=60, check=True
    ).stdout


def _start_frr(ns: str, state: Path, r: SwitchRouting) -> list[int]:
    """zebra + bgpd as the lab starts a SONiC switch (wanka.lab.switches: split mode files),
    bgpd with a configuration of nothing yet but its hostname."""
    files = frr_files(r)
    assert set(files) == {"bgpd.conf", "zebra.conf"}
    (state / "zebra.conf").write_text(files["zebra.conf"], encoding="utf-8")
    (state / "bgpd.conf").write_text(f"hostname {r.hostname}\n", encoding="utf-8")
    return start_frr(ns, state, {d: state / f"{d}.conf" for d in ("zebra", "bgpd")})


@pytest.fixture(scope="module")
def sw() -> Iterator[Sw]:
    for tool in ("vtysh", "ssh-keygen", "dcb"):
        if shutil.which(tool) is None:
            pytest.fail(f"`{tool}` not found: install frr openssh-server iproute2", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the SONiC lab tests need root (CI runs as root)", pytrace=False)
    d, routing, name = mini_switch("sonic")
    r = routing[name]
    address = str(d.addressing.loopbacks[name])
    expect = expectations(d, [], [s for s in d.cluster.switches if s.name == name])[name]
    pids: list[int] = []
    sshd = None
    with switch_namespace("so", address) as space:
        ns, state, lab = space.ns, space.frr, space.lab
        try:
            # the switch's cabled ports, each a veth whose far end stays in the namespace, up
            lines = []
            for i, p in enumerate(expect["ports"]):
                lines += [f"link add {p['name']} type veth peer name far{i}",
                          f"link set far{i} up", f"link set {p['name']} up"]  # fmt: skip
            sh("ip", "-n", ns, "-batch", "-", stdin="\n".join(lines) + "\n")
            pids = _start_frr(ns, state, r)
            (lab / "ssh/authorized_keys").write_text(keygen(lab / "ssh/id_ed25519", "t") + "\n")
            pub = switchssh.write_files(lab / "sw", lab, name, address, "admin", None)
            (lab / "ssh/known_hosts").write_text(f"{address} {' '.join(pub.split()[:2])}\n")
            cli = switchssh.write_sonic(lab / "sw", name, r)
            sshd = switchssh.start(ns, lab / "sw", sonic_cli=cli)
            spec = {
                "kind": "ssh", "host": address, "username": "admin",
                "private_key": {"file": str(lab / "ssh/id_ed25519")},
                "known_hosts": str(lab / "ssh/known_hosts"), "proxy_command": proxy_command(ns),
            }  # fmt: skip
            yield Sw(name, ns, state, cli, r, spec, expect)
        finally:
            stop_switch(pids, sshd)


def test_push_over_ssh_shows_the_diff_then_holds_and_a_second_push_changes_nothing(
    sw: Sw,
) -> None:
    bgpd, db = sw.files()
    a = sw.applier()
    try:
        assert sw.db()["PORT"]["Ethernet0"]["admin_status"] == "down"  # as it boots
        done = a.apply(bgpd, config_db=db)
        assert done.changed
        assert "- PORT|Ethernet0 admin_status=down" in done.delta
        assert "+ PORT|Ethernet0 admin_status=up" in done.delta
        assert f"+ DEVICE_METADATA|localhost hostname={sw.r.hostname}" in done.delta
        assert f"+ router bgp {sw.r.asn}" in done.delta  # FRR's part of the diff
        assert driver.db_delta(json.loads(db), sw.db()) == []  # CONFIG_DB holds every field
        assert f"router bgp {sw.r.asn}" in sw.bgpd()
        # config save: /etc/sonic/config_db.json is the running CONFIG_DB
        saved = json.loads((sw.cli.parent / "sonic/config_db.json").read_text())
        assert saved == sw.db()
        again = a.apply(bgpd, config_db=db)
        assert not again.changed and again.delta == []
    finally:
        a.t.close()


def test_drift_by_hand_is_found_and_repaired(sw: Sw) -> None:
    bgpd, db = sw.files()
    a = sw.applier()
    try:
        a.apply(bgpd, config_db=db)
        drift = json.dumps({"PORT": {"Ethernet8": {"speed": "100000"}}})
        sh(
            "ip",
            "netns",
            "exec",
            sw.ns,
            "sh",
            "-c",
            f"cat > /tmp/{sw.ns}.json && {sw.cli}/config load -y /tmp/{sw.ns}.json",
            stdin=drift,
        )
        assert a.delta(bgpd, config_db=db) == [
            "- PORT|Ethernet8 speed=100000",
            "+ PORT|Ethernet8 speed=400000",
        ]
        done = a.apply(bgpd, config_db=db)
        assert done.changed and sw.db()["PORT"]["Ethernet8"]["speed"] == "400000"
    finally:
        a.t.close()


def test_bgpd_refused_after_config_db_puts_the_previous_config_db_back(sw: Sw) -> None:
    bgpd, db = sw.files()
    a = sw.applier()
    try:
        a.apply(bgpd, config_db=db)
        before, running = sw.db(), sw.bgpd()
        new_db = json.loads(db)
        new_db["PORT"]["Ethernet16"]["mtu"] = "1500"
        anchor = " neighbor FABRIC peer-group\n"
        assert anchor in bgpd
        bad = bgpd.replace(anchor, anchor + " neighbor Ethernet99 interface peer-group NOPE\n")
        with pytest.raises(driver.Refused) as e:
            a.apply(bad, config_db=json.dumps(new_db))
        msg = str(e.value)
        assert "neighbor Ethernet99 interface peer-group NOPE" in msg
        assert "the previous CONFIG_DB is back" in msg
        assert sw.db() == before  # the loaded mtu 1500 is gone again
        assert sw.bgpd() == running
    finally:
        a.t.close()


def _checks(sw: Sw, expect: dict[str, Any]) -> list[dict[str, Any]]:
    tools = NODE.Tools(["ip", "netns", "exec", sw.ns])
    out = NODE.check_switch_ports(tools, expect, str(sw.cli))
    return list(out + NODE.check_switch_qos(tools, expect, str(sw.cli)))


def _failed(checks: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(c["check"], c["port"]) for c in checks if c["status"] == "fail"}


def test_switch_checks_pass_then_name_the_port_that_is_off(sw: Sw) -> None:
    bgpd, db = sw.files()
    a = sw.applier()
    try:
        a.apply(bgpd, config_db=db)
    finally:
        a.t.close()
    checks = _checks(sw, sw.expect)
    ports = [p["name"] for p in sw.expect["ports"]]
    assert {(c["check"], c["port"]) for c in checks} == {
        (k, p) for p in ports for k in ("link", "speed", "qos")
    }
    assert _failed(checks) == set(), checks
    # one port down, one at another speed, one without PFC on the RoCE priority
    down, slow, lossy = ports[0], ports[1], ports[2]
    sh("ip", "-n", sw.ns, "link", "set", down, "down")
    drift = {"PORT": {slow: {"speed": "100000"}}, "PORT_QOS_MAP": {lossy: {"pfc_enable": "3"}}}
    sh("ip", "netns", "exec", sw.ns, "sh", "-c",
       f"cat > /tmp/{sw.ns}.json && {sw.cli}/config load -y /tmp/{sw.ns}.json",
       stdin=json.dumps(drift))  # fmt: skip
    try:
        checks = _checks(sw, sw.expect)
        assert _failed(checks) == {("link", down), ("speed", slow), ("qos", lossy)}
        why = {c["port"]: c["reason"] for c in checks if c["status"] == "fail"}
        assert why[slow] == f"{slow} runs at 100G, the model says 400G"
        assert f"{lossy}: PFC is not on priority 4" in why[lossy]
        assert f"{down} is oper down" in why[down]
    finally:
        sh("ip", "-n", sw.ns, "link", "set", down, "up")


def test_debian_ports_say_not_checked_where_the_kernel_cannot_tell(sw: Sw) -> None:
    """A Debian/FRR switch's ports are read from the kernel: a veth is up or down, but has no
    line rate and no DCB: speed and PFC are skipped with the reason, never passed."""
    name = sw.expect["ports"][3]["name"]
    expect = {"os": "debian", "ports": [{"name": name, "speed": 400}],
              "qos": {"pfc_priority": 4, "dscp": 33, "ecn": True, "ports": [name]}}  # fmt: skip
    checks = {c["check"]: c for c in _checks(sw, expect)}
    assert checks["link"]["status"] == "pass"
    assert checks["speed"]["status"] == "skip" and "not checked" in checks["speed"]["reason"]
    assert checks["qos"]["status"] == "skip"
    assert "Operation not supported" in checks["qos"]["reason"]
