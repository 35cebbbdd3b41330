"""Software rules: firmware inside the driver's range; installers for every host architecture."""

from __future__ import annotations

from collections.abc import Iterator

from wanka.derive.topology import Topology
from wanka.findings import Finding, error, listed
from wanka.model.types import Cluster
from wanka.rules import rule
from wanka.versions import SHAPE, VersionError, above, in_range, parse


@rule(
    "SW-FIRMWARE-RANGE",
    "The NPU firmware is inside the driver's accepted range (a bound covers its builds: 7.3.0 takes 7.3.0.1.231).",
    "c.yaml:75:18: error[SW-FIRMWARE-RANGE]: firmware 7.3.0.1.100 is outside the driver 24.1.rc3's range [7.0.0, 7.2.99]",
)
def firmware(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    """Compared as wanka verify compares what the cards report (wanka.versions): each bound at
    its own precision, so 7.3.0.1.100 is inside [7.0.0, 7.3.0] and outside [7.0.0, 7.2.99]."""
    sw = cluster.software
    if not (sw.firmware_version and sw.firmware_min and sw.firmware_max):
        return
    for what, text, at in (
        ("firmware_range min", sw.firmware_min, sw.range_at),
        ("firmware_range max", sw.firmware_max, sw.range_at),
        ("firmware", sw.firmware_version, sw.firmware_at),
    ):
        try:
            parse(text)
        except VersionError as e:
            yield error("SW-FIRMWARE-RANGE", f"{what} {e}", at, f"a version is {SHAPE}")
            return
    if above(sw.firmware_min, sw.firmware_max):
        yield error(
            "SW-FIRMWARE-RANGE",
            f"the driver's firmware range [{sw.firmware_min}, {sw.firmware_max}] is empty",
            sw.range_at,
            "min must not be above max",
        )
        return
    if not in_range(sw.firmware_version, sw.firmware_min, sw.firmware_max):
        yield error(
            "SW-FIRMWARE-RANGE",
            f"firmware {sw.firmware_version} is outside the driver "
            f"{sw.driver_version}'s range [{sw.firmware_min}, {sw.firmware_max}]",
            sw.firmware_at,
            "pick a firmware the driver's compatible_version_fw accepts; "
            "a bound covers its builds: 7.5.99 takes 7.5.99.1.129",
        )


@rule(
    "SW-PACKAGE-ARCH",
    "Driver and CANN installers exist for every architecture of the NPU hosts.",
    "c.yaml:70:9: error[SW-PACKAGE-ARCH]: no x86_64 driver package, but 'a3-hygon' servers are x86_64",
)
def packages(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    sw = cluster.software
    arches: dict[str, list[str]] = {}  # the NPU host models built, per CPU architecture
    built = {n.model.key: n.model for n in cluster.nodes if n.model.accelerator is not None}
    for m in built.values():
        arches.setdefault(m.cpu.arch, []).append(m.key)
    for arch, models in sorted(arches.items()):
        for what, pk in (("driver", sw.driver_packages), ("CANN", sw.cann_packages)):
            if pk and arch not in pk:
                kind = "servers are" if len(models) == 1 else "servers are all"
                yield error(
                    "SW-PACKAGE-ARCH",
                    f"no {arch} {what} package, but {listed(models)} {kind} {arch}",
                    sw.at,
                    f"add packages.{arch} to the {what}",
                )
