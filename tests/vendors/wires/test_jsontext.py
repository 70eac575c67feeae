"""jsontext.loads is json.loads: the same value, or the same error, for any text or bytes."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vendors.wires import jsontext

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


def outcome(fn, text):
    try:
        return ("ok", fn(text))
    except Exception as exc:  # the same class and message as json.loads gives
        return (type(exc).__name__, str(exc))


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from(["", " ", "\n", "\ufeff"]), st.sampled_from(["", " ", "\n", "x", ",1"]),
       st.booleans(), st.booleans())
def test_the_same_value_or_error_as_json_loads(value, before, after, as_bytes, ascii_only) -> None:
    text = before + json.dumps(value, ensure_ascii=ascii_only) + after
    arg = text.encode() if as_bytes else text
    assert outcome(jsontext.loads, arg) == outcome(json.loads, arg)


@pytest.mark.parametrize("text", ['{"a": }', "[1, 2", "", "NaN", '"\ud800"', b"\xff\xfe{\x00}\x00",
                                  b'\xef\xbb\xbf{"a":1}', '{"a":1}{"b":2}', "[" * 100_000])
def test_edge_cases(text) -> None:
    got, want = outcome(jsontext.loads, text), outcome(json.loads, text)
    if got[0] == "ok" and isinstance(got[1], float) and math.isnan(got[1]):
        assert want[0] == "ok" and math.isnan(want[1])
    else:
        assert got == want
