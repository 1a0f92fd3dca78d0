"""Leaderboards — week / month / all time, per group, between groups (group honour),
as pure functions over the scoring state; the weekly post."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shequn.engines.base import Action, EngineEvent
from shequn.engines.runner import Runner
from shequn.engines.scoring import (
    ScoringEngine,
    ScoringState,
    Standing,
    community_leaderboard,
    leaderboard,
)
from shequn.playbook import parse_playbook

SH, LA = "wechat/sh", "wechat/la"
A, B, C, D = "wechat:a", "wechat:b", "wechat:c", "wechat:d"

PLAYBOOK = """
version = 1
community = "makers"

[[groups]]
platform = "wechat"
id = "sh"
name = "Shanghai"
timezone = "Asia/Shanghai"

[[groups]]
platform = "wechat"
id = "la"
name = "Los Angeles"
timezone = "America/Los_Angeles"

[[team.members]]
member = "wechat:owner"
role = "owner"

[points.deductions]
warn = 3

[leaderboards]
periods = ["week", "month", "all"]
between_groups = true
size = 2
"""

_keys = itertools.count()


def at(text: str, zone: str = "Asia/Shanghai") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp())


def give(member: str, points: int, ts: int, group: str = SH) -> EngineEvent:
    """A team award (how tests put exact points into the ledger), by the owner."""
    extra = {"action": "award_points", "engine": "team", "details": {"points": points}}
    return EngineEvent(
        f"g-{next(_keys)}",
        "action_taken",
        group,
        ts,
        member,
        actor="wechat:owner",
        text="",
        extra=json.dumps(extra),
    )


def warned(member: str, ts: int, group: str = SH) -> EngineEvent:
    """Moderation's warning, fed back as the runner feeds it."""
    extra = {"action": "warn", "engine": "moderation", "rule": "be-kind"}
    made = Action("warn", group, member, ts, "moderation", "warned", "be-kind")
    return EngineEvent(
        f"w-{next(_keys)}",
        "action_taken",
        group,
        ts,
        member,
        text="",
        extra=json.dumps(extra),
        action=made,
    )


def state_of(events: list[EngineEvent], text: str = PLAYBOOK) -> ScoringState:
    engine = ScoringEngine(parse_playbook(text))
    state = engine.start()
    for event in events:
        state, _ = engine.step(state, event)
    return state


def board(rows: list[Standing]) -> list[tuple[int, str, int]]:
    return [(s.rank, s.name, s.points) for s in rows]


MON = at("2026-03-02 10:00")  # Monday, week of 2 March
LAST_WEEK = at("2026-02-27 10:00")  # Friday before, still February
EVENTS = [
    give(A, 10, LAST_WEEK),
    give(B, 4, LAST_WEEK),
    give(B, 7, MON),
    give(C, 7, MON + 60),
    give(A, 2, MON + 120),
    warned(A, MON + 180),
    give(D, 50, MON, LA),
]


def test_week_month_and_all_time_per_group() -> None:
    state = state_of(EVENTS)
    assert board(leaderboard(state, "week", MON, SH)) == [(1, B, 7), (1, C, 7)]
    # A gained 2 and lost 3 this week: not listed
    assert board(leaderboard(state, "week", LAST_WEEK, SH)) == [(1, A, 10), (2, B, 4)]
    assert board(leaderboard(state, "month", MON, SH)) == [(1, B, 7), (1, C, 7)]
    assert board(leaderboard(state, "month", LAST_WEEK, SH)) == [(1, A, 10), (2, B, 4)]
    assert board(leaderboard(state, "all", MON, SH)) == [(1, B, 11), (2, A, 9), (3, C, 7)]
    assert board(leaderboard(state, "all", MON, SH, size=1)) == [(1, B, 11)]
    assert leaderboard(state, "week", MON, "wechat/unknown") == []


def test_between_groups_is_group_honour() -> None:
    state = state_of(EVENTS)
    assert board(leaderboard(state, "all", MON)) == [(1, LA, 50), (2, SH, 27)]
    assert board(leaderboard(state, "week", MON)) == [(1, LA, 50), (2, SH, 13)]


def test_a_groups_week_is_in_its_own_timezone() -> None:
    # Sunday 20:00 in Los Angeles is already Monday (11:00) in Shanghai
    sunday_la = at("2026-03-08 20:00", "America/Los_Angeles")
    state = state_of([give(A, 5, sunday_la, SH), give(B, 5, sunday_la, LA)])
    monday_sh = at("2026-03-09 20:00")  # 05:00 on Monday in Los Angeles
    assert board(leaderboard(state, "week", monday_sh, SH)) == [(1, A, 5)]
    assert board(leaderboard(state, "week", sunday_la - 86_400, SH)) == []
    assert board(leaderboard(state, "week", monday_sh, LA)) == []  # LA is in a new week
    assert board(leaderboard(state, "week", sunday_la, LA)) == [(1, B, 5)]


def test_community_leaderboard_sums_a_member_over_groups() -> None:
    state = state_of([give(A, 5, MON, SH), give(A, 6, MON, LA), give(B, 9, MON, SH)])
    assert board(community_leaderboard(state, "all", MON)) == [(1, A, 11), (2, B, 9)]
    assert board(community_leaderboard(state, "week", MON, size=1)) == [(1, A, 11)]


def test_leaderboards_are_pure_queries() -> None:
    state = state_of(EVENTS)
    before = ScoringEngine(parse_playbook(PLAYBOOK)).snapshot(state)
    for period in ("week", "month", "all"):
        leaderboard(state, period, MON, SH)
        leaderboard(state, period, MON)
    assert ScoringEngine(parse_playbook(PLAYBOOK)).snapshot(state) == before


def test_weekly_post_when_the_local_week_ends() -> None:
    engine = ScoringEngine(parse_playbook(PLAYBOOK))
    runner = Runner("makers", [engine])
    for event in [
        give(B, 7, MON),
        give(C, 7, MON + 60),
        give(A, 3, MON + 90),
        give(D, 1, MON + 86_400, LA),
    ]:
        runner.feed(event)
    next_monday = at("2026-03-09 00:00")
    assert engine.next_deadline(runner.states[0]) == next_monday
    runner.finish(next_monday + 3600)
    posts = [t.action for t in runner.taken if t.action.kind == "post_message"]
    assert [p.group for p in posts] == [SH]  # LA's week ends 15 hours later
    post: Any = posts[0]
    assert post.ts == next_monday and post.member is None
    assert post.details["text"] == (
        "Leaderboard of Shanghai, week 2026-03-02 – 2026-03-08:\n"
        "1. wechat:b — 7 points\n"
        "1. wechat:c — 7 points\n"
        "Group honour this week:\n"
        "1. Shanghai — 17 points\n"
        "2. Los Angeles — 1 point"
    )
    assert "top 2 by points gained that week" in post.explanation
    runner.finish(at("2026-03-09 00:00", "America/Los_Angeles") + 60)
    posts = [t.action for t in runner.taken if t.action.kind == "post_message"]
    assert [p.group for p in posts] == [SH, LA]
    assert engine.next_deadline(runner.states[0]) is None


def test_no_weekly_post_when_nobody_gained_or_weeks_are_not_ranked() -> None:
    state = state_of([give(A, 3, MON), warned(A, MON + 10)])
    engine = ScoringEngine(parse_playbook(PLAYBOOK))
    state, out = engine.step(state, give(B, 0, at("2026-03-10 10:00")))
    assert [a for a in out if a.kind == "post_message"] == []
    monthly = PLAYBOOK.replace('periods = ["week", "month", "all"]', 'periods = ["month"]')
    state = state_of([give(A, 3, MON)], monthly)
    assert ScoringEngine(parse_playbook(monthly)).next_deadline(state) is None
