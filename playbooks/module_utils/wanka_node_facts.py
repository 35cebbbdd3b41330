# -*- coding: utf-8 -*-
"""wanka_node's facts of a node: the installed driver, firmware and CANN versions (their
version.info and version.cfg), the firmware the cards run and the health of every die
(npu-smi), and the tools that read them (commands run in parallel, `key: value` text).
Standard library only: it runs on the hosts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.wanka_checks import NPU_HEALTH
from ansible.module_utils.wanka_version import parse_range

DRIVER_INFO = "/usr/local/Ascend/driver/version.info"
FIRMWARE_INFO = "/usr/local/Ascend/firmware/version.info"
CANN_INFO = "/usr/local/Ascend/ascend-toolkit/latest/version.cfg"
# version.cfg: toolkit_running_version=[7.3.0.1.231:8.0.RC2] (inner build : CANN release)
RUNNING = re.compile(r"^(\w+)_running_version=((?:\[[^:\]]+:[^\]]+\])+)\s*$", re.M)
WORKERS = 16


class Tools(object):
    def __init__(self, prefix):
        self.prefix = list(prefix or [])

    def run(self, argv, timeout=60):
        try:
            res = subprocess.run(
                self.prefix + list(argv),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                universal_newlines=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            return 127, "", "%s: command not found" % argv[0]
        except subprocess.TimeoutExpired:
            return 124, "", "%s: no answer within %d s" % (" ".join(argv), timeout)
        return res.returncode, res.stdout, res.stderr


def parallel(fn, items):
    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
        return list(pool.map(fn, items))


def kv(text, sep=":"):
    out = {}
    for line in text.splitlines():
        key, found, value = line.partition(sep)
        if found:
            out[key.strip()] = value.strip()
    return out


def read_file(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def version_info(path, key="Version"):
    text = read_file(path)
    if text is None:
        return None, {}
    values = kv(text, "=")
    return values.get(key) or values.get("Version") or values.get("version"), values


def cann_running(text):
    """Part (toolkit, opp_kernel, runtime, ...) -> the CANN release running, from the lines
    of a real version.cfg (the last [build:release] of each *_running_version line)."""
    out = {}
    for part, pairs in RUNNING.findall(text or ""):
        out[part] = re.findall(r"\[[^:\]]+:([^\]]+)\]", pairs)[-1]
    return out


def npu_health(tools, devices):
    def one(dev):
        rc, out, err = tools.run(
            ["npu-smi", "info", "-t", "health", "-i", str(dev["card"]), "-c", str(dev["chip"])]
        )
        if rc != 0:
            return dev, None, (out + err).strip() or "npu-smi failed (exit %d)" % rc
        return dev, kv(out).get("Health Status"), ""

    return parallel(one, devices)


def boards(tools, cards):
    def one(card):
        rc, out, err = tools.run(["npu-smi", "info", "-t", "board", "-i", str(card)])
        if rc != 0:
            return card, None, (out + err).strip() or "npu-smi failed (exit %d)" % rc
        return card, kv(out), ""

    return parallel(one, cards)


def facts(tools, expect):
    rc, out, _ = tools.run(["uname", "-m"])
    driver, driver_info = version_info(DRIVER_INFO)
    firmware, _ = version_info(FIRMWARE_INFO)
    cann = cann_running(read_file(CANN_INFO))
    fw_range = parse_range(driver_info.get("compatible_version_fw"))
    devices = expect.get("npu", {}).get("devices", [])
    health = {}
    for dev, status, err in npu_health(tools, devices):
        health["npu%d" % dev["device"]] = status or ("unknown: " + err)
    rc_l, out_l, _ = tools.run(["npu-smi", "info", "-l"])
    count = kv(out_l).get("Total Count") if rc_l == 0 else None
    cards = int(expect.get("npu", {}).get("cards", 0)) if driver else 0
    active = {i.get("Firmware Version") for _, i, _ in boards(tools, range(cards)) if i}
    return {
        "arch": out.strip() if rc == 0 else None,
        "driver": driver,
        "driver_fw_range": list(fw_range) if fw_range else None,
        "firmware": firmware,
        "firmware_active": sorted(v for v in active if v),
        "cann": cann.get("toolkit"),
        "cann_kernels": cann.get("opp_kernel"),
        "npu_count": int(count) if count and count.isdigit() else None,
        "npu_health": health,
        "npu_unhealthy": sorted(k for k, v in health.items() if v != "OK"),
        "npu_health_failures": [
            {"check": NPU_HEALTH, "port": k, "reason": "health %s" % v}
            for k, v in sorted(health.items()) if v != "OK"
        ],
    }
