"""What a bring-up or verify run is asked to do: one `Options` object, and the one error."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wanka.bringup.runner import Progress

PLAYBOOKS = {"bringup": "bringup.yml", "fabric": "fabric.yml", "verify": "verify.yml"}


class BringupError(Exception):
    """Bad input or a run that could not start: one line for the user."""


@dataclass(frozen=True, kw_only=True)
class Options:
    """A run of `playbook` on the phase's hosts (every phase's with `phase` None).

    `limit` is an Ansible host pattern within them; `lab` a lab directory (`wanka lab up`)
    whose access.json points the inventory at the lab; `resume` re-runs only the hosts that
    did not pass in `out_dir`'s last run; `serial` and `max_fail_percentage` override the
    phase's rollout; `forks` how many hosts Ansible works on at once; `extra_vars` are passed
    to the playbook; `progress` sees each change of the run's progress."""

    cluster_file: str
    out_dir: str | os.PathLike[str]
    phase: str | None = None
    playbook: str = "bringup"
    limit: str | None = None
    lab: str | os.PathLike[str] | None = None
    resume: bool = False
    serial: str | None = None
    max_fail_percentage: int | None = None
    forks: int | None = None
    execution_nodes: str | None = None
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    progress: Callable[[Progress], None] | None = None

    def __post_init__(self) -> None:
        if self.playbook not in PLAYBOOKS:
            raise BringupError(
                f"unknown playbook '{self.playbook}' (one of {', '.join(PLAYBOOKS)})"
            )
