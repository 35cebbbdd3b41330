"""The local mirror (software.mirror): the repository files wanka renders, read by the real
package managers' parsers (dnf's libdnf through python3-dnf, APT's apt-get) and compared with
captured real repository files (tests/fixtures/mirror/, each with its source); the variables
the roles read; and the rules' messages for the other OS families.

dnf and apt-get run in a network namespace of their own with no interface (`unshare --net`):
they parse the files and reach nothing. Needs root and Debian's dnf and apt (CI: `make deps`);
without them these tests fail, they do not skip."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from wanka.pipeline import check, derive
from wanka.render import mirror
from wanka.render.files import files

LAB = ROOT / "tests/examples/positive/lab-mirror.yaml"
FIXTURES = ROOT / "tests/fixtures/mirror"
OS_LINE = 'os: {name: openEuler, version: "22.03 LTS SP4"}'
REPO_LINE = (
    'openeuler: {aarch64: "http://10.90.0.6:8080/openeuler/22.03-LTS-SP4/everything/aarch64/"}'
)


def _variant(tmp: Path, os_line: str, repo_line: str) -> Path:
    text = LAB.read_text(encoding="utf-8")
    assert OS_LINE in text and REPO_LINE in text
    path = tmp / "cluster.yaml"
    path.write_text(text.replace(OS_LINE, os_line).replace(REPO_LINE, repo_line), "utf-8")
    return path


def _rendered(path: Path) -> dict[str, str]:
    return dict(files(derive(check(str(path)))))


def _ini(text: str) -> configparser.ConfigParser:
    p = configparser.ConfigParser(interpolation=None)
    p.read_string(text)
    return p


def _need_root_tool(*argv: str) -> None:
    if os.geteuid() != 0:
        pytest.fail("the package manager tests need root (unshare --net); CI runs as root")
    if shutil.which(argv[0]) is None:
        pytest.fail(f"`{argv[0]}` not found: `make deps` installs it", pytrace=False)


def test_the_openeuler_repo_has_the_form_of_the_real_one() -> None:
    text = _rendered(LAB)["mirror/openeuler-aarch64.repo"]
    ours = _ini(text)
    real = _ini((FIXTURES / "openEuler.repo").read_text(encoding="utf-8"))
    assert ours.sections() == [mirror.REPO_ID]
    mine = ours[mirror.REPO_ID]
    for section in real.sections():  # the same options, as the real file writes them
        assert set(mine) == set(real[section]), section
        assert (mine["enabled"], mine["gpgcheck"]) == (real[section]["enabled"], "1")
        # the key lies at the repository's root, as in openEuler's own file
        assert real[section]["gpgkey"] == real[section]["baseurl"] + "RPM-GPG-KEY-openEuler"
    assert mine["baseurl"] == "http://10.90.0.6:8080/openeuler/22.03-LTS-SP4/everything/aarch64/"
    assert mine["gpgkey"] == mine["baseurl"] + "RPM-GPG-KEY-openEuler"


def test_the_kylin_repo_takes_the_key_kylin_installs(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'os: {name: Kylin, version: "V10 SP3 (Lance)"}',
                    'kylin: {aarch64: "http://10.90.0.6:8080/kylin/V10SP3/aarch64"}')  # fmt: skip
    out = _rendered(path)
    mine = _ini(out["mirror/kylin-aarch64.repo"])[mirror.REPO_ID]
    real = _ini((FIXTURES / "kylin_x86_64.repo").read_text(encoding="utf-8"))
    assert {real[s]["gpgkey"] for s in real.sections()} == {mine["gpgkey"]}
    assert set(mine) == set(real["ks10-adv-os"])
    assert mine["baseurl"] == "http://10.90.0.6:8080/kylin/V10SP3/aarch64/"  # a directory
    gv = yaml.safe_load(out["ansible/group_vars/all/software.yml"])["wanka_mirror"]
    kylin = gv["families"]["kylin"]
    assert (kylin["manager"], kylin["dest"]) == ("dnf", "/etc/yum.repos.d/wanka-mirror.repo")


DNF_READ = """
import dnf, json, sys
b = dnf.Base()
b.conf.reposdir = [sys.argv[1]]
b.conf.substitutions["releasever"] = "22.03"
b.conf.substitutions["basearch"] = "aarch64"
b.read_all_repos()
print(json.dumps({r.id: {"baseurl": list(r.baseurl), "gpgkey": list(r.gpgkey),
                         "gpgcheck": r.gpgcheck, "enabled": r.enabled} for r in b.repos.values()}))
"""


def _dnf_reads(repos: Path) -> dict[str, dict[str, object]]:
    _need_root_tool("/usr/bin/python3")
    res = subprocess.run(["unshare", "--net", "/usr/bin/python3", "-c", DNF_READ, str(repos)],
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    if "No module named 'dnf'" in res.stderr:
        pytest.fail("python3-dnf is not installed: `make deps` installs dnf", pytrace=False)
    assert res.returncode == 0, res.stderr
    data: dict[str, dict[str, object]] = json.loads(res.stdout)
    return data


def test_dnf_reads_the_rendered_repo_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "wanka-mirror.repo").write_text(_rendered(LAB)["mirror/openeuler-aarch64.repo"])
    got = _dnf_reads(tmp_path)
    url = "http://10.90.0.6:8080/openeuler/22.03-LTS-SP4/everything/aarch64/"
    assert got == {
        "wanka-mirror": {"baseurl": [url], "gpgkey": [url + "RPM-GPG-KEY-openEuler"],
                         "gpgcheck": True, "enabled": True}
    }  # fmt: skip
    # the same parser reads the captured files: ours is read as theirs are
    real = tmp_path / "real"
    real.mkdir()
    shutil.copy(FIXTURES / "openEuler.repo", real)
    assert set(_dnf_reads(real)) == {"OS", "everything"}
    # a file moved aside (not *.repo in the reposdir) is not read
    (tmp_path / "aside").mkdir()
    shutil.move(real / "openEuler.repo", tmp_path / "aside" / "openEuler.repo")
    assert _dnf_reads(real) == {}


def test_apt_reads_the_rendered_sources(tmp_path: Path) -> None:
    _need_root_tool("apt-get")
    path = _variant(tmp_path, 'os: {name: Ubuntu, version: "22.04 LTS"}',
                    'ubuntu: {aarch64: "http://10.90.0.6:8080/ubuntu-ports"}')  # fmt: skip
    out = _rendered(path)
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "wanka-mirror.sources").write_text(out["mirror/ubuntu-aarch64.sources"])
    (tmp_path / "lists/partial").mkdir(parents=True)
    opts = [f"Dir::Etc::SourceList={os.devnull}", f"Dir::Etc::SourceParts={parts}",
            f"Dir::State::Lists={tmp_path / 'lists'}", f"Dir::Cache={tmp_path / 'cache'}",
            "APT::Architecture=arm64", "Acquire::Retries=0"]  # fmt: skip
    argv = ["unshare", "--net", "apt-get", *[x for o in opts for x in ("-o", o)], "update"]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    text = res.stdout + res.stderr
    assert "Malformed" not in text and "E: Type" not in text, text
    for suite in ("jammy", "jammy-updates", "jammy-security"):  # each suite, at the mirror
        assert f"http://10.90.0.6:8080/ubuntu-ports {suite} Release" in text, text
    assert "Network is unreachable" in text  # it tried, and nothing left the namespace
    gv = yaml.safe_load(out["ansible/group_vars/all/software.yml"])["wanka_mirror"]
    ubuntu = gv["families"]["ubuntu"]
    assert ubuntu["repositories"] == {"aarch64": "mirror/ubuntu-aarch64.sources"}
    assert ubuntu["dest"] == "/etc/apt/sources.list.d/wanka-mirror.sources"


def test_the_roles_read_the_mirror_or_none() -> None:
    gv = yaml.safe_load(_rendered(LAB)["ansible/group_vars/all/software.yml"])["wanka_mirror"]
    assert gv["ascend"] == "http://10.90.0.6:8080/ascend/"
    assert len(gv["sha256"]) == 4 and all(len(h) == 64 for h in gv["sha256"].values())
    plain = _rendered(ROOT / "examples/lab-mini/cluster.yaml")
    assert yaml.safe_load(plain["ansible/group_vars/all/software.yml"])["wanka_mirror"] is None
    assert not [p for p in plain if p.startswith("mirror/")]


@pytest.mark.parametrize(
    ("os_line", "repo_line", "expected"),
    [
        ('os: {name: Ubuntu, version: "23.10"}', 'ubuntu: {aarch64: "http://10.90.0.6/u/"}',
         "SW-MIRROR-OS: Ubuntu '23.10': no APT suite is known"),
        ('os: {name: Kylin, version: "V10"}', 'openeuler: {aarch64: "http://10.90.0.6/o/"}',
         "SW-MIRROR-COVER: no kylin aarch64 repository in software.mirror"),
        (OS_LINE, 'openeuler: {aarch64: "http://10.90.0.6/o/?x=1"}',
         "SW-MIRROR-URL: software.mirror.repositories.openeuler.aarch64"),
        (OS_LINE, 'openeuler: {aarch64: "http://10.90.0.6:99999/o/"}',
         "SW-MIRROR-URL: software.mirror.repositories.openeuler.aarch64"),
    ],
)  # fmt: skip
def test_mirror_rules(tmp_path: Path, os_line: str, repo_line: str, expected: str) -> None:
    r = check(str(_variant(tmp_path, os_line, repo_line)))
    got = [f"{f.rule}: {f.message}" for f in r.findings]
    assert any(g.startswith(expected) for g in got), got


@pytest.mark.parametrize(
    ("host", "refused"),
    [
        ("10.90.0.6:8080", None),  # lab-mirror's: a free address of the servers' subnet
        ("10.90.0.2:8080", "held by a device of the lab"),  # a server's management address
        ("10.90.0.1:8080", "held by a device of the lab"),  # the subnet's gateway (jump host)
        ("10.91.0.6:8080", "in no management subnet of the lab"),
        ("mirror.example:8080", "not at the name 'mirror.example'"),
    ],
)
def test_the_lab_serves_the_mirror_only_where_its_servers_reach_it(
    tmp_path: Path, host: str, refused: str | None
) -> None:
    from wanka.lab import mirror as lab_mirror
    from wanka.lab.provision import access_links

    text = LAB.read_text(encoding="utf-8").replace("10.90.0.6:8080", host)
    (tmp_path / "c.yaml").write_text(text, encoding="utf-8")
    d = derive(check(str(tmp_path / "c.yaml")))
    try:
        addr, port = lab_mirror._where(d)
        link = lab_mirror._link(d, access_links(d), addr)
    except lab_mirror.MirrorError as e:
        assert refused is not None and refused in str(e), str(e)
    else:
        assert refused is None and (str(addr), port) == ("10.90.0.6", 8080)
        assert link["network"] == "10.90.0.0/29"


def test_a_mixed_os_cluster_gets_each_os_familys_repository(tmp_path: Path) -> None:
    # lab-mixed-os's three types run openEuler (aarch64), Kylin (x86_64) and Ubuntu (aarch64)
    text = (ROOT / "tests/examples/positive/lab-mixed-os.yaml").read_text()
    mirror_yaml = (
        '      ubuntu: {name: Ubuntu, version: "22.04"}\n'
        "    mirror:\n"
        "      repositories:\n"
        "        openeuler: {aarch64: http://10.90.0.250/openeuler/aarch64/}\n"
        "        kylin: {x86_64: http://10.90.0.250/kylin/x86_64/}\n"
        "        ubuntu: {aarch64: http://10.90.0.250/ubuntu-ports/}\n"
    )
    text = text.replace('      ubuntu: {name: Ubuntu, version: "22.04"}\n', mirror_yaml, 1)
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    out = _rendered(path)
    files = sorted(p for p in out if p.startswith("mirror/"))
    assert files == [
        "mirror/kylin-x86_64.repo",
        "mirror/openeuler-aarch64.repo",
        "mirror/ubuntu-aarch64.sources",
    ]
    assert "Kylin V10 SP3" in out["mirror/kylin-x86_64.repo"]
    assert "Suites: jammy jammy-updates jammy-security" in out["mirror/ubuntu-aarch64.sources"]
    gv = yaml.safe_load(out["ansible/group_vars/all/software.yml"])["wanka_mirror"]
    assert {f: (e["manager"], e["repositories"]) for f, e in gv["families"].items()} == {
        "kylin": ("dnf", {"x86_64": "mirror/kylin-x86_64.repo"}),
        "openeuler": ("dnf", {"aarch64": "mirror/openeuler-aarch64.repo"}),
        "ubuntu": ("apt", {"aarch64": "mirror/ubuntu-aarch64.sources"}),
    }

    # each host finds its own family's entry through its wanka_os.distribution
    def host_oses(doc: object) -> list[dict[str, str]]:
        if isinstance(doc, dict):
            own = [doc["wanka_os"]] if isinstance(doc.get("wanka_os"), dict) else []
            return own + [o for v in doc.values() for o in host_oses(v)]
        return [o for v in doc for o in host_oses(v)] if isinstance(doc, list) else []

    inv = yaml.safe_load(out["ansible/inventory.yml"])
    assert {o["distribution"] for o in host_oses(inv)} == {"openeuler", "kylin", "ubuntu"}
