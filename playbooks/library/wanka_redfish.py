#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: a server's BMC through Redfish, with wanka's one Redfish client
(wanka.drivers.redfish, shared with the lab and the Pulumi provider). Runs on the controller
(delegate_to: localhost), where wanka is installed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wanka_redfish
short_description: Power, one-time boot target and BIOS attributes of a server through Redfish
description:
  - Compares the BMC's state with what is asked and acts only on differences (idempotent).
  - The password is never a module argument - C(credential) names where it is (C({env: VAR}) or
    C({file: PATH})), as the cluster file's reference does, and it is resolved here, on the
    controller; it never appears in a result, a message or a log.
options:
  url:
    description: Base URL of the BMC (https://10.99.0.5, or the lab's http://127.0.0.1:PORT).
    type: str
    required: true
  system:
    description: Redfish system id, looked up in the BMC's Systems collection; empty takes the
      BMC's only system (found from its service root).
    type: str
    default: ""
  username:
    description: BMC user; omit for a BMC without authentication (the lab).
    type: str
  credential:
    description: Where the password is, as the cluster file says (env or file).
    type: dict
  power:
    description: >-
      Wanted power state; C(restart) restarts the server (Redfish ForceRestart, always a
      change) and waits until it is on again, as a reboot through the BMC.
    type: str
    choices: ["on", "off", "restart"]
  boot:
    description: One-time boot target for the next start (BootSourceOverrideEnabled Once: the
      boot after it uses the normal order again); None clears the override (Disabled).
    type: str
    choices: [None, Pxe, Hdd, Cd, UefiHttp, BiosSetup]
  boot_mode:
    description: Boot mode for the override.
    type: str
    choices: [UEFI, Legacy]
  bios:
    description: BIOS attributes (the BIOS profile); only those that differ from what is in
      effect or already pending are sent, to the BIOS settings object the BMC names.
    type: dict
  bios_apply:
    description: When the BIOS changes take effect - C(next-boot) (at the server's next reboot;
      nothing else is done) or C(now) (a running server is restarted).
    type: str
    choices: [next-boot, now]
    default: next-boot
  ca_bundle:
    description: CA bundle (a path on the controller) the BMC's TLS certificate is checked
      against; without it, the controller's trusted CAs.
    type: path
  insecure:
    description: Do not check the BMC's TLS certificate (only for BMCs the cluster file names
      as insecure).
    type: bool
    default: false
  wait:
    description: Seconds to wait for the power state to be reached (0 does not wait).
    type: int
    default: 300
  timeout:
    description: Seconds to wait for each answer of the BMC.
    type: int
    default: 10
  serial:
    description: The serial number the manifest gives this server; the BMC's (Redfish System
      SerialNumber) must be it, else the check C(identity) fails (a server in the wrong rack
      position). Only read, nothing changed.
    type: str
  macs:
    description: MAC addresses the manifest gives this server; each must be one of its NICs
      (Redfish EthernetInterfaces), else the check C(identity) fails.
    type: list
    elements: str
  check:
    description: Only read; fail (a failed check C(bmc)) when the BMC does not answer or the power is not C(power).
    type: bool
    default: false
author: wanka
"""

EXAMPLES = r"""
- name: Power on
  wanka_redfish:
    url: "https://{{ wanka_bmc_address }}"
    username: "{{ wanka_credentials.bmc.username }}"
    credential: "{{ wanka_credentials.bmc.password }}"
    power: "on"
  delegate_to: localhost
"""

RETURN = r"""
power_state:
  description: The power state after the module ran.
  returned: success
  type: str
actions:
  description: What was changed.
  returned: always
  type: list
checks:
  description: On failure, the failed check (bmc, power or identity) as C({check, port, status, reason}).
  returned: failure
  type: list
  elements: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.wanka_module import fail_check as fail
from ansible.module_utils.wanka_module import import_wanka
from ansible.module_utils.wanka_credentials import CredentialError, resolve as secret


def resolve(module, credential):
    """(username, password) from a reference, by wanka.credentials' rule; None without a
    username (no authentication)."""
    user = module.params["username"]
    if not user:
        return None
    try:
        value = secret(credential or {}, "BMC password (the cluster file's credentials.bmc)")
    except CredentialError as e:
        fail(module, "bmc", str(e))
    return (user, value)


def identity(module, client):
    """Fail the check `identity` unless the BMC's server is the one the manifest says."""
    p = module.params
    inv = client.inventory()
    problems = []
    if p["serial"] and inv.get("serial") != p["serial"]:
        problems.append("the BMC reports serial %s, the manifest says %s"
                        % (inv.get("serial") or "none", p["serial"]))
    missing = [m for m in (p["macs"] or []) if m.lower() not in inv["macs"]]
    if missing:
        problems.append("MAC %s not on this server (it has %s)"
                        % (", ".join(missing), ", ".join(inv["macs"]) or "none"))
    if problems:
        fail(module, "identity", "; ".join(problems) + " (a server in the wrong rack position?)",
             inventory=inv)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            system=dict(type="str", default=""),
            username=dict(type="str"),
            credential=dict(type="dict", no_log=False),
            power=dict(type="str", choices=["on", "off", "restart"]),
            boot=dict(type="str", choices=["None", "Pxe", "Hdd", "Cd", "UefiHttp", "BiosSetup"]),
            boot_mode=dict(type="str", choices=["UEFI", "Legacy"]),
            bios=dict(type="dict"),
            bios_apply=dict(type="str", choices=["next-boot", "now"], default="next-boot"),
            ca_bundle=dict(type="path"),
            insecure=dict(type="bool", default=False),
            wait=dict(type="int", default=300),
            timeout=dict(type="int", default=10),
            check=dict(type="bool", default=False),
            serial=dict(type="str"),
            macs=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    redfish = import_wanka(module, "bmc", "wanka.drivers.redfish")
    Client, RedfishError = redfish.Client, redfish.RedfishError
    p = module.params
    auth = resolve(module, p["credential"])
    verify = False if p["insecure"] else (p["ca_bundle"] or True)
    client = Client(p["url"], p["system"] or None, auth=auth, timeout=p["timeout"],
                    verify=verify)
    want = {"on": "On", "off": "Off"}.get(p["power"] or "")
    actions = []
    try:
        state = client.power_state()
        if p["serial"] or p["macs"]:
            identity(module, client)
        if p["check"]:
            if want and state != want:
                fail(module, "bmc", "power is %s, expected %s" % (state, want), power_state=state)
            module.exit_json(changed=False, power_state=state, actions=[])
        if p["bios"]:
            settings = client.bios_settings()
            effective = dict(settings["current"], **settings["pending"])
            diff = dict((k, v) for k, v in p["bios"].items() if effective.get(k) != v)
            if diff:
                actions.append("bios %s (%s)" % (", ".join(sorted(diff)), p["bios_apply"]))
                if not module.check_mode:
                    client.set_bios(diff, apply=p["bios_apply"])
        if p["boot"]:
            boot = client.boot()
            once = p["boot"] != "None"
            wanted_enabled = "Once" if once else "Disabled"
            if boot["target"] != p["boot"] or (once and boot["enabled"] != wanted_enabled) or (
                p["boot_mode"] and boot["mode"] != p["boot_mode"]
            ):
                actions.append("boot %s" % p["boot"])
                if not module.check_mode:
                    client.set_boot(p["boot"], mode=p["boot_mode"], once=True)  # None: Disabled
        if p["power"] == "restart":
            actions.append("restart")
            if not module.check_mode:
                start = time.time()
                client.reset("ForceRestart")
                if p["wait"] > 0 and not client.wait_power("On", p["wait"]):
                    fail(module, "power", "power still %s %d s after a restart"
                         % (client.power_state(), p["wait"]), actions=actions)
                state = client.power_state()
                actions[-1] += " (%.0f s)" % (time.time() - start)
        elif want and state != want:
            actions.append("power %s" % p["power"])
            if not module.check_mode:
                client.set_power(want == "On")
                if p["wait"] > 0:
                    start = time.time()
                    if not client.wait_power(want, p["wait"]):
                        fail(module, "power", "power still %s %d s after asking for %s"
                             % (client.power_state(), p["wait"], want), actions=actions)
                    state = client.power_state()
                    actions[-1] += " (%.0f s)" % (time.time() - start)
    except RedfishError as e:
        fail(module, "bmc", "%s" % e, actions=actions)
    finally:
        client.close()
    module.exit_json(changed=bool(actions), power_state=state, actions=actions)


if __name__ == "__main__":
    main()
