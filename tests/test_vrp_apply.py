"""The VRP applier (wanka.drivers.vrp) against the lab's VRP CLI (wanka.lab.tools.vrp_cli) on
pipes: first push, a second that commits nothing, a hand change found and repaired, a file the
switch refuses leaving the old configuration, a trial whose verification fails rolled back, and
a session lost mid-trial reverted by the trial's own timer. The CLI's BGP states come from its
bgp.json, which a stand-in of the lab's FRR hook writes here (every configured peer
Established but those in down.json); the prompts, questions and errors are the captures'.
"""

from __future__ import annotations

import json
import sys
import time
from functools import cache
from pathlib import Path

import pytest
from conftest import ROOT

from wanka.derive.routing import switch_routing
from wanka.drivers import vrp, vrp_parse
from wanka.drivers.switch import Mismatch, Refused
from wanka.lab.tools import vrp_cli
from wanka.pipeline import check, derive
from wanka.render.vrp import render_vrp

FABRIC = ROOT / "tests/examples/positive/vrp-fabric.yaml"
SHENZHEN = ROOT / "examples/shenzhen-14000p/cluster.yaml"
# the management part a CloudEngine holds (the shapes of a real dump,
# tests/captures/vrp/display_current_configuration_ce6880_partial.txt)
FACTORY = """#
sysname HUAWEI
#
interface MEth0/0/0
 ip address 192.0.2.10 255.255.255.0
#
stelnet server enable
ssh authorization-type default aaa
#
"""
HOOK = """
import json, sys
from pathlib import Path
from wanka.drivers import vrp_parse
d = Path(sys.argv[1])
down = set(json.loads((d / "down.json").read_text())) if (d / "down.json").exists() else set()
tree = vrp_parse.config((d / "running.cfg").read_text())
bgp = tree.find("bgp")
peers = [c.line.split()[1] for b in bgp for c in b.find("peer") if " as-number " in c.line]
ports = [c.line.split()[1] for c in tree.find("interface")]
(d / "links.json").write_text(json.dumps({p: p not in down for p in ports}))
(d / "bgp.json").write_text(json.dumps(
    {p: {"state": "Idle" if p in down else "Established", "prefixes": 1} for p in peers}))
"""


@cache
def leaf_config() -> str:
    d = derive(check(str(FABRIC)))
    name, r = next((n, r) for n, r in switch_routing(d).items() if r.tier == "leaf")
    return render_vrp(r, 9216)


@pytest.fixture
def switch(tmp_path: Path):
    state = tmp_path / "switch"
    (state / "flash").mkdir(parents=True)
    (state / "running.cfg").write_text(FACTORY)
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    env = {
        "WANKA_VRP_DIR": str(state),
        "WANKA_VRP_APPLY": f"{sys.executable} {hook}",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
    }
    opened = []

    def session() -> vrp.Pipe:
        cli = vrp.Pipe(
            [sys.executable, "-m", "wanka.lab.tools.vrp_cli"], state / "flash", env, "leaf"
        )
        opened.append(cli)
        return cli

    yield state, session
    for cli in opened:
        cli.close()


def commits(state: Path) -> list[dict]:
    return json.loads((state / "commits.json").read_text())


def test_first_push_then_nothing_then_a_hand_change_repaired(switch) -> None:
    state, session = switch
    config = leaf_config()
    a = vrp.Vrp(session(), verify_s=5)
    r = a.apply(config)
    assert r.changed and any(d.startswith("+ ") and "bgp " in d for d in r.delta)
    running = (state / "running.cfg").read_text()
    assert vrp.same(running, vrp.compose(config, FACTORY))
    assert "stelnet server enable" in running and "interface MEth0/0/0" in running
    assert (state / "saved.cfg").read_text() == running
    assert [c["label"] for c in commits(state)] == ["wanka-1"]
    # the second push commits nothing
    r = vrp.Vrp(session(), verify_s=5).apply(config)
    assert not r.changed and r.delta == []
    assert len(commits(state)) == 1
    # someone shuts a fabric port by hand: found, and repaired
    port = next(ln for ln in running.splitlines() if ln.startswith("interface 400GE1/0/32"))
    (state / "running.cfg").write_text(running.replace(port + "\n", port + "\n shutdown\n"))
    assert vrp.Vrp(session(), verify_s=5).apply(config, dry_run=True).delta == [
        f"- {port} > shutdown"
    ]
    r = vrp.Vrp(session(), verify_s=5).apply(config)
    assert r.changed and r.delta == [f"- {port} > shutdown"]
    assert " shutdown" not in (state / "running.cfg").read_text()


def test_a_refused_file_leaves_the_old_configuration(switch) -> None:
    state, session = switch
    bad = leaf_config().replace("bfd\n", "bfd\nfrobnicate the fabric\n", 1)
    with pytest.raises(Refused, match=r"Unrecognized command .*frobnicate.*nothing changed"):
        vrp.Vrp(session(), verify_s=5).apply(bad)
    assert (state / "running.cfg").read_text() == FACTORY
    assert not (state / "commits.json").exists()


def test_a_trial_whose_peer_never_comes_up_is_rolled_back(switch) -> None:
    state, session = switch
    config = leaf_config()
    peers = [
        c.line.split()[1]
        for b in vrp_parse.config(config).find("bgp")
        for c in b.find("peer")
        if " as-number " in c.line
    ]
    (state / "down.json").write_text(json.dumps(peers[:1]))
    with pytest.raises(Mismatch, match=rf"{peers[0]} \(Idle\).*previous configuration is back"):
        vrp.Vrp(session(), verify_s=2).apply(config)
    assert (state / "running.cfg").read_text().strip() == FACTORY.strip()
    assert [c["label"] for c in commits(state)] == ["wanka-1", "trial-reverted"]
    assert not (state / "saved.cfg").exists()


def test_a_session_lost_mid_trial_reverts_by_itself(switch) -> None:
    state, session = switch
    config = leaf_config()
    cli = session()
    cli.send("system-view")
    cli.put_file("x.cfg", vrp.compose(config, FACTORY))
    assert "loaded" in cli.send("load configuration file x.cfg replace")
    out = cli.send("commit trial 2 label lost")
    assert "trial configuration mode" in out and "2 seconds" in out
    assert "bgp " in (state / "running.cfg").read_text()
    cli.close()  # the session is gone before the trial is confirmed
    for _ in range(50):
        time.sleep(0.2)
        if (state / "running.cfg").read_text() == FACTORY:
            break
    assert (state / "running.cfg").read_text() == FACTORY


def test_the_cli_speaks_as_the_captures_do(switch) -> None:
    state, session = switch
    cli = session()
    out = cli.send("dos ver")  # gnetcli's mock: a caret line, then the error
    lines = out.splitlines()
    assert lines[0].strip() == "^" and lines[1] == vrp_cli.UNKNOWN
    assert out.rstrip().endswith("<HUAWEI>")
    assert cli.send("system-view").rstrip().endswith("[~HUAWEI]")
    assert cli.send("sysname leaf9").rstrip().endswith("[*leaf9]")
    v = vrp_parse.version(cli.send("display version"))
    assert v.vrp and v.model
    # what the fabric checks read parses as the captured outputs do
    assert vrp_parse.bgp_peers(cli.send("display bgp peer")).peers == []


@pytest.mark.parametrize("path", [FABRIC, SHENZHEN], ids=["vrp-fabric", "shenzhen"])
def test_every_rendered_config_loads_in_the_emulator(path: Path) -> None:
    """Every vrp.cfg of the VRP example and of the Shenzhen example (its 592 parameter-fabric
    switches) passes the emulator's `load configuration` check, and a wrong line is refused."""
    d = derive(check(str(path)))
    routing = switch_routing(d)
    vrps = [(s, r) for s in d.cluster.switches if (r := routing.get(s.name)) and r.os == "vrp"]
    assert vrps
    for sw, r in vrps:
        text = render_vrp(r, sw.model.max_frame)
        assert vrp_cli.check(vrp.compose(text, FACTORY)) is None, sw.name
    bad = render_vrp(vrps[0][1], 9216).replace(" undo portswitch", " undo portswich", 1)
    assert "undo portswich" in (vrp_cli.check(bad) or "")


def test_a_trial_whose_port_stays_down_is_rolled_back(switch) -> None:
    state, session = switch
    (state / "down.json").write_text(json.dumps(["400GE1/0/32"]))
    with pytest.raises(Mismatch, match=r"ports not up: 400GE1/0/32 \(down\).*is back"):
        vrp.Vrp(session(), verify_s=1).apply(leaf_config())
    assert (state / "running.cfg").read_text().strip() == FACTORY.strip()


def test_lldp_neighbours_are_checked(switch) -> None:
    state, session = switch
    (state / "lldp.json").write_text(
        json.dumps([{"local": "400GE1/0/29", "ttl": 120, "port": "400GE1/0/1", "name": "spine1"}])
    )
    cli = session()
    a = vrp.Vrp(cli)
    check_ok = vrp.lldp_neighbours({"400GE1/0/29": "spine1"})
    check_bad = vrp.lldp_neighbours({"400GE1/0/29": "spine2", "400GE1/0/30": "spine1"})
    assert check_ok(a, "") is None
    assert check_bad(a, "") == "LLDP neighbours missing: 400GE1/0/29 (spine2), 400GE1/0/30 (spine1)"


def test_a_question_the_applier_does_not_expect_is_answered_no(switch) -> None:
    """`save` asks `[Y/N]` (the command reference's dialog): where the applier does not expect
    a question it answers N and stops, and the switch does nothing."""
    state, session = switch
    a = vrp.Vrp(session())
    with pytest.raises(Refused, match=r"save: the switch asked .*\[Y/N\]"):
        a._ok("save")
    assert not (state / "saved.cfg").exists()
    assert a.cli.send("display version").rstrip().endswith("<HUAWEI>")  # the session goes on


def test_the_lab_refuses_vrp_switches_before_it_builds_anything(tmp_path: Path) -> None:
    """`wanka lab up` cannot run a VRP switch yet (its ports have no Linux names): it says so
    before it creates anything."""
    import os

    from wanka.lab import netlab

    if os.geteuid() != 0:
        pytest.fail("needs root (CI runs as root): the lab checks root first", pytrace=False)
    with pytest.raises(netlab.LabError, match="does not run VRP switches yet: lab-p1-core"):
        netlab.up(derive(check(str(FABRIC))), tmp_path / "lab")
    assert not (tmp_path / "lab").exists()
