"""Render: the OS repository configuration that points a server's package manager at the
local mirror alone (software.mirror), per CPU architecture of the cluster's OS family: a dnf
`.repo` file for openEuler and Kylin (dnf.conf(5): an INI section per repository, read from
/etc/yum.repos.d/*.repo), an APT deb822 `.sources` file for Ubuntu (sources.list(5), read
from /etc/apt/sources.list.d/*.sources); and `wanka_mirror`, what the roles read of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wanka.model.types import PACKAGE_MANAGER, Cluster, Mirror, ubuntu_codename
from wanka.templates import render

REPO_ID = "wanka-mirror"  # the repository id (dnf) and the file's name on the server
# where the server's package manager reads the file (the roles install it there)
DEST = {
    "dnf": f"/etc/yum.repos.d/{REPO_ID}.repo",
    "apt": f"/etc/apt/sources.list.d/{REPO_ID}.sources",
}
# The key each family signs its packages with (gpgcheck=1). openEuler's repositories carry it
# at their root (openEuler.repo: gpgkey=<baseurl>RPM-GPG-KEY-openEuler), so a mirror of one
# does too; Kylin V10 installs it with kylin-release (kylin_<arch>.repo:
# gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-kylin). tests/fixtures/mirror/ has both files.
GPGKEY = {
    "openeuler": lambda baseurl: f"{baseurl}RPM-GPG-KEY-openEuler",
    "kylin": lambda baseurl: "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-kylin",
}
DEB_ARCH = {"aarch64": "arm64", "x86_64": "amd64"}  # dpkg's names of the CPU architectures
# Ubuntu's archive: the release, its updates and its security suites; all four components
UBUNTU_SUITES = ("{code}", "{code}-updates", "{code}-security")
UBUNTU_COMPONENTS = ("main", "restricted", "universe", "multiverse")


def _dir_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def repo_file(cluster: Cluster, family: str, arch: str, url: str) -> tuple[str, str]:
    """(path in the render directory, text) of the mirror's repository for `arch`."""
    sw = cluster.software
    os_ = " ".join(x for x in (sw.os_name, sw.os_version) if x)
    url = _dir_url(url)
    if PACKAGE_MANAGER[family] == "apt":
        code = ubuntu_codename(sw.os_version) or ""
        text = render(
            "mirror.sources.j2",
            os=os_,
            arch=arch,
            uri=url,
            suites=[s.format(code=code) for s in UBUNTU_SUITES],
            components=UBUNTU_COMPONENTS,
            deb_arch=DEB_ARCH[arch],
        )
        return f"mirror/{family}-{arch}.sources", text
    text = render(
        "mirror.repo.j2",
        os=os_,
        arch=arch,
        repo_id=REPO_ID,
        title=f"{os_} {arch} (local mirror)",
        baseurl=url,
        gpgkey=GPGKEY[family](url),
    )
    return f"mirror/{family}-{arch}.repo", text


def repo_files(cluster: Cluster) -> Iterator[tuple[str, str, str]]:
    """(architecture, path, text) of every repository file of the cluster's OS family on the
    mirror (none without one)."""
    m, family = cluster.software.mirror, cluster.software.os_family
    if m is None or family is None:
        return
    for arch, url in sorted(m.repositories.get(family, {}).items()):
        yield (arch, *repo_file(cluster, family, arch, url))


def mirror_vars(cluster: Cluster) -> dict[str, Any] | None:
    """`wanka_mirror` (group_vars/all/software.yml): the package manager, the repository
    file per architecture (in the render directory) and where it goes; the Ascend packages'
    directory URL and their checksums. None: no mirror, the controller copies the packages."""
    m: Mirror | None = cluster.software.mirror
    if m is None:
        return None
    family = cluster.software.os_family
    manager = PACKAGE_MANAGER.get(family or "")
    repos = {arch: path for arch, path, _text in repo_files(cluster)}
    return {
        "family": family,
        "manager": manager if repos else None,
        "repositories": repos,
        "dest": DEST[manager] if repos and manager else None,
        "ascend": _dir_url(m.ascend) if m.ascend is not None else None,
        "sha256": dict(sorted(m.sha256.items())),
    }
