"""Scoring engine — points per action, cooldowns, daily caps, deductions, rewards.

Each test builds a stream of EngineEvents and drives the scoring and check-in engines
through the real runner, so actions come back as ``action_taken`` events exactly as in
production (check-in points, penalties from moderation).
"""

from __future__ import annotations

import copy
import itertools
import json
import pickle
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shequn.engines.awards import PointsAward
from shequn.engines.base import Action, EngineEvent
from shequn.engines.checkins import CheckInEngine
from shequn.engines.runner import Runner
from shequn.engines.scoring import ScoringEngine, member_score
from shequn.playbook import parse_playbook
from shequn.playbook.model import Playbook

SH = "telegram/sh"
LA = "telegram/la"
ALICE, BOB, CAROL, BOT = "telegram:alice", "telegram:bob", "telegram:carol", "telegram:bot"
OP = "telegram:op"  # an operator: may award, deduct and redeem

PLAYBOOK = """
version = 1
community = "makers"

[[groups]]
platform = "telegram"
id = "sh"
name = "Shanghai makers"
timezone = "Asia/Shanghai"

[[groups]]
platform = "telegram"
id = "la"
name = "LA makers"
timezone = "America/Los_Angeles"

[[team.members]]
member = "telegram:op"
role = "operator"

[points.actions.message]
points = 1
min_length = 5
cooldown = "1m"
daily_cap = 20

[points.actions.answer]
points = 5
daily_cap = 50

[points.actions.reply_reacted]
points = 3
daily_cap = 30

[points.actions.reaction_received]
points = 1
daily_cap = 20

[points.actions.check_in]
points = 2

[points.actions.invite_stays]
points = 10
stays_days = 7

[points.deductions]
warn = 5
mute = 20
remove = 100

[[levels]]
name = "Newcomer"
threshold = 0

[[levels]]
name = "Regular"
threshold = 20

[[rewards]]
id = "sticker-pack"
name = "Sticker pack"
cost = 15
stock = 1

[[rewards]]
id = "mug"
name = "Mug"
cost = 1000

[checkins]
enabled = true
freezes_per_month = 1
"""

_keys = itertools.count()


def at(text: str, zone: str = "Asia/Shanghai") -> int:
    """Epoch seconds of a local time like ``2026-03-02 10:00``."""
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp())


T0 = at("2026-03-02 10:00")  # a Monday morning in Shanghai


def ev(kind: str, ts: int, member: str | None, group: str = SH, **fields: Any) -> EngineEvent:
    return EngineEvent(f"{kind}-{next(_keys)}", kind, group, ts, member, **fields)


def msg(member: str, ts: int, text: str = "hello everyone", **fields: Any) -> EngineEvent:
    return ev("message_posted", ts, member, text=text, **fields)


def penalty(member: str, ts: int, action: str, engine: str = "moderation") -> EngineEvent:
    """An engine's penalty, fed back as the runner feeds it (a stored record naming an
    engine is someone's, and needs a permitted actor: test_team_permissions.py)."""
    extra = {"action": action, "engine": engine, "rule": "no-ads", "details": {}}
    text = f"{action}: advertising (rule no-ads)"
    made = Action(action, SH, member, ts, engine, text, "no-ads")
    return ev("action_taken", ts, member, text=text, extra=json.dumps(extra), action=made)


def run(events: list[EngineEvent], playbook: Playbook | None = None, until: int = 0) -> Runner:
    book = playbook or parse_playbook(PLAYBOOK)
    runner = Runner("makers", [ScoringEngine(book), CheckInEngine(book)])
    for event in events:
        runner.feed(event)
    if until:
        runner.finish(until)
    return runner


def actions(runner: Runner, kind: str, member: str | None = None) -> list[Action]:
    return [
        t.action
        for t in runner.taken
        if t.action.kind == kind and (member is None or t.action.member == member)
    ]


def earned(runner: Runner, member: str, action: str | None = None) -> int:
    return sum(
        a.details["points"]
        for a in actions(runner, "award_points", member)
        if action is None or a.details["action"] == action
    )


def score(runner: Runner, member: str, group: str = SH) -> tuple[int, int]:
    found = member_score(runner.states[0], group, member)
    return (0, 0) if found is None else (found.points, found.balance)


# -- messages: length, cooldown, caps, anti-gaming -------------------------------------


def test_a_message_too_short_earns_nothing_and_a_long_one_earns() -> None:
    runner = run([msg(ALICE, T0, "hi"), msg(ALICE, T0 + 120, "  a b  "), msg(BOB, T0, "hello")])
    assert earned(runner, ALICE) == 0  # "a b" has 2 non-space characters
    assert earned(runner, BOB) == 1
    (award,) = actions(runner, "award_points", BOB)
    assert "points.message" in award.explanation and "once per 1 min" in award.explanation
    assert award.details == {
        "points": 1,
        "action": "message",
        "total": 1,
        "balance": 1,
        "today": 1,
        "daily_cap": 20,
    }


def test_cooldown_one_award_per_minute() -> None:
    times = [T0, T0 + 30, T0 + 59, T0 + 60, T0 + 61, T0 + 125]
    runner = run([msg(ALICE, t, f"message number {t}") for t in times])
    awarded = [a.ts for a in actions(runner, "award_points", ALICE)]
    assert awarded == [T0, T0 + 60, T0 + 125]


def test_daily_cap_holds_and_resets_at_local_midnight() -> None:
    # 90 messages two minutes apart from 22:00 Shanghai: 60 before midnight, capped at 20 …
    start = at("2026-03-02 22:00")
    events = [msg(ALICE, start + i * 120, f"thoughts on part {i}") for i in range(90)]
    runner = run(events)
    per_day: dict[str, int] = {}
    for award in actions(runner, "award_points", ALICE):
        day = datetime.fromtimestamp(award.ts, ZoneInfo("Asia/Shanghai")).date().isoformat()
        per_day[day] = per_day.get(day, 0) + award.details["points"]
    # … and a new day in Shanghai (16:00 UTC) starts a fresh cap
    assert per_day == {"2026-03-02": 20, "2026-03-03": 20}
    assert "today 20 of 20" in actions(runner, "award_points", ALICE)[19].explanation


def test_thousand_one_character_messages_earn_nothing() -> None:
    events = [msg(ALICE, T0 + i * 3, "a") for i in range(1000)]  # 1,000 in 50 minutes
    runner = run(events)
    assert earned(runner, ALICE) == 0
    assert score(runner, ALICE) == (0, 0)


def test_thousand_long_messages_in_an_hour_earn_at_most_the_cap() -> None:
    events = [msg(ALICE, T0 + round(i * 3.6), f"spam spam spam {i}") for i in range(1000)]
    runner = run(events)
    assert earned(runner, ALICE) == 20
    assert score(runner, ALICE) == (20, 20)


def test_bots_never_earn_and_their_reactions_give_nothing() -> None:
    runner = run(
        [
            msg(BOT, T0, "automated announcement for all", is_bot=True, platform_id="1"),
            ev("reaction_added", T0 + 5, ALICE, reply_to="1"),
            msg(ALICE, T0 + 10, "a message by a human", platform_id="2"),
            ev("reaction_added", T0 + 20, BOT, reply_to="2", is_bot=True),
        ]
    )
    assert earned(runner, BOT) == 0
    assert earned(runner, ALICE, "reaction_received") == 0
    assert earned(runner, ALICE, "message") == 1


def test_commands_and_check_in_keywords_earn_no_message_points() -> None:
    runner = run([msg(ALICE, T0, "/help me please"), msg(ALICE, T0 + 100, "check in")])
    assert earned(runner, ALICE, "message") == 0
    assert earned(runner, ALICE, "check_in") == 2  # the check-in engine's award


# -- answers, replies, reactions ------------------------------------------------------


def test_an_answer_to_someone_elses_question_earns_answer_points() -> None:
    runner = run(
        [
            msg(ALICE, T0, "which printer for PETG？", platform_id="10"),
            msg(BOB, T0 + 60, "the Prusa MK4 works well", platform_id="11", reply_to="10"),
            msg(BOB, T0 + 200, "also try a Bambu one", platform_id="12", reply_to="10"),
            msg(CAROL, T0 + 300, "agreed with that", platform_id="13", reply_to="11"),
            msg(ALICE, T0 + 400, "answering myself here", platform_id="14", reply_to="10"),
        ]
    )
    (answer,) = actions(runner, "award_points", BOB)[1:2]
    assert answer.details["action"] == "answer" and answer.details["points"] == 5
    assert "answering a question by telegram:alice" in answer.explanation
    assert earned(runner, BOB, "answer") == 5  # once per question and member
    assert earned(runner, CAROL, "answer") == 0  # "works well" was not a question
    assert earned(runner, ALICE, "answer") == 0  # own question


def test_a_reply_that_gets_reactions_earns_once_and_each_reactor_counts_once() -> None:
    runner = run(
        [
            msg(ALICE, T0, "what do you think", platform_id="20"),
            msg(BOB, T0 + 10, "I think it is great", platform_id="21", reply_to="20"),
            ev("reaction_added", T0 + 20, ALICE, reply_to="21"),
            ev("reaction_added", T0 + 21, ALICE, reply_to="21"),  # same reactor, other emoji
            ev("reaction_added", T0 + 30, CAROL, reply_to="21"),
            ev("reaction_added", T0 + 40, BOB, reply_to="21"),  # own reply
            ev("reaction_added", T0 + 50, CAROL, reply_to="20"),  # not a reply
        ]
    )
    assert earned(runner, BOB, "reply_reacted") == 3
    assert earned(runner, BOB, "reaction_received") == 2
    assert earned(runner, ALICE, "reply_reacted") == 0
    assert earned(runner, ALICE, "reaction_received") == 1


def test_reactions_find_messages_by_key_when_there_is_no_platform_id() -> None:
    first = msg(ALICE, T0, "a whatsapp message")
    runner = run([first, ev("reaction_added", T0 + 5, BOB, reply_to=first.key)])
    assert earned(runner, ALICE, "reaction_received") == 1


# -- invitations that stay ------------------------------------------------------------


def test_invite_stays_awarded_on_a_tick_after_stays_days() -> None:
    joined = ev("member_joined", T0, CAROL, actor=ALICE, join_method="added")
    runner = run([joined], until=T0 + 8 * 86_400)
    (award,) = actions(runner, "award_points", ALICE)
    assert award.details["action"] == "invite_stays"
    assert award.ts == T0 + 7 * 86_400  # the first tick at the deadline
    assert award.cause.startswith("tick:")
    assert "inviting telegram:carol, who joined on 2026-03-02" in award.explanation


def test_invite_cancelled_when_the_invitee_leaves_first() -> None:
    events = [
        ev("member_joined", T0, CAROL, actor=ALICE),
        ev("member_left", T0 + 3 * 86_400, CAROL),
        ev("member_joined", T0 + 4 * 86_400, BOB, actor=ALICE),
        ev("member_removed", T0 + 5 * 86_400, BOB, actor="telegram:admin"),
    ]
    runner = run(events, until=T0 + 30 * 86_400)
    assert earned(runner, ALICE) == 0


def test_invite_cancelled_when_screening_rejects_or_an_engine_removes_the_invitee() -> None:
    def taken(member: str, action: str, engine: str) -> EngineEvent:
        extra = json.dumps({"action": action, "engine": engine, "rule": None, "details": {}})
        made = Action(action, SH, member, T0 + 600, engine, f"{action}ed")  # fed back
        return ev("action_taken", T0 + 600, member, text=f"{action}ed", extra=extra, action=made)

    events = [
        ev("member_joined", T0, CAROL, actor=ALICE),
        ev("member_joined", T0, BOB, actor=ALICE),
        taken(CAROL, "reject", "screening"),
        taken(BOB, "remove", "metabolism"),
    ]
    runner = run(events, until=T0 + 30 * 86_400)
    assert earned(runner, ALICE) == 0


def test_an_invitee_counts_once_per_group() -> None:
    events = [
        ev("member_joined", T0, CAROL, actor=ALICE),
        msg(BOB, T0 + 8 * 86_400, "a week later"),
        ev("member_left", T0 + 9 * 86_400, CAROL),
        ev("member_joined", T0 + 10 * 86_400, CAROL, actor=ALICE),
        ev("member_joined", T0 + 10 * 86_400, CAROL, group=LA, actor=ALICE),
    ]
    runner = run(events, until=T0 + 30 * 86_400)
    assert earned(runner, ALICE, "invite_stays") == 20  # once in sh, once in la
    assert score(runner, ALICE, SH)[0] == 10 and score(runner, ALICE, LA)[0] == 10


def test_the_deadline_fires_on_the_next_event_too_and_self_joins_do_not_count() -> None:
    book = parse_playbook(PLAYBOOK)
    engine = ScoringEngine(book)
    state = engine.start()
    state, _ = engine.step(state, ev("member_joined", T0, CAROL, actor=ALICE))
    state, _ = engine.step(state, ev("member_joined", T0, BOB, actor=BOB))
    assert engine.next_deadline(state) == T0 + 7 * 86_400
    state, out = engine.step(state, msg(BOB, T0 + 8 * 86_400, "just chatting"))
    assert [a.member for a in out if a.kind == "award_points"] == [ALICE, BOB]
    assert engine.next_deadline(state) is not None  # the weekly leaderboard is due


# -- deductions ------------------------------------------------------------------------


def test_penalties_deduct_points_and_never_below_zero() -> None:
    events = [msg(ALICE, T0 + i * 60, f"useful message {i}") for i in range(12)]
    events += [penalty(ALICE, T0 + 1000, "warn"), penalty(ALICE, T0 + 1100, "mute")]
    runner = run(events)
    first, second = actions(runner, "deduct_points", ALICE)
    assert first.details["points"] == 5 and first.details["total"] == 7
    assert "the warn under rule no-ads (warn: advertising (rule no-ads))" in first.explanation
    assert "points.deductions.warn = 5" in first.explanation
    assert second.details["points"] == 7 and "only 7 were left" in second.explanation
    assert score(runner, ALICE) == (0, 0)


def test_metabolism_removal_is_not_a_penalty() -> None:
    events = [msg(ALICE, T0, "a message"), penalty(ALICE, T0 + 10, "remove", "metabolism")]
    runner = run(events)
    assert actions(runner, "deduct_points") == []
    assert score(runner, ALICE) == (1, 1)


def test_a_duplicated_penalty_deducts_once() -> None:
    events = [msg(ALICE, T0 + i * 60, f"useful message {i}") for i in range(12)]
    warn = penalty(ALICE, T0 + 1000, "warn")
    runner = run([*events, warn, warn])
    assert len(actions(runner, "deduct_points")) == 1


def test_team_awards_and_deductions_are_credited() -> None:
    award = {"action": "award_points", "engine": "team", "details": {"points": 30}}
    take = {"action": "deduct_points", "engine": "team", "details": {"points": 4}}
    runner = run(
        [
            ev("action_taken", T0, ALICE, text="prize", extra=json.dumps(award), actor=OP),
            ev("action_taken", T0 + 1, ALICE, text="correction", extra=json.dumps(take), actor=OP),
        ]
    )
    assert score(runner, ALICE) == (26, 26)
    assert [a.details["level"] for a in actions(runner, "level_up")] == ["Regular"]


# -- rewards ---------------------------------------------------------------------------


def test_redeem_needs_balance_and_stock_and_says_why_not() -> None:
    events = [msg(ALICE, T0 - 10, "/redeem sticker-pack")]
    events += [msg(ALICE, T0 + i * 60, f"useful message {i}") for i in range(20)]
    events += [msg(BOB, T0 + i * 60 + 1, f"useful message {i}") for i in range(20)]
    events += [
        msg(ALICE, T0 + 2000, "/redeem sticker-pack"),
        msg(BOB, T0 + 2001, "/redeem Sticker Pack"),
        msg(BOB, T0 + 2002, "/redeem mug"),
        msg(BOB, T0 + 2003, "/redeem flag"),
    ]
    runner = run(events)
    refusals = actions(runner, "notice")
    assert [r.details["refused"] for r in refusals] == [
        "balance",
        "out_of_stock",
        "balance",
        "unknown",
    ]
    assert "costs 15 points and telegram:alice has 0 to spend (15 more needed)" in (
        refusals[0].explanation
    )
    assert "'Sticker pack' is out of stock" in refusals[1].explanation
    assert "mug (1000 points), sticker-pack (15 points)" in refusals[3].explanation
    (spent,) = actions(runner, "deduct_points", ALICE)
    assert spent.details == {
        "points": 15,
        "action": "redeem",
        "reward": "sticker-pack",
        "balance": 5,
        "stock_left": 0,
    }
    # spending keeps the points (and so the level): only the balance falls
    assert score(runner, ALICE) == (20, 5)
    assert runner.snapshots()["scoring"]["levels"][SH][ALICE] == "Regular"
    assert runner.snapshots()["scoring"]["stock"] == {"sticker-pack": 0}


def test_redeem_recorded_by_the_team_as_an_action() -> None:
    events = [msg(ALICE, T0 + i * 60, f"useful message {i}") for i in range(20)]
    redeem = {"action": "redeem", "engine": "team", "reward": "sticker-pack"}
    events.append(
        ev("action_taken", T0 + 2000, ALICE, text="x", extra=json.dumps(redeem), actor=OP)
    )
    events.append(msg(BOB, T0 + 2001, "/redeem@makersbot sticker-pack"))
    runner = run(events)
    assert [a.details["reward"] for a in actions(runner, "deduct_points")] == ["sticker-pack"]
    assert [a.details["refused"] for a in actions(runner, "notice")] == ["out_of_stock"]


# -- messages deleted or held by another engine ---------------------------------------


def deleted(message: EngineEvent, action: str = "delete_message") -> EngineEvent:
    """What the runner feeds back when moderation deletes ``message`` (before it arrives)."""
    extra = {
        "action": action,
        "engine": "moderation",
        "rule": "no-ads",
        "details": {"event": message.key, "message": message.platform_id},
        "cause": message.key,
    }
    return ev("action_taken", message.ts, message.member, text="deleted", extra=json.dumps(extra))


def test_a_deleted_or_held_message_earns_nothing_and_checks_nobody_in() -> None:
    spam = msg(ALICE, T0, "buy cheap watches here")
    held = msg(BOB, T0 + 5, "check in")
    later = msg(ALICE, T0 + 100, "a normal message")
    runner = run([deleted(spam), spam, deleted(held, "hold_message"), held, later])
    assert [a.ts for a in actions(runner, "award_points")] == [later.ts]
    assert runner.snapshots()["checkins"]["streaks"] == {}


def test_with_every_engine_a_banned_word_costs_points_and_earns_none() -> None:
    from shequn.engines.registry import load_engines
    from shequn.playbook import starting_playbook

    text = starting_playbook(group="g1", timezone="Asia/Shanghai")
    playbook = parse_playbook(text.replace("[screening]\nenabled = true", "[screening]"))
    assert not playbook.screening.enabled
    engines, _ = load_engines(playbook)
    runner = Runner("makers", engines)
    group = "telegram/g1"
    joined = ev("member_joined", T0 - 30 * 86_400, ALICE, group, join_method="invite_link")
    runner.feed(joined)
    for i in range(10):
        runner.feed(msg(ALICE, T0 + i * 60, f"my project update {i}", group=group))
    runner.feed(msg(ALICE, T0 + 1000, "代购 cheap stuff here", group=group))
    mine = [t.action for t in runner.taken if t.action.engine == "scoring"]
    assert [a.kind for a in mine] == ["award_points"] * 10 + ["deduct_points"]
    assert mine[-1].details["points"] == 5 and "rule no-ads" in mine[-1].explanation
    assert runner.snapshots()["scoring"]["points"][group][ALICE] == 5


# -- memory and feedback -------------------------------------------------------------


def test_reactions_to_messages_older_than_the_memory_earn_nothing() -> None:
    old = msg(ALICE, T0, "an old message", platform_id="1")
    recent = msg(ALICE, T0 + 20 * 86_400, "a recent message", platform_id="2")
    late = T0 + 20 * 86_400 + 60
    runner = run(
        [
            old,
            recent,
            ev("reaction_added", late, BOB, reply_to="1"),
            ev("reaction_added", late, BOB, reply_to="2"),
        ]
    )
    assert earned(runner, ALICE, "reaction_received") == 1


def test_own_actions_fed_back_in_any_json_layout_are_not_counted_again() -> None:
    book = parse_playbook(PLAYBOOK)
    engine = ScoringEngine(book)
    state = engine.start()
    state, (award,) = engine.step(state, msg(ALICE, T0, "hello everyone"))
    compact = json.dumps(
        {"engine": "scoring", "action": award.kind, "details": award.details},
        separators=(",", ":"),
    )
    state, out = engine.step(state, ev("action_taken", T0, ALICE, extra=compact))
    assert out == []
    record = member_score(state, SH, ALICE)
    assert record is not None and record.points == 1


def test_redeem_without_a_reward_lists_the_catalogue() -> None:
    runner = run([msg(ALICE, T0, "/redeem")])
    (refusal,) = actions(runner, "notice")
    assert refusal.explanation == (
        "telegram:alice could not redeem a reward in Shanghai makers: there is no such "
        "reward; write /redeem followed by one of: mug (1000 points), "
        "sticker-pack (15 points)."
    )


def test_a_deferred_award_reads_as_its_eager_action() -> None:
    """A PointsAward writes its explanation and details when read: the same words and
    details as an Action built at once, and equal to it."""
    runner = run([msg(ALICE, T0, "hello everyone")])
    (award,) = actions(runner, "award_points")
    assert isinstance(award, PointsAward)
    eager = Action(
        "award_points",
        award.group,
        ALICE,
        T0,
        "scoring",
        f"{ALICE} earned 1 point in Shanghai makers for a message (points.message: 1 "
        "point, up to 20 a day, at most once per 1 min, at least 5 characters); today 1 of "
        "20, 1 in all.",
        "message",
        award.cause,
        {"points": 1, "action": "message", "total": 1, "balance": 1, "today": 1, "daily_cap": 20},
    )
    assert award == eager and eager == award
    assert award.explanation == eager.explanation and award.details == eager.details
    assert award != Action(**{**vars_of(eager), "ts": T0 + 1})


def test_a_deferred_award_copies_and_pickles_like_an_action() -> None:
    """State snapshots and worker processes copy and pickle actions: a PointsAward comes
    back equal, read or not yet read."""
    runner = run([msg(ALICE, T0, "hello everyone"), msg(BOB, T0 + 120, "hi there all")])
    fresh, read = actions(runner, "award_points")
    assert read.explanation  # one whose words were written, one whose were not
    for award in (fresh, read):
        for again in (
            copy.copy(award),
            copy.deepcopy(award),
            pickle.loads(pickle.dumps(award)),
        ):
            assert again == award
            assert (again.kind, again.engine) == ("award_points", "scoring")
            assert again.explanation == award.explanation and again.details == award.details


def vars_of(action: Action) -> dict[str, Any]:
    return {name: getattr(action, name) for name in Action.__dataclass_fields__}


OTHER = "telegram/other"  # a group the playbook does not list


def _everything(group: str, tag: str) -> list[EngineEvent]:
    """Every way to earn, lose or spend points, and a check-in, in ``group``."""

    def e(kind: str, ts: int, member: str | None, **fields: Any) -> EngineEvent:
        return EngineEvent(f"{tag}-{kind}-{ts}-{member}", kind, group, ts, member, **fields)

    award = {"action": "award_points", "engine": "team", "details": {"points": 40}}
    warn = {"action": "warn", "engine": "moderation", "rule": "no-ads", "details": {}}
    return [
        e("member_joined", T0, CAROL, actor=BOB),
        e("message_posted", T0 + 10, ALICE, text="which printer for PETG?", platform_id="q"),
        e("message_posted", T0 + 70, BOB, text="a Prusa MK4", platform_id="a", reply_to="q"),
        e("reaction_added", T0 + 80, ALICE, reply_to="a"),
        e("message_posted", T0 + 90, ALICE, text="签到"),
        e("check_in", T0 + 100, CAROL),
        e("action_taken", T0 + 110, ALICE, actor=OP, text="award", extra=json.dumps(award)),
        e("action_taken", T0 + 120, BOB, actor=OP, text="warn: ads", extra=json.dumps(warn)),
        e("message_posted", T0 + 130, ALICE, text="/redeem sticker-pack"),
        e("message_posted", T0 + 8 * 86_400, ALICE, text="a week later, still here"),
    ]


def test_a_group_the_playbook_does_not_list_earns_nothing_and_gets_no_leaderboard() -> None:
    listed = _everything(SH, "sh")
    unlisted = _everything(OTHER, "other")
    mixed = [event for pair in zip(unlisted, listed, strict=True) for event in pair]
    end = T0 + 10 * 86_400
    both, alone = run(mixed, until=end), run(listed, until=end)

    def seen(r: Runner) -> list[tuple[Any, ...]]:
        return [
            (a.kind, a.group, a.member, a.ts, a.engine, a.explanation, json.dumps(a.details))
            for a in (t.action for t in r.taken)
        ]

    # the listed group earns, spends, checks in and gets its leaderboard as when alone
    kinds = {a[0] for a in seen(alone)}
    assert {"award_points", "deduct_points", "level_up", "post_message"} <= kinds
    assert seen(both) == seen(alone)
    assert {t.action.group for t in both.taken} == {SH}
    assert both.snapshots() == alone.snapshots()
    assert member_score(both.states[0], OTHER, ALICE) is None
