"""The SONiC applier (split routing mode) of wanka.drivers.switch: config_db.json merged into
CONFIG_DB with `config load`, checked field by field, then bgpd.conf by the FRR applier for
bgpd alone in the bgp container; CONFIG_DB put back with `config reload` when a step is
refused or does not hold (wanka.drivers.switch's docstring has the whole sequence).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from wanka.drivers.switch import (
    Done,
    Frr,
    Mismatch,
    Refused,
    Result,
    SwitchError,
    Transport,
    _last,
    staged,
)


class Sonic:
    """SONiC in split routing mode: config_db.json merged into CONFIG_DB with `config load`,
    and bgpd's configuration (bgpd.conf) applied in the bgp container by `Frr` for bgpd alone
    (`frr-reload.py --daemon bgpd`: split mode's vtysh.conf says `no service
    integrated-vtysh-config`). The diff: every field of the rendered file CONFIG_DB does not
    hold yet (`sonic-cfggen -d --print-data`), then FRR's. After `config load` every rendered
    field must be in CONFIG_DB; when it is not, or FRR refuses or does not hold bgpd.conf, the
    previous CONFIG_DB is put back with `config reload -y -f` of the one read before (and
    checked equal). Once both hold, `config save -y` writes /etc/sonic/config_db.json."""

    os = "sonic"

    def __init__(
        self,
        t: Transport,
        *,
        container: Sequence[str] = ("docker", "exec", "-i", "bgp"),
        cli: str | None = None,
        **kw: Any,
    ) -> None:
        self.t = t
        self.cli = cli  # the directory of config / sonic-cfggen (None: the switch's PATH)
        self.frr = Frr(t, prefix=container, daemon="bgpd", **kw)  # the lab, no containers: ()

    def _cmd(self, tool: str) -> str:
        return f"{self.cli}/{tool}" if self.cli else tool

    def db(self) -> dict[str, Any]:
        """CONFIG_DB as `sonic-cfggen -d --print-data` prints it."""
        r = self.t.run([self._cmd("sonic-cfggen"), "-d", "--print-data"])
        if r.rc != 0:
            raise SwitchError(f"{self.t.where}: sonic-cfggen -d --print-data: {_last(r)}")
        try:
            data = json.loads(r.out)
        except json.JSONDecodeError as e:
            raise SwitchError(f"{self.t.where}: sonic-cfggen printed no JSON: {e}") from None
        return data if isinstance(data, dict) else {}

    def running(self) -> str:
        return self.frr.running()

    def delta(self, config: str, config_db: str | None = None) -> list[str]:
        out = db_delta(_want(self.t, config_db), self.db()) if config_db is not None else []
        return out + self.frr.delta(config)

    def _load(self, path: str, mode: str) -> Done:
        flags = ["-y", "-f"] if mode == "reload" else ["-y"]
        r = self.t.run([self._cmd("config"), mode, *flags, path])
        if "doesn't exist" in r.out:  # config load/reload of a missing file exits 0
            return Done(1, r.out, r.err)
        return r

    def apply(
        self,
        config: str,
        *,
        dry_run: bool = False,
        keep: str | None = None,
        config_db: str | None = None,
    ) -> Result:
        if config_db is None:
            raise SwitchError(f"{self.t.where}: a SONiC switch needs its config_db.json")
        want = _want(self.t, config_db)
        before = self.db()
        delta = db_delta(want, before)
        if dry_run:
            fd = self.frr.delta(config)
            return Result(bool(delta or fd), delta + fd, "")
        if delta:
            with staged(self.t, config_db, "config_db.json") as path:
                r = self._load(path, "load")
            left = db_delta(want, self.db()) if r.rc == 0 else []
            if r.rc != 0 or left:
                restored = self._restore(before)
                if r.rc != 0:
                    raise Refused(
                        f"{self.t.where}: config load refused config_db.json ({_last(r)}); "
                        + restored
                    )
                raise Mismatch(
                    f"{self.t.where}: config_db.json loaded, but CONFIG_DB differs from it in "
                    f"{len(left)} field(s) ({'; '.join(left[:5])}); " + restored
                )
        try:
            done = self.frr.apply(config, keep=keep)
        except SwitchError as e:
            if delta:
                raise type(e)(f"{e}; CONFIG_DB: " + self._restore(before)) from None
            raise
        if delta:
            r = self.t.run([self._cmd("config"), "save", "-y"])
            if r.rc != 0:
                raise SwitchError(f"{self.t.where}: config save: {_last(r)}")
        return Result(bool(delta) or done.changed, delta + done.delta, done.before)

    def _restore(self, before: dict[str, Any]) -> str:
        """CONFIG_DB back to `before` (config reload of it); say how that went."""
        try:
            with staged(self.t, json.dumps(before, indent=4), "config_db.json") as path:
                r = self._load(path, "reload")
            now = self.db() if r.rc == 0 else {}
        except SwitchError as e:
            return f"and the previous CONFIG_DB could not be put back: {e}"
        if r.rc != 0 or now != before:
            left = db_delta(before, now) + db_delta(now, before)
            return (
                "and the previous CONFIG_DB could not be put back entirely "
                f"({'; '.join(left[:5]) or _last(r)})"
            )
        return "the previous CONFIG_DB is back"


def _want(t: Transport, config_db: str) -> dict[str, Any]:
    try:
        want = json.loads(config_db)
    except json.JSONDecodeError as e:
        raise Refused(f"{t.where}: config_db.json is not JSON ({e}); nothing changed") from None
    if not isinstance(want, dict):
        raise Refused(f"{t.where}: config_db.json is not an object of tables; nothing changed")
    for table, entries in want.items():  # what `config load` can merge: {TABLE: {key: {..}}}
        if not isinstance(entries, dict) or not all(isinstance(f, dict) for f in entries.values()):
            raise Refused(
                f"{t.where}: config_db.json: table {table} is not an object of entries, each "
                "an object of fields; nothing changed"
            )
    return want


def db_delta(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[str]:
    """What CONFIG_DB (`have`) lacks of `want`, as `config load` merges it: `+ TABLE|key
    field=value` for a field missing or different (`- TABLE|key field=old` before it when it
    differs), `+ TABLE|key` for an empty entry missing. Entries and fields `want` does not
    name are left to the switch and not listed."""
    out: list[str] = []
    for table, entries in want.items():
        held = have.get(table) or {}
        for key, fields in (entries or {}).items():
            cur = held.get(key)
            if cur is None and not fields:
                out.append(f"+ {table}|{key}")
            for f, v in (fields or {}).items():
                old = (cur or {}).get(f)
                if old == str(v):
                    continue
                if old is not None:
                    out.append(f"- {table}|{key} {f}={old}")
                out.append(f"+ {table}|{key} {f}={v}")
    return out
