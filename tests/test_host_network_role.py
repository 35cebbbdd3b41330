"""roles/host_network run by ansible-playbook against a network namespace of this machine
whose ports are veth ends named as the model names them.

What runs for real: reading nodes/<host>/network.json, the check that every port is on the
host before anything changes (the namespace's /sys/class/net), installing the rendered files
with their owner and mode, removing a profile the model no longer has, and a second run
that changes nothing. What cannot run here: bringing the bonds up (this machine's kernel has
no bonding driver, and no NetworkManager or networkd daemon runs), so the runs set
`host_network_activate: false` (files for the next boot: no reload, apply or check).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LAB, ROOT
from test_derive import derived

from wanka.outdir import write_tree
from wanka.render.files import files

HOST = "lab-p1-pod01-r01-s01"
UBUNTU = LAB.replace(
    'os: {name: openEuler, version: "22.03 LTS SP4"}', 'os: {name: Ubuntu, version: "22.04 LTS"}'
)


@pytest.fixture
def netns() -> Iterator[str]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("needs root and iproute2 (CI runs as root)", pytrace=False)
    name = f"wk-hn-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def add_ports(ns: str, *names: str) -> None:
    for port in names:
        cmd = ["ip", "-n", ns, "link", "add", port, "type", "veth", "peer", "name", f"x-{port}"]
        subprocess.run(cmd, check=True)  # a veth end: the kernel has no dummy driver either


def render(text: str, out: Path) -> None:
    write_tree(files(derived(text)), out)


def play(tmp_path: Path, ns: str, target: dict[str, str]) -> subprocess.CompletedProcess[str]:
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "wanka_render_dir": str(tmp_path / "render"),
        "host_network_activate": False,
        **target,
    }
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"servers": {"hosts": {HOST: host}}}), encoding="utf-8")
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: servers\n  gather_facts: false\n  roles: [host_network]\n", encoding="utf-8"
    )
    env = {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
    }
    ansible = str(Path(sys.executable).parent / "ansible-playbook")
    cmd = ["ip", "netns", "exec", ns, ansible, "-i", str(inventory), str(playbook)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_networkmanager_profiles_are_installed_and_kept_to_the_model(
    tmp_path: Path, netns: str
) -> None:
    render(LAB, tmp_path / "render")
    add_ports(netns, "mgmt0", "mgmt1")
    nm = tmp_path / "system-connections"
    nm.mkdir()
    (nm / "wanka-bond-old.nmconnection").write_text("[connection]\nid=bond-old\n")
    (nm / "Wired connection 1.nmconnection").write_text("[connection]\nid=installer\n")
    r = play(tmp_path, netns, {"host_network_nm_dir": str(nm)})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "changed=2" in r.stdout  # the copy (three profiles) and the removal (one)
    rendered = tmp_path / "render/nodes" / HOST / "NetworkManager"
    names = sorted(p.name for p in rendered.iterdir())
    assert sorted(p.name for p in nm.iterdir()) == sorted(
        [*names, "Wired connection 1.nmconnection"]
    )
    for name in names:
        assert (nm / name).read_bytes() == (rendered / name).read_bytes()
        assert (nm / name).stat().st_mode & 0o777 == 0o600
    again = play(tmp_path, netns, {"host_network_nm_dir": str(nm)})
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]


def test_a_missing_port_stops_the_role_before_anything_changes(tmp_path: Path, netns: str) -> None:
    render(LAB, tmp_path / "render")
    add_ports(netns, "mgmt0")
    nm = tmp_path / "system-connections"
    nm.mkdir()
    r = play(tmp_path, netns, {"host_network_nm_dir": str(nm)})
    assert r.returncode != 0
    assert "port mgmt1 is not on this host" in r.stdout
    assert not any(nm.iterdir())


def test_netplan_file_is_installed(tmp_path: Path, netns: str) -> None:
    render(UBUNTU, tmp_path / "render")
    add_ports(netns, "mgmt0", "mgmt1")
    target = tmp_path / "netplan/90-wanka.yaml"
    target.parent.mkdir()
    r = play(tmp_path, netns, {"host_network_netplan_file": str(target)})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert (
        target.read_bytes()
        == (tmp_path / "render/nodes" / HOST / "netplan/90-wanka.yaml").read_bytes()
    )
    assert target.stat().st_mode & 0o777 == 0o600
    assert "changed=1" in r.stdout
