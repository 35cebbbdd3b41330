"""Huawei NPU software versions: parse them, order them, and test one against a range.

The one comparator of wanka: the SW-FIRMWARE-RANGE rule, the lab's emulated npu-smi and the
Ansible module wanka_node all use this file, so `wanka validate` and `wanka verify` agree. The
modules get it as `ansible.module_utils.wanka_version` (playbooks/module_utils/wanka_version.py
is a link to this file), so it must stay standard library only and run on the Python the
hosts have (3.7 or later, as ansible-core 2.17+ requires of targets; the annotations are
never evaluated).

A version is components separated by dots, each a number (`7`, `231`) or a tag: letters
then a number (`rc3`, `RC2`, `T20`, `B210`, `alpha002`), as in the versions Huawei prints:
firmware `7.3.0.1.231`, driver `24.1.rc3` and `25.0.rc1.1`, CANN `8.0.RC2`, inner builds
`7.7.T20.0.B210`. Anything else (an empty component, `7.x`, `7.3.0-1`, `V100R001C15`) is a
`VersionError` with a message that says why, never a wrong answer.

Order, component by component from the left:
  * numbers numerically (`7.10` > `7.9`);
  * tags by their letters (case ignored: `24.1.RC3` == `24.1.rc3`), then their number
    (`rc10` > `rc9`);
  * a tag before any number: a release candidate comes before its release, as Huawei numbers
    them (CANN 8.0.RC1, 8.0.RC2, 8.0.RC3, then 8.0.0 and 8.1.RC1; driver 24.1.rc3 before
    24.1.0), so `8.0.RC2` < `8.0.0`;
  * a missing component counts as 0: `7.3` == `7.3.0`, `7.3` < `7.3.0.1`.

A range `[lo, hi]` (a driver's `compatible_version_fw=[7.0.0,7.2.99]`) is inclusive and
compared at each bound's precision: the version is cut to as many components as the bound
has. Firmware `7.3.0.1.231` is build 1.231 of release 7.3.0, and a bound written with three
components names releases, so `7.3.0.1.231` is inside `[7.0.0, 7.3.0]` and `7.2.99` takes
every build of 7.2.99; `7.3.0.1.231` is outside `[7.0.0, 7.2.99]` (the outage of 7.3
firmware under a 7.2.99 driver). A bound with more components than the version compares the
padded version: `7.3` is below `7.3.0.1`. A trailing dot, Huawei's own way of writing "and its
builds" (the firmware's `compatible_version_drv=[24.1,24.1.]`), reads as the same bound
without it. A missing bound (None or empty) leaves that side open.
"""

from __future__ import annotations

import re

__all__ = [
    "SHAPE",
    "VersionError",
    "above",
    "below",
    "compare",
    "in_range",
    "parse",
    "parse_range",
]

_NUMBER = re.compile(r"[0-9]+")
_TAG = re.compile(r"([A-Za-z]+)([0-9]+)")
_RANGE = re.compile(r"\s*\[\s*([^,\]]+?)\s*,\s*([^\]]+?)\s*\]")
SHAPE = "numbers or tags such as rc3 between dots, e.g. 7.3.0.1.231 or 24.1.rc3"


class VersionError(ValueError):
    """A string that is not a version; the message names the string and why (SHAPE says what
    a version looks like, for a hint)."""


def parse(text: object) -> tuple[tuple[int, str, int], ...]:
    """The sort key of a version: (1, "", n) per number, (0, letters, n) per tag."""
    if not isinstance(text, str):
        raise VersionError(f"{text!r} is not a version: not a string")
    s = text.strip()
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1]
    if not s:
        raise VersionError(f"{text!r} is not a version: it is empty")
    out = []
    for part in s.split("."):
        if _NUMBER.fullmatch(part):
            out.append((1, "", int(part)))
            continue
        m = _TAG.fullmatch(part)
        if m is None:
            what = f"{part!r} is neither a number nor a tag" if part else "an empty component"
            raise VersionError(f"{text!r} is not a version: {what}")
        out.append((0, m.group(1).lower(), int(m.group(2))))
    return tuple(out)


def _cut(key: tuple[tuple[int, str, int], ...], n: int) -> tuple[tuple[int, str, int], ...]:
    return key[:n] + ((1, "", 0),) * (n - len(key))


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as version a is below, equal to or above b (missing components are 0)."""
    ka, kb = parse(a), parse(b)
    n = max(len(ka), len(kb))
    x, y = _cut(ka, n), _cut(kb, n)
    return (x > y) - (x < y)


def above(version: str, bound: str) -> bool:
    """Whether version is above bound at the bound's precision (`7.3.0.1` is not above `7.3`)."""
    kb = parse(bound)
    return _cut(parse(version), len(kb)) > kb


def below(version: str, bound: str) -> bool:
    """Whether version is below bound at the bound's precision (`7.3` is below `7.3.0.1`)."""
    kb = parse(bound)
    return _cut(parse(version), len(kb)) < kb


def in_range(version: str, lo: str | None, hi: str | None) -> bool:
    """Whether version is inside [lo, hi], each bound compared at its own precision; a bound
    of None or "" is open. Raises VersionError if any of the three is not a version."""
    parse(version)  # a bad version is an error even with both bounds open
    return not (lo and below(version, lo)) and not (hi and above(version, hi))


def parse_range(text: object) -> tuple[str, str] | None:
    """(lo, hi) of a version.info range such as `compatible_version_fw=[7.0.0,7.2.99]`'s value,
    the first when several follow (`[23.0.rc3,23.0.rc3.],[23.0.0,23.0.0.]`); None when the text
    holds no `[lo,hi]`. The bounds are returned as written: `in_range` reads them."""
    m = _RANGE.match(text) if isinstance(text, str) else None
    return (m.group(1), m.group(2)) if m else None
