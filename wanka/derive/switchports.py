"""Derive: the front-panel ports of a SONiC switch, as its PORT and BREAKOUT_CFG tables list them.

Every port of the model, in port order, named as SONiC names it: `Ethernet<first lane>`, the
lanes counted from 0 over the model's port groups (`ports` with `lanes` in the catalog). A port
whose cables are the lanes of a breakout is split into its children, each named by its own
first lane (a 2x200G breakout of a 4-lane Ethernet0 gives Ethernet0 and Ethernet2, of an 8-lane
one Ethernet0 and Ethernet4), as the platform port maps of SONiC show (tests/fixtures/sonic/).
Ports nothing is cabled to stay whole and are listed admin down, as a platform's default
config_db lists every port.

PORT `lanes` are the lane offsets the names come from (`0,1,2,3` for Ethernet0 of 4 lanes):
NVIDIA's Spectrum platforms number their SAI lanes so; on platforms whose lane numbers are
permuted (Broadcom-based ones such as Arista's), the platform's own port_config.ini lanes are
what the ASIC takes, which the catalog cannot say yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from wanka.jsonfmt import Json
from wanka.model.types import SwitchModel, breakout_lanes


@dataclass(frozen=True, slots=True)
class PortUse:
    """What one cable end on the switch says about its port."""

    role: str  # node | fabric
    length_m: int
    breakout: str | None  # the port's breakout mode, on every lane of it


def port_map(m: SwitchModel, used: dict[str, PortUse]) -> list[Json]:
    """One entry per SONiC port (a whole port, or a breakout child), in port order:
    {name, alias, index, lanes ("0,1,2,3"), speed (Gb/s), subport (0 when whole, else 1..n),
    breakout (the root port's mode, "1x400G" when whole), up, role, cable_m}."""
    out: list[Json] = []
    for p in range(1, m.ports + 1):
        g = m.group(p)
        lanes = g.lanes or 1
        first = g.first_lane_of(p)
        alias = m.port_name.format(port=p)
        root = used.get(f"Ethernet{first}")
        mode = root.breakout if root is not None else None
        if mode is None:
            out.append(_entry(f"Ethernet{first}", alias, p, first, lanes, g.speed, 0, root))
            out[-1]["breakout"] = f"1x{g.speed}G"
            continue
        n, speed = breakout_lanes(mode)
        step = lanes // n
        for k in range(n):
            name = f"Ethernet{first + k * step}"
            child = _entry(name, f"{alias}:{k + 1}", p, first + k * step, step, speed, k + 1, None)
            child.update(_use(used.get(name)))
            child["breakout"] = mode
            out.append(child)
    return out


def _entry(
    name: str,
    alias: str,
    index: int,
    first: int,
    lanes: int,
    speed: int,
    subport: int,
    use: PortUse | None,
) -> Json:
    entry: Json = {
        "name": name,
        "alias": alias,
        "index": index,
        "lanes": ",".join(str(lane) for lane in range(first, first + lanes)),
        "speed": speed,
        "subport": subport,
    }
    entry.update(_use(use))
    return entry


def _use(use: PortUse | None) -> Json:
    if use is None:
        return {"up": False, "role": None, "cable_m": None}
    return {"up": True, "role": use.role, "cable_m": use.length_m}
