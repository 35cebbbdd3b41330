"""Render: frr.conf of a routed switch from its derived routing (derive.routing)."""

from __future__ import annotations

from dataclasses import asdict

from wanka import templates
from wanka.derive.routing import SwitchRouting


def render_frr(r: SwitchRouting) -> str:
    """frr.conf of one switch (FRR's integrated configuration, /etc/frr/frr.conf)."""
    return templates.render("frr.conf.j2", **asdict(r))
