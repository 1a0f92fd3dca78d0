"""Property tests of scoring and check-ins over random event streams (hypothesis).

Streams mix messages (short, long, questions, replies, check-in keywords, /redeem),
reactions, invitations, departures, native check-ins, penalties and bots over two
groups in different timezones, with gaps from seconds to days. Both engines run under
the real runner (ticks and feedback). Properties:

* replay is deterministic (same actions with the same keys, same end state);
* duplicated events (same key, redelivered within the dedup horizon) change nothing;
* no member's points for an action on a local day exceed that action's daily cap;
  bots never earn;
* after every event, every member's level is the one their points reach, points are
  never negative and the spendable balance never exceeds the points.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shequn.engines.base import EngineEvent
from shequn.engines.checkins import CheckInEngine
from shequn.engines.dedup import DEDUP_HORIZON
from shequn.engines.runner import Runner
from shequn.engines.scoring import ScoringEngine, ScoringState, leaderboard
from shequn.playbook import parse_playbook

GROUPS = {"telegram/sh": "Asia/Shanghai", "telegram/la": "America/Los_Angeles"}
MEMBERS = ["telegram:a", "telegram:b", "telegram:c", "telegram:d"]
BOT = "telegram:bot"
T0 = 1_772_420_400

PLAYBOOK = """
version = 1
community = "props"

[[groups]]
platform = "telegram"
id = "sh"
timezone = "Asia/Shanghai"

[[groups]]
platform = "telegram"
id = "la"
timezone = "America/Los_Angeles"

[points.actions.message]
points = 3
min_length = 4
cooldown = "1m"
daily_cap = 10

[points.actions.answer]
points = 4
daily_cap = 9

[points.actions.reply_reacted]
points = 2
daily_cap = 5

[points.actions.reaction_received]
points = 1
daily_cap = 3

[points.actions.check_in]
points = 5
daily_cap = 4

[points.actions.invite_stays]
points = 7
daily_cap = 7
stays_days = 1

[points.deductions]
warn = 4
mute = 9
remove = 30

[[levels]]
name = "L0"
threshold = 0

[[levels]]
name = "L1"
threshold = 8

[[levels]]
name = "L2"
threshold = 20

[[badges]]
id = "first"
name = "First"
condition = "first_message"

[[badges]]
id = "streak"
name = "Streak"
condition = "streak"
at = 2

[[badges]]
id = "rich"
name = "Rich"
condition = "points"
at = 15

[[rewards]]
id = "pin"
name = "Pin"
cost = 6
stock = 2

[checkins]
enabled = true
freezes_per_month = 1

[checkins.streak_bonus]
2 = 3
"""
BOOK = parse_playbook(PLAYBOOK)
THRESHOLDS = [0, 8, 20]
CAPS: dict[str, int | None] = {k: v.daily_cap for k, v in BOOK.points.actions.items()}

TEXTS = [
    "hi",
    "a",
    "hello all",
    "what do you think?",
    "怎么做？",
    "签到",
    "check in today",
    "/redeem pin",
    "/redeem nothing",
    "a long and useful message",
]
GAPS = st.one_of(st.integers(0, 90), st.integers(0, 6 * 3600), st.integers(0, 2 * 86_400))


@st.composite
def streams(draw: st.DrawFn) -> list[EngineEvent]:
    n = draw(st.integers(1, 60))
    ts = T0
    # the bot shows itself first (bots are known by the is_bot flag of their events)
    events = [
        EngineEvent(f"hello-{g}", "message_posted", g, T0, BOT, text="welcome!", is_bot=True)
        for g in sorted(GROUPS)
    ]
    messages: list[tuple[str, str]] = []  # (group, platform id)
    for i in range(n):
        ts += draw(GAPS)
        group = draw(st.sampled_from(sorted(GROUPS)))
        member = draw(st.sampled_from([*MEMBERS, BOT]))
        bot = member == BOT
        kind = draw(
            st.sampled_from(
                ["message"] * 5
                + ["reply", "reaction", "reaction", "join", "leave", "check_in", "penalty"]
            )
        )
        key = f"e{i}"
        mine = [m for g, m in messages if g == group]
        if kind in ("reply", "reaction") and not mine:
            kind = "message"
        if kind in ("message", "reply"):
            reply_to = draw(st.sampled_from(mine)) if kind == "reply" else None
            text = draw(st.sampled_from(TEXTS))
            pid = f"p{i}"
            messages.append((group, pid))
            events.append(
                EngineEvent(
                    key,
                    "message_posted",
                    group,
                    ts,
                    member,
                    text=text,
                    platform_id=pid,
                    reply_to=reply_to,
                    is_bot=bot,
                )
            )
        elif kind == "reaction":
            target = draw(st.sampled_from(mine))
            events.append(
                EngineEvent(key, "reaction_added", group, ts, member, reply_to=target, is_bot=bot)
            )
        elif kind == "join":
            invitee = draw(st.sampled_from([*MEMBERS, "telegram:new1", "telegram:new2"]))
            events.append(EngineEvent(key, "member_joined", group, ts, invitee, actor=member))
        elif kind == "leave":
            events.append(
                EngineEvent(
                    key, draw(st.sampled_from(["member_left", "member_removed"])), group, ts, member
                )
            )
        elif kind == "check_in":
            events.append(EngineEvent(key, "check_in", group, ts, member, is_bot=bot))
        else:
            action = draw(st.sampled_from(["warn", "mute", "remove", "notice"]))
            engine = draw(st.sampled_from(["moderation", "metabolism"]))
            extra = json.dumps({"action": action, "engine": engine, "rule": "r", "details": {}})
            events.append(
                EngineEvent(key, "action_taken", group, ts, member, text="penalty", extra=extra)
            )
    return events


def run(events: list[EngineEvent], check: bool = False) -> Runner:
    runner = Runner("props", [ScoringEngine(BOOK), CheckInEngine(BOOK)])
    for event in events:
        runner.feed(event)
        if check:
            check_state(runner.states[0])
    runner.finish(max(e.ts for e in events) + 3 * 86_400)
    if check:
        check_state(runner.states[0])
    return runner


def check_state(state: ScoringState) -> None:
    for scores in state.groups.values():
        for record in scores.members.values():
            assert record.level == bisect_right(THRESHOLDS, record.points) - 1
            assert 0 <= record.balance <= record.points


def outcome(runner: Runner) -> tuple[list[tuple[str, str, str | None, dict[str, Any]]], Any]:
    taken = [(t.key, t.action.kind, t.action.member, t.action.details) for t in runner.taken]
    return taken, runner.snapshots()


FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(streams())
def test_replay_is_deterministic(events: list[EngineEvent]) -> None:
    first, second = run(events), run(events)
    assert outcome(first) == outcome(second)
    explanations = [t.action.explanation for t in first.taken]
    assert explanations == [t.action.explanation for t in second.taken]


@FAST
@given(streams(), st.data())
def test_duplicated_events_change_nothing(events: list[EngineEvent], data: st.DataObject) -> None:
    with_copies = list(events)
    for event in data.draw(st.lists(st.sampled_from(events), max_size=10)):
        # a redelivery: somewhere after the original, within the dedup horizon
        start = with_copies.index(event) + 1
        later = [
            i
            for i in range(start, len(with_copies) + 1)
            if i == start or with_copies[i - 1].ts - event.ts < DEDUP_HORIZON
        ]
        with_copies.insert(data.draw(st.sampled_from(later)), event)
    assert outcome(run(with_copies)) == outcome(run(events))


@FAST
@given(streams())
def test_points_never_break_a_daily_cap_and_bots_never_earn(events: list[EngineEvent]) -> None:
    runner = run(events)
    per_day: dict[tuple[str, str | None, str, str], int] = defaultdict(int)
    for taken in runner.taken:
        action = taken.action
        if action.kind != "award_points":
            continue
        assert action.member != BOT
        day = datetime.fromtimestamp(action.ts, ZoneInfo(GROUPS[action.group])).date()
        what = action.details["action"]
        points = action.details["base"] if what == "check_in" else action.details["points"]
        per_day[(action.group, action.member, what, day.isoformat())] += points
    for (_, _, what, _), total in per_day.items():
        cap = CAPS[what]
        assert cap is None or total <= cap, (what, total, cap)


@FAST
@given(streams())
def test_a_members_level_always_matches_their_points(events: list[EngineEvent]) -> None:
    runner = run(events, check=True)
    state: ScoringState = runner.states[0]
    # the all-time boards agree with the ledger
    for group, scores in state.groups.items():
        listed = {s.name: s.points for s in leaderboard(state, "all", events[-1].ts, group)}
        assert listed == {m: r.points for m, r in scores.members.items() if r.points > 0}
        assert scores.points == sum(r.points for r in scores.members.values())


@FAST
@given(streams())
def test_level_actions_tell_each_member_their_level(events: list[EngineEvent]) -> None:
    """Every level_up / level_down names the level its points reach, and a member's last
    one names the level they end at."""
    runner = run(events)
    state: ScoringState = runner.states[0]
    names = [level.name for level in BOOK.levels]
    last: dict[tuple[str, str | None], str] = {}
    for taken in runner.taken:
        action = taken.action
        if action.kind not in ("level_up", "level_down"):
            continue
        points, level, previous = (action.details[k] for k in ("points", "level", "previous"))
        assert names[bisect_right(THRESHOLDS, points) - 1] == level
        up = names.index(level) > names.index(previous)
        assert up == (action.kind == "level_up")
        last[(action.group, action.member)] = level
    for group, scores in state.groups.items():
        for member, record in scores.members.items():
            assert last.get((group, member), names[0]) == names[record.level]
