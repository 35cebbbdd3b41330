"""The dynamic providers' methods called directly, as the Pulumi engine would (the CLI cannot
be installed here): BareMetalNode against a sushy-tools BMC emulator of our own on loopback
(with a slow, an unreachable and a never-powering BMC), SwitchConfig against FRR in a network
namespace (root and FRR required: CI has both; without them these tests fail), BringupBatch's
diff, and a pickling round trip per provider."""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dill
import pytest
from conftest import ROOT
from labkit import mini_switch, start_frr
from pulumi.dynamic.dynamic import serialize_provider

from wanka.bringup.results import Check, HostResult, RunResult
from wanka.drivers.redfish import Client
from wanka.lab import access as lab_access
from wanka.lab import bmc
from wanka.lab.access import Access, Ssh
from wanka.pipeline import check, derive
from wanka.pulumi import providers
from wanka.pulumi.providers import (
    BareMetalNodeProvider,
    BringupBatchProvider,
    ProviderError,
    SwitchConfigProvider,
)
from wanka.render.frr import render_frr

PASSWORD = "bmc-test-password"
NO_ANSWER = r"BareMetalNode n2: read the BMC: .*no answer within 1 s"
FRR_DAEMONS = Path("/usr/lib/frr")


# -- BareMetalNode against the BMC emulator ------------------------------------------------------


@dataclass
class Bmc:
    dir: Path
    url: str

    def client(self, system: str, timeout: float = 10) -> Client:
        return Client(self.url, system, auth=("Administrator", PASSWORD), timeout=timeout)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Bmc]:
    systems = [
        bmc.system("lab", f"n{i}", [(f"02:00:00:00:00:0{i}", f"10.0.0.{i}")]) for i in (1, 2)
    ]
    bmc.write_config(tmp_path, systems, delay=(1, 2))
    pid, port = bmc.start(tmp_path)
    try:
        yield Bmc(tmp_path, f"http://127.0.0.1:{port}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def node_props(b: Bmc, node: str, **over: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "node": node,
        "url": b.url,
        "system": node,
        "username": "Administrator",
        "password": PASSWORD,
        "timeout": 5.0,
        "powerTimeout": 15.0,
        "verify": True,
        "power": "On",
        "bootTarget": "Pxe",
        "bootMode": "UEFI",
        "bios": {"PowerProfile": "Efficiency", "ProcTurboMode": "Disabled"},
        "applied": None,
    }
    props.update(over)
    return props


def test_bare_metal_node_lifecycle(emulator: Bmc) -> None:
    p = BareMetalNodeProvider()
    want = node_props(emulator, "n1")
    c = emulator.client("n1")
    assert c.power_state() == "Off"

    created = p.create(dict(want))
    outs = created.outs
    assert created.id == "n1"
    assert outs["power"] == "On" and c.power_state() == "On"  # waited for the power delay
    assert c.boot()["target"] == "Pxe" and c.boot()["mode"] == "UEFI"
    assert c.bios()["PowerProfile"] == "Efficiency" and c.bios()["ProcTurboMode"] == "Disabled"
    assert outs["applied"] == ["bios", "bootTarget", "power"]  # the emulator was UEFI already

    # diff names what changes; `node` replaces, the rest updates
    same = p.diff("n1", outs, dict(want))
    assert same.changes is False and not same.replaces
    news = {**want, "bootTarget": "Hdd"}
    d = p.diff("n1", outs, news)
    assert d.changes is True and d.replaces == []
    assert providers.changed(outs, news, providers.BMC_STATE) == ["bootTarget"]
    assert p.diff("n1", outs, {**want, "node": "n2"}).replaces == ["node"]
    assert p.diff("n1", outs, {**want, "password": "other"}).changes is True
    assert p.diff("n1", outs, {**want, "bootTarget": providers.UNKNOWN}).changes is True

    # update changes only the boot target
    updated = p.update("n1", outs, news).outs
    assert updated is not None
    assert updated["applied"] == ["bootTarget"] and c.boot()["target"] == "Hdd"
    assert c.bios()["PowerProfile"] == "Efficiency"

    # drift: someone changes the BIOS behind Pulumi's back; read reports it
    c.set_bios({"PowerProfile": "Performance"})
    read = p.read("n1", updated)
    assert read.outs is not None and read.id == "n1"
    assert read.outs["bios"] == {"PowerProfile": "Performance", "ProcTurboMode": "Disabled"}
    assert p.diff("n1", read.outs, news).changes is True
    assert providers.changed(read.outs, news, providers.BMC_STATE) == ["bios"]
    fixed = p.update("n1", read.outs, news).outs
    assert fixed is not None and fixed["applied"] == ["bios"]
    assert c.bios()["PowerProfile"] == "Efficiency"
    assert p.read("n1", fixed).outs == fixed  # no drift left

    # delete hands the server back powered off
    p.delete("n1", fixed)
    assert c.wait_power("Off", 10)


def test_bare_metal_node_slow_bmc(emulator: Bmc) -> None:
    p = BareMetalNodeProvider()
    c = emulator.client("n2")
    # slower than the provider's timeout: a clear error, nothing returned, nothing changed
    bmc.write_faults(emulator.dir, {"slow": {"n2": 3}})
    started = time.monotonic()
    with pytest.raises(
        ProviderError, match=r"BareMetalNode n2: read the BMC: .*no answer within 1 s"
    ):
        p.create(node_props(emulator, "n2", timeout=1.0))
    assert time.monotonic() - started < 3
    # slow but within the timeout: read works
    bmc.write_faults(emulator.dir, {"slow": {"n2": 0.3}})
    outs = p.read("n2", node_props(emulator, "n2", timeout=5.0)).outs
    assert outs is not None and outs["power"] == "Off"
    bmc.write_faults(emulator.dir, {})
    assert c.power_state() == "Off" and c.bios()["PowerProfile"] == "Performance"


def test_bare_metal_node_unreachable_bmc(emulator: Bmc) -> None:
    p = BareMetalNodeProvider()
    bmc.write_faults(emulator.dir, {"down": ["n2"]})
    started = time.monotonic()
    with pytest.raises(
        ProviderError, match=r"BareMetalNode n2: read the BMC: .*no answer within 1 s"
    ):
        p.create(node_props(emulator, "n2", timeout=1.0))
    olds = node_props(emulator, "n2", timeout=1.0, power="Off")
    with pytest.raises(ProviderError, match="no answer"):  # update: the old state stays
        p.update("n2", olds, {**olds, "power": "On"})
    with pytest.raises(ProviderError, match="no answer"):
        p.read("n2", olds)
    assert time.monotonic() - started < 10
    # nothing at all listening: refused, said so
    props = node_props(emulator, "n2", url="http://127.0.0.1:9", timeout=1.0)
    with pytest.raises(ProviderError, match="cannot connect"):
        p.create(props)
    bmc.write_faults(emulator.dir, {})
    assert emulator.client("n2").power_state() == "Off"


def test_bare_metal_node_never_powers_on(emulator: Bmc) -> None:
    bmc.write_faults(emulator.dir, {"power_never": ["n2"]})
    with pytest.raises(ProviderError, match="power On asked, the BMC still says Off after 3 s"):
        BareMetalNodeProvider().create(node_props(emulator, "n2", powerTimeout=3.0))


# -- SwitchConfig against FRR in a namespace -----------------------------------------------------


@dataclass
class Frr:
    ns: str
    vty: Path
    asn: int
    config: str
    name: str

    def vtysh(self, *commands: str) -> str:
        cmd = ["vtysh", "--vty_socket", str(self.vty)]
        for c in commands:
            cmd += ["-c", c]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True).stdout


def _running(pid: int, ns: str) -> bool:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(args) and args[0].startswith(str(FRR_DAEMONS).encode()) and ns.encode() in args


@pytest.fixture
def frr_switch() -> Iterator[Frr]:
    """zebra + bgpd in a namespace of our own, started with an almost empty frr.conf; the
    switch is lab-mini's first Debian/FRR one, a leaf (its rendered frr.conf is what the
    provider applies)."""
    if shutil.which("vtysh") is None or not (FRR_DAEMONS / "bgpd").exists():
        pytest.fail("FRR not found: install it (apt-get install frr; CI does)", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the SwitchConfig test needs root (CI runs as root)", pytrace=False)
    _, routing, name = mini_switch("debian")
    ns = f"wkpu{os.getpid()}{os.urandom(2).hex()}"
    state = Path(tempfile.mkdtemp(prefix=f"{ns}-", dir="/tmp"))
    state.chmod(0o755)
    shutil.chown(state, "frr", "frr")
    pids: list[int] = []
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=30)
    try:
        conf = state / "frr.conf"
        conf.write_text("frr defaults datacenter\nhostname start\n", encoding="utf-8")
        pids = start_frr(ns, state, {"zebra": conf, "bgpd": conf})
        r = routing[name]
        yield Frr(ns, state, r.asn, render_frr(r), name)
    finally:
        for pid in pids:
            if _running(pid, ns):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_running(p, ns) for p in pids):
            time.sleep(0.1)
        for pid in pids:
            if _running(pid, ns):
                os.kill(pid, signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        shutil.rmtree(state, ignore_errors=True)


def test_switch_config_lifecycle(frr_switch: Frr) -> None:
    f = frr_switch
    p = SwitchConfigProvider()
    transport = {"kind": "netns", "namespace": f.ns, "vty": str(f.vty)}
    want = {"switch": f.name, "config": f.config, "transport": transport, "digest": None}
    assert f"router bgp {f.asn}" not in f.vtysh("show running-config")

    created = p.create(dict(want))
    assert created.id == f.name
    running = f.vtysh("show running-config")
    assert f"router bgp {f.asn}" in running and "neighbor swp29 interface peer-group" in running
    outs = created.outs
    assert outs["drift"] == [] and outs["config"] == f.config
    assert p.read(f.name, outs).outs == outs  # in sync: refresh changes nothing

    # the diff shows what changes
    paths = re.search(r"\n  maximum-paths (\d+)\n", f.config)
    assert paths is not None and paths.group(1) != "1"
    news = {**want, "config": f.config.replace(paths.group(0), "\n  maximum-paths 1\n")}
    d = p.diff(f.name, outs, news)
    assert d.changes is True and not d.replaces
    assert p.diff(f.name, outs, dict(want)).changes is False
    assert p.diff(f.name, outs, {**want, "switch": "other"}).replaces == ["switch"]
    lines = providers.config_diff(f.config, news["config"], f.name)
    assert [x for x in lines if x.startswith(("+ ", "- "))] == [
        f"-  maximum-paths {paths.group(1)}",
        "+  maximum-paths 1",
    ]

    updated = p.update(f.name, outs, news).outs
    assert updated is not None and updated["drift"] == []
    assert "maximum-paths 1" in f.vtysh("show running-config")

    # drift: a BGP neighbour's description changed on the switch by hand; read reports the
    # running configuration and the lines that differ
    f.vtysh("configure terminal", f"router bgp {f.asn}", "neighbor swp29 description tampered")
    read = p.read(f.name, updated).outs
    assert read is not None
    assert "neighbor swp29 description tampered" in read["config"]
    assert any("description tampered" in x and x.startswith("-") for x in read["drift"])
    # a refresh recorded that: the next read still compares with the applied configuration
    reread = p.read(f.name, read).outs
    assert reread is not None and reread["drift"] == read["drift"]
    assert reread["applied_config"] == updated["config"]
    assert p.diff(f.name, read, news).changes is True
    again = p.update(f.name, read, news).outs
    assert again is not None and again["drift"] == []
    assert "tampered" not in f.vtysh("show running-config")

    # delete leaves the switch configured
    p.delete(f.name, again)
    assert f"router bgp {f.asn}" in f.vtysh("show running-config")


def test_switch_config_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    p = SwitchConfigProvider()
    base = {"switch": "sw1", "config": "hostname sw1\n"}
    with pytest.raises(ProviderError, match="the ssh transport needs host and username"):
        p.create({**base, "transport": {"kind": "ssh", "host": "10.0.0.1"}})
    unset = {"kind": "ssh", "host": "10.0.0.1", "username": "admin",
             "credential": {"env": "WANKA_TEST_UNSET_PASSWORD"}}  # fmt: skip
    os.environ.pop("WANKA_TEST_UNSET_PASSWORD", None)
    with pytest.raises(ProviderError, match="WANKA_TEST_UNSET_PASSWORD is not set"):
        p.create({**base, "transport": unset})
    netns = {"kind": "netns", "namespace": "wk-x", "vty": str(tmp_path)}
    with pytest.raises(ProviderError, match="no applier for switch OS 'junos'"):
        p.create({**base, "os": "junos", "transport": netns})
    with pytest.raises(ProviderError, match="unknown transport 'telnet'"):
        p.create({**base, "transport": {"kind": "telnet"}})
    with pytest.raises(ProviderError, match="needs namespace and vty"):
        p.create({**base, "transport": {"kind": "netns"}})
    missing = {"kind": "netns", "namespace": "wk-no-such-ns", "vty": str(tmp_path)}
    with pytest.raises(ProviderError, match=r"SwitchConfig sw1 \(namespace wk-no-such-ns\)"):
        p.create({**base, "transport": missing})


# -- BringupBatch --------------------------------------------------------------------------------


LAB_MINI = str(ROOT / "examples/lab-mini/cluster.yaml")


def batch_props(**over: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "batch": "lab-p1-pod01-r01",
        "cluster": "../examples/lab-mini/cluster.yaml",
        "phase": "p1",
        "nodes": ["lab-p1-pod01-r01-s01", "lab-p1-pod01-r01-s02"],
        "software": {"driver": "24.1.rc3", "firmware": "7.5.0.1.129", "cann": "8.0.RC3"},
        "lab": None,
        "outDir": "bringup",
        "after": {"lab-p1": 3},
    }
    props.update(over)
    return props


def test_bringup_batch_is_replaced_when_its_inputs_change() -> None:
    p = BringupBatchProvider()
    olds = {**batch_props(), "verification": {"ok": True}}
    assert p.diff("b", olds, batch_props()).changes is False
    # waiting on more fabric orders a run, it does not repeat one
    assert p.diff("b", olds, batch_props(after={"lab-p1": 4})).changes is False
    software = {**batch_props()["software"], "firmware": "7.5.0.2.1"}
    d = p.diff("b", olds, batch_props(software=software))
    assert d.changes is True and d.replaces == ["software"]
    d = p.diff("b", olds, batch_props(nodes=["lab-p1-pod01-r01-s01"], phase="p2"))
    assert d.replaces == ["phase", "nodes"]
    assert p.diff("b", olds, batch_props(lab=providers.UNKNOWN)).replaces == ["lab"]


def test_bringup_summary() -> None:
    fail = Check(id="lldp", port="npu3", reason="neighbour x")
    report = RunResult(
        playbook="bringup",
        phase="p1",
        summary="1 of 2 nodes failed",
        hosts={
            "b": HostResult(status="failed", changed=1, failed=(fail,)),
            "a": HostResult(status="ok", changed=2),
        },
    )
    s = providers._summary(report)
    assert s == {
        "ok": False,
        "changed": 3,
        "summary": "1 of 2 nodes failed",
        "hosts": {"a": "ok", "b": "failed"},
        "counts": {"failed": 1, "ok": 1},
        "failed": {"b": ["lldp: neighbour x"]},
    }


# -- pickling ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", providers.PROVIDERS, ids=lambda c: c.__name__)
def test_provider_pickles_by_reference(cls: type) -> None:
    """As the SDK serialises a dynamic provider (dill, base64): by reference to this module,
    small, without credentials, and it works after the round trip."""
    import base64

    text = serialize_provider(cls())
    raw = base64.b64decode(text)
    assert b"wanka.pulumi.providers" in raw and cls.__name__.encode() in raw
    assert len(raw) < 200 and b"password" not in raw.lower()
    back = dill.loads(raw)
    assert type(back) is cls and back.serialize_as_secret_always is False
    plain = pickle.loads(pickle.dumps(cls()))
    assert type(plain) is cls
    # state recorded before the providers were one module each names the package: it loads
    old = f"cwanka.pulumi.providers\n{cls.__name__}\n.".encode()
    assert dill.loads(old) is cls
    props = {"node": "n", "switch": "s", "batch": "b", "config": "x"}
    assert back.diff("id", props, dict(props)).changes is False
    assert back.diff("id", props, {**props, "config": "y", "node": "m"}).changes is (
        cls is not BringupBatchProvider
    )


class _Bringups:
    """wanka.bringup.apart.run (the bring-up in a process of its own) replaced by a recorder
    (the bring-up itself runs on lab nodes in its own tests), the preparation (`shared`) kept
    real, its render calls counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from wanka.bringup import apart, prepare

        self.calls: list[tuple[Any, Any]] = []
        self.reports: list[RunResult] = []
        self.renders: list[str] = []
        self._lock = threading.Lock()
        real = prepare.render.write

        def write(d: Any, out: Any, phase: Any = None, progress: Any = None) -> int:
            with self._lock:
                self.renders.append(str(out))
            time.sleep(0.2)  # long enough for the other batches to arrive meanwhile
            return real(d, out, phase, progress)

        monkeypatch.setattr(prepare.render, "write", write)
        monkeypatch.setattr(apart, "run", self.run)

    def run(self, opts: Any, prepared_dir: Path) -> RunResult:
        from wanka.bringup.prepare import Prepared

        prepared = Prepared.load(prepared_dir)
        with self._lock:
            self.calls.append((opts, prepared))
            if self.reports:
                return self.reports.pop(0)
        ok = HostResult(status="ok", changed=1)
        return RunResult(
            playbook="bringup", phase=opts.phase, hosts=dict.fromkeys(opts.limit.split(","), ok)
        )


def test_bringup_batch_create_follows_the_report(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """create runs the bring-up of its nodes (cluster, phase, limit, lab, out_dir) and fails
    unless every node of the batch is reported ok."""
    fake = _Bringups(monkeypatch)
    lab = tmp_path / "lab"
    lab.mkdir()
    ssh = Ssh(user="root", private_key="/k", known_hosts="/kh", jump_namespace="",
              proxy_command="", options=())  # fmt: skip
    lab_access.write(lab, Access(cluster="lab", ssh=ssh, bmc_url="http://127.0.0.1:1"))
    p = BringupBatchProvider()
    props = batch_props(cluster=LAB_MINI, outDir=str(tmp_path), lab=str(lab))
    s1, s2 = props["nodes"]

    created = p.create(dict(props))
    assert created.id == "lab-p1-pod01-r01"
    assert created.outs["verification"]["hosts"] == {s1: "ok", s2: "ok"}
    opts, prepared = fake.calls[0]
    assert (opts.cluster_file, opts.phase, opts.limit) == (LAB_MINI, "p1", f"{s1},{s2}")
    assert (opts.lab, opts.out_dir) == (str(lab), tmp_path / "lab-p1-pod01-r01")
    assert prepared.render.parent.parent == tmp_path / providers.PREPARED
    assert (prepared.render / "ansible" / "inventory.yml").is_file()
    assert (prepared.inventory / "hosts.yml").is_file()

    failed = HostResult(status="failed", failed=(Check(id="npu-count", reason="7 of 8"),))
    ok = HostResult(status="ok")
    fake.reports.append(
        RunResult(playbook="bringup", phase="p1", hosts={s1: ok, s2: failed}, summary="1 failed")
    )
    with pytest.raises(ProviderError, match="bring-up failed \\(1 failed\\)"):
        p.create(dict(props))
    fake.reports.append(RunResult(playbook="bringup", phase="p1", hosts={s1: ok}))
    with pytest.raises(ProviderError, match=f"no report for {s2}"):
        p.create(dict(props))
    assert len(fake.renders) == 1  # three creates, one preparation


def test_the_batches_of_a_stack_render_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every rack's BringupBatch of lab-mini's phase p1, created at once in threads as the
    engine may: the phase is rendered once and every batch runs on that one preparation,
    each with its own nodes; a changed cluster file is prepared anew, once again."""
    fake = _Bringups(monkeypatch)
    cluster = tmp_path / "cluster.yaml"
    shutil.copyfile(LAB_MINI, cluster)
    d = derive(check(str(cluster)))
    racks: dict[str, list[str]] = {}
    for n in d.cluster.nodes:
        if n.pod.phase.name == "p1":
            racks.setdefault(n.rack.name, []).append(n.name)
    assert len(racks) >= 2
    p = BringupBatchProvider()

    def create_all() -> list[Any]:
        batches = [
            batch_props(batch=r, nodes=ns, cluster=str(cluster), outDir=str(tmp_path / "out"))
            for r, ns in racks.items()
        ]
        with ThreadPoolExecutor(max_workers=len(batches)) as pool:
            return list(pool.map(p.create, batches))

    created = create_all()
    assert sorted(c.id for c in created) == sorted(racks)
    assert len(fake.renders) == 1, fake.renders
    dirs = {prepared.inventory for _, prepared in fake.calls}
    assert len(dirs) == 1
    assert sorted(opts.limit for opts, _ in fake.calls) == sorted(
        ",".join(v) for v in racks.values()
    )
    assert not [
        x for x in (tmp_path / "out" / providers.PREPARED).iterdir() if x.name.startswith(".")
    ]
    create_all()  # a second up, nothing changed: nothing rendered
    assert len(fake.renders) == 1
    cluster.write_text(cluster.read_text() + "# changed\n")
    create_all()
    assert len(fake.renders) == 2
    assert len({prepared.inventory for _, prepared in fake.calls}) == 2


def test_providers_import_nothing_else_of_wanka() -> None:
    """The dynamic-provider host unpickles the providers by reference: importing them must not
    load the rest of the pipeline (bring-up and the drivers load inside the methods)."""
    code = (
        "import sys, wanka.pulumi.providers as p; assert p.PROVIDERS; "
        "print(sorted(m for m in sys.modules if m.startswith('wanka')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded = eval(out)  # a list of module names
    allowed = ("wanka", "wanka.pulumi")
    assert loaded and all(m in allowed or m.startswith("wanka.pulumi.providers") for m in loaded)
