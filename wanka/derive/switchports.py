"""Derive: the front-panel ports of a SONiC switch, as its PORT table lists them.

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
from functools import lru_cache

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
    for root, alias, index, first, lanes, speed in _roots(m):
        use = used.get(root)
        mode = use.breakout if use is not None else None
        if mode is None:
            out.append(_entry(root, alias, index, _lanes(first, lanes), speed, 0, mode, use))
            continue
        n, child_speed = breakout_lanes(mode)
        step = lanes // n
        for k in range(n):
            name = f"Ethernet{first + k * step}"
            lane_list = _lanes(first + k * step, step)
            out.append(
                _entry(name, f"{alias}:{k + 1}", index, lane_list, child_speed, k + 1, mode,
                       used.get(name))
            )  # fmt: skip
    return out


@lru_cache(maxsize=64)
def _roots(m: SwitchModel) -> tuple[tuple[str, str, int, int, int, int], ...]:
    """(name, alias, port, first lane, lanes, Gb/s) of every whole port of a model: the same
    for every switch of it."""
    out = []
    for p in range(1, m.ports + 1):
        g = m.group(p)
        first = g.first_lane_of(p)
        out.append(
            (f"Ethernet{first}", m.port_name.format(port=p), p, first, g.lanes or 1, g.speed)
        )
    return tuple(out)


@lru_cache(maxsize=8192)
def _lanes(first: int, n: int) -> str:
    return ",".join(str(lane) for lane in range(first, first + n))


def _entry(
    name: str,
    alias: str,
    index: int,
    lanes: str,
    speed: int,
    subport: int,
    mode: str | None,
    use: PortUse | None,
) -> Json:
    return {
        "name": name,
        "alias": alias,
        "index": index,
        "lanes": lanes,
        "speed": speed,
        "subport": subport,
        "breakout": mode or f"1x{speed}G",
        "up": use is not None,
        "role": use.role if use is not None else None,
        "cable_m": use.length_m if use is not None else None,
    }
