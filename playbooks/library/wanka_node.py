#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: read a node's NPU, CPU, memory and NVMe facts, and check them against the
cluster model. Shipped with wanka's playbooks (playbooks/library/), standard library only, so
it runs on any target with Python 3.7+. The facts and checks are its module_utils
(wanka_node_facts, wanka_node_checks, wanka_port_checks, wanka_switch_checks); the check ids
and results are wanka_checks (wanka/checks.py): a check it does not know is refused."""

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

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.wanka_checks import (
    BGP, NVME, SPOD_INFO, SWITCH_PORTS, SWITCH_QOS, UnknownCheck, asked, failed)
from ansible.module_utils.wanka_module import fail_checks, refuse_unknown
from ansible.module_utils.wanka_node_checks import check_host, check_npus, check_nvme, check_spod
from ansible.module_utils.wanka_node_facts import Tools, facts
from ansible.module_utils.wanka_port_checks import check_ports
from ansible.module_utils.wanka_switch_checks import (
    check_bgp, check_switch_ports, check_switch_qos)


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
    try:
        if p["action"] == "fail":
            fail_checks(module, role_failures(p["failures"], p["note"]))
        checks = run_checks(tools, expect, asked(p["checks"]), p)
    except UnknownCheck as e:
        refuse_unknown(module, e)
    if any(c["status"] == "fail" for c in checks):
        fail_checks(module, checks)
    module.exit_json(changed=False, checks=checks, failed_checks=0)


def role_failures(failures, note):
    """action=fail: the failures a role found itself, as failed checks (the note after each
    reason); UnknownCheck for a check the registry does not have."""
    return [dict(f, **failed(f.get("check"), str(f.get("port") or ""), str(f.get("reason") or "")
                             + (" (%s)" % note if note else ""))) for f in failures]


def run_checks(tools, expect, wanted, p):
    checks = []
    checks += check_host(tools, expect, wanted)
    checks += check_npus(tools, expect, wanted)
    if SPOD_INFO in wanted:
        checks += check_spod(tools, expect)
    checks += check_ports(tools, expect, wanted)
    if NVME in wanted:
        checks += check_nvme(tools, expect)
    if BGP in wanted:
        checks += check_bgp(tools, expect, p["vty_socket"])
    if SWITCH_PORTS in wanted:
        checks += check_switch_ports(tools, expect, p["sonic_cli"])
    if SWITCH_QOS in wanted:
        checks += check_switch_qos(tools, expect, p["sonic_cli"])
    return checks


if __name__ == "__main__":
    main()
