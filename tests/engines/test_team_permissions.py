"""The team's permissions and each group's team, enforced on the decisions humans record.

A ``join_decided`` (screening), a human's ``warn`` / ``mute`` / ``remove`` (moderation,
metabolism, scoring's deductions) and points awarded, deducted or redeemed by hand
(scoring) count only when the actor may do it *in that group*: ``team.permissions``
per role, the group's ``team`` list (the owner everywhere). Every test below also
shows a decision that current main honoured and must not.
"""

from __future__ import annotations

import json
from typing import Any

from shequn.engines.base import Action, EngineEvent
from shequn.engines.metabolism import MetabolismEngine
from shequn.engines.moderation import ModerationEngine
from shequn.engines.runner import Runner
from shequn.engines.scoring import ScoringEngine, member_score
from shequn.engines.screening import ScreeningEngine
from shequn.playbook import parse_playbook
from shequn.playbook.model import DEFAULT_PERMISSIONS, Playbook

T0 = 1_700_000_000
G1, G2 = "telegram/g1", "telegram/g2"
NEW, ALICE = "telegram:new", "telegram:alice"
OWNER, OP, MOD1, MOD2 = "telegram:owner", "telegram:op", "telegram:mod1", "telegram:mod2"
STRANGER = "telegram:some-stranger"

BOOK = """
version = 1
community = "c"

[[groups]]
platform = "telegram"
id = "g1"
name = "Makers"
cap = 100
team = ["telegram:mod1"]

[[groups]]
platform = "telegram"
id = "g2"
name = "Tinkerers"

[[team.members]]
member = "telegram:owner"
role = "owner"

[[team.members]]
member = "telegram:op"
role = "operator"

[[team.members]]
member = "telegram:mod1"
role = "moderator"

[[team.members]]
member = "telegram:mod2"
role = "moderator"

[screening]
enabled = true
decision = "queue"

[metabolism]
enabled = true

[points.actions.message]
points = 1

[points.deductions]
notice = 7
remove = 5

[[rewards]]
id = "mug"
name = "Mug"
cost = 10
"""


def book(extra: str = "") -> Playbook:
    return parse_playbook(BOOK + extra, "team.toml")


class Stream:
    """Fresh keys, one engine stepped by hand."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.state = engine.start()
        self.n = 0

    def feed(
        self, kind: str, member: str | None = NEW, ts: int = T0, group: str = G1, **kw: Any
    ) -> list[Action]:
        self.n += 1
        event = EngineEvent(f"e{self.n}", kind, group, ts, member, platform_id=f"m{self.n}", **kw)
        self.state, actions = self.engine.step(self.state, event)
        return actions

    def decide(
        self, actor: str | None, decision: str = "approve", group: str = G1, ts: int = T0 + 60
    ) -> list[Action]:
        extra = json.dumps({"decision": decision})
        return self.feed("join_decided", ts=ts, group=group, actor=actor, extra=extra)


def kinds(actions: list[Action]) -> list[str]:
    return [a.kind for a in actions]


def taken(action: str, actor: str | None, **details: Any) -> dict[str, Any]:
    """The fields of an ``action_taken`` a human recorded (``engine`` names no engine)."""
    fields: dict[str, Any] = {"action": action, "engine": "team", "details": details}
    if action == "redeem":
        fields["reward"] = details.pop("reward")
    return {"actor": actor, "extra": json.dumps(fields), "text": f"the team's {action}"}


# -- screening: join decisions need `approve` in that group ----------------------------


def test_a_strangers_approval_is_not_honoured_and_the_request_stays_queued() -> None:
    s = Stream(ScreeningEngine(book()))
    assert kinds(s.feed("member_joined")) == ["restrict", "notice"]  # queued at once
    (refused,) = s.decide(STRANGER)
    assert refused.kind == "notice" and refused.member == STRANGER
    assert refused.rule == "team.permissions" and refused.engine == "screening"
    assert refused.explanation == (
        "not honoured: telegram:some-stranger may not decide join requests in Makers "
        "(not on the team); telegram:new's request stays queued."
    )
    assert refused.details["permission"] == "approve" and refused.details["about"] == NEW
    assert kinds(s.decide(STRANGER, "reject", ts=T0 + 61)) == ["notice"]
    assert kinds(s.feed("message_posted", ts=T0 + 70, text="hi?")) == ["delete_message"]
    approved = s.decide(MOD1, ts=T0 + 80)  # on Makers' team, a moderator: approve
    assert kinds(approved) == ["approve", "unrestrict"]
    assert approved[0].explanation == "approved: decided by telegram:mod1."
    assert approved[0].details["by"] == MOD1


def test_a_moderator_of_another_group_is_not_honoured_there() -> None:
    s = Stream(ScreeningEngine(book()))
    s.feed("member_joined")
    s.feed("member_joined", group=G2)
    (refused,) = s.decide(MOD2)
    assert refused.explanation == (
        "not honoured: telegram:mod2 may not decide join requests in Makers (not on its "
        "team: telegram:mod1, and the owner); telegram:new's request stays queued."
    )
    # Tinkerers lists no team: the whole team runs it
    assert kinds(s.decide(MOD2, group=G2, ts=T0 + 61)) == ["approve", "unrestrict"]
    assert kinds(s.decide(MOD1, "reject", ts=T0 + 62)) == ["reject", "delete_message"]


def test_the_owner_decides_everywhere_and_an_unnamed_actor_nowhere() -> None:
    s = Stream(ScreeningEngine(book()))
    s.feed("member_joined")
    (refused,) = s.decide(None)
    assert refused.member is None  # to the team: nobody to tell privately
    assert refused.explanation == (
        "not honoured: the decision names no actor; only the team may decide join "
        "requests in Makers; telegram:new's request stays queued."
    )
    assert kinds(s.decide(OWNER, ts=T0 + 61)) == ["approve", "unrestrict"]  # not listed in g1


def test_an_early_approval_by_a_stranger_lets_nobody_in_unscreened() -> None:
    s = Stream(ScreeningEngine(book()))
    (refused,) = s.decide(STRANGER, ts=T0)
    assert refused.explanation.endswith("; the approval of telegram:new is ignored.")
    assert kinds(s.feed("member_joined", ts=T0 + 10)) == ["restrict", "notice"]
    s.decide(MOD1, ts=T0 + 20)
    s.feed("member_left", ts=T0 + 30)
    s.decide(MOD1, ts=T0 + 40)  # a team member's approval before the join: let in unscreened
    assert s.feed("member_joined", ts=T0 + 50) == []


def test_custom_permissions_change_who_decides_and_keep_the_other_roles() -> None:
    custom = book('\n[team.permissions]\nmoderator = ["warn", "mute", "remove"]\n')
    assert custom.team.permissions["moderator"] == ["warn", "mute", "remove"]
    assert custom.team.permissions["owner"] == DEFAULT_PERMISSIONS["owner"]
    assert custom.team.permissions["operator"] == DEFAULT_PERMISSIONS["operator"]
    s = Stream(ScreeningEngine(custom))
    s.feed("member_joined")
    (refused,) = s.decide(MOD1)
    assert refused.explanation == (
        "not honoured: telegram:mod1 may not decide join requests in Makers (a moderator "
        "lacks the approve permission: team.permissions.moderator = [warn, mute, remove]); "
        "telegram:new's request stays queued."
    )
    assert kinds(s.decide(OP, ts=T0 + 61)) == ["notice"]  # an operator: not on Makers' team
    assert kinds(s.decide(OWNER, ts=T0 + 62)) == ["approve", "unrestrict"]
    # and a table that gives moderators nothing but approve lets mod1 decide again
    s = Stream(ScreeningEngine(book('\n[team.permissions]\nmoderator = ["approve"]\n')))
    s.feed("member_joined")
    assert kinds(s.decide(MOD1)) == ["approve", "unrestrict"]


# -- moderation: a human's warn / mute / remove ----------------------------------------


def test_a_strangers_mute_is_ignored_and_a_moderators_holds() -> None:
    s = Stream(ModerationEngine(book()))
    s.feed("member_joined", ALICE)
    mute = taken("mute", STRANGER, until=T0 + 3600)
    (refused,) = s.feed("action_taken", ALICE, T0 + 10, **mute)
    assert refused.kind == "notice" and refused.member == STRANGER
    assert refused.rule == "team.permissions"
    assert refused.explanation == (
        "not honoured: telegram:some-stranger may not mute members in Makers (not on the "
        "team); the mute of telegram:alice is ignored."
    )
    assert s.feed("message_posted", ALICE, T0 + 20, text="still here") == []
    assert kinds(s.feed("action_taken", ALICE, T0 + 30, **taken("mute", MOD2, until=T0 + 900))) == [
        "notice"
    ]
    assert s.feed("message_posted", ALICE, T0 + 40, text="still here") == []  # mod2: not g1's
    assert s.feed("action_taken", ALICE, T0 + 50, **taken("mute", MOD1, until=T0 + 900)) == []
    deleted = s.feed("message_posted", ALICE, T0 + 60, text="and now?")
    assert kinds(deleted) == ["delete_message"] and "posted while muted" in deleted[0].explanation


# -- scoring: awards, deductions, redemptions ------------------------------------------


def scored(
    events: list[tuple[str, str | None, int, dict[str, Any]]],
    playbook: Playbook,
    group: str = G1,
) -> Runner:
    """Moderation, metabolism and scoring through the runner (feedback as in production)."""
    runner = Runner(
        "c", [ModerationEngine(playbook), MetabolismEngine(playbook), ScoringEngine(playbook)]
    )
    for i, (kind, member, ts, fields) in enumerate(events):
        runner.feed(EngineEvent(f"x{i}", kind, group, ts, member, **fields))
    return runner


def points(runner: Runner, member: str, group: str = G1) -> tuple[int, int]:
    found = member_score(runner.states[2], group, member)
    return (0, 0) if found is None else (found.points, found.balance)


def notices(runner: Runner) -> list[Action]:
    return [t.action for t in runner.taken if t.action.kind == "notice"]


def test_a_moderator_may_not_award_points_an_operator_may() -> None:
    runner = scored(
        [
            ("action_taken", ALICE, T0, taken("award_points", MOD1, points=30)),
            ("action_taken", ALICE, T0 + 1, taken("deduct_points", STRANGER, points=3)),
            ("action_taken", ALICE, T0 + 2, taken("award_points", OP, points=20)),
            ("action_taken", ALICE, T0 + 3, taken("deduct_points", OWNER, points=4)),
        ],
        book(),
        G2,
    )
    assert points(runner, ALICE, G2) == (16, 16)
    award, deduction = notices(runner)
    assert (award.engine, award.member, award.rule) == ("scoring", MOD1, "team.permissions")
    assert award.explanation == (
        "not honoured: telegram:mod1 may not award or deduct points in Tinkerers (a moderator "
        "lacks the award permission: team.permissions.moderator = [approve, warn, mute, "
        "remove]); the award of 30 points to telegram:alice is ignored."
    )
    assert deduction.member == STRANGER and deduction.explanation.endswith(
        "(not on the team); the deduction of 3 points from telegram:alice is ignored."
    )


def test_redemptions_need_redeem_and_custom_permissions_grant_award() -> None:
    playbook = book('\n[team.permissions]\nmoderator = ["approve", "award"]\n')
    runner = scored(
        [
            ("action_taken", ALICE, T0, taken("award_points", MOD1, points=30)),
            ("action_taken", ALICE, T0 + 1, taken("redeem", MOD1, reward="mug")),
            ("action_taken", ALICE, T0 + 2, taken("redeem", OP, reward="mug")),
        ],
        playbook,
        G2,
    )
    assert points(runner, ALICE, G2) == (30, 20)  # awarded by mod1, redeemed once (by op)
    (refused,) = notices(runner)
    assert refused.member == MOD1 and refused.explanation.endswith(
        "(a moderator lacks the redeem permission: team.permissions.moderator = [approve, "
        "award]); the redemption of mug for telegram:alice is ignored."
    )


def test_a_strangers_removal_costs_no_points_and_keeps_the_member_in_the_group() -> None:
    messages = [
        ("message_posted", who, T0 + i, {"text": f"message {i}"})
        for i, who in enumerate([ALICE] * 10 + [STRANGER] * 10)
    ]
    runner = scored(
        [
            ("member_joined", ALICE, T0 - 10, {}),
            *messages,
            ("action_taken", ALICE, T0 + 100, taken("remove", STRANGER)),
        ],
        book(),
    )
    assert points(runner, ALICE) == (10, 10)  # no deduction for a removal not honoured
    # moderation's notice to the stranger is no penalty: it costs them nothing
    assert points(runner, STRANGER) == (10, 10)
    (refused,) = notices(runner)
    assert refused.engine == "moderation" and refused.member == STRANGER
    assert ALICE in runner.states[1].members[G1]  # metabolism: still in the group
    runner.feed(EngineEvent("y", "action_taken", G1, T0 + 200, ALICE, **taken("remove", MOD1)))
    assert points(runner, ALICE) == (5, 5)
    assert ALICE not in runner.states[1].members[G1]


# -- a stored record naming a built-in engine is no engine's decision -------------------


def test_a_stored_record_naming_an_engine_needs_a_permitted_actor_too() -> None:
    # the engines' own actions reach them fed back (event.action set); the runs' records
    # are left out of the replay (read_log). A stored action_taken whose extra names a
    # built-in engine is therefore someone's record like any other: naming "checkins" or
    # "moderation" must not skip the team's permissions
    def stored(action: str, engine: str, actor: str | None, **details: Any) -> dict[str, Any]:
        fields = {"action": action, "engine": engine, "details": details}
        return {"actor": actor, "extra": json.dumps(fields), "text": f"{engine}'s {action}"}

    messages = [("message_posted", ALICE, T0 + i, {"text": f"message {i}"}) for i in range(10)]
    runner = scored(
        [
            ("member_joined", ALICE, T0 - 10, {}),
            *messages,
            ("action_taken", ALICE, T0 + 100, stored("award_points", "checkins", None, points=500)),
            ("action_taken", ALICE, T0 + 101, stored("remove", "moderation", STRANGER)),
            ("action_taken", ALICE, T0 + 102, stored("deduct_points", "screening", None, points=3)),
        ],
        book(),
    )
    assert points(runner, ALICE) == (10, 10)  # no 500 points, no deductions
    assert ALICE in runner.states[1].members[G1]  # metabolism: still in the group
    assert [(a.engine, a.member) for a in notices(runner)] == [
        ("scoring", None),
        ("moderation", STRANGER),
        ("scoring", None),
    ]
    # the same records by a team member allowed to make them count
    runner.feed(
        EngineEvent(
            "y1",
            "action_taken",
            G1,
            T0 + 200,
            ALICE,
            **stored("award_points", "checkins", OWNER, points=500),
        )
    )
    runner.feed(
        EngineEvent(
            "y2", "action_taken", G1, T0 + 201, ALICE, **stored("remove", "moderation", MOD1)
        )
    )
    assert points(runner, ALICE) == (505, 505)  # 500 awarded, 5 for the removal
    assert ALICE not in runner.states[1].members[G1]
