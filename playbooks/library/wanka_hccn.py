#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: set each NPU port's RoCE address, gateway, netdetect address and PFC
priorities with hccn_tool, only where they differ from what the model says (idempotent)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wanka_hccn
short_description: Set NPU RoCE addresses, gateways, netdetect addresses and PFC with hccn_tool
description:
  - Reads every device's address (C(-ip -g)), gateway (C(-gateway -g)), netdetect address
    (C(-netdetect -g)) and PFC priorities (C(-pfc -g)) and sets (C(-s)) only those that
    differ from C(devices).
  - C(pfc) of a device is the bitmap of lossless 802.1p priorities, C(0,0,0,0,1,0,0,0) for
    priority 4 (the plane's QoS); a device without it keeps its PFC as it is.
  - Reports changed only when it set something; supports check mode.
options:
  devices:
    description: One entry per NPU device, as in /etc/hccn.conf.
    type: list
    elements: dict
    required: true
author: wanka
"""

EXAMPLES = r"""
- name: Address the NPU ports
  wanka_hccn:
    devices: "{{ wanka_expect.npu.devices }}"
"""

RETURN = r"""
set:
  description: What was set, per device (npuN -> list of settings).
  returned: always
  type: dict
"""

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule


def hccn(device, *args):
    res = subprocess.run(
        ["hccn_tool", "-i", str(device)] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
        check=False,
    )
    return res.returncode, res.stdout + res.stderr


def configure(dev, check_mode):
    d = dev["device"]
    done, errors = [], []
    rc, text = hccn(d, "-ip", "-g")
    ip = dict(re.findall(r"^(ipaddr|netmask):\s*(\S+)", text, re.M))
    if (ip.get("ipaddr"), ip.get("netmask")) != (dev["address"], dev["netmask"]):
        done.append("address %s/%s" % (dev["address"], dev["netmask"]))
        if not check_mode:
            rc, text = hccn(d, "-ip", "-s", "address", dev["address"], "netmask", dev["netmask"])
            if rc != 0:
                errors.append("npu%d: -ip -s: %s" % (d, text.strip()))
    for key, get_re, set_args in (
        ("gateway", r"default gateway:\s*([0-9.]*)", ("-gateway", "-s", "gateway")),
        ("netdetect", r"netdetect address:\s*([0-9.]*)", ("-netdetect", "-s", "address")),
    ):
        if not dev.get(key):
            continue
        rc, text = hccn(d, set_args[0], "-g")
        m = re.search(get_re, text)
        if (m.group(1) if m else "") != dev[key]:
            done.append("%s %s" % (key, dev[key]))
            if not check_mode:
                rc, text = hccn(d, *(set_args + (dev[key],)))
                if rc != 0:
                    errors.append("npu%d: %s -s: %s" % (d, set_args[0], text.strip()))
    if dev.get("pfc"):
        rc, text = hccn(d, "-pfc", "-g")
        m = re.search(r"^\s*enabled\s+((?:[01]\s*){8})$", text, re.M)
        if (",".join(m.group(1).split()) if m else "") != dev["pfc"]:
            done.append("pfc %s" % dev["pfc"])
            if not check_mode:
                rc, text = hccn(d, "-pfc", "-s", "bitmap", dev["pfc"])
                if rc != 0:
                    errors.append("npu%d: -pfc -s: %s" % (d, text.strip()))
    return "npu%d" % d, done, errors


def main():
    module = AnsibleModule(
        argument_spec=dict(devices=dict(type="list", elements="dict", required=True)),
        supports_check_mode=True,
    )
    devices = module.params["devices"]
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(devices)))) as pool:
        results = list(pool.map(lambda dev: configure(dev, module.check_mode), devices))
    changed = {port: done for port, done, _ in results if done}
    errors = [e for _, _, errs in results for e in errs]
    if errors:
        module.fail_json(msg="; ".join(errors), set=changed)
    module.exit_json(changed=bool(changed), set=changed)


if __name__ == "__main__":
    main()
