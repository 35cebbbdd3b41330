"""The readable JSON writer round-trips every JSON value."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from wanka import jsonfmt

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@given(VALUES)
def test_round_trip(value: object) -> None:
    text = jsonfmt.dumps(value)
    assert json.loads(text) == value
    assert text.endswith("\n")


def test_flat_objects_stay_on_one_line() -> None:
    text = jsonfmt.dumps({"device": [{"device_id": "0", "rank_id": "0"}]})
    assert '    {"device_id": "0", "rank_id": "0"}' in text.splitlines()
