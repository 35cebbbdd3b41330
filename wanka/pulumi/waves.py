"""`wanka preview|up|refresh|destroy|drift`: a phase's stacks through the real engine, in
dependency waves.

The stacks of a phase (`shards`) are put in waves: a stack goes in the first wave after every
stack of the phase it reads through a StackReference (a sharded phase: its fabric stack, then
all its pod stacks). Stacks of other phases it reads must be deployed already (their phase
first). Each wave runs `jobs` stacks at a time, each in a process of its own (the SDK's
inline programs keep global state, one program a process); `destroy` runs the waves in
reverse. `refresh` reads every resource back from its device and records it; `refresh` on a
job of `up` or `preview` does that first (`pulumi up|preview --refresh`: a preview records
nothing); `drift` is a refresh preview whose engine events become `wanka.pulumi.drift`
findings. When a stack fails, the wave's stacks still running finish, none is started after
it, and the command exits 1: running it again resumes, since a stack already done reports
no changes.

Each stack runs with the project directory (`stacks/`) as its working directory and its
`Pulumi.<stack>.yaml` there as its configuration (the cluster file relative to it, as
`wanka plan --pulumi --stack-files` writes it), so `wanka up` and `cd stacks && pulumi up`
record the same inputs. The BMC password comes from where the cluster file says: an
environment variable or a file (`{env: NAME}`, `{file: PATH}`, read by wanka.credentials) is
set as the stack's secret `wanka:bmcPassword`; a `{pulumi: KEY}` password must already be in
the stack's configuration.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from wanka import credentials
from wanka.derive.bundle import Derived
from wanka.pulumi.shards import Shard, shards

OPS = ("preview", "up", "refresh", "destroy", "drift")


@dataclass(slots=True)
class Job:
    """One stack operation, as a worker process gets it."""

    op: str
    stack: str
    work_dir: str
    config: dict[str, str]
    secret: list[str]
    log: str  # the engine's output goes here
    refresh: bool = False  # up, preview: refresh the state first


@dataclass(slots=True)
class Outcome:
    stack: str
    op: str
    ok: bool
    changes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""
    drift: list[Any] = field(default_factory=list)  # drift: wanka.pulumi.drift.Finding


def waves(d: Derived, phase: str) -> list[list[Shard]]:
    """The phase's stacks in dependency order: each wave reads only stacks of earlier waves
    (or of other phases)."""
    mine = shards(d, phase)
    names = {s.stack for s in mine}
    done: set[str] = set()
    out: list[list[Shard]] = []
    while len(done) < len(mine):
        wave = [
            s
            for s in mine
            if s.stack not in done and all(r in done or r not in names for r in s.references)
        ]
        if not wave:  # a cycle: shards never make one
            raise ValueError(f"stacks of phase {phase} read each other in a cycle")
        out.append(wave)
        done.update(s.stack for s in wave)
    return out


def stack_config(d: Derived, shard: Shard, cluster: str, extra: dict[str, str]) -> dict[str, str]:
    """The configuration `wanka` sets on a stack; the BMC password (wanka:bmcPassword) when
    the stack has servers and the cluster file's reference is an environment variable or a
    file (a `{pulumi: KEY}` one the stack reads itself); CredentialError naming the reference
    when it cannot be read."""
    config = {"wanka:cluster": cluster, "wanka:phase": shard.phase}
    if shard.pod is not None:
        config["wanka:pod"] = shard.pod
    config.update(extra)
    cred = d.cluster.credentials.get("bmc")
    password = cred.password if cred is not None else None
    if shard.nodes and password is not None and password.source in credentials.READABLE:
        what = f"{shard.stack}: BMC password (the cluster file's credentials.bmc)"
        config["wanka:bmcPassword"] = credentials.resolve(password, what)
    return config


def run_job(job: Job) -> Outcome:
    """In a worker process: one operation on one stack, the engine's output in `job.log`."""
    from pulumi import automation as auto

    from wanka.pulumi.engine import Engine, EngineError

    os.chdir(job.work_dir)  # the stack file's paths are relative to the project directory
    started = time.monotonic()
    with open(job.log, "w", encoding="utf-8") as log:

        def write(line: str) -> None:
            log.write(line if line.endswith("\n") else line + "\n")
            log.flush()

        try:
            st = Engine(work_dir=Path(job.work_dir)).stack(
                job.stack, job.config, secret=set(job.secret)
            )
            kw: dict[str, Any] = {"on_output": write, "color": "never"}
            if job.refresh and job.op in ("up", "preview"):
                kw["refresh"] = True
            found: list[Any] = []
            if job.op in ("preview", "drift"):
                events: list[Any] = []
                if job.op == "drift":
                    kw.update(refresh=True, on_event=events.append)
                changes = dict(st.preview(**kw).change_summary)
                if job.op == "drift":
                    from wanka.pulumi.drift import findings

                    found = findings(job.stack, events)
            else:
                result = getattr(st, job.op)(show_secrets=False, **kw)
                changes = dict(result.summary.resource_changes or {})
        except (auto.CommandError, EngineError) as e:
            write(str(e))
            return Outcome(job.stack, job.op, False, seconds=_since(started), error=_reason(e))
    counts = {k: int(v) for k, v in changes.items()}
    return Outcome(job.stack, job.op, True, counts, _since(started), drift=found)


def _since(t: float) -> float:
    return round(time.monotonic() - t, 1)


def _reason(e: BaseException) -> str:
    """The first error line the engine printed (the whole output is in the log)."""
    for line in str(e).splitlines():
        s = line.strip()
        if s.startswith("error:") and "update failed" not in s:
            return s[len("error:") :].strip()
    return str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__


def run_waves(
    plan: list[list[Job]],
    jobs: int,
    progress: Callable[[str], None],
    keep_going: bool = False,
) -> list[Outcome]:
    """Run the waves in order, `jobs` stacks at a time; stop after the wave where one failed
    (`keep_going`: a wave's other stacks still start, for reads that change nothing)."""
    outcomes: list[Outcome] = []
    ctx = get_context("spawn")  # a fresh interpreter per worker: no state of this one
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx) as pool:
        for i, wave in enumerate(plan, 1):
            progress(f"wave {i}/{len(plan)}: {', '.join(j.stack for j in wave)}")
            failed = _run_wave(pool, wave, jobs, progress, outcomes, keep_going)
            if failed:
                rest = [j.stack for w in plan[i:] for j in w]
                if rest:
                    progress(f"stopped: not started {', '.join(rest)}")
                break
    return outcomes


def _run_wave(
    pool: ProcessPoolExecutor,
    wave: list[Job],
    jobs: int,
    progress: Callable[[str], None],
    outcomes: list[Outcome],
    keep_going: bool = False,
) -> bool:
    pending = list(wave)
    running: dict[Future[Outcome], Job] = {}
    failed = False
    while pending or running:
        while pending and len(running) < jobs and (keep_going or not failed):
            job = pending.pop(0)
            progress(f"  {job.stack}: {job.op} ... (log {job.log})")
            running[pool.submit(run_job, job)] = job
        if not running:
            break
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for f in done:
            job = running.pop(f)
            o = f.result()
            outcomes.append(o)
            if o.ok:
                shown = ", ".join(f"{n} {k}" for k, n in sorted(o.changes.items())) or "nothing"
                progress(f"  {o.stack}: {o.op} done in {o.seconds} s: {shown}")
            else:
                failed = True
                progress(f"  {o.stack}: {o.op} FAILED after {o.seconds} s: {o.error}")
    for job in pending:
        progress(f"  {job.stack}: not started (a stack of this wave failed)")
    return failed
