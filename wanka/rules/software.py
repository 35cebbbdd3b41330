"""Software rules: every NPU server takes one software set; firmware inside its driver's range;
installers (driver, CANN toolkit, CANN kernels) for every host architecture a set serves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from wanka.derive.topology import Topology
from wanka.findings import Finding, Mark, Severity, error, listed, warning
from wanka.model.software import NpuSoftware
from wanka.model.types import Cluster
from wanka.rules import rule
from wanka.versions import SHAPE, VersionError, above, in_range, parse


@dataclass
class _Served:
    """What one set serves: server models per architecture, and their generations."""

    arches: dict[str, list[str]] = field(default_factory=dict)
    generations: set[str] = field(default_factory=set)


def _groups(cluster: Cluster) -> dict[tuple[str, str, str], str]:
    """(phase, generation, model key) -> the model's CPU architecture, of the NPU servers built."""
    out: dict[tuple[str, str, str], str] = {}
    for n in cluster.nodes:
        acc = n.model.accelerator
        if acc is not None:
            out[(n.pod.phase.name, acc.generation, n.model.key)] = n.model.cpu.arch
    return out


def served(cluster: Cluster) -> dict[str, _Served]:
    """Set name -> the servers that take it."""
    out: dict[str, _Served] = {s.name: _Served() for s in cluster.software.all_sets}
    for (phase, gen, model), arch in _groups(cluster).items():
        chosen = cluster.software.for_server(phase, gen)
        if chosen is not None:
            one = out[chosen.name]
            models = one.arches.setdefault(arch, [])
            if model not in models:
                models.append(model)
            one.generations.add(gen)
    return out


@rule(
    "SW-SET-COVER",
    "Every NPU server takes exactly one NPU software set: `software.npu`, or the most specific "
    "entry of `npu_sets` that matches its generation and phase (two equally specific matches "
    "are ambiguous).",
    "c.yaml:98:7: error[SW-SET-COVER]: 'a3-hygon' servers of phase 'p2' (A3) match both "
    "npu_sets 'a3' and 'hygon-p2' (both by phases and generation)",
)
def cover(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    sw = cluster.software
    if not sw.sets:
        return  # no set at all (or the default alone): nothing to choose
    missing: dict[tuple[str, str], list[str]] = {}
    ambiguous: dict[tuple[str, str], tuple[NpuSoftware, NpuSoftware, list[str]]] = {}
    for (phase, gen, model), _arch in _groups(cluster).items():
        found = sw.candidates(phase, gen)
        if not found:
            missing.setdefault((phase, gen), []).append(model)
        elif len(found) > 1 and found[0].specificity == found[1].specificity:
            a, b, models = ambiguous.setdefault((phase, gen), (found[0], found[1], []))
            models.append(model)
    for (phase, gen), models in sorted(missing.items()):
        yield error(
            "SW-SET-COVER",
            f"{listed(models)} servers of phase '{phase}' ({gen}) take no NPU software set",
            sw.sets[0].key_at,
            f"add software.npu (the default set), or an npu_sets entry for generation {gen} "
            f"or phase '{phase}'",
        )
    how = {3: "phases and generation", 2: "phases", 1: "generation"}
    for (phase, gen), (a, b, models) in sorted(ambiguous.items()):
        yield error(
            "SW-SET-COVER",
            f"{listed(models)} servers of phase '{phase}' ({gen}) match both npu_sets "
            f"'{a.name}' and '{b.name}' (both by {how[a.specificity]})",
            b.key_at,
            "make one of them more specific (add phases or a generation), or merge them",
        )


def _tied(cluster: Cluster) -> set[str]:
    """Names of the sets tied at the top for some server (SW-SET-COVER reports them)."""
    out: set[str] = set()
    for phase, gen, _model in _groups(cluster):
        found = cluster.software.candidates(phase, gen)
        if len(found) > 1 and found[0].specificity == found[1].specificity:
            out.update(s.name for s in found if s.specificity == found[0].specificity)
    return out


@rule(
    "SW-SET-UNUSED",
    "An NPU software set that no built server takes is a mistake in its generation or phases.",
    "c.yaml:98:7: warning[SW-SET-UNUSED]: npu_sets 'a3' serves no server: no A3 server is "
    "built (or a more specific set takes them all)",
    severity=Severity.WARNING,
)
def unused(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    if not cluster.complete:
        return  # unbuilt pods already reported: their servers would look missing
    sw = cluster.software
    if not sw.sets:
        return
    use = served(cluster)
    tied = _tied(cluster)
    known = {p.name for p in cluster.phases}
    for s in sw.all_sets:
        if use[s.name].arches or s.name in tied or not set(s.phases or ()) <= known:
            continue  # serves some; or SW-SET-COVER / REF-UNRESOLVED says why not
        what = "software.npu" if s.specificity == 0 else f"npu_sets '{s.name}'"
        sel = [f"no {s.generation} server" if s.generation else "no NPU server"]
        if s.phases is not None:
            sel.append(f"in phases {', '.join(s.phases)}")
        yield warning(
            "SW-SET-UNUSED",
            f"{what} serves no server: {' '.join(sel)} is built "
            "(or a more specific set takes them all)",
            s.key_at,
            "fix its generation or phases, or remove it",
        )


def _range(s: NpuSoftware) -> Iterator[Finding]:
    for what, text, at in (
        ("firmware_range min", s.firmware_min, s.range_at),
        ("firmware_range max", s.firmware_max, s.range_at),
        ("firmware", s.firmware_version, s.firmware_at),
    ):
        try:
            parse(text or "")
        except VersionError as e:
            yield error("SW-FIRMWARE-RANGE", f"{what} {e}", at, f"a version is {SHAPE}")
            return
    lo, hi = s.firmware_min or "", s.firmware_max or ""
    if above(lo, hi):
        yield error(
            "SW-FIRMWARE-RANGE",
            f"the driver's firmware range [{lo}, {hi}] is empty",
            s.range_at,
            "min must not be above max",
        )
    elif not in_range(s.firmware_version or "", lo, hi):
        yield error(
            "SW-FIRMWARE-RANGE",
            f"firmware {s.firmware_version} is outside the driver "
            f"{s.driver_version}'s range [{lo}, {hi}]"
            + (f" (npu_sets '{s.name}')" if s.specificity else ""),
            s.firmware_at,
            "pick a firmware the driver's compatible_version_fw accepts; "
            "a bound covers its builds: 7.5.99 takes 7.5.99.1.129",
        )


@rule(
    "SW-FIRMWARE-RANGE",
    "The NPU firmware is inside the driver's accepted range (a bound covers its builds: 7.3.0 takes 7.3.0.1.231).",
    "c.yaml:75:18: error[SW-FIRMWARE-RANGE]: firmware 7.3.0.1.100 is outside the driver 24.1.rc3's range [7.0.0, 7.2.99]",
)
def firmware(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    """Compared as wanka verify compares what the cards report (wanka.versions): each bound at
    its own precision, so 7.3.0.1.100 is inside [7.0.0, 7.3.0] and outside [7.0.0, 7.2.99].
    Each software set on its own."""
    for s in cluster.software.all_sets:
        if s.firmware_version and s.firmware_min and s.firmware_max:
            yield from _range(s)


def _set_name(s: NpuSoftware) -> str:
    return "software.npu" if s.specificity == 0 else f"npu_sets '{s.name}'"


@rule(
    "SW-PACKAGE-ARCH",
    "Driver, CANN toolkit and kernels installers exist for every architecture of the NPU hosts "
    "each software set serves.",
    "c.yaml:70:9: error[SW-PACKAGE-ARCH]: no x86_64 driver package in software.npu, but "
    "'a3-hygon' servers are x86_64",
)
def packages(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    use = served(cluster)
    for s in cluster.software.all_sets:
        for arch, models in sorted(use[s.name].arches.items()):
            for what, pk, at in (
                ("driver", s.driver_packages, s.at),
                ("CANN", s.cann_packages, s.cann_at or s.at),
                ("CANN kernels", s.kernels_packages, s.cann_at or s.at),
            ):
                if pk and arch not in pk:
                    kind = "servers are" if len(models) == 1 else "servers are all"
                    yield error(
                        "SW-PACKAGE-ARCH",
                        f"no {arch} {what} package in {_set_name(s)}, but {listed(models)} "
                        f"{kind} {arch}",
                        at,
                        f"add packages.{arch} to the {what}"
                        if what != "CANN kernels"
                        else f"add kernels.{arch} to the CANN",
                    )


def _cann_major(version: str) -> int | None:
    """The release number before the first dot (8 of 8.0.RC3), None when it is no number."""
    try:
        parse(version)
    except VersionError:
        return None
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


@rule(
    "SW-CANN-KERNELS",
    "CANN 8 and later installs its operator kernels package for the chip after the toolkit "
    "(`cann.kernels`); one kernels package serves one chip, so its set serves one generation.",
    "c.yaml:96:7: error[SW-CANN-KERNELS]: CANN 8.0.RC3 in software.npu has toolkit packages "
    "but no kernels package for the chip",
)
def kernels(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    use = served(cluster)
    for s in cluster.software.all_sets:
        at: Mark | None = s.cann_at or s.at
        major = _cann_major(s.cann_version or "")
        if s.cann_packages and not s.kernels_packages and major is not None and major >= 8:
            yield error(
                "SW-CANN-KERNELS",
                f"CANN {s.cann_version} in {_set_name(s)} has toolkit packages but no kernels "
                "package for the chip",
                at,
                "add cann.kernels: {aarch64: Ascend-cann-kernels-910b_<version>_linux-aarch64.run, "
                "...} (the chip's operator package, at the toolkit's version)",
            )
        gens = sorted(use[s.name].generations)
        if s.kernels_packages and len(gens) > 1:
            yield error(
                "SW-CANN-KERNELS",
                f"{_set_name(s)} serves {' and '.join(gens)} servers, but its CANN kernels "
                "package is for one chip",
                s.key_at,
                "give each generation its own set: npu_sets: {a3: {generation: A3, ...}}",
            )
