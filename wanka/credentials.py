"""Credential references: where a secret lives, and the one way wanka reads it.

The cluster file names a secret by where it lives, never by its value: `{env: NAME}` (an
environment variable of the process that needs it), `{file: PATH}` (a file holding it; `~` is
expanded and the white space around the value dropped) or `{pulumi: KEY}` (a Pulumi config
secret, which only a Pulumi program reads). The model keeps a reference as
`SecretRef(source, name)`; the rendered inventory and the switch driver's specs carry the
mapping. Every process that needs the value (the BMC commands, the switch driver, bring-up's
scrubber, the lab, the Pulumi waves and the Ansible module wanka_redfish) reads it here, so all
of them follow one rule:

* `resolve` gives the value or raises CredentialError when it cannot: an environment variable
  that is unset or empty, a file that cannot be read or is empty, a source this process cannot
  read (a `{pulumi: ...}` outside Pulumi), a mapping that is no reference. The message names
  the reference and what it is for (`BMC password: environment variable WANKA_BMC_PASSWORD is
  not set`), never a value;
* `key_file` is the same for a private key, whose file ssh reads itself: the path (`{file:
  PATH}`, or `{env: NAME}` holding a path), which must name a file;
* `lookup` is `resolve` for the callers to whom a secret that is not there is no error (the
  scrubber of bring-up's artifacts, the lab deciding whether its switches take a password):
  None instead of the error, by the same rule.

tests/test_architecture.py fails when a module of wanka/ or playbooks/ reads a reference any
other way. The Ansible modules get this file as `ansible.module_utils.wanka_credentials`
(playbooks/module_utils/wanka_credentials.py is a link to it), so it must stay standard library
only and run on the Python the hosts have (3.7 or later; the annotations are never evaluated).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Protocol

    class Located(Protocol):
        """The model's SecretRef, seen from here: a source and a name."""

        @property
        def source(self) -> str: ...

        @property
        def name(self) -> str: ...

    Ref = Mapping[str, object] | Located  # never evaluated on the hosts

__all__ = ["READABLE", "SOURCES", "CredentialError", "describe", "key_file", "lookup", "resolve"]

SOURCES = ("env", "file", "pulumi")  # what the cluster file may write (schemas/cluster.json)
READABLE = ("env", "file")  # what a process other than a Pulumi program can read


class CredentialError(ValueError):
    """A reference whose secret cannot be had here; the message names the reference and what it
    is for, never a value."""


def reference(ref: Ref, what: str = "credential") -> tuple[str, str]:
    """(source, name) of a reference: the model's SecretRef or a mapping `{env: NAME}`."""
    if isinstance(ref, Mapping):
        keys = sorted(str(k) for k in ref)
        if len(keys) != 1 or keys[0] not in SOURCES:
            raise CredentialError(
                f"{what}: a reference is one of {{env: NAME}}, {{file: PATH}} or {{pulumi: KEY}}, "
                f"not a mapping with keys {', '.join(keys) or '(none)'}"
            )
        return keys[0], str(ref[keys[0]])
    source, name = getattr(ref, "source", None), getattr(ref, "name", None)
    if source not in SOURCES or not isinstance(name, str):
        raise CredentialError(f"{what}: {type(ref).__name__} is not a credential reference")
    return str(source), name


def describe(ref: Ref) -> str:
    """The reference in words, for messages: `environment variable WANKA_BMC_PASSWORD`."""
    source, name = reference(ref)
    kind = {"env": "environment variable", "file": "file", "pulumi": "Pulumi config secret"}
    return f"{kind[source]} {name}"


def resolve(ref: Ref, what: str) -> str:
    """The secret a reference points at; CredentialError naming `what` and the reference
    when it cannot be had here (the module's docstring has the rule)."""
    source, name = reference(ref, what)
    if source == "env":
        value = os.environ.get(name, "")
        if not value:
            raise CredentialError(f"{what}: environment variable {name} is not set")
        return value
    if source == "file":
        path = os.path.expanduser(name)
        try:
            with open(path, encoding="utf-8") as f:
                value = f.read().strip()
        except (OSError, UnicodeDecodeError) as e:
            reason = getattr(e, "strerror", None) or "not UTF-8 text"
            raise CredentialError(f"{what}: cannot read file {path}: {reason}") from None
        if not value:
            raise CredentialError(f"{what}: file {path} is empty")
        return value
    raise CredentialError(
        f"{what}: {describe(ref)} is read by Pulumi only; name an environment variable or a "
        "file for this command ({env: NAME} or {file: PATH})"
    )


def key_file(ref: Ref, what: str) -> str:
    """The private key file a reference names, for ssh to read: `{file: PATH}`, or `{env:
    NAME}` holding the path; CredentialError when it names no file."""
    source, name = reference(ref, what)
    if source == "file":
        path = os.path.expanduser(name)
    elif source == "env":
        path = os.path.expanduser(resolve(ref, what))
    else:
        raise CredentialError(
            f"{what}: {describe(ref)} is read by Pulumi only; a private key is a file "
            "({file: PATH})"
        )
    if not os.path.isfile(path):
        # the path an environment variable holds is its value: named by the variable only
        shown = path if source == "file" else f"named by environment variable {name}"
        raise CredentialError(f"{what}: key file {shown} does not exist")
    return path


def lookup(ref: Ref | None) -> str | None:
    """`resolve` for a caller to whom a missing secret is no error: None where `resolve` would
    raise (and for no reference)."""
    if ref is None:
        return None
    try:
        return resolve(ref, "")
    except CredentialError:
        return None
