"""The report of a bring-up or verify run: JSON (per host, per check: pass/fail, the port,
the reason), JUnit XML for CI and a short human summary.

Input is the run's `RunResult` (see `wanka.bringup.results`); its `to_dict` is the JSON:

    {"ok": bool, "changed": int, "playbook": str, "phase": str | None,
     "hosts": {NAME: {"status": "ok" | "failed" | "unreachable" | "skipped",
                      "changed": int, "kind": "node" | "switch",
                      "failed": [{"check", "port", "reason"}],
                      "checks": [{"check", "port", "status", "reason"}]}},
     "summary": str, ...}

Everything here is a pure function of the result; `write` puts the three files side by side.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from wanka.bringup.results import HOST_STATUSES, Check, HostResult, RunResult

STATUSES = HOST_STATUSES


def summary(result: RunResult, *, limit: int = 20) -> str:
    """A few lines for people: counts per kind and status, changed=N, then each failed host
    with its failed checks (at most `limit` hosts listed)."""
    hosts = result.hosts
    head = f"wanka {result.playbook}" + (f" {result.phase}" if result.phase else "")
    parts = []
    for kind in ("node", "switch"):
        mine = [h for h in hosts.values() if h.kind == kind]
        if not mine:
            continue
        counts = Counter(h.status for h in mine)
        plural = {"node": "nodes", "switch": "switches"}[kind]
        text = f"{counts['ok']} of {len(mine)} {plural} ok"
        rest = [f"{counts[s]} {s}" for s in STATUSES[1:] if counts[s]]
        if rest:
            text += " (" + ", ".join(rest) + ")"
        parts.append(text)
    lines = [f"{head}: " + ("; ".join(parts) or "no hosts") + f"; changed={result.changed}"]
    bad = sorted(n for n, h in hosts.items() if h.status != "ok")
    for name in bad[:limit]:
        h = hosts[name]
        if h.failed:
            items = [f.id + (f" {f.port}" if f.port else "") + f": {f.reason}" for f in h.failed]
            lines.append(f"  {name} {h.status}: " + "; ".join(items[:8]))
            if len(items) > 8:
                lines[-1] += f"; and {len(items) - 8} more"
        else:
            lines.append(f"  {name} {h.status}")
    if len(bad) > limit:
        lines.append(f"  and {len(bad) - limit} more hosts not ok (see report.json)")
    return "\n".join(lines) + "\n"


def to_json(result: RunResult) -> str:
    return json.dumps(result.to_dict(), indent=1, sort_keys=True) + "\n"


def junit(result: RunResult) -> str:
    """JUnit XML: one test suite per host kind, one test case per host and check (and port);
    a host without check results (a bring-up) is one test case."""
    what = result.playbook
    suites = ET.Element("testsuites", name=f"wanka {what} {result.phase or 'all'}")
    by_kind: dict[str, list[str]] = {}
    for name in sorted(result.hosts):
        by_kind.setdefault(result.hosts[name].kind, []).append(name)
    for kind, names in sorted(by_kind.items()):
        suite = ET.SubElement(suites, "testsuite", name=f"{what}.{kind}s")
        tests = failures = skipped = 0
        for name in names:
            for c in _cases(what, result.hosts[name]):
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=name,
                    name=c.id + (f"[{c.port}]" if c.port else ""),
                )
                tests += 1
                if c.status == "fail":
                    failures += 1
                    ET.SubElement(case, "failure", message=c.reason[:500])
                elif c.status == "skip":
                    skipped += 1
                    ET.SubElement(case, "skipped", message=c.reason[:500])
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        suite.set("errors", "0")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def _cases(what: str, h: HostResult) -> list[Check]:
    """A host's test cases: its checks, its failures outside any check list (tasks, ssh,
    bmc), or else one case for the whole host."""
    cases = list(h.checks)
    checked = {(c.id, c.port) for c in cases}
    cases += [f for f in h.failed if (f.id, f.port) not in checked]
    if not cases:
        status = {"ok": "pass", "skipped": "skip"}.get(h.status, "fail")
        cases = [Check(id=what, status=status, reason=h.status)]  # type: ignore[arg-type]
    return cases


def write(
    result: RunResult, directory: str | os.PathLike[str], *, prefix: str = "verify"
) -> dict[str, Path]:
    """PREFIX-report.json, PREFIX-report.xml (JUnit) and PREFIX-summary.txt in `directory`;
    their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / f"{prefix}-report.json",
        "junit": out / f"{prefix}-report.xml",
        "summary": out / f"{prefix}-summary.txt",
    }
    paths["json"].write_text(to_json(result), encoding="utf-8")
    paths["junit"].write_text(junit(result), encoding="utf-8")
    paths["summary"].write_text(result.summary or summary(result), encoding="utf-8")
    return paths
