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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_wanka
from labkit import Lab, lab_up

from wanka.lab import nodes, provision
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


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(CLUSTER) as lab:
        yield lab


def servers(lab: Lab) -> list[str]:
    return sorted(lab.access["nodes"])


SEEN: dict[Path, int] = {}  # the install-log lines already read, per log


def log(lab: Lab, node: str) -> list[tuple[str, str]]:
    """(boot id, event) of the server's install log since the last call."""
    path = nodes.node_dir(lab.dir, node) / "fs/var/upper/lib/wanka-lab" / INSTALL_LOG
    lines = path.read_text(encoding="utf-8").splitlines()
    new, SEEN[path] = lines[SEEN.get(path, 0) :], len(lines)
    return [(b, e) for b, _, e in (line.partition(" ") for line in new)]


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
    a, d = servers(lab)[0], servers(lab)[-1]
    res = run_wanka("lab", "fault", str(lab.dir), "add", f"no-kernel-headers:{d}")
    assert res.returncode == 0, res.stderr
    try:
        r = lab.run(cluster=CLUSTER)
    finally:
        res = run_wanka("lab", "fault", str(lab.dir), "clear", f"no-kernel-headers:{d}")
        assert res.returncode == 0, res.stderr
    assert set(failed(r)) == {d}, r["summary"]
    ((check_id, reason),) = failed(r)[d]
    assert check_id == "npu_driver" and reason.startswith("Install the driver (fresh host): exit 1")
    assert "[ERROR]Drv_dkms_env_check failed, details in : /var/log/ascend_seclog" in reason
    assert [e for _, e in log(lab, d) if e != "boot"] == []  # nothing installed on d
    for node in servers(lab)[:-1]:
        assert in_order(log(lab, node)) == fresh(OLD), node
    assert "HwHiAiUser:" in lab.sh(a, "grep ^HwHiAiUser: /etc/passwd /etc/group")
    r = lab.run(cluster=CLUSTER, resume=True)
    assert r["ok"] and r["ran"] == [d], r["summary"]
    assert in_order(log(lab, d)) == fresh(OLD)


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
    assert sorted(by_address[s["server_id"]] for s in t["server_list"]) == servers(lab)
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
        for block in lab.sh(node, script).split("#")[1:]:
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
    a = servers(lab)[0]
    r = lab.run(cluster=cluster, limit=a, extra_vars={"npu_driver_reboot": "none"})
    ((check_id, reason),) = failed(r)[a]
    assert check_id == "npu-driver", r["summary"]
    assert (f"firmware {NEW['firmware']}; the cards run {OLD['firmware']} (not active until "
            "a reboot: npu_driver_reboot is none)") in reason  # fmt: skip
    assert in_order(log(lab, a)) == [e for e in upgrade(NEW) if e != "boot"]
    r = lab.run(cluster=cluster)
    assert r["ok"], r["summary"]
    assert [e for _, e in log(lab, a)] == ["boot"]  # only the reboot it still needed
    for node in servers(lab)[1:]:
        assert in_order(log(lab, node)) == upgrade(NEW), node
    out = lab.sh(servers(lab)[1], "cat /usr/local/Ascend/driver/version.info "
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
    r = lab.run(cluster=cluster)
    assert r["ok"] and r["changed"] == 0, r["summary"]
    for node in servers(lab):
        assert log(lab, node) == [], node
