"""wanka render: the file set, determinism, atomicity, and the inventory as Ansible reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, run_wanka

from wanka.derive.bundle import Derived
from wanka.pipeline import check, derive
from wanka.render import files as render

LAB = ROOT / "examples/lab-mini/cluster.yaml"
SZ = ROOT / "examples/shenzhen-14000p/cluster.yaml"


@pytest.fixture(scope="module")
def lab() -> Derived:
    return derive(check(str(LAB)))


def tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def test_lab_file_set(lab: Derived, tmp_path: Path) -> None:
    out = tmp_path / "out"
    n = render.write(lab, out)
    files = set(tree(out))
    assert len(files) == n
    c = lab.cluster
    for node in c.nodes:
        assert f"nodes/{node.name}/network.json" in files
        assert f"nodes/{node.name}/hccn.conf" in files  # every lab node is an NPU server
    routed = [s for s in c.switches if s.plane.fabric and s.plane.fabric.tiers >= 2]
    # the lab's leaves run Debian/FRR: frr.conf and the daemons file that turns bgpd on; its
    # spines SONiC: config_db.json and bgpd.conf
    assert {s.model.os: s.tier for s in routed} == {"debian": "leaf", "sonic": "spine"}
    files_of = {"debian": ("frr.conf", "daemons"), "sonic": ("config_db.json", "bgpd.conf")}
    assert {f for f in files if f.startswith("fabric/")} == {
        f"fabric/{s.name}/{f}" for s in routed for f in files_of[s.model.os]
    }
    assert {f for f in files if f.startswith("hccl/")} == {
        "hccl/p1/lab-p1-pod01.json",
        "hccl/p2/lab-p2-pod01.json",
    }
    for f in ("plan.json", "cabling.csv", "ansible/inventory.yml"):
        assert f in files
    header = (out / "cabling.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["cable_id", "plane"]
    assert {"a_device", "a_port", "b_device", "b_port", "speed", "media"} <= set(header)
    assert len((out / "cabling.csv").read_text().splitlines()) == len(lab.cabling.cables) + 1


def test_rerender_is_byte_identical(lab: Derived, tmp_path: Path) -> None:
    render.write(lab, tmp_path / "a")
    render.write(derive(check(str(LAB))), tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_a_failed_render_leaves_the_previous_output(
    lab: Derived, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    render.write(lab, out)
    before = tree(out)
    real = render.files

    def failing(d: Derived, phase: str | None = None) -> Iterator[tuple[str, str]]:
        for i, item in enumerate(real(d, phase)):
            if i == 10:
                raise OSError(28, "No space left on device")
            yield item

    monkeypatch.setattr(render, "files", failing)
    with pytest.raises(OSError):
        render.write(lab, out)
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary left behind


def test_phase_render_holds_only_that_phase(lab: Derived, tmp_path: Path) -> None:
    render.write(lab, tmp_path / "p2", phase="p2")
    files = set(tree(tmp_path / "p2"))
    assert not any("lab-p1-" in f for f in files if f.startswith(("nodes/", "fabric/", "hccl/")))
    assert "hccl/p2/lab-p2-pod01.json" in files
    rows = (tmp_path / "p2" / "cabling.csv").read_text().splitlines()[1:]
    assert rows and all("lab-p2-" in r for r in rows)
    plan = json.loads((tmp_path / "p2" / "plan.json").read_text())
    assert [p["name"] for p in plan["phases"]] == ["p2"]


def ansible_inventory(path: Path) -> dict[str, object]:
    exe = Path(sys.executable).parent / "ansible-inventory"
    assert exe.exists(), "ansible-core is a test dependency"
    env = {**os.environ, "ANSIBLE_INVENTORY_ENABLED": "yaml", "ANSIBLE_HOST_KEY_CHECKING": "False"}
    out = subprocess.run(
        [str(exe), "-i", str(path), "--list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    assert "WARNING" not in out.stderr, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("example", [LAB, SZ], ids=["lab", "shenzhen"])
def test_ansible_inventory_lists_exactly_the_model(example: Path, tmp_path: Path) -> None:
    d = derive(check(str(example)))
    render.write(d, tmp_path / "out")
    inv = ansible_inventory(tmp_path / "out/ansible/inventory.yml")
    hostvars = inv["_meta"]["hostvars"]  # type: ignore[index]
    model = {n.name for n in d.cluster.nodes} | {s.name for s in d.cluster.switches}
    assert set(hostvars) == model
    p1 = {n.name for n in d.cluster.nodes if n.pod.phase.name == "p1"}
    members = set()
    for pod in inv["phase_p1"]["children"]:  # type: ignore[index]
        for rack in inv[pod]["children"]:  # type: ignore[index]
            members |= set(inv[rack].get("hosts", []))  # type: ignore[index,union-attr]
    assert p1 <= members
    node = d.cluster.nodes[0]
    mgmt = next(p for p in d.cluster.planes.values() if p.role == "management")
    assert hostvars[node.name]["ansible_host"] == str(d.addressing.bonds[(node.name, mgmt.name)])
    excluded = {n.name for n in d.cluster.nodes if n.excluded}
    assert set(inv.get("excluded", {}).get("hosts", [])) == excluded  # type: ignore[union-attr]


def test_no_secret_reaches_a_rendered_file(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "WANKA_BMC_PASSWORD": "s3cr3t-bmc-value",
        "WANKA_SWITCH_PASSWORD": "sw-s3cr3t",
    }
    out = subprocess.run(
        [sys.executable, "-m", "wanka", "render", str(LAB), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    for rel, data in tree(tmp_path / "out").items():
        assert b"s3cr3t" not in data, rel
    creds = (tmp_path / "out/ansible/group_vars/all/credentials.yml").read_text()
    assert "env: WANKA_BMC_PASSWORD" in creds


def test_cli_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(LAB.read_text().replace("mtu: 9000", "mtu: 9300"))
    r = run_wanka("render", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and "NET-MTU" in r.stderr
    assert not (tmp_path / "out").exists()  # nothing written for an invalid cluster
    r = run_wanka("render", str(LAB), "--out", str(tmp_path / "out"), "--phase", "p9")
    assert r.returncode == 2 and "unknown phase 'p9' (phases: p1, p2)" in r.stderr
    r = run_wanka("plan", str(LAB), "--format", "json")
    assert r.returncode == 0
    assert [p["name"] for p in json.loads(r.stdout)["phases"]] == ["p1", "p2"]
    r = run_wanka("plan", str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and "LOAD-NOT-FOUND" in r.stderr


def test_out_dir_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_wanka("render", str(LAB), "--out", str(blocker / "out"))
    assert r.returncode == 2 and "cannot write" in r.stderr and "Traceback" not in r.stderr


def test_supernodes_are_counted_from_one_everywhere() -> None:
    """A server's `wanka_supernode` host var is the NN of its `sn_<pod>_NN` group and of its
    `<pod>-snNN.json` rank table (the host var was 0-based while the others counted from 1)."""
    import yaml

    from wanka.pipeline import open_cluster

    d = open_cluster(str(ROOT / "tests/examples/positive/lab-a3-supernode.yaml"))
    out = dict(render.files(d))
    inv = yaml.safe_load(out["ansible/inventory.yml"])
    hostvars = inv["all"]["hosts"]
    checked = 0
    for name, group in inv["all"]["children"].items():
        if not name.startswith("sn_"):
            continue
        nn = int(name.rsplit("_", 1)[1])
        for host in group["hosts"]:
            assert hostvars[host]["wanka_supernode"] == nn, host
            pod = (
                hostvars[host].get("wanka_pod")
                or next(p for p in d.cluster.pods if any(n.name == host for n in p.nodes)).name
            )
            assert any(k.endswith(f"{pod}-sn{nn:02d}.json") for k in out), (host, nn)
            checked += 1
    assert checked > 0
