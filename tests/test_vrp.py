"""Huawei CloudEngine (VRP) switches: the rendered vrp.cfg against the CE6800 V300 manuals'
configuration scripts and command reference, numbered links, and the parsers of what a
CloudEngine prints against captured outputs (tests/captures/vrp/, each with its `# source:`).
"""

from __future__ import annotations

import re
from functools import cache
from ipaddress import IPv4Interface
from pathlib import Path

import pytest
from conftest import ROOT

from wanka.derive.routing import SwitchRouting, switch_routing
from wanka.drivers import vrp_parse
from wanka.pipeline import check, derive
from wanka.render import vrp

CAPTURES = ROOT / "tests/captures/vrp"
VRP_FABRIC = ROOT / "tests/examples/positive/vrp-fabric.yaml"
SHENZHEN = ROOT / "examples/shenzhen-14000p/cluster.yaml"


@cache
def routing(path: Path = VRP_FABRIC) -> dict[str, SwitchRouting]:
    return switch_routing(derive(check(str(path))))


@cache
def rendered(path: Path = VRP_FABRIC) -> dict[str, str]:
    d = derive(check(str(path)))
    out = {}
    for name, r in switch_routing(d).items():
        if r.os == "vrp":
            sw = next(s for s in d.cluster.switches if s.name == name)
            out[name] = vrp.render_vrp(r, sw.model.max_frame)
    return out


def capture(name: str) -> str:
    text = (CAPTURES / name).read_text()
    assert text.startswith("# source: "), name
    return text.split("\n", 1)[1]


# ---- structure against the manuals --------------------------------------------------------

_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_IFNAME = re.compile(r"^\d*GE\d+(/\d+)+(:\d+)?$")
_NAMED = {"sysname", "domain", "upstream", "drop-profile", "wred", "ip-prefix", "phb"}


def shape(line: str) -> str:
    """A command with its values abstracted: `peer 10.1.1.2 as-number 300` ->
    `peer <ip> as-number <n>`."""
    out: list[str] = []
    words = line.split("//")[0].split()
    for i, w in enumerate(words):
        if i and words[i - 1] in _NAMED:
            out.append("<name>")
        elif _IPV4.match(w):
            out.append("<ip>")
        elif _IFNAME.match(w):
            out.append("<if>")
        elif re.fullmatch(r"\d+\*\d+GE", w):
            out.append("<split>")
        elif w.isdigit():
            out.append("<n>")
        elif re.fullmatch(r"Vlanif\d+", w):
            out.append("Vlanif<n>")
        elif re.fullmatch(r"(?i)loopback\d+", w):
            out.append("LoopBack<n>")
        else:
            out.append(w)
    return " ".join(out)


def paths(tree: vrp_parse.View, above: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every command of a configuration as the shapes of its views, from the system view."""
    out = set()
    for c in tree.children:
        here = (*above, shape(c.line))
        out.add(here)
        out |= paths(c, here)
    return out


@cache
def manual_paths() -> set[tuple[str, ...]]:
    """The command paths of every configuration script of the manuals' examples."""
    text = capture("manual_config_scripts.txt")
    out: set[tuple[str, ...]] = set()
    for script in re.split(r"^==== script: .*$", text, flags=re.M)[1:]:
        out |= paths(vrp_parse.config(script.replace("\r", "")))
    return out


# Commands the example scripts do not show, each with the capture whose text shows its syntax
# in that view: a command reference page or another example (cmdref_excerpts.txt, lines of the
# manuals with their file and line), or a real dump.
CMDREF = {
    ("port split dimension interface <if> split-type <split>",): (
        "ce6800v300_cmdref_interfaces_split_mtu_portswitch.txt",
        "port split dimension interface 100GE 1/0/1 split-type 4*25GE",
    ),
    ("vlan batch <n>",): ("display_current_configuration_ce6880_partial.txt", "vlan batch 2 to"),
    ("interface Vlanif<n>",): (
        "display_current_configuration_ce6880_partial.txt",
        "interface Vlanif3892",
    ),
    ("interface Vlanif<n>", "ip address <ip> <ip>"): (
        "display_current_configuration_ce6880_partial.txt",
        "interface Vlanif3892\n ip address 172.16.183.218 255.255.255.252",
    ),
    ("interface Vlanif<n>", "mtu <n>"): (
        "ce6800v300_cmdref_interfaces_split_mtu_portswitch.txt",
        "VBDIF interface view,VLANIF interface view",
    ),
    ("interface <if>", "mtu <n>"): (
        "ce6800v300_cmdref_interfaces_split_mtu_portswitch.txt",
        "100GE interface view,10GE interface view,200GE interface view,25GE interface view,"
        "400GE interface view",
    ),
    ("interface <if>", "jumboframe enable <n>"): (
        "ce6800v300_cmdref_interfaces_split_mtu_portswitch.txt",
        "[~HUAWEI-100GE1/0/1] jumboframe enable 5000",
    ),
    ("interface <if>", "port link-type trunk"): (
        "display_current_configuration_ce6880_partial.txt",
        " port link-type trunk",
    ),
    ("interface <if>", "port trunk allow-pass vlan <n>"): (
        "display_current_configuration_ce6880_partial.txt",
        " port trunk allow-pass vlan 345 to 348",
    ),
    ("dcb pfc", "priority <n> deadlock-detect time <n>"): (
        "ce6800v300_cmdref_dcb_pfc_ecn_trust.txt",
        "**priority** *priority* **deadlock-detect** **time** *time*",
    ),
    ("dcb pfc", "priority <n> deadlock-recovery time <n>"): (
        "ce6800v300_cmdref_dcb_pfc_ecn_trust.txt",
        "**priority** *priority* **deadlock-recovery** **time** *time*",
    ),
    ("interface LoopBack<n>",): (
        "ce6800v300_basic_bgp_example.txt",
        "[*DeviceA] interface loopback0",
    ),
    ("interface LoopBack<n>", "ip address <ip> <ip>"): (
        "ce6800v300_basic_bgp_example.txt",
        "[*DeviceA-loopback0] ip address 1.1.1.1 32",
    ),
    ("bgp <n>", "ipv4-family unicast", "network <ip> <ip>"): (
        "ce6800v300_cmdref_bgp_bfd_lldp.txt",
        "[*HUAWEI-bgp] network 10.0.0.0 255.255.0.0",
    ),
    ("bgp <n>", "ipv4-family unicast", "maximum load-balancing ebgp <n>"): (
        "ce6800v300_cmdref_bgp_bfd_lldp.txt",
        "**maximum load-balancing ebgp** *ebgpNumber*",
    ),
    ("bgp <n>", "ipv4-family unicast", "peer <ip> ip-prefix <name> import"): (
        "cmdref_ip_prefix.txt",
        "**peer** *group-name* **ip-prefix** *ip-prefix-name* **import**",
    ),
    ("bgp <n>", "ipv4-family unicast", "peer <ip> ip-prefix <name> export"): (
        "cmdref_ip_prefix.txt",
        "{ *group-name* | *ipv4-address* } **ip-prefix** *ip-prefix-name* **export**",
    ),
    ("ip ip-prefix <name> index <n> permit <ip> <n> less-equal <n>",): (
        "cmdref_ip_prefix.txt",
        "ip ip-prefix p3 index 20 permit 0.0.0.0 0 less-equal 32",
    ),
    ("ip ip-prefix <name> index <n> permit <ip> <n> greater-equal <n>",): (
        "cmdref_ip_prefix.txt",
        "[ **greater-equal** *greater-equal-value* ]",
    ),
    ("ip ip-prefix <name> index <n> permit <ip> <n>",): (
        "cmdref_ip_prefix.txt",
        "**ip ip-prefix** *ip-prefix-name* [ **index** *index-number* ] *matchMode* "
        "*ipv4-address* *masklen*",
    ),
}


@pytest.mark.parametrize("path", [VRP_FABRIC, SHENZHEN], ids=["vrp-fabric", "shenzhen"])
def test_every_rendered_command_is_a_manual_scripts_or_a_referenced_one(path: Path) -> None:
    """Every command of every rendered vrp.cfg, in its view, is one the manuals' configuration
    scripts write in that view (values abstracted), or one of CMDREF's."""
    manual = manual_paths()
    assert ("bgp <n>", "ipv4-family unicast", "peer <ip> enable") in manual  # the parse works
    seen: set[tuple[str, ...]] = set()
    shapes: dict[tuple[str, ...], str] = {}
    for name, text in rendered(path).items():
        for p in paths(vrp_parse.config(text)):
            seen.add(p)
            shapes.setdefault(p, name)
    for p, name in shapes.items():
        assert p in manual or p in CMDREF, f"{name}: {' > '.join(p)} has no reference"
    # the scripts back the bulk of it: the BGP, BFD, PFC, trust, ECN and LLDP lines
    for p in [
        ("sysname <name>",),
        ("interface <if>", "undo portswitch"),
        ("interface <if>", "ip address <ip> <ip>"),
        ("bgp <n>", "router-id <ip>"),
        ("bgp <n>", "peer <ip> as-number <n>"),
        ("bgp <n>", "peer <ip> bfd enable"),
        ("bfd",),
        ("dcb pfc", "priority <n>"),
        ("diffserv domain <name>", "ip-dscp-inbound <n> phb <name> green"),
        ("interface <if>", "trust dscp"),
        ("interface <if>", "trust upstream <name>"),
        ("interface <if>", "dcb pfc enable mode manual"),
        ("drop-profile <name>", "ecn low-limit <n> high-limit <n> discard-percentage <n>"),
        ("interface <if>", "qos queue <n> wred <name>"),
        ("interface <if>", "qos queue <n> ecn"),
        ("interface <if>", "port default vlan <n>"),
        ("lldp enable",),
    ]:
        assert p in seen and p in manual, p


def test_the_referenced_commands_are_in_their_captures() -> None:
    for p, (name, text) in CMDREF.items():
        source = name if (CAPTURES / name).exists() else "cmdref_excerpts.txt"
        assert text in capture(source), (p, name)


def test_the_file_is_what_load_configuration_takes() -> None:
    """No `return`, `quit` or `commit`; `#` alone at the left between system-view blocks and
    aligned inside a view; every view indented one space per level (vrp_parse.config raises
    otherwise); the file re-prints itself from its tree."""
    for text in rendered().values():
        assert not re.search(r"^\s*(return|quit|commit)\s*$", text, re.M)
        tree = vrp_parse.config(text)
        body = [ln for ln in text.splitlines() if ln.strip() != "#"]
        assert tree.lines() == body


def test_the_parser_refuses_what_load_configuration_refuses() -> None:
    with pytest.raises(vrp_parse.ConfigError, match="indented 2"):
        vrp_parse.config("bgp 1\n  router-id 1.1.1.1\n")
    with pytest.raises(vrp_parse.ConfigError, match="'commit'"):
        vrp_parse.config("sysname a\ncommit\n")
    with pytest.raises(vrp_parse.ConfigError, match="'#' indented 1, but the block after it 0"):
        vrp_parse.config("sysname a\n #\nbfd\n")


# ---- what is rendered ---------------------------------------------------------------------


def test_links_are_numbered_per_cable_and_both_ends_agree() -> None:
    r = routing()
    ends = {}
    for sw in r.values():
        for n in sw.interfaces:
            assert n["address"] is not None, (sw.hostname, n["ifname"])
            ends[(sw.hostname, n["ifname"])] = (n["address"], n["peer_address"])
    for sw in r.values():
        for n in sw.interfaces:
            mine, peer = ends[(sw.hostname, n["ifname"])]
            theirs, back = ends[(n["peer"], n["peer_ifname"])]
            assert IPv4Interface(mine).network == IPv4Interface(theirs).network
            assert peer == str(IPv4Interface(theirs).ip) and back == str(IPv4Interface(mine).ip)
            # the spine takes the even address of the /31
            upper = mine if sw.tier == "spine" else theirs
            assert int(IPv4Interface(upper).ip) % 2 == 0


def test_a_leaf_config_says_what_its_routing_says() -> None:
    r = routing()
    leaf = next(s for s in r.values() if s.tier == "leaf")
    text = rendered()[leaf.hostname]
    tree = vrp_parse.config(text)
    assert [c.line for c in tree.find("sysname")] == [f"sysname {leaf.hostname}"]
    (bgp,) = tree.find("bgp")
    assert bgp.line == f"bgp {leaf.asn}"
    peers = {
        c.line.split()[1]: c.line.split()[3] for c in bgp.find("peer") if "as-number" in c.line
    }
    assert peers == {n["peer_address"]: str(n["peer_asn"]) for n in leaf.interfaces}
    (af,) = bgp.find("ipv4-family unicast")
    assert af.find("maximum load-balancing ebgp")[0].line.endswith(f" {leaf.maximum_paths}")
    # a leaf announces only its own: an export filter on every peer
    assert len([c for c in af.children if c.line.endswith(" export")]) == len(leaf.interfaces)
    # node-facing ports split as the cabling breaks them out, in the gateway's VLAN
    splits = [c.line for c in tree.find("port split dimension interface")]
    assert splits and all(s.endswith("split-type 2*200GE") for s in splits)
    member = leaf.gateways[0]["members"][0]
    assert re.fullmatch(r"400GE1/0/\d+:[12]", member)
    (port,) = tree.find(f"interface {member}")
    assert "port default vlan 1000" in [c.line for c in port.children]
    assert "dcb pfc enable mode manual" in [c.line for c in port.children]
    # the plane's DSCP 33 to PFC priority 4's PHB
    (ds,) = tree.find("diffserv domain wanka")
    assert [c.line for c in ds.children] == ["ip-dscp-inbound 33 phb af4 green"]


def test_a_spine_passes_routes_on_and_filters_what_it_takes() -> None:
    spine = next(s for s in routing().values() if s.tier == "spine")
    tree = vrp_parse.config(rendered()[spine.hostname])
    (af,) = tree.find("bgp")[0].find("ipv4-family unicast")
    assert not [c for c in af.children if c.line.endswith(" export")]
    imports = [c for c in af.children if c.line.endswith(" import")]
    assert len(imports) == len(spine.interfaces)
    lists = [c.line for c in tree.find("ip ip-prefix")]
    assert lists == [
        "ip ip-prefix wanka-in index 10 permit 10.64.0.0 16 less-equal 32",
        "ip ip-prefix wanka-in index 20 permit 10.255.0.0 24 greater-equal 32",
    ]


def test_render_is_deterministic_and_written_per_switch(tmp_path: Path) -> None:
    from conftest import run_wanka

    out = tmp_path / "out"
    run_wanka("render", str(VRP_FABRIC), "--out", str(out))
    files = sorted(p.relative_to(out).as_posix() for p in out.glob("fabric/*/*"))
    assert files and all(f.endswith("/vrp.cfg") for f in files)
    for f in files:
        name = f.split("/")[1]
        assert (out / f).read_text() == rendered()[name]


# ---- parsers against captures -------------------------------------------------------------


def test_display_bgp_peer_v300() -> None:
    s = vrp_parse.bgp_peers(capture("display_bgp_peer_ce6800v300.txt"))
    assert (s.router_id, s.local_as) == ("1.1.1.1", "100")
    assert [(p.peer, p.asn, p.state, p.prefixes) for p in s.peers] == [
        ("10.20.1.2", "200", "Established", 0),
        ("10.20.2.2", "200", "Established", 0),
    ]


def test_display_bgp_peer_older_formats() -> None:
    s = vrp_parse.bgp_peers(capture("display_bgp_peer_ntc1.txt"))
    assert (s.router_id, s.local_as) == ("192.168.1.1", "635.88")
    assert len(s.peers) == 4 and {p.asn for p in s.peers} == {"635.66"}
    assert all(p.state == "Established" and p.prefixes == 551 for p in s.peers)
    s = vrp_parse.bgp_peers(capture("display_bgp_peer_ntc2.txt"))
    assert s.router_id == "10.2.3.4" and s.local_as == "10"
    assert [(p.peer, p.state) for p in s.peers] == [
        ("10.1.1.1", "Idle"),
        ("10.2.5.6", "Established"),
    ]


def test_display_lldp_neighbor_brief() -> None:
    v300 = vrp_parse.lldp_neighbours(capture("display_lldp_neighbor_brief_ce6800v300.txt"))
    assert [(n.local, n.neighbour_port, n.neighbour) for n in v300] == [
        ("100GE1/0/1", "10GE1/0/1", "HUAWEI"),
        ("100GE1/0/1", "10GE1/0/1", "HUAWEI"),
        ("100GE1/0/2", "10GE1/0/2", "HUAWEI"),
        ("100GE1/0/3", "10GE1/0/3", "HUAWEI"),
    ]
    ce = vrp_parse.lldp_neighbours(capture("display_lldp_neighbor_brief_ce.txt"))
    assert [(n.local, n.neighbour_port, n.neighbour, n.expires_s) for n in ce] == [
        ("10GE4/0/1", "10GE4/0/25", "HUAWEI", 111),
        ("10GE4/0/1", "10GE4/0/26", "HUAWEI2", 121),
    ]
    ce8850 = vrp_parse.lldp_neighbours(capture("display_lldp_neighbor_brief_ce8850.txt"))
    assert [n.local for n in ce8850] == ["100GE1/0/1", "100GE1/0/2", "100GE1/0/55", "100GE1/0/56"]
    assert ce8850[2].neighbour == "xdc-1fg1"


def test_display_interface_brief() -> None:
    v300 = vrp_parse.interfaces(capture("display_interface_brief_ce6800v300.txt"))
    assert list(v300) == ["100GE1/0/1", "100GE1/0/2", "MEth0/0/0", "NULL0"]
    assert v300["100GE1/0/1"].phy == "admin-down"
    assert v300["MEth0/0/0"].phy == "up" and v300["MEth0/0/0"].protocol == "up"
    assert v300["NULL0"].flags == ("s",) and v300["NULL0"].protocol == "up"
    ce = vrp_parse.interfaces(capture("display_interface_brief_ce6850hi.txt"))
    assert len(ce) == 6
    assert ce["40GE3/0/2"].phy == "up" and ce["40GE1/0/1"].phy == "down"
    assert ce["40GE1/0/0"].phy == "admin-down"


def test_display_version() -> None:
    v = vrp_parse.version(capture("display_version_ce6850hi.txt"))
    assert v == vrp_parse.Version("8.100", "CE6850HI V100R005C10SPC200", "CE6850-48S6Q-HI")
    v = vrp_parse.version(capture("display_version_ce8850.txt"))
    assert v == vrp_parse.Version("8.180", "CE8850EI V200R000C00SPC000", "CE8850-64CQ-EI")


def test_display_current_configuration() -> None:
    text = capture("display_current_configuration_ce6880_partial.txt")
    dump = text.split("display current-configuration\n", 1)[1]
    dump = "\n".join(ln for ln in dump.splitlines() if not ln.startswith("[... omitted"))
    tree = vrp_parse.config(dump)
    assert [c.line for c in tree.find("sysname")] == ["sysname Mohammadpur-Huawei-SW"]
    (vlanif,) = tree.find("interface Vlanif3892")
    assert [c.line for c in vlanif.children] == ["ip address 172.16.183.218 255.255.255.252"]
    (port,) = tree.find("interface 100GE1/0/2")
    assert "port trunk allow-pass vlan 2 to 4094" in [c.line for c in port.children]
    assert tree.find("interface NULL0") and not tree.find("return")


def test_display_configuration_candidate_changes() -> None:
    from wanka.drivers.vrp import changes

    out = capture("display_configuration_candidate_changes.txt").split("\n", 1)[1]
    assert changes(out) == [
        "- interface Tunnel1 > mtu 1400",
        "+ interface Tunnel1 > mtu 1300",
        "+ interface Tunnel3",
    ]
