"""`wanka ranktable`: a job's rank table over verified servers, across SuperPoDs, with the ids
the hardware printed (the lab's `npu-smi info -t spod-info`, itself tested against the real
capture in test_captures.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wanka import checks as registry
from wanka.cli.main import main
from wanka.lab.profile import node_profile
from wanka.lab.tools import npu_smi
from wanka.pipeline import open_cluster

ROOT = Path(__file__).resolve().parent.parent
SHENZHEN = ROOT / "examples/shenzhen-14000p/cluster.yaml"


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[int, int]]]:
    """A verify report of the first two SuperPoDs of phase p1 (all ok but one server), its
    spod-info values as each server's npu-smi printed them."""
    d = open_cluster(str(SHENZHEN))
    pods = [
        p
        for p in d.cluster.pods
        if p.phase.name == "p1" and any(n.model.accelerator for n in p.nodes)
    ]
    servers = [n for p in pods[:2] for n in p.nodes if n.model.accelerator and not n.excluded]
    hosts: dict[str, Any] = {}
    printed: dict[str, dict[int, int]] = {}
    for n in servers:
        prof = node_profile(d, n)
        checks = []
        for dev in prof["devices"]:
            text = npu_smi.npu_smi_spod(prof, dev["card"], dev["chip"])
            info = {k.strip(): v.strip() for k, v in (x.split(":") for x in text.splitlines())}
            printed.setdefault(n.name, {})[dev["device"]] = int(info["SDID"])
            ids = (int(info["SDID"]), int(info["Super Pod ID"]), int(info["Server Index"]))
            checks.append(registry.spod(f"npu{dev['device']}", *ids))  # as wanka_node sends it
        hosts[n.name] = {"status": "ok", "checks": checks}
    hosts[servers[3].name]["status"] = "failed"  # failed its last verify: never in a table
    out = tmp_path_factory.mktemp("verify")
    (out / "verify-report.json").write_text(json.dumps({"phase": "p1", "hosts": hosts}))
    return out, printed


_D = open_cluster(str(SHENZHEN))
_MGMT = {str(ip): node for (node, plane), ip in _D.addressing.bonds.items() if plane == "mgmt"}


def by_address(ip: str) -> str:
    return _MGMT[ip]


def table(capsys: Any, *args: str) -> tuple[int, Any]:
    rc = main(["ranktable", str(SHENZHEN), "--phase", "p1", *args])
    out = capsys.readouterr()
    return rc, (json.loads(out.out) if rc == 0 else out.err)


def test_a_job_larger_than_one_superpod_spans_two(verified: Any, capsys: Any) -> None:
    out, printed = verified
    rc, t = table(capsys, "--verified", str(out), "--cards", "512")
    assert rc == 0 and t["version"] == "1.2"
    assert t["server_count"] == "64"  # 512 cards of 8-card servers
    pods = t["super_pod_list"]
    assert len(pods) == 2 and [len(p["server_list"]) for p in pods] == [47, 17]
    ranks = [int(dev["rank_id"]) for s in t["server_list"] for dev in s["device"]]
    assert ranks == list(range(1024))  # 512 cards, two dies each
    pod_of = {m["server_id"]: p["super_pod_id"] for p in pods for m in p["server_list"]}
    seen: dict[str, set[str]] = {}
    for s in t["server_list"]:
        name = by_address(s["server_id"])
        got = [int(dev["super_device_id"]) for dev in s["device"]]
        assert got == [printed[name][int(dev["device_id"])] for dev in s["device"]]
        ids = seen.setdefault(pod_of[s["server_id"]], set())
        assert not ids & {dev["super_device_id"] for dev in s["device"]}  # unique per SuperPoD
        ids.update(dev["super_device_id"] for dev in s["device"])


def test_supernodes_pick_superpods_by_their_hardware_id(verified: Any, capsys: Any) -> None:
    out, _ = verified
    rc, t = table(capsys, "--verified", str(out), "--supernodes", "1")
    assert rc == 0 and [p["super_pod_id"] for p in t["super_pod_list"]] == ["1"]
    rc, err = table(capsys, "--verified", str(out), "--supernodes", "9")
    assert rc == 2 and "no verified server reported Super Pod ID 9" in err


def test_refusals_name_the_reason(verified: Any, capsys: Any, tmp_path: Path) -> None:
    out, _ = verified
    rc, err = table(capsys, "--verified", str(out), "--cards", "100")
    assert rc == 2 and "in whole servers" in err
    rc, err = table(capsys, "--verified", str(out), "--cards", "100000")
    assert rc == 2 and "100000 cards" in err
    rc, err = table(capsys, "--verified", str(tmp_path))
    assert rc == 2 and "cannot read verify's report" in err and "Traceback" not in err


def test_out_is_written_whole_or_not_at_all(verified: Any, capsys: Any, tmp_path: Path) -> None:
    out, _ = verified
    dest = tmp_path / "job.json"
    dest.write_text("previous table\n")
    rc = main(
        ["ranktable", str(SHENZHEN), "--phase", "p1", "--verified", str(out)]
        + ["--cards", "64", "--out", str(dest)]
    )
    assert rc == 0 and json.loads(dest.read_text())["server_count"] == "8"
    assert [p.name for p in tmp_path.iterdir()] == ["job.json"]  # no temporary left behind
    capsys.readouterr()
    missing = tmp_path / "no-such-dir" / "job.json"
    rc = main(
        ["ranktable", str(SHENZHEN), "--phase", "p1", "--verified", str(out)]
        + ["--cards", "64", "--out", str(missing)]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "cannot write the rank table" in err and "Traceback" not in err
