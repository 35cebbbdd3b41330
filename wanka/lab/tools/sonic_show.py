"""`show interfaces status` and `show runningconfiguration all` of a lab SONiC switch
(wanka.lab.tools.sonic)."""

from __future__ import annotations

from wanka.lab.tools import sonic_cfggen
from wanka.lab.tools.server import UsageError
from wanka.lab.tools.sonic import HEADER, read_db, status_rows, table


def main(argv: list[str]) -> int:
    if argv == ["interfaces", "status"]:
        print(table(HEADER, status_rows(read_db())), end="")
        return 0
    if argv == ["runningconfiguration", "all"]:
        return sonic_cfggen.main(["-d", "--print-data"])
    raise UsageError("usage (lab): show interfaces status | show runningconfiguration all")
