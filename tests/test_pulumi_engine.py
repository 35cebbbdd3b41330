"""The real Pulumi engine (`make tools`: .tools/bin/pulumi) on the lab (examples/lab-mini with
servers), through the Automation API as `wanka.pulumi.engine` drives it: a file backend and a
passphrase made for this run, no network. One lab and one stack (lab-p1) for the module, the
tests in order of a stack's life:

1. `preview` lists exactly what `wanka plan --pulumi` lists;
2. `up` with a fault on one server: its rack's batch fails, the rest is created, the state
   has no pending operation; the fault mended, the next `up` creates that batch only;
3. a third `up` changes nothing;
4. lab-p2's preview reads lab-p1's outputs through a StackReference on the file backend;
5. drift: a server powered off and a leaf's BGP configuration edited by hand are named by
   `wanka drift` (exit 1, nothing changed), recorded by `wanka refresh` (drift still names
   both); `wanka up --refresh` repairs exactly those two;
   `wanka drift` then exits 0;
6. `destroy` powers the servers off and leaves the switches' configuration;
7. the BMC password never appears in the state files, `stack export`, outputs or logs.

Needs root, FRR, lldpd, sshd, ansible and the built CLI (CI has them): without them these
tests fail, they do not skip.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, require_lab_servers, run_wanka
from pulumi.automation.events import OpType

from wanka.derive.bundle import Derived
from wanka.drivers.redfish import Client
from wanka.lab import netlab, nodes
from wanka.pipeline import check, derive
from wanka.pulumi.engine import CHECKOUT_TOOLS, Engine

LAB = ROOT / "examples/lab-mini/cluster.yaml"
STACK = "lab-p1"
FAULTY = "lab-p1-pod01-r02-s01"  # its rack's batch fails while the fault lasts
FAULTY_BATCH = "lab-p1-pod01-r02"
LEAF = "lab-p1-pod01-param-leaf01"
SERVERS = [f"lab-p1-pod01-r0{r}-s0{s}" for r in (1, 2) for s in (1, 2)]


@dataclass
class Run:
    """The lab, the engine and everything the engine printed (checked for the password)."""

    d: Derived
    dir: Path
    base: Path
    access: dict[str, Any]
    engine: Engine
    password: str
    logs: list[str] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)

    def config(self, phase: str) -> dict[str, str]:
        # the cluster file as `wanka up` sets it (relative to the project directory), so the
        # CLI's runs below and these record the same inputs
        return {
            "wanka:cluster": os.path.relpath(LAB, self.engine.work_dir),
            "wanka:phase": phase,
            "wanka:lab": str(self.dir),
            "wanka:bringupOut": str(self.base / "bringup"),
            "wanka:powerTimeout": "60",
            "wanka:bmcPassword": self.password,
        }

    def stack(self, name: str = STACK, phase: str = "p1") -> Any:
        return self.engine.stack(name, self.config(phase), secret={"wanka:bmcPassword"})

    def op(self, what: str, name: str = STACK, phase: str = "p1", **kw: Any) -> Any:
        st = self.stack(name, phase)
        started = time.monotonic()
        events: list[Any] = []
        # the program runs in this process: the cluster file's path is relative to the project
        with contextlib.chdir(self.engine.work_dir):
            return self._op(st, what, name, started, events, **kw)

    def _op(
        self, st: Any, what: str, name: str, started: float, events: list[Any], **kw: Any
    ) -> Any:
        try:
            fn = getattr(st, what)
            extra = {"show_secrets": False} if what in ("up", "refresh", "destroy") else {}
            return fn(
                on_output=self.logs.append,
                on_event=events.append,
                color="never",
                **extra,
                **kw,
            ), events
        finally:
            self.times[f"{what} {name} #{len(self.times)}"] = round(time.monotonic() - started, 1)
            self.logs.extend(json.dumps(_plain(e), default=str) for e in events)

    def power(self, node: str) -> str:
        entry = self.access["nodes"][node]
        return Client(self.access["bmc"]["url"], str(entry["system"]), timeout=10).power_state()

    def vtysh(self, switch: str, *commands: str) -> str:
        sw = self.access["switches"][switch]
        args = [x for c in commands for x in ("-c", c)]
        r = subprocess.run(
            ["ip", "netns", "exec", sw["namespace"], "vtysh", "--vty_socket", sw["vty"], *args],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return r.stdout

    def wanka(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`wanka COMMAND` on lab-mini with this run's backend, passphrase and password."""
        env = {**os.environ, **self.engine.env_vars(), "WANKA_BMC_PASSWORD": self.password}
        cmd = [sys.executable, "-m", "wanka", command, str(LAB), *args,
               "--stacks", str(self.engine.work_dir), "--lab", str(self.dir)]  # fmt: skip
        started = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
        self.times[f"wanka {command} {' '.join(args)}"] = round(time.monotonic() - started, 1)
        return r

    def fault(self, action: str, spec: str) -> None:
        res = run_wanka("lab", "fault", str(self.dir), action, spec)
        assert res.returncode == 0, res.stderr


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    require_lab_servers()
    if not (CHECKOUT_TOOLS / "bin" / "pulumi").is_file():
        pytest.fail("no .tools/bin/pulumi: run `make tools`", pytrace=False)
    base = Path(tempfile.mkdtemp(prefix="wkpe-lab-", dir="/tmp"))
    base.chmod(0o755)  # FRR runs as frr and must reach its state directory
    (base / "state").mkdir()
    (base / "project").mkdir()
    d = derive(check(str(LAB)))
    lab_dir = base / "lab"
    engine = Engine(
        work_dir=base / "project",
        backend=(base / "state").as_uri(),
        env={
            "PULUMI_CONFIG_PASSPHRASE": secrets.token_hex(16),  # this run's, never written
            "PULUMI_HOME": str(base / "home"),
        },
        root=CHECKOUT_TOOLS,
    )
    try:
        netlab.up(d, lab_dir, prefix=f"wke{os.urandom(2).hex()}", power_delay=(1, 2))
        yield Run(d, lab_dir, base, nodes.read_access(lab_dir), engine, secrets.token_hex(12))
    finally:
        netlab.down(lab_dir)
        shutil.rmtree(base, ignore_errors=True)


def _resources(events: list[Any]) -> set[tuple[str, str, str]]:
    """(type, name, parent name) of each resource the engine's steps name, without the
    engine's own default providers."""
    out = set()
    for e in events:
        pre = e.resource_pre_event
        if pre is None or pre.metadata.type.startswith("pulumi:providers:"):
            continue
        m = pre.metadata
        state = m.new or m.old
        parent = state.parent.rsplit("::", 1)[-1] if state and state.parent else ""
        out.add((m.type, m.urn.rsplit("::", 1)[-1], parent))
    return out


def _plain(x: Any) -> Any:
    """An engine event as plain data, every nested field included (to search it as text)."""
    if x is None or isinstance(x, str | int | float | bool):
        return x
    if isinstance(x, enum.Enum):
        return x.value
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if hasattr(x, "__dict__"):
        return {k: _plain(v) for k, v in vars(x).items()}
    return x


def _steps(events: list[Any], *ops: OpType, changed: bool = False) -> set[str]:
    """The names of the resources of the engine's steps of kind `ops` (`changed`: with
    diffs, which a refresh step carries when its outputs arrive)."""
    out = set()
    for e in events:
        for ev in (e.resource_pre_event, e.res_outputs_event):
            m = ev.metadata if ev is not None else None
            if m is None or m.op not in ops:
                continue
            differs = bool(m.diffs) or (
                m.old is not None and m.new is not None and m.old.outputs != m.new.outputs
            )
            if differs or not changed:
                out.add(m.urn.rsplit("::", 1)[-1])
    return out


def _planned(stack: str) -> set[tuple[str, str, str]]:
    """What `wanka plan --pulumi` lists for `stack`, in the same form."""
    from wanka.pulumi.preview import SHORT_TYPES

    res = run_wanka("plan", "--pulumi", str(LAB), "--format", "json")
    assert res.returncode == 0, res.stderr
    long = {v: k for k, v in SHORT_TYPES.items()}
    (plan,) = [s for s in json.loads(res.stdout)["stacks"] if s["stack"] == stack]
    return {(long[r["type"]], r["name"], r["parent"] or "") for r in plan["resources"]}


def test_preview_lists_what_plan_lists(run: Run) -> None:
    result, events = run.op("preview")
    listed = _resources(events)
    assert listed == _planned(STACK)
    assert result.change_summary.get("create") == len(listed)
    assert all(run.power(n) == "Off" for n in SERVERS)  # a preview touches nothing


def test_a_failed_batch_leaves_the_stack_consistent_and_only_it_reruns(run: Run) -> None:
    from pulumi import automation as auto

    run.fault("add", f"nvme-missing:{FAULTY}")
    try:
        with pytest.raises(auto.CommandError) as failed:
            run.op("up")
        errors = [x for x in str(failed.value).splitlines() if "error" in x.lower()]
        print(failed.value)
        assert f"BringupBatch {FAULTY_BATCH}: bring-up failed" in str(failed.value), errors
    finally:
        run.fault("clear", f"nvme-missing:{FAULTY}")
    deployment = run.stack().export_stack().deployment
    assert not deployment.get("pending_operations")
    kinds = {
        (r["type"].rsplit(":", 1)[-1], r["urn"].rsplit("::", 1)[-1])
        for r in deployment["resources"]
    }
    batches = {n for t, n in kinds if t == "BringupBatch"}
    assert batches == {"lab-p1-pod01-r01"}  # the failed one is not recorded
    assert {n for t, n in kinds if t == "BareMetalNode"} == set(SERVERS)
    assert all(run.power(n) == "On" for n in SERVERS)

    result, events = run.op("up")
    created = _steps(events, OpType.CREATE)
    assert created == {FAULTY_BATCH}
    changes = result.summary.resource_changes
    assert changes["create"] == 1 and set(changes) == {"create", "same"}, changes
    verification = result.outputs["verification"].value
    assert verification[FAULTY_BATCH]["hosts"] == {
        "lab-p1-pod01-r02-s01": "ok",
        "lab-p1-pod01-r02-s02": "ok",
    }
    assert all(v["ok"] for v in verification.values()), verification
    # both ups, every batch: one prepared run (the phase rendered once, under its lock),
    # which every batch's run used: none rendered the phase or wrote an inventory of its own
    prepared = [p for p in (run.base / "bringup/.prepared").iterdir() if p.is_dir()]
    assert len(prepared) == 1, prepared
    assert (prepared[0] / "render").is_dir() and (prepared[0] / "inventory/hosts.yml").is_file()
    for batch in ("lab-p1-pod01-r01", FAULTY_BATCH):
        ran = run.base / "bringup" / batch
        assert (ran / "bringup-report.json").is_file(), batch
        assert not (ran / "render").exists() and not (ran / "runner/inventory").exists()


def test_a_second_up_changes_nothing(run: Run) -> None:
    result, _ = run.op("up")
    assert set(result.summary.resource_changes) == {"same"}, result.summary.resource_changes


def test_stack_reference_on_the_file_backend(run: Run) -> None:
    """`wanka preview --phase p2` (the CLI, a worker process): lab-p2 reads the deployed
    lab-p1's outputs through its StackReference and lists what plan lists."""
    res = run.wanka("preview", "--phase", "p2")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "lab-p2: preview done" in res.stdout, res.stdout
    log = (run.base / "project/.logs/lab-p2.preview.log").read_text(encoding="utf-8")
    steps = re.findall(r"^\s*[+>]\s+(\S+:\S+)\s+(\S+)\s+(?:create|read)\b", log, re.M)
    # the engine's display may show the StackReference's read on its parent's line:
    # " +  pulumi:pulumi:Stack wanka-lab-p2 create read pulumi:pulumi:StackReference lab-p1"
    steps += re.findall(r"\sread\s+(\S+:\S+)\s+(\S+)\s*$", log, re.M)
    shown = {(t, n) for t, n in steps if not t.startswith("pulumi:providers:")}
    assert shown == {(t, n) for t, n, _ in _planned("lab-p2")}, log


def _drift(run: Run) -> tuple[int, dict[str, Any]]:
    res = run.wanka("drift", "--phase", "p1", "--format", "json")
    run.logs.append(res.stdout + res.stderr)
    assert res.returncode in (0, 1), res.stdout + res.stderr
    return res.returncode, json.loads(res.stdout)


def _recorded(run: Run) -> dict[str, Any]:
    """The recorded outputs of lab-p1's resources, by name (`pulumi stack export`)."""
    resources = run.engine.export(STACK)["deployment"]["resources"]
    return {r["urn"].rsplit("::", 1)[-1]: r.get("outputs", {}) for r in resources}


def test_drift_is_named_by_wanka_drift_and_repaired_by_up_refresh(run: Run) -> None:
    """Issue 30: a server powered off and a leaf's BGP line changed by hand are both named by
    `wanka drift` (exit 1), which changes nothing; `wanka up --refresh` repairs exactly those
    two; `wanka drift` then exits 0."""
    code, report = _drift(run)
    assert code == 0 and report["drifted"] is False and report["devices"] == [], report
    node = SERVERS[0]
    off = run_wanka("lab", "power", str(run.dir), "off", node, "--wait", timeout=120)
    assert off.returncode == 0, off.stderr
    assert run.power(node) == "Off"
    running = run.vtysh(LEAF, "show running-config")
    bgp = next(x for x in running.splitlines() if x.startswith("router bgp "))
    peer = next(x.split()[1] for x in running.splitlines() if x.startswith(" neighbor "))
    run.vtysh(LEAF, "configure terminal", bgp, f"neighbor {peer} description tampered")
    tampered = run.vtysh(LEAF, "show running-config")
    assert "tampered" in tampered
    before = _recorded(run)

    code, report = _drift(run)
    assert code == 1 and report["drifted"] is True, report
    devices = {d["name"]: d for d in report["devices"]}
    assert set(devices) == {node, LEAF}, devices
    assert devices[node]["kind"] == "BareMetalNode" and devices[node]["op"] == "update"
    assert devices[node]["differences"] == [{"what": "power", "model": "On", "device": "Off"}]
    assert devices[LEAF]["kind"] == "SwitchConfig" and devices[LEAF]["differences"] == []
    assert any(
        x.startswith("-") and f"neighbor {peer} description tampered" in x
        for x in devices[LEAF]["lines"]
    ), devices[LEAF]
    text = run.wanka("drift", "--phase", "p1")  # the default, for people
    print(text.stdout)  # (docs/pulumi.md shows it)
    assert text.returncode == 1 and f"BareMetalNode {node} (update):" in text.stdout
    assert "power: model On, device Off" in text.stdout and f"SwitchConfig {LEAF}" in text.stdout
    assert text.stdout.rstrip().endswith("2 devices drifted"), text.stdout
    # drift changed nothing: the devices as they were left, the state as it was
    assert run.power(node) == "Off" and run.vtysh(LEAF, "show running-config") == tampered
    assert _recorded(run) == before

    # `wanka refresh` records what the devices run; drift still names the same two, the
    # switch's lines compared with the configuration it was given (not with the recorded one)
    res = run.wanka("refresh", "--phase", "p1")
    run.logs.append(res.stdout + res.stderr)
    assert res.returncode == 0 and "lab-p1: refresh done" in res.stdout, res.stdout + res.stderr
    assert re.search(r"lab-p1: refresh done in \S+ s: \d+ same, 2 update\n", res.stdout), res.stdout
    recorded = _recorded(run)
    assert recorded[node]["power"] == "Off" and recorded[LEAF]["drift"] == devices[LEAF]["lines"]
    code, again = _drift(run)
    assert code == 1 and again["devices"] == report["devices"], again

    res = run.wanka("up", "--phase", "p1", "--refresh")
    run.logs.append(res.stdout + res.stderr)
    assert res.returncode == 0, res.stdout + res.stderr
    log = (run.base / "project/.logs/lab-p1.up.log").read_text(encoding="utf-8")
    updated = set(re.findall(r"^\s*~\s+\S+:\S+\s+(\S+)\s+updated?\b", log, re.M))
    assert updated == {node, LEAF}, log
    assert not re.search(r"^\s*[-+]\s+\S+:\S+\s+\S+\s+(created|deleted|replaced)", log, re.M), log
    assert run.power(node) == "On"
    assert "tampered" not in run.vtysh(LEAF, "show running-config")

    code, report = _drift(run)
    assert code == 0 and report["devices"] == [] and report["failed"] == {}, report
    exported = json.dumps(run.engine.export(STACK))  # `pulumi stack export`: the deployed stack
    assert '"ciphertext"' in exported and run.password not in exported


def test_destroy_powers_off_and_leaves_the_lab_as_before(run: Run) -> None:
    before = run.vtysh(LEAF, "show running-config")
    res = run.wanka("destroy", "--phase", "p1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "lab-p1: destroy done" in res.stdout and "delete" in res.stdout, res.stdout
    assert all(run.power(n) == "Off" for n in SERVERS)
    assert run.vtysh(LEAF, "show running-config") == before  # the switch keeps its config
    assert not run.stack().export_stack().deployment.get("resources")
    run.logs.append(res.stdout + res.stderr)


def test_the_bmc_password_is_never_in_plain_text(run: Run) -> None:
    st = run.stack()
    exported = json.dumps(run.engine.export(STACK))  # `pulumi stack export`, no --show-secrets
    assert run.password not in exported
    outputs = json.dumps({k: v.value for k, v in st.outputs().items()}, default=str)
    assert run.password not in outputs
    state = [p for p in (run.base / "state").rglob("*") if p.is_file()]
    assert state, "the file backend wrote nothing"
    for p in [*state, *(run.base / "project").rglob("*"), *(run.base / "home").rglob("*")]:
        if p.is_file():
            assert run.password.encode() not in p.read_bytes(), p
    assert run.logs and all(run.password not in line for line in run.logs)
    for p in (run.base / "bringup").rglob("*"):
        if p.is_file():
            assert run.password.encode() not in p.read_bytes(), p
    print("engine times (s):", run.times)
