"""The software of the model: NPU software sets, operating systems and their families, the
local mirror, and `Software`, which says which OS and NPU set each node takes
(spec.software).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wanka.findings import Mark

if TYPE_CHECKING:
    from wanka.model.types import Node, NodeModel


@dataclass(frozen=True, slots=True, kw_only=True)
class NpuSoftware:
    """One NPU software set: driver, firmware, CANN toolkit and kernels, and whom it serves.

    `name` is 'npu' for the default set (`software.npu`), else its key in `software.npu_sets`;
    the default set has no `generation` and no `phases`."""

    name: str
    generation: str | None
    phases: tuple[str, ...] | None
    driver_version: str | None
    firmware_min: str | None
    firmware_max: str | None
    driver_packages: dict[str, str]
    firmware_version: str | None
    firmware_package: str | None
    cann_version: str | None
    cann_packages: dict[str, str]
    kernels_packages: dict[str, str]
    at: Mark | None
    firmware_at: Mark | None
    range_at: Mark | None
    cann_at: Mark | None = None
    key_at: Mark | None = None  # where the set is named (`npu:` or its npu_sets key)
    phase_marks: tuple[Mark, ...] = ()

    @property
    def specificity(self) -> int:
        """3: generation and phases, 2: phases, 1: generation, 0: the default set."""
        return (2 if self.phases is not None else 0) + (1 if self.generation is not None else 0)

    def serves(self, phase: str, generation: str) -> bool:
        return (self.generation is None or self.generation == generation) and (
            self.phases is None or phase in self.phases
        )


DEFAULT_SET = "npu"

# ---- OS families and the local mirror (software.mirror) ----------------------------------

OS_FAMILIES = ("openeuler", "kylin", "ubuntu")
# the package manager of each family: openEuler 22.03 and Kylin V10 use dnf, Ubuntu apt
PACKAGE_MANAGER = {"openeuler": "dnf", "kylin": "dnf", "ubuntu": "apt"}


def os_family(name: str | None) -> str | None:
    """The OS family of a distribution as the cluster file names it (`openEuler`, `Kylin`,
    `Kylin Linux Advanced Server`, `Ubuntu`): openeuler, kylin or ubuntu; None for another.
    Every per-family table (the mirror's repositories, the repository file formats) is
    keyed by what this returns."""
    low = (name or "").strip().lower()
    if low == "openeuler":
        return "openeuler"
    if low.startswith("kylin"):
        return "kylin"
    if low == "ubuntu":
        return "ubuntu"
    return None


# Ubuntu's release codenames (its APT suites), by version; an LTS point release (22.04.4)
# and "22.04 LTS" take their release's
UBUNTU_CODENAMES = {"20.04": "focal", "22.04": "jammy", "24.04": "noble"}


def ubuntu_codename(version: str | None) -> str | None:
    words = (version or "").split()
    head = ".".join(words[0].split(".")[:2]) if words else ""
    return UBUNTU_CODENAMES.get(head)


@dataclass(frozen=True, slots=True, kw_only=True)
class Mirror:
    """software.mirror: the OS repositories (family -> arch -> base URL), the directory of the
    Ascend packages and their checksums, with where each was written."""

    repositories: dict[str, dict[str, str]]
    ascend: str | None
    sha256: dict[str, str]  # package file name -> hex digest (lowercase)
    at: Mark
    repositories_at: Mark | None
    url_at: dict[str, Mark]  # "repositories.openeuler.aarch64" | "ascend" -> its URL's place
    sha256_at: dict[str, Mark]  # file name -> where its digest is written

    def urls(self) -> Iterator[tuple[str, str]]:
        """(where, URL) of every URL of the mirror: `repositories.F.A` and `ascend`."""
        for fam, arches in self.repositories.items():
            for arch, url in arches.items():
                yield f"repositories.{fam}.{arch}", url
        if self.ascend is not None:
            yield "ascend", self.ascend


# The package manager of each distribution wanka knows, by its name in lower case: the
# `family` of an OS in the model (software.os.family / software.oses.*.family; reference
# os/os_01: ascend-deployer installs rpm packages on openEuler and Kylin, debs on Ubuntu;
# openEuler 22.03 and Kylin V10 ship dnf, yum being its alias there). Not to be confused with
# `os_family` above (the distribution: openeuler, kylin, ubuntu), which keys the mirror's
# repositories and the host network files.
PACKAGE_FAMILIES = {"openeuler": "dnf", "kylin": "dnf", "ubuntu": "apt"}


def package_family(name: str) -> str | None:
    """The package manager family of distribution `name` (`openEuler`, `Kylin`, `Ubuntu`):
    dnf or apt, or None."""
    low = name.lower()
    return next((f for key, f in PACKAGE_FAMILIES.items() if low.startswith(key)), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class OsImage:
    """An operating system (software.os, or an entry of software.oses): `family` is the stated
    one, else the name's (None: neither, SW-OS-FAMILY)."""

    key: str | None  # None: software.os, the default
    name: str
    version: str
    family: str | None
    stated_family: bool
    at: Mark

    def as_var(self) -> dict[str, str | None]:
        """The `wanka_os` host variable and `wanka_expect.os`: what the roles read (`family`
        the package manager's, `distribution` the mirror's key: `os_family`)."""
        return {
            "name": self.name,
            "version": self.version,
            "family": self.family,
            "distribution": os_family(self.name),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Software:
    """The OSes (`os`, the default; `oses` by key) and the NPU software sets: `npu` (the
    default, when declared) and `sets`."""

    os: OsImage | None
    npu: NpuSoftware | None
    sets: tuple[NpuSoftware, ...] = ()
    mirror: Mirror | None = None
    oses: dict[str, OsImage] = field(default_factory=dict)

    def os_of(self, model: NodeModel) -> OsImage | None:
        """The OS a node model runs: its `os` entry, else the default (None: neither)."""
        if model.os_key is not None:
            return self.oses.get(model.os_key)
        return self.os

    @property
    def os_name(self) -> str | None:
        """The default OS's name (software.os)."""
        return self.os.name if self.os is not None else None

    @property
    def os_version(self) -> str | None:
        """The default OS's version (software.os)."""
        return self.os.version if self.os is not None else None

    @property
    def os_family(self) -> str | None:
        """The default OS's distribution family (openeuler, kylin, ubuntu: `os_family`)."""
        return os_family(self.os_name)

    @property
    def all_sets(self) -> tuple[NpuSoftware, ...]:
        return ((self.npu,) if self.npu is not None else ()) + self.sets

    def candidates(self, phase: str, generation: str) -> list[NpuSoftware]:
        """The sets that match a server of this phase and generation, most specific first
        (declaration order among equals)."""
        found = [s for s in self.all_sets if s.serves(phase, generation)]
        return sorted(found, key=lambda s: -s.specificity)

    def for_server(self, phase: str, generation: str | None) -> NpuSoftware | None:
        """The set a server of this phase and accelerator generation takes (None: a server
        without NPUs, or no set matches: SW-SET-COVER)."""
        if generation is None:
            return None
        found = self.candidates(phase, generation)
        return found[0] if found else None

    def for_node(self, node: Node) -> NpuSoftware | None:
        acc = node.model.accelerator
        return self.for_server(node.pod.phase.name, acc.generation if acc is not None else None)
