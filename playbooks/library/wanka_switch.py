#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: a switch's rendered configuration applied with wanka's one switch client
(wanka.drivers.switch, shared with the Pulumi provider). Runs on the controller
(delegate_to: localhost), where wanka is installed, and reaches the switch over SSH (or, in
the lab, in its network namespace)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wanka_switch
short_description: Apply a switch's rendered configuration, checked, with rollback
description:
  - Stages the file on the switch, refuses it when the switch cannot parse it (the line is
    named), shows what would change (C(frr-reload.py --test)), applies it, checks that the
    running configuration is the rendered one and puts the previous configuration back when
    the switch refuses a line or the check fails. Changes nothing when the switch already
    runs it (idempotent); in check mode only reports the difference.
  - Turns on in FRR's daemons file what the configuration uses (Debian ships bgpd=no,
    bfdd=no), or installs the rendered daemons file when there is one, and restarts FRR then.
  - The password is never a module argument - C(transport.credential) names where it is
    (C({env: VAR}) or C({file: PATH})), as the cluster file's reference does; it is resolved
    here, on the controller, and never appears in a result, a message or a log.
options:
  switch:
    description: The switch's name (for messages).
    type: str
    required: true
  src:
    description: The rendered FRR configuration on the controller (fabric/<switch>/frr.conf;
      on SONiC fabric/<switch>/bgpd.conf).
    type: path
    required: true
  config_db_src:
    description: SONiC only - the rendered config_db.json on the controller, merged into
      CONFIG_DB with C(config load) before bgpd.conf is applied (required with os=sonic).
    type: path
  sonic_cli:
    description: SONiC only - the directory of C(config) and C(sonic-cfggen) on the switch
      (empty - the switch user's PATH).
    type: str
    default: ""
  bgp_container:
    description: SONiC only - the command prefix that reaches FRR's vtysh and frr-reload.py
      in the bgp container (the lab runs FRR in the switch's namespace - []).
    type: list
    elements: str
    default: [docker, exec, -i, bgp]
  os:
    description: The switch's OS, which picks the applier.
    type: str
    default: frr
    choices: [frr, sonic, vrp]
  transport:
    description: How to reach the switch - C({kind: ssh, host, port, username, credential,
      private_key, known_hosts, proxy_command, become}) or, in the lab, C({kind: netns,
      namespace}).
    type: dict
    required: true
  vty_socket:
    description: vtysh socket directory of the FRR instance (the lab's; empty for the default).
    type: str
    default: ""
  keep:
    description: Where the switch keeps its configuration; the applied file is copied there
      once checked (empty to leave it to frr-reload's C(write)).
    type: str
    default: ""
  daemons:
    description: FRR's daemons file on the switch (empty to leave it alone).
    type: str
    default: ""
  daemons_src:
    description: A rendered daemons file on the controller; installed when it exists.
    type: path
  restart:
    description: The command that restarts FRR after its daemons file changed.
    type: list
    elements: str
    default: []
author: wanka
"""

EXAMPLES = r"""
- name: Configure FRR
  wanka_switch:
    switch: "{{ inventory_hostname }}"
    src: "{{ fabric_render_dir }}/fabric/{{ inventory_hostname }}/frr.conf"
    transport:
      kind: ssh
      host: "{{ ansible_host }}"
      username: "{{ wanka_credentials.switch.username }}"
      credential: "{{ wanka_credentials.switch.password }}"
    daemons: /etc/frr/daemons
    restart: [systemctl, restart, frr]
  delegate_to: localhost
"""

RETURN = r"""
delta:
  description: What changed (or, in check mode, would change) - C(- line) deleted, C(+ line) added.
  returned: always
  type: list
  elements: str
daemons:
  description: The keys of the daemons file turned on (or the file, when installed).
  returned: always
  type: list
  elements: str
checks:
  description: On failure, the failed check (fabric) as C({check, port, status, reason}).
  returned: failure
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.wanka_checks import FABRIC
from ansible.module_utils.wanka_module import fail_check, import_wanka


def fail(module, reason, **extra):
    """Fail the task: the check `fabric`."""
    fail_check(module, FABRIC, reason, **extra)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            switch=dict(type="str", required=True),
            src=dict(type="path", required=True),
            config_db_src=dict(type="path"),
            sonic_cli=dict(type="str", default=""),
            bgp_container=dict(type="list", elements="str",
                               default=["docker", "exec", "-i", "bgp"]),
            os=dict(type="str", default="frr", choices=["frr", "sonic", "vrp"]),
            transport=dict(type="dict", required=True, no_log=False),
            vty_socket=dict(type="str", default=""),
            keep=dict(type="str", default=""),
            daemons=dict(type="str", default=""),
            daemons_src=dict(type="path"),
            restart=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    driver = import_wanka(module, FABRIC, "wanka.drivers.switch")
    p = module.params
    try:
        with open(p["src"]) as f:
            config = f.read()
    except (IOError, OSError) as e:
        fail(module, "%s: cannot read the rendered configuration %s: %s"
             % (p["switch"], p["src"], e.strerror))
    config_db = None
    if p["os"] == "sonic":
        try:
            with open(p["config_db_src"] or "") as f:
                config_db = f.read()
        except (IOError, OSError) as e:
            fail(module, "%s: cannot read the rendered config_db.json %s: %s"
                 % (p["switch"], p["config_db_src"], e.strerror))
    rendered = None
    if p["daemons_src"] and os.path.isfile(p["daemons_src"]):
        with open(p["daemons_src"]) as f:
            rendered = f.read()
    transport = dict((k, v) for k, v in p["transport"].items() if v not in (None, ""))
    changed, delta, daemons, before = False, [], [], ""
    try:
        t = driver.transport(p["switch"], transport)
        if p["os"] == "sonic":
            a = driver.applier("sonic", t, vty=p["vty_socket"] or None,
                               cli=p["sonic_cli"] or None, container=p["bgp_container"])
        elif p["os"] == "vrp":
            a = driver.applier("vrp", t)
        else:
            a = driver.applier(p["os"], t, vty=p["vty_socket"] or None)
        try:
            if p["daemons"] and not module.check_mode and p["os"] == "frr":
                daemons = a.ensure_daemons(p["daemons"], config, p["restart"], rendered)
            extra = dict(config_db=config_db) if p["os"] == "sonic" else {}
            done = a.apply(config, dry_run=module.check_mode, keep=p["keep"] or None, **extra)
            changed, delta, before = done.changed or bool(daemons), done.delta, done.before
        finally:
            t.close()
    except driver.SwitchError as e:
        fail(module, str(e), daemons=daemons)
    result = dict(changed=changed, delta=delta, daemons=daemons)
    if module._diff and delta:
        result["diff"] = dict(before=before, after=config, before_header="%s (running)"
                              % p["switch"], after_header=p["src"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
