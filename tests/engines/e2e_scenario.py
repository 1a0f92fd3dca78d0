"""The end-to-end scenario of `shequn run` over the real engines (see test_run_cli_engine)."""

from __future__ import annotations

import json
from typing import Any

T0 = 1_709_258_400  # 2024-03-01 02:00 UTC, 10:00 in Shanghai
DAY = 86_400

PLAYBOOK = """
version = 1
community = "makers"

[[groups]]
platform = "telegram"
id = "g1"
cap = 20
timezone = "Asia/Shanghai"

[[team.members]]
member = "telegram:owner"
role = "owner"

[screening]
enabled = true
time_limit = "10m"
decision = "auto"
on_timeout = "reject"
before_passing = "delete"
clean_failed = true
welcome = "Welcome! No ads, be kind."

[[screening.questions]]
ask = "What do you make?"
accept = ["furniture", "robots"]

[[rules]]
id = "no-ads"
kind = "banned_words"
words = ["代购"]
window = "24h"
penalty = [
  { at = 1, action = "warn" },
  { at = 2, action = "mute", duration = "10m" },
  { at = 3, action = "remove", block_rejoin = true },
]

[[rules]]
id = "no-new-links"
kind = "links"
min_member_days = 3
penalty = [{ at = 1, action = "warn" }]

[metabolism]
enabled = true
at_share = 0.95
down_to_share = 0.9
protect_new_days = 14
notify_first = true
grace = "1h"

[points.actions.check_in]
points = 2

[points.deductions]
warn = 5

[checkins]
enabled = true
keywords = ["签到"]

[checkins.streak_bonus]
2 = 3
"""

#: 18 members of a group capped at 20: the 19th makes it 95 % full
ROSTER = ["vic", "cat", *(f"m{i:02d}" for i in range(1, 16)), "quiet"]


def scenario() -> list[dict[str, Any]]:
    """The stored log: EVENT_SCHEMA fields (ts in epoch seconds; platform telegram, g1)."""

    def msg(ts: int, who: str, text: str) -> dict[str, Any]:
        return {"kind": "message_posted", "ts": ts, "member_id": who, "text": text}

    def request(ts: int, who: str, answers: list[str] | None) -> dict[str, Any]:
        extra = json.dumps({"answers": answers}) if answers is not None else None
        return {"kind": "join_requested", "ts": ts, "member_id": who, "extra": extra}

    log: list[dict[str, Any]] = [
        {"kind": "member_listed", "ts": T0 - 30 * DAY, "member_id": who} for who in ROSTER
    ]
    # everyone but "quiet" has spoken the day before
    log += [msg(T0 - DAY + i, who, "hello") for i, who in enumerate(ROSTER[:-1])]
    log += [
        request(T0, "fay", ["spam bot"]),  # fails the question
        request(T0 + 60, "tim", None),  # never answers: times out at T0 + 660
        # a newcomer passes screening and joins: the group holds 19 of 20 — "quiet" is
        # warned, and removed an hour later while the group is silent; then posts a link
        request(T0 + 1800, "pat", ["furniture"]),
        {
            "kind": "member_joined",
            "ts": T0 + 1810,
            "member_id": "pat",
            "join_method": "request_approved",
        },
        msg(T0 + 2000, "pat", "my shop: https://example.com/chairs"),
        # a member climbs the ladder of no-ads to removal (the third after the mute)
        msg(T0 + 7200, "vic", "代购 cheap bags"),
        msg(T0 + 7260, "vic", "代购 again"),
        msg(T0 + 8000, "vic", "last chance 代购"),
        # check-ins at 23:59 and 00:01 in Shanghai: two days
        msg(T0 + 13 * 3600 + 59 * 60, "cat", "签到"),
        msg(T0 + 14 * 3600 + 60, "cat", "签到"),
    ]
    return log
