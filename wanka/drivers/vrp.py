"""The applier of Huawei CloudEngine (VRP) switches: vrp.cfg pushed in VRP's two-stage mode with
a trial commit, verified while the trial runs, confirmed or rolled back.

The sequence is the production tools' (../shared/reference/vrp/: annet's `system-view ...
commit ... save`, Ansible ce_config's candidate handling and ce_rollback, napalm-ce's backup
and `rollback configuration`), on the two-stage manual's commands:

1. `screen-length 0 temporary` (gnetcli's session preparation); the running configuration
   (`display current-configuration`) and the newest commit id (`display configuration commit
   list`) recorded: what a failure goes back to;
2. the candidate: the rendered file with the switch's own management part (AAA, users, SSH,
   the management interface, routes: every system-view block wanka does not write, see
   OWNED) taken from the running configuration, so the replace never locks anyone out; put on
   the switch's flash (SFTP on a switch, the flash directory in the lab);
3. `system-view`, `load configuration file wanka.cfg replace`: an `Error:` line refuses it
   (`clear configuration candidate`; nothing changed); `display configuration candidate
   changes` is the diff: no `+`/`-` line, nothing is committed;
4. `commit trial SECONDS label wanka-N`; then the verification while the trial runs: every
   BGP peer of the file Established (`display bgp peer`), every routed port of the file up
   (`display interface brief`) and, when given (`lldp_neighbours`), each port's LLDP
   neighbour (`display lldp neighbor brief`), within `verify_s`; failing it, `abort trial`,
   and the running configuration checked to be the one recorded;
5. `commit` (the trial confirmed), the running configuration checked against the candidate,
   `return`, `save` (its `[Y/N]` answered).

Every `Error:` line, a `[Y/N]` question not expected (answered N), or a session lost before
the confirmation ends in the old configuration: the trial reverts by itself when it is not
confirmed in time, and where the session still answers the applier aborts the trial or rolls
back to the recorded commit id (`rollback configuration to commit-id ID`).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wanka.drivers import vrp_parse
from wanka.drivers.switch import Mismatch, Refused, Result, SwitchError

PROMPT = re.compile(r"(?:\r?\n|^)(<[/\w\-.:]+>|\[[~*]?[/\w\-.:]+\])$")  # gnetcli's prompt
QUESTION = re.compile(r"\[Y/N\]:?\s*$")
FILE = "wanka.cfg"
TRIAL_S = 120  # the command reference's own example
# the system-view blocks vrp.cfg writes: the rest of a running configuration is kept
OWNED = re.compile(
    r"^(sysname |port split |vlan batch |bfd$|lldp enable$|dcb pfc$|diffserv domain |"
    r"drop-profile |interface (\d*GE\d|Vlanif|LoopBack)|bgp |ip ip-prefix )"
)


class Cli(Protocol):
    """A VRP CLI session: a line in, what the switch printed before its next prompt out."""

    where: str

    def send(self, line: str, timeout: float = ...) -> str: ...

    def put_file(self, name: str, text: str) -> None: ...

    def close(self) -> None: ...


class _Reader:
    """Reads a session's output up to its next prompt (or a [Y/N] question)."""

    where: str

    def _read_some(self, timeout: float) -> bytes:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _until_prompt(self, timeout: float) -> str:
        buf = ""
        deadline = time.monotonic() + timeout
        while True:
            tail = buf[-200:]
            if PROMPT.search(tail) or QUESTION.search(tail):
                return buf
            left = deadline - time.monotonic()
            if left <= 0:
                raise SwitchError(f"{self.where}: no prompt within {timeout:g} s")
            chunk = self._read_some(left)
            if not chunk:
                raise SwitchError(f"{self.where}: the session ended")
            buf += chunk.decode(errors="replace").replace("\r", "")

    def send(self, line: str, timeout: float = 30.0) -> str:
        self._write(line.encode() + b"\n")
        out = self._until_prompt(timeout)
        lines = out.split("\n")
        if lines and lines[0].strip() == line.strip():  # a terminal's echo
            lines = lines[1:]
        return "\n".join(lines)


@dataclass
class Pipe(_Reader):
    """The lab's VRP CLI (wanka.lab.tools.vrp_cli) as a child process on pipes; its flash is a
    directory here."""

    argv: Sequence[str]
    flash: Path
    env: dict[str, str] | None = None
    where: str = "vrp cli"

    def __post_init__(self) -> None:
        self.p = subprocess.Popen(
            list(self.argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env
        )
        self._until_prompt(15)

    def _read_some(self, timeout: float) -> bytes:
        assert self.p.stdout is not None
        ready, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not ready:
            return b"" if self.p.poll() is not None else self._read_some(0.05)
        return os.read(self.p.stdout.fileno(), 65536)

    def _write(self, data: bytes) -> None:
        assert self.p.stdin is not None
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except BrokenPipeError:
            raise SwitchError(f"{self.where}: the session ended") from None

    def put_file(self, name: str, text: str) -> None:
        self.flash.mkdir(parents=True, exist_ok=True)
        (self.flash / name).write_text(text, encoding="utf-8")

    def close(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(5)
        for f in (self.p.stdin, self.p.stdout):
            if f is not None:
                f.close()


@dataclass
class SshCli(_Reader):
    """A VRP CLI session over SSH (paramiko, an interactive shell); files by SFTP. The host key
    is checked as by switch.Ssh (known_hosts, RejectPolicy)."""

    client: Any  # a connected paramiko.SSHClient (switch.Ssh._connect)
    where: str = "ssh"
    chan: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.chan = self.client.invoke_shell(width=400, height=0)
        self._until_prompt(15)

    def _read_some(self, timeout: float) -> bytes:
        self.chan.settimeout(timeout)
        try:
            return bytes(self.chan.recv(65536))
        except TimeoutError:
            raise SwitchError(f"{self.where}: no prompt within {timeout:g} s") from None

    def _write(self, data: bytes) -> None:
        self.chan.sendall(data)

    def put_file(self, name: str, text: str) -> None:
        sftp = self.client.open_sftp()
        try:
            with sftp.open(name, "w") as f:
                f.write(text)
        finally:
            sftp.close()

    def close(self) -> None:
        self.chan.close()


@dataclass
class _Closer:
    """A transport's close() for an applier made on a bare CLI session."""

    cli: Cli

    def close(self) -> None:
        self.cli.close()


def errors(out: str) -> list[str]:
    """The `Error:` lines of an answer (gnetcli's error expression: `Error:` or `Error[N]:`)."""
    return [ln.strip() for ln in out.splitlines() if re.match(r"\s*Error(\[\d+\])?:", ln)]


def _dump(out: str) -> str:
    """`display current-configuration` -> the configuration (header comments and `return`
    dropped)."""
    lines = [ln for ln in out.splitlines() if not ln.startswith("!")]
    while lines and lines[-1].strip() in ("", "return"):
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines) + "\n"


def changes(out: str) -> list[str]:
    """`display configuration candidate changes` (the command reference's shape: context lines
    two spaces in, `-`/`+` lines for what goes and comes) as `- view > command` lines."""
    context: list[str] = []
    delta = []
    for line in out.splitlines():
        if line.strip() == "#":  # a block ends: what follows is in the system view again
            context = []
        elif line.startswith("  "):
            depth = len(line) - 2 - len(line[2:].lstrip())
            del context[depth:]
            context.append(line.strip())
        elif line[:1] in "+-" and line[1:].strip():
            delta.append(f"{line[0]} " + " > ".join([*context, line[1:].strip()]))
    return delta


def compose(rendered: str, running: str) -> str:
    """The candidate: `running`'s system-view blocks vrp.cfg does not own, after `rendered`."""
    kept: list[list[str]] = []
    block: list[str] = []
    for line in running.splitlines():
        if line.strip() == "#" and not line.startswith(" "):
            if block:
                kept.append(block)
            block = []
            continue
        block.append(line)
    if block:
        kept.append(block)
    mine = [b for b in kept if b and not OWNED.match(b[0])]
    out = rendered.rstrip("\n").splitlines()
    if not out or out[-1] != "#":
        out.append("#")
    for b in mine:
        out.extend(b)
        out.append("#")
    return "\n".join(out) + "\n"


def same(a: str, b: str) -> bool:
    return vrp_parse.config(a).lines() == vrp_parse.config(b).lines()


Verify = Callable[["Vrp", str], str | None]


def bgp_established(v: Vrp, config: str) -> str | None:
    """None when every peer `config` names is Established; else which are not."""
    bgp = vrp_parse.config(config).find("bgp")
    want = {c.line.split()[1] for b in bgp for c in b.find("peer") if " as-number " in c.line}
    got = {p.peer: p.state for p in vrp_parse.bgp_peers(v.cli.send("display bgp peer")).peers}
    down = sorted(p for p in want if got.get(p) != "Established")
    if not down:
        return None
    return "BGP peers not Established: " + ", ".join(f"{p} ({got.get(p, 'absent')})" for p in down)


def over(t: Any, *, vrp_dir: str | None = None, **kw: Any) -> Vrp:
    """The VRP applier over a wanka.drivers.switch transport: an interactive session on its SSH
    connection (files by SFTP), or, on the lab's `netns` transport, the lab's VRP CLI run in the
    namespace on pipes (`vrp_dir`: its state directory)."""
    from wanka.drivers.switch import Local, Ssh

    kw = {k: v for k, v in kw.items() if k in ("trial_s", "verify_s", "verify", "label")}
    if isinstance(t, Ssh):
        if t._client is None:
            t._client = t._connect()
        return Vrp(SshCli(t._client, where=t.where), transport=t, **kw)
    if isinstance(t, Local) and vrp_dir:
        argv = [*t.prefix, "env", f"WANKA_VRP_DIR={vrp_dir}", sys.executable, "-m",
                "wanka.lab.tools.vrp_cli"]  # fmt: skip
        return Vrp(Pipe(argv, Path(vrp_dir) / "flash", where=t.where), transport=t, **kw)
    raise SwitchError(f"{t.where}: a VRP switch is configured over SSH (or the lab's netns with "
                      "its VRP directory)")  # fmt: skip


def ports_up(v: Vrp, config: str) -> str | None:
    """None when every routed port `config` configures is up (`display interface brief`)."""
    tree = vrp_parse.config(config)
    routed = [
        c.line.split()[1]
        for c in tree.find("interface")
        if any(x.line == "undo portswitch" for x in c.children)
    ]
    got = vrp_parse.interfaces(v.cli.send("display interface brief"))
    down = [p for p in routed if p not in got or got[p].phy != "up"]
    if not down:
        return None
    return "ports not up: " + ", ".join(
        f"{p} ({got[p].phy if p in got else 'absent'})" for p in down[:8]
    )


def lldp_neighbours(want: dict[str, str]) -> Verify:
    """A check that each local port of `want` sees its neighbour (system name) over LLDP."""

    def lldp(v: Vrp, config: str) -> str | None:
        seen: dict[str, set[str]] = {}
        for n in vrp_parse.lldp_neighbours(v.cli.send("display lldp neighbor brief")):
            seen.setdefault(n.local, set()).add(n.neighbour)
        wrong = [f"{p} ({name})" for p, name in sorted(want.items()) if name not in seen.get(p, ())]
        return "LLDP neighbours missing: " + ", ".join(wrong[:8]) if wrong else None

    return lldp


class Vrp:
    """VRP in two-stage mode over a CLI session (module docstring)."""

    os = "vrp"

    def __init__(
        self,
        cli: Cli,
        *,
        transport: Any = None,
        trial_s: int = TRIAL_S,
        verify_s: float = 60.0,
        verify: Sequence[Verify] = (bgp_established, ports_up),
        label: str = "wanka",
    ) -> None:
        self.cli = cli
        self.t = transport if transport is not None else _Closer(cli)
        self.trial_s = trial_s
        self.verify_s = verify_s
        self.checks = list(verify)
        self.label = label
        self.where = cli.where

    def _ok(self, line: str, *, yes: bool = False) -> str:
        out = self.cli.send(line)
        if QUESTION.search(out):
            self.cli.send("y" if yes else "n")
            if not yes:
                raise Refused(f"{self.where}: {line}: the switch asked {out.strip()!r}")
        bad = errors(out)
        if bad:
            raise Refused(f"{self.where}: {line}: {bad[0]}")
        return out

    def running(self) -> str:
        return _dump(self.cli.send("display current-configuration", timeout=60))

    def last_commit(self) -> str | None:
        m = re.search(r"CommitId: (\d+)", self.cli.send("display configuration commit list"))
        return m[1] if m else None

    def delta(self, config: str) -> list[str]:
        """What pushing `config` would change (the candidate's changes), nothing committed."""
        return self.apply(config, dry_run=True).delta

    def apply(self, config: str, *, dry_run: bool = False, keep: str | None = None) -> Result:
        """Push `config` (vrp.cfg). `keep` is unused: `save` writes the startup configuration
        the switch boots from."""
        self.cli.send("screen-length 0 temporary")
        before = self.running()
        rollback_to = self.last_commit()
        candidate = compose(config, before)
        self.cli.put_file(FILE, candidate)
        self._ok("system-view")
        try:
            self._ok(f"load configuration file {FILE} replace")
        except Refused as e:
            self.cli.send("clear configuration candidate")
            self.cli.send("return")
            raise Refused(f"{e}; nothing changed") from None
        delta = changes(self.cli.send("display configuration candidate changes"))
        if not delta or dry_run:
            self.cli.send("clear configuration candidate")
            self.cli.send("return")
            return Result(bool(delta), delta, before)
        n = (int(rollback_to) + 1) if rollback_to else 1
        self._ok(f"commit trial {self.trial_s} label {self.label}-{n}")
        try:
            why = self._verify(candidate)
        except SwitchError as e:
            why = str(e)
        if why is not None:
            raise Mismatch(f"{self.where}: {why}; " + self._back(before, rollback_to))
        self._ok("commit")  # confirms the trial
        now = self.running()
        if not same(now, candidate):
            raise Mismatch(
                f"{self.where}: committed, but the running configuration is not the file; "
                + self._back(before, rollback_to)
            )
        self.cli.send("return")
        self._ok("save", yes=True)
        return Result(True, delta, before)

    def _verify(self, candidate: str) -> str | None:
        deadline = time.monotonic() + self.verify_s
        while True:
            why = next((w for c in self.checks if (w := c(self, candidate)) is not None), None)
            if why is None or time.monotonic() > deadline:
                return why
            time.sleep(1.0)

    def _back(self, before: str, commit_id: str | None) -> str:
        """The trial aborted (or, when none runs, a rollback to `commit_id`); say how it went."""
        try:
            out = self.cli.send("abort trial")
            if errors(out) and commit_id:
                self.cli.send("return")
                self._ok(f"rollback configuration to commit-id {commit_id}", yes=True)
            self.cli.send("return")
            if same(self.running(), before):
                return "the previous configuration is back"
            return "and the previous configuration is not back entirely"
        except SwitchError as e:
            return f"the trial reverts by itself in {self.trial_s} s ({e})"
