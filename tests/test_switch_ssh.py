"""The SSH transport of wanka.drivers.switch against a real switch of our own: FRR (zebra +
bgpd, Debian's) in a network namespace, with OpenSSH's sshd in it as the lab runs one on each
routed switch (wanka.lab.switchssh: listening on the switch's loopback, reached through
`wanka.lab.jump` into the namespace, the switch user's password only as a crypt hash).

What it shows, all over SSH with the credential reference `{env: NAME}`: lab-mini's first
Debian/FRR switch (a leaf) configured from nothing with the diff shown, a second push that
changes nothing, the Pulumi provider doing the same; a file vtysh cannot parse refused with
its line and nothing touched; a command the daemon refuses (a peer group that does not
exist) and a configuration that does not hold once applied (a `bfd` section while bfdd is
off, as Debian ships it) both put back to the previous configuration, checked; FRR's
daemons file edited (bgpd=yes); an unknown host key and a wrong password refused without the
password in any message.

Needs root, FRR and sshd (CI runs as root; `make deps` installs them): without them these
tests fail, they do not skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from labkit import mini_switch, start_frr, stop_switch, switch_namespace

from wanka.drivers import switch as driver
from wanka.lab import switchssh
from wanka.lab.provision import keygen, proxy_command
from wanka.pulumi.providers import SwitchConfigProvider
from wanka.pulumi.providers.common import ProviderError
from wanka.render.frr import render_frr

FRR_DAEMONS = Path("/usr/lib/frr")
PASSWORD_ENV = "WANKA_TEST_SWITCH_PASSWORD"
# source: Debian bookworm's frr 8.4.4-1.1~deb12u2, /etc/frr/daemons as the package ships it
# (md5 7595bf34d8e42c9228e1ca3a7e471294: the conffile's sum, `dpkg-query -W -f='${Conffiles}' frr`)
DEBIAN_DAEMONS = ROOT / "tests/fixtures/frr-daemons.debian-8.4.4"


@dataclass
class Switch:
    name: str
    ns: str
    vty: Path
    address: str
    config: str
    asn: int
    spec: dict[str, Any]

    def frr(self, **over: Any) -> driver.Frr:
        return driver.Frr(driver.transport(self.name, {**self.spec, **over}), vty=str(self.vty))

    def vtysh(self, command: str) -> str:
        return subprocess.run(
            ["vtysh", "--vty_socket", str(self.vty), "-c", command],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout  # fmt: skip


def _start_frr(ns: str, state: Path) -> list[int]:
    conf = state / "frr.conf"
    conf.write_text("frr defaults datacenter\nhostname start\n", encoding="utf-8")
    return start_frr(ns, state, {"zebra": conf, "bgpd": conf})


@pytest.fixture(scope="module")
def sw() -> Iterator[Switch]:
    for tool in ("vtysh", "ssh-keygen", "openssl"):
        if shutil.which(tool) is None:
            pytest.fail(f"`{tool}` not found: install frr openssh-server openssl", pytrace=False)
    if not Path(switchssh.SSHD).exists() or not (FRR_DAEMONS / "bgpd").exists():
        pytest.fail("sshd or FRR not found: install openssh-server frr", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the switch SSH tests need root (CI runs as root)", pytrace=False)
    d, routing, name = mini_switch("debian")
    address = str(d.addressing.loopbacks[name])
    pids: list[int] = []
    sshd = None
    os.environ[PASSWORD_ENV] = os.urandom(12).hex()
    with switch_namespace("ss", address) as space:
        ns, state, lab = space.ns, space.frr, space.lab
        try:
            pids = _start_frr(ns, state)
            (lab / "ssh/authorized_keys").write_text(keygen(lab / "ssh/id_ed25519", "t") + "\n")
            hashed = switchssh.password_hash(os.environ[PASSWORD_ENV])
            pub = switchssh.write_files(lab / "sw", lab, name, address, "admin", hashed)
            (lab / "ssh/known_hosts").write_text(f"{address} {' '.join(pub.split()[:2])}\n")
            sshd = switchssh.start(ns, lab / "sw")
            spec = {
                "kind": "ssh", "host": address, "username": "admin",
                "credential": {"env": PASSWORD_ENV}, "known_hosts": str(lab / "ssh/known_hosts"),
                "proxy_command": proxy_command(ns),
            }  # fmt: skip
            r = routing[name]
            yield Switch(name, ns, state, address, render_frr(r), r.asn, spec)
        finally:
            stop_switch(pids, sshd)
            os.environ.pop(PASSWORD_ENV, None)


def test_apply_over_ssh_shows_the_diff_and_a_second_push_changes_nothing(sw: Switch) -> None:
    frr = sw.frr()
    try:
        assert f"router bgp {sw.asn}" not in frr.running()
        done = frr.apply(sw.config)
        assert done.changed and f"+ router bgp {sw.asn}" in done.delta
        assert "+  neighbor FABRIC peer-group" in done.delta
        assert "hostname start" in done.before  # what ran before, for a diff
        assert f"router bgp {sw.asn}" in sw.vtysh("show running-config")
        again = frr.apply(sw.config)
        assert not again.changed and again.delta == []
    finally:
        frr.t.close()


def test_the_provider_over_ssh(sw: Switch) -> None:
    p = SwitchConfigProvider()
    transport = {**sw.spec, "vty": str(sw.vty)}  # the lab's FRR: its vty socket directory
    props = {"switch": sw.name, "config": sw.config, "transport": transport, "os": "frr"}
    outs = p.create(dict(props)).outs
    assert outs["drift"] == [] and outs["applied"] == []  # the previous test configured it
    sw.vtysh(f"configure terminal\nrouter bgp {sw.asn}\nneighbor swp29 description by-hand")
    read = p.read(sw.name, outs).outs
    assert read is not None and any("by-hand" in x for x in read["drift"])
    again = p.update(sw.name, read, dict(props)).outs
    assert again is not None and any("by-hand" in x for x in again["applied"])
    assert "by-hand" not in sw.vtysh("show running-config")


def test_a_file_vtysh_cannot_parse_is_refused_with_its_line(sw: Switch) -> None:
    frr = sw.frr()
    frr.apply(sw.config)
    before = sw.vtysh("show running-config")
    bad = sw.config.replace(" neighbor swp29 interface", " neighbour swp29 interface")
    line = bad.splitlines().index(next(x for x in bad.splitlines() if "neighbour" in x)) + 1
    with pytest.raises(driver.Refused, match=rf"nothing changed: line {line}: % Unknown command"):
        frr.apply(bad)
    assert sw.vtysh("show running-config") == before
    frr.t.close()


def test_a_command_the_daemon_refuses_puts_the_previous_configuration_back(sw: Switch) -> None:
    frr = sw.frr()
    frr.apply(sw.config)
    before = sw.vtysh("show running-config")
    anchor = " neighbor swp29 interface peer-group FABRIC\n"
    assert anchor in sw.config
    bad = sw.config.replace(anchor, anchor + " neighbor swp99 interface peer-group NOPE\n")
    line = bad.splitlines().index(" neighbor swp99 interface peer-group NOPE") + 1
    with pytest.raises(driver.Refused) as e:
        frr.apply(bad)
    assert f"line {line}: neighbor swp99 interface peer-group NOPE" in str(e.value)
    assert "% Configure the peer-group first" in str(e.value)
    assert "the previous configuration runs again" in str(e.value)
    assert sw.vtysh("show running-config") == before
    frr.t.close()


def test_a_configuration_that_does_not_hold_is_rolled_back(sw: Switch) -> None:
    """bfdd is off (Debian ships bfdd=no): vtysh takes the bfd section, nothing keeps it."""
    frr = sw.frr()
    frr.apply(sw.config)
    before = sw.vtysh("show running-config")
    with pytest.raises(driver.Mismatch, match=r"differs from the rendered one .*\+ bfd") as e:
        frr.apply(sw.config + "bfd\n peer 10.255.9.9\n exit\n!\n")
    assert "the previous configuration runs again" in str(e.value)
    assert sw.vtysh("show running-config") == before
    frr.t.close()


def test_the_daemons_file_gets_what_the_configuration_uses(sw: Switch, tmp_path: Path) -> None:
    """Debian ships bgpd=no and bfdd=no; the rendered configuration peers with BFD."""
    assert " neighbor FABRIC bfd\n" in sw.config
    daemons = tmp_path / "daemons"
    shutil.copy(DEBIAN_DAEMONS, daemons)
    frr = sw.frr()
    assert frr.ensure_daemons(str(daemons), sw.config) == ["bgpd", "bfdd"]
    text = daemons.read_text()
    assert "\nbgpd=yes\n" in text and "\nbfdd=yes\n" in text and "\nospfd=no\n" in text
    assert len(text.splitlines()) == len(DEBIAN_DAEMONS.read_text().splitlines())
    assert frr.ensure_daemons(str(daemons), sw.config) == []  # a second run changes nothing
    shutil.copy(DEBIAN_DAEMONS, daemons)
    no_bfd = sw.config.replace(" neighbor FABRIC bfd\n", "")
    assert frr.ensure_daemons(str(daemons), no_bfd) == ["bgpd"]
    assert "\nbfdd=no\n" in daemons.read_text()
    frr.t.close()


def test_unknown_host_key_and_wrong_password_are_refused(sw: Switch, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(driver.SwitchError, match="not found in known_hosts"):
        sw.frr(known_hosts=str(empty)).running()
    wrong = "not-" + os.environ[PASSWORD_ENV]
    os.environ["WANKA_TEST_WRONG"] = wrong
    try:
        with pytest.raises(driver.SwitchError, match=r"authentication failed \(password\)") as e:
            sw.frr(credential={"env": "WANKA_TEST_WRONG"}).running()
        assert wrong not in str(e.value) and os.environ[PASSWORD_ENV] not in str(e.value)
        with pytest.raises(ProviderError, match="authentication failed") as e2:
            SwitchConfigProvider().read(
                sw.name,
                {"switch": sw.name, "config": sw.config,
                 "transport": {**sw.spec, "credential": {"env": "WANKA_TEST_WRONG"},
                               "vty": str(sw.vty)}},
            )  # fmt: skip
        assert wrong not in str(e2.value)
    finally:
        os.environ.pop("WANKA_TEST_WRONG", None)


def test_the_fabric_role_with_its_real_defaults(sw: Switch, tmp_path: Path) -> None:
    """playbooks/fabric.yml run by ansible-playbook as against a real switch: the role's own
    SSH transport (ansible_host, credentials.switch's `{env: NAME}` password reference, the
    known hosts file, a ProxyCommand as to a bastion), FRR's daemons file, the kept copy."""
    render = tmp_path / "render"
    (render / "fabric" / sw.name).mkdir(parents=True)
    anchor = " neighbor FABRIC peer-group\n"
    changed = sw.config.replace(anchor, anchor + " neighbor FABRIC description by-ansible\n")
    (render / "fabric" / sw.name / "frr.conf").write_text(changed, encoding="utf-8")
    shutil.copy(DEBIAN_DAEMONS, tmp_path / "daemons")
    host = {
        "ansible_host": sw.address,
        "wanka_expect": {"routed": True},
        "wanka_render_dir": str(render),
        "wanka_frr_vty_socket": str(sw.vty),
        "wanka_frr_conf": str(tmp_path / "frr.conf"),
        "wanka_frr_daemons": str(tmp_path / "daemons"),
        "wanka_frr_restart": [],
        "fabric_known_hosts": sw.spec["known_hosts"],
        "fabric_proxy_command": sw.spec["proxy_command"],
        "wanka_credentials": {"switch": {"username": "admin", "password": {"env": PASSWORD_ENV}}},
    }
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"switches": {"hosts": {sw.name: host}}}), encoding="utf-8")
    env = {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_LIBRARY": str(ROOT / "playbooks/library"),
        "ANSIBLE_MODULE_UTILS": str(ROOT / "playbooks/module_utils"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
    }
    playbook = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                str(ROOT / "playbooks/fabric.yml")]  # fmt: skip

    def run() -> str:
        r = subprocess.run(playbook, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
        assert os.environ[PASSWORD_ENV] not in r.stdout + r.stderr
        return r.stdout

    out = run()
    assert "changed=1" in out and "description by-ansible" in out  # the diff, printed
    assert "by-ansible" in sw.vtysh("show running-config")
    assert (tmp_path / "frr.conf").read_text() == changed  # kept once checked
    assert "\nbgpd=yes\n" in (tmp_path / "daemons").read_text()
    assert "changed=0" in run()
