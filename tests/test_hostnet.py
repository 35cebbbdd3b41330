"""A host's network files, checked by the real tools of the OS families they are for.

NetworkManager (openEuler, Kylin): `nmcli --offline connection modify` (NetworkManager 1.42,
Debian 12's network-manager) reads a keyfile from stdin with NetworkManager's own keyfile
parser, verifies the connection as the daemon would, and writes it back; a keyfile whose
every setting comes back as rendered is one NetworkManager takes as meant (it drops what it
does not know, and refuses what it cannot take). No daemon runs: nothing on this machine is
configured.

netplan (Ubuntu): `netplan generate --root-dir DIR` (Debian 12's netplan.io 0.106) refuses bad
YAML and turns good YAML into systemd-networkd units under DIR/run, which the tests read: the
bond's mode and options, the primary port, VLAN ids, addresses, routes and MTU as networkd
will apply them.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import LAB, ROOT
from test_derive import derived

from wanka.derive.bundle import Derived
from wanka.model.software import os_family
from wanka.pipeline import check
from wanka.render import hostnet
from wanka.render.files import files
from wanka.render.inventory import node_network

STORAGE = (ROOT / "tests/examples/positive/lab-storage.yaml").read_text(encoding="utf-8")
OPENEULER = 'os: {name: openEuler, version: "22.03 LTS SP4"}'
UBUNTU = 'os: {name: Ubuntu, version: "22.04 LTS"}'
BONDED = "        bonded: true\n"
MACS = "lab-p1-pod01-r02-s02"  # the lab's node whose manifest entry gives its ports' MACs


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` not found: install Debian's {package} (make deps)", pytrace=False)
    return path


def ini(text: str) -> dict[str, dict[str, str]]:
    p = configparser.ConfigParser(interpolation=None, strict=True)
    p.optionxform = str  # type: ignore[assignment,method-assign]
    p.read_string(text)
    return {s: dict(p[s]) for s in p.sections()}


def nm_read_back(text: str) -> subprocess.CompletedProcess[str]:
    """NetworkManager's keyfile parser and writer: read the keyfile, set a setting to the value
    it has (autoconnect is on by default), write the connection back."""
    nmcli = tool("nmcli", "network-manager")
    return subprocess.run(
        [nmcli, "--offline", "connection", "modify", "connection.autoconnect", "yes"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
    )


def keyfiles(d: Derived) -> dict[str, str]:
    out = {}
    for node in d.cluster.nodes:
        for name, text in hostnet.keyfiles(node_network(d, node)).items():
            out[f"{node.name}/{name}"] = text
    return out


VARIANTS = {
    "active-backup": LAB,
    "802.3ad": LAB.replace(BONDED, BONDED + "        bond_mode: 802.3ad\n"),
    "unbonded": LAB.replace(BONDED, "        bonded: false\n"),
    "vlan-routed": STORAGE,
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_networkmanager_reads_every_keyfile_back_as_rendered(variant: str) -> None:
    rendered = keyfiles(derived(VARIANTS[variant]))
    assert rendered
    for path, text in rendered.items():
        res = nm_read_back(text)
        assert res.returncode == 0, (path, res.stderr)
        ours, theirs = ini(text), ini(res.stdout)
        for section, keys in ours.items():
            for key, value in keys.items():
                assert theirs.get(section, {}).get(key) == value, (path, section, key, value)


def test_keyfiles_say_what_the_model_says() -> None:
    d = derived(STORAGE)
    node = d.cluster.nodes[0]
    files_ = {k.split("/", 1)[1]: ini(v) for k, v in keyfiles(d).items() if k.startswith(node.name)}
    assert sorted(files_) == sorted(
        f"wanka-{n}.nmconnection"
        for n in ("bond-mgmt", "bond-storage", "bond-storage.80", "mgmt0", "mgmt1")
        + ("storage0", "storage1")
    )
    bond = files_["wanka-bond-storage.nmconnection"]
    assert bond["bond"] == {
        "miimon": "100",
        "mode": "active-backup",
        "num_grat_arp": "1",
        "primary": "storage0",
    }
    assert bond["ipv4"] == {"method": "disabled"}  # the address is on the VLAN
    assert bond["ethernet"]["mtu"] == "9000"
    vlan = files_["wanka-bond-storage.80.nmconnection"]
    assert vlan["vlan"] == {"flags": "1", "id": "80", "parent": "bond-storage"}
    sub = d.addressing.subnet_of("storage", node.pod.name)
    ip = d.addressing.bonds[(node.name, "storage")]
    assert vlan["ipv4"]["address1"] == f"{ip}/{sub.network.prefixlen}"  # no default route
    assert vlan["ipv4"]["route1"] == f"10.80.0.0/20,{sub.gateway}"  # the routed plane
    mgmt = files_["wanka-bond-mgmt.nmconnection"]["ipv4"]
    assert mgmt["address1"].endswith(
        "," + str(d.addressing.subnet_of("mgmt", node.pod.name).gateway)
    )
    assert "route1" not in mgmt  # a 1-tier plane: its subnet is all there is
    port = files_["wanka-storage1.nmconnection"]["connection"]
    assert (port["master"], port["slave-type"]) == ("bond-storage", "bond")


def test_ports_are_matched_by_the_manifests_macs() -> None:
    d = derived(LAB)
    node = d.cluster.node(MACS)
    rendered = hostnet.keyfiles(node_network(d, node))
    assert ini(rendered["wanka-mgmt1.nmconnection"])["ethernet"]["mac-address"] == (
        "02:00:00:12:02:02"
    )
    other = hostnet.keyfiles(node_network(d, d.cluster.nodes[0]))
    assert "mac-address" not in ini(other["wanka-mgmt1.nmconnection"])["ethernet"]


def test_networkmanager_refuses_a_bond_it_cannot_make() -> None:
    """The check can fail: a mode the kernel has no such name for, and a primary port on a
    mode without one, are refused."""
    d = derived(LAB)
    text = hostnet.keyfiles(node_network(d, d.cluster.nodes[0]))["wanka-bond-mgmt.nmconnection"]
    assert nm_read_back(text).returncode == 0
    res = nm_read_back(text.replace("mode=active-backup", "mode=active-standby"))
    assert res.returncode != 0
    res = nm_read_back(text.replace("mode=active-backup", "mode=802.3ad"))
    assert res.returncode != 0 and "primary" in res.stderr


def netplan_generate(text: str, root: Path) -> subprocess.CompletedProcess[str]:
    netplan = tool("netplan", "netplan.io")
    conf = root / "etc/netplan/90-wanka.yaml"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(text, encoding="utf-8")
    conf.chmod(0o600)  # netplan warns about a file others can read
    return subprocess.run(
        [netplan, "generate", "--root-dir", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def units(root: Path) -> dict[str, dict[str, list[str]]]:
    """systemd-networkd's units netplan wrote: file -> section -> ['Key=value', ...]."""
    out: dict[str, dict[str, list[str]]] = {}
    for path in sorted((root / "run/systemd/network").glob("*")):
        sections: dict[str, list[str]] = {}
        current: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("["):
                current = sections.setdefault(line.strip("[]"), [])
            elif line.strip():
                current.append(line)
        out[path.name] = sections
    return out


def test_netplan_turns_a_host_into_networkd_bonds_vlans_and_routes(tmp_path: Path) -> None:
    d = derived(STORAGE.replace(OPENEULER, UBUNTU))
    node = d.cluster.nodes[0]
    net = node_network(d, node)
    assert (net["os_family"], net["tool"]) == ("ubuntu", "netplan")
    res = netplan_generate(hostnet.netplan(net), tmp_path)
    assert res.returncode == 0, res.stderr
    u = units(tmp_path)
    bond = u["10-netplan-bond-storage.netdev"]
    assert "Kind=bond" in bond["NetDev"] and "MTUBytes=9000" in bond["NetDev"]
    assert sorted(bond["Bond"]) == ["GratuitousARP=1", "MIIMonitorSec=100ms", "Mode=active-backup"]
    assert "PrimarySlave=true" in u["10-netplan-storage0.network"]["Network"]
    assert "Bond=bond-storage" in u["10-netplan-storage1.network"]["Network"]
    assert "PrimarySlave=true" not in u["10-netplan-storage1.network"]["Network"]
    assert "VLAN=bond-storage.80" in u["10-netplan-bond-storage.network"]["Network"]
    assert u["10-netplan-bond-storage.80.netdev"]["VLAN"] == ["Id=80"]
    vlan = u["10-netplan-bond-storage.80.network"]
    sub = d.addressing.subnet_of("storage", node.pod.name)
    ip = d.addressing.bonds[(node.name, "storage")]
    assert f"Address={ip}/{sub.network.prefixlen}" in vlan["Network"]
    assert sorted(vlan["Route"]) == sorted(
        ["Destination=10.80.0.0/20", f"Gateway={sub.gateway}", "Metric=100"]
    )
    mgmt = u["10-netplan-bond-mgmt.network"]
    gw = d.addressing.subnet_of("mgmt", node.pod.name).gateway
    assert sorted(mgmt["Route"]) == sorted(["Destination=0.0.0.0/0", f"Gateway={gw}", "Metric=100"])
    assert "MTUBytes=1500" in mgmt["Link"]


def test_netplan_takes_lacp_and_renames_ports_by_mac(tmp_path: Path) -> None:
    text = VARIANTS["802.3ad"].replace(OPENEULER, UBUNTU)
    d = derived(text)
    res = netplan_generate(hostnet.netplan(node_network(d, d.cluster.node(MACS))), tmp_path)
    assert res.returncode == 0, res.stderr
    u = units(tmp_path)
    assert sorted(u["10-netplan-bond-mgmt.netdev"]["Bond"]) == [
        "LACPTransmitRate=fast",
        "MIIMonitorSec=100ms",
        "Mode=802.3ad",
        "TransmitHashPolicy=layer3+4",
    ]
    link = u["10-netplan-mgmt1.link"]
    assert link["Match"] == ["PermanentMACAddress=02:00:00:12:02:02"]
    assert "Name=mgmt1" in link["Link"]


def test_netplan_refuses_what_it_cannot_take(tmp_path: Path) -> None:
    d = derived(LAB.replace(OPENEULER, UBUNTU))
    text = hostnet.netplan(node_network(d, d.cluster.nodes[0]))
    assert netplan_generate(text, tmp_path / "good").returncode == 0
    res = netplan_generate(text.replace("active-backup", "active-standby"), tmp_path / "bad")
    assert res.returncode != 0 and "active-standby" in res.stderr
    doc = yaml.safe_load(text)
    doc["network"]["bonds"]["bond-mgmt"]["interfaces"] = ["mgmt7"]  # no such port
    res = netplan_generate(yaml.safe_dump(doc), tmp_path / "bad2")
    assert res.returncode != 0 and "mgmt7" in res.stderr


def test_render_writes_the_files_of_the_hosts_os_family() -> None:
    def tree(text: str) -> set[str]:
        return {p for p, _ in files(derived(text)) if p.startswith("nodes/lab-p1-pod01-r01-s01/")}

    base = "nodes/lab-p1-pod01-r01-s01/"
    assert tree(LAB) == {base + p for p in ("network.json", "hccn.conf")} | {
        f"{base}NetworkManager/wanka-{n}.nmconnection" for n in ("bond-mgmt", "mgmt0", "mgmt1")
    }
    assert tree(LAB.replace(OPENEULER, UBUNTU)) == {
        base + p for p in ("network.json", "hccn.conf", "netplan/90-wanka.yaml")
    }
    assert tree(LAB.replace(OPENEULER, 'os: {name: UOS, version: "20", family: dnf}')) == {
        base + p for p in ("network.json", "hccn.conf")
    }


@pytest.mark.parametrize(
    ("name", "fam", "tool_"),
    [
        ("openEuler", "openeuler", "networkmanager"),
        ("Kylin", "kylin", "networkmanager"),
        ("Kylin Linux Advanced Server", "kylin", "networkmanager"),
        ("Ubuntu", "ubuntu", "netplan"),
        ("UOS", None, None),
        (None, None, None),
    ],
)
def test_os_family_picks_the_network_tool(name: str | None, fam: str | None, tool_: str) -> None:
    assert os_family(name) == fam
    assert (hostnet.NETWORK_TOOL.get(fam) if fam else None) == tool_


def test_a_vlan_interface_name_too_long_for_linux_is_refused(tmp_path: Path) -> None:
    """`bond-storage.4000` has 17 characters: NAME-IFNAME, before any file is written."""
    path = tmp_path / "c.yaml"
    path.write_text(STORAGE.replace("vlan: 80", "vlan: 4000"), encoding="utf-8")
    errors = check(str(path)).errors
    assert [f.rule for f in errors] == ["NAME-IFNAME"]
    assert "('bond-storage.4000' has 17)" in errors[0].message
    assert errors[0].hint == "a plane name of at most 5 characters"  # bond-XXXXX.4000
    path.write_text(STORAGE.replace("vlan: 80", "vlan: 99"), encoding="utf-8")
    assert not check(str(path)).errors  # bond-storage.99: 15
