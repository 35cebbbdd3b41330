"""frr.conf of every routed switch: accepted by real FRR, consistent with the cabling and the
address plan, deterministic, and bringing a BGP session up between a lab leaf and a lab spine.

FRR is required (`make deps` installs it): without vtysh these tests fail, they do not skip.
The namespace test also needs root (CI runs as root).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, ROOT

from wanka.derive.bundle import Derived
from wanka.derive.routing import SwitchRouting, switch_routing
from wanka.lab.switches import frr_files
from wanka.pipeline import check, derive
from wanka.render.frr import render_frr
from wanka.render.sonic import config_db

LAB = ROOT / "examples/lab-mini/cluster.yaml"
SHENZHEN = ROOT / "examples/shenzhen-14000p/cluster.yaml"
MIXED = ROOT / "tests/examples/positive/mixed-port-groups.yaml"  # SONiC leaves and spines
POSITIVE = sorted((ROOT / "tests/examples/positive").glob("*.yaml"))
CLUSTERS = sorted({*EXAMPLES, LAB, SHENZHEN, *POSITIVE})
FRR_DAEMONS = Path("/usr/lib/frr")
# clusters with more routed switches than this are checked by vtysh in one run over all their
# files plus file by file on a sample (see test_vtysh_accepts_large_cluster)
PER_FILE_LIMIT = 64


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def vtysh() -> str:
    found = shutil.which("vtysh")
    if found is None:
        pytest.fail(
            "vtysh not found: these tests check frr.conf with real FRR. Install it "
            "(apt-get install frr, or `make deps`)",
            pytrace=False,
        )
    return found


@dataclass
class Rendered:
    d: Derived
    routing: dict[str, SwitchRouting]
    text: dict[str, str]


@cache
def rendered(path: Path) -> Rendered:
    d = derive(check(str(path)))
    routing = switch_routing(d)
    return Rendered(d, routing, {name: render_frr(r) for name, r in routing.items()})


def vtysh_check(conf: Path) -> tuple[int, str]:
    r = subprocess.run(
        [vtysh(), "-C", "-f", str(conf)], capture_output=True, text=True, timeout=120
    )
    return r.returncode, r.stdout + r.stderr


def check_files(files: list[Path]) -> list[str]:
    """vtysh -C on each file (two at a time); the failures with FRR's message."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(vtysh_check, files))
    return [
        f"{f.name}: {out.strip()}" for f, (rc, out) in zip(files, results, strict=True) if rc != 0
    ]


def write(where: Path, text: dict[str, str]) -> list[Path]:
    out = []
    for name, body in text.items():
        f = where / f"{name}.conf"
        f.write_text(body, encoding="utf-8")
        out.append(f)
    return out


# ---- (a) FRR accepts every configuration ------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [p for p in CLUSTERS if p != SHENZHEN],
    ids=_id,
)
def test_vtysh_accepts_every_file(path: Path, tmp_path: Path) -> None:
    r = rendered(path)
    if len(r.text) > PER_FILE_LIMIT:
        pytest.fail(f"{path} is large: add it to test_vtysh_accepts_large_cluster")
    assert check_files(write(tmp_path, r.text)) == []


def sample(r: Rendered) -> list[str]:
    """Two switches (first and last in model order) of every (pod type, plane, tier)."""
    kinds: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for sw in r.d.cluster.switches:
        if sw.name in r.text:
            kinds[(sw.pod.type, sw.plane.name, sw.tier)].append(sw.name)
    return sorted({n for names in kinds.values() for n in (names[0], names[-1])})


def test_vtysh_accepts_large_cluster(tmp_path: Path) -> None:
    """Shenzhen: 716 routed switches (of 943). One vtysh process per file costs about 45 ms
    on an idle machine; all 716 took 58 s two at a time on a busy 2-core box. So:
    * every file is checked in ONE vtysh run over their concatenation (about 2 s; vtysh reads
      a file line by line, falling back to the parent node on a miss, and every file starts at
      the top level with `frr version`), its `line N` errors mapped back to file and line;
    * a deterministic sample, the first and last switch (in model order) of every (pod type,
      plane, tier), is also checked file by file, exactly as a switch would load it: 14 files
      covering both SuperPoD types, the storage pods and the core pod, parameter and storage
      leaves and spines (first and last parameter spine: two different rail groups)."""
    r = rendered(SHENZHEN)
    assert len(r.text) > PER_FILE_LIMIT
    names = sorted(r.text)
    starts: list[tuple[int, str]] = []
    lines: list[str] = []
    for name in names:
        starts.append((len(lines) + 1, name))
        lines.extend(r.text[name].splitlines())
    every = tmp_path / "all.conf"
    every.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc, out = vtysh_check(every)
    problems = []
    for m in re.finditer(r"line (\d+): (.*)", out):
        n = int(m.group(1))
        first, name = max(s for s in starts if s[0] <= n)
        problems.append(f"{name}.conf line {n - first + 1}: {m.group(2)}")
    assert rc == 0 and not problems, "\n".join(problems) or out

    picked = sample(r)
    kinds: dict[tuple[str, str, str], int] = defaultdict(int)
    for sw in r.d.cluster.switches:
        if sw.name in picked:
            kinds[(sw.pod.type, sw.plane.name, sw.tier)] += 1
    all_kinds = {
        (s.pod.type, s.plane.name, s.tier) for s in r.d.cluster.switches if s.name in r.text
    }
    assert set(kinds) == all_kinds and min(kinds.values()) == 2
    one = tmp_path / "one"
    one.mkdir()
    assert check_files(write(one, {n: r.text[n] for n in picked})) == []


def test_vtysh_rejects_a_bad_file(tmp_path: Path) -> None:
    """The check can fail: a misspelt command is reported."""
    text = rendered(LAB).text
    name = sorted(text)[0]
    bad = tmp_path / "bad.conf"
    bad.write_text(text[name].replace(" remote-as ", " remote-az "), encoding="utf-8")
    rc, out = vtysh_check(bad)
    assert rc != 0 and "Unknown command" in out


# ---- (b) the configurations say what the model says --------------------------------------------


@dataclass
class Parsed:
    head: list[str]
    hostname: str
    asn: int
    router_id: str
    remote_as: dict[str, int]  # ifname -> ASN
    peer_of: dict[str, tuple[str, str]]  # ifname -> (peer device, peer ifname)
    networks: list[str]
    local: list[str]  # ip prefix-list LOCAL
    addresses: dict[str, list[str]]  # interface -> ip addresses


def parse(text: str) -> Parsed:
    p = Parsed(text.splitlines()[:3], "", 0, "", {}, {}, [], [], defaultdict(list))
    interface = None
    for line in text.splitlines():
        words = line.split()
        if line.startswith("hostname "):
            p.hostname = words[1]
        elif line.startswith("interface "):
            interface = words[1]
        elif line.startswith(" ip address ") and interface:
            p.addresses[interface].append(words[2])
        elif line == "exit":
            interface = None
        elif line.startswith("router bgp "):
            p.asn = int(words[2])
        elif line.startswith(" bgp router-id "):
            p.router_id = words[2]
        elif line.startswith(" neighbor ") and words[2] == "remote-as":
            p.remote_as[words[1]] = int(words[3])
        elif line.startswith(" neighbor ") and words[2] == "description":
            p.peer_of[words[1]] = (words[3], words[4])
        elif line.startswith("  network "):
            p.networks.append(words[1])
        elif line.startswith("ip prefix-list LOCAL "):
            p.local.append(words[6])
    return p


@pytest.mark.parametrize("path", CLUSTERS, ids=_id)
def test_configs_follow_the_model(path: Path) -> None:
    r = rendered(path)
    d = r.d
    switches = {s.name: s for s in d.cluster.switches}
    routed = {s.name for s in d.cluster.switches if s.plane.fabric and s.plane.fabric.tiers >= 2}
    assert set(r.text) == routed
    parsed = {name: parse(text) for name, text in r.text.items()}

    for name, p in parsed.items():
        assert p.head == ["frr version 8.4", "frr defaults datacenter", f"hostname {name}"]
        assert p.asn == switches[name].asn
        assert p.router_id == str(d.addressing.loopbacks[name])
        assert p.addresses["lo"] == [f"{p.router_id}/32"]

    # every fabric link is a neighbour on both ends, with the peer's ASN (a leaf pair's peer
    # link is bridged, not a session: tests/test_bonds.py)
    expected: dict[str, dict[str, tuple[str, str, int]]] = defaultdict(dict)
    for c in d.cabling.cables:
        if c.a.device in switches and not c.peer:
            for me, peer in ((c.a, c.b), (c.b, c.a)):
                asn = switches[peer.device].asn
                assert asn is not None
                expected[me.device][me.ifname] = (peer.device, peer.ifname, asn)
    assert sum(len(v) for v in expected.values()) == 2 * sum(
        1 for c in d.cabling.cables if c.a.device in switches and not c.peer
    )
    for name, p in parsed.items():
        got = {i: (*p.peer_of[i], p.remote_as[i]) for i in p.remote_as}
        assert got == expected[name], name
        assert expected[name], f"{name} has no fabric link"

    # leaves announce exactly their own subnets (and their loopback); spines only their loopback
    for name, p in parsed.items():
        sw = switches[name]
        own = [
            s
            for s in d.addressing.subnets
            if s.plane == sw.plane.name and s.owner in (sw.name, sw.pod.name)
        ]
        if sw.tier == "leaf":
            assert own, f"leaf {name} owns no subnet"
            assert p.local == p.networks
        else:
            own = []
            assert p.local == []
        assert p.networks == [f"{p.router_id}/32", *(str(s.network) for s in own)], name
        gateways = sorted(a for i, addrs in p.addresses.items() if i != "lo" for a in addrs)
        assert gateways == sorted(f"{s.gateway}/{s.network.prefixlen}" for s in own), name

    # router ids are unique
    ids = [p.router_id for p in parsed.values()]
    assert len(set(ids)) == len(ids)

    # the spines (cores) a switch reaches form one group with one ASN; leaves share with nobody
    for name in routed:
        load = d.topology.loads[name]
        if load.up_targets:
            assert len({t.asn for t in load.up_targets}) == 1, name
            assert len(set(parsed[name].remote_as.values())) == 1 or switches[name].tier != "leaf"
    owners: dict[int, set[str]] = defaultdict(set)
    for name in routed:
        owners[parsed[name].asn].add(name)
    for name in routed:
        if switches[name].tier == "leaf":
            assert owners[parsed[name].asn] == {name}, f"{name} shares its ASN"


def test_shenzhen_groups() -> None:
    """Per-rail spine groups: 8 ASNs of 24 spines; a leaf peers with its rail's group only."""
    r = rendered(SHENZHEN)
    spines = [s for s in r.d.cluster.switches if s.plane.name == "param" and s.tier == "spine"]
    groups: dict[int | None, int] = defaultdict(int)
    for s in spines:
        groups[s.asn] += 1
    assert sorted(groups.values()) == [24] * 8
    leaf = r.routing["sz1-p2-pod39-param-leaf08"]
    assert len(leaf.interfaces) == 24 and len({n["peer_asn"] for n in leaf.interfaces}) == 1
    assert leaf.maximum_paths == 24
    storage = r.routing["sz1-p1-stor01-storage-leaf01"]
    pair = r.routing["sz1-p1-stor01-storage-leaf02"]
    assert storage.networks[1:] == pair.networks[1:] and len(storage.networks) == 2
    assert storage.gateways[0]["address"] == pair.gateways[0]["address"]
    assert storage.qos == {"dscp": 26, "traffic_class": 104, "pfc_priority": 3, "ecn": True}


# ---- (c) deterministic -------------------------------------------------------------------------

_DIGEST = """
import hashlib, json, sys
from wanka.pipeline import derive
from wanka.lab.switches import frr_files
from wanka.render.frr import render_frr
from wanka.render.sonic import config_db
from wanka.derive.routing import switch_routing
from wanka.pipeline import check
out = {}
for path in sys.argv[1:]:
    for name, r in switch_routing(derive(check(path))).items():
        out[name] = hashlib.sha256(render_frr(r).encode()).hexdigest()
print(json.dumps(out))
"""


def test_rerender_is_byte_identical() -> None:
    """A second render, in another interpreter with another hash seed, gives the same bytes."""
    mine = {}
    for path in (LAB, SHENZHEN):
        r = rendered(path)
        again = {n: render_frr(x) for n, x in switch_routing(r.d).items()}
        assert again == r.text
        for name, text in r.text.items():
            assert text.endswith("\n") and not text.endswith("\n\n")
            mine[name] = hashlib.sha256(text.encode()).hexdigest()
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", _DIGEST, str(LAB), str(SHENZHEN)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(out.stdout) == mine


# ---- (d) a real BGP session between a lab leaf and a lab spine ---------------------------------


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30)


@dataclass
class Instance:
    ns: str
    state: Path


def _running(pid: int, instances: list[Instance]) -> bool:
    """Is `pid` still one of the FRR daemons started in these namespaces? (Checked on its
    command line, so a pid file never leads to killing anything else, nor a zombie.)"""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return (
        bool(args)
        and args[0].startswith(str(FRR_DAEMONS).encode())
        and any(inst.ns.encode() in args for inst in instances)
    )


def _daemons(inst: Instance) -> list[int]:
    """The pids of the daemons started in `inst`, from their pid files."""
    out = []
    for daemon in ("bgpd", "zebra"):
        pidfile = inst.state / f"{daemon}.pid"
        text = pidfile.read_text().strip() if pidfile.exists() else ""
        if text.isdigit() and _running(int(text), [inst]):
            out.append(int(text))
    return out


@pytest.fixture
def namespaces() -> Iterator[tuple[str, list[Instance]]]:
    """Two network namespaces with their FRR state directories, named wk<pid><random>; on
    teardown the daemons started in them (by their pid files) are stopped, the namespaces
    deleted. State lives under /tmp rather than tmp_path: pytest's base directory is mode
    0700 and the daemons run as frr, which could not reach it."""
    vtysh()
    if os.geteuid() != 0:
        pytest.fail("the FRR namespace test needs root (CI runs as root)", pytrace=False)
    for tool in ("zebra", "bgpd"):
        if not (FRR_DAEMONS / tool).exists():
            pytest.fail(f"{FRR_DAEMONS / tool} not found: install FRR", pytrace=False)
    if shutil.which("ip") is None:
        pytest.fail("`ip` not found: install iproute2", pytrace=False)
    token = f"wk{os.getpid()}{os.urandom(2).hex()}"
    base = Path(tempfile.mkdtemp(prefix=f"{token}-", dir="/tmp"))
    base.chmod(0o755)
    made: list[Instance] = []
    try:
        for role in ("leaf", "spine"):
            state = base / role
            state.mkdir()
            shutil.chown(state, "frr", "frr")
            _run("ip", "netns", "add", f"{token}-{role}")
            made.append(Instance(f"{token}-{role}", state))
        yield token, made
    finally:
        pids = [pid for inst in made for pid in _daemons(inst)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_running(p, made) for p in pids):
            time.sleep(0.1)
        for pid in pids:
            if _running(pid, made):
                os.kill(pid, signal.SIGKILL)
        for inst in made:
            subprocess.run(["ip", "netns", "del", inst.ns], capture_output=True, timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def _vtysh_json(inst: Instance, command: str) -> dict[str, Any]:
    r = subprocess.run(
        [vtysh(), "--vty_socket", str(inst.state), "-c", command],
        capture_output=True,
        text=True,
        timeout=10,
    )
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _logs(instances: list[Instance]) -> str:
    out = []
    for inst in instances:
        for log in sorted(inst.state.glob("*.log")):
            out.append(f"--- {inst.ns} {log.name}\n{log.read_text(errors='replace')[-3000:]}")
    return "\n".join(out)


def test_bgp_session_in_namespaces(namespaces: tuple[str, list[Instance]]) -> None:
    """lab-mini: a Debian/FRR leaf (zebra and bgpd read the integrated frr.conf) and a SONiC
    spine (split mode) peer."""
    _session(namespaces, LAB)


def test_bgp_session_in_namespaces_sonic_split_mode(
    namespaces: tuple[str, list[Instance]],
) -> None:
    """SONiC: bgpd reads the rendered bgpd.conf and zebra its own file (split mode), as the lab
    starts a SONiC switch; the loopback and the gateway address come from config_db.json."""
    _session(namespaces, MIXED)


def _session(namespaces: tuple[str, list[Instance]], cluster: Path) -> None:
    token, (leaf_ns, spine_ns) = namespaces
    r = rendered(cluster)
    leaf = next(x for x in r.routing.values() if x.tier == "leaf")
    link = leaf.interfaces[0]  # its first fabric interface, to a spine
    spine = r.routing[link["peer"]]
    assert (leaf.os, spine.os) == (("sonic", "sonic") if cluster == MIXED else ("debian", "sonic"))
    back = next(n for n in spine.interfaces if n["ifname"] == link["peer_ifname"])
    assert back["peer"] == leaf.hostname and back["peer_ifname"] == link["ifname"]
    veth = {leaf_ns.ns: f"{token}l", spine_ns.ns: f"{token}s"}
    # keep only that cable, its two ends renamed to the veth pair's names
    configs = {
        leaf_ns.ns: replace(
            leaf,
            interfaces=[{**link, "ifname": veth[leaf_ns.ns], "peer_ifname": veth[spine_ns.ns]}],
        ),
        spine_ns.ns: replace(
            spine,
            interfaces=[{**back, "ifname": veth[spine_ns.ns], "peer_ifname": veth[leaf_ns.ns]}],
        ),
    }
    _run(
        "ip", "link", "add", veth[leaf_ns.ns], "netns", leaf_ns.ns, "type", "veth",
        "peer", "name", veth[spine_ns.ns], "netns", spine_ns.ns,
    )  # fmt: skip
    for inst in (leaf_ns, spine_ns):
        _run("ip", "-n", inst.ns, "link", "set", "lo", "up")
        _run("ip", "-n", inst.ns, "link", "set", veth[inst.ns], "up")
    for g in leaf.gateways:  # the node-facing bridge, so that the leaf's subnet is announced
        _run("ip", "-n", leaf_ns.ns, "link", "add", g["ifname"], "type", "bridge")
        _run("ip", "-n", leaf_ns.ns, "link", "set", g["ifname"], "up")
    for inst in (leaf_ns, spine_ns):  # what SONiC sets from config_db.json: loopback, gateway
        if configs[inst.ns].os == "sonic":
            db = config_db(configs[inst.ns])
            for key in db["LOOPBACK_INTERFACE"]:
                if "|" in key:
                    _run("ip", "-n", inst.ns, "address", "add", key.split("|")[1], "dev", "lo")
            for key in db.get("VLAN_INTERFACE", {}):
                if "|" in key:
                    dev = leaf.gateways[0]["ifname"]
                    _run("ip", "-n", inst.ns, "address", "add", key.split("|")[1], "dev", dev)

    started = time.monotonic()
    for inst in (leaf_ns, spine_ns):
        files = frr_files(configs[inst.ns])
        sonic = configs[inst.ns].os == "sonic"
        assert set(files) == ({"bgpd.conf", "zebra.conf"} if sonic else {"frr.conf"})
        for name, text in files.items():
            conf = inst.state / name
            conf.write_text(text, encoding="utf-8")
            shutil.chown(conf, "frr", "frr")
        for daemon in ("zebra", "bgpd"):
            conf = inst.state / (f"{daemon}.conf" if "bgpd.conf" in files else "frr.conf")
            _run(
                "ip", "netns", "exec", inst.ns, str(FRR_DAEMONS / daemon), "-d",
                "-N", inst.ns, "-f", str(conf), "-i", str(inst.state / f"{daemon}.pid"),
                "--vty_socket", str(inst.state), "-z", str(inst.state / "zserv.api"),
                "-u", "frr", "-g", "frr", "--log", f"file:{inst.state / daemon}.log",
            )  # fmt: skip

    def peers(inst: Instance) -> dict[str, Any]:
        summary = _vtysh_json(inst, "show bgp summary json")
        found: dict[str, Any] = summary.get("ipv4Unicast", {}).get("peers", {})
        return found

    deadline = started + 20
    while time.monotonic() < deadline:
        states = [peers(i).get(veth[i.ns], {}).get("state") for i in (leaf_ns, spine_ns)]
        if states == ["Established", "Established"]:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"no BGP session after 20 s: {states}\n{_logs([leaf_ns, spine_ns])}")
    assert peers(leaf_ns)[veth[leaf_ns.ns]]["remoteAs"] == spine.asn
    assert peers(spine_ns)[veth[spine_ns.ns]]["remoteAs"] == leaf.asn

    # routes flow as the policy says: the spine learns the leaf's loopback and subnet
    want = {spine_ns.ns: set(leaf.networks), leaf_ns.ns: {spine.loopback}}
    routes: dict[str, set[str]] = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for inst in (leaf_ns, spine_ns):
            table = _vtysh_json(inst, "show ip route bgp json")
            routes[inst.ns] = set(table)
        if all(want[ns] <= routes[ns] for ns in want):
            break
        time.sleep(0.5)
    assert routes == want, _logs([leaf_ns, spine_ns])
    elapsed = time.monotonic() - started
    print(f"BGP Established and routes exchanged after {elapsed:.1f} s")
