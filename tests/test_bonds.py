"""Bonds that survive a leaf: active-backup across a leaf pair joined by a peer link.

802.3ad (LACP) cannot aggregate across two independent switches, so a bonded plane whose
nodes reach two leaves bonds active-backup: the pair bridges the plane over one peer link
(a cable, a port of each leaf's budget, in both bridges, no BGP session) and both leaves
hold the pod's gateway. 802.3ad stays for bonds whose members all reach one switch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import cluster_text
from test_derive import derived

from wanka.derive.routing import switch_routing
from wanka.lab.netlab import plan
from wanka.pipeline import check
from wanka.render.frr import render_frr
from wanka.render.inventory import node_network

PAIR = "            - {plane: mgmt, tier: leaf, count: 2}"
ONE = "            - {plane: mgmt, tier: leaf, count: 1}"


def paired(ports: int = 48, bonded_storage: bool = False) -> str:
    """The lab cluster with two management leaves per pod (a pair every node bonds across)."""
    text = cluster_text([1, 1]).replace(ONE, PAIR)
    return text.replace("ports: {count: 48, speed: 25G}", f"ports: {{count: {ports}, speed: 25G}}")


def test_a_pair_is_joined_by_one_peer_link_on_the_port_below_the_uplinks() -> None:
    d = derived(paired())
    peers = [c for c in d.cabling.cables if c.peer]
    pods = [p.name for p in d.cluster.pods if any(s.plane.name == "mgmt" for s in p.switches)]
    assert [(c.a.device, c.b.device) for c in peers] == [
        (f"{p}-mgmt-leaf01", f"{p}-mgmt-leaf02") for p in pods
    ]
    assert {(c.a.ifname, c.b.ifname, c.plane) for c in peers} == {("swp48", "swp48", "mgmt")}
    assert all(c.media == "DAC" and c.length_m == 3 for c in peers)  # both leaves in one rack
    assert all(d.topology.loads[c.a.device].peer_links == 1 for c in peers)


def test_the_peer_link_takes_a_port_of_the_budget() -> None:
    """4 nodes x 2 ports over 2 leaves: 4 ports each, and the peer link a fifth."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(paired(ports=4), encoding="utf-8")
        found = [(f.rule, f.message) for f in check(str(path)).errors]
    assert found and {r for r, _ in found} == {"PORT-CAPACITY"}
    assert "needs 5 ports (4 to nodes)" in found[0][1]
    assert not derived(paired(ports=5)).findings


def test_hosts_bond_active_backup_across_a_pair_and_may_use_lacp_towards_one_leaf() -> None:
    d = derived(paired())
    bond = node_network(d, d.cluster.nodes[0])["interfaces"][0]
    gateway = str(d.addressing.subnet_of("mgmt", d.cluster.nodes[0].pod.name).gateway)
    assert bond == {
        "name": "bond-mgmt",
        "kind": "bond",
        "plane": "mgmt",
        "members": ["mgmt0", "mgmt1"],
        "mode": "active-backup",
        "miimon": 100,
        "primary": "mgmt0",
        "num_grat_arp": 1,
        "mtu": 1500,
        "address": str(d.addressing.bonds[(d.cluster.nodes[0].name, "mgmt")]) + "/29",
        "gateway": gateway,
        "routes": [{"to": "default", "via": gateway}],  # the management plane's
        "route_metric": 100,
    }
    one = cluster_text([1]).replace(
        "        bonded: true\n", "        bonded: true\n        bond_mode: 802.3ad\n"
    )
    d = derived(one)
    bond = node_network(d, d.cluster.nodes[0])["interfaces"][0]
    assert (bond["mode"], bond["lacp_rate"], bond["xmit_hash_policy"]) == (
        "802.3ad",
        "fast",
        "layer3+4",
    )
    assert not [c for c in d.cabling.cables if c.peer]


def test_a_routed_pair_bridges_the_peer_link_and_holds_no_session_on_it() -> None:
    """A two-tier bonded plane (storage): both leaves are the gateway, the peer link is a
    member of each bridge, and no BGP neighbour is configured on it."""
    text = paired().replace(
        "          tiers: 1\n          leaf: {model: lab-48x25g}",
        "          tiers: 2\n"
        "          leaf: {model: lab-48x25g, uplinks: 2, max_oversubscription: 4}\n"
        "          spine: {model: lab-48x25g}",
    )
    text = text.replace(
        "            - {plane: param, tier: spine, count: 2}",
        "            - {plane: param, tier: spine, count: 2}\n"
        "            - {plane: mgmt, tier: spine, count: 2}",
    )
    d = derived(text)
    routing = switch_routing(d)
    leaf = routing["lab-p1-pod01-mgmt-leaf01"]
    [gw] = leaf.gateways
    assert gw["peer_link"] == "swp46" and "swp46" in gw["members"]  # 48 - 2 uplinks
    assert gw["peer"] == "lab-p1-pod01-mgmt-leaf02"
    assert routing["lab-p1-pod01-mgmt-leaf02"].gateways[0]["address"] == gw["address"]
    assert "swp46" not in [n["ifname"] for n in leaf.interfaces]
    conf = render_frr(leaf)
    assert "neighbor swp46" not in conf
    assert "peer link swp46 to lab-p1-pod01-mgmt-leaf02 (bridged, no BGP)\n" in conf
    _, _, batch = plan(d, "wk-test")
    ns = {dev: n for n, dev in plan(d, "wk-test")[0].items()}
    lines = batch[ns["lab-p1-pod01-mgmt-leaf01"]]
    assert "link set swp46 master br-mgmt" in lines
