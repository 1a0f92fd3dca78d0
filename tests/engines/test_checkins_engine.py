"""Check-in engine — keywords, one per local day, streaks across timezones, bonuses, freezes."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shequn.engines.base import Action, EngineEvent
from shequn.engines.checkins import CheckInEngine, CheckInMatcher, CheckInState, LocalDays
from shequn.engines.runner import Runner
from shequn.engines.scoring import ScoringEngine, member_score
from shequn.playbook import parse_playbook
from shequn.playbook.model import Playbook

SH = "telegram/sh"
LA = "telegram/la"
ELSEWHERE = "telegram/unlisted"
ALICE, BOB = "telegram:alice", "telegram:bob"

PLAYBOOK = """
version = 1
community = "makers"

[[groups]]
platform = "telegram"
id = "sh"
timezone = "Asia/Shanghai"

[[groups]]
platform = "telegram"
id = "la"
timezone = "America/Los_Angeles"

[points.actions.check_in]
points = 2

[[badges]]
id = "streak-3"
name = "3-day streak"
condition = "streak"
at = 3

[checkins]
enabled = true
keywords = ["签到", "check in", "/checkin"]
freezes_per_month = 1

[checkins.streak_bonus]
3 = 10
7 = 50
"""

_keys = itertools.count()


def at(text: str, zone: str = "Asia/Shanghai") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp())


def checkin(member: str, ts: int, group: str = SH, text: str = "签到", **f: Any) -> EngineEvent:
    return EngineEvent(f"c-{next(_keys)}", "message_posted", group, ts, member, text=text, **f)


def book(text: str = PLAYBOOK) -> Playbook:
    return parse_playbook(text)


def step_all(events: list[EngineEvent], playbook: Playbook | None = None) -> list[Action]:
    engine = CheckInEngine(playbook or book())
    state: CheckInState = engine.start()
    out: list[Action] = []
    for event in events:
        state, actions = engine.step(state, event)
        out += actions
    assert engine.next_deadline(state) is None
    return out


def streaks(actions: list[Action]) -> list[int]:
    return [a.details["streak"] for a in actions]


# -- recognising a check-in -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("签到", "签到"),
        ("  签到！第 3 天", "签到"),
        ("Check In", "check in"),
        ("check in, day 4", "check in"),
        ("/checkin", "/checkin"),
        ("/checkin@makersbot", "/checkin"),
        ("签到了", None),
        ("check inside the box", None),
        ("/checkins", None),
        ("please 签到", None),
        ("", None),
    ],
)
def test_keywords_match_whole_words_at_the_start(text: str, keyword: str | None) -> None:
    assert CheckInMatcher(["签到", "check in", "/checkin"]).match(text) == keyword


def test_a_native_check_in_event_counts_and_bots_do_not() -> None:
    events = [
        EngineEvent("n1", "check_in", SH, at("2026-03-02 08:00"), ALICE),
        checkin("telegram:bot", at("2026-03-02 08:00"), is_bot=True),
    ]
    (only,) = step_all(events)
    assert only.member == ALICE and "platform's check-in" in only.explanation


def test_disabled_check_ins_do_nothing() -> None:
    disabled = book(PLAYBOOK.replace("enabled = true", "enabled = false"))
    assert step_all([checkin(ALICE, at("2026-03-02 08:00"))], disabled) == []


# -- one per local day, across timezones and midnight --------------------------------


def test_once_per_day_later_ones_are_ignored_silently() -> None:
    out = step_all(
        [
            checkin(ALICE, at("2026-03-02 08:00")),
            checkin(ALICE, at("2026-03-02 12:00"), text="/checkin"),
            checkin(ALICE, at("2026-03-02 23:59")),
        ]
    )
    assert len(out) == 1


@pytest.mark.parametrize(("group", "zone"), [(SH, "Asia/Shanghai"), (LA, "America/Los_Angeles")])
def test_2359_and_0001_local_are_two_days_of_a_streak(group: str, zone: str) -> None:
    out = step_all(
        [
            checkin(ALICE, at("2026-03-02 23:59", zone), group),
            checkin(ALICE, at("2026-03-03 00:01", zone), group),
        ]
    )
    assert streaks(out) == [1, 2]
    assert [a.details["day"] for a in out] == ["2026-03-02", "2026-03-03"]
    assert f"the group's day in {zone}" in out[1].explanation


def test_the_same_two_instants_are_one_day_in_shanghai_and_two_in_los_angeles() -> None:
    # 15:30 and 16:30 UTC: Shanghai midnight (16:00 UTC) lies between them,
    # Los Angeles (08:30 and 09:30 local) sees one morning.
    first, second = at("2026-03-02 15:30", "UTC"), at("2026-03-02 16:30", "UTC")
    sh = step_all([checkin(ALICE, first, SH), checkin(ALICE, second, SH)])
    la = step_all([checkin(ALICE, first, LA), checkin(ALICE, second, LA)])
    assert streaks(sh) == [1, 2]
    assert streaks(la) == [1]


def test_groups_and_members_keep_their_own_streaks() -> None:
    day1, day2 = at("2026-03-02 09:00"), at("2026-03-03 09:00")
    out = step_all(
        [checkin(ALICE, day1), checkin(ALICE, day1, LA), checkin(BOB, day2), checkin(ALICE, day2)]
    )
    assert [(a.group, a.member, a.details["streak"]) for a in out] == [
        (SH, ALICE, 1),
        (LA, ALICE, 1),
        (SH, BOB, 1),
        (SH, ALICE, 2),
    ]


def test_a_dst_change_does_not_break_a_los_angeles_streak() -> None:
    # 2026-03-08: clocks in Los Angeles jump from 02:00 to 03:00 (a 23-hour day)
    days = ["2026-03-07 23:30", "2026-03-08 23:30", "2026-03-09 00:10"]
    out = step_all([checkin(ALICE, at(d, "America/Los_Angeles"), LA) for d in days])
    assert streaks(out) == [1, 2, 3]


# -- bonuses and freezes ---------------------------------------------------------------


def test_streak_bonus_when_the_streak_reaches_its_length() -> None:
    out = step_all([checkin(ALICE, at(f"2026-03-{d:02d} 09:00")) for d in range(2, 12)])
    assert streaks(out) == list(range(1, 11))
    assert [a.details["bonus"] for a in out] == [0, 0, 10, 0, 0, 0, 50, 0, 0, 0]
    assert [a.details["points"] for a in out][2] == 12
    assert "plus a 10-point bonus for reaching a 3-day streak" in out[2].explanation


def test_a_freeze_covers_one_missed_day_a_month() -> None:
    days = ["2026-03-02", "2026-03-03", "2026-03-05", "2026-03-06", "2026-03-08"]
    out = step_all([checkin(ALICE, at(f"{d} 09:00")) for d in days])
    assert streaks(out) == [1, 2, 3, 4, 1]
    assert out[2].details["freezes_used"] == 1
    assert "1 streak freeze covered 2026-03-04 (0 left this month)" in out[2].explanation
    assert "the earlier streak broke" in out[4].explanation


def test_a_gap_longer_than_the_freezes_left_breaks_the_streak_and_uses_none() -> None:
    days = ["2026-03-02", "2026-03-05", "2026-03-07"]  # two missed, then one missed
    out = step_all([checkin(ALICE, at(f"{d} 09:00")) for d in days])
    assert streaks(out) == [1, 1, 2]  # the March freeze was still there for the 6th


def test_freezes_renew_each_month() -> None:
    days = ["2026-03-29", "2026-03-31", "2026-04-02", "2026-04-04"]
    out = step_all([checkin(ALICE, at(f"{d} 09:00")) for d in days])
    # 30 Mar (March's freeze), 1 Apr (April's freeze), 3 Apr: none left
    assert streaks(out) == [1, 2, 3, 1]


def test_no_freezes_configured() -> None:
    strict = book(PLAYBOOK.replace("freezes_per_month = 1", "freezes_per_month = 0"))
    days = ["2026-03-02", "2026-03-04"]
    assert streaks(step_all([checkin(ALICE, at(f"{d} 09:00")) for d in days], strict)) == [1, 1]


# -- points flow into the scoring engine ------------------------------------------------


def test_check_in_points_bonus_and_streak_badge_reach_the_scoring_engine() -> None:
    playbook = book()
    runner = Runner("makers", [ScoringEngine(playbook), CheckInEngine(playbook)])
    for d in (2, 3, 4, 4):
        runner.feed(checkin(ALICE, at(f"2026-03-{d:02d} 07:00")))
    kinds = [(t.action.engine, t.action.kind) for t in runner.taken]
    assert kinds == [
        ("checkins", "award_points"),
        ("checkins", "award_points"),
        ("checkins", "award_points"),
        ("scoring", "grant_badge"),
    ]
    badge = runner.taken[-1].action
    assert "a 3-day check-in streak" in badge.explanation
    record = member_score(runner.states[0], SH, ALICE)
    assert record is not None and record.points == 2 + 2 + 12 and record.streak == 3
    snapshot = runner.snapshots()["checkins"]["streaks"][SH][ALICE]
    assert snapshot == {"streak": 3, "best": 3, "check_ins": 3}


def test_a_group_the_playbook_does_not_list_is_not_run() -> None:
    """No check-in, streak or points in an unlisted group, also a native check-in; the
    listed group beside it runs as before, and its state holds no entry for the other."""
    events = [
        checkin(ALICE, at("2026-03-02 09:00"), ELSEWHERE),
        EngineEvent("native", "check_in", ELSEWHERE, at("2026-03-02 09:01"), BOB),
        checkin(ALICE, at("2026-03-02 09:02")),
        checkin(ALICE, at("2026-03-03 09:00"), ELSEWHERE),
    ]
    out = step_all(events)
    assert [(a.group, a.member, a.details["streak"]) for a in out] == [(SH, ALICE, 1)]
    playbook = book()
    runner = Runner("makers", [ScoringEngine(playbook), CheckInEngine(playbook)])
    for event in events:
        runner.feed(event)
    assert {t.action.group for t in runner.taken} == {SH}
    assert list(runner.snapshots()["checkins"]["streaks"]) == [SH]
    assert member_score(runner.states[0], ELSEWHERE, ALICE) is None


def test_local_days_are_cached_and_exact() -> None:
    days = LocalDays("America/Los_Angeles")
    first = days.day(at("2026-03-08 12:00", "America/Los_Angeles"))
    assert first.end - first.start == 23 * 3600  # the spring-forward day
    assert days.day(first.start) is first and days.day(first.end - 1) is first
    assert days.day(first.end).ordinal == first.ordinal + 1
    assert first.week == first.ordinal - 6  # a Sunday: its week began on Monday
