"""The VRP CLI a lab switch of an `os: vrp` model presents: a session on stdin/stdout (the login
shell of the lab switch's SSH user), behaving only as far as the captures say a CloudEngine
does (../shared/reference/vrp/, tests/captures/vrp/):

- prompts `<name>` (user view), `[~name]` (system view, nothing uncommitted) and `[*name]`
  (uncommitted changes), as the two-stage manual and gnetcli's prompt expression write them;
- what it does not know: `Error: Unrecognized command found at '^' position.` under a caret
  line (gnetcli's mock); a line of a loaded file it does not know, the same, with the line;
- `system-view`, `quit`, `return`; `screen-length 0 temporary` and `undo terminal monitor`
  (gnetcli's session preparation);
- two-stage mode (ce6800v300_two-stage_commit_rollback_replace.txt): `load configuration file
  F replace` (F under the switch's flash directory) makes F the candidate, refused as a whole
  when a line is wrong; `display configuration candidate changes` (`Building configuration`
  and `+`/`-` lines); `commit [label L]`; `commit trial N [label L]` (`Info: The system
  enters the trial configuration mode.` and the revert notice of the command reference), a
  `commit` during the trial confirms it, `abort trial` ends it with the previous configuration
  back, and when neither comes within N seconds the configuration reverts by itself (a timer
  process, so a lost session reverts too); `rollback configuration to commit-id ID` (user
  view, its `Continue? [Y/N]:` warning and progress lines); `display configuration commit
  list`; `clear configuration candidate`;
- `display current-configuration` (the `!Software Version` header of a real dump, then the
  configuration, `return`), `save` (its warning and `[Y/N]` question, then `Info: Save the
  configuration successfully.`), `display version` (the V300 line shape of the captures),
  `display bgp peer`, `display lldp neighbor brief` and `display interface brief` in the
  captures' columns, from the state files the lab writes (`bgp.json`, `lldp.json`,
  `links.json`: the real FRR and kernel underneath, see wanka.lab.vrpswitch).

State is a directory (`$WANKA_VRP_DIR`): `running.cfg`, `saved.cfg`, `commits.json` (id,
label, configuration), `trial.json`, and `flash/`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from wanka.drivers import vrp_parse

VERSION = "V300R023C00"
FIRST_COMMIT = 1000000001  # the command reference: ids from 1000000001 to 1999999999
UNKNOWN = "Error: Unrecognized command found at '^' position."

# What the emulator knows of a configuration: the command shapes of the manuals' scripts and
# command reference pages that wanka writes or a switch's management part holds (a real dump's,
# tests/captures/vrp/display_current_configuration_ce6880_partial.txt), per view.
_IF = r"(\d*GE\d+(/\d+)+(:\d+)?|Vlanif\d+|LoopBack\d+|MEth0/0/0|NULL0)"
_IP = r"\d+\.\d+\.\d+\.\d+"
KNOWN: dict[str, list[str]] = {
    "": [
        r"sysname \S+", r"port split dimension interface \S+ split-type \d+\*\d+GE",
        r"vlan batch [\d ]+(to \d+)?", r"bfd", r"lldp enable", r"dcb pfc",
        r"diffserv domain \S+", r"drop-profile \S+", rf"interface {_IF}", r"bgp \d+",
        rf"ip ip-prefix \S+ index \d+ (permit|deny) {_IP} \d+( greater-equal \d+)?"
        r"( less-equal \d+)?",
        r"aaa", r"stelnet server enable", r"ssh authorization-type default aaa",
        r"ssh user \S+( .*)?", r"user-interface vty \d+ \d+", r"clock timezone .*",
        rf"ip route-static {_IP} {_IP} {_IP}",
    ],
    "interface": [
        r"undo portswitch", r"portswitch", rf"ip address {_IP} {_IP}", r"mtu \d+",
        r"jumboframe enable \d+", r"port default vlan \d+", r"port link-type trunk",
        r"port trunk allow-pass vlan \d+( to \d+)?", r"trust dscp", r"trust upstream \S+",
        r"dcb pfc enable mode (manual|auto)", r"qos queue \d wred \S+", r"qos queue \d ecn",
        r"shutdown", r"undo shutdown", r"description .*",
    ],
    "bgp": [r"router-id \S+", rf"peer {_IP} as-number \d+", rf"peer {_IP} bfd enable",
            r"ipv4-family unicast"],
    "bgp/ipv4-family": [
        rf"network {_IP} {_IP}", r"maximum load-balancing( ebgp)? \d+", rf"peer {_IP} enable",
        rf"peer {_IP} ip-prefix \S+ (import|export)",
    ],
    "dcb pfc": [r"priority [\d ]+", r"priority \d deadlock-(detect|recovery) time \d+"],
    "diffserv domain": [r"ip-dscp-inbound \d+ phb (be|af[1-4]|ef|cs6|cs7) (green|yellow|red)"],
    "drop-profile": [r"ecn low-limit \d+ high-limit \d+ discard-percentage \d+"],
    "aaa": [r"local-user \S+ .*"],
    "user-interface": [r"authentication-mode aaa", r"protocol inbound ssh"],
}  # fmt: skip
_VIEW_OF = {
    "interface": "interface",
    "bgp": "bgp",
    "dcb": "dcb pfc",
    "diffserv": "diffserv domain",
    "drop-profile": "drop-profile",
    "aaa": "aaa",
    "user-interface": "user-interface",
}


class Failed(Exception):
    pass


def _dir() -> Path:
    where = os.environ.get("WANKA_VRP_DIR")
    if not where:
        raise Failed("WANKA_VRP_DIR is not set: not a lab VRP switch")
    return Path(where)


@contextmanager
def locked() -> Iterator[None]:
    with open(_dir() / "state.lock", "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _read(name: str, default: Any) -> Any:
    try:
        return json.loads((_dir() / name).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def _write(name: str, data: Any) -> None:
    tmp = _dir() / f"{name}.tmp"
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(_dir() / name)


def running() -> str:
    try:
        return (_dir() / "running.cfg").read_text(encoding="utf-8")
    except FileNotFoundError:
        return "#\nsysname HUAWEI\n#\n"


def set_running(text: str) -> None:
    """The running configuration, and the hook that makes the lab's FRR and kernel follow it
    (`$WANKA_VRP_APPLY`: a program given the directory, wanka.lab.vrpswitch)."""
    tmp = _dir() / "running.cfg.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(_dir() / "running.cfg")
    hook = os.environ.get("WANKA_VRP_APPLY")
    if hook:
        subprocess.run([*hook.split(), str(_dir())], check=False, capture_output=True)


def check(text: str) -> str | None:
    """Why `load configuration` refuses a file (its line), or None."""
    try:
        tree = vrp_parse.config(text)
    except vrp_parse.ConfigError as e:
        return f"Error: The configuration file format is incorrect ({e})."
    lines = text.splitlines()
    for view, node in _walk(tree, ""):
        patterns = KNOWN.get(view)
        if patterns is None or not any(re.fullmatch(p, node.line) for p in patterns):
            no = next((i for i, ln in enumerate(lines, 1) if ln.strip() == node.line), 0)
            return f"{UNKNOWN} (line {no}: {node.line})"
    return None


def _walk(v: vrp_parse.View, view: str) -> Iterator[tuple[str, vrp_parse.View]]:
    for c in v.children:
        yield view, c
        word = c.line.split()[0]
        if view == "bgp" and c.line.startswith("ipv4-family"):
            inner = "bgp/ipv4-family"
        elif view == "":
            inner = _VIEW_OF.get(word, f"?{word}")
        else:
            inner = f"{view}/?"
        yield from _walk(c, inner)


def changes(old: str, new: str) -> list[str]:
    """`display configuration candidate changes` after `Building configuration`, in the
    command reference's shape: per changed block `  #`, the views above a change as context
    (two spaces, then the view as indented in the configuration), a dropped command `-` and an
    added one `+`, then a space and the command as indented."""
    a = _paths(vrp_parse.config(old))
    b = _paths(vrp_parse.config(new))
    gone, added = set(a) - set(b), set(b) - set(a)
    out: list[str] = []
    shown: tuple[str, ...] = ()
    for sign, p in [*(("-", p) for p in a if p in gone), *(("+", p) for p in b if p in added)]:
        if p[:1] != shown[:1]:
            out.append("  #")
            shown = ()
        for depth in range(len(p) - 1):
            if shown[: depth + 1] != p[: depth + 1]:
                out.append("  " + " " * depth + p[depth])
        shown = p[:-1]
        out.append(f"{sign} " + " " * (len(p) - 1) + p[-1])
    if out:
        out.append("  #")
    return out


def _paths(v: vrp_parse.View, above: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for c in v.children:
        here = (*above, c.line)
        out.append(here)
        out.extend(_paths(c, here))
    return out


def sysname(text: str) -> str:
    m = re.search(r"^sysname (\S+)", text, re.M)
    return m[1] if m else "HUAWEI"


def commit(config: str, label: str | None, *, trial: int | None = None) -> int:
    commits = _read("commits.json", [])
    cid = (commits[-1]["id"] + 1) if commits else FIRST_COMMIT
    before = running()
    commits.append({"id": cid, "label": label or "-", "config": config})
    _write("commits.json", commits)
    set_running(config)
    if trial is not None:
        token = f"{cid}-{time.time_ns()}"
        _write("trial.json", {"token": token, "commit": cid, "before": before})
        subprocess.Popen(
            [sys.executable, "-m", "wanka.lab.tools.vrp_cli", "--revert-after", str(trial), token],
            start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=dict(os.environ),
        )  # fmt: skip
    return cid


def end_trial(revert: bool, token: str | None = None) -> bool:
    """End the running trial: put its previous configuration back when `revert`. False when
    there is none (or another one, by `token`)."""
    trial = _read("trial.json", None)
    if not trial or (token is not None and trial["token"] != token):
        return False
    (_dir() / "trial.json").unlink()
    if revert:
        commit(trial["before"], "trial-reverted")
    return True


def revert_after(seconds: float, token: str) -> int:
    time.sleep(seconds)
    with locked():
        end_trial(True, token)
    return 0


class Session:
    """One CLI session: the view, the candidate, and a Y/N question pending."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.view = "user"
        self.candidate: str | None = None
        self.ask: tuple[str, Any] | None = None

    def say(self, *lines: str) -> None:
        for line in lines:
            self.out.write(line + "\r\n")

    def question(self, text: str, action: Any) -> None:
        """Ask, as VRP does: the question, no line end, the answer on the same line."""
        self.out.write(text)
        self.ask = (text, action)

    def prompt(self) -> str:
        name = sysname(self.candidate or running())
        if self.view == "user":
            return f"<{name}>"
        dirty = self.candidate is not None and self.candidate != running()
        return f"[{'*' if dirty else '~'}{name}]"

    def line(self, text: str) -> None:
        cmd = " ".join(text.split())
        if self.ask is not None:
            question, action = self.ask
            self.ask = None
            self.out.write(cmd + "\r\n")
            if cmd.lower() in ("y", "yes"):
                action()
            return
        if not cmd:
            return
        with locked():
            self._dispatch(cmd)

    def _dispatch(self, cmd: str) -> None:
        if cmd in ("screen-length 0 temporary", "undo terminal monitor"):
            if cmd.startswith("screen"):
                self.say("Info: The configuration takes effect on the current user terminal "
                         "interface only.")  # fmt: skip
            return
        if cmd.startswith("display ") or cmd.startswith("dis "):
            return self._display(cmd.split(None, 1)[1])
        if self.view == "user":
            return self._user(cmd)
        return self._system(cmd)

    def _user(self, cmd: str) -> None:
        if cmd == "system-view":
            self.view = "system"
            self.say("Enter system view, return user view with return command.")
            return
        m = re.fullmatch(r"rollback configuration to commit-id (\d+)", cmd)
        if m:
            want = next((c for c in _read("commits.json", []) if str(c["id"]) == m[1]), None)
            if want is None:
                self.say(f"Error: The commit ID {m[1]} does not exist.")
                return
            self.question("Warning: This operation will revert configuration changes to the "
                          "previous status. During the rollback configuration process, some "
                          "configurations involving differences may be temporarily invalid. "
                          "Continue? [Y/N]:", lambda: self._rollback(want["config"]))  # fmt: skip
            return
        if cmd == "save":
            self.say("Warning: all configuration will be written to the device.")
            self.question("Are you sure to continue?[Y/N]", self._save)
            return
        if cmd == "quit":
            raise EOFError
        self._unknown(cmd)

    def _rollback(self, config: str) -> None:
        with locked():
            self.say("Checking changes...", "Loading rollback changes", "Committing",
                     "Check rollback result")  # fmt: skip
            commit(config, "rollback")
            self.say("Configuration rollback succeeded.")

    def _save(self) -> None:
        with locked():
            (_dir() / "saved.cfg").write_text(running(), encoding="utf-8")
            self.say("Now saving all configuration to the slot 1",
                     "Info: Save the configuration successfully.")  # fmt: skip

    def _system(self, cmd: str) -> None:
        if cmd in ("return", "quit"):
            self.view = "user"
            return
        m = re.fullmatch(r"load configuration file (\S+) replace", cmd)
        if m:
            path = _dir() / "flash" / m[1].removeprefix("flash:/")
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                self.say(f"Error: The file {m[1]} does not exist.")
                return
            why = check(text)
            if why:
                self.say(why)
                return
            self.candidate = text
            self.say("Info: The configuration file is loaded. Run the commit command to make "
                     "it take effect.")  # fmt: skip
            return
        if cmd == "clear configuration candidate":
            self.candidate = None
            return
        m = re.fullmatch(r"commit(?: trial (\d+))?(?: label (\S+))?", cmd)
        if m:
            return self._commit(int(m[1]) if m[1] else None, m[2])
        if cmd == "abort trial":
            if not end_trial(True):
                self.say("Error: The system is not in trial configuration mode.")
            return
        m = re.fullmatch(r"sysname (\S+)", cmd)
        if m:
            base = self.candidate or running()
            self.candidate = re.sub(r"^sysname \S+", f"sysname {m[1]}", base, count=1, flags=re.M)
            return
        self._unknown(cmd)

    def _commit(self, trial: int | None, label: str | None) -> None:
        if self.candidate is None or self.candidate == running():
            if trial is None and end_trial(False):
                return  # `commit` in a trial confirms it
            self.candidate = None
            return
        if _read("trial.json", None):
            self.say("Error: The system is in trial configuration mode. Confirm or abort it "
                     "first.")  # fmt: skip
            return
        commit(self.candidate, label, trial=trial)
        self.candidate = None
        if trial is not None:
            self.say("Info: The system enters the trial configuration mode.",
                     "The system will revert to previous configuration if the trial "
                     f"configuration is not confirmed in {trial} seconds.")  # fmt: skip

    def _display(self, what: str) -> None:
        if what in ("current-configuration", "cur", "current"):
            self.say(f"!Software Version {VERSION}", *running().rstrip("\n").splitlines(),
                     "return")  # fmt: skip
        elif what == "configuration candidate changes":
            self.say("Building configuration")
            if self.candidate is not None:
                self.say(*changes(running(), self.candidate))
        elif what == "configuration commit list":
            for i, c in enumerate(reversed(_read("commits.json", [])), 1):
                self.say(f"{i}) CommitId: {c['id']}", f"        Label: {c['label']}")
        elif what == "version":
            model = os.environ.get("WANKA_VRP_MODEL", "CE6800")
            self.say("Huawei Versatile Routing Platform Software",
                     f"VRP (R) software, Version 8.230 ({model} {VERSION})",
                     f"HUAWEI {model} uptime is 0 day, 0 hour, 1 minute")  # fmt: skip
        elif what == "bgp peer":
            self._bgp()
        elif what == "lldp neighbor brief":
            self.say("Local Interface         Exptime(s) Neighbor Interface      Neighbor Device",
                     "-" * 79)  # fmt: skip
            for n in _read("lldp.json", []):
                self.say(f"{n['local']:<24}{n['ttl']:>10}  {n['port']:<24}{n['name']}")
        elif what == "interface brief":
            self.say("PHY: Physical", "*down: administratively down",
                     "Interface                  PHY      Protocol  InUti OutUti   inErrors  "
                     "outErrors")  # fmt: skip
            for name, up in _read("links.json", {}).items():
                state = "up" if up else "down"
                self.say(f"{name:<25}{state:<9}{state:<10}0%     0%          0          0")
        else:
            self._unknown(f"display {what}")

    def _bgp(self) -> None:
        tree = vrp_parse.config(running())
        bgp = next(iter(tree.find("bgp")), None)
        if bgp is None:
            self.say("Info: The BGP is not enabled.")
            return
        rid = next((c.line.split()[1] for c in bgp.find("router-id")), "0.0.0.0")
        states = _read("bgp.json", {})
        peers = [c.line.split() for c in bgp.find("peer") if " as-number " in c.line]
        up = [p for p in peers if states.get(p[1], {}).get("state") == "Established"]
        self.say("", f" BGP local router ID : {rid}", f" Local AS number : {bgp.line.split()[1]}",
                 f" Total number of peers : {len(peers)}                 Peers in established "
                 f"state : {len(up)}", "",
                 "  Peer            V    AS  MsgRcvd  MsgSent  OutQ  Up/Down       State PrefRcv",
                 "")  # fmt: skip
        for p in peers:
            s = states.get(p[1], {})
            self.say(f"  {p[1]:<15} 4 {p[3]:>5} {0:>8} {0:>8} {0:>5} {'00:00:00':>8} "
                     f"{s.get('state', 'Idle'):>11} {s.get('prefixes', 0):>7}")  # fmt: skip

    def _unknown(self, cmd: str) -> None:
        self.say(" " * (len(self.prompt()) + 1) + "^", UNKNOWN)


def serve(inp: TextIO, out: TextIO) -> int:
    s = Session(out)
    out.write(s.prompt())
    out.flush()
    for raw in inp:
        try:
            s.line(raw.rstrip("\r\n"))
        except EOFError:
            out.flush()
            return 0
        if s.ask is None:
            out.write(s.prompt())
        out.flush()
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--revert-after"]:
        return revert_after(float(argv[1]), argv[2])
    try:
        (_dir() / "flash").mkdir(parents=True, exist_ok=True)
    except Failed as e:
        print(e, file=sys.stderr)
        return 1
    return serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
