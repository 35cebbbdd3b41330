# -*- coding: utf-8 -*-
"""wanka_node's checks of a server against its wanka_expect: OS, architecture, CPU, memory,
NPU count, model, health and firmware, SuperPoD ids and NVMe drives (the NPU ports' checks
are wanka_port_checks). Each result is built by wanka_checks. Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible.module_utils.wanka_checks import (
    ARCH, CPU, FIRMWARE, MEMORY, NPU_COUNT, NPU_HEALTH, NPU_MODEL, NVME, OS, SPOD_INFO, failed,
    result, spod)
from ansible.module_utils.wanka_node_facts import (
    DRIVER_INFO, boards, kv, npu_health, parallel, read_file, version_info)
from ansible.module_utils.wanka_version import SHAPE, VersionError, in_range, parse_range


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


def check_os(tools, expect):
    text = read_file("/etc/os-release")
    problem = os_problem(os_release(text), expect["os"]) if text else "no /etc/os-release"
    return result(OS, "", not problem, problem or "")


def check_arch(tools, expect):
    rc, text, err = tools.run(["uname", "-m"])
    arch = text.strip()
    want = expect["cpu"]["arch"]
    return result(ARCH, "", arch == want, "" if arch == want else
                  "architecture %s, the model says %s" % (arch or err.strip(), want))


def check_cpu(tools, expect):
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
    return result(CPU, "", not problems, "; ".join(problems))


def check_memory(tools, expect):
    text = read_file("/proc/meminfo") or ""
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.M)
    got_gb = int(m.group(1)) / 1024.0 / 1024.0 if m else 0.0
    want_gb = float(expect["memory_gb"])
    ok = got_gb >= 0.9 * want_gb
    return result(MEMORY, "", ok, "" if ok else
                  "%.0f GiB of memory, the model says %g GB" % (got_gb, want_gb))


def check_host(tools, expect, wanted):
    out = []
    if OS in wanted and (expect.get("os") or {}).get("name"):
        out.append(check_os(tools, expect))
    for check, run in ((ARCH, check_arch), (CPU, check_cpu), (MEMORY, check_memory)):
        if check in wanted:
            out.append(run(tools, expect))
    return out


def check_npus(tools, expect, wanted):
    npu = expect.get("npu") or {}
    out = []
    if NPU_COUNT in wanted:
        out.append(check_npu_count(tools, int(npu.get("cards", 0))))
    if wanted & {NPU_MODEL, FIRMWARE}:
        out += check_boards(tools, expect, wanted)
    if NPU_HEALTH in wanted:
        out += check_npu_health(tools, npu.get("devices", []))
    return out


def check_npu_count(tools, cards):
    rc, text, err = tools.run(["npu-smi", "info", "-l"])
    count = kv(text).get("Total Count", "") if rc == 0 else ""
    ok = count == str(cards)
    return result(NPU_COUNT, "", ok, "" if ok else "npu-smi reports %s NPUs, the model says %d"
                  % (count or (text + err).strip() or "no", cards))


def check_boards(tools, expect, wanted):
    """npu-model and firmware of every card, from its `npu-smi info -t board` view."""
    npu = expect.get("npu") or {}
    lo, hi = expect.get("firmware_range") or [None, None]
    _, drv_info = version_info(DRIVER_INFO)
    drv_range = parse_range(drv_info.get("compatible_version_fw"))
    out = []
    for card, info, err in boards(tools, range(int(npu.get("cards", 0)))):
        port = "npu%d" % card
        if info is None:
            out += [failed(c, port, err) for c in sorted(wanted & {NPU_MODEL, FIRMWARE})]
            continue
        if NPU_MODEL in wanted:
            got = info.get("PCI Device ID", "").lower()
            want = str(npu.get("pci_device_id") or "").lower()
            ok = not want or got == want
            out.append(result(NPU_MODEL, port, ok, "" if ok else
                              "PCI device id %s, the model's accelerator is %s" % (got, want)))
        if FIRMWARE in wanted:
            fw = info.get("Firmware Version", "")
            problems = [p for p in (
                range_problem(fw, lo, hi, "the model's"),
                drv_range and range_problem(fw, drv_range[0], drv_range[1],
                                            "the installed driver's"),
            ) if p]
            if info.get("Compatibility", "OK") != "OK":
                problems.append("npu-smi says Compatibility %s" % info["Compatibility"])
            out.append(result(FIRMWARE, port, not problems, "; ".join(problems), value=fw))
    return out


def check_npu_health(tools, devices):
    out = []
    for dev, status, err in npu_health(tools, devices):
        ok = status == "OK"
        out.append(result(NPU_HEALTH, "npu%d" % dev["device"], ok, "" if ok else
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
    (the SDID and Super Pod ID go into the rank tables)."""
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
            found.append(failed(SPOD_INFO, port, (out + err).strip() or
                                "npu-smi info -t spod-info printed no SDID"))
        else:
            found.append(spod(port, *ids))
    pods = set("%d:%d" % (c["super_pod_id"], c["server_index"])
               for c in found if c["status"] == "pass")
    if len(pods) > 1:
        for c in found:
            c.update(status="fail", reason="the dies report different Super Pod ID:Server "
                     "Index (%s); all must be one" % ", ".join(sorted(pods)))
    return found


def check_nvme(tools, expect):
    want = expect.get("nvme") or {}
    count = int(want.get("count", 0))
    rc, text, err = tools.run(["nvme", "list", "-o", "json"])
    if rc != 0:
        return [result(NVME, "", False, (text + err).strip() or "nvme list failed")]
    found = {}
    for drive in json.loads(text or "{}").get("Devices", []):
        found[drive.get("DevicePath", "").rsplit("/", 1)[-1]] = int(drive.get("PhysicalSize", 0))
    out = []
    min_bytes = float(want.get("capacity_gb", 0)) * 1e9 * 0.98
    for i in range(count):
        name = "nvme%dn1" % i
        if name not in found:
            out.append(result(NVME, name, False, "drive %s missing: %d of %d NVMe drives found"
                              % (name, len(found), count)))
        elif found[name] < min_bytes:
            out.append(result(NVME, name, False, "%s holds %.0f GB, the model says %g GB"
                              % (name, found[name] / 1e9, float(want["capacity_gb"]))))
        else:
            out.append(result(NVME, name, True))
    return out
