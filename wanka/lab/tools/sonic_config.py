"""`config load|reload|save` of a lab SONiC switch, as sonic-utilities' config/main.py
behaves (tests/captures/sonic/config_cli.txt; wanka.lab.tools.sonic)."""

from __future__ import annotations

import json
from pathlib import Path

from wanka.lab.tools import sonic_cfggen
from wanka.lab.tools.server import Failed, UsageError
from wanka.lab.tools.sonic import CFGGEN, locked, merge, read_db, read_file, saved_path, write_db


def _flags(argv: list[str], known: str) -> tuple[set[str], list[str]]:
    flags, rest = set(), []
    for a in argv:
        if a.startswith("-"):
            f = {"--yes": "-y", "--force": "-f"}.get(a, a)
            if f not in known.split():
                raise UsageError(f"Error: No such option: {a}")
            flags.add(f)
        else:
            rest.append(a)
    if len(rest) > 1:
        raise UsageError(f"Error: Got unexpected extra argument ({rest[1]})")
    return flags, rest


def _confirm(flags: set[str], message: str) -> None:
    if "-y" not in flags:  # click.confirm on a closed stdin: aborted
        print(f"{message} [y/N]: ")
        raise Failed("Aborted!")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("load", "reload", "save"):
        raise UsageError("usage (lab): config load|reload|save [-y] [FILENAME]")
    cmd, rest = argv[0], argv[1:]
    if cmd == "load":
        flags, files = _flags(rest, "-y")
        name = files[0] if files else str(saved_path())
        _confirm(flags, f"Load config from the file(s) {files[0]} ?" if files else
                 "Load config from the default config file(s) ?")  # fmt: skip
        if not Path(name).exists():
            print(f"The config_db file {name} doesn't exist")
            return 0
        print(f"Running command: {CFGGEN} -j {name} --write-to-db")
        return sonic_cfggen.main(["-j", name, "--write-to-db"])
    if cmd == "reload":
        flags, files = _flags(rest, "-y -f")
        name = files[0] if files else str(saved_path())
        _confirm(flags, "Clear current config and reload config in config_db from the file(s) "
                 f"{name} ?")  # fmt: skip
        if not Path(name).exists():
            print(f"The config file {name} doesn't exist")
            return 0
        data = read_file(name)
        with locked():
            write_db(merge({}, data))
        return 0
    flags, files = _flags(rest, "-y")
    _confirm(flags, "Existing files will be overwritten, continue?")
    name = files[0] if files else str(saved_path())
    print(f"Running command: {CFGGEN} -d --print-data > {name}")
    Path(name).write_text(json.dumps(read_db(), indent=4, sort_keys=True), encoding="utf-8")
    return 0
