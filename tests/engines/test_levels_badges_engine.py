"""Scoring engine — levels follow points both ways; badges are granted once."""

from __future__ import annotations

import itertools
import json
from bisect import bisect_right
from typing import Any

from shequn.engines.base import Action, EngineEvent
from shequn.engines.scoring import ScoringEngine, ScoringState, member_score
from shequn.playbook import parse_playbook

G = "discord/guild"
ALICE, BOB, CAROL = "discord:alice", "discord:bob", "discord:carol"
T0 = 1_772_420_400  # 2026-03-02 03:00 UTC

PLAYBOOK = """
version = 1
community = "makers"

[[groups]]
platform = "discord"
id = "guild"
name = "Makers guild"

[[team.members]]
member = "discord:owner"
role = "owner"

[points.actions.message]
points = 10
min_length = 3
cooldown = "1m"

[points.actions.answer]
points = 5

[points.actions.invite_stays]
points = 1
stays_days = 1

[points.deductions]
warn = 15
remove = 100

[[levels]]
name = "Newcomer"
threshold = 0

[[levels]]
name = "Regular"
threshold = 20

[[levels]]
name = "Expert"
threshold = 40

[[levels]]
name = "Sage"
threshold = 50

[[badges]]
id = "hello"
name = "First words"
condition = "first_message"

[[badges]]
id = "chatty"
name = "Chatty"
condition = "messages"
at = 3

[[badges]]
id = "helper"
name = "Helper"
condition = "answers"
at = 2

[[badges]]
id = "recruiter"
name = "Recruiter"
condition = "invites"
at = 1

[[badges]]
id = "fifty"
name = "Fifty"
condition = "points"
at = 50
"""

_keys = itertools.count()
ENGINE = ScoringEngine(parse_playbook(PLAYBOOK))
THRESHOLDS = [0, 20, 40, 50]


def ev(kind: str, ts: int, member: str, **fields: Any) -> EngineEvent:
    return EngineEvent(f"{kind}-{next(_keys)}", kind, G, ts, member, **fields)


def msg(member: str, ts: int, text: str = "hello there", **fields: Any) -> EngineEvent:
    return ev("message_posted", ts, member, text=text, **fields)


def warn(member: str, ts: int, action: str = "warn") -> EngineEvent:
    """Moderation's penalty, fed back as the runner feeds it."""
    extra = json.dumps({"action": action, "engine": "moderation", "rule": "no-ads"})
    made = Action(action, G, member, ts, "moderation", f"{action}: ads", "no-ads")
    return ev("action_taken", ts, member, text=f"{action}: ads", extra=extra, action=made)


def drive(events: list[EngineEvent]) -> tuple[ScoringState, list[Action]]:
    """Step the scoring engine alone; after every event a member's level matches."""
    state = ENGINE.start()
    out: list[Action] = []
    for event in events:
        state, actions = ENGINE.step(state, event)
        out += actions
        for scores in state.groups.values():
            for record in scores.members.values():
                assert record.level == bisect_right(THRESHOLDS, record.points) - 1
    return state, out


def kinds(actions: list[Action], *wanted: str) -> list[Action]:
    return [a for a in actions if a.kind in wanted]


def test_level_up_at_each_threshold() -> None:
    _, out = drive([msg(ALICE, T0 + i * 60) for i in range(4)])
    ups = kinds(out, "level_up")
    assert [(a.details["level"], a.details["points"]) for a in ups] == [
        ("Regular", 20),
        ("Expert", 40),
    ]
    assert ups[0].explanation == (
        "discord:alice reached level 'Regular' in Makers guild with 20 points "
        "(threshold 20, up from 'Newcomer')."
    )
    assert ups[0].rule == "Regular"


def test_a_jump_over_several_levels_is_one_action() -> None:
    award = json.dumps({"action": "award_points", "engine": "team", "details": {"points": 55}})
    _, out = drive(
        [ev("action_taken", T0, ALICE, text="prize", extra=award, actor="discord:owner")]
    )
    (up,) = kinds(out, "level_up")
    assert up.details == {"level": "Sage", "points": 55, "previous": "Newcomer"}
    assert "passing 2 more levels" in up.explanation


def test_levels_go_down_after_deductions_with_level_down() -> None:
    events = [msg(ALICE, T0 + i * 60) for i in range(3)]  # 30: Regular
    events += [warn(ALICE, T0 + 500), warn(ALICE, T0 + 600)]  # 15, then 0
    state, out = drive(events)
    (down,) = kinds(out, "level_down")
    assert not kinds(out, "notice")
    assert down.details == {"level": "Newcomer", "points": 15, "previous": "Regular"}
    assert down.rule == "Newcomer" and down.member == ALICE
    assert "fell from level 'Regular' to 'Newcomer'" in down.explanation
    record = member_score(state, G, ALICE)
    assert record is not None and (record.points, record.level) == (0, 0)
    # earning back climbs again
    state, out = drive([*events, msg(ALICE, T0 + 700), msg(ALICE, T0 + 800)])
    assert [a.details["level"] for a in kinds(out, "level_up")][-1] == "Regular"


def test_first_message_badge_for_any_message_once() -> None:
    _, out = drive([msg(ALICE, T0, "hi"), msg(ALICE, T0 + 100, "hi again")])
    (badge,) = kinds(out, "grant_badge")
    assert badge.details == {
        "badge": "hello",
        "name": "First words",
        "condition": "first_message",
        "value": 1,
    }
    assert "their first message" in badge.explanation


def test_messages_badge_counts_only_messages_that_qualified() -> None:
    events = [msg(BOB, T0 + i, "spam") for i in range(10)]  # one outside the cooldown
    events += [msg(BOB, T0 + 60, "ok"), msg(BOB, T0 + 120, "yes good")]  # too short, then ok
    _, out = drive(events)
    assert "chatty" not in [a.details["badge"] for a in kinds(out, "grant_badge")]
    _, out = drive([*events, msg(BOB, T0 + 180, "third one")])
    assert "chatty" in [a.details["badge"] for a in kinds(out, "grant_badge")]


def test_answers_invites_and_points_badges() -> None:
    events = [
        msg(ALICE, T0, "anyone around?", platform_id="q1"),
        msg(ALICE, T0 + 1, "and what about glue?", platform_id="q2"),
        msg(BOB, T0 + 60, "yes here", platform_id="a1", reply_to="q1"),
        msg(BOB, T0 + 120, "use epoxy", platform_id="a2", reply_to="q2"),
        ev("member_joined", T0 + 200, CAROL, actor=BOB),
        msg(ALICE, T0 + 2 * 86_400, "two days later"),
    ]
    state, out = drive(events)
    badges = [(a.member, a.details["badge"]) for a in kinds(out, "grant_badge")]
    assert (BOB, "helper") in badges and (BOB, "recruiter") in badges
    assert badges.count((BOB, "helper")) == 1
    record = member_score(state, G, BOB)
    assert record is not None and record.points == 10 + 5 + 10 + 5 + 1
    assert record.badges == ["hello", "helper", "recruiter"]
    (recruited,) = [a for a in kinds(out, "grant_badge") if a.details["badge"] == "recruiter"]
    assert "1 invitation that stayed" in recruited.explanation


def test_points_badge_is_not_taken_back_and_not_granted_twice() -> None:
    events = [msg(ALICE, T0 + i * 60) for i in range(5)]  # 50 points
    events += [warn(ALICE, T0 + 400), msg(ALICE, T0 + 500), msg(ALICE, T0 + 600)]
    state, out = drive(events)
    assert [a.details["badge"] for a in kinds(out, "grant_badge")].count("fifty") == 1
    record = member_score(state, G, ALICE)
    assert record is not None and "fifty" in record.badges and record.points == 55


def test_snapshot_names_levels_and_badges() -> None:
    state, _ = drive([msg(ALICE, T0), msg(ALICE, T0 + 60)])
    snap = ENGINE.snapshot(state)
    assert snap["points"] == {G: {ALICE: 20}}
    assert snap["levels"] == {G: {ALICE: "Regular"}}
    assert snap["badges"] == {G: {ALICE: ["hello"]}}
