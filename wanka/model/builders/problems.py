"""What the model's builders report to: findings, and whether part of the cluster is unbuilt.

Also the two readers of the loader's positions every builder uses (`at`, `items`), and the
parsers of the addresses the document writes as text, which report what does not parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from wanka.findings import Finding, Mark, error
from wanka.language.loader import YMap
from wanka.language.positions import choices_hint


def at(ymap: Any, key: str, *, value: bool = False) -> Mark:
    """Mark of `key` in `ymap` (the key itself, or its value), or of the map."""
    if isinstance(ymap, YMap) and key in ymap:
        return ymap.value_at[key] if value else ymap.key_at[key]
    return getattr(ymap, "at", Mark("<input>", 1, 1))


def items(ymap: Any) -> list[tuple[str, Any]]:
    """The entries of a map of the document; none for what is not a map."""
    return list(ymap.items()) if isinstance(ymap, dict) else []


@dataclass(slots=True)
class Problems:
    """The findings of one build, in the order met; `incomplete` once some pods, racks or
    nodes could not be built (the whole-cluster checks would only echo that)."""

    findings: list[Finding] = field(default_factory=list)
    incomplete: bool = False

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def unresolved(self, what: str, name: str, choices: Any, where: Mark, place: str = "") -> None:
        """REF-UNRESOLVED: a name that names nothing of its kind."""
        text = f"unknown {what} '{name}'" + (f" {place}" if place else "")
        self.add(error("REF-UNRESOLVED", text, where, choices_hint(name, choices)))

    def cut_short(self, what: str, name: str, choices: Any, where: Mark, place: str = "") -> None:
        """An unresolved name that leaves part of the cluster unbuilt."""
        self.unresolved(what, name, choices, where, place)
        self.incomplete = True

    def network(self, text: str, what: str, where: Mark, example: str) -> IPv4Network | None:
        """The network `text` names; None (and NET-CIDR-INVALID) if it is not one."""
        try:
            return IPv4Network(text)
        except ValueError as e:
            self.add(
                error(
                    "NET-CIDR-INVALID",
                    f"{what}: {e}",
                    where,
                    f"write the network address, e.g. {example}",
                )
            )
            return None

    def address(self, text: str, where: Mark) -> IPv4Address | None:
        """The address `text` names; None (and NET-ADDRESS-INVALID) if it is not one."""
        try:
            return IPv4Address(text)
        except ValueError:
            self.add(error("NET-ADDRESS-INVALID", f"'{text}' is not an IPv4 address", where))
            return None
