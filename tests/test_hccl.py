"""hccn.conf and HCCL rank tables, checked against the model they are derived from."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
import yaml

from wanka.derive.bundle import Derived
from wanka.derive.hccn import (
    generation,
    hccn_devices,
    is_npu_server,
    management_plane,
    parameter_plane,
)
from wanka.model.types import Node, NodeFacts
from wanka.pipeline import check, derive
from wanka.render.files import files
from wanka.render.hccn import render_hccn
from wanka.render.ranktable import dumps, rank_tables

ROOT = Path(__file__).resolve().parent.parent
LAB = "examples/lab-mini/cluster.yaml"
SHENZHEN = "examples/shenzhen-14000p/cluster.yaml"
EXCLUDED = "sz1-p1-pod03-r07-s02"

A2_KEYS = ["address", "netmask", "netdetect", "gateway", "send_arp_status", "tls_enable"]
A3_KEYS = ["address", "netmask", "gateway", "arp", "netdetect", "send_arp_status", "tls_enable"]

V10_TOP = ["version", "server_count", "status", "server_list"]
V10_SERVER = ["server_id", "host_nic_ip", "device"]
V10_DEVICE = ["device_id", "device_ip", "rank_id"]
V12_TOP = ["version", "server_count", "status", "server_list", "super_pod_list"]
V12_SERVER = ["server_id", "host_ip", "device"]
V12_DEVICE = ["device_id", "device_ip", "super_device_id", "rank_id"]

# Excerpts of real /etc/hccn.conf files (docs/shared reference): the layout to reproduce.
REAL_A2 = """\
address_0=127.0.0.45
netmask_0=255.255.0.0
netdetect_0=127.0.0.1
gateway_0=127.0.0.1
send_arp_status_0=1
tls_enable_0=0
address_1=127.0.0.226
netmask_1=255.255.0.0
netdetect_1=127.0.0.1
gateway_1=127.0.0.1
send_arp_status_1=1
tls_enable_1=0
"""
REAL_A3 = """\
address_0=127.0.0.24
netmask_0=255.255.128.0
gateway_0=127.0.0.1
arp_0=-i eth0 -s 127.0.0.114 bc:1e:85:d8:ca:dd
netdetect_0=127.0.0.1
send_arp_status_0=1
tls_enable_0=0
address_1=127.0.0.114
netmask_1=255.255.128.0
gateway_1=127.0.0.1
arp_1=-i eth1 -s 127.0.0.24 bc:1e:85:d8:ca:dc
netdetect_1=127.0.0.1
send_arp_status_1=1
tls_enable_1=0
"""


# Model objects (Derived, Node, Pod) have reprs of megabytes: a failing assert that
# mentions one makes pytest render it. Tests therefore compare plain snapshots only.


@dataclasses.dataclass(frozen=True)
class Server:
    """What the model says about one NPU server, as plain values."""

    name: str
    pod: str
    phase: str
    host: str  # management-plane address
    generation: str
    devices: int  # cards x dies
    supernode: int
    excluded: bool
    ports: dict[int, tuple[str, str, str]]  # device -> (address, netmask, gateway)
    hccn: str  # rendered /etc/hccn.conf


@dataclasses.dataclass(frozen=True)
class Bundle:
    d: Derived = dataclasses.field(repr=False)
    servers: list[Server] = dataclasses.field(repr=False)
    hosts: dict[str, Server] = dataclasses.field(repr=False)  # by host address
    tables: dict[str, dict[str, Any]] = dataclasses.field(repr=False)


def snapshot(path: str | Path) -> Bundle:
    d = derive(check(str(ROOT / path)))
    out = []
    for n in d.cluster.nodes:
        if not is_npu_server(d.cluster, n):
            continue
        param, mgmt = parameter_plane(d.cluster, n), management_plane(d.cluster, n)
        assert param is not None and mgmt is not None
        acc = n.model.accelerator
        assert acc is not None
        ports = {}
        for device in range(n.model.cards * acc.dies):
            key = (n.name, param.name, device)
            sub = d.addressing.port_subnet[key]
            ports[device] = (
                str(d.addressing.ports[key]),
                str(sub.network.netmask),
                str(sub.gateway),
            )
        out.append(
            Server(
                n.name,
                n.pod.name,
                n.pod.phase.name,
                str(d.addressing.bonds[(n.name, mgmt.name)]),
                generation(n),
                n.model.cards * acc.dies,
                n.supernode or 0,
                n.excluded,
                ports,
                render_hccn(hccn_devices(d, n), generation(n)),
            )
        )
    return Bundle(d, out, {s.host: s for s in out}, rank_tables(d))


@pytest.fixture(scope="module")
def lab() -> Bundle:
    return snapshot(LAB)


@pytest.fixture(scope="module")
def shenzhen() -> Bundle:
    return snapshot(SHENZHEN)


@pytest.fixture(params=["lab", "shenzhen"])
def bundle(request: pytest.FixtureRequest) -> Bundle:
    b: Bundle = request.getfixturevalue(request.param)
    return b


def parse_hccn(text: str) -> tuple[list[str], dict[int, dict[str, str]]]:
    """The keys in file order, and device -> {key: value}."""
    assert text.endswith("\n") and not text.endswith("\n\n")
    keys: list[str] = []
    devices: dict[int, dict[str, str]] = {}
    for line in text.splitlines():
        key, value = line.split("=", 1)
        name, device = key.rsplit("_", 1)
        keys.append(key)
        devices.setdefault(int(device), {})[name] = value
    return keys, devices


def pod_tables(tables: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The per-pod tables (the per-supernode ones repeat their servers)."""
    return {p: t for p, t in tables.items() if "-sn" not in p}


def walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)
    else:
        yield value


def ranks(table: dict[str, Any]) -> list[int]:
    return [int(dev["rank_id"]) for s in table["server_list"] for dev in s["device"]]


def server_ids(table: dict[str, Any]) -> list[str]:
    return [s["server_id"] for s in table["server_list"]]


def device_ips(table: dict[str, Any]) -> list[str]:
    return [dev["device_ip"] for s in table["server_list"] for dev in s["device"]]


def first_node(b: Bundle, name: str) -> Node:
    return next(n for n in b.d.cluster.nodes if n.name == name)


# ---- hccn.conf ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "gen"), [(REAL_A2, "A2"), (REAL_A3, "A3")])
def test_render_reproduces_real_layout(text: str, gen: str) -> None:
    _, parsed = parse_hccn(text)
    devices: list[dict[str, str | int]] = [{"device": k, **v} for k, v in parsed.items()]
    rendered = render_hccn(devices, gen)
    assert rendered == text


def test_lab_hccn_conf_has_six_keys_per_device_in_real_order(lab: Bundle) -> None:
    name = "lab-p1-pod01-r01-s01"
    server = next(s for s in lab.servers if s.name == name)
    keys, devices = parse_hccn(server.hccn)
    assert keys == [f"{k}_{i}" for i in range(8) for k in A2_KEYS]
    first = str(lab.d.addressing.ports[(name, "param", 0)])
    assert devices[0]["address"] == first


def test_shenzhen_hccn_conf_has_sixteen_dies_in_real_order(shenzhen: Bundle) -> None:
    server = shenzhen.servers[0]
    keys, devices = parse_hccn(server.hccn)
    # the example manifest has no parameter-plane MACs: no arp lines
    assert keys == [f"{k}_{i}" for i in range(16) for k in A3_KEYS if k != "arp"]
    last = str(shenzhen.d.addressing.ports[(server.name, "param", 15)])
    assert devices[15]["address"] == last


def test_a3_arp_points_at_the_sibling_die_when_its_mac_is_known(shenzhen: Bundle) -> None:
    node = first_node(shenzhen, shenzhen.servers[0].name)
    ports = shenzhen.servers[0].ports
    macs = {f"npu{i}": f"02:00:00:00:00:{i:02x}" for i in range(16) if i != 3}
    facts = node.facts or NodeFacts(
        serial=None,
        bmc_mac=None,
        bmc_address=None,
        macs={},
        addresses={},
        excluded=None,
        at=node.at,
    )
    known = dataclasses.replace(node, facts=dataclasses.replace(facts, macs=macs))
    keys, devices = parse_hccn(render_hccn(hccn_devices(shenzhen.d, known), "A3"))
    for i in range(16):
        sibling = i ^ 1
        block = [k for k in keys if k.endswith(f"_{i}")]
        if sibling == 3:  # its MAC is unknown
            assert block == [f"{k}_{i}" for k in A3_KEYS if k != "arp"]
            continue
        assert block == [f"{k}_{i}" for k in A3_KEYS]
        arp = f"-i eth{i} -s {ports[sibling][0]} {macs[f'npu{sibling}']}"
        assert devices[i]["arp"] == arp


def test_hccn_addresses_netmask_gateway_follow_the_subnet(bundle: Bundle) -> None:
    for server in bundle.servers:
        _, devices = parse_hccn(server.hccn)
        assert sorted(devices) == list(range(server.devices)), server.name
        for device, conf in devices.items():
            address, netmask, gateway = server.ports[device]
            got = (conf["address"], conf["netmask"], conf["gateway"], conf["netdetect"])
            assert got == (address, netmask, gateway, gateway), server.name
            assert (conf["send_arp_status"], conf["tls_enable"]) == ("1", "0")


def test_the_subnet_holds_the_address(bundle: Bundle) -> None:
    for (node, plane, device), sub in bundle.d.addressing.port_subnet.items():
        ip = bundle.d.addressing.ports[(node, plane, device)]
        inside = ip in sub.network and ip != sub.gateway
        assert inside, f"{node} {plane}{device}"


def test_nodes_without_npus_have_no_hccn_devices(shenzhen: Bundle) -> None:
    host = next(n for n in shenzhen.d.cluster.nodes if n.model.role == "host")
    devices = hccn_devices(shenzhen.d, host)
    assert devices == []
    with pytest.raises(ValueError, match="unknown NPU generation"):
        render_hccn([], "A1")


# ---- rank tables -------------------------------------------------------------


def test_rank_tables_cover_every_npu_pod(bundle: Bundle) -> None:
    expected = set()
    for s in bundle.servers:
        expected.add(f"hccl/{s.phase}/{s.pod}.json")
        if s.generation == "A3":
            expected.add(f"hccl/{s.phase}/{s.pod}-sn{s.supernode + 1:02d}.json")
    assert sorted(bundle.tables) == sorted(expected)


def test_rank_ids_contiguous_and_server_count(bundle: Bundle) -> None:
    for path, table in bundle.tables.items():
        got = ranks(table)
        assert got == list(range(len(got))), path
        assert table["server_count"] == str(len(table["server_list"])), path
        assert all(isinstance(v, str) for v in walk(table)), path


def test_servers_in_model_order_and_devices_by_id(bundle: Bundle) -> None:
    for path, table in pod_tables(bundle.tables).items():
        pod = path.rsplit("/", 1)[1].removesuffix(".json")
        listed = [s.host for s in bundle.servers if s.pod == pod and not s.excluded]
        assert server_ids(table) == listed, path
        for entry in table["server_list"]:
            ids = [int(dev["device_id"]) for dev in entry["device"]]
            assert ids == list(range(bundle.hosts[entry["server_id"]].devices))


def test_device_ips_unique_and_equal_to_hccn_conf(bundle: Bundle) -> None:
    seen: Counter[str] = Counter()
    for table in pod_tables(bundle.tables).values():
        for entry in table["server_list"]:
            server = bundle.hosts[entry["server_id"]]
            _, conf = parse_hccn(server.hccn)
            in_table = {int(dev["device_id"]): dev["device_ip"] for dev in entry["device"]}
            in_conf = {device: c["address"] for device, c in conf.items()}
            assert in_table == in_conf, server.name
            seen.update(in_table.values())
    duplicated = [ip for ip, count in seen.items() if count > 1]
    assert duplicated == []
    expected = sum(s.devices for s in bundle.servers if not s.excluded)
    assert len(seen) == expected


def test_supernode_tables_split_the_pod_table(shenzhen: Bundle) -> None:
    for path, table in pod_tables(shenzhen.tables).items():
        stem = path.removesuffix(".json")
        parts = [t for p, t in shenzhen.tables.items() if p.startswith(f"{stem}-sn")]
        assert parts, path
        assert [i for t in parts for i in server_ids(t)] == server_ids(table), path
        assert [ip for t in parts for ip in device_ips(t)] == device_ips(table), path


def test_a2_tables_have_the_v10_shape(lab: Bundle) -> None:
    assert lab.tables
    for path, table in lab.tables.items():
        assert list(table) == V10_TOP, path
        assert (table["version"], table["status"]) == ("1.0", "completed")
        for entry in table["server_list"]:
            assert list(entry) == V10_SERVER, path
            assert entry["host_nic_ip"] == "reserve"
            assert len(entry["device"]) == lab.hosts[entry["server_id"]].devices
            assert all(list(dev) == V10_DEVICE for dev in entry["device"]), path


def test_a3_tables_have_the_v12_shape(shenzhen: Bundle) -> None:
    assert shenzhen.tables
    for path, table in shenzhen.tables.items():
        assert list(table) == V12_TOP, path
        assert (table["version"], table["status"]) == ("1.2", "completed")
        supernode_of: dict[str, str] = {}
        for sp in table["super_pod_list"]:
            assert list(sp) == ["super_pod_id", "server_list"], path
            for member in sp["server_list"]:
                assert list(member) == ["server_id"], path
                supernode_of[member["server_id"]] = sp["super_pod_id"]
        assert list(supernode_of) == server_ids(table), path
        sdids: dict[str, set[str]] = {}
        for entry in table["server_list"]:
            server = shenzhen.hosts[entry["server_id"]]
            assert list(entry) == V12_SERVER, path
            assert entry["host_ip"] == entry["server_id"]
            assert supernode_of[entry["server_id"]] == str(server.supernode), path
            assert len(entry["device"]) == server.devices
            ids = sdids.setdefault(str(server.supernode), set())
            for dev in entry["device"]:
                assert list(dev) == V12_DEVICE, path
                assert dev["super_device_id"] not in ids, path
                ids.add(dev["super_device_id"])


def test_super_device_ids_do_not_move_when_servers_drop_out(shenzhen: Bundle) -> None:
    # the last server of pod03 (which misses an excluded server) and of pod01 sit at the
    # same place in their supernodes: same super_device_ids
    last03 = shenzhen.tables["hccl/p1/sz1-p1-pod03.json"]["server_list"][-1]["device"]
    last01 = shenzhen.tables["hccl/p1/sz1-p1-pod01.json"]["server_list"][-1]["device"]
    assert [d["super_device_id"] for d in last03] == [d["super_device_id"] for d in last01]


def test_excluded_node_is_in_no_table(shenzhen: Bundle) -> None:
    excluded = [s for s in shenzhen.servers if s.excluded]
    assert [s.name for s in excluded] == [EXCLUDED]
    gone = excluded[0]
    ips = {address for address, _, _ in gone.ports.values()}
    for path, table in shenzhen.tables.items():
        assert gone.host not in server_ids(table), path
        assert not ips & set(device_ips(table)), path
    for path in ("hccl/p1/sz1-p1-pod03.json", "hccl/p1/sz1-p1-pod03-sn01.json"):
        table = shenzhen.tables[path]
        assert table["server_count"] == "47"
        assert ranks(table) == list(range(47 * gone.devices))
    alone = rank_tables(shenzhen.d, only={EXCLUDED})
    assert sorted(alone) == []


def test_only_keeps_just_the_named_nodes(shenzhen: Bundle) -> None:
    pick = [s for s in shenzhen.servers if s.pod == "sz1-p1-pod02"][5:8]
    pick.append(next(s for s in shenzhen.servers if s.pod == "sz1-p2-pod39"))
    names = {s.name for s in pick} | {"sz1-p1-ctl-r01-h01", "no-such-node"}
    tables = rank_tables(shenzhen.d, only=names)
    assert sorted(tables) == [
        "hccl/p1/sz1-p1-pod02-sn01.json",
        "hccl/p1/sz1-p1-pod02.json",
        "hccl/p2/sz1-p2-pod39-sn01.json",
        "hccl/p2/sz1-p2-pod39.json",
    ]
    listed = [i for t in pod_tables(tables).values() for i in server_ids(t)]
    assert listed == [s.host for s in pick]
    pod02 = tables["hccl/p1/sz1-p1-pod02.json"]
    assert pod02["server_count"] == "3"
    assert ranks(pod02) == list(range(3 * pick[0].devices))


def test_dumps_is_deterministic_json(lab: Bundle) -> None:
    again = rank_tables(lab.d)
    for path, table in lab.tables.items():
        text = dumps(table)
        assert text == dumps(again[path]), path
        assert text.endswith("}\n")
        assert json.loads(text) == table
        assert text.index('"version"') < text.index('"server_count"') < text.index('"status"')


# ---- several parameter planes ------------------------------------------------

TWO_PLANES = ROOT / "tests/examples/positive/two-parameter-planes.yaml"


def _planes_swapped(tmp: Path) -> Path:
    """The two-plane example with its planes declared in the other order."""
    doc = yaml.safe_load(TWO_PLANES.read_text(encoding="utf-8"))
    planes = doc["spec"]["networks"]["planes"]
    doc["spec"]["networks"]["planes"] = dict(reversed(list(planes.items())))
    out = tmp / "swapped.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


@pytest.mark.parametrize("order", ["declared", "swapped"])
def test_every_parameter_plane_gets_hccn_conf_and_rank_tables(order: str, tmp_path: Path) -> None:
    path = TWO_PLANES if order == "declared" else _planes_swapped(tmp_path)
    b = snapshot(path)
    c = b.d.cluster
    assert [p.name for p in c.planes.values() if p.role == "parameter"] == (
        ["roce-a2", "roce-a3"] if order == "declared" else ["roce-a3", "roce-a2"]
    )
    # every server with cards, counted from the catalog, not through the code under test
    training = [n for n in c.nodes if n.model.accelerator is not None]
    assert len(training) == 8
    assert sorted(s.name for s in b.servers) == sorted(n.name for n in training)
    cidr = {"A2": c.planes["roce-a2"].cidr, "A3": c.planes["roce-a3"].cidr}
    for server in b.servers:
        _, devices = parse_hccn(server.hccn)
        assert len(devices) == {"A2": 8, "A3": 16}[server.generation], server.name
        for conf in devices.values():
            assert IPv4Address(conf["address"]) in cidr[server.generation], server.name
    rendered = dict(files(b.d))
    for n in training:
        assert f"nodes/{n.name}/hccn.conf" in rendered, n.name
    assert sorted(pod_tables(b.tables)) == ["hccl/p1/mix-p1-pod01.json", "hccl/p2/mix-p2-sp01.json"]
    listed = {i for t in pod_tables(b.tables).values() for i in server_ids(t)}
    assert listed == {s.host for s in b.servers}
    assert sum(len(device_ips(t)) for t in pod_tables(b.tables).values()) == 4 * 8 + 4 * 16


def test_a3_tables_take_hardware_ids_and_span_supernodes(tmp_path: Path) -> None:
    """After verify, super_device_id and super_pod_id are what `npu-smi info -t spod-info`
    printed on each server (the lab's npu-smi, whose format is tested against the capture in
    test_captures.py), never the planned numbering; a pod table spans its supernodes, one
    super_pod_list entry per SuperPoD; an A3 server verify read no ids of is left out."""
    from wanka import checks as registry
    from wanka.bringup.results import Check, HostResult, RunResult
    from wanka.bringup.run import hardware_ids
    from wanka.lab.profile import node_profile
    from wanka.lab.tools import npu_smi
    from wanka.pipeline import open_cluster

    d = open_cluster(str(ROOT / "tests/examples/positive/lab-a3-supernode.yaml"))
    servers = [n for n in d.cluster.nodes if n.model.accelerator is not None]
    hosts = {}
    printed: dict[str, dict[int, int]] = {}
    for i, n in enumerate(servers[:-1]):  # the last one answered nothing
        prof = node_profile(d, n, {"server_index": 7 + i})  # as the boards are configured
        checks = []
        for dev in prof["devices"]:
            text = npu_smi.npu_smi_spod(prof, dev["card"], dev["chip"])
            info = dict(
                (k.strip(), v.strip()) for k, v in (x.split(":") for x in text.splitlines())
            )
            printed.setdefault(n.name, {})[dev["device"]] = int(info["SDID"])
            ids = (int(info["SDID"]), int(info["Super Pod ID"]), int(info["Server Index"]))
            passed = Check.from_dict(registry.spod(f"npu{dev['device']}", *ids))  # as wanka_node
            assert passed is not None
            checks.append(passed)
        hosts[n.name] = HostResult(status="ok", checks=tuple(checks))
    result = RunResult(playbook="verify", phase=None, hosts=hosts)
    hw = hardware_ids(result)
    tables = rank_tables(d, only={n.name for n in servers}, hardware=hw)
    by_ip = {}
    for n in servers:
        by_ip[str(d.addressing.bonds[(n.name, management_plane(d.cluster, n).name)])] = n.name
    for path, table in tables.items():
        listed = [by_ip[s["server_id"]] for s in table["server_list"]]
        assert servers[-1].name not in listed, path
        for s in table["server_list"]:
            name = by_ip[s["server_id"]]
            got = [int(dev["super_device_id"]) for dev in s["device"]]
            assert got == [printed[name][int(dev["device_id"])] for dev in s["device"]], path
    # each SuperPoD its own super_pod_id, the one its servers reported (cluster order here)
    pods = {p: [sp["super_pod_id"] for sp in t["super_pod_list"]] for p, t in tables.items()}
    assert pods["hccl/p1/lab3-p1-sn01.json"] == ["0"]
    assert pods["hccl/p2/lab3-p2-sn01.json"] == ["1"]
