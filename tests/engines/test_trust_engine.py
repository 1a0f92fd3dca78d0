"""Trust levels: probation for newcomers, earned automatically, lost on penalties."""

from __future__ import annotations

import json
from typing import Any

from shequn.engines.base import Action, EngineEvent
from shequn.engines.moderation import ModerationEngine
from shequn.playbook import parse_playbook
from shequn.playbook.model import Playbook

T0 = 1_700_000_000
G = "telegram/g1"
DAY = 86_400
NEW = "telegram:new"
BOOK = """
version = 1
community = "c"

[[groups]]
platform = "telegram"
id = "g1"

[[team.members]]
member = "telegram:mod"
role = "moderator"

[[trust.levels]]
level = 0
name = "newcomer"

[[trust.levels]]
level = 1
name = "member"
min_days = 3
min_messages = 5
may = ["links", "images"]

[[trust.levels]]
level = 2
name = "regular"
min_days = 10
min_messages = 20
may = ["mentions"]

[[rules]]
id = "no-ads"
kind = "banned_words"
words = ["加微信"]
penalty = [{ at = 1, action = "warn" }]
"""


def book(text: str = BOOK) -> Playbook:
    return parse_playbook(text, "trust.toml")


class Stream:
    def __init__(self, playbook: Playbook) -> None:
        self.engine = ModerationEngine(playbook)
        self.state = self.engine.start()
        self.n = 0

    def feed(self, kind: str, member: str = NEW, ts: int = T0, **kw: Any) -> list[Action]:
        self.n += 1
        event = EngineEvent(f"t{self.n}", kind, G, ts, member, platform_id=f"m{self.n}", **kw)
        self.state, actions = self.engine.step(self.state, event)
        return actions

    def post(self, text: str = "hello there", ts: int = T0, **kw: Any) -> list[Action]:
        return self.feed("message_posted", ts=ts, text=text, **kw)


def kinds(actions: list[Action]) -> list[str]:
    return [a.kind for a in actions]


def test_a_newcomers_link_is_deleted_with_a_notice_saying_why() -> None:
    s = Stream(book())
    s.feed("member_joined")
    acts = s.post("see https://example.com", ts=T0 + 60)
    assert kinds(acts) == ["delete_message", "notice"]
    notice = acts[1].details["text"]
    assert notice.startswith("Your message was deleted: links are for members at trust level 1")
    assert "reached after 3 days in the group and 5 accepted messages" in notice
    assert "you are at level 0 (newcomer) with 0 days in the group and 0 accepted" in notice
    assert kinds(s.post(ts=T0 + 70, attachment_kind="image")) == ["delete_message", "notice"]
    mention = s.post("hi @bob", ts=T0 + 80, mentions=("telegram:bob",))
    assert kinds(mention) == ["delete_message", "notice"]
    assert "mentions are for members at trust level 2 (regular)" in mention[1].details["text"]
    assert s.post("plain words are fine", ts=T0 + 90) == []


def test_trust_is_earned_after_days_and_accepted_messages() -> None:
    s = Stream(book())
    s.feed("member_joined")
    for i in range(5):
        assert s.post(ts=T0 + 100 + i) == []  # 5 accepted, but not 3 days yet
    raised = s.post("https://example.com", ts=T0 + 3 * DAY)
    assert kinds(raised) == ["trust_changed"]  # earned on the spot, then allowed
    assert raised[0].details == {"level": 1}
    assert raised[0].explanation == (
        "trust raised to level 1 (member): 3 days in the group and 5 accepted messages; "
        "may now post images, links."
    )
    assert kinds(s.post(ts=T0 + 3 * DAY + 1, attachment_kind="image")) == []


def test_messages_that_broke_a_rule_or_were_deleted_are_not_accepted() -> None:
    s = Stream(book())
    s.feed("member_joined")
    s.post("加微信", ts=T0 + 1)  # a rule fired
    s.post("https://x.com", ts=T0 + 2)  # deleted for trust
    for i in range(4):
        s.post(ts=T0 + 10 + i)
    assert s.post("https://x.com", ts=T0 + 4 * DAY)[0].kind == "delete_message"
    raised = s.post(ts=T0 + 4 * DAY + 1)  # the 5th accepted message
    assert kinds(raised) == ["trust_changed"]


def test_a_penalty_drops_trust_and_restarts_the_count() -> None:
    s = Stream(book())
    s.feed("member_joined")
    for i in range(5):
        s.post(ts=T0 + i)
    assert kinds(s.post(ts=T0 + 3 * DAY)) == ["trust_changed"]
    fell = s.post("加微信", ts=T0 + 3 * DAY + 10)
    assert kinds(fell) == ["delete_message", "warn", "trust_changed"]
    assert fell[2].details == {"level": 0}
    assert fell[2].explanation.startswith(
        "trust lowered from level 1 (member) to level 0 (newcomer) after the warn by rule no-ads"
    )
    assert kinds(s.post("https://x.com", ts=T0 + 4 * DAY)) == ["delete_message", "notice"]
    for i in range(5):
        s.post(ts=T0 + 5 * DAY + i)
    assert kinds(s.post(ts=T0 + 6 * DAY + 11)) == ["trust_changed"]  # 3 days after the penalty


def test_no_loss_without_lose_on_penalty() -> None:
    s = Stream(
        book(
            BOOK.replace(
                "[[trust.levels]]", "[trust]\nlose_on_penalty = false\n\n[[trust.levels]]", 1
            )
        )
    )
    assert kinds(s.post("加微信")) == ["delete_message", "warn"]
    assert s.post("https://x.com", ts=T0 + 1) == []


def test_members_present_before_the_log_are_grandfathered() -> None:
    s = Stream(book())
    assert s.post("https://example.com", ts=T0, mentions=("telegram:a",)) == []


def test_the_team_is_never_on_probation() -> None:
    s = Stream(book())
    s.feed("member_joined", member="telegram:mod")
    assert s.feed("message_posted", member="telegram:mod", ts=T0 + 1, text="https://x.com") == []


def test_a_penalty_decided_elsewhere_costs_trust() -> None:
    s = Stream(book())
    taken = {"action": "mute", "engine": "human", "rule": None, "details": {"until": T0 + 600}}
    lost = s.feed("action_taken", ts=T0, extra=json.dumps(taken), actor="telegram:mod")
    assert kinds(lost) == ["trust_changed"] and "after the mute by human" in lost[0].explanation
    assert kinds(s.post(ts=T0 + 10)) == ["delete_message"]  # muted until T0 + 600
    assert kinds(s.post(ts=T0 + 700, mentions=("telegram:a",))) == [
        "unmute",
        "delete_message",
        "notice",
    ]


def test_no_levels_means_no_probation() -> None:
    text = BOOK.split("[[trust.levels]]")[0] + BOOK.split('may = ["mentions"]')[1]
    s = Stream(book(text))
    s.feed("member_joined")
    assert s.post("https://example.com", ts=T0 + 1, attachment_kind="image") == []
