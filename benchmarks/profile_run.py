"""Where a bring-up or verify run spent its time, from the events ansible-runner kept.

    python benchmarks/profile_run.py RUN_DIR [--top N] [--json]

RUN_DIR is a run directory (`wanka bringup --out RUN_DIR`) or one artifacts directory of it
(RUN_DIR/runner/artifacts/<ident>); the newest run in it (by its ident, a time) is read.
Ansible's linear strategy runs one task on every host before the next task starts, so a run's
wall time is the sum over its tasks of each task's span: from its `playbook_on_task_start`
event to the next task's (the last task: to the stats). Printed: the run's wall time; per role
the tasks, the span and how many host results were ok, changed, skipped; the longest tasks
with their action; and the time between tasks (span minus the slowest host's own duration:
Ansible's per-task overhead, templating, the callback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any


def _when(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def artifacts(path: Path) -> Path:
    """The artifacts directory of the newest run in `path`."""
    if (path / "job_events").is_dir():
        return path
    found = sorted((p.parent for p in path.rglob("job_events")), key=lambda p: p.name)
    if not found:
        raise SystemExit(f"profile_run: no job_events below {path}")
    return found[-1]


def events(where: Path) -> list[dict[str, Any]]:
    out = []
    for f in (where / "job_events").glob("*.json"):
        e = json.loads(f.read_text(encoding="utf-8"))
        if "created" in e:
            out.append(e)
    return sorted(out, key=lambda e: e.get("counter", 0))


def profile(where: Path) -> dict[str, Any]:
    evs = events(where)
    starts = [e for e in evs if e["event"] == "playbook_on_task_start"]
    end = _when(evs[-1]["created"])
    tasks: list[dict[str, Any]] = []
    for i, s in enumerate(starts):
        data = s["event_data"]
        stop = _when(starts[i + 1]["created"]) if i + 1 < len(starts) else end
        tasks.append({
            "uuid": data.get("task_uuid") or s.get("uuid"),
            "task": data.get("task", ""),
            "role": data.get("role", "") or "(play)",
            "action": data.get("task_action", ""),
            "span_s": round(stop - _when(s["created"]), 3),
            "ok": 0, "changed": 0, "skipped": 0, "failed": 0, "slowest_host_s": 0.0,
        })  # fmt: skip
    by_uuid = {t["uuid"]: t for t in tasks}
    for e in evs:
        kind = e["event"]
        if not kind.startswith("runner_on_") or kind == "runner_on_start":
            continue
        data = e["event_data"]
        t = by_uuid.get(data.get("task_uuid"))
        if t is None:
            continue
        res = data.get("res") or {}
        status = kind.removeprefix("runner_on_")
        if status == "ok" and res.get("changed"):
            status = "changed"
        if status in t:
            t[status] += 1
        t["slowest_host_s"] = max(t["slowest_host_s"], float(data.get("duration") or 0))
    roles: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"tasks": 0, "span_s": 0.0, "ok": 0, "changed": 0, "skipped": 0, "ran": 0}
    )
    for t in tasks:
        r = roles[t["role"]]
        r["tasks"] += 1
        r["span_s"] = round(r["span_s"] + t["span_s"], 2)
        for k in ("ok", "changed", "skipped"):
            r[k] += t[k]
        r["ran"] += t["skipped"] < t["ok"] + t["changed"] + t["skipped"]
    wall = end - _when(evs[0]["created"])
    between = sum(max(0.0, t["span_s"] - t["slowest_host_s"]) for t in tasks)
    return {
        "artifacts": str(where),
        "wall_s": round(wall, 1),
        "tasks": len(tasks),
        "tasks_all_skipped": sum(1 for t in tasks if t["ok"] + t["changed"] == 0),
        "host_results": sum(t["ok"] + t["changed"] + t["skipped"] + t["failed"] for t in tasks),
        "between_tasks_s": round(between, 1),
        "roles": dict(roles),
        "tasks_by_span": sorted(tasks, key=lambda t: -t["span_s"]),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    p = profile(artifacts(args.run_dir))
    if args.json:
        print(json.dumps(p, indent=1))
        return 0
    print(f"{p['artifacts']}: {p['wall_s']} s, {p['tasks']} tasks "
          f"({p['tasks_all_skipped']} skipped on every host), {p['host_results']} host results, "
          f"{p['between_tasks_s']} s between tasks")  # fmt: skip
    print(f"{'role':<14} {'tasks':>5} {'span':>8} {'ok':>4} {'chg':>4} {'skip':>4}")
    for name, r in sorted(p["roles"].items(), key=lambda kv: -kv[1]["span_s"]):
        print(f"{name:<14} {r['tasks']:>5} {r['span_s']:>7.1f}s {r['ok']:>4} "
              f"{r['changed']:>4} {r['skipped']:>4}")  # fmt: skip
    print(f"\nlongest {args.top} tasks (span; slowest host; action):")
    for t in p["tasks_by_span"][: args.top]:
        print(f"{t['span_s']:>7.2f}s {t['slowest_host_s']:>6.2f}s  {t['role']}: {t['task']} "
              f"[{t['action']}] ok={t['ok']} chg={t['changed']} skip={t['skipped']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
