"""The derived names of the expanded cluster, and their checks.

Names are derived in declaration order, so adding a phase, or a pod at the end of
the last phase, never changes an existing name:

    sz1-p1-pod03               pod
    sz1-p1-pod03-r07           rack
    sz1-p1-pod03-r07-s02       server (h: CPU host, st: storage node)
    sz1-p1-pod03-param-leaf05  switch: plane, tier, number within the pod
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wanka.findings import Finding, Mark, error, listed
from wanka.model.types import Cluster, Node, Rack, Switch

NODE_PREFIX = {"server": "s", "host": "h", "storage": "st"}
MAX_HOSTNAME = 63


def numbered(name: str, first: int, count: int) -> list[str]:
    """`name01`, `name02`, ... (`count` of them from `first`)."""
    return [f"{name}{k:02d}" for k in range(first, first + count)]


def row_names(decl: Mapping[str, Any]) -> list[str]:
    """The rows a layout row declaration makes: its name, or `count` numbered ones."""
    return [decl["name"]] if "count" not in decl else numbered(decl["name"], 1, decl["count"])


def pod_shorts(placement: Mapping[str, Any]) -> list[str]:
    """The short names of the pods a placement makes (`pod03`; numbered from `first`)."""
    if "count" not in placement:
        return [placement["name"]]
    return numbered(placement["name"], placement.get("first", 1), placement["count"])


def pod_name(site: str, phase: str, short: str) -> str:
    return f"{site}-{phase}-{short}"


def rack_name(pod: str, number: int) -> str:
    return f"{pod}-r{number:02d}"


def node_name(rack: str, prefix: str, number: int) -> str:
    return f"{rack}-{prefix}{number:02d}"


def switch_name(pod: str, plane: str, tier: str, ordinal: int) -> str:
    return f"{pod}-{plane}-{tier}{ordinal + 1:02d}"


def check_names(cluster: Cluster, findings: list[Finding]) -> None:
    """Every derived name a valid hostname, and each produced once."""
    seen: dict[str, Mark] = {}
    too_long: dict[Mark, list[str]] = {}  # by declaration: one finding per line, not per name
    objs: list[Node | Switch | Rack] = [*cluster.nodes, *cluster.switches, *cluster.racks]
    for obj in objs:
        if len(obj.name) > MAX_HOSTNAME:
            too_long.setdefault(obj.at, []).append(obj.name)
        if obj.name in seen:
            findings.append(
                error(
                    "NAME-UNIQUE",
                    f"derived name '{obj.name}' is also produced at {seen[obj.name]}",
                    obj.at,
                )
            )
        else:
            seen[obj.name] = obj.at
    for at, names in too_long.items():
        what = (
            f"derived name '{names[0]}' is"
            if len(names) == 1
            else f"derived names {listed(names)} are"
        )
        findings.append(
            error(
                "NAME-LENGTH",
                f"{what} longer than {MAX_HOSTNAME} characters (the longest has "
                f"{max(map(len, names))})",
                at,
                "shorten the site, phase, pod or plane names",
            )
        )
