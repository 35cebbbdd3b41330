"""The lab's network core: examples/lab-mini in namespaces with FRR and lldpd.

Needs root, FRR, lldpd and iproute2 (CI runs as root; `make deps` installs them): without
them these tests fail, they do not skip. The lab comes up once for the module (tests/labkit.py's
lab_up, network only), under its own namespace prefix (so a developer's own `lab` may run
beside it), and is always torn down.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT
from labkit import Lab, lab_up, require_lab

from wanka.derive.routing import switch_routing
from wanka.lab import netlab, switches
from wanka.lab.state import STATE_FILE, Proc, State, alive, proc_info
from wanka.pipeline import open_cluster

LAB = ROOT / "examples/lab-mini/cluster.yaml"
ESTABLISHED_WITHIN = 60.0
LLDP_WITHIN = 30.0


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(LAB, servers=False) as lab:  # its last test takes it down
        yield lab


def test_namespaces_and_links(lab: Lab) -> None:
    d, state = lab.d, lab.state
    assert sorted(state.namespaces.values()) == sorted(
        [s.name for s in d.cluster.switches] + [n.name for n in d.cluster.nodes]
    )
    assert netlab.namespaces_present(lab.prefix) == sorted(state.namespaces)
    assert len(state.veths) == len(d.cabling.cables)
    assert all(len(ns) <= 15 for ns in state.namespaces)
    saved = State.load(lab.dir)
    assert saved is not None and saved.complete and saved.procs == state.procs


def _established(lab: Lab) -> dict[str, dict[str, str]]:
    ns_of = lab.state.device_ns()
    return {name: switches.bgp_peers(lab.state.frr[ns_of[name]]) for name in switch_routing(lab.d)}


def test_every_switch_session_established(lab: Lab) -> None:
    routing = switch_routing(lab.d)
    want = {name: {i["ifname"] for i in r.interfaces} for name, r in routing.items()}
    assert sum(len(v) for v in want.values()) == 2 * sum(
        1 for c in lab.d.cabling.cables if c.a.device in routing
    )
    deadline = lab.started + ESTABLISHED_WITHIN
    got: dict[str, dict[str, str]] = {}
    while True:
        got = _established(lab)
        if all(
            {i for i, s in got[n].items() if s == "Established"} == want[n] == set(got[n])
            for n in want
        ):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"not every BGP session Established after {ESTABLISHED_WITHIN} s: {got}")
        time.sleep(0.5)
    print(f"\nevery BGP session Established {time.monotonic() - lab.started:.2f} s after up began")
    summary = netlab.status(lab.dir)["bgp"]
    assert summary == {n: {"peers": len(v), "established": len(v)} for n, v in want.items()}


def test_lldp_neighbours_match_cabling(lab: Lab) -> None:
    switch_names = {s.name for s in lab.d.cluster.switches}
    want: dict[str, dict[str, list[tuple[str, str]]]] = {s: {} for s in switch_names}
    for c in lab.d.cabling.cables:
        for me, peer in ((c.a, c.b), (c.b, c.a)):
            if me.device in switch_names:
                # a switch advertises its own port names (cabling.csv's port), a server its
                # Linux interface names
                port = peer.port if peer.device in switch_names else peer.ifname
                want[me.device][me.ifname] = [(peer.device, port)]
    ns_of = lab.state.device_ns()
    deadline = time.monotonic() + LLDP_WITHIN
    pending = set(switch_names)
    got: dict[str, dict[str, list[tuple[str, str]]]] = {}
    while pending:
        for name in sorted(pending):
            got[name] = switches.lldp_neighbors(lab.state.lldp[ns_of[name]])
            if got[name] == want[name]:
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            diff = {n: (got[n], want[n]) for n in sorted(pending)}
            pytest.fail(f"LLDP neighbours differ from the cabling after {LLDP_WITHIN} s: {diff}")
        if pending:
            time.sleep(0.5)


def test_second_up_changes_nothing(lab: Lab) -> None:
    before = (lab.dir / STATE_FILE).read_bytes()
    namespaces = netlab.namespaces_present(lab.prefix)
    messages: list[str] = []
    again = netlab.up(lab.d, lab.dir, progress=messages.append, prefix=lab.prefix, servers=False)
    assert (lab.dir / STATE_FILE).read_bytes() == before
    assert netlab.namespaces_present(lab.prefix) == namespaces
    assert again.procs == lab.state.procs
    assert any("already up" in m and "no change" in m for m in messages), messages


def test_status(lab: Lab) -> None:
    st = netlab.status(lab.dir)
    n = len(lab.state.namespaces)
    assert st["up"] is True and st["missing"] == []
    assert st["namespaces"] == {"recorded": n, "present": n}
    assert st["processes"]["lldpd"] == {"alive": 2 * n, "recorded": 2 * n}
    routed = len(switch_routing(lab.d))
    for daemon in ("zebra", "bgpd"):
        assert st["processes"][daemon] == {"alive": routed, "recorded": routed}
    json.dumps(st)


def _ping(ns: str, src: str, dst: str) -> bool:
    r = subprocess.run(
        ["ip", "netns", "exec", ns, "ping", "-c1", "-W1", "-I", src, dst],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return r.returncode == 0


def test_traffic_inside_the_lab(lab: Lab) -> None:
    """Leaf to leaf across a spine (loopback to loopback, BGP routes), and node to node on a
    mgmt leaf's bridge (first port's address). Every packet stays in the lab's namespaces."""
    d = lab.d
    ns_of = lab.state.device_ns()
    leaves = [n for n, r in switch_routing(d).items() if r.tier == "leaf"]
    a, b = (str(d.addressing.loopbacks[n]) for n in leaves[:2])
    node_a, node_b = d.cluster.nodes[0].name, d.cluster.nodes[1].name
    ma, mb = d.addressing.bonds[(node_a, "mgmt")], d.addressing.bonds[(node_b, "mgmt")]
    deadline = time.monotonic() + 20
    while not _ping(ns_of[leaves[0]], a, b):
        if time.monotonic() > deadline:
            pytest.fail(f"{leaves[0]} cannot reach {leaves[1]}'s loopback {b}")
        time.sleep(0.5)
    assert _ping(ns_of[node_a], str(ma), str(mb))


def test_down_leaves_nothing(lab: Lab) -> None:
    """Runs last in this module: down, then nothing of the lab remains."""
    procs = list(lab.state.procs)
    assert procs and all(alive(p) for p in procs)
    result = netlab.down(lab.dir)
    assert result == {"removed": True, "left": []}
    assert netlab.namespaces_present(lab.prefix) == []
    assert [p.pid for p in procs if alive(p) or proc_info(p.pid) is not None and _same(p)] == []
    assert not lab.dir.exists()
    assert netlab.down(lab.dir) == {"removed": False, "left": []}  # a second down: no-op


def _same(p: Proc) -> bool:
    info = proc_info(p.pid)
    return info is not None and info[1] == p.start


def test_too_large_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require_lab(servers=False)
    d = open_cluster(str(LAB))
    monkeypatch.setenv(netlab.LIMIT_ENV, "4")
    with pytest.raises(netlab.LabError, match=f"lab limit is 4 namespaces.*{netlab.LIMIT_ENV}"):
        netlab.up(d, tmp_path / "lab", prefix="wkt-refused", servers=False)
    assert not (tmp_path / "lab").exists()
    assert netlab.namespaces_present("wkt-refused") == []


def test_a_reused_pid_is_not_ours() -> None:
    """alive() checks the start time and the program: a pid file never leads to killing
    another process."""
    me = proc_info(os.getpid())
    assert me is not None
    ours = Proc(os.getpid(), me[0], me[0][0], me[1], "none", "test")
    assert alive(ours)
    assert not alive(Proc(os.getpid(), me[0], me[0][0], me[1] + 1, "none", "test"))
    assert not alive(Proc(os.getpid(), me[0], "/usr/lib/frr/zebra", me[1], "none", "test"))


def test_half_up_is_recorded_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    """up fails after FRR started (lldpd refused): the error says so, a second up refuses,
    down removes everything the failed up made."""
    require_lab(servers=False)
    d = open_cluster(str(LAB))
    prefix = f"wkt{os.urandom(2).hex()}"
    base = Path(tempfile.mkdtemp(prefix="wklab-", dir="/tmp"))
    base.chmod(0o755)
    lab_dir = base / "lab"

    def refuse(state: State, **_: object) -> None:
        raise switches.SwitchError("lldpd refused (test)")

    monkeypatch.setattr(switches, "start_lldpd", refuse)
    try:
        with pytest.raises(netlab.LabError, match="half up.*wanka lab down"):
            netlab.up(d, lab_dir, prefix=prefix, servers=False)
        state = State.load(lab_dir)
        assert state is not None and not state.complete
        frr = [p for p in state.procs if p.role in ("zebra", "bgpd")]
        assert len(frr) == 2 * len(switch_routing(d)) and all(alive(p) for p in frr)
        with pytest.raises(netlab.LabError, match="not fully up"):
            netlab.up(d, lab_dir, prefix=prefix, servers=False)
    finally:
        result = netlab.down(lab_dir)
        shutil.rmtree(base, ignore_errors=True)
    assert result == {"removed": True, "left": []}
    assert netlab.namespaces_present(prefix) == []
    assert not any(alive(p) for p in frr)
