"""Mirror rules: the local mirror (software.mirror) is reached over HTTP(S), covers the OS
family and every CPU architecture the nodes run, serves nothing unused, and checksums only the
Ascend packages it serves."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from wanka.derive.topology import Topology
from wanka.findings import Finding, Severity, error, listed, warning
from wanka.model.types import (
    OS_FAMILIES,
    UBUNTU_CODENAMES,
    Cluster,
    os_family,
    ubuntu_codename,
)
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


def _oses(cluster: Cluster) -> dict[tuple[str, str], list[str]]:
    """(OS name, version) -> the node models that run it."""
    out: dict[tuple[str, str], list[str]] = {}
    for n in cluster.nodes:
        image = cluster.software.os_of(n.model)
        if image is None:
            continue
        models = out.setdefault((image.name, image.version), [])
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
    "The mirror's repositories are per OS family: `software.os` names one of openEuler, Kylin "
    "or Ubuntu (an Ubuntu release whose APT suite is known).",
    "c.yaml:88:7: error[SW-MIRROR-OS]: software.os 'UOS' is of no OS family the mirror's "
    "repositories serve (openeuler, kylin, ubuntu)",
)
def os_known(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    sw = cluster.software
    m = sw.mirror
    if m is None or not m.repositories:
        return
    if sw.os_family is None:
        what = f"software.os '{sw.os_name}'" if sw.os_name else "no software.os: the OS"
        yield error(
            "SW-MIRROR-OS",
            f"{what} is of no OS family the mirror's repositories serve ({', '.join(OS_FAMILIES)})",
            m.repositories_at,
            "name the OS in software.os: {name: openEuler, version: 22.03 LTS SP4}",
        )
    elif sw.os_family == "ubuntu" and ubuntu_codename(sw.os_version) is None:
        yield error(
            "SW-MIRROR-OS",
            f"Ubuntu '{sw.os_version}': no APT suite is known for this release "
            f"({', '.join(UBUNTU_CODENAMES)})",
            m.repositories_at,
            "write the release as 22.04 (or 22.04 LTS)",
        )


@rule(
    "SW-MIRROR-ONE-OS",
    "The mirror's repository files are rendered for one OS, the default `software.os`: a "
    "cluster whose server types run other OSes (`software.oses`) has no mirror repositories "
    "yet (the Ascend packages' `ascend` directory is fine).",
    "c.yaml:89:9: error[SW-MIRROR-ONE-OS]: software.mirror.repositories serve openEuler "
    "22.03 LTS SP4 only, but 'ubuntu-a2' nodes run Ubuntu 22.04",
)
def one_os(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    sw = cluster.software
    m = sw.mirror
    if m is None or not m.repositories:
        return
    default = (sw.os.name, sw.os.version) if sw.os is not None else None
    for (name, version), models in sorted(_oses(cluster).items()):
        if (name, version) != default:
            yield error(
                "SW-MIRROR-ONE-OS",
                f"software.mirror.repositories serve {sw.os_name} {sw.os_version} only, but "
                f"{listed(models)} nodes run {name} {version}",
                m.repositories_at,
                "one OS per cluster with a mirror's repositories for now; or drop "
                "`repositories` and keep the hosts' own package sources",
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
                f"nodes run {cluster.software.os_name} on {arch}",
                m.repositories_at,
                f"add repositories.{family}.{arch}: the base URL of the mirror's {arch} repository",
            )


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
    "serves no node: the nodes run openEuler (openeuler) on aarch64",
    severity=Severity.WARNING,
)
def unused(cluster: Cluster, topo: Topology) -> Iterator[Finding]:
    m = cluster.software.mirror
    if m is None or not cluster.complete:
        return
    need = needs(cluster)
    run = sorted({arch for _, arch in need})
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
                f"software.mirror.{where} serves no node: the nodes run "
                f"{cluster.software.os_name} ({cluster.software.os_family}) on {' and '.join(run)}",
                m.url_at[where],
                "remove it, or fix software.os",
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
