"""The Pulumi program of every stack of the examples, run under the SDK's mocks
(pulumi.runtime.set_mocks, through wanka.pulumi.preview): resource counts per type match the
model, names are stable, bring-up waits for BMCs and the fabric, no secret leaks, the stack
files in stacks/ are current, and `wanka plan --pulumi` reports it all."""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pytest
from conftest import ROOT, run_wanka

from wanka.derive.bundle import Derived
from wanka.derive.routing import is_routed, switch_routing
from wanka.lab import access as lab_access
from wanka.lab.access import Access, Server, Ssh, SwitchSsh
from wanka.lab.access import Switch as LabSwitch
from wanka.pipeline import check, derive
from wanka.pulumi import preview, shards

LAB = "examples/lab-mini/cluster.yaml"
LAB_SSH = Ssh(user="root", private_key="/lab/ssh/id_ed25519", known_hosts="/lab/ssh/known_hosts",
              jump_namespace="wk-jump", proxy_command="jump %h %p", options=())  # fmt: skip
SHENZHEN = "examples/shenzhen-14000p/cluster.yaml"
CLUSTERS = (LAB, SHENZHEN)
PASSWORD = "s3cr3t-bmc-passw0rd-for-tests"
SECRET_KEY = "4dabf18193072939515e22adb298388d"  # the property key that marks a secret value


@cache
def derived(path: str) -> Derived:
    return derive(check(str(ROOT / path)))


@cache
def runs(path: str) -> tuple[preview.StackRun, ...]:
    d = derived(path)
    return tuple(preview.preview(d, path, extra={"wanka:bmcPassword": PASSWORD}))


def by_type(run: preview.StackRun, kind: str) -> list[preview.Registration]:
    return [r for r in run.resources if r.short_type == kind]


@pytest.mark.parametrize("path", CLUSTERS)
def test_counts_match_the_model(path: str) -> None:
    d = derived(path)
    c = d.cluster
    got: dict[str, Counter[str]] = defaultdict(Counter)
    for run in runs(path):
        assert len(run.resources) <= shards.BUDGET, run.shard.stack
        assert len(run.resources) == run.shard.resources, run.shard.stack
        for kind in ("BareMetalNode", "SwitchConfig", "BringupBatch"):
            got[kind].update(r.name for r in by_type(run, kind))
        assert len(by_type(run, "Stack")) == 1
        assert {r.name for r in by_type(run, "StackReference")} == set(run.shard.references)
    # every node and routed switch of the model exactly once, over all stacks
    nodes = [n.name for n in c.nodes if not n.excluded]
    racks = {n.rack.name for n in c.nodes if not n.excluded}
    routed = [s.name for s in c.switches if is_routed(s)]
    assert got["BareMetalNode"] == Counter(nodes)
    assert got["SwitchConfig"] == Counter(routed)
    assert got["BringupBatch"] == Counter(racks)
    # and per phase: a phase's resources are in its own stacks
    for p in c.phases:
        mine = [r for r in runs(path) if r.shard.phase == p.name]
        names = {x.name for r in mine for x in by_type(r, "BareMetalNode")}
        assert names == {n.name for n in c.nodes if n.pod.phase is p and not n.excluded}


def test_examples_shard_as_documented() -> None:
    lab = [r.shard.stack for r in runs(LAB)]
    assert lab == ["lab-p1", "lab-p2"]
    sz = runs(SHENZHEN)
    p2 = [r for r in sz if r.shard.phase == "p2"]
    assert [r.shard.stack for r in sz if r.shard.phase == "p1"] == ["sz1-p1"]
    # phase 2 (2,064 servers) does not fit one stack: one per pod, reading phase 1's spines
    assert len(p2) == 45 and all(r.shard.pod == r.shard.stack for r in p2)
    assert all(r.shard.references == ["sz1-p1"] for r in p2)
    assert sum(len(r.resources) for r in p2) > shards.BUDGET


def test_sharding_with_a_fabric_stack() -> None:
    """A phase with spines that exceeds the budget gets a fabric stack its pods read."""
    d = derived(LAB)
    p1 = shards.shards(d, "p1", budget=10)
    assert [s.stack for s in p1] == ["lab-p1-fabric", "lab-p1-pod01"]
    assert [x.tier for x in p1[0].switches] == ["spine", "spine"] and not p1[0].nodes
    assert p1[1].references == ["lab-p1-fabric"]
    assert {x.tier for x in p1[1].switches} == {"leaf"}


def _closure(run: preview.StackRun) -> dict[str, set[str]]:
    deps = {r.urn: set(r.dependencies) for r in run.resources}
    out: dict[str, set[str]] = {}

    def walk(urn: str) -> set[str]:
        if urn not in out:
            out[urn] = set()
            for u in deps.get(urn, ()):
                out[urn] |= {u} | walk(u)
        return out[urn]

    for urn in deps:
        walk(urn)
    return out


@pytest.mark.parametrize("path", CLUSTERS)
def test_bringup_waits_for_bmcs_and_fabric(path: str) -> None:
    d = derived(path)
    routing = switch_routing(d)
    switches = {s.name: s for s in d.cluster.switches}
    checked = 0
    for run in runs(path):
        urn = {(r.short_type, r.name): r.urn for r in run.resources}
        closure = _closure(run)
        refs = {r.urn for r in by_type(run, "StackReference")}
        for batch in by_type(run, "BringupBatch"):
            nodes = json.loads(json.dumps(batch.inputs["nodes"]))
            assert nodes and all(d.cluster.node(n).rack.name == batch.name for n in nodes)
            before = closure[batch.urn]
            # every node's BMC first
            assert {urn[("BareMetalNode", n)] for n in nodes} <= before
            # the pod's leaves first, and the spines they peer with: in this stack, or the
            # stacks that configure them through a StackReference
            pod = d.cluster.node(nodes[0]).pod
            leaves = [s.name for s in pod.switches if is_routed(s) and s.tier == "leaf"]
            assert {urn[("SwitchConfig", x)] for x in leaves} <= before
            for leaf in leaves:
                for peer in {i["peer"] for i in routing[leaf].interfaces}:
                    key = ("SwitchConfig", peer)
                    if key in urn:
                        assert urn[key] in before, (batch.name, peer)
                    else:
                        assert switches[peer].pod.phase is not pod.phase or run.shard.pod
                        assert refs and refs <= before, (batch.name, peer)
            checked += 1
    assert checked == sum(len(by_type(r, "BringupBatch")) for r in runs(path)) > 0


def _plain_values(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string outside a secret wrapper, with where it is."""
    if isinstance(value, dict):
        if SECRET_KEY in value:
            return []
        return [x for k, v in value.items() for x in _plain_values(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _plain_values(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) else []


@pytest.mark.parametrize("path", CLUSTERS)
def test_no_secret_outside_a_secret(path: str) -> None:
    secrets_seen = 0
    for run in runs(path):
        for r in run.resources:
            for where, text in _plain_values(r.inputs):
                assert PASSWORD not in text, f"{r.name}{where}"
                if where == ".__provider":  # the pickled provider holds no credential
                    raw = base64.b64decode(text)
                    assert PASSWORD.encode() not in raw and b"password" not in raw.lower()
            if r.short_type == "BareMetalNode":
                secret = r.inputs["password"]
                assert secret[SECRET_KEY] and secret["value"] == PASSWORD
                assert r.secret_outputs == ["password"]  # the output is a secret too
                secrets_seen += 1
        for urn, outputs in run.outputs.items():
            assert PASSWORD not in json.dumps(outputs), urn
        # the stack's exports are recorded (registered on the root Stack after the program)
        (exports,) = [
            o for u, o in run.outputs.items() if u.split("::")[-2] == "pulumi:pulumi:Stack"
        ]
        assert set(exports) == {"fabric", "nodes", "verification"}, exports
    assert secrets_seen == sum(len(by_type(r, "BareMetalNode")) for r in runs(path))


def test_names_are_stable_between_runs() -> None:
    """The same stacks again, in this process and in another one with another hash seed: the
    same resources, names, parents and dependencies."""
    d = derived(LAB)

    def shape(rs: list[preview.StackRun]) -> list[Any]:
        return [[(x.type, x.name, x.parent, x.dependencies) for x in r.resources] for r in rs]

    first = shape(list(runs(LAB)))
    again = preview.preview(d, LAB, extra={"wanka:bmcPassword": PASSWORD})
    assert shape(again) == first
    pod = runs(SHENZHEN)[7]
    again_pod = preview.run_stack(derived(SHENZHEN), SHENZHEN, pod.shard)
    assert shape([again_pod]) == shape([pod])
    out = run_wanka("plan", "--pulumi", LAB, "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc == preview.as_json(list(runs(LAB)))


def test_stack_files_are_current() -> None:
    project = ROOT / "stacks"
    expected: dict[str, str] = {}
    for path in CLUSTERS:
        expected |= shards.stack_files(derived(path), ROOT / path, project)
    present = {p.name: p.read_text(encoding="utf-8") for p in project.glob("Pulumi.*.yaml")}
    hint = "regenerate: wanka plan --pulumi FILE --stack-files stacks/"
    assert set(present) == set(expected), hint
    for name, text in expected.items():
        assert present[name] == text, f"{name} is stale: wanka plan --pulumi --stack-files stacks/"
    assert "wanka:pod: sz1-p2-pod07" in present["Pulumi.sz1-p2-pod07.yaml"]
    main = (project / "__main__.py").read_text(encoding="utf-8")
    assert "from wanka.pulumi.stack import main" in main
    assert "runtime:\n  name: python" in (project / "Pulumi.yaml").read_text(encoding="utf-8")


def test_plan_pulumi_text_and_phase() -> None:
    out = run_wanka("plan", "--pulumi", LAB, "--phase", "p2")
    assert out.returncode == 0, out.stderr
    lines = [x for x in out.stdout.splitlines() if "lab-p" in x]
    assert len(lines) == 1 and "lab-p2" in lines[0]
    cells = [c.strip() for c in lines[0].strip("│ ").split("│")]
    # stack, shard, BareMetalNode, SwitchConfig, BringupBatch, Pod, Rack, StackReference, total
    assert cells[:9] == ["lab-p2", "whole phase", "4", "1", "2", "1", "3", "1", "13"]
    assert cells[9] == "lab-p1"


def test_plan_pulumi_bad_input() -> None:
    out = run_wanka("plan", "--pulumi", LAB, "--phase", "p9")
    assert out.returncode == 2 and "unknown phase 'p9'" in out.stderr
    assert "Traceback" not in out.stderr
    out = run_wanka("plan", "--pulumi", LAB, "--stack-files", "docs")
    assert out.returncode == 2 and "not a Pulumi project" in out.stderr


def test_program_refuses_a_wrong_shard() -> None:
    d = derived(SHENZHEN)
    shard = shards.Shard("sz1-p2", "p2", None)  # p2 is sharded: a pod must be named
    with pytest.raises(pulumi.RunError, match="phase p2 is sharded: set wanka:pod"):
        preview.run_stack(d, SHENZHEN, shard)
    shard = shards.Shard("sz1-p2-x", "p2", "sz1-p2-pod99")
    with pytest.raises(pulumi.RunError, match="wanka:pod is 'sz1-p2-pod99', not a shard"):
        preview.run_stack(d, SHENZHEN, shard)


def test_program_reads_the_lab(tmp_path: Path) -> None:
    """With wanka:lab, endpoints come from the lab's access.json: one emulator URL, each node's
    system id, each switch's namespace and vty socket (the netns transport)."""
    d = derived(LAB)
    access = Access(
        cluster="lab",
        ssh=LAB_SSH,
        bmc_url="http://127.0.0.1:8123",
        nodes={
            n.name: Server(address="10.90.0.1", system=f"uuid-{n.name}", namespace=f"ns-{n.name}")
            for n in d.cluster.nodes
        },
        switches={
            s.name: LabSwitch(namespace=f"ns-{s.name}", vty=f"/run/{s.name}")
            for s in d.cluster.switches
        },
    )
    lab_access.write(tmp_path, access)
    run = preview.run_stack(d, LAB, shards.shards(d, "p1")[0], {"wanka:lab": str(tmp_path)})
    bmc = by_type(run, "BareMetalNode")[0]
    assert bmc.inputs["url"] == "http://127.0.0.1:8123"
    assert bmc.inputs["system"] == f"uuid-{bmc.name}"
    sc = by_type(run, "SwitchConfig")[0]
    assert sc.inputs["transport"] == {
        "kind": "netns",
        "namespace": f"ns-{sc.name}",
        "vty": f"/run/{sc.name}",
    }
    batch = by_type(run, "BringupBatch")[0]
    assert batch.inputs["lab"] == str(tmp_path)
    # without a lab: the BMC's oob address and the ssh transport
    plain = by_type(runs(LAB)[0], "BareMetalNode")[0]
    assert plain.inputs["url"] == f"https://{d.addressing.bmcs[plain.name]}"
    assert by_type(runs(LAB)[0], "SwitchConfig")[0].inputs["transport"]["kind"] == "ssh"


def test_regenerating_keeps_secrets_and_settings() -> None:
    """`--stack-files` over a stack file Pulumi has added a salt and a secret to keeps them."""
    shard = shards.shards(derived(LAB), "p2")[0]
    fresh = shards.stack_file(shard, "../examples/lab-mini/cluster.yaml")
    existing = (
        "encryptionsalt: v1:abc:def\n"
        "config:\n"
        "  wanka:cluster: old/path.yaml\n"
        "  wanka:phase: p2\n"
        "  wanka:bmcPassword:\n"
        "    secure: v1:AAAA\n"
        "  wanka:bmcUrl: http://127.0.0.1:8000\n"
    )
    merged = shards.merge(existing, fresh)
    import yaml

    doc = yaml.safe_load(merged)
    assert doc["encryptionsalt"] == "v1:abc:def"
    assert doc["config"] == {
        "wanka:cluster": "../examples/lab-mini/cluster.yaml",
        "wanka:phase": "p2",
        "wanka:bmcPassword": {"secure": "v1:AAAA"},
        "wanka:bmcUrl": "http://127.0.0.1:8000",
    }
    assert merged.startswith(fresh.partition("config:")[0])
    assert shards.merge(fresh, fresh) == fresh


def test_stacks_main_runs_from_the_project_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """stacks/__main__.py, as `pulumi up` runs it (working directory stacks/, the
    configuration of Pulumi.lab-p2.yaml), registers what the preview computed."""
    import runpy

    import yaml

    project = ROOT / "stacks"
    config = yaml.safe_load((project / "Pulumi.lab-p2.yaml").read_text(encoding="utf-8"))
    config = {**config["config"], "wanka:bmcPassword": PASSWORD}
    shard = shards.shards(derived(LAB), "p2")[0]
    monkeypatch.chdir(project)
    run = preview.run_stack(
        derived(LAB),
        config["wanka:cluster"],
        shard,
        config,
        program=lambda: runpy.run_path(str(project / "__main__.py"), run_name="__main__"),
    )
    assert config["wanka:cluster"] == "../examples/lab-mini/cluster.yaml"
    expected = next(r for r in runs(LAB) if r.shard.stack == "lab-p2")
    assert run.counts() == expected.counts()
    assert [(x.type, x.name, x.parent) for x in run.resources] == [
        (x.type, x.name, x.parent) for x in expected.resources
    ]
    batch = by_type(run, "BringupBatch")[0]
    assert batch.inputs["cluster"] == "../examples/lab-mini/cluster.yaml"


def test_program_reports_an_invalid_cluster(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / LAB).read_text(encoding="utf-8").replace("mtu: 9000", "mtu: 9900"))
    shard = shards.shards(derived(LAB), "p1")[0]
    from wanka.pulumi import stack

    with pytest.raises(pulumi.RunError, match=r"bad.yaml is not valid:\n.*bad.yaml:\d+:\d+: error"):
        preview.run_stack(derived(LAB), str(bad), shard, program=stack.main)


def test_switch_transports() -> None:
    """Real switches: ssh to the loopback as credentials.switch, the password reference
    passed on (env/file) or left to the secret input (pulumi); in a lab: netns unless
    wanka:switchTransport is ssh, then the lab switch's sshd through the jump."""
    from wanka.pulumi.stack import Settings, switch_transport

    lab = derive(check(str(ROOT / LAB)))
    sw = next(s for s in lab.cluster.switches if switch_routing(lab).get(s.name))
    real = switch_transport(lab, sw, None)
    assert real == {
        "kind": "ssh",
        "host": str(lab.addressing.loopbacks[sw.name]),
        "username": "admin",
        "credential": {"env": "WANKA_SWITCH_PASSWORD"},
    }
    sz = derive(check(str(ROOT / SHENZHEN)))
    t = switch_transport(
        sz, next(s for s in sz.cluster.switches if switch_routing(sz).get(s.name)), None
    )
    assert t["username"] == "netadmin" and "credential" not in t  # {pulumi: ...}: a secret input
    sshd = SwitchSsh(address="10.255.0.3", port=22, user="admin", password=True,
                     proxy_command="python -m wanka.lab.jump wk-x-3 %h %p")  # fmt: skip
    entry = LabSwitch(namespace="wk-x-3", vty="/lab/frr/wk-x-3", ssh=sshd)
    access = Access(cluster="lab", ssh=replace(LAB_SSH, private_key="/lab/ssh/id_ed25519",
                                               known_hosts="/lab/ssh/kh"),
                    bmc_url=None, switches={sw.name: entry})  # fmt: skip
    s = Settings(LAB, "p1", lab="/lab")
    assert switch_transport(lab, sw, access, s) == {
        "kind": "netns", "namespace": "wk-x-3", "vty": "/lab/frr/wk-x-3"
    }  # fmt: skip
    s.switch_transport = "ssh"
    over = switch_transport(lab, sw, access, s)
    assert over["kind"] == "ssh" and over["host"] == "10.255.0.3" and over["port"] == 22
    assert over["private_key"] == {"file": "/lab/ssh/id_ed25519"} and over["vty"] == entry.vty
    assert over["proxy_command"].startswith("python -m wanka.lab.jump wk-x-3")
