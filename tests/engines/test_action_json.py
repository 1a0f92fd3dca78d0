"""The runner's action JSON (``runner.json_encoder``) is ``json.dumps(…, ensure_ascii=False)``,
character for character: the stored ``extra`` of every action depends on it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.engines.runner import json_encoder

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()  # quotes, backslashes, control characters, CJK, lone surrogates
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(), VALUES, max_size=6))
def test_action_json_is_json_dumps_without_ascii_escapes(value: dict[str, Any]) -> None:
    assert json_encoder()(value) == json.dumps(value, ensure_ascii=False)


def test_an_action_as_the_runner_writes_it() -> None:
    action = {
        "action": "award_points",
        "engine": "scoring",
        "rule": "message",
        "details": {"points": 10, "daily_cap": None, "share": 0.25, "text": '签到 "ok"\n'},
        "cause": "k1",
    }
    assert json_encoder()(action) == (
        '{"action": "award_points", "engine": "scoring", "rule": "message", "details": '
        '{"points": 10, "daily_cap": null, "share": 0.25, "text": "签到 \\"ok\\"\\n"}, '
        '"cause": "k1"}'
    )
