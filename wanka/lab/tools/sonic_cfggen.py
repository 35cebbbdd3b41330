"""`sonic-cfggen` of a lab SONiC switch: `-d --print-data` prints CONFIG_DB, `-j FILE
--write-to-db` merges FILE into it (wanka.lab.tools.sonic)."""

from __future__ import annotations

import json

from wanka.lab.tools.server import UsageError
from wanka.lab.tools.sonic import locked, merge, read_db, read_file, write_db


def main(argv: list[str]) -> int:
    if argv == ["-d", "--print-data"]:
        print(json.dumps(read_db(), indent=4, sort_keys=True))
        return 0
    if len(argv) == 3 and argv[0] == "-j" and argv[2] == "--write-to-db":
        data = read_file(argv[1])
        with locked():
            write_db(merge(read_db(), data))
        return 0
    raise UsageError(
        "usage (lab): sonic-cfggen -d --print-data | sonic-cfggen -j FILE --write-to-db"
    )
