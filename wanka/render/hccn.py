"""Render: /etc/hccn.conf of an NPU server from its derived devices (derive.hccn)."""

from __future__ import annotations

from wanka import templates
from wanka.derive.hccn import GENERATIONS, Device

TEMPLATE = "hccn.conf.j2"


def render_hccn(devices: list[Device], generation: str) -> str:
    """The text of /etc/hccn.conf for these devices, in the generation's key order."""
    if generation not in GENERATIONS:
        raise ValueError(f"unknown NPU generation '{generation}' (known: {GENERATIONS})")
    return templates.render(TEMPLATE, devices=devices, generation=generation)
