"""`wanka plan --pulumi`: the resources each stack would create, without the Pulumi CLI.

Each stack's program (`stack.main`, the one `pulumi up` runs) is run in this process under the
SDK's mocks (`pulumi.runtime.set_mocks`) with its stack configuration; a recording monitor
keeps every registration: type, name, parent, dependencies and the serialised inputs (secrets
still wrapped, so tests can check that no secret leaks), and each stack's exported outputs.
Mocks answer a resource with its inputs as outputs and a StackReference with the outputs a
deployed stack would export.

Only the SDK's public API for programs under mocks is used: `reset_options` (a new root
Stack resource per stack), `set_mocks` with a `MockMonitor` of our own (its `monitor`
parameter), `test` (runs the program, waits for every output), and the root Stack's
`register_outputs` for the exports (set_mocks registered the root before the program ran).
The secret signature is the one constant the Python SDK keeps private (see SECRET_SIG).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from wanka.derive.bundle import Derived
from wanka.pulumi.shards import Shard, shards

PROJECT = "wanka"
ORGANIZATION = "organization"  # the DIY (file) backend's organisation
PREVIEW_PASSWORD = "wanka-preview-not-a-password"
# a secret's signature in the engine's wire format: public in the Go SDK (sig.Secret,
# sdk/go/common/resource/sig), private in Python's (pulumi.runtime.rpc._special_secret_sig)
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SHORT_TYPES = {
    "pulumi-python:dynamic/wanka:BareMetalNode": "BareMetalNode",
    "pulumi-python:dynamic/wanka:SwitchConfig": "SwitchConfig",
    "pulumi-python:dynamic/wanka:BringupBatch": "BringupBatch",
    "wanka:cluster:Pod": "Pod",
    "wanka:cluster:Rack": "Rack",
    "pulumi:pulumi:StackReference": "StackReference",
    "pulumi:pulumi:Stack": "Stack",
}


@dataclass(slots=True)
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    dependencies: list[str]
    inputs: dict[str, Any]  # JSON form of the request: a secret is {SECRET_SIG-key: ..., value}
    secret_outputs: list[str] = field(default_factory=list)  # additional_secret_outputs

    @property
    def short_type(self) -> str:
        return SHORT_TYPES.get(self.type, self.type)


@dataclass(slots=True)
class StackRun:
    shard: Shard
    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # by URN: registered outputs
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.short_type for r in self.resources).items()))


def _recorder(mocks: Any, run: StackRun) -> Any:
    from google.protobuf import json_format
    from pulumi.runtime.mocks import MockMonitor

    class Recorder(MockMonitor):  # type: ignore[misc]
        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
            response = super().RegisterResource(request)
            run.resources.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=bool(request.custom),
                    dependencies=sorted(request.dependencies),
                    inputs=json_format.MessageToDict(request.object),
                    secret_outputs=sorted(request.additionalSecretOutputs),
                )
            )
            return response

        def ReadResource(self, request: Any) -> Any:  # noqa: N802 (StackReference reads)
            response = super().ReadResource(request)
            run.resources.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=True,
                    dependencies=sorted(request.dependencies),
                    inputs=json_format.MessageToDict(request.properties),
                )
            )
            return response

        def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
            run.outputs[request.urn] = json_format.MessageToDict(request.outputs)
            return super().RegisterResourceOutputs(request)

    return Recorder(mocks)


def _mocks(d: Derived) -> Any:
    import pulumi

    fabric = {s.stack: [x.name for x in s.switches] for s in shards(d)}

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
            if args.typ == "pulumi:pulumi:StackReference":
                return args.name, {
                    "name": args.inputs.get("name"),
                    "outputs": {"fabric": fabric.get(args.name, []), "nodes": 0},
                    "secretOutputNames": [],
                }
            return args.name, dict(args.inputs)

        def call(self, args: Any) -> tuple[dict[str, Any], None]:
            return {}, None

    return Mocks()


def config_of(shard: Shard, cluster: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    config = {"wanka:cluster": cluster, "wanka:phase": shard.phase}
    if shard.pod is not None:
        config["wanka:pod"] = shard.pod
    config.setdefault("wanka:bmcPassword", PREVIEW_PASSWORD)
    config.update(extra or {})
    return config


def run_stack(
    d: Derived,
    cluster: str,
    shard: Shard,
    extra: dict[str, str] | None = None,
    program: Callable[[], None] | None = None,
) -> StackRun:
    """Run one stack's program under mocks; every registration recorded. `program`: what to
    run instead of `stack.main(d)` (the tests run stacks/__main__.py itself)."""
    import pulumi

    run = StackRun(shard)
    monitor = _recorder(_mocks(d), run)
    config = config_of(shard, cluster, extra)
    cred = d.cluster.credentials.get("switch")
    if cred is not None and cred.password is not None and cred.password.source == "pulumi":
        key = cred.password.name  # `{pulumi: KEY}`: the switch password's config key
        config.setdefault(key if ":" in key else f"{PROJECT}:{key}", PREVIEW_PASSWORD)
    start = time.perf_counter()
    # no root Stack resource: set_mocks makes a new one for this stack
    pulumi.runtime.reset_options(
        project=PROJECT, stack=shard.stack, preview=True, organization=ORGANIZATION
    )
    pulumi.runtime.set_mocks(
        monitor.mocks,
        project=PROJECT,
        stack=shard.stack,
        preview=True,
        monitor=monitor,
        organization=ORGANIZATION,
    )
    secret = [k for k in config if k.endswith(("Password", "password"))]
    pulumi.runtime.set_all_config(config, secret)
    try:  # the SDK's runner for programs under mocks: runs it, waits for every output
        pulumi.runtime.test(lambda: _program(d, program))()
    finally:
        pulumi.runtime.set_all_config({})
        pulumi.runtime.reset_options()
    run.resources.sort(key=lambda x: x.urn)
    run.seconds = time.perf_counter() - start
    return run


def _program(d: Derived, program: Callable[[], None] | None) -> None:
    import pulumi

    from wanka.pulumi import stack

    if program is None:
        stack.main(d)
    else:
        program()
    # the exports (pulumi.export) are kept on the root Stack resource, which set_mocks
    # registered before the program ran: register them now, as the engine's run does
    root = pulumi.runtime.get_root_resource()
    if isinstance(root, pulumi.ComponentResource):
        root.register_outputs(dict(getattr(root, "outputs", {})))


def preview(
    d: Derived, cluster: str, phase: str | None = None, extra: dict[str, str] | None = None
) -> list[StackRun]:
    return [run_stack(d, cluster, s, extra) for s in shards(d, phase)]


def as_json(runs: list[StackRun]) -> dict[str, Any]:
    return {
        "project": PROJECT,
        "stacks": [
            {
                "stack": r.shard.stack,
                "phase": r.shard.phase,
                "pod": r.shard.pod,
                "references": r.shard.references,
                "total": len(r.resources),
                "counts": r.counts(),
                "resources": [
                    {
                        "type": x.short_type,
                        "name": x.name,
                        "parent": x.parent.rpartition("::")[2] or None,
                        "depends_on": [u.rpartition("::")[2] for u in x.dependencies],
                    }
                    for x in r.resources
                ],
            }
            for r in runs
        ],
    }


def write_text(runs: list[StackRun], out: TextIO, *, color: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    kinds = ["BareMetalNode", "SwitchConfig", "BringupBatch", "Pod", "Rack", "StackReference"]
    table = Table(title="Pulumi stacks (computed with the SDK's mocks)", title_justify="left")
    table.add_column("stack")
    table.add_column("shard")
    for k in kinds:
        table.add_column(k, justify="right")
    table.add_column("total", justify="right")
    table.add_column("reads")
    totals: Counter[str] = Counter()
    for r in runs:
        counts = r.counts()
        totals.update(counts)
        table.add_row(
            r.shard.stack,
            r.shard.pod or "whole phase",
            *(f"{counts.get(k, 0):,}" for k in kinds),
            f"{len(r.resources):,}",
            ", ".join(r.shard.references) or "-",
        )
    table.add_row(
        "all",
        f"{len(runs)} stack{'s' if len(runs) != 1 else ''}",
        *(f"{totals.get(k, 0):,}" for k in kinds),
        f"{sum(len(r.resources) for r in runs):,}",
        "",
        style="bold",
    )
    console = Console(file=out, force_terminal=color, no_color=not color, width=160)
    console.print(table)


def dumps(runs: list[StackRun]) -> str:
    return json.dumps(as_json(runs), indent=2, sort_keys=True) + "\n"


def plan_command(d: Derived, args: Any) -> int:
    """`wanka plan --pulumi FILE [--phase P] [--format json] [--stack-files DIR]`."""
    import sys
    from pathlib import Path

    import pulumi

    from wanka.pulumi.shards import merge, stack_files

    if args.stack_files:
        project = Path(args.stack_files)
        if not (project / "Pulumi.yaml").is_file():
            print(
                f"wanka plan: {project} is not a Pulumi project (no Pulumi.yaml): give the "
                "project directory, e.g. stacks/",
                file=sys.stderr,
            )
            return 2
        files = stack_files(d, Path(args.file), project)
        for name, text in files.items():
            target = project / name
            if target.exists():  # keep the secrets and settings Pulumi or people added
                text = merge(target.read_text(encoding="utf-8"), text)
            target.write_text(text, encoding="utf-8")
        print(f"wanka plan: wrote {len(files)} stack files to {project}", file=sys.stderr)
    try:
        runs = preview(d, args.file, args.phase)
    except pulumi.RunError as e:
        print(f"wanka plan: {e}", file=sys.stderr)
        return 1
    if args.format == "json":
        sys.stdout.write(dumps(runs))
    else:
        write_text(runs, sys.stdout, color=sys.stdout.isatty())
    return 0
