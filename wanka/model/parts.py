"""The plain entries of the catalog and the networks, each made from its YAML.

Nothing here can fail on a schema-valid document: references between entries
(a node model's accelerator, a tier's switch model) are resolved by the builder.
"""

from __future__ import annotations

from wanka.findings import Mark
from wanka.language.loader import YMap
from wanka.model.types import (
    Accelerator,
    Cpu,
    Drive,
    PortGroup,
    Qos,
    RackType,
    SwitchModel,
    Tier,
    gbps,
)


def accelerator(key: str, a: YMap, at: Mark) -> Accelerator:
    return Accelerator(
        key=key,
        generation=a["generation"],
        dies=a["dies"],
        hbm_gb=a["hbm_gb"],
        tflops=dict(a["tflops"]),
        pci_device_id=a.get("pci_device_id"),
        at=at,
    )


def cpu(c: YMap) -> Cpu:
    return Cpu(
        vendor=c["vendor"],
        model=c["model"],
        arch=c["arch"],
        sockets=c["sockets"],
        cores_per_socket=c["cores_per_socket"],
    )


def drive(d: YMap) -> Drive:
    return Drive(
        interface=d["interface"],
        count=d["count"],
        capacity_gb=d["capacity_gb"],
        use=d.get("use", "data"),
        raid=d.get("raid", "none"),
        filesystem=d.get("filesystem", "xfs"),
        mount=d.get("mount"),
    )


def switch_model(key: str, s: YMap, at: Mark) -> SwitchModel:
    ports = s["ports"]
    listed = isinstance(ports, list)
    ports_at = s.key_at.get("ports", at) if isinstance(s, YMap) else at
    groups: list[PortGroup] = []
    first, lane = 1, 0
    for i, g in enumerate(ports if listed else [ports]):
        lanes = g.get("lanes")
        breakouts = g.get("breakouts", []) if listed else s.get("breakouts", [])
        groups.append(
            PortGroup(
                first=first,
                count=g["count"],
                speed=gbps(g["speed"]),
                lanes=lanes,
                first_lane=lane,
                breakouts=tuple(breakouts),
                at=_item_at(ports, i, ports_at) if listed else ports_at,
            )
        )
        first += g["count"]
        lane += g["count"] * (lanes or 1)
    sonic = s.get("sonic", {})
    return SwitchModel(
        key=key,
        ports=first - 1,
        speed=groups[0].speed,
        breakouts=groups[0].breakouts,
        port_name=s.get("port_name", "Ethernet{port}"),
        max_frame=s["max_frame"],
        rack_units=s["rack_units"],
        power_nominal_w=s["power_w"]["nominal"],
        power_max_w=s["power_w"]["max"],
        liquid_share=s.get("liquid_share", 0),
        os=s.get("os", "debian"),
        at=at,
        groups=tuple(groups),
        platform=sonic.get("platform"),
        hwsku=sonic.get("hwsku"),
    )


def _item_at(seq: object, i: int, default: Mark) -> Mark:
    marks = getattr(seq, "item_at", None)
    return marks[i] if marks and i < len(marks) else getattr(seq, "at", default)


def rack_type(key: str, r: YMap, at: Mark) -> RackType:
    return RackType(
        key=key,
        units=r["units"],
        power_kw=r["power_kw"],
        liquid_kw=r["cooling"]["liquid_kw"],
        air_kw=r["cooling"]["air_kw"],
        at=at,
    )


def tier(name: str, d: YMap, at: Mark) -> Tier:
    return Tier(
        name=name,  # type: ignore[arg-type]
        model=d["model"],
        uplinks=d.get("uplinks", 0),
        downlink_breakout=d.get("downlink_breakout"),
        max_oversubscription=d.get("max_oversubscription", 1),
        at=at,
        mlag=d.get("mlag", False),
    )


def qos(q: YMap, at: Mark) -> Qos:
    return Qos(
        dscp=q["dscp"],
        traffic_class=q.get("traffic_class"),
        pfc_priority=q["pfc_priority"],
        ecn=q.get("ecn", True),
        at=at,
    )
