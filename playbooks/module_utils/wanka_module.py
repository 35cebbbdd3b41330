# -*- coding: utf-8 -*-
"""What every wanka Ansible module does the same way: fail a task with its checks (as wanka's
runner reads them: res.checks, failed_checks) and import the wanka package on the controller
(wanka_redfish, wanka_switch run there) or fail a check saying how to make it importable.
Standard library only; results are built by wanka_checks (wanka/checks.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

from ansible.module_utils.wanka_checks import failed, summary


def fail_checks(module, checks, **extra):
    """Fail the task: the checks (all of them, the failed ones among them); the message, for
    people, names the failed ones."""
    bad = [c for c in checks if c["status"] == "fail"]
    module.fail_json(msg=summary(checks), checks=checks, failed_checks=len(bad), **extra)


def fail_check(module, check, reason, port="", **extra):
    """Fail the task with one failed check, `check: reason`."""
    module.fail_json(msg="%s: %s" % (check, reason), checks=[failed(check, port, reason)],
                     failed_checks=1, **extra)


def refuse_unknown(module, error):
    """Fail a task that named a check the registry does not have (UnknownCheck: a role's
    typo)."""
    module.fail_json(msg="%s: fix the role or playbook that names it (wanka/checks.py lists "
                     "the checks)" % error)


def import_wanka(module, check, name):
    """The controller's wanka module `name`, else the task fails check `check`."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        fail_check(module, check, "the wanka package is not importable by the controller's "
                   "Python (run the playbook with wanka's virtualenv): %s" % e)
