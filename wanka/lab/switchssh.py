"""sshd on the lab's routed switches, so the fabric is configured over SSH as on real ones.

Each routed switch runs OpenSSH's sshd in its network namespace, listening on its loopback
address (the address the inventory and the Pulumi stacks reach a switch at), started as
`ip netns exec NS unshare --mount --propagation private sh -c 'mount --bind ...; exec sshd'`
so that, in its own mount namespace only, /etc/passwd and /etc/shadow know the cluster
file's switch user (`credentials.switch.username`). That user is uid 0 in the lab (a real
switch has an admin user with sudo for FRR's commands; the lab has no users of its own).

Authentication: the lab's key (`<lab>/ssh/id_ed25519`) always; the switch credential's
password too when its reference (`{env: NAME}` or `{file: PATH}`) can be read at `lab up`,
stored as a SHA-512 crypt hash (`openssl passwd -6`, the password on its stdin) in the
switch's private shadow file, never in clear. Files per switch in `<lab>/switches/<switch>/`;
host keys join `<lab>/ssh/known_hosts`. A client reaches a switch through
`python -m wanka.lab.jump <switch ns> <loopback> 22` (access.json's `switches.<name>.ssh`).

A switch of an `os: sonic` model also presents SONiC's CLI as far as its applier and the
verify role use it (wanka.lab.tools.sonic: `config load|reload|save`, `sonic-cfggen`,
`show interfaces status`): wrappers in `<lab>/switches/<switch>/bin`, bind-mounted on
/usr/local/bin in the sshd's mount namespace (where SONiC has them), CONFIG_DB in
`<lab>/switches/<switch>/sonic/`, as the switch boots: DEVICE_METADATA and the platform's
PORT table with every port down (access.json's `switches.<name>.sonic_cli`: the wrappers).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from wanka import credentials
from wanka.derive.bundle import Derived
from wanka.derive.routing import SwitchRouting, switch_routing
from wanka.lab import proc
from wanka.lab.provision import keygen, proxy_command
from wanka.lab.state import Proc, State, proc_info
from wanka.lab.tools import sonic
from wanka.render.sonic import config_db

SSHD = "/usr/sbin/sshd"

SSHD_CONFIG = """# wanka lab: sshd of switch {switch} (its loopback address only)
ListenAddress {address}:22
HostKey {where}/ssh_host_ed25519_key
PidFile {where}/sshd.pid
AuthorizedKeysFile {lab}/ssh/authorized_keys
PermitRootLogin yes
PasswordAuthentication {password}
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
MaxStartups 50:30:100
Subsystem sftp internal-sftp
"""


SONIC_TOOLS = ("config", "show", "sonic-cfggen")
SONIC_WRAPPER = """#!/bin/sh
# wanka lab: SONiC's {tool} on switch {switch} (wanka.lab.tools.sonic)
WANKA_SONIC_DIR={where} exec {python} -m wanka.lab.tools {tool} "$@"
"""


class SwitchSshError(Exception):
    pass


def write_sonic(where: Path, switch: str, r: SwitchRouting) -> Path:
    """A SONiC switch's CLI wrappers and CONFIG_DB as it boots; returns the wrappers' dir."""
    bindir, state = where / "bin", where / "sonic"
    bindir.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    for tool in SONIC_TOOLS:
        path = bindir / tool
        path.write_text(
            SONIC_WRAPPER.format(tool=tool, switch=switch, where=state, python=sys.executable),
            encoding="utf-8",
        )
        path.chmod(0o755)
    platform = {
        name: {k: v for k, v in p.items() if k in ("alias", "description", "index", "lanes",
                                                   "speed", "subport")}
        for name, p in config_db(r)["PORT"].items()
    }  # fmt: skip
    meta = {k: v for k, v in (("platform", r.platform), ("hwsku", r.hwsku)) if v}
    db = sonic.initial_db("sonic", platform, meta)
    for name in ("config_db.running.json", "config_db.json"):
        (state / name).write_text(json.dumps(db, indent=4, sort_keys=True) + "\n", encoding="utf-8")
    return bindir


def password_hash(password: str) -> str:
    """A SHA-512 crypt hash of `password` (given on openssl's stdin, never as an argument)."""
    r = proc.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n", check=False)
    if r.returncode != 0 or not r.stdout.startswith("$6$"):
        raise SwitchSshError("openssl passwd -6 failed: install openssl")
    return r.stdout.strip()


def write_files(
    where: Path, lab: Path, switch: str, address: str, user: str, hashed: str | None
) -> str:
    """A switch's sshd directory: host key, sshd_config, passwd and shadow with the switch
    user. Returns the public host key line."""
    where.mkdir(parents=True, exist_ok=True)
    pub = keygen(where / "ssh_host_ed25519_key", switch)
    (where / "sshd_config").write_text(
        SSHD_CONFIG.format(
            switch=switch, address=address, where=where, lab=lab,
            password="yes" if hashed else "no",
        ),
        encoding="utf-8",
    )  # fmt: skip
    passwd = [
        line
        for line in Path("/etc/passwd").read_text(encoding="utf-8").splitlines()
        if line.split(":", 1)[0] != user
    ]
    passwd.append(f"{user}:x:0:0:wanka lab switch user:/root:/bin/sh")
    (where / "passwd").write_text("\n".join(passwd) + "\n", encoding="utf-8")
    shadow = where / "shadow"
    shadow.touch(mode=0o600)
    shadow.chmod(0o600)
    shadow.write_text(f"{user}:{hashed or '*'}:19000:0:99999:7:::\n", encoding="utf-8")
    return pub


def start(ns: str, where: Path, timeout: float = 10.0, sonic_cli: Path | None = None) -> Proc:
    """sshd in the switch's namespace, with its private /etc/passwd and /etc/shadow (and on a
    SONiC switch its CLI on /usr/local/bin)."""
    pidfile = where / "sshd.pid"
    pidfile.unlink(missing_ok=True)
    cli = f" && mount --bind {sonic_cli} /usr/local/bin" if sonic_cli else ""
    script = (
        f"mount --bind {where}/passwd /etc/passwd && mount --bind {where}/shadow /etc/shadow"
        f"{cli} && exec {SSHD} -f {where}/sshd_config"
    )
    cmd = ["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private",
           "sh", "-c", script]  # fmt: skip
    r = proc.run(cmd, check=False, timeout=30)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = pidfile.read_text().strip() if pidfile.exists() else ""
        if text.isdigit():
            info = proc_info(int(text))
            if info is None:
                break
            # sshd names itself `sshd: /usr/sbin/sshd -f CONF [listener] ...`
            match = f"sshd: {SSHD} -f {where}/sshd_config"
            return Proc(int(text), info[0], match, info[1], ns, "sshd")
        time.sleep(0.02)
    raise SwitchSshError(
        f"sshd in {ns} did not start: {(r.stderr or r.stdout).strip()[-300:] or 'no pid file'}"
    )


def _password(d: Derived) -> str | None:
    """The switch credential's password, when its reference can be read here (the lab's
    switches take the lab's key only when it cannot)."""
    cred = d.cluster.credentials.get("switch")
    return credentials.lookup(cred.password if cred is not None else None)


def start_all(d: Derived, state: State) -> dict[str, dict[str, Any]]:
    """sshd on every routed switch; returns each one's `ssh` entry of access.json."""
    lab = Path(state.lab_dir)
    cred = d.cluster.credentials.get("switch")
    user = cred.username if cred is not None else "root"
    password = _password(d)
    hashed = password_hash(password) if password else None
    ns_of = state.device_ns()
    out: dict[str, dict[str, Any]] = {}
    known = []
    routing = switch_routing(d)
    for name in sorted(routing):
        address = str(d.addressing.loopbacks[name])
        where = lab / "switches" / name
        if str(where.parent) not in state.dirs:
            state.dirs.append(str(where.parent))
            state.save()
        pub = write_files(where, lab, name, address, user, hashed)
        known.append(f"{address} {' '.join(pub.split()[:2])}\n")
        cli = write_sonic(where, name, routing[name]) if routing[name].os == "sonic" else None
        p = start(ns_of[name], where, sonic_cli=cli)
        state.procs.append(p)
        state.save()
        out[name] = {
            "address": address,
            "port": 22,
            "user": user,
            "password": hashed is not None,
            "proxy_command": proxy_command(ns_of[name]),
        }
        if cli is not None:
            out[name]["sonic_cli"] = str(cli)
    with open(lab / "ssh" / "known_hosts", "a", encoding="utf-8") as f:
        f.write("".join(known))
    return out
