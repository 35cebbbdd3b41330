"""A cluster split over several files: merged in order, findings point into the right file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from wanka.pipeline import check

SZ = ROOT / "examples/shenzhen-14000p"


@pytest.fixture
def sz(tmp_path: Path) -> Path:
    out = tmp_path / "sz"
    shutil.copytree(SZ, out)
    return out


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def rules_at(result: object) -> set[tuple[str, str, int]]:
    return {
        (f.rule, Path(f.mark.file).name, f.mark.line)
        for f in result.findings  # type: ignore[attr-defined]
        if f.mark is not None
    }


def test_fragments_merge_in_include_order() -> None:
    r = check(str(SZ / "cluster.yaml"))
    assert not r.findings
    assert r.cluster is not None
    assert [p.name for p in r.cluster.phases] == ["p1", "p2"]
    assert {Path(f).name for f in r.cluster.files} == {
        "cluster.yaml",
        "phase2.yaml",
        "manifest.yaml",
    }
    excluded = [n.name for n in r.cluster.nodes if n.excluded]
    assert excluded == ["sz1-p1-pod03-r07-s02"]


def test_semantic_error_in_a_fragment_points_into_the_fragment(sz: Path) -> None:
    p2 = sz / "phase2.yaml"
    p2.write_text(
        p2.read_text().replace("type: superpod-hygon, count: 39", "type: superpod-hygn, count: 39")
    )
    r = check(str(sz / "cluster.yaml"))
    line = line_of(p2, "superpod-hygn")
    assert ("REF-UNRESOLVED", "phase2.yaml", line) in rules_at(r)
    f = next(f for f in r.findings if f.rule == "REF-UNRESOLVED")
    assert f.hint == "did you mean 'superpod-hygon'?"


def test_schema_error_in_a_fragment_points_into_the_fragment(sz: Path) -> None:
    man = sz / "manifest.yaml"
    man.write_text(man.read_text().replace('serial: "2102315HJK10P5000002"', 'serail: "X"'))
    r = check(str(sz / "cluster.yaml"))
    assert ("SCHEMA-UNKNOWN-KEY", "manifest.yaml", line_of(man, "serail")) in rules_at(r)


def test_a_key_set_in_two_files_is_a_conflict(sz: Path) -> None:
    man = sz / "manifest.yaml"
    man.write_text(man.read_text() + "  capacity:\n    precision: fp16\n")
    r = check(str(sz / "cluster.yaml"))
    f = next(f for f in r.findings if f.rule == "INCLUDE-CONFLICT")
    assert Path(f.mark.file).name == "manifest.yaml"
    assert f.mark.line == line_of(man, "precision: fp16")
    assert "cluster.yaml:" in f.message


def test_duplicate_manifest_serial_across_files_names_both_places(sz: Path) -> None:
    man = sz / "manifest.yaml"
    man.write_text(man.read_text().replace('"2102315HJK10P5000002"', '"2102315HJK10P5000001"'))
    r = check(str(sz / "cluster.yaml"))
    f = next(f for f in r.findings if f.rule == "MANIFEST-DUPLICATE")
    assert f.mark.line == line_of(man, '"2102315HJK10P5000001"') + 4
    assert f"manifest.yaml:{line_of(man, '2102315HJK10P5000001')}" in f.message


@pytest.mark.parametrize(
    ("include", "rule", "unreadable"),
    [
        ("/etc/passwd", "INCLUDE-PATH", False),
        ("missing.yaml", "LOAD-NOT-FOUND", True),
    ],
)
def test_bad_include_paths(sz: Path, include: str, rule: str, unreadable: bool) -> None:
    main = sz / "cluster.yaml"
    main.write_text(
        main.read_text().replace("  - manifest.yaml", f"  - manifest.yaml\n  - {include}")
    )
    r = check(str(main))
    assert rule in {f.rule for f in r.findings}
    assert r.unreadable is unreadable


def test_a_whole_cluster_cannot_be_included(sz: Path) -> None:
    man = sz / "manifest.yaml"
    man.write_text(man.read_text().replace("kind: ClusterFragment", "kind: Cluster"))
    r = check(str(sz / "cluster.yaml"))
    assert "INCLUDE-KIND" in {f.rule for f in r.findings}


def test_fragments_cannot_include(sz: Path) -> None:
    man = sz / "manifest.yaml"
    man.write_text(
        man.read_text().replace("kind: ClusterFragment", "kind: ClusterFragment\ninclude: [x.yaml]")
    )
    r = check(str(sz / "cluster.yaml"))
    assert ("SCHEMA-SIZE", "manifest.yaml", line_of(man, "include:")) in rules_at(r)


def test_a_fragment_validated_alone_gets_its_schema_checked(sz: Path) -> None:
    r = check(str(sz / "manifest.yaml"))
    assert r.fragment and not r.findings
    man = sz / "manifest.yaml"
    man.write_text(man.read_text().replace("serial:", "serail:", 1))
    r = check(str(man))
    assert [f.rule for f in r.findings] == ["SCHEMA-UNKNOWN-KEY"]


def test_every_a3_die_needs_a_parameter_address(sz: Path) -> None:
    """400 leaves x 48 ports x 2 dies: a /17 fits the ports (400 x /26), not the dies (/25s)."""
    main = sz / "cluster.yaml"
    main.write_text(main.read_text().replace("cidr: 10.0.0.0/16", "cidr: 10.0.0.0/17"))
    r = check(str(main))
    f = next(f for f in r.findings if f.rule == "NET-CIDR-SIZE")
    assert "needs 51,200 addresses (400 leaf subnets), it has 32,768" in f.message
    assert f.mark.line == line_of(main, "cidr: 10.0.0.0/17")
