"""Render: the OS repository configuration that points a server's package manager at the
local mirror alone (software.mirror), per OS family the nodes run (each node's OS:
software.oses by its model's `os`, else software.os) and CPU architecture: a dnf
`.repo` file for openEuler and Kylin (dnf.conf(5): an INI section per repository, read from
/etc/yum.repos.d/*.repo), an APT deb822 `.sources` file for Ubuntu (sources.list(5), read
from /etc/apt/sources.list.d/*.sources); and `wanka_mirror`, what the roles read of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wanka.model.software import PACKAGE_MANAGER, Mirror, OsImage, os_family, ubuntu_codename
from wanka.model.types import Cluster
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


def images(cluster: Cluster) -> dict[str, OsImage]:
    """OS family -> the OS of that family the nodes run (one per family: SW-MIRROR-ONE-OS
    refuses two); the default OS's alone when there are no nodes."""
    out: dict[str, OsImage] = {}
    for image, _models in cluster.oses_run():
        family = os_family(image.name)
        if family is not None and family not in out:
            out[family] = image
    return out


def repo_file(image: OsImage, family: str, arch: str, url: str) -> tuple[str, str]:
    """(path in the render directory, text) of the mirror's repository for `arch`."""
    os_ = f"{image.name} {image.version}"
    url = _dir_url(url)
    if PACKAGE_MANAGER[family] == "apt":
        code = ubuntu_codename(image.version) or ""
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


def repo_files(cluster: Cluster) -> Iterator[tuple[str, str, str, str]]:
    """(family, architecture, path, text) of every repository file of the OS families the
    nodes run, on the mirror (none without one)."""
    m = cluster.software.mirror
    if m is None:
        return
    for family, image in sorted(images(cluster).items()):
        for arch, url in sorted(m.repositories.get(family, {}).items()):
            yield (family, arch, *repo_file(image, family, arch, url))


def mirror_vars(cluster: Cluster) -> dict[str, Any] | None:
    """`wanka_mirror` (group_vars/all/software.yml): per OS family the nodes run (the key a
    host finds in its `wanka_os.distribution`), the package manager, the repository file per
    architecture (in the render directory) and where it goes; the Ascend packages' directory
    URL and their checksums. None: no mirror, the controller copies the packages."""
    m: Mirror | None = cluster.software.mirror
    if m is None:
        return None
    families: dict[str, dict[str, Any]] = {}
    for family, arch, path, _text in repo_files(cluster):
        manager = PACKAGE_MANAGER[family]
        entry = families.setdefault(
            family, {"manager": manager, "dest": DEST[manager], "repositories": {}}
        )
        entry["repositories"][arch] = path
    return {
        "families": families,
        "ascend": _dir_url(m.ascend) if m.ascend is not None else None,
        "sha256": dict(sorted(m.sha256.items())),
    }
