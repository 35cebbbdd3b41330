"""OS rules: every server type runs an OS the model names (its `os` key, else software.os),
and wanka knows that OS's family (its package manager), which picks the roles' packages,
paths and commands."""

from __future__ import annotations

from collections.abc import Iterator

from wanka.derive.topology import Topology
from wanka.findings import Finding, error, listed
from wanka.model.types import Cluster, NodeModel
from wanka.rules import rule


def _built(cluster: Cluster) -> list[NodeModel]:
    """The node models some node of the cluster is built from, in declaration order."""
    used = {n.model.key for n in cluster.nodes}
    return [m for m in cluster.node_models.values() if m.key in used]


@rule(
    "SW-OS-UNKNOWN",
    "A server type's `os` names an entry of `software.oses`.",
    "c.yaml:31:11: error[SW-OS-UNKNOWN]: server type 'a2-hygon' runs OS 'kylin', which "
    "software.oses does not name (it names 'ubuntu')",
)
def unknown(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    oses = cluster.software.oses
    for m in cluster.node_models.values():
        if m.os_key is not None and m.os_key not in oses and m.os_at is not None:
            named = f"it names {listed(sorted(oses))}" if oses else "it has no entries"
            yield error(
                "SW-OS-UNKNOWN",
                f"server type '{m.key}' runs OS '{m.os_key}', which software.oses does not "
                f"name ({named})",
                m.os_at,
                f"add software.oses.{m.os_key}, or name one of the declared OSes",
            )


@rule(
    "SW-OS-FAMILY",
    "Every OS the model declares has a family wanka supports: stated (`family`: dnf, yum, "
    "apt) or known from its name (openEuler and Kylin dnf, Ubuntu apt).",
    "c.yaml:120:7: error[SW-OS-FAMILY]: OS 'uos' (UOS 20) has no family wanka knows "
    "(it knows openEuler, Kylin, Ubuntu)",
)
def family(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    sw = cluster.software
    images = ([sw.os] if sw.os is not None else []) + list(sw.oses.values())
    for image in images:
        if image.family is None:
            what = f"OS '{image.key}'" if image.key else "software.os"
            yield error(
                "SW-OS-FAMILY",
                f"{what} ({image.name} {image.version}) has no family wanka knows (it knows "
                f"{listed(['openEuler', 'Kylin', 'Ubuntu'])})",
                image.at,
                "state its package manager with `family` (dnf, yum or apt) if it uses one "
                "of them; wanka supports no other",
            )


@rule(
    "SW-OS-COVER",
    "When the model names OSes (`software.oses`), every server type built runs one: its own "
    "`os`, or the default `software.os`.",
    "c.yaml:40:7: error[SW-OS-COVER]: server type 'ctl-hygon' runs no OS: it has no `os` and "
    "software.os is not declared",
)
def cover(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    sw = cluster.software
    if sw.os is not None or not sw.oses:
        return  # a default covers every type; or no OS is modelled at all
    for m in _built(cluster):
        if m.os_key is None:
            yield error(
                "SW-OS-COVER",
                f"server type '{m.key}' runs no OS: it has no `os` and software.os is not declared",
                m.at,
                f"give it `os` ({', '.join(sorted(sw.oses))}), or declare software.os",
            )
