"""The report of a bring-up or verify run: JSON (per host, per check: pass/fail, the port,
the reason), JUnit XML for CI and a short human summary.

Input is the run's result (see `wanka.bringup.run.run`):

    {"ok": bool, "changed": int, "playbook": str, "phase": str | None,
     "hosts": {NAME: {"status": "ok" | "failed" | "unreachable" | "skipped",
                      "changed": int, "kind": "node" | "switch",
                      "failed": [{"check", "port", "reason"}],
                      "checks": [{"check", "port", "status", "reason"}]}},
     "summary": str}

Everything here is a pure function of that dict; `write` puts the three files side by side.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

STATUSES = ("ok", "failed", "unreachable", "skipped")


def summary(result: dict[str, Any], *, limit: int = 20) -> str:
    """A few lines for people: counts per kind and status, changed=N, then each failed host
    with its failed checks (at most `limit` hosts listed)."""
    hosts: dict[str, dict[str, Any]] = result["hosts"]
    what = result.get("playbook", "run")
    phase = result.get("phase")
    head = f"wanka {what}" + (f" {phase}" if phase else "")
    parts = []
    for kind in ("node", "switch"):
        mine = [h for h in hosts.values() if h.get("kind", "node") == kind]
        if not mine:
            continue
        counts = Counter(h["status"] for h in mine)
        plural = {"node": "nodes", "switch": "switches"}[kind]
        text = f"{counts['ok']} of {len(mine)} {plural} ok"
        rest = [f"{counts[s]} {s}" for s in STATUSES[1:] if counts[s]]
        if rest:
            text += " (" + ", ".join(rest) + ")"
        parts.append(text)
    lines = [f"{head}: " + ("; ".join(parts) or "no hosts") + f"; changed={result['changed']}"]
    bad = sorted(n for n, h in hosts.items() if h["status"] != "ok")
    for name in bad[:limit]:
        h = hosts[name]
        if h["failed"]:
            items = [
                f"{f['check']}" + (f" {f['port']}" if f.get("port") else "") + f": {f['reason']}"
                for f in h["failed"]
            ]
            lines.append(f"  {name} {h['status']}: " + "; ".join(items[:8]))
            if len(items) > 8:
                lines[-1] += f"; and {len(items) - 8} more"
        else:
            lines.append(f"  {name} {h['status']}")
    if len(bad) > limit:
        lines.append(f"  and {len(bad) - limit} more hosts not ok (see report.json)")
    return "\n".join(lines) + "\n"


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=1, sort_keys=True) + "\n"


def junit(result: dict[str, Any]) -> str:
    """JUnit XML: one test suite per host kind, one test case per host and check (and port);
    a host without check results (a bring-up) is one test case."""
    what = result.get("playbook", "run")
    phase = result.get("phase") or "all"
    suites = ET.Element("testsuites", name=f"wanka {what} {phase}")
    by_kind: dict[str, list[str]] = {}
    for name in sorted(result["hosts"]):
        by_kind.setdefault(result["hosts"][name].get("kind", "node"), []).append(name)
    for kind, names in sorted(by_kind.items()):
        suite = ET.SubElement(suites, "testsuite", name=f"{what}.{kind}s")
        tests = failures = skipped = 0
        for name in names:
            h = result["hosts"][name]
            cases = list(h.get("checks") or [])
            checked = {(c["check"], c.get("port", "")) for c in cases}
            for f in h["failed"]:  # failures outside any check list (tasks, ssh, bmc)
                if (f["check"], f.get("port", "")) not in checked:
                    cases.append({**f, "status": "fail"})
            if not cases:
                cases = [
                    {
                        "check": what,
                        "port": "",
                        "status": {"ok": "pass", "skipped": "skip"}.get(h["status"], "fail"),
                        "reason": h["status"],
                    }
                ]
            for c in cases:
                port = c.get("port") or ""
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=name,
                    name=c["check"] + (f"[{port}]" if port else ""),
                )
                tests += 1
                if c["status"] == "fail":
                    failures += 1
                    ET.SubElement(case, "failure", message=str(c.get("reason", ""))[:500])
                elif c["status"] == "skip":
                    skipped += 1
                    ET.SubElement(case, "skipped", message=str(c.get("reason", ""))[:500])
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        suite.set("errors", "0")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def write(
    result: dict[str, Any], directory: str | os.PathLike[str], *, prefix: str = "verify"
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
    paths["summary"].write_text(result.get("summary") or summary(result), encoding="utf-8")
    return paths
