"""The lab's servers and BMCs: examples/lab-mini with Redfish power, sshd, tools and faults.

Needs root, FRR, lldpd, sshd (CI runs as root; `make deps` installs them): without them
these tests fail, they do not skip. The module takes the session's lab-mini (tests/labkit.py),
restored to how `up` left it (no fault, every server off); its last test takes it down and
checks that nothing is left (the next module asking for it gets it brought up again).
SSH goes through the lab's jump host (a namespace), so a developer's own lab-mini lab may
run beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_wanka
from labkit import MINI, Lab, Labs

from wanka.drivers.redfish import BmcUnreachable
from wanka.lab import faults, netlab, nodes, switches
from wanka.lab.state import proc_info

A = "lab-p1-pod01-r01-s01"
B = "lab-p1-pod01-r01-s02"
C = "lab-p2-pod01-r01-s01"  # phase 2: another management subnet
LLDP_WITHIN = 30.0


def until(probe: Callable[[], object], want: object, within: float, every: float = 0.5) -> None:
    """Wait until probe() == want; fail with the last value seen after `within` seconds."""
    deadline = time.monotonic() + within
    while (got := probe()) != want:
        assert time.monotonic() < deadline, f"after {within:g} s: {got!r}, want {want!r}"
        time.sleep(every)


def power_on(lab: Lab, *names: str) -> None:
    for n in names:
        lab.client(n).set_power(True)
    for n in names:
        assert lab.client(n).wait_power("On", 20), f"{n} did not power on"
    deadline = time.monotonic() + 30  # sshd starts within a second; a loaded CI box is slower
    for n in names:
        while lab.ssh(n, "true").returncode != 0:
            assert time.monotonic() < deadline, f"{n}: sshd does not answer"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def lab(labs: Labs) -> Lab:
    return labs.get(MINI)  # restored: no fault, every server off


def test_servers_start_powered_off(lab: Lab) -> None:
    assert set(lab.access["nodes"]) == {n.name for n in lab.d.cluster.nodes if n.model.cards}
    assert len(lab.access["nodes"]) == 8
    assert lab.client(C).power_state() == "Off"
    assert lab.ssh(C, "true").returncode == 255  # no sshd while off
    r = run_wanka("lab", "ssh", str(lab.dir), A, "--", "hostname")
    assert r.returncode == 255 and "Connection refused" in r.stderr
    system = lab.client(C).system()
    assert system["Name"] == C and system["UUID"] == lab.access["nodes"][C]["system"]


def test_power_on_through_redfish_reaches_sshd(lab: Lab) -> None:
    started = time.monotonic()
    power_on(lab, A, B, C)
    print(f"\n3 servers powered on and answering ssh in {time.monotonic() - started:.1f} s")
    r = run_wanka("lab", "ssh", str(lab.dir), C, "--", "hostname")
    assert r.returncode == 0 and r.stdout.strip() == C
    for n in (A, B, C):
        r = lab.ssh(n, "hostname; uname -m; npu-smi info -l | head -1; nvme list -o json")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == n and lines[1] == "aarch64"  # the model's Kunpeng host
        assert lines[2].split(":")[1].strip() == "8"  # Total Count : 8
        assert len(json.loads("\n".join(lines[3:]))["Devices"]) == 2
    facts = lab.ssh(A, "lscpu -J; grep MemTotal /proc/meminfo")
    rows = json.loads(facts.stdout[: facts.stdout.rindex("}") + 1])["lscpu"]
    cpu = {r["field"]: r["data"] for r in rows}
    assert cpu["Model name:"] == "Kunpeng 920 7265" and cpu["Socket(s):"] == "4"
    mem_kb = int(facts.stdout.split("MemTotal:")[1].split()[0])
    assert 0.95 * 1024**3 < mem_kb <= 1024**3  # the model's 1024 GB, less what firmware keeps


def test_each_server_has_its_own_filesystem(lab: Lab) -> None:
    mark = f"/etc/wanka-test-{os.getpid()}"
    assert lab.ssh(A, f"echo {A} > {mark} && mkdir -p /opt/x && touch /opt/x/a").returncode == 0
    assert lab.ssh(A, f"cat {mark}").stdout.strip() == A
    assert lab.ssh(B, f"test -e {mark} || echo absent").stdout.strip() == "absent"
    assert not Path(mark).exists()  # nor on the lab host
    upper = nodes.node_dir(lab.dir, A) / "fs/etc/upper" / Path(mark).name
    assert upper.read_text().strip() == A  # the server's disk


def test_npu_ports_see_the_cabled_leaf_port(lab: Lab) -> None:
    plan = {
        (c.a.device, c.a.ifname): (c.b.device, c.b.port)
        for c in lab.d.cabling.cables
        if c.a.device == A and c.plane == "param"
    }
    assert len(plan) == 8
    want = [plan[(A, f"param{i}")] for i in range(8)]
    every_port = "for i in 0 1 2 3 4 5 6 7; do hccn_tool -i $i -lldp -g; done"
    until(lambda: _lldp_ports(lab.ssh(A, every_port).stdout), want, LLDP_WITHIN, every=1)
    assert all(port.startswith("400GE1/0/") for _, port in want)  # the switch's own names


def _lldp_ports(text: str) -> list[tuple[str, str]]:
    """(system name, port id) of each `hccn_tool -lldp -g` answer in `text`."""
    out, port = [], None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Port ID TLV"):
            port = lines[i + 1].split(":", 1)[1].strip()
        if line.startswith("System Name TLV"):
            out.append((lines[i + 1].strip(), port or ""))
    return out


def test_power_off_stops_the_server(lab: Lab) -> None:
    power_on(lab, B)
    session = subprocess.Popen(
        lab.ssh_argv(B, "sleep 120"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(1)
    rec = nodes.server_record(lab.dir, B)
    assert rec is not None and len(nodes.members(rec)) >= 2  # sshd and the session
    lab.client(B).set_power(False)
    assert lab.client(B).wait_power("Off", 20)
    assert session.wait(timeout=10) != 0  # the session died with the server
    until(lambda: nodes.members(rec), [], 10, every=0.1)
    assert not nodes.running(lab.dir, B)
    assert lab.ssh(B, "true").returncode == 255
    power_on(lab, B)  # and back: the disk kept what was written
    assert lab.ssh(B, "hostname").stdout.strip() == B


# ----------------------------------------------------------------------------- faults


def test_fault_power_never(lab: Lab) -> None:
    node = "lab-p2-pod01-r02-s02"
    assert lab.fault("add", f"power-never:{node}").returncode == 0
    lab.client(node).reset("On")  # accepted (204) ...
    time.sleep(3.5)  # ... and past the power delay (1-2 s) nothing happened
    assert lab.client(node).power_state() == "Off"
    assert lab.fault("clear", f"power-never:{node}").returncode == 0
    lab.client(node).set_power(True)
    assert lab.client(node).wait_power("On", 10)
    lab.client(node).set_power(False)


def test_fault_bmc_slow_and_down(lab: Lab) -> None:
    slow, down = "lab-p2-pod01-r01-s02", "lab-p2-pod01-r02-s01"
    r = lab.fault("add", f"bmc-slow:{slow}=3", f"bmc-down:{down}")
    assert r.returncode == 0, r.stderr
    started = time.monotonic()
    assert lab.client(slow, timeout=10).power_state() == "Off"
    assert time.monotonic() - started >= 3
    with pytest.raises(BmcUnreachable, match="no answer within 1 s"):
        lab.client(slow, timeout=1).power_state()
    with pytest.raises(BmcUnreachable, match="no answer within 2 s"):
        lab.client(down, timeout=2).power_state()
    assert lab.client(A, timeout=2).power_state() == "On"  # the other BMCs answer
    assert lab.fault("clear", f"bmc-slow:{slow}=3", f"bmc-down:{down}").returncode == 0
    assert lab.client(down, timeout=2).power_state() == "Off"


def test_fault_link_down(lab: Lab) -> None:
    assert lab.ssh(A, "hccn_tool -i 3 -link -g").stdout.strip() == "link status: UP"
    assert lab.fault("add", f"link-down:{A}:npu3").returncode == 0

    def link3() -> str:
        return lab.ssh(A, "hccn_tool -i 3 -link -g").stdout.strip()

    until(link3, "link status: DOWN", 10, every=0.2)
    assert lab.ssh(A, "hccn_tool -i 2 -link -g").stdout.strip() == "link status: UP"
    assert lab.fault("clear", f"link-down:{A}:npu3").returncode == 0
    until(link3, "link status: UP", 10, every=0.2)


def test_fault_cable_swap(lab: Lab) -> None:
    cabled = {c.a.ifname: (c.b.device, c.b.port) for c in lab.d.cabling.cables
              if c.a.device == A and c.plane == "param"}  # fmt: skip
    # the NPUs' addresses (hccn_tool sets them on the ports) stay with the NPUs
    setup = (
        "hccn_tool -i 1 -ip -s address 10.64.0.201 netmask 255.255.255.192 && "
        "hccn_tool -i 2 -ip -s address 10.64.0.202 netmask 255.255.255.192"
    )
    assert lab.ssh(A, setup).returncode == 0
    r = lab.fault("add", f"cable-swap:{A}:npu1={A}:npu2")
    assert r.returncode == 0, r.stderr
    addrs = lab.ssh(A, "hccn_tool -i 1 -ip -g; hccn_tool -i 2 -ip -g").stdout.split()
    assert addrs[0] == "ipaddr:10.64.0.201" and addrs[2] == "ipaddr:10.64.0.202"

    def seen() -> list[tuple[str, str]]:
        return _lldp_ports(lab.ssh(A, "hccn_tool -i 1 -lldp -g; hccn_tool -i 2 -lldp -g").stdout)

    until(seen, [cabled["param2"], cabled["param1"]], LLDP_WITHIN, every=1)
    assert lab.fault("clear", "--all").returncode == 0
    until(seen, [cabled["param1"], cabled["param2"]], LLDP_WITHIN, every=1)
    addrs = lab.ssh(A, "hccn_tool -i 1 -ip -g; hccn_tool -i 2 -ip -g").stdout.split()
    assert addrs[0] == "ipaddr:10.64.0.201" and addrs[2] == "ipaddr:10.64.0.202"


def test_fault_cable_swap_between_servers(lab: Lab) -> None:
    r = lab.fault("add", f"cable-swap:{A}:npu5={B}:npu5")
    assert r.returncode == 0, r.stderr
    # the cable of B's npu5 now ends in A's namespace under A's name for that port: the
    # same leaf port name, since both are port 5 of their server, but the other server's lane
    a_if = _if_index(lab, A, "param5")
    assert lab.fault("clear", f"cable-swap:{A}:npu5={B}:npu5").returncode == 0
    assert _if_index(lab, A, "param5") != a_if  # its own cable is back
    assert lab.ssh(A, "hccn_tool -i 5 -link -g").stdout.strip() == "link status: UP"
    # and LLDP sees the cabled leaf port again on both servers
    for node in (A, B):
        want = [next((c.b.device, c.b.port) for c in lab.d.cabling.cables
                     if c.a.device == node and c.a.ifname == "param5")]  # fmt: skip
        until(lambda n=node: _lldp_ports(lab.ssh(n, "hccn_tool -i 5 -lldp -g").stdout), want,
              LLDP_WITHIN, every=1)  # fmt: skip


def _if_index(lab: Lab, node: str, ifname: str) -> int:
    ns = lab.access["nodes"][node]["namespace"]
    out = subprocess.run(["ip", "-n", ns, "-j", "link", "show", ifname], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    return int(json.loads(out)[0]["link_index"])


def test_faults_in_the_profile(lab: Lab) -> None:
    r = lab.fault("add", f"nvme-missing:{A}", f"npu-health:{A}:npu2=Critical",
                   f"firmware:{A}=6.4.0.1.100", f"link-speed:{A}:npu3")  # fmt: skip
    assert r.returncode == 0, r.stderr
    speed = lab.ssh(A, "hccn_tool -i 3 -speed -g; hccn_tool -i 4 -speed -g").stdout
    assert speed == "Speed: 100000 Mb/s\nSpeed: 200000 Mb/s\n"  # half the model's 200G
    out = lab.ssh(A, "nvme list -o json; npu-smi info -t health -i 2 -c 0; "
                     "npu-smi info -t board -i 0 -c 0").stdout  # fmt: skip
    assert len(json.loads(out[: out.index("\n}\n") + 2])["Devices"]) == 1
    assert "Health Status" in out and "Critical" in out
    assert "6.4.0.1.100" in out
    assert lab.ssh(B, "npu-smi info -t health -i 2 -c 0").stdout.count("OK") == 1  # B is fine
    assert lab.fault("clear", "--all").returncode == 0
    out = lab.ssh(A, "nvme list -o json; npu-smi info -t health -i 2 -c 0").stdout
    assert len(json.loads(out[: out.index("\n}\n") + 2])["Devices"]) == 2 and "Critical" not in out
    assert lab.ssh(A, "hccn_tool -i 3 -speed -g").stdout == "Speed: 200000 Mb/s\n"


def test_fault_bgp_down(lab: Lab) -> None:
    leaf = "lab-p1-pod01-param-leaf01"
    vty = lab.access["switches"][leaf]["vty"]
    peers = switches.bgp_peers(vty)
    port = sorted(peers)[0]
    assert all(s == "Established" for s in peers.values())
    r = lab.fault("add", f"bgp-down:{leaf}:{port}")
    assert r.returncode == 0, r.stderr
    until(lambda: switches.bgp_peers(vty)[port] == "Established", False, 10, every=0.2)
    st = json.loads(run_wanka("lab", "status", str(lab.dir)).stdout)
    assert st["bgp"][leaf]["established"] == len(peers) - 1
    assert st["faults"] == [f"bgp-down:{leaf}:{port}"]
    assert lab.fault("clear", "--all").returncode == 0
    until(lambda: switches.bgp_peers(vty)[port], "Established", 30)


def test_up_with_faults_replaces_them(lab: Lab, tmp_path: Path) -> None:
    spec = tmp_path / "faults.yaml"
    spec.write_text(f"faults:\n  - nvme-missing:{B}=2\n  - bmc-slow:{C}=1\n")
    again = netlab.up(lab.d, lab.dir, faults=faults.read(str(spec)))
    assert sorted(again.faults) == sorted([f"nvme-missing:{B}=2", f"bmc-slow:{C}=1"])
    assert json.loads(lab.ssh(B, "nvme list -o json").stdout)["Devices"] == []
    netlab.up(lab.d, lab.dir, faults=[])
    assert len(json.loads(lab.ssh(B, "nvme list -o json").stdout)["Devices"]) == 2


def test_bad_faults_are_refused_with_the_reason(lab: Lab, tmp_path: Path) -> None:
    r = lab.fault("add", f"link-down:{A}:npu9")
    assert r.returncode == 1 and "npu0 to npu7" in r.stderr
    r = lab.fault("add", "link-down:no-such-node:npu1")
    assert r.returncode == 1 and "no server named no-such-node" in r.stderr
    bad = tmp_path / "faults.yaml"
    bad.write_text("- bmc-down:x\n- flood:x\n")
    r = lab.fault("add", str(bad))
    assert r.returncode == 1 and f"{bad}:2:3:" in r.stderr and "unknown kind 'flood'" in r.stderr
    r = lab.fault("clear", f"bmc-down:{A}")
    assert r.returncode == 1 and "not injected" in r.stderr
    assert json.loads(run_wanka("lab", "status", str(lab.dir)).stdout)["faults"] == []


def test_down_leaves_nothing(lab: Lab) -> None:
    power_on(lab, "lab-p2-pod01-r02-s02")
    recs = [nodes.server_record(lab.dir, n) for n in lab.access["nodes"]]
    running = [r for r in recs if r is not None]
    assert len(running) >= 4
    bmc_pid = next(p.pid for p in lab.state.procs if p.role == "bmc")
    out = netlab.down(lab.dir)
    assert out == {"removed": True, "left": []}
    assert not lab.dir.exists()
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert lab.state.prefix not in left
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    assert lab.state.prefix not in links  # nothing of the lab was ever in this namespace
    assert proc_info(bmc_pid) is None  # gone (at most a zombie until init reaps it)
    assert all(nodes.members(r) == [] for r in running)  # no server process, no mount ns
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(lab.dir) not in mounts
    again = netlab.down(lab.dir)  # the fixture's own down then finds nothing to do
    assert again["removed"] is False
