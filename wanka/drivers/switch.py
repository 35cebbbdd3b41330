"""A switch's configuration applied through a transport, by the applier of the switch's OS.

One client for the Ansible fabric role (module `wanka_switch`, on the controller), the Pulumi
`SwitchConfig` provider and the lab's tests. Two parts:

- a *transport* runs a command on the switch and returns its exit status and output:
  `Local` (this machine, optionally behind a prefix: the lab's `ip netns exec NS`) and `Ssh`
  (paramiko; user, password or key from the cluster file's credential reference, the
  switch's host key checked against a known_hosts file, optionally a ProxyCommand: the lab's
  jump into the switch's namespace). Files reach the switch on a command's stdin, so a
  switch needs no SFTP.
- an *applier* per switch OS (`APPLIERS`): `frr` (Debian/FRR, and any Linux running FRR)
  stages the rendered file in a temporary directory on the switch, refuses it when vtysh
  cannot parse it (`vtysh -C -f`, the line named; nothing is touched), takes the running
  configuration (`show running-config`) as the one to go back to, asks `frr-reload.py --test`
  what would change (the diff), applies with `frr-reload.py --reload`, and checks with
  `--test` again that the running configuration is the rendered one. When the reload fails or
  the check finds a difference, the previous configuration is put back the same way (and
  checked); the error says what happened. `sonic` (split routing mode): config_db.json merged
  into CONFIG_DB with `config load` (the diff: the fields CONFIG_DB lacks, read with
  `sonic-cfggen -d --print-data`), checked field by field, then bgpd.conf by the same FRR
  applier for bgpd alone behind `docker exec -i bgp`; CONFIG_DB put back with `config reload`
  of the one read before when a step is refused or does not hold.

Credentials: only references reach this module (`{env: NAME}`, `{file: PATH}`) or a value
handed over by Pulumi as a secret; a value is read when connecting and never printed, logged
or returned.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wanka import credentials

FRR_RELOAD = "/usr/lib/frr/frr-reload.py"
FRR_PYTHON = "/usr/bin/python3"  # frr-reload.py is a script for the system Python
VTYSH = "/usr/bin/vtysh"
TIMEOUT = 60.0
# lines frr-reload reports on every run and cannot change (FRR 8.4): the version stamp, the
# per-daemon hostname, forwarding (the kernel's, per namespace) and the empty `line vty`
UNRECONCILED = (
    "frr version ",
    "hostname ",
    "no hostname ",
    "ip forwarding",
    "ipv6 forwarding",
    "no ip forwarding",
    "no ipv6 forwarding",
    "line vty",
)
# what in an FRR configuration needs which daemon of /etc/frr/daemons (zebra, staticd and
# watchfrr always run)
DAEMON_OF = (
    (re.compile(r"^router bgp ", re.M), "bgpd"),
    (re.compile(r"^bfd$|^ *neighbor \S+ bfd\b", re.M), "bfdd"),
    (re.compile(r"^router ospf\b(?!6)", re.M), "ospfd"),
    (re.compile(r"^router ospf6\b", re.M), "ospf6d"),
)


class SwitchError(Exception):
    """The switch could not be reached or configured; the message names the switch."""


class Refused(SwitchError):
    """The switch refused the configuration; its previous configuration runs."""


class Mismatch(SwitchError):
    """Applied, but the running configuration is not the rendered one; the previous
    configuration was put back."""


@dataclass
class Done:
    rc: int
    out: str
    err: str


class Transport(Protocol):
    where: str  # for messages: "namespace x", "ssh admin@10.0.0.1"

    def run(self, argv: Sequence[str], stdin: str | None = None, timeout: float = ...) -> Done: ...

    def close(self) -> None: ...


# -- credentials ---------------------------------------------------------------------------------


def secret(ref: Mapping[str, Any] | None, what: str) -> str | None:
    """The value a credential reference points at (`{env: NAME}`, `{file: PATH}`), by
    wanka.credentials' rule; the messages name the reference, never a value."""
    if not ref:
        return None
    try:
        return credentials.resolve(ref, what)
    except credentials.CredentialError as e:
        raise SwitchError(str(e)) from None


def key_path(ref: Mapping[str, Any] | None, what: str) -> str | None:
    """The private key file a reference names: `{file: PATH}`, or `{env: NAME}` holding it."""
    if not ref:
        return None
    try:
        return credentials.key_file(ref, what)
    except credentials.CredentialError as e:
        raise SwitchError(str(e)) from None


# -- transports ----------------------------------------------------------------------------------


@dataclass
class Local:
    """Commands on this machine, behind `prefix` (the lab: ip netns exec NS)."""

    prefix: Sequence[str] = ()
    where: str = "this machine"

    def run(self, argv: Sequence[str], stdin: str | None = None, timeout: float = TIMEOUT) -> Done:
        cmd = [*self.prefix, *argv]
        try:
            r = subprocess.run(
                cmd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise SwitchError(f"{self.where}: {argv[0]}: no answer within {timeout:g} s") from None
        except OSError as e:
            raise SwitchError(f"{self.where}: cannot run {cmd[0]}: {e.strerror or e}") from None
        return Done(r.returncode, r.stdout, r.stderr)

    def close(self) -> None:
        pass


@dataclass
class Ssh:
    """Commands on the switch over SSH (paramiko). The host key must be in `known_hosts`
    (a file; the user's ~/.ssh/known_hosts when None): an unknown switch is refused."""

    host: str
    username: str
    port: int = 22
    password: str | None = field(default=None, repr=False)
    key_file: str | None = None
    known_hosts: str | None = None
    proxy_command: str | None = None
    become: bool = False  # prefix commands with `sudo -n` (a switch user that is not root)
    timeout: float = 15.0
    where: str = ""

    def __post_init__(self) -> None:
        self.where = self.where or f"ssh {self.username}@{self.host}:{self.port}"
        self._client: Any = None
        self._sock: Any = None

    def _connect(self) -> Any:
        import paramiko

        client = paramiko.SSHClient()
        try:
            if self.known_hosts:
                client.load_host_keys(str(Path(self.known_hosts).expanduser()))
            else:
                client.load_system_host_keys()
        except OSError as e:
            raise SwitchError(f"{self.where}: known hosts {self.known_hosts}: {e}") from None
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        sock = None
        if self.proxy_command:  # OpenSSH's tokens: %h host, %p port, %r user
            cmd = self.proxy_command.replace("%h", self.host).replace("%p", str(self.port))
            sock = paramiko.ProxyCommand(cmd.replace("%r", self.username))
        self._sock = sock
        try:
            client.connect(
                self.host, port=self.port, username=self.username, password=self.password,
                key_filename=self.key_file, sock=sock, timeout=self.timeout,
                banner_timeout=self.timeout, auth_timeout=self.timeout,
                allow_agent=False, look_for_keys=False,
            )  # fmt: skip
        except paramiko.AuthenticationException:
            self._close(client)
            how = "key" if self.key_file else "password" if self.password else "no credential"
            raise SwitchError(f"{self.where}: authentication failed ({how})") from None
        except paramiko.SSHException as e:
            self._close(client)
            raise SwitchError(f"{self.where}: {e}") from None
        except OSError as e:
            self._close(client)
            raise SwitchError(f"{self.where}: cannot connect: {e.strerror or e}") from None
        return client

    def run(self, argv: Sequence[str], stdin: str | None = None, timeout: float = TIMEOUT) -> Done:
        import paramiko

        if self._client is None:
            self._client = self._connect()
        command = shlex.join(["sudo", "-n", *argv] if self.become else argv)
        try:
            chan = self._client.get_transport().open_session(timeout=self.timeout)
            chan.settimeout(timeout)
            chan.exec_command(command)
            if stdin is not None:
                chan.sendall(stdin.encode())
            chan.shutdown_write()
            out, err = _drain(chan, timeout)
            rc = chan.recv_exit_status()
        except (TimeoutError, paramiko.SSHException, OSError) as e:
            raise SwitchError(f"{self.where}: {argv[0]}: {e or 'no answer'}") from None
        return Done(rc, out, err)

    def _close(self, client: Any) -> None:
        transport = client.get_transport()
        client.close()
        if transport is not None:  # its reader thread, done before the pipes close
            transport.join(5)
        sock, self._sock = self._sock, None
        if sock is not None:  # the ProxyCommand's process: ended and reaped
            sock.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                sock.process.wait(timeout=5)
            for pipe in (sock.process.stdin, sock.process.stdout, sock.process.stderr):
                if pipe is not None:
                    pipe.close()

    def close(self) -> None:
        if self._client is not None:
            self._close(self._client)
            self._client = None


def _drain(chan: Any, timeout: float) -> tuple[str, str]:
    """Read stdout and stderr of a channel until the command has exited (both as they come,
    so a full stderr never blocks a command still writing stdout)."""
    out, err = bytearray(), bytearray()
    deadline = time.monotonic() + timeout
    while True:
        while chan.recv_ready():
            out += chan.recv(65536)
        while chan.recv_stderr_ready():
            err += chan.recv_stderr(65536)
        # the exit status comes after the command's output: once it is here, all of it is
        if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
            return out.decode(errors="replace"), err.decode(errors="replace")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer within {timeout:g} s")
        chan.status_event.wait(0.01)


def transport(switch: str, spec: Mapping[str, Any], password: str | None = None) -> Transport:
    """The transport a spec describes: `{kind: netns, namespace}` or `{kind: ssh, host, port,
    username, credential, private_key, known_hosts, proxy_command, become}`; `password` is a
    value handed over as a secret (Pulumi), else `credential` is resolved here."""
    kind = spec.get("kind")
    if kind == "netns":
        ns = str(spec.get("namespace") or "")
        if not ns:
            raise SwitchError(f"{switch}: the netns transport needs a namespace")
        return Local(["ip", "netns", "exec", ns], where=f"{switch} (namespace {ns})")
    if kind == "local":
        return Local(where=f"{switch} (this machine)")
    if kind == "ssh":
        host, user = spec.get("host"), spec.get("username")
        if not host or not user:
            raise SwitchError(f"{switch}: the ssh transport needs host and username")
        what = f"{switch}: switch credential"
        return Ssh(
            str(host), str(user), port=int(spec.get("port") or 22),
            password=password or secret(spec.get("credential"), what + " (password)"),
            key_file=key_path(spec.get("private_key"), what + " (private key)"),
            known_hosts=spec.get("known_hosts"), proxy_command=spec.get("proxy_command"),
            become=bool(spec.get("become")), where=f"{switch} (ssh {user}@{host})",
        )  # fmt: skip
    raise SwitchError(f"{switch}: unknown transport {kind!r} (netns or ssh)")


# -- appliers ------------------------------------------------------------------------------------


@contextmanager
def staged(t: Transport, text: str, name: str, prefix: Sequence[str] = ()) -> Iterator[str]:
    """A temporary directory on the switch holding `text` as `name`; yields the file's path.
    The directory is removed afterwards."""
    r = t.run([*prefix, "mktemp", "-d", "/tmp/wanka-switch.XXXXXX"])
    if r.rc != 0:
        raise SwitchError(f"{t.where}: mktemp: {_last(r)}")
    tmp = r.out.strip()
    try:
        r = t.run(
            [*prefix, "sh", "-c", 'umask 077 && cat > "$1"', "sh", f"{tmp}/{name}"], stdin=text
        )
        if r.rc != 0:
            raise SwitchError(f"{t.where}: staging the configuration: {_last(r)}")
        yield f"{tmp}/{name}"
    finally:
        t.run([*prefix, "rm", "-rf", tmp])


@dataclass
class Result:
    changed: bool
    delta: list[str]  # what frr-reload --test said would change: `- line`, `+ line`
    before: str = ""  # the running configuration before (for a diff)


class Frr:
    """FRR, configured with frr-reload.py (Debian's frr-pythontools) through `vtysh`."""

    os = "frr"

    def __init__(
        self,
        t: Transport,
        *,
        vty: str | None = None,
        prefix: Sequence[str] = (),
        reload: str = FRR_RELOAD,
        python: str = FRR_PYTHON,
        vtysh: str = VTYSH,
        daemon: str | None = None,
    ) -> None:
        self.t, self.vty, self.prefix = t, vty, list(prefix)
        self.daemon = (
            daemon  # frr-reload.py --daemon: one daemon's configuration (SONiC's split mode)
        )
        self.reload_cmd, self.python, self.vtysh = reload, python, vtysh

    def _vtysh(self) -> list[str]:
        return [*self.prefix, self.vtysh, *(["--vty_socket", self.vty] if self.vty else [])]

    def _run(self, argv: list[str], what: str, stdin: str | None = None) -> str:
        r = self.t.run(argv, stdin=stdin)
        if r.rc != 0:
            raise SwitchError(f"{self.t.where}: {what}: {_last(r)}")
        return r.out

    def staged(self, config: str) -> Any:
        """A temporary directory on the switch holding `config` as frr.conf (see `staged`)."""
        return staged(self.t, config, "frr.conf", self.prefix)

    def parse(self, path: str) -> None:
        """Refuse a file vtysh cannot parse, naming the line (`vtysh -C -f`: a dry run)."""
        r = self.t.run([*self._vtysh(), "-C", "-f", path])
        if r.rc != 0:
            lines = [x.strip() for x in (r.out + r.err).splitlines() if x.strip()]
            bad = [x for x in lines if x.startswith("line ")] or lines[-3:]
            raise Refused(
                f"{self.t.where}: the configuration is refused, nothing changed: "
                + " | ".join(bad or [f"vtysh exit {r.rc}"])
            )

    def running(self) -> str:
        """`show running-config` as a configuration file (without vtysh's header lines)."""
        out = self._run([*self._vtysh(), "-c", "show running-config"], "show running-config")
        return "".join(
            line
            for line in out.splitlines(keepends=True)
            if line.strip() not in ("Building configuration...", "Current configuration:")
        ).lstrip("\n")

    def _reload(self, path: str, mode: str) -> Done:
        rundir = str(Path(path).parent)
        return self.t.run(
            [*self.prefix, self.python, self.reload_cmd, mode, "--stdout",
             *(["--vty_socket", self.vty] if self.vty else []),
             *(["--daemon", self.daemon] if self.daemon else []),
             "--bindir", str(Path(self.vtysh).parent), "--rundir", rundir, path],
        )  # fmt: skip

    def delta_of(self, path: str) -> list[str]:
        """What the switch would have to change to run the file at `path`: `- line` to
        delete, `+ line` to add (empty: it runs it). Lines frr-reload cannot reconcile are
        left out."""
        r = self._reload(path, "--test")
        if r.rc != 0:
            raise SwitchError(f"{self.t.where}: frr-reload --test: {_last(r)}")
        return parse_test(r.out)

    def delta(self, config: str) -> list[str]:
        with self.staged(config) as path:
            self.parse(path)
            return self.delta_of(path)

    def apply(self, config: str, *, dry_run: bool = False, keep: str | None = None) -> Result:
        """Apply `config` when it differs; put the previous one back when the switch refuses
        it or the check after it finds a difference. `keep`: a path on the switch the applied
        file is copied to (its startup configuration, /etc/frr/frr.conf), only once checked."""
        with self.staged(config) as path:
            self.parse(path)
            before = self.running()
            delta = self.delta_of(path)
            if not delta or dry_run:
                return Result(bool(delta), delta, before)
            r = self._reload(path, "--reload")
            left = self.delta_of(path) if r.rc == 0 else []
            if r.rc != 0 or left:
                restored = self._restore(before)
                if r.rc != 0:
                    raise Refused(
                        f"{self.t.where}: the switch refused the configuration, "
                        f"{_refusal(r, config)}; " + restored
                    )
                raise Mismatch(
                    f"{self.t.where}: applied, but the running configuration differs from the "
                    f"rendered one in {len(left)} line(s) ({'; '.join(left[:5])}); " + restored
                )
            if keep:
                self._run([*self.prefix, "cp", path, keep], f"copying it to {keep}")
            return Result(True, delta, before)

    def _restore(self, before: str) -> str:
        """Put `before` back; say how that went (for the error being raised)."""
        try:
            with self.staged(before) as path:
                r = self._reload(path, "--reload")
                left = self.delta_of(path)
        except SwitchError as e:
            return f"and the previous configuration could not be put back: {e}"
        if r.rc != 0 or left:
            return (
                "and the previous configuration could not be put back entirely "
                f"({'; '.join(left[:5]) or _last(r)})"
            )
        return "the previous configuration runs again"

    def ensure_daemons(
        self, path: str, config: str, restart: Sequence[str] = (), rendered: str | None = None
    ) -> list[str]:
        """Turn on in FRR's daemons file (Debian: /etc/frr/daemons, shipped with bgpd=no)
        the daemons `config` needs, or install `rendered` (a daemons file the render made);
        restart FRR (`restart`) when the file changed. Returns the keys changed."""
        current = self._run([*self.prefix, "cat", path], f"reading {path}")
        if rendered is not None:
            new, changed = rendered, ([] if rendered == current else [path])
        else:
            new, changed = set_daemons(current, needed_daemons(config))
        if not changed:
            return []
        self._run(
            [*self.prefix, "sh", "-c", 'cat > "$1"', "sh", path], f"writing {path}", stdin=new
        )
        if restart:
            self._run([*self.prefix, *restart], "restarting FRR")
        return changed


APPLIERS: dict[str, type[Frr] | type[Sonic]] = {}  # filled below, once Sonic is imported


def applier(os_: str, t: Transport, **kw: Any) -> Any:
    """The applier of switch OS `os_` over `t`: `frr`, `sonic`, or `vrp` (a CLI session over
    the transport, wanka.drivers.vrp)."""
    if os_ == "vrp":
        from wanka.drivers.vrp import over

        return over(t, **kw)
    cls = APPLIERS.get(os_)
    if cls is None:
        raise SwitchError(
            f"{t.where}: no applier for switch OS {os_!r} ({', '.join([*APPLIERS, 'vrp'])})"
        )
    return cls(t, **kw)


# -- what FRR prints -----------------------------------------------------------------------------


def parse_test(out: str) -> list[str]:
    """The lines of `frr-reload.py --test`'s report: `- line` under "Lines To Delete",
    `+ line` under "Lines To Add"; the lines it cannot reconcile are left out."""
    lines, sign = [], ""
    for line in out.splitlines():
        if line.startswith("Lines To Delete"):
            sign = "-"
        elif line.startswith("Lines To Add"):
            sign = "+"
        elif sign and line.strip() and not line.startswith(("==", *UNRECONCILED)):
            lines.append(f"{sign} {line}")
    return lines


def needed_daemons(config: str) -> list[str]:
    return [daemon for pattern, daemon in DAEMON_OF if pattern.search(config)]


def set_daemons(text: str, daemons: Sequence[str]) -> tuple[str, list[str]]:
    """FRR's daemons file with `daemon=yes` for each of `daemons`; the keys changed."""
    out, changed, seen = [], [], set()
    for line in text.splitlines(keepends=True):
        key, sep, value = line.partition("=")
        if sep and key.strip() in daemons:
            seen.add(key.strip())
            if value.strip() != "yes":
                changed.append(key.strip())
                line = f"{key.strip()}=yes\n"
        out.append(line)
    for daemon in daemons:
        if daemon not in seen:
            changed.append(daemon)
            out.append(f"{daemon}=yes\n")
    return "".join(out), changed


def _last(r: Done) -> str:
    lines = (r.err.strip() or r.out.strip()).splitlines()
    return " | ".join(x.strip() for x in lines[-3:]) or f"exit {r.rc}"


ANSI = re.compile(r"\x1b\[[0-9;]*m")
REFUSED_LINE = re.compile(r"^line \d+: (.*?), line: (.*)$")


def _refusal(r: Done, config: str) -> str:
    """What the daemons refused, as `line N: COMMAND (% WHY)`, N the command's line in the
    rendered configuration (frr-reload numbers the lines of its own batch files)."""
    text = ANSI.sub("", r.out + "\n" + r.err).splitlines()
    why = next((x.strip() for x in text if x.startswith("% ")), "")
    mine = config.splitlines()
    out: list[str] = []
    for x in text:
        m = REFUSED_LINE.match(x.strip())
        if m is None:
            continue
        command = m.group(2).strip()
        at = next((i for i, line in enumerate(mine, 1) if line.strip() == command), None)
        said = f"line {at}: {command}" if at else command
        said += f" ({why or m.group(1)})"
        if said not in out:
            out.append(said)
    return "; ".join(out[:3]) or why or _last(r)


# the SONiC applier has its own module (it builds on Frr, staged and the errors above)
from wanka.drivers.sonic import Sonic, db_delta  # noqa: E402,F401 (db_delta: re-exported)

APPLIERS.update({"frr": Frr, "sonic": Sonic})
