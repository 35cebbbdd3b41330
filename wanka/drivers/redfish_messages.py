"""What wanka.drivers.redfish reads out of a Redfish answer: the messages a service says
beside it (DSP0266 `@Message.ExtendedInfo`), a NIC's MAC, and an error's text shortened."""

from __future__ import annotations

from typing import Any


def clip(text: str, limit: int, *, tail: bool = False) -> str:
    """`text` in at most about `limit` characters, cut between words and marked with `...`
    where it was cut (`tail`: its end kept, as a TLS error says what failed last)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if tail:
        cut = text[-limit:]
        whole = text[-limit - 1] == " " or " " not in cut  # begins a word, or is one
        return "..." + (cut if whole else cut.split(" ", 1)[1]).lstrip()
    cut = text[:limit]
    whole = text[limit] == " " or " " not in cut
    return (cut if whole else cut.rsplit(" ", 1)[0]).rstrip() + "..."


def extended(body: Any) -> list[dict[str, Any]]:
    """The Redfish messages of an answer (DSP0266 `@Message.ExtendedInfo`): at its top, in
    its `error` object (an answer of HPE iLO to a successful PATCH), and on each property
    (`Name@Message.ExtendedInfo`)."""
    if not isinstance(body, dict):
        return []
    out: list[dict[str, Any]] = []
    for key, value in body.items():
        if key == "error" and isinstance(value, dict):
            out.extend(extended(value))
        elif key.endswith("@Message.ExtendedInfo") and isinstance(value, list):
            out.extend(m for m in value if isinstance(m, dict))
    return out


def said(m: dict[str, Any]) -> str:
    """A message as the BMC said it: its text, else its id and arguments."""
    text = m.get("Message") or ""
    if not text and m.get("MessageId"):
        args = ", ".join(str(a) for a in m.get("MessageArgs") or [])
        text = str(m["MessageId"]) + (f" ({args})" if args else "")
    related = ", ".join(str(p) for p in m.get("RelatedProperties") or [])
    return str(text) + (f" [{related}]" if related and text else "")


def severity(m: dict[str, Any]) -> str:
    return str(m.get("MessageSeverity") or m.get("Severity") or "")


# messages of a 200 answer that say a property of the request was not applied (DMTF's Base
# registry): the service did the rest, so the answer is a success the caller must not trust
NOT_APPLIED = (
    "PropertyValueNotInList", "PropertyNotWritable", "PropertyUnknown", "PropertyValueTypeError",
    "PropertyValueFormatError", "PropertyValueIncorrect", "PropertyValueError",
    "PropertyValueOutOfRange", "PropertyNotUpdated", "PropertyValueModified",
)  # fmt: skip


def refused(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages that say a request was not (wholly) applied: a property of NOT_APPLIED,
    or severity Critical."""
    out = []
    for m in messages:
        name = str(m.get("MessageId", "")).rsplit(".", 1)[-1]
        if severity(m) == "Critical" or name in NOT_APPLIED:
            out.append(m)
    return out


def mac_of(resource: dict[str, Any]) -> str | None:
    """The MAC of an EthernetInterface or of a NetworkDeviceFunction (its `Ethernet`), the
    permanent one where given, lower case."""
    eth = resource.get("Ethernet")
    where = eth if isinstance(eth, dict) else resource
    mac = where.get("PermanentMACAddress") or where.get("MACAddress")
    return str(mac).lower() if mac else None
