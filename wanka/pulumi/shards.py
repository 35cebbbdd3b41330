"""Which Pulumi stacks a cluster needs, and what each one holds.

Every step of `pulumi up` rewrites the stack's whole state, so a stack should hold no more
than about `BUDGET` resources. A phase that fits is one stack, `<cluster>-<phase>`. A phase
that does not is sharded:

- `<cluster>-<phase>-fabric`: the SwitchConfig of every spine and core switch of the phase
  (when it has any), under the pod and rack components they sit in;
- `<pod name>` (`sz1-p2-pod07`): everything else of one pod: its leaves' SwitchConfig, its
  nodes' BareMetalNode and its racks' BringupBatch.

A stack reads the stacks it waits for through a StackReference: a pod shard reads its phase's
fabric stack, and every stack with bring-up batches reads the fabric stack of each phase its
phase depends on (where the spines its leaves peer with are configured). Resources counted:
components (pods, racks), custom resources, stack references and the stack itself.

Names of resources are the model's names (node, switch, rack, pod), so they are stable
between runs and never collide within a stack.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wanka.derive.bundle import Derived
from wanka.derive.routing import is_routed
from wanka.model.types import Node, Phase, Pod, Switch

BUDGET = 2000
FABRIC = "fabric"  # wanka:pod of a phase's fabric shard
FABRIC_TIERS = ("spine", "core")
STACK_FILE_HEAD = (
    "# Written by `wanka plan --pulumi CLUSTER --stack-files stacks/`: change the cluster file\n"
    "# and regenerate rather than editing this file. Add the BMC password per stack with\n"
    "# `pulumi config set --secret wanka:bmcPassword` (see docs/pulumi.md).\n"
)


@dataclass(slots=True)
class Shard:
    stack: str
    phase: str
    pod: str | None  # None: the whole phase; FABRIC; or a pod's name
    nodes: list[Node] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)  # routed: those with a SwitchConfig
    references: list[str] = field(default_factory=list)  # stacks read through StackReference

    @property
    def racks(self) -> list[str]:
        """Rack components: every rack holding one of the shard's nodes or switches."""
        seen: dict[str, None] = {}
        for x in self._things():
            seen[x.rack.name] = None
        return list(seen)

    @property
    def pods(self) -> list[str]:
        seen: dict[str, None] = {}
        for x in self._things():
            seen[x.pod.name] = None
        return list(seen)

    def _things(self) -> list[Node | Switch]:
        return [*self.switches, *self.nodes]

    @property
    def batches(self) -> int:
        """BringupBatch resources: one per rack holding nodes."""
        return len({n.rack.name for n in self.nodes})

    @property
    def resources(self) -> int:
        return (
            1  # the stack
            + len(self.pods)
            + len(self.racks)
            + len(self.nodes)
            + len(self.switches)
            + self.batches
            + len(self.references)
        )


def _nodes(pods: Iterable[Pod]) -> list[Node]:
    return [n for p in pods for n in p.nodes if not n.excluded]


def _routed(pods: Iterable[Pod], fabric: bool | None = None) -> list[Switch]:
    """Routed switches of the pods: all (None), spines and cores (True), leaves (False)."""
    return [
        s
        for p in pods
        for s in p.switches
        if is_routed(s) and (fabric is None or (s.tier in FABRIC_TIERS) == fabric)
    ]


def _phase_pods(d: Derived, phase: Phase) -> list[Pod]:
    return [p for p in d.cluster.pods if p.phase is phase]


def phase_shards(d: Derived, phase: Phase, budget: int | None = None) -> list[Shard]:
    """The stacks of one phase, without references (see `shards`); budget: BUDGET."""
    budget = BUDGET if budget is None else budget
    name = f"{d.cluster.name}-{phase.name}"
    pods = _phase_pods(d, phase)
    whole = Shard(name, phase.name, None, _nodes(pods), _routed(pods))
    if whole.resources + len(phase.depends_on) <= budget:
        return [whole]
    out = []
    fabric = _routed(pods, True)
    if fabric:
        out.append(Shard(f"{name}-{FABRIC}", phase.name, FABRIC, [], fabric))
    for pod in pods:
        shard = Shard(pod.name, phase.name, pod.name, _nodes([pod]), _routed([pod], False))
        if shard.nodes or shard.switches:
            out.append(shard)
    return out


def shards(d: Derived, phase: str | None = None, budget: int | None = None) -> list[Shard]:
    """Every stack of the cluster (or of one phase), in phase order, with its references."""
    per_phase = {p.name: phase_shards(d, p, budget) for p in d.cluster.phases}

    def fabric_of(name: str) -> str | None:
        for s in per_phase[name]:
            if s.pod in (None, FABRIC) and any(x.tier in FABRIC_TIERS for x in s.switches):
                return s.stack
        return None

    for p in d.cluster.phases:
        upstream = [f for dep in p.depends_on if (f := fabric_of(dep)) is not None]
        own = fabric_of(p.name)
        for s in per_phase[p.name]:
            if s.pod == FABRIC or not s.nodes:
                continue
            refs = [own] if s.pod is not None and own is not None and own != s.stack else []
            s.references = [*refs, *upstream]
    if phase is not None:
        return per_phase[phase]
    return [s for p in d.cluster.phases for s in per_phase[p.name]]


def stack_file(shard: Shard, cluster: str) -> str:
    """The text of `Pulumi.<stack>.yaml`: `cluster` is the cluster file's path relative to
    the Pulumi project directory (where `pulumi up` runs the program)."""
    lines = [
        STACK_FILE_HEAD,
        "config:\n",
        f"  wanka:cluster: {cluster}\n",
        f"  wanka:phase: {shard.phase}\n",
    ]
    if shard.pod is not None:
        lines.append(f"  wanka:pod: {shard.pod}\n")
    return "".join(lines)


MANAGED = ("wanka:cluster", "wanka:phase", "wanka:pod")


def merge(existing: str, fresh: str) -> str:
    """`fresh` (a stack file as written by stack_file) keeping what Pulumi or people added to
    `existing`: the secrets provider and its salt, secret values, other configuration."""
    import yaml

    try:
        old = yaml.safe_load(existing) or {}
    except yaml.YAMLError:
        return fresh
    if not isinstance(old, dict):
        return fresh
    top = {k: v for k, v in old.items() if k != "config"}
    config = old.get("config") if isinstance(old.get("config"), dict) else {}
    extra = {k: v for k, v in (config or {}).items() if k not in MANAGED}
    if not top and not extra:
        return fresh
    head, _, body = fresh.partition("config:\n")
    out = head
    if top:
        out += yaml.safe_dump(top, sort_keys=True, default_flow_style=False)
    out += "config:\n" + body
    if extra:
        dumped = yaml.safe_dump(extra, sort_keys=True, default_flow_style=False, width=1000)
        out += "".join(f"  {line}\n" for line in dumped.splitlines())
    return out


def stack_files(d: Derived, cluster: Path, project: Path) -> dict[str, str]:
    """{file name: text} of every stack of the cluster, for the project directory `project`."""
    rel = Path(os.path.relpath(cluster.resolve(), project.resolve())).as_posix()
    return {f"Pulumi.{s.stack}.yaml": stack_file(s, rel) for s in shards(d)}
