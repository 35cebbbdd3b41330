"""NPU ports against cards, interface names, bonds, breakouts by tier, and the findings that
stand for many (NAME-LENGTH, FABRIC-NO-SPINE, NET-PIN-SUBNET): each one per cause."""

from __future__ import annotations

from pathlib import Path

from conftest import LAB, ROOT, cluster_text

from wanka.findings import Finding
from wanka.pipeline import check, derive

A3 = (ROOT / "tests/examples/positive/lab-a3-supernode.yaml").read_text(encoding="utf-8")


def findings(text: str, tmp_path: Path) -> list[Finding]:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return check(str(path)).findings


def of(found: list[Finding], rule: str) -> list[Finding]:
    return [f for f in found if f.rule == rule]


def line_of(text: str, needle: str) -> int:
    (line,) = [i for i, ln in enumerate(text.splitlines(), 1) if needle in ln]
    return line


def test_an_a3_server_with_a_port_per_die_is_refused(tmp_path: Path) -> None:
    # 16 ports on an 8-card 910C server, one per die: the two dies share the card's port
    text = A3.replace("param: {count: 8, speed: 400G}", "param: {count: 16, speed: 400G}")
    text = text.replace("rails: 8", "rails: 16")  # rails agree with the ports: not the cause
    (bad,) = of(findings(text, tmp_path), "NPU-PORTS")
    assert bad.message == (
        "model 'a3-phytium' has 16 ports on parameter plane 'param' for 8 cards (A3, 2 dies "
        "each): the parameter plane has one port per card, shared by its dies"
    )
    assert bad.mark is not None and bad.mark.line == line_of(text, "param: {count: 16")


def test_an_a3_server_with_a_port_per_card_has_two_devices_per_port() -> None:
    d = derive(check(str(ROOT / "tests/examples/positive/lab-a3-supernode.yaml")))
    server = next(n for n in d.cluster.nodes if n.model.accelerator is not None)
    devices = sorted(i for (n, p, i) in d.addressing.ports if n == server.name and p == "param")
    assert devices == list(range(16))
    assert len(server.port_names("param")) == 8


def test_a_host_without_npus_has_no_parameter_ports(tmp_path: Path) -> None:
    # the lab's servers, declared as CPU hosts (no cards) that keep their 8 parameter ports
    text = LAB.replace("        accelerator: {model: ascend-910b, count: 8}\n", "")
    text = text.replace("    servers:\n      a2-kunpeng:", "    hosts:\n      a2-kunpeng:")
    (bad,) = of(findings(text, tmp_path), "NPU-PORTS")
    assert bad.message == (
        "model 'a2-kunpeng' has no NPUs but 8 ports on parameter plane 'param': the parameter "
        "plane is the RoCE fabric between NPUs"
    )


def test_two_long_plane_names_are_refused_not_cut_to_one_bond(tmp_path: Path) -> None:
    # bond-mgmt-bonded-a and bond-mgmt-bonded-b were both cut to bond-mgmt-bonde
    text = LAB.replace(
        "      mgmt:\n        role: management", "      mgmt-bonded-a:\n        role: management"
    )
    text = text.replace(
        "          mgmt: {count: 2, speed: 25G}",
        "          mgmt-bonded-a: {count: 1, speed: 25G}\n"
        "          mgmt-bonded-b: {count: 1, speed: 25G}",
    )
    text = text.replace(
        "            - {plane: mgmt, tier: leaf, count: 1}",
        "            - {plane: mgmt-bonded-a, tier: leaf, count: 1}\n"
        "            - {plane: mgmt-bonded-b, tier: leaf, count: 1}",
    )
    text = text.replace(
        "  pod_types:",
        "      mgmt-bonded-b:\n        role: storage\n        cidr: 10.91.0.0/20\n"
        "        bonded: true\n        fabric: {tiers: 1, leaf: {model: lab-48x25g}}\n"
        "  pod_types:",
    )
    text = text.replace(
        'macs: {mgmt0: "02:00:00:11:02:02", mgmt1: "02:00:00:12:02:02"}', "macs: {}"
    )
    found = findings(text, tmp_path)
    assert [f.rule for f in found if f.severity.name == "ERROR"] == ["NAME-IFNAME", "NAME-IFNAME"]
    assert {f.message.split("'")[1] for f in found} == {"mgmt-bonded-a", "mgmt-bonded-b"}


def test_long_names_are_one_finding_per_declaration(tmp_path: Path) -> None:
    # long phase and pod names: every node and leaf name of the phase's 40 pods is too long
    phase, pod = "phaseonewithaverylongname", "computepodwithaverylongname"
    text = cluster_text([40]).replace("{name: pod, type: lab-pod", f"{{name: {pod}, type: lab-pod")
    text = text.replace("    - name: p1\n", f"    - name: {phase}\n")
    found = of(findings(text, tmp_path), "NAME-LENGTH")
    # one per declaration line (the servers, and each of the three leaf lines), not one per
    # name: 160 servers and 120 leaves
    assert [f.mark.line for f in found if f.mark] == [
        line_of(text, "{model: a2-kunpeng, count: 2}"),
        line_of(text, "{plane: param, tier: leaf"),
        line_of(text, "{plane: mgmt, tier: leaf"),
        line_of(text, "{plane: oob, tier: leaf"),
    ]
    first = f"lab-{phase}-{pod}01"
    assert found[0].message == (
        f"derived names '{first}-r01-s01', '{first}-r01-s02', '{first}-r02-s01' (and 157 more) "
        "are longer than 63 characters (the longest has 67)"
    )


def test_leaves_with_no_spine_are_one_finding_naming_the_pods(tmp_path: Path) -> None:
    text = cluster_text([1, 12]).replace("      depends_on: [p1]\n", "")
    (lone,) = of(findings(text, tmp_path), "FABRIC-NO-SPINE")
    assert lone.message == (
        "leaf switches of plane 'param' in pods 'lab-p2-pod01', 'lab-p2-pod02', "
        "'lab-p2-pod03' (and 9 more) have no spine to connect to"
    )


def test_npu_pins_are_checked_against_their_parameter_plane(tmp_path: Path) -> None:
    text = LAB.replace(
        '        macs: {mgmt0: "02:00:00:11:02:02", mgmt1: "02:00:00:12:02:02"}\n',
        '        macs: {mgmt0: "02:00:00:11:02:02", mgmt1: "02:00:00:12:02:02"}\n'
        "        addresses: {npu0: 10.200.0.5, npu1: 10.64.0.0}\n",
    )
    found = findings(text, tmp_path)
    assert [f.message for f in of(found, "NET-PIN-OUTSIDE")] == [
        "pinned address 10.200.0.5 (lab-p1-pod01-r02-s02 npu0) is outside plane 'param' "
        "10.64.0.0/16",
        "pinned address 10.64.0.0 (lab-p1-pod01-r02-s02 npu1) is the network or broadcast "
        "address of plane 'param'",
    ]
    assert of(found, "NET-PIN-SUBNET") == []  # the same cause is not reported twice


def test_wrong_pins_of_a_pod_are_one_finding_per_plane(tmp_path: Path) -> None:
    # three servers of pod01 get management pins inside the plane, outside the pod's subnet
    lines = []
    for i, (r, s) in enumerate([(1, 1), (1, 2), (2, 1)]):
        lines.append(
            f"      lab-p1-pod01-r0{r}-s0{s}: "
            f'{{serial: "S{i}", addresses: {{mgmt: 10.90.5.{i + 1}}}}}'
        )
    head = LAB[: LAB.index("      lab-p1-pod01-r01-s01:")]
    tail = LAB[LAB.index("      lab-p1-pod01-r02-s02:") :]
    text = head + "\n".join(lines) + "\n" + tail
    (wrong,) = of(findings(text, tmp_path), "NET-PIN-SUBNET")
    assert wrong.message == (
        "pinned address 10.90.5.1 of lab-p1-pod01-r01-s01 is not a host address of its subnet "
        "10.90.0.0/29 (lab-p1-pod01) (and 2 more pins of pod 'lab-p1-pod01' on plane 'mgmt' "
        "like it: 'lab-p1-pod01-r01-s02 mgmt 10.90.5.2', 'lab-p1-pod01-r02-s01 mgmt 10.90.5.3')"
    )
    assert wrong.mark is not None and wrong.mark.line == line_of(text, "mgmt: 10.90.5.1")
