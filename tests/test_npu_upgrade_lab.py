"""The NPU software on the lab as Huawei documents it (reference ascend_11): a fresh
install goes driver -> firmware -> reboot -> CANN toolkit -> kernels, an upgrade goes
firmware -> driver -> reboot -> toolkit -> kernels, and a third run changes nothing; the
installers' refusals reach the report with the node and the reason; and a job's rank table
across supernodes carries the SDIDs each server's `npu-smi info -t spod-info` printed.

One lab for the module: tests/examples/positive/lab-a3-two-supernodes.yaml (4 A3 servers in
two supernodes, 8 switches). What the servers' installers and boots did is read from each
server's install log (`/var/lib/wanka-lab/install.log`: `<boot id> boot` at each power-on,
`<boot id> <kind> <mode> <version>` after each install). The tests run in file order, each
on the state the one before left. Needs root, FRR, lldpd, sshd (CI runs as root); without
them these tests fail, they do not skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, require_lab_servers, run_wanka

from wanka.bringup.options import Options
from wanka.bringup.run import run_playbook
from wanka.derive.bundle import Derived
from wanka.lab import netlab, nodes, provision
from wanka.lab.tools.server import INSTALL_LOG
from wanka.pipeline import check, derive

CLUSTER = ROOT / "tests/examples/positive/lab-a3-two-supernodes.yaml"
OLD = {"driver": "24.1.rc3", "firmware": "7.5.0.1.129", "cann": "8.0.RC3"}
NEW = {"driver": "25.0.rc1", "firmware": "7.7.0.1.231", "cann": "8.1.RC1"}
# the model's text that changes for the upgrade: versions, package names, the new
# driver's firmware range
UPGRADE = {
    "version: 24.1.rc3": f"version: {NEW['driver']}",
    "driver_24.1.rc3_": f"driver_{NEW['driver']}_",
    "{min: 7.0.0, max: 7.5.99}": "{min: 7.0.0, max: 7.7.99}",
    "version: 7.5.0.1.129": f"version: {NEW['firmware']}",
    "firmware_7.5.0.1.129.run": f"firmware_{NEW['firmware']}.run",
    "version: 8.0.RC3": f"version: {NEW['cann']}",
    "_8.0.RC3_": f"_{NEW['cann']}_",
}


@dataclass
class Lab:
    d: Derived
    dir: Path
    out: Path
    access: dict[str, Any]
    servers: list[str]
    seen: dict[str, int] = field(default_factory=dict)  # install-log lines already read

    def run(self, cluster: Path, **kw: Any) -> dict[str, Any]:
        opts = Options(cluster_file=str(cluster), out_dir=self.out, lab=self.dir, **kw)
        return run_playbook(opts).to_dict()

    def log(self, node: str) -> list[tuple[str, str]]:
        """(boot id, event) of the server's install log since the last call."""
        path = nodes.node_dir(self.dir, node) / "fs/var/upper/lib/wanka-lab" / INSTALL_LOG
        lines = path.read_text(encoding="utf-8").splitlines()
        new, self.seen[node] = lines[self.seen.get(node, 0) :], len(lines)
        return [(b, e) for b, _, e in (line.partition(" ") for line in new)]

    def ssh(self, node: str, command: str) -> str:
        a = self.access["ssh"]
        r = subprocess.run(
            ["ssh", *a["options"], "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
             f"{a['user']}@{self.access['nodes'][node]['address']}", command],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        return r.stdout


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require_lab_servers()
    d = derive(check(str(CLUSTER)))
    base = Path(tempfile.mkdtemp(prefix="wklab-upgrade-", dir="/tmp"))
    base.chmod(0o755)  # FRR runs as frr and must reach its state directory
    try:
        netlab.up(d, base / "lab", prefix=f"wku{os.urandom(2).hex()}", power_delay=(1, 2))
        access = nodes.read_access(base / "lab")
        yield Lab(d, base / "lab", base / "run", access, sorted(access["nodes"]))
    finally:
        netlab.down(base / "lab")
        shutil.rmtree(base, ignore_errors=True)


def in_order(events: list[tuple[str, str]]) -> list[str]:
    """The events from the first install on (the boots of power-on before it dropped),
    checked to be in the boots they name: an install runs in the boot logged before it."""
    first = next(i for i, (_, e) in enumerate(events) if e != "boot")
    current = events[first - 1][0] if first else events[0][0]
    for boot, event in events[first:]:
        if event == "boot":
            assert boot != current, "a boot that is no new boot"
            current = boot
        assert boot == current, f"{event} ran in boot {boot}, not in {current}"
    return [e for _, e in events[first:]]


def fresh(v: dict[str, str]) -> list[str]:
    return [f"driver --full {v['driver']}", f"firmware --full {v['firmware']}", "boot",
            f"cann --install {v['cann']}", f"kernels --install {v['cann']}"]  # fmt: skip


def upgrade(v: dict[str, str]) -> list[str]:
    return [f"firmware --upgrade {v['firmware']}", f"driver --upgrade {v['driver']}", "boot",
            f"cann --upgrade {v['cann']}", f"kernels --upgrade {v['cann']}"]  # fmt: skip


def failed(r: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {n: [(f["check"], f["reason"]) for f in h["failed"]] for n, h in r["hosts"].items()
            if h["failed"]}  # fmt: skip


def test_fresh_install_in_huawei_order_and_a_missing_kernel_header_named(lab: Lab) -> None:
    """Driver, firmware, reboot, toolkit, kernels; the HwHiAiUser user the driver refuses to
    run without is created first. A server without the running kernel's headers fails with
    the driver's own message and `--resume` mends it once the headers are there."""
    a, d = lab.servers[0], lab.servers[-1]
    res = run_wanka("lab", "fault", str(lab.dir), "add", f"no-kernel-headers:{d}")
    assert res.returncode == 0, res.stderr
    try:
        r = lab.run(CLUSTER)
    finally:
        res = run_wanka("lab", "fault", str(lab.dir), "clear", f"no-kernel-headers:{d}")
        assert res.returncode == 0, res.stderr
    assert set(failed(r)) == {d}, r["summary"]
    ((check_id, reason),) = failed(r)[d]
    assert check_id == "npu_driver" and reason.startswith("Install the driver (fresh host): exit 1")
    assert "[ERROR]Drv_dkms_env_check failed, details in : /var/log/ascend_seclog" in reason
    assert [e for _, e in lab.log(d) if e != "boot"] == []  # nothing installed on d
    for node in lab.servers[:-1]:
        assert in_order(lab.log(node)) == fresh(OLD), node
    assert "HwHiAiUser:" in lab.ssh(a, "grep ^HwHiAiUser: /etc/passwd /etc/group")
    r = lab.run(CLUSTER, resume=True)
    assert r["ok"] and r["ran"] == [d], r["summary"]
    assert in_order(lab.log(d)) == fresh(OLD)


def test_rank_table_across_supernodes_has_the_sdids_npu_smi_printed(lab: Lab) -> None:
    """verify -> `wanka ranktable --cards` over both supernodes: every device's
    super_device_id and every server's super pod are what that server's npu-smi printed."""
    res = run_wanka("verify", str(CLUSTER), "--lab", str(lab.dir), "--out", str(lab.out),
                    timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    table = lab.out / "job.json"
    res = run_wanka("ranktable", str(CLUSTER), "--phase", "p1", "--verified", str(lab.out),
                    "--cards", "32", "--out", str(table))  # fmt: skip
    assert res.returncode == 0, res.stderr
    t = json.loads(table.read_text(encoding="utf-8"))
    assert t["version"] == "1.2" and len(t["super_pod_list"]) == 2
    pod_of = {m["server_id"]: p["super_pod_id"] for p in t["super_pod_list"]
              for m in p["server_list"]}  # fmt: skip
    by_address = {v["address"]: n for n, v in lab.access["nodes"].items()}
    assert sorted(by_address[s["server_id"]] for s in t["server_list"]) == lab.servers
    for s in t["server_list"]:
        node = by_address[s["server_id"]]
        profile = json.loads((nodes.node_dir(lab.dir, node) / "profile.json").read_text())
        die = {str(x["device"]): (x["card"], x["chip"]) for x in profile["devices"]}
        script = "; ".join(
            f"echo '#{dev['device_id']}'; npu-smi info -t spod-info -i {die[dev['device_id']][0]}"
            f" -c {die[dev['device_id']][1]}"
            for dev in s["device"]
        )
        printed: dict[str, dict[str, str]] = {}
        for block in lab.ssh(node, script).split("#")[1:]:
            dev_id, *rows = block.strip().splitlines()
            printed[dev_id] = {k.strip(): v.strip() for k, v in (x.split(":") for x in rows)}
        assert len(printed) == len(s["device"]) == 16
        for dev in s["device"]:
            assert dev["super_device_id"] == printed[dev["device_id"]]["SDID"], (node, dev)
        pods = {p["Super Pod ID"] for p in printed.values()}
        assert pods == {pod_of[s["server_id"]]}, node


def test_upgrade_goes_firmware_driver_reboot_cann_and_a_third_run_changes_nothing(
    lab: Lab, tmp_path: Path
) -> None:
    """New driver, firmware and CANN in the model. With npu_driver_reboot none the firmware
    is flashed but not active, and the check says so; the next run reboots that server only;
    the others upgrade in Huawei's order. The versions read back as the real files write
    them; a third run installs and reboots nothing."""
    text = CLUSTER.read_text(encoding="utf-8")
    for old, new in UPGRADE.items():
        assert old in text, old
        text = text.replace(old, new)
    cluster = tmp_path / CLUSTER.name
    cluster.write_text(text, encoding="utf-8")
    provision.write_packages(derive(check(str(cluster))), lab.dir)  # the new .run files
    a = lab.servers[0]
    r = lab.run(cluster, limit=a, extra_vars={"npu_driver_reboot": "none"})
    ((check_id, reason),) = failed(r)[a]
    assert check_id == "npu-driver", r["summary"]
    assert (f"firmware {NEW['firmware']}; the cards run {OLD['firmware']} (not active until "
            "a reboot: npu_driver_reboot is none)") in reason  # fmt: skip
    assert in_order(lab.log(a)) == [e for e in upgrade(NEW) if e != "boot"]
    r = lab.run(cluster)
    assert r["ok"], r["summary"]
    assert [e for _, e in lab.log(a)] == ["boot"]  # only the reboot it still needed
    for node in lab.servers[1:]:
        assert in_order(lab.log(node)) == upgrade(NEW), node
    out = lab.ssh(lab.servers[1], "cat /usr/local/Ascend/driver/version.info "
                  "/usr/local/Ascend/firmware/version.info "
                  "/usr/local/Ascend/ascend-toolkit/latest/version.cfg; "
                  "npu-smi info -t board -i 0 | grep 'Firmware Version'").splitlines()  # fmt: skip
    assert f"Version={NEW['driver']}" in out and "compatible_version_fw=[7.0.0,7.7.99]" in out
    assert f"Version={NEW['firmware']}" in out
    new, old = f"[{NEW['cann']}:{NEW['cann']}]", f"[{OLD['cann']}:{OLD['cann']}]"
    assert f"toolkit_running_version={new}" in out
    assert f"opp_kernel_running_version={new}" in out
    assert f"toolkit_installed_version={old}{new}" in out  # one [..] per release installed
    assert out[-1].split(":")[-1].strip() == NEW["firmware"]  # what the cards now run
    r = lab.run(cluster)
    assert r["ok"] and r["changed"] == 0, r["summary"]
    for node in lab.servers:
        assert lab.log(node) == [], node
