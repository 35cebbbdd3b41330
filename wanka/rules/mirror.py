"""Mirror rules: the local mirror (software.mirror) is reached over HTTP(S), covers the OS
family and every CPU architecture the nodes run, serves nothing unused, and checksums only the
Ascend packages it serves."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from wanka.derive.topology import Topology
from wanka.findings import Finding, Severity, error, listed, warning
from wanka.model.software import OS_FAMILIES, UBUNTU_CODENAMES, OsImage, os_family, ubuntu_codename
from wanka.model.types import Cluster
from wanka.rules import rule


def needs(cluster: Cluster) -> dict[tuple[str, str], list[str]]:
    """(OS family, CPU architecture) -> the node models that run it: every node runs its
    model's OS (software.oses by its `os`, else software.os) on its model's CPU. Nodes whose
    OS is of no known family are left out (SW-MIRROR-OS names them)."""
    sw = cluster.software
    out: dict[tuple[str, str], list[str]] = {}
    for n in cluster.nodes:
        image = sw.os_of(n.model)
        family = os_family(image.name) if image is not None else None
        if family is None:
            continue
        models = out.setdefault((family, n.model.cpu.arch), [])
        if n.model.key not in models:
            models.append(n.model.key)
    return out


def _is_http(url: str) -> bool:
    try:
        u = urlsplit(url)
        u.port  # noqa: B018 (raises ValueError on a port that is no number or out of range)
    except ValueError:
        return False
    return u.scheme in ("http", "https") and bool(u.hostname) and not u.query and not u.fragment


@rule(
    "SW-MIRROR-URL",
    "Every URL of the mirror is http:// or https:// with a host (and no query or fragment): "
    "the servers fetch from it over the management network.",
    "c.yaml:90:17: error[SW-MIRROR-URL]: software.mirror.ascend 'ftp://10.90.0.250/ascend/' "
    "is not an http(s) URL",
)
def urls(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    m = cluster.software.mirror
    if m is None:
        return
    for where, url in m.urls():
        if not _is_http(url):
            yield error(
                "SW-MIRROR-URL",
                f"software.mirror.{where} '{url}' is not an http(s) URL",
                m.url_at.get(where, m.at),
                "write http://HOST[:PORT]/PATH/ (or https://), the mirror's address on the "
                "management network",
            )


@rule(
    "SW-MIRROR-OS",
    "The mirror's repositories are per OS family: every OS the nodes run (software.os, "
    "software.oses) is one of openEuler, Kylin or Ubuntu (an Ubuntu release whose APT suite "
    "is known).",
    "c.yaml:88:7: error[SW-MIRROR-OS]: software.os 'UOS' is of no OS family the mirror's "
    "repositories serve (openeuler, kylin, ubuntu)",
)
def os_known(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    sw = cluster.software
    m = sw.mirror
    if m is None or not m.repositories:
        return
    run = cluster.oses_run()
    if not run:
        yield error(
            "SW-MIRROR-OS",
            "no software.os: the OS is of no OS family the mirror's repositories serve "
            f"({', '.join(OS_FAMILIES)})",
            m.repositories_at,
            "name the OS in software.os: {name: openEuler, version: 22.03 LTS SP4}",
        )
    for image, _models in run:
        what = "software.os" if image.key is None else f"software.oses.{image.key}"
        family = os_family(image.name)
        if family is None:
            yield error(
                "SW-MIRROR-OS",
                f"{what} '{image.name}' is of no OS family the mirror's repositories serve "
                f"({', '.join(OS_FAMILIES)})",
                m.repositories_at,
                "name the OS as openEuler, Kylin or Ubuntu, or drop `repositories`",
            )
        elif family == "ubuntu" and ubuntu_codename(image.version) is None:
            yield error(
                "SW-MIRROR-OS",
                f"Ubuntu '{image.version}': no APT suite is known for this release "
                f"({', '.join(UBUNTU_CODENAMES)})",
                m.repositories_at,
                "write the release as 22.04 (or 22.04 LTS)",
            )


@rule(
    "SW-MIRROR-ONE-OS",
    "The mirror's repositories are per OS family and architecture: the nodes run one OS "
    "(name and version) of each family, whose repository file is rendered for it.",
    "c.yaml:89:9: error[SW-MIRROR-ONE-OS]: software.mirror.repositories.kylin serves one "
    "Kylin OS, but the nodes run Kylin V10 SP1 ('a2-old') and Kylin V10 SP3 ('a2-hygon')",
)
def one_os(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    m = cluster.software.mirror
    if m is None or not m.repositories:
        return
    by_family: dict[str, list[tuple[OsImage, list[str]]]] = {}
    for image, models in cluster.oses_run():
        family = os_family(image.name)
        if family is not None:
            by_family.setdefault(family, []).append((image, models))
    for family, seen in sorted(by_family.items()):
        if len(seen) > 1:
            oses = " and ".join(f"{i.name} {i.version} ({listed(ms)})" for i, ms in seen)
            yield error(
                "SW-MIRROR-ONE-OS",
                f"software.mirror.repositories.{family} serves one {seen[0][0].name} OS, but "
                f"the nodes run {oses}",
                m.repositories_at,
                "run one release of each OS family on the nodes of a cluster with a mirror",
            )


@rule(
    "SW-MIRROR-COVER",
    "The mirror's repositories cover the OS family and every CPU architecture the cluster's "
    "nodes run: bring-up points their package manager at the mirror alone.",
    "c.yaml:89:9: error[SW-MIRROR-COVER]: no openeuler x86_64 repository in software.mirror, "
    "but 'a3-hygon' nodes run openEuler on x86_64",
)
def cover(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    m = cluster.software.mirror
    if m is None or not m.repositories:
        return
    for (family, arch), models in sorted(needs(cluster).items()):
        if arch not in m.repositories.get(family, {}):
            yield error(
                "SW-MIRROR-COVER",
                f"no {family} {arch} repository in software.mirror, but {listed(models)} "
                f"nodes run {_name_of(cluster, family)} on {arch}",
                m.repositories_at,
                f"add repositories.{family}.{arch}: the base URL of the mirror's {arch} repository",
            )


def _name_of(cluster: Cluster, family: str) -> str:
    """The name of the OS of `family` the nodes run (as the cluster file writes it)."""
    return next((i.name for i, _ in cluster.oses_run() if os_family(i.name) == family), family)


def _running(need: dict[tuple[str, str], list[str]]) -> str:
    """`openeuler on aarch64, ubuntu on aarch64 and x86_64`: what the nodes run."""
    arches: dict[str, list[str]] = {}
    for family, arch in sorted(need):
        arches.setdefault(family, []).append(arch)
    return ", ".join(f"{f} on {' and '.join(a)}" for f, a in arches.items())


def package_files(cluster: Cluster) -> set[str]:
    """Every Ascend package file the NPU software sets name."""
    out: set[str] = set()
    for s in cluster.software.all_sets:
        out.update(s.driver_packages.values())
        out.update(s.cann_packages.values())
        out.update(s.kernels_packages.values())
        if s.firmware_package:
            out.add(s.firmware_package)
    return out


@rule(
    "SW-MIRROR-UNUSED",
    "A repository of the mirror that no node's OS family and architecture takes, or an Ascend "
    "directory while no NPU software set names a package, is a mistake in the mirror or the "
    "OS.",
    "c.yaml:91:17: warning[SW-MIRROR-UNUSED]: software.mirror.repositories.kylin.x86_64 "
    "serves no node: the nodes run openeuler on aarch64",
    severity=Severity.WARNING,
)
def unused(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    m = cluster.software.mirror
    if m is None or not cluster.complete:
        return
    need = needs(cluster)
    for where, _url in m.urls():
        if where == "ascend":
            if not package_files(cluster):
                yield warning(
                    "SW-MIRROR-UNUSED",
                    "software.mirror.ascend serves no package: no NPU software set names one",
                    m.url_at[where],
                    "remove it, or add software.npu",
                )
            continue
        _, family, arch = where.split(".")
        if need and (family, arch) not in need:
            yield warning(
                "SW-MIRROR-UNUSED",
                f"software.mirror.{where} serves no node: the nodes run {_running(need)}",
                m.url_at[where],
                "remove it, or fix the nodes' OS (software.os, software.oses)",
            )


@rule(
    "SW-MIRROR-SHA256",
    "A checksum of the mirror is for an Ascend package an NPU software set names, fetched from "
    "the mirror (`ascend`).",
    "c.yaml:95:9: error[SW-MIRROR-SHA256]: software.mirror.sha256 of "
    "'Ascend-hdk-910b-npu-driver_24.1.rc2_linux-aarch64.run', a package no NPU software set "
    "names",
)
def checksums(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    m = cluster.software.mirror
    if m is None or not m.sha256:
        return
    if m.ascend is None:
        yield error(
            "SW-MIRROR-SHA256",
            "software.mirror.sha256 is checked on packages fetched from the mirror, but it has "
            "no ascend directory",
            next(iter(m.sha256_at.values())),
            "add software.mirror.ascend: the URL of the directory of the .run packages",
        )
        return
    named = package_files(cluster)
    for name, at in m.sha256_at.items():
        if name not in named:
            yield error(
                "SW-MIRROR-SHA256",
                f"software.mirror.sha256 of '{name}', a package no NPU software set names",
                at,
                "fix the file name, or remove the entry",
            )
