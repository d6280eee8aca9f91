"""The table codec reads what Faust's json codec wrote to a changelog, and writes what it can read."""

from __future__ import annotations

from typing import Any

from faust.serializers.codecs import get_codec
from hypothesis import given
from hypothesis import strategies as st

from iocsim.streams.state import StateJson

_SCALARS = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text()
_JSON = st.recursive(
    _SCALARS | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@given(_JSON)
def test_a_value_faust_wrote_reads_back_the_same(value: Any) -> None:
    assert StateJson().loads(get_codec("json").dumps(value)) == value


@given(_JSON)
def test_a_value_written_reads_back_the_same_through_faust(value: Any) -> None:
    assert get_codec("json").loads(StateJson().dumps(value)) == value


def test_a_camera_state_keeps_every_float_exactly() -> None:
    state = {"p": 3, "s": {"recent_people": [0.1 + 0.2, 1e-300, 2.5e17, -0.0], "light": None}}
    assert StateJson().loads(StateJson().dumps(state)) == state
