"""Metabolism: the silent longest make room in a full group, warned and given grace."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shequn.engines.base import TICK, Action, EngineEvent
from shequn.engines.metabolism import MetabolismEngine
from shequn.playbook import parse_playbook
from shequn.playbook.model import Playbook

T0 = 1_700_000_000
DAY = 86_400
G = "telegram/g1"
BOOK = """
version = 1
community = "c"

[[groups]]
platform = "telegram"
id = "g1"
cap = 10

[[groups]]
platform = "telegram"
id = "nocap"

[[team.members]]
member = "telegram:m0"
role = "owner"

[tags]
protected = ["telegram:m1"]

[metabolism]
enabled = true
at_share = 0.9
down_to_share = 0.7
protect_new_days = 14
grace = "3d"
{extra}
"""


def book(extra: str = "max_per_run = 5") -> Playbook:
    return parse_playbook(BOOK.format(extra=extra), "metabolism.toml")


class Stream:
    def __init__(self, playbook: Playbook, kols: Sequence[str] = ()) -> None:
        self.engine = MetabolismEngine(playbook, kols=kols)
        self.state = self.engine.start()
        self.n = 0

    def feed(self, kind: str, member: str | None, ts: int, **kw: Any) -> list[Action]:
        self.n += 1
        group = kw.pop("group", G)
        event = EngineEvent(f"x{self.n}", kind, group, ts, member, **kw)
        self.state, actions = self.engine.step(self.state, event)
        return actions

    def tick(self, ts: int) -> list[Action]:
        self.state, actions = self.engine.step(
            self.state, EngineEvent(f"tick:{G}:{ts}", TICK, G, ts)
        )
        return actions


def old_group(s: Stream, members: int = 7) -> None:
    """``members`` members who joined 30 days ago; m<i> last posted i days after that."""
    for i in range(members):
        s.feed("member_listed", f"telegram:m{i}", T0 - 30 * DAY)
    for i in range(members):
        s.feed("message_posted", f"telegram:m{i}", T0 - 30 * DAY + i * DAY, text="hi")


def warned(actions: list[Action]) -> list[str | None]:
    return [a.member for a in actions if a.kind == "warn_inactive"]


def removed(actions: list[Action]) -> list[str | None]:
    return [a.member for a in actions if a.kind == "remove"]


def test_the_silent_longest_are_warned_then_removed_after_the_grace() -> None:
    s = Stream(book())
    old_group(s)
    assert s.feed("member_joined", "telegram:n1", T0) == []  # 8/10: not yet
    starts = s.feed("member_joined", "telegram:n2", T0 + 60)
    # 9/10 = 90 %, down to 7: 2 must go; m0 (team) and m1 (protected) are skipped
    assert warned(starts) == ["telegram:m2", "telegram:m3"]
    first = starts[0]
    assert first.details["grace_until"] == T0 + 60 + 3 * DAY
    assert first.explanation.startswith(
        "warned of removal: silent since 2023-10-17 (28 d), the longest-silent removable member "
        "of a group at 9/10 (90%; metabolism starts at 90%); one message within the 3 d grace"
    )
    assert "2nd longest-silent" in starts[1].explanation
    # one more joins: one more is warned (the two already warned count)
    assert warned(s.feed("member_joined", "telegram:n3", T0 + 60)) == ["telegram:m4"]
    assert s.engine.next_deadline(s.state) == T0 + 60 + 3 * DAY
    # one message saves m3
    assert s.feed("message_posted", "telegram:m3", T0 + DAY, text="still here!") == []
    done = s.tick(T0 + 60 + 3 * DAY)
    assert removed(done) == ["telegram:m2", "telegram:m4"]  # m3 was saved
    assert done[0].details == {"block_rejoin": False, "reason": "metabolism"}
    assert "did not post within the 3 d grace period" in done[0].explanation
    # 8 left, still above 7: the next silent longest is warned at once
    assert warned(done) == ["telegram:m5"]
    assert s.feed("message_posted", "telegram:m5", T0 + 4 * DAY, text="hi") == []
    assert s.tick(T0 + 60 + 6 * DAY) == []  # saved


def test_members_who_left_during_the_grace_spare_the_others() -> None:
    s = Stream(book())
    old_group(s)
    s.feed("member_joined", "telegram:n1", T0)
    assert len(warned(s.feed("member_joined", "telegram:n2", T0 + 1))) == 2
    for i in (5, 6):
        s.feed("member_left", f"telegram:m{i}", T0 + 10)
    assert s.tick(T0 + 1 + 3 * DAY) == []  # 7 members: nobody needs to go


def test_removals_by_other_engines_count() -> None:
    s = Stream(book())
    old_group(s)
    s.feed("member_joined", "telegram:n1", T0)
    # fed back, as the runner feeds the engines' actions
    taken = {"action": "remove", "engine": "moderation", "details": {"block_rejoin": True}}
    removed = Action("remove", G, "telegram:m6", T0 + 1, "moderation", "removed")
    removed.details = {"block_rejoin": True}
    s.feed("action_taken", "telegram:m6", T0 + 1, extra=json.dumps(taken), action=removed)
    rejected = {"action": "reject", "engine": "screening", "details": {"remove": True}}
    turned = Action("reject", G, "telegram:n1", T0 + 1, "screening", "rejected")
    turned.details = {"remove": True}
    s.feed("action_taken", "telegram:n1", T0 + 1, extra=json.dumps(rejected), action=turned)
    assert s.feed("member_joined", "telegram:n2", T0 + 2) == []  # 7/10
    assert s.feed("member_joined", "telegram:n3", T0 + 3) == []  # 8/10
    assert len(warned(s.feed("member_joined", "telegram:n4", T0 + 3))) == 2


def test_never_the_team_tagged_newcomers_or_top_kols() -> None:
    s = Stream(
        book('protect_tags = ["protected"]\nprotect_top_kols = 2'),
        kols=["telegram:m2", "telegram:m3", "telegram:m4"],
    )
    old_group(s, 4)  # m0 team, m1 tagged, m2 m3 top KOLs
    for i in range(5):
        s.feed("member_joined", f"telegram:n{i}", T0 + i)  # all inside their first 14 days
    assert s.state.warned == {}
    # when the newcomers' protection lapses, a re-check finds them
    lapse = T0 + 14 * DAY
    assert s.engine.next_deadline(s.state) == lapse
    later = s.tick(lapse)
    assert warned(later) == ["telegram:n0"]  # the only one whose 14 days are over


def test_without_notify_first_they_are_removed_at_once_up_to_max_per_run() -> None:
    s = Stream(book("notify_first = false\nmax_per_run = 2"))
    old_group(s)
    s.feed("member_joined", "telegram:n1", T0)
    gone = s.feed("member_joined", "telegram:n2", T0 + 1)
    assert removed(gone) == ["telegram:m2", "telegram:m3"]
    assert "not warned first (metabolism.notify_first = false)" in gone[0].explanation
    s.feed("member_joined", "telegram:n3", T0 + 2)
    assert removed(s.feed("member_joined", "telegram:n4", T0 + 2)) == ["telegram:m4", "telegram:m5"]


def test_members_who_never_posted_are_silent_since_joining() -> None:
    s = Stream(book("notify_first = false"))
    for i in range(7):
        s.feed("member_listed", f"telegram:m{i}", T0 - (40 - i) * DAY)
        s.feed("message_posted", f"telegram:m{i}", T0 - 20 * DAY, text="hi")
    s.feed("member_listed", "telegram:lurker", T0 - 25 * DAY)  # joined later, never posted
    gone = s.feed("member_joined", "telegram:n1", T0)
    assert removed(gone)[0] == "telegram:lurker"
    assert "silent since joining on 2023-10-20 (25 d)" in gone[0].explanation


def test_a_message_from_a_member_without_a_join_counts_them_in() -> None:
    s = Stream(book("notify_first = false"))
    for i in range(8):
        s.feed("message_posted", f"telegram:m{i}", T0 + i, text="hi")
    gone = s.feed("member_joined", "telegram:n1", T0 + 100)
    assert removed(gone) == ["telegram:m2", "telegram:m3"]


def test_groups_without_a_cap_or_disabled_metabolism_are_left_alone() -> None:
    s = Stream(book())
    for i in range(50):
        assert (
            s.feed("member_joined", f"telegram:u{i}", T0 - 30 * DAY, group="telegram/nocap") == []
        )
    off = Stream(
        book().model_copy(
            update={"metabolism": book().metabolism.model_copy(update={"enabled": False})}
        )
    )
    old_group(off)
    assert off.feed("member_joined", "telegram:n1", T0) == []
    assert off.feed("member_joined", "telegram:n2", T0) == []


def test_a_roster_fills_the_group_and_a_tick_evaluates_it() -> None:
    s = Stream(book("notify_first = false"))
    for i in range(10):
        assert s.feed("member_listed", f"telegram:m{i}", T0 - 30 * DAY + i) == []
    assert s.engine.next_deadline(s.state) == T0 - 30 * DAY + 9  # after the roster
    assert len(removed(s.tick(T0))) == 3


def test_with_the_runner_the_grace_ends_on_a_tick_in_a_silent_group() -> None:
    from shequn.engines.runner import Runner

    runner = Runner("c", [MetabolismEngine(book())])
    n = 0

    def feed(kind: str, member: str, ts: int) -> None:
        nonlocal n
        n += 1
        runner.feed(EngineEvent(f"r{n}", kind, G, ts, member, text="hi"))

    for i in range(7):
        feed("member_listed", f"telegram:m{i}", T0 - 30 * DAY)
        feed("message_posted", f"telegram:m{i}", T0 - 30 * DAY + i * DAY)
    feed("member_joined", "telegram:n1", T0)
    feed("member_joined", "telegram:n2", T0 + 60)
    runner.finish(T0 + 4 * DAY)  # nobody speaks: only ticks
    made = [(t.action.kind, t.action.member, t.action.cause) for t in runner.taken]
    grace_end = T0 + 60 + 3 * DAY
    tick = -(-grace_end // 60) * 60  # the first tick at or after it
    assert made == [
        ("warn_inactive", "telegram:m2", "r16"),
        ("warn_inactive", "telegram:m3", "r16"),
        ("remove", "telegram:m2", f"tick:{G}:{tick}"),
        ("remove", "telegram:m3", f"tick:{G}:{tick}"),
    ]
