"""`wanka lab up | status | down` as operators run it (root: network namespaces)."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import ROOT, require_lab_servers, run_wanka


def test_lab_up_status_down(tmp_path: Path) -> None:
    require_lab_servers()
    # a renamed copy: its namespace prefix differs from a real `lab` cluster's
    text = (ROOT / "examples/lab-mini/cluster.yaml").read_text()
    text = text.replace("  name: lab\n", "  name: labcli\n").replace("lab-p", "labcli-p")
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(text)
    # FRR runs as user frr: the lab directory must be reachable by others (pytest's is 0700)
    base = Path(tempfile.mkdtemp(prefix="wanka-labcli-"))
    base.chmod(0o755)
    lab_dir = base / "lab"
    try:
        up = run_wanka("lab", "up", str(cluster), "--dir", str(lab_dir))
        assert up.returncode == 0, up.stderr
        again = run_wanka("lab", "up", str(cluster), "--dir", str(lab_dir))
        assert again.returncode == 0 and "no change" in again.stderr
        deadline = time.monotonic() + 60
        while True:
            st = json.loads(run_wanka("lab", "status", str(lab_dir)).stdout)
            bgp = st["bgp"]
            if all(v["established"] == v["peers"] > 0 for v in bgp.values()):
                break
            assert time.monotonic() < deadline, bgp
            time.sleep(1)
        # 8 servers, 8 switches and the jump host
        assert len(bgp) == 4 and st["namespaces"] == {"present": 17, "recorded": 17}
        prefix = st["prefix"]
    finally:
        down = run_wanka("lab", "down", str(lab_dir))
    assert down.returncode == 0, down.stderr
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in left
    assert not lab_dir.exists()
    base.rmdir()
