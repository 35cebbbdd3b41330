"""What the providers share: the engine's unknown value, the error, the change test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# values the engine does not know yet during a preview (pulumi.runtime.rpc.UNKNOWN)
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class ProviderError(Exception):
    """A provider could not do what was asked; the message says what and where."""


def changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    """The keys of `keys` whose values differ (an unknown new value counts as a change)."""
    return [k for k in keys if news.get(k) == UNKNOWN or olds.get(k) != news.get(k)]
