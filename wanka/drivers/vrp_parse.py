"""Parsers of what a Huawei CloudEngine (VRP) switch prints, for the applier and the fabric checks.

Each is tested against captured outputs (tests/captures/vrp/, each file with its `# source:`
line: napalm-ce's and gnetcli's mocks, ntc-templates' raw outputs, the CE6800 V300 manuals):

* `display bgp peer`: the header (router ID, local AS, peers in established state: on one
  line in V300's output, on two in older ones, `BGP local router ID` or `BGP Local router ID`)
  and one row per peer: Peer, V, AS (`635.88` is asdot), MsgRcvd, MsgSent, OutQ, Up/Down,
  State, PrefRcv;
* `display lldp neighbor brief`: Local Interface, Exptime(s), Neighbor Interface, Neighbor
  Device (a local port with two neighbours has two rows);
* `display interface brief`: the legend, then Interface, PHY, Protocol, InUti, OutUti,
  inErrors, outErrors; PHY `*down` is administratively down, `^down` standby, a `(x)` suffix a
  flag of the legend (`up(s)`: spoofing);
* `display version`: the VRP version, the product version in parentheses and the model
  (`HUAWEI CE6850-48S6Q-HI uptime is ...`);
* a configuration (`display current-configuration`, or a file for `load configuration`): a
  tree of views, by indentation; `!` lines are the dump's header comments, `#` separates
  blocks, `return` ends a dump.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BgpPeer:
    peer: str
    asn: str  # as printed: "200", or asdot "635.66"
    state: str  # Established, Idle, Active, Connect, OpenSent, OpenConfirm
    up_down: str
    prefixes: int


@dataclass(frozen=True, slots=True)
class BgpSummary:
    router_id: str | None
    local_as: str | None
    peers: list[BgpPeer]


_PEER_ROW = re.compile(
    r"^\s*(?P<peer>[0-9A-Fa-f.:]+)\s+\d+\s+(?P<asn>\d+(?:\.\d+)?)\s+\d+\s+\d+\s+\d+\s+"
    r"(?P<updown>\S+)\s+(?P<state>[A-Za-z]+)\s+(?P<pref>\d+)\s*$"
)
_ROUTER_ID = re.compile(r"BGP\s+[Ll]ocal\s+router\s+ID\s*:\s*(\S+)")
_LOCAL_AS = re.compile(r"[Ll]ocal\s+AS\s+number\s*:\s*(\S+)")


def bgp_peers(text: str) -> BgpSummary:
    """`display bgp peer` -> its router id, local AS and peers."""
    rid = _ROUTER_ID.search(text)
    las = _LOCAL_AS.search(text)
    peers = []
    for line in text.splitlines():
        m = _PEER_ROW.match(line)
        if m:
            peers.append(BgpPeer(m["peer"], m["asn"], m["state"], m["updown"], int(m["pref"])))
    return BgpSummary(rid[1] if rid else None, las[1] if las else None, peers)


@dataclass(frozen=True, slots=True)
class LldpNeighbour:
    local: str
    neighbour_port: str
    neighbour: str  # its system name
    expires_s: int


_LLDP_ROW = re.compile(r"^(?P<local>\S+)\s+(?P<exp>\d+)\s+(?P<port>\S+)\s+(?P<dev>\S+)\s*$")


def lldp_neighbours(text: str) -> list[LldpNeighbour]:
    """`display lldp neighbor brief` -> one entry per row."""
    out = []
    for line in text.splitlines():
        m = _LLDP_ROW.match(line.rstrip())
        if m and not line.startswith("Local"):
            out.append(LldpNeighbour(m["local"], m["port"], m["dev"], int(m["exp"])))
    return out


@dataclass(frozen=True, slots=True)
class InterfaceState:
    name: str
    phy: str  # up | down | admin-down | standby
    protocol: str  # up | down
    flags: tuple[str, ...]  # the legend's letters: ("s",) for up(s)
    in_errors: int
    out_errors: int


_IF_ROW = re.compile(
    r"^(?P<name>\S+)\s+(?P<phy>[*^]?(?:up|down)(?:\([a-z]+\))?)\s+"
    r"(?P<proto>(?:up|down)(?:\([a-z]+\))?)\s+\S+%\s+\S+%\s+(?P<ine>\d+)\s+(?P<oute>\d+)\s*$"
)
_FLAG = re.compile(r"\(([a-z]+)\)")


def interfaces(text: str) -> dict[str, InterfaceState]:
    """`display interface brief` -> its rows by interface name."""
    out: dict[str, InterfaceState] = {}
    for line in text.splitlines():
        m = _IF_ROW.match(line)
        if not m:
            continue
        phy_raw, proto_raw = m["phy"], m["proto"]
        flags = tuple(_FLAG.findall(phy_raw) + _FLAG.findall(proto_raw))
        phy = _FLAG.sub("", phy_raw)
        phy = {"*down": "admin-down", "^down": "standby"}.get(phy, phy)
        out[m["name"]] = InterfaceState(
            m["name"], phy, _FLAG.sub("", proto_raw), flags, int(m["ine"]), int(m["oute"])
        )
    return out


@dataclass(frozen=True, slots=True)
class Version:
    vrp: str | None  # "8.100"
    release: str | None  # "CE6850HI V100R005C10SPC200"
    model: str | None  # "CE6850-48S6Q-HI"


_VRP = re.compile(r"VRP \(R\) software, Version (\S+)(?: \(([^)]*)\))?")
_MODEL = re.compile(r"^HUAWEI (\S+) uptime is", re.M)


def version(text: str) -> Version:
    """`display version` -> the VRP version, the release and the model."""
    v = _VRP.search(text)
    m = _MODEL.search(text)
    return Version(v[1] if v else None, v[2] if v else None, m[1] if m else None)


@dataclass(slots=True)
class View:
    """One command of a configuration and the commands of the view it enters."""

    line: str
    children: list[View] = field(default_factory=list)

    def find(self, prefix: str) -> list[View]:
        return [c for c in self.children if c.line == prefix or c.line.startswith(prefix + " ")]

    def lines(self, depth: int = 0) -> list[str]:
        """The view's commands as `display current-configuration` prints them."""
        out = []
        for c in self.children:
            out.append(" " * depth + c.line)
            out.extend(c.lines(depth + 1))
        return out


class ConfigError(ValueError):
    """A configuration file `load configuration` would refuse: the line and why."""


def config(text: str) -> View:
    """A configuration -> its tree of views (the root holds the system-view commands).

    A command indented one space more than the one before enters that one's view; `#` lines
    only separate blocks and must be aligned with the block they precede. A jump of more than
    one level, or a `return`/`quit`/`commit` inside (`return` ends a dump), is a ConfigError,
    as `load configuration` documents."""
    root = View("")
    stack: list[View] = [root]  # stack[d] holds the commands of depth d
    mark: tuple[int, int] | None = None  # (line, depth) of a '#' before the next command
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line or line.startswith("!"):
            continue
        depth = len(line) - len(line.lstrip(" "))
        word = line.strip()
        if word == "#":
            mark = (no, depth)
            continue
        if mark is not None and mark[1] != depth and not (word == "return" and depth == 0):
            raise ConfigError(
                f"line {mark[0]}: '#' indented {mark[1]}, but the block after it {depth}"
            )
        mark = None
        if word == "return" and depth == 0:
            break
        if word in ("quit", "commit", "return"):
            raise ConfigError(f"line {no}: '{word}' is not a configuration command")
        if depth > len(stack) - 1:
            raise ConfigError(
                f"line {no}: indented {depth}, but the view above is {len(stack) - 1}"
            )
        del stack[depth + 1 :]
        node = View(word)
        stack[depth].children.append(node)
        stack.append(node)
    return root
