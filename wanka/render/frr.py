"""Render: frr.conf and daemons of a routed Debian/FRR switch from its derived routing
(derive.routing).

`daemons` is /etc/frr/daemons, which Debian's frr init script sources: the package ships every
daemon off (`bgpd=no`), so a switch configured only with frr.conf would start zebra and nothing
else. The file lists the same daemons as the shipped one, on where the switch needs them (bgpd;
bfdd when its sessions use BFD), with the shipped listen options of those it runs.
"""

from __future__ import annotations

from wanka import templates
from wanka.derive.routing import SwitchRouting, fields_of

# the daemons Debian's /etc/frr/daemons lists (zebra, staticd and watchfrr always run)
DAEMONS = (
    "bgpd", "ospfd", "ospf6d", "ripd", "ripngd", "isisd", "pimd", "pim6d", "ldpd", "nhrpd",
    "eigrpd", "babeld", "sharpd", "pbrd", "bfdd", "fabricd", "vrrpd", "pathd",
)  # fmt: skip
# the shipped options: listen on loopback only; zebra's netlink buffer of 90 MB
OPTIONS = {
    "zebra": "  -A 127.0.0.1 -s 90000000",
    "bgpd": "   -A 127.0.0.1",
    "staticd": "-A 127.0.0.1",
    "bfdd": "   -A 127.0.0.1",
}


def render_frr(r: SwitchRouting) -> str:
    """frr.conf of one switch (FRR's integrated configuration, /etc/frr/frr.conf)."""
    return templates.render("frr.conf.j2", **fields_of(r))


def render_daemons(r: SwitchRouting) -> str:
    """/etc/frr/daemons of one switch: bgpd on, bfdd on when it uses BFD, the rest off."""
    wanted = ["bgpd", *(["bfdd"] if r.bfd else [])]
    return templates.render(
        "daemons.j2",
        hostname=r.hostname,
        wanted=wanted,
        daemons=[(d, "yes" if d in wanted else "no") for d in DAEMONS],
        options=[(d, OPTIONS[d]) for d in ("zebra", *wanted, "staticd")],
    )
