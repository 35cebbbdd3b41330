#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: read a node's NPU, CPU, memory and NVMe facts, and check them against the
cluster model. Shipped with wanka's playbooks (playbooks/library/), standard library only, so
it runs on any target with Python 3.6+."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wanka_node
short_description: Facts and checks of an Ascend node (or a switch's BGP) against the wanka model
description:
  - C(action=facts) reads the architecture, the installed driver, firmware and CANN versions
    and the health of every NPU; it changes nothing.
  - C(action=check) runs the named checks against C(expect) (the host's C(wanka_expect), derived
    from the cluster model by wanka) and returns one result per check and port:
    C({check, port, status, reason}) with status pass, fail or skip. The task fails when any
    check fails; the result list is returned either way, so reports can name node, port and check.
  - Checks run the real tools (npu-smi, hccn_tool, nvme, lscpu, vtysh) in parallel.
  - C(action=fail) fails the task with C(failures), the failed checks a role found itself
    (C({check, port, reason}), each given C(note) in parentheses), returned as C(checks).
options:
  action:
    description: facts, check or fail.
    type: str
    choices: [facts, check, fail]
    default: check
  failures:
    description: With action=fail, the failed checks (C(check), C(port), C(reason)).
    type: list
    elements: dict
    default: []
  note:
    description: With action=fail, said after each failure's reason (e.g. what was not done).
    type: str
    default: ""
  checks:
    description: >-
      Check ids. Node: os (/etc/os-release against expect.os), arch, cpu, memory,
      npu-count, npu-model, npu-health, firmware, spod-info (A3: each die's SDID, Super Pod
      ID, Server Index, as C(value)), nvme, link, speed, lldp, address, gateway, netdetect,
      pfc, gateway-ping, roce-ping.
      Switch: bgp, switch-ports (per cabled port: oper and admin state and speed - SONiC
      from C(show interfaces status); Debian/FRR from the kernel's sysfs, the speed "not
      checked" on an interface without a device, such as a veth), switch-qos (per port of a
      RoCE plane: SONiC from CONFIG_DB, C(sonic-cfggen -d --print-data) - PFC on the
      priority, the DSCP mapped to it, ECN on its queue; Debian/FRR C(dcb pfc show), "not
      checked" where the kernel cannot say).
    type: list
    elements: str
    default: []
  expect:
    description: What the model says (wanka_expect of the host).
    type: dict
    default: {}
  command_prefix:
    description: Prepended to every command (e.g. ip netns exec NS for a lab switch).
    type: list
    elements: str
    default: []
  vty_socket:
    description: vtysh socket directory of the switch's FRR instance (empty for the default).
    type: str
    default: ""
  sonic_cli:
    description: SONiC - the directory of C(show) and C(sonic-cfggen) (empty - on PATH).
    type: str
    default: ""
author: wanka
"""

EXAMPLES = r"""
- name: Check the NPUs against the model
  wanka_node:
    action: check
    checks: [npu-count, npu-health, link, lldp]
    expect: "{{ wanka_expect }}"
"""

RETURN = r"""
checks:
  description: >-
    One result per check and port, C({check, port, status, reason}), on success and on
    failure alike (action=fail: the failures).
  returned: action=check, action=fail
  type: list
  elements: dict
facts:
  description: >-
    arch, driver, firmware (the installed one, firmware/version.info), firmware_active (the
    versions the cards run, npu-smi -t board: a flashed firmware runs after a reboot), cann
    (toolkit_running_version of version.cfg), cann_kernels (opp_kernel_running_version),
    npu_health, npu_count.
  returned: action=facts
  type: dict
"""

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.wanka_version import SHAPE, VersionError, in_range, parse_range

DRIVER_INFO = "/usr/local/Ascend/driver/version.info"
FIRMWARE_INFO = "/usr/local/Ascend/firmware/version.info"
CANN_INFO = "/usr/local/Ascend/ascend-toolkit/latest/version.cfg"
# version.cfg: toolkit_running_version=[7.3.0.1.231:8.0.RC2] (inner build : CANN release)
RUNNING = re.compile(r"^(\w+)_running_version=((?:\[[^:\]]+:[^\]]+\])+)\s*$", re.M)
WORKERS = 16
PING_ATTEMPTS = 2


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


def range_problem(fw, lo, hi, whose):
    """Why firmware fw is not in [lo, hi] (wanka's one comparator: a bound covers its builds,
    7.3.0 takes 7.3.0.1.231), or None when it is; a model with no range checks nothing."""
    if not (lo or hi):
        return None
    try:
        if in_range(fw, lo, hi):
            return None
    except VersionError as e:
        return "cannot check firmware against %s range [%s, %s]: %s (a version is %s)" % (
            whose, lo, hi, e, SHAPE)
    return "firmware %s outside %s range [%s, %s]" % (fw, whose, lo, hi)


def result(check, port, ok, reason="", **extra):
    out = {"check": check, "port": port, "status": "pass" if ok else "fail", "reason": reason}
    out.update(extra)
    return out


def skipped(check, port, reason):
    return {"check": check, "port": port, "status": "skip", "reason": reason}


# ----------------------------------------------------------------------------- facts


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
            {"check": "npu-health", "port": k, "reason": "health %s" % v}
            for k, v in sorted(health.items()) if v != "OK"
        ],
    }


# ----------------------------------------------------------------------------- checks


def os_release(text):
    """/etc/os-release as key -> value (quotes removed), as the real files write it."""
    out = {}
    for key, value in kv(text or "", "=").items():
        out[key] = value.strip().strip('"').strip("'")
    return out


def os_problem(info, want):
    """Why /etc/os-release (`info`) is not the model's OS {name, version}, else None: the
    name is its ID or the start of its NAME (openEuler, Kylin, Ubuntu), the version starts
    with its VERSION_ID (22.03, V10, 22.04), and a service pack (SP4) is the one VERSION
    names, when VERSION names one (openEuler `22.03 (LTS-SP4)`; Kylin V10 names a codename)."""
    name, version = (want.get("name") or ""), (want.get("version") or "")
    got = "%s %s" % (info.get("NAME", "?"), info.get("VERSION", info.get("VERSION_ID", "?")))
    if name.lower() not in (info.get("ID", "").lower(), info.get("NAME", "").lower()[: len(name)]):
        return "OS %s, the model says %s %s" % (got, name, version)
    words = version.split()
    if words and words[0].lower() != info.get("VERSION_ID", "").lower():
        return "OS %s, the model says %s %s" % (got, name, version)
    sp = [w for w in words if re.match(r"^SP\d+$", w, re.I)]
    named = re.search(r"SP\d+", info.get("VERSION", ""), re.I)  # Kylin names none (Tercel...)
    ga = "LTS" in info.get("VERSION", "") and not named  # openEuler's GA: `22.03 LTS`
    if sp and ((named and named.group(0).lower() != sp[0].lower()) or ga):
        return "OS %s, the model says %s %s (service pack)" % (got, name, version)
    return None


def check_host(tools, expect, wanted):
    out = []
    if "os" in wanted and (expect.get("os") or {}).get("name"):
        text = read_file("/etc/os-release")
        problem = os_problem(os_release(text), expect["os"]) if text else "no /etc/os-release"
        out.append(result("os", "", not problem, problem or ""))
    if "arch" in wanted:
        rc, text, err = tools.run(["uname", "-m"])
        arch = text.strip()
        want = expect["cpu"]["arch"]
        out.append(result("arch", "", arch == want, "" if arch == want else
                          "architecture %s, the model says %s" % (arch or err.strip(), want)))
    if "cpu" in wanted:
        rc, text, err = tools.run(["lscpu", "-J"])
        info = {}
        if rc == 0:
            for row in json.loads(text).get("lscpu", []):
                info[row.get("field", "").rstrip(":")] = row.get("data", "")
        model, sockets = info.get("Model name", ""), info.get("Socket(s)", "")
        cpu = expect["cpu"]
        problems = []
        if model != cpu["model"]:
            problems.append("CPU model %r, the model says %r" % (model or err.strip(), cpu["model"]))
        if str(sockets) != str(cpu["sockets"]):
            problems.append("%s sockets, the model says %s" % (sockets or "?", cpu["sockets"]))
        out.append(result("cpu", "", not problems, "; ".join(problems)))
    if "memory" in wanted:
        text = read_file("/proc/meminfo") or ""
        m = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.M)
        got_gb = int(m.group(1)) / 1024.0 / 1024.0 if m else 0.0
        want_gb = float(expect["memory_gb"])
        ok = got_gb >= 0.9 * want_gb
        out.append(result("memory", "", ok, "" if ok else
                          "%.0f GiB of memory, the model says %g GB" % (got_gb, want_gb)))
    return out


def check_npus(tools, expect, wanted):
    out = []
    npu = expect.get("npu") or {}
    cards = int(npu.get("cards", 0))
    devices = npu.get("devices", [])
    if "npu-count" in wanted:
        rc, text, err = tools.run(["npu-smi", "info", "-l"])
        count = kv(text).get("Total Count", "") if rc == 0 else ""
        ok = count == str(cards)
        out.append(result("npu-count", "", ok, "" if ok else "npu-smi reports %s NPUs, the model "
                          "says %d" % (count or (text + err).strip() or "no", cards)))
    if wanted & {"npu-model", "firmware"}:
        lo, hi = expect.get("firmware_range") or [None, None]
        _, drv_info = version_info(DRIVER_INFO)
        drv_range = parse_range(drv_info.get("compatible_version_fw"))
        for card, info, err in boards(tools, range(cards)):
            port = "npu%d" % card
            if info is None:
                for c in sorted(wanted & {"npu-model", "firmware"}):
                    out.append(result(c, port, False, err))
                continue
            if "npu-model" in wanted:
                got = info.get("PCI Device ID", "").lower()
                want = str(npu.get("pci_device_id") or "").lower()
                ok = not want or got == want
                out.append(result("npu-model", port, ok, "" if ok else
                                  "PCI device id %s, the model's accelerator is %s" % (got, want)))
            if "firmware" in wanted:
                fw = info.get("Firmware Version", "")
                problems = [p for p in (
                    range_problem(fw, lo, hi, "the model's"),
                    drv_range and range_problem(fw, drv_range[0], drv_range[1],
                                                "the installed driver's"),
                ) if p]
                if info.get("Compatibility", "OK") != "OK":
                    problems.append("npu-smi says Compatibility %s" % info["Compatibility"])
                out.append(result("firmware", port, not problems, "; ".join(problems), value=fw))
    if "npu-health" in wanted:
        for dev, status, err in npu_health(tools, devices):
            port = "npu%d" % dev["device"]
            ok = status == "OK"
            out.append(result("npu-health", port, ok, "" if ok else
                              ("health %s" % status if status else err)))
    return out


def spod_info(text):
    """(SDID, Super Pod ID, Server Index) of `npu-smi info -t spod-info -i N -c C` (A3:
    `\tSDID<pad> : 167772160` ...), None for a missing or non-numeric field."""
    info = kv(text)
    out = []
    for key in ("SDID", "Super Pod ID", "Server Index"):
        value = info.get(key, "")
        out.append(int(value) if value.isdigit() else None)
    return tuple(out)


def check_spod(tools, expect):
    """spod-info (A3): each die's hardware SDID, Super Pod ID and Server Index, the ids HCCL
    links dies by; every die of the server must report one Super Pod ID and one Server Index
    (the value, `sdid:super_pod_id:server_index`, goes into the rank tables)."""
    npu = expect.get("npu") or {}
    if npu.get("generation") != "A3":
        return []  # A2 boards have no SuperPoD ids ("does not support querying spod-info")

    def one(dev):
        rc, out, err = tools.run(["npu-smi", "info", "-t", "spod-info", "-i", str(dev["card"]),
                                  "-c", str(dev["chip"])])
        return dev, rc, out, err

    found = []
    for dev, rc, out, err in parallel(one, npu.get("devices", [])):
        port = "npu%d" % dev["device"]
        ids = spod_info(out) if rc == 0 else (None, None, None)
        if None in ids:
            found.append(result("spod-info", port, False, (out + err).strip() or
                                "npu-smi info -t spod-info printed no SDID"))
        else:
            found.append(result("spod-info", port, True, value="%d:%d:%d" % ids))
    pods = set(c["value"].split(":", 1)[1] for c in found if c["status"] == "pass")
    if len(pods) > 1:
        for c in found:
            c.update(status="fail", reason="the dies report different Super Pod ID:Server "
                     "Index (%s); all must be one" % ", ".join(sorted(pods)))
    return found


def hccn(tools, device, *args):
    return tools.run(["hccn_tool", "-i", str(device)] + list(args), timeout=30)


def check_ports(tools, expect, wanted):
    devices = (expect.get("npu") or {}).get("devices", [])
    port_checks = wanted & {"link", "speed", "lldp", "address", "gateway", "netdetect", "pfc",
                            "gateway-ping", "roce-ping"}
    if not port_checks:
        return []

    def one(dev):
        d = dev["device"]
        port = "npu%d" % d
        res = []
        blocked = None
        if "link" in port_checks:
            rc, text, err = hccn(tools, d, "-link", "-g")
            up = "link status: UP" in text
            res.append(result("link", port, up, "" if up else
                              (text.strip() or err.strip() or "no link status")))
            if not up:
                blocked = "link down"
        want = dev.get("speed_mbps")
        skip = gate("speed", port, port_checks, blocked, want, "no NIC speed in the model")
        if skip:
            res.append(skip)
        elif "speed" in port_checks:
            rc, text, err = hccn(tools, d, "-speed", "-g")
            got = port_speed(text)
            ok = got == int(want)
            said = mbps(got) if got is not None else (text.strip() or err.strip() or "?")
            res.append(result("speed", port, ok, "" if ok else
                              "port at %s, the model says %s" % (said, mbps(int(want)))))
        want_sw, want_port = dev.get("switch"), dev.get("switch_port")
        skip = gate("lldp", port, port_checks, blocked, want_sw, "not cabled in the model")
        if skip:
            res.append(skip)
        elif "lldp" in port_checks:
            rc, text, err = hccn(tools, d, "-lldp", "-g")
            tlv = lldp_tlvs(text) if rc == 0 else {}
            got_sw, got_port = tlv.get("System Name TLV", ""), tlv.get("Port ID TLV", "")
            if ":" in got_port and got_port.split(":", 1)[0] in ("Ifname", "MAC", "IPv4"):
                got_port = got_port.split(":", 1)[1].strip()
            ok = got_sw == want_sw and got_port == want_port
            if rc != 0:
                reason = (text.strip() or err.strip() or "no LLDP neighbour")
            elif not ok:
                reason = "LLDP neighbour %s %s, the cabling plan says %s %s" % (
                    got_sw or "?", got_port or "?", want_sw, want_port)
            else:
                reason = ""
            res.append(result("lldp", port, ok, reason, neighbour="%s %s" % (got_sw, got_port)))
            if not ok:
                blocked = "not cabled as planned"
        if blocked:  # the port's settings and pings would only echo the cause
            for check in ("address", "gateway", "netdetect", "pfc", "gateway-ping", "roce-ping"):
                if check in port_checks:
                    res.append(skipped(check, port, blocked))
            return res
        if "address" in port_checks:
            rc, text, err = hccn(tools, d, "-ip", "-g")
            v = kv(text)
            got = (v.get("ipaddr", ""), v.get("netmask", ""))
            want = (dev["address"], dev["netmask"])
            ok = got == want
            res.append(result("address", port, ok, "" if ok else "address %s/%s, the model says "
                              "%s/%s" % (got[0] or "none", got[1] or "none", want[0], want[1])))
            if not ok and not blocked:
                blocked = "address not set"
        if "gateway" in port_checks:
            rc, text, err = hccn(tools, d, "-gateway", "-g")
            m = re.search(r"default gateway:\s*([0-9.]*)", text)
            got = m.group(1) if m else ""
            ok = got == dev["gateway"]
            res.append(result("gateway", port, ok, "" if ok else
                              "gateway %s, the model says %s" % (got or "none", dev["gateway"])))
        if "netdetect" in port_checks:
            rc, text, err = hccn(tools, d, "-netdetect", "-g")
            m = re.search(r"netdetect address:\s*([0-9.]*)", text)
            got = m.group(1) if m else ""
            ok = got == dev["netdetect"]
            res.append(result("netdetect", port, ok, "" if ok else
                              "netdetect %s, the model says %s" % (got or "none", dev["netdetect"])))
        skip = gate("pfc", port, port_checks, None, dev.get("pfc"), "no QoS on the plane")
        if skip:
            res.append(skip)
        elif "pfc" in port_checks:
            rc, text, err = hccn(tools, d, "-pfc", "-g")
            got = pfc_bitmap(text)
            ok = got == dev["pfc"]
            said = priorities(got) if got else (text.strip() or err.strip() or "?")
            res.append(result("pfc", port, ok, "" if ok else "PFC on priorities %s, the model "
                              "says %s" % (said, priorities(dev["pfc"]))))
        for check, target, peer in (("gateway-ping", dev["gateway"], ""),
                                    ("roce-ping", dev.get("ping"), dev.get("ping_peer", ""))):
            if check not in port_checks:
                continue
            if not target:
                res.append(skipped(check, port, "no peer in the model"))
                continue
            if blocked:
                res.append(skipped(check, port, blocked))
                continue
            for _ in range(PING_ATTEMPTS):  # a busy host may drop one round: fail on two
                rc, text, err = hccn(tools, d, "-ping", "-g", "address", target)
                m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
                ok = bool(m) and int(m.group(2)) > 0
                if ok:
                    break
            reason = "" if ok else "no answer from %s%s (%s)" % (
                target, " (%s)" % peer if peer else "",
                (m.group(0) if m else (text.strip() or err.strip()))[:120])
            res.append(result(check, port, ok, reason, target=target, peer=peer))
        return res

    return [r for rs in parallel(one, devices) for r in rs]


def gate(check, port, wanted, blocked, want, missing):
    """The skip result of a port check that is wanted but cannot run, else None."""
    if check not in wanted:
        return None
    if blocked:
        return skipped(check, port, blocked)
    if not want:
        return skipped(check, port, missing)
    return None


def port_speed(text):
    """hccn_tool -speed -g: `Speed: 200000 Mb/s` (the last line) -> 200000, else None."""
    lines = text.strip().splitlines()
    parts = lines[-1].split() if lines else []
    if len(parts) >= 2 and parts[0].startswith("Speed") and parts[1].isdigit():
        return int(parts[1])
    return None


def mbps(value):
    return "%gG" % (value / 1000.0) if value % 1000 == 0 else "%d Mb/s" % value


def pfc_bitmap(text):
    """hccn_tool -pfc -g: the `enabled` row under `priority 0 1 ... 7` -> "0,0,0,0,1,0,0,0"."""
    m = re.search(r"^\s*enabled\s+((?:[01]\s*){8})$", text, re.M)
    return ",".join(m.group(1).split()) if m else None


def priorities(bitmap):
    on = [str(i) for i, bit in enumerate(bitmap.split(",")) if bit == "1"]
    return " ".join(on) if on else "none"


def lldp_tlvs(text):
    """hccn_tool -lldp -g prints a TLV name line followed by tab-indented value lines."""
    tlvs, current = {}, None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith(("\t", " ")):
            if current is not None and current not in tlvs:
                tlvs[current] = line.strip()
        else:
            current = line.strip()
    return tlvs


def check_nvme(tools, expect):
    want = expect.get("nvme") or {}
    count = int(want.get("count", 0))
    rc, text, err = tools.run(["nvme", "list", "-o", "json"])
    if rc != 0:
        return [result("nvme", "", False, (text + err).strip() or "nvme list failed")]
    found = {}
    for dev in json.loads(text or "{}").get("Devices", []):
        found[dev.get("DevicePath", "").rsplit("/", 1)[-1]] = int(dev.get("PhysicalSize", 0))
    out = []
    min_bytes = float(want.get("capacity_gb", 0)) * 1e9 * 0.98
    for i in range(count):
        name = "nvme%dn1" % i
        if name not in found:
            out.append(result("nvme", name, False, "drive %s missing: %d of %d NVMe drives found"
                              % (name, len(found), count)))
        elif found[name] < min_bytes:
            out.append(result("nvme", name, False, "%s holds %.0f GB, the model says %g GB"
                              % (name, found[name] / 1e9, float(want["capacity_gb"]))))
        else:
            out.append(result("nvme", name, True))
    return out


def check_bgp(tools, expect, vty):
    cmd = ["vtysh"] + (["--vty_socket", vty] if vty else []) + ["-c", "show bgp summary json"]
    rc, text, err = tools.run(cmd)
    if rc != 0:
        return [result("bgp", "", False, (text + err).strip()[:200] or "vtysh failed")]
    data = json.loads(text or "{}")
    peers = ((data.get("ipv4Unicast") or {}).get("peers")) or {}
    out = []
    for name in expect.get("bgp_peers") or sorted(peers):
        info = peers.get(name)
        state = (info or {}).get("state", "not configured")
        ok = state == "Established"
        out.append(result("bgp", name, ok, "" if ok else "BGP session on %s is %s" % (name, state)))
    return out


def columns(text):
    """The rows of a table as tabulate's "simple" format prints it (SONiC's show commands):
    the dashed line under the header gives each column's span. [{header: cell}]."""
    lines = text.splitlines()
    at = next((i for i, x in enumerate(lines) if x.strip() and set(x) <= set("- ")), None)
    if at is None or at == 0:
        return []
    spans, pos = [], 0
    for dashes in lines[at].split("  "):
        if dashes:
            start = lines[at].index(dashes, pos)
            spans.append((start, start + len(dashes)))
            pos = start + len(dashes)
    def cut(line):
        return [line[a:b].strip() for a, b in spans]
    head = cut(lines[at - 1])
    return [dict(zip(head, cut(x))) for x in lines[at + 1:] if x.strip()]


def _gbps(text):
    """'400G' -> 400, '100M' -> 0.1, '2.5G' -> 2.5; None when not a speed."""
    m = re.match(r"^(\d+(?:\.\d+)?)([GM])$", text or "")
    if m is None:
        return None
    return float(m.group(1)) / (1000 if m.group(2) == "M" else 1)


def _sonic(cli, tool):
    return (cli.rstrip("/") + "/" + tool) if cli else tool


def check_switch_ports(tools, expect, cli):
    ports = expect.get("ports") or []
    if expect.get("os") == "sonic":
        rc, text, err = tools.run([_sonic(cli, "show"), "interfaces", "status"])
        if rc != 0:
            return [result("link", "", False, (text + err).strip()[:200] or "show failed")]
        rows = dict((r.get("Interface"), r) for r in columns(text))
        out = []
        for want in ports:
            name, row = want["name"], rows.get(want["name"])
            if row is None:
                out.append(result("link", name, False, "%s is not a port of the switch" % name))
                continue
            up = row.get("Oper") == "up" and row.get("Admin") == "up"
            out.append(result("link", name, up, "" if up else "%s is oper %s, admin %s"
                              % (name, row.get("Oper"), row.get("Admin"))))
            speed = _gbps(row.get("Speed"))
            ok = speed == float(want["speed"])
            out.append(result("speed", name, ok, "" if ok else "%s runs at %s, the model says %sG"
                              % (name, row.get("Speed"), want["speed"])))
        return out
    out = []
    for want in ports:
        name = want["name"]
        base = "/sys/class/net/%s/" % name
        rc, state, _ = tools.run(["cat", base + "operstate"])
        up = rc == 0 and state.strip() == "up"
        out.append(result("link", name, up, "" if up else "%s is %s" % (
            name, state.strip() if rc == 0 else "missing")))
        if tools.run(["test", "-e", base + "device"])[0] != 0:
            out.append(skipped("speed", name, "not checked: %s is a virtual interface, the "
                               "kernel knows no line rate of it" % name))
            continue
        rc, text, _ = tools.run(["cat", base + "speed"])
        mbps = int(text.strip()) if rc == 0 and text.strip().lstrip("-").isdigit() else None
        ok = mbps == int(want["speed"]) * 1000
        out.append(result("speed", name, ok, "" if ok else "%s runs at %s Mb/s, the model says "
                          "%sG" % (name, mbps if mbps is not None else "no speed", want["speed"])))
    return out


def check_switch_qos(tools, expect, cli):
    qos = expect.get("qos")
    if not qos:
        return []
    prio, ports = str(qos["pfc_priority"]), qos.get("ports") or []
    if expect.get("os") != "sonic":
        return [_dcb_pfc(tools, name, prio) for name in ports]
    rc, text, err = tools.run([_sonic(cli, "sonic-cfggen"), "-d", "--print-data"])
    if rc != 0:
        return [result("qos", "", False, (text + err).strip()[:200] or "sonic-cfggen failed")]
    db = json.loads(text or "{}")
    out = []
    for name in ports:
        bad = qos_faults(db, name, prio, str(qos["dscp"]), bool(qos.get("ecn")))
        out.append(result("qos", name, not bad, "; ".join(bad)))
    return out


def qos_faults(db, port, prio, dscp, ecn):
    """What CONFIG_DB lacks of the lossless class on one port: PFC on the priority, the DSCP
    mapped to its traffic class, ECN (a WRED profile with ecn) on its queue."""
    bad = []
    qmap = (db.get("PORT_QOS_MAP") or {}).get(port) or {}
    if prio not in (qmap.get("pfc_enable") or "").split(","):
        bad.append("%s: PFC is not on priority %s (pfc_enable %r)"
                   % (port, prio, qmap.get("pfc_enable", "")))
    dmap = (db.get("DSCP_TO_TC_MAP") or {}).get(qmap.get("dscp_to_tc_map", "")) or {}
    if dmap.get(dscp) != prio:
        bad.append("%s: DSCP %s maps to traffic class %s, not %s"
                   % (port, dscp, dmap.get(dscp, "none"), prio))
    if ecn:
        queue = (db.get("QUEUE") or {}).get("%s|%s" % (port, prio)) or {}
        wred = (db.get("WRED_PROFILE") or {}).get(queue.get("wred_profile", "")) or {}
        if wred.get("ecn", "ecn_none") == "ecn_none":
            bad.append("%s: no ECN marking on queue %s" % (port, prio))
    return bad


def _dcb_pfc(tools, name, prio):
    """PFC of one Debian switch port as the kernel's DCB says (`dcb pfc show dev`)."""
    rc, text, err = tools.run(["dcb", "pfc", "show", "dev", name])
    if rc != 0:
        return skipped("qos", name, "not checked: dcb pfc show dev %s: %s"
                       % (name, (err or text).strip()[:120] or "exit %d" % rc))
    on = dict(re.findall(r"(\d+):(on|off)", text.split("prio-pfc", 1)[-1]))
    ok = on.get(prio) == "on"
    return result("qos", name, ok, "" if ok else "%s: PFC is %s on priority %s"
                  % (name, on.get(prio, "unknown"), prio))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", default="check", choices=["facts", "check", "fail"]),
            checks=dict(type="list", elements="str", default=[]),
            expect=dict(type="dict", default={}),
            command_prefix=dict(type="list", elements="str", default=[]),
            vty_socket=dict(type="str", default=""),
            sonic_cli=dict(type="str", default=""),
            failures=dict(type="list", elements="dict", default=[]),
            note=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    p = module.params
    tools = Tools(p["command_prefix"])
    expect = p["expect"] or {}
    if p["action"] == "facts":
        module.exit_json(changed=False, facts=facts(tools, expect))
    if p["action"] == "fail":
        fail(module, [dict(f, status="fail", reason=(str(f.get("reason") or "") + (
            " (%s)" % p["note"] if p["note"] else ""))) for f in p["failures"]])
    wanted = set(p["checks"])
    checks = []
    checks += check_host(tools, expect, wanted)
    checks += check_npus(tools, expect, wanted)
    if "spod-info" in wanted:
        checks += check_spod(tools, expect)
    checks += check_ports(tools, expect, wanted)
    if "nvme" in wanted:
        checks += check_nvme(tools, expect)
    if "bgp" in wanted:
        checks += check_bgp(tools, expect, p["vty_socket"])
    if "switch-ports" in wanted:
        checks += check_switch_ports(tools, expect, p["sonic_cli"])
    if "switch-qos" in wanted:
        checks += check_switch_qos(tools, expect, p["sonic_cli"])
    if any(c["status"] == "fail" for c in checks):
        fail(module, checks)
    module.exit_json(changed=False, checks=checks, failed_checks=0)


def fail(module, checks):
    """Fail the task: the checks (all of them, the failed ones among them) as wanka's runner
    reads them (res.checks); the message, for people, names the failed ones."""
    failed = [c for c in checks if c["status"] == "fail"]
    msg = "; ".join("%s%s: %s" % (c["check"], " " + c["port"] if c.get("port") else "",
                                  c["reason"]) for c in failed)
    module.fail_json(msg="%d failed: %s" % (len(failed), msg), checks=checks,
                     failed_checks=len(failed))


if __name__ == "__main__":
    main()
