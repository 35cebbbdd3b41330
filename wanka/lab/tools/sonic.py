"""The SONiC CLI a lab switch of an `os: sonic` model presents: only the commands wanka's
Sonic applier and the verify role use, and only as far as SONiC's own sources and tests say
they behave (tests/captures/sonic/: config_cli.txt, show_interfaces_status.txt,
config_db_print_data.txt, each naming its source). This module holds CONFIG_DB and the
table; each command is the main of its own module (sonic_cfggen, sonic_config, sonic_show):

- `sonic-cfggen -d --print-data` prints CONFIG_DB; `sonic-cfggen -j FILE --write-to-db`
  merges FILE into it entry by entry, field by field (ConfigDBConnector.mod_entry);
- `config load [-y] FILE` (that merge, "Running command: ..." first), `config reload [-y] [-f]
  [FILE]` (CONFIG_DB flushed, then FILE or /etc/sonic/config_db.json loaded),
  `config save [-y] [FILE]` (CONFIG_DB written, sorted, indent 4);
- `show interfaces status`, intfutil's table: lanes, speed, MTU, FEC, alias, admin status and
  asymmetric PFC from CONFIG_DB (a real switch's APPL_DB holds what CONFIG_DB set), VLAN
  membership as `trunk`/`routed`, the oper status the kernel says of the namespace's interface
  of that name, transceiver type `N/A` (the lab has no optics);
- `show runningconfiguration all` prints CONFIG_DB as `sonic-cfggen -d --print-data` does.

CONFIG_DB is a JSON file (`$WANKA_SONIC_DIR/config_db.running.json`, the lab's stand-in for
redis), /etc/sonic/config_db.json is `$WANKA_SONIC_DIR/config_db.json`. What CONFIG_DB says is
not programmed into the lab's data plane (its veths): SONiC's orchagent has no stand-in here.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wanka.lab.tools.server import Failed

CFGGEN = "/usr/local/bin/sonic-cfggen"
HEADER = ("Interface", "Lanes", "Speed", "MTU", "FEC", "Alias", "Vlan", "Oper", "Admin", "Type",
          "Asym PFC")  # fmt: skip

Db = dict[str, dict[str, dict[str, str]]]


def _dir() -> Path:
    where = os.environ.get("WANKA_SONIC_DIR")
    if not where:
        raise Failed("WANKA_SONIC_DIR is not set: not a lab SONiC switch")
    return Path(where)


def running_path() -> Path:
    return _dir() / "config_db.running.json"


def saved_path() -> Path:
    return _dir() / "config_db.json"


@contextmanager
def locked() -> Iterator[None]:
    with open(_dir() / "config_db.lock", "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def read_db() -> Db:
    try:
        data = json.loads(running_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def write_db(db: Db) -> None:
    tmp = running_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(db, indent=4, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(running_path())


def read_file(path: str) -> Db:
    """A config_db file as sonic-cfggen -j reads it (json.load: a bad file is a traceback
    there; a message and exit 1 here)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise Failed(f"sonic-cfggen: cannot read {path}: {e}") from None
    if not isinstance(data, dict):
        raise Failed(f"sonic-cfggen: {path}: not a JSON object of tables")
    for table, entries in data.items():  # mod_config indexes each table by its keys
        if entries is not None and not isinstance(entries, dict):
            raise Failed(f"sonic-cfggen: {path}: table {table} is not an object of entries")
        for key, fields in (entries or {}).items():
            if fields is not None and not isinstance(fields, dict):
                raise Failed(f"sonic-cfggen: {path}: {table}|{key} is not an object of fields")
    return data


def merge(db: Db, data: Db) -> Db:
    """mod_config: per key of every table, the file's fields set and the others kept; an
    empty entry created when missing; a table or key given as null deleted."""
    out = {t: {k: dict(v) for k, v in entries.items()} for t, entries in db.items()}
    for table, entries in data.items():
        if not table[:1].isupper():  # output_to_db: only the upper-case tables reach the DB
            continue
        if entries is None:
            out.pop(table, None)
            continue
        have = out.setdefault(table, {})
        for key, fields in entries.items():
            if fields is None:
                have.pop(key, None)
            else:
                have.setdefault(key, {}).update({f: str(v) for f, v in fields.items()})
    return {t: e for t, e in out.items() if e}


def speed_text(mbps: str) -> str:
    """intfutil's port_speed_parse (no RJ45 here)."""
    speed = int(mbps)
    if speed < 1000:
        return f"{speed}M"
    if speed % 1000 >= 100:
        return f"{speed / 1000:.1f}G"
    return f"{speed / 1000:.0f}G"


def oper(name: str) -> str:
    try:
        state = Path(f"/sys/class/net/{name}/operstate").read_text(encoding="utf-8").strip()
    except OSError:
        return "down"
    return "up" if state == "up" else "down"


def _ename_key(name: str) -> tuple[str, int]:
    digits = name.lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return name[: len(name) - len(digits)], int(digits) if digits.isdigit() else -1


def status_rows(db: Db) -> list[list[str]]:
    vlan_members = {key.split("|", 1)[1] for key in db.get("VLAN_MEMBER", {}) if "|" in key}
    rows = []
    for name in sorted(db.get("PORT", {}), key=_ename_key):
        p = db["PORT"][name]
        rows.append([
            name, p.get("lanes", "N/A"), speed_text(p["speed"]) if "speed" in p else "N/A",
            p.get("mtu", "N/A"), p.get("fec", "N/A"), p.get("alias", "N/A"),
            "trunk" if name in vlan_members else "routed", oper(name),
            p.get("admin_status", "down"), "N/A", p.get("pfc_asym", "N/A"),
        ])  # fmt: skip
    return rows


def table(header: tuple[str, ...], rows: list[list[str]]) -> str:
    """tabulate's "simple" format, every column right-aligned (stralign='right'): a column is
    as wide as its widest cell, and at least its header plus 2."""
    widths = [max([len(h) + 2, *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines) + "\n"


def initial_db(hostname: str, ports: dict[str, dict[str, Any]], meta: dict[str, str]) -> Db:
    """CONFIG_DB as a switch boots before wanka configures it: DEVICE_METADATA and the
    platform's PORT table, every port administratively down."""
    port = {
        name: {**{k: str(v) for k, v in p.items()}, "admin_status": "down"}
        for name, p in ports.items()
    }
    return {"DEVICE_METADATA": {"localhost": {"hostname": hostname, **meta}}, "PORT": port}
