"""Moderation: every rule kind, penalty ladders (window, expiry, any length), exemptions.

Streams of EngineEvents are built by hand (``Stream``) and stepped through the engine;
deadlines fire on ticks or on the next event at or after them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shequn.engines.base import TICK, Action, EngineEvent
from shequn.engines.moderation import ModerationEngine
from shequn.engines.rules import duration_words, link_domains, normalize
from shequn.engines.runner import Runner
from shequn.playbook import parse_playbook, starting_playbook
from shequn.playbook.model import Playbook

T0 = 1_700_000_000
G = "telegram/g1"
DAY = 86_400
HEAD = """
version = 1
community = "c"

[[groups]]
platform = "telegram"
id = "g1"
cap = 100
timezone = "UTC"

[[groups]]
platform = "telegram"
id = "g2"

[[team.members]]
member = "telegram:owner"
role = "owner"

[[team.members]]
member = "telegram:mod"
role = "moderator"

[tags]
vip = ["telegram:vip"]
"""


def book(rules: str, extra: str = "") -> Playbook:
    return parse_playbook(HEAD + extra + rules, "test.toml")


class Stream:
    """Builds events with fresh keys and steps them through one engine."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.state = engine.start()
        self.n = 0
        self.actions: list[Action] = []

    def event(
        self, kind: str, member: str | None = "telegram:u1", ts: int = T0, **kw: Any
    ) -> EngineEvent:
        self.n += 1
        group = kw.pop("group", G)
        return EngineEvent(f"e{self.n}", kind, group, ts, member, platform_id=f"m{self.n}", **kw)

    def feed(self, event: EngineEvent) -> list[Action]:
        self.state, actions = self.engine.step(self.state, event)
        self.actions += actions
        return actions

    def post(self, text: str, member: str = "telegram:u1", ts: int = T0, **kw: Any) -> list[Action]:
        return self.feed(self.event("message_posted", member, ts, text=text, **kw))

    def tick(self, ts: int) -> list[Action]:
        return self.feed(EngineEvent(f"tick:{G}:{ts}", TICK, G, ts))


def kinds(actions: list[Action]) -> list[str]:
    return [a.kind for a in actions]


def penalties(actions: list[Action]) -> list[str]:
    return [a.kind for a in actions if a.kind in ("warn", "notice", "mute", "remove")]


LINKS = """
[[rules]]
id = "no-link-spam"
kind = "links"
banned_domains = ["bit.ly", "t.cn"]
window = "24h"
penalty = [
  { at = 1, action = "warn" },
  { at = 2, action = "notice" },
  { at = 4, action = "mute", duration = "1h" },
  { at = 6, action = "remove", block_rejoin = true },
]
"""


def test_link_ladder_climbs_with_history_in_the_explanation() -> None:
    s = Stream(ModerationEngine(book(LINKS)))
    got = []
    for i in range(6):
        # each violation after the mute would be deleted as "posted while muted": space them
        acts = s.post(f"look https://bit.ly/x{i}", ts=T0 + i * 4000)
        got.append(penalties(acts))
        deleted = [a.details["message"] for a in acts if a.kind == "delete_message"]
        assert deleted == [f"m{i + 1}"]
    assert got == [["warn"], ["notice"], ["notice"], ["mute"], ["mute"], ["remove"]]
    warned = next(a for a in s.actions if a.kind == "warn")
    assert warned.details["text"] == (  # what the member reads: the rule and what comes next
        "Rule no-link-spam: a link to bit.ly, a banned domain. You have been warned; this is "
        "your 1st time within 24 h. At the 2nd: a notice."
    )
    removal = s.actions[-1]
    assert removal.details == {"count": 6, "window": DAY, "block_rejoin": True}
    assert removal.rule == "no-link-spam" and removal.cause == "e6"
    assert removal.explanation.startswith(
        "removed (may not rejoin): 6th violation of rule no-link-spam within 24 h: "
        "a link to bit.ly, a banned domain, after warn at "
    )
    assert removal.explanation.endswith(
        "after warn at 2023-11-14 22:13, notice at 2023-11-14 23:20, notice at 00:26, "
        "mute at 01:33, mute at 02:40."
    )


def test_mute_deletes_messages_until_it_ends_then_unmutes_on_a_tick() -> None:
    rules = """
[[rules]]
id = "mute-links"
kind = "links"
banned_domains = ["bit.ly"]
penalty = [{ at = 1, action = "mute", duration = "2h" }]
"""
    s = Stream(ModerationEngine(book(rules)))
    assert penalties(s.post("bit.ly/a")) == ["mute"]
    until = s.actions[-1].details["until"]
    assert until == T0 + 7200
    assert s.engine.next_deadline(s.state) == until
    muted = s.post("hello", ts=T0 + 60)
    assert kinds(muted) == ["delete_message"] and "while muted until" in muted[0].explanation
    assert s.tick(until - 60) == []
    lifted = s.tick(until + 60 - until % 60)
    assert kinds(lifted) == ["unmute"] and lifted[0].member == "telegram:u1"
    assert s.engine.next_deadline(s.state) is None
    assert s.post("hello again", ts=until + 120) == []


def test_window_forgets_old_violations() -> None:
    s = Stream(ModerationEngine(book(LINKS)))
    assert penalties(s.post("t.cn/1")) == ["warn"]
    assert penalties(s.post("t.cn/2", ts=T0 + DAY)) == ["warn"]  # the 1st has left the window
    assert penalties(s.post("t.cn/3", ts=T0 + DAY + 10)) == ["notice"]


def test_warnings_expire_after_a_quiet_period() -> None:
    rules = LINKS.replace('window = "24h"', 'window = "30d"\nwarnings_expire_after = "2d"')
    s = Stream(ModerationEngine(book(rules)))
    assert penalties(s.post("t.cn/1")) == ["warn"]
    assert penalties(s.post("t.cn/2", ts=T0 + DAY)) == ["notice"]  # inside the quiet period
    again = s.post("t.cn/3", ts=T0 + 4 * DAY)  # quiet for 3 days > 2 days: forgotten
    assert penalties(again) == ["warn"]
    assert "earlier warnings expired after 2 d without a violation" in again[-1].explanation
    assert penalties(s.post("t.cn/4", ts=T0 + 4 * DAY + 5)) == ["notice"]


def test_a_ladder_of_any_length_repeats_its_last_step() -> None:
    steps = ", ".join(f'{{ at = {i}, action = "warn" }}' for i in range(1, 9))
    rules = f"""
[[rules]]
id = "eight"
kind = "banned_words"
words = ["spam"]
penalty = [{steps}, {{ at = 9, action = "notice" }}]
"""
    s = Stream(ModerationEngine(book(rules)))
    got = [penalties(s.post("spam", ts=T0 + i))[0] for i in range(11)]
    assert got == ["warn"] * 8 + ["notice"] * 3
    assert "11th violation of rule eight" in s.actions[-1].explanation


def test_a_ladder_starting_later_counts_silently_first() -> None:
    rules = """
[[rules]]
id = "late"
kind = "banned_words"
words = ["spam"]
penalty = [{ at = 3, action = "mute", duration = "10m" }]
"""
    s = Stream(ModerationEngine(book(rules)))
    assert kinds(s.post("spam")) == ["delete_message"]
    assert kinds(s.post("spam", ts=T0 + 1)) == ["delete_message"]
    assert kinds(s.post("spam", ts=T0 + 2)) == ["delete_message", "mute"]


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("see https://evil.com/x", "evil.com"),
        ("www.Evil.com", "evil.com"),
        ("t.cn/abc", "t.cn"),
        ("shop.evil.com", "shop.evil.com"),
        ("ｗｗｗ．ｅｖｉｌ．ｃｏｍ", "evil.com"),  # full-width
        ("I use node.js daily", None),
        ("e.g. this", None),
    ],
)
def test_link_detection(text: str, hit: str | None) -> None:
    found = link_domains(normalize(text)[1])
    assert (found[0] if found else None) == hit


def test_allowed_domains_and_young_members() -> None:
    rules = """
[[rules]]
id = "links"
kind = "links"
allowed_domains = ["github.com"]
penalty = [{ at = 1, action = "warn" }]

[[rules]]
id = "young"
kind = "links"
min_member_days = 3
penalty = [{ at = 1, action = "notice" }]
"""
    s = Stream(ModerationEngine(book(rules)))
    s.feed(s.event("member_joined", "telegram:new", T0))
    github = s.post("https://github.com/x/y", member="telegram:new", ts=T0 + 10)
    assert [(a.kind, a.rule) for a in github] == [("delete_message", "young"), ("notice", "young")]
    young = s.post("https://example.org/", member="telegram:new", ts=T0 + 20)
    assert [(a.kind, a.rule) for a in young] == [
        ("delete_message", "links"), ("warn", "links"), ("notice", "young"),
    ]  # fmt: skip
    assert "from a member who joined 20 s ago (links need 3 days" in young[2].explanation
    old = s.post("https://example.org/", member="telegram:new", ts=T0 + 4 * DAY)
    assert [(a.kind, a.rule) for a in old] == [("delete_message", "links"), ("warn", "links")]
    # present before the log began: not young
    assert [a.rule for a in s.post("example.org/a", member="telegram:old")] == ["links", "links"]


WORDS = """
[[rules]]
id = "no-ads"
kind = "banned_words"
words = ["加微信", "代购", "ad", "free crypto"]
patterns = ["(?i)whats?app\\\\s*\\\\+?\\\\d{6,}"]
penalty = [{ at = 1, action = "warn" }, { at = 2, action = "mute", duration = "1d" }]
"""


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("请加微信abc", "加微信"),  # Chinese: a substring, no word boundaries
        ("需要代购的私聊", "代购"),
        ("加\u200b微信", "加微信"),  # zero-width space
        ("FREE   crypto", None),  # words are matched as written (one space)
        ("Free Crypto here", "free crypto"),
        ("an AD!", "ad"),
        ("I read a book", None),  # "ad" only as a word
        ("免费ad", "ad"),  # next to Chinese is a boundary
        ("whatsapp +8612345678", "whatsapp +8612345678"),
        ("hello", None),
    ],
)
def test_banned_words_and_patterns(text: str, hit: str | None) -> None:
    s = Stream(ModerationEngine(book(WORDS)))
    acts = s.post(text)
    if hit is None:
        assert acts == []
    else:
        assert kinds(acts) == ["delete_message", "warn"]
        assert hit in acts[1].explanation


FLOOD = """
[[rules]]
id = "no-flood"
kind = "flood"
messages = 5
within = "10s"
penalty = [{ at = 1, action = "warn" }, { at = 2, action = "mute", duration = "1m" }]
"""


def test_flood_counts_a_burst_once_and_keeps_its_messages() -> None:
    s = Stream(ModerationEngine(book(FLOOD)))
    for i in range(5):
        assert s.post(str(i), ts=T0 + i) == []
    trip = s.post("5", ts=T0 + 5)
    assert kinds(trip) == ["warn"]  # a flood is punished; its messages stay
    assert "6 messages within 5 s (the limit is 5 in 10 s)" in trip[0].explanation
    for i in range(5):  # a new burst must be a full one again
        assert s.post("x", ts=T0 + 6 + i) == []
    assert kinds(s.post("x", ts=T0 + 11)) == ["mute"]


def test_slow_posting_is_no_flood() -> None:
    s = Stream(ModerationEngine(book(FLOOD)))
    assert all(s.post("hi", ts=T0 + 3 * i) == [] for i in range(50))


def test_a_thousand_one_character_messages_in_an_hour_trip_the_flood_rule() -> None:
    """Anti-gaming: tiny messages are still messages (the template's 8 per 30 s rule).

    Each message is a different character, so only the flood rule can catch them.
    """
    engine = ModerationEngine(parse_playbook(starting_playbook(group="g1"), "t"))
    s = Stream(engine)
    for i in range(1000):
        s.post(chr(0x4E00 + i), member="telegram:spammer", ts=T0 + i * 3600 // 1000)
    flood = [a for a in s.actions if a.rule == "no-flood" and a.kind != "delete_message"]
    assert [a.kind for a in flood] == ["mute", "mute", "remove"]
    assert flood[0].ts < T0 + 60  # within the first minute
    assert flood[-1].ts < T0 + 3600
    assert "9 messages within" in flood[0].explanation
    muted = [a for a in s.actions if a.kind == "delete_message"]
    assert muted and all(
        "posted while muted until" in a.explanation or "posted while removed at" in a.explanation
        for a in muted
    )
    assert all(a.member == "telegram:spammer" for a in s.actions)


REPEAT = """
[[rules]]
id = "no-repeats"
kind = "repeat"
times = 3
within = "10m"
penalty = [{ at = 1, action = "warn" }, { at = 2, action = "notice" }]
"""


def test_repeated_identical_messages() -> None:
    s = Stream(ModerationEngine(book(REPEAT)))
    assert s.post("Buy now") == []
    assert s.post("something else", ts=T0 + 1) == []
    assert s.post("buy   NOW", ts=T0 + 2) == []  # same text up to case and spacing
    third = s.post("buy now", ts=T0 + 3)
    assert kinds(third) == ["delete_message", "warn"]
    assert "the same message (“buy now”) 3 times within 10 min" in third[1].explanation
    # spread beyond the window: no violation
    assert all(s.post("hello", ts=T0 + 10 + i * 400) == [] for i in range(5))


def test_forwarded_promotions() -> None:
    rules = """
[[rules]]
id = "no-promo"
kind = "forwarded_promotion"
keywords = ["优惠", "discount"]
penalty = [{ at = 1, action = "warn" }]
"""
    s = Stream(ModerationEngine(book(rules)))
    assert s.post("nice article", forwarded_from="Some Channel") == []
    assert s.post("限时优惠!", ts=T0 + 1) == []  # not forwarded
    promo = s.post("限时优惠!", ts=T0 + 2, forwarded_from="Deals")
    assert kinds(promo) == ["delete_message", "warn"]
    assert "a promotion (“优惠”) forwarded from Deals" in promo[1].explanation


def test_nickname_format_on_rename_and_join() -> None:
    rules = """
[[rules]]
id = "nick"
kind = "nickname"
description = "城市-职业-名字"
pattern = "^[^-]+-[^-]+-[^-]+$"
penalty = [{ at = 1, action = "notice" }, { at = 2, action = "remove" }]
"""
    s = Stream(ModerationEngine(book(rules)))
    assert s.feed(s.event("member_renamed", text="上海-设计-小王")) == []
    bad = s.feed(s.event("member_renamed", ts=T0 + 1, text="小王"))
    assert kinds(bad) == ["notice"]
    assert (
        "the nickname “小王”, which does not follow the required format (城市-职业-名字)"
        in bad[0].explanation
    )
    joined = s.feed(s.event("member_joined", ts=T0 + 2, extra=json.dumps({"member_name": "Bob"})))
    assert kinds(joined) == ["remove"]


def test_nickname_format_reads_the_events_member_name() -> None:
    rules = """
[[rules]]
id = "nick"
kind = "nickname"
pattern = "^[^-]+-[^-]+$"
penalty = [{ at = 1, action = "notice" }]
"""
    s = Stream(ModerationEngine(book(rules)))
    assert s.feed(s.event("member_joined", member_name="北京-Ann")) == []
    listed = s.feed(s.event("member_listed", "telegram:u2", ts=T0 + 1, member_name="Bob"))
    assert kinds(listed) == ["notice"] and "the nickname “Bob”" in listed[0].explanation
    # the event's own name wins over one in extra
    extra = json.dumps({"member_name": "北京-Cy"})
    joined = s.feed(
        s.event("member_joined", "telegram:u3", ts=T0 + 2, member_name="Cy", extra=extra)
    )
    assert kinds(joined) == ["notice"] and "“Cy”" in joined[0].explanation


def test_exempt_roles_and_tags() -> None:
    rules = (
        WORDS
        + """
[[rules]]
id = "owner-only-exempt"
kind = "banned_words"
words = ["spam"]
exempt_roles = ["owner"]
exempt_tags = ["vip"]
penalty = [{ at = 1, action = "warn" }]
"""
    )
    s = Stream(ModerationEngine(book(rules)))
    for member in ("telegram:owner", "telegram:mod"):
        assert s.post("加微信", member=member) == []  # default: the whole team is exempt
    assert s.post("spam", member="telegram:owner") == []
    assert s.post("spam", member="telegram:vip") == []
    assert [a.rule for a in s.post("spam", member="telegram:mod")] == ["owner-only-exempt"] * 2


def test_violations_are_counted_per_group_member_and_rule() -> None:
    rules = WORDS + LINKS
    s = Stream(ModerationEngine(book(rules)))
    assert penalties(s.post("加微信")) == ["warn"]
    assert penalties(s.post("加微信", group="telegram/g2", ts=T0 + 1)) == ["warn"]
    assert penalties(s.post("加微信", member="telegram:u2", ts=T0 + 2)) == ["warn"]
    assert penalties(s.post("t.cn/x", ts=T0 + 3)) == ["warn"]
    both = s.post("加微信 t.cn/y", ts=T0 + 4)
    assert [(a.kind, a.rule) for a in both] == [
        ("delete_message", "no-ads"), ("mute", "no-ads"), ("notice", "no-link-spam"),
    ]  # fmt: skip


def test_removed_with_block_rejoin_is_removed_again_on_rejoining() -> None:
    rules = """
[[rules]]
id = "zero"
kind = "banned_words"
words = ["scam"]
penalty = [{ at = 1, action = "remove", block_rejoin = true }]
"""
    s = Stream(ModerationEngine(book(rules)))
    assert penalties(s.post("scam")) == ["remove"]
    gone = s.post("still here?", ts=T0 + 5)  # in a replay the log goes on
    assert kinds(gone) == ["delete_message"] and "removed at" in gone[0].explanation
    back = s.feed(s.event("member_joined", ts=T0 + 100))
    assert kinds(back) == ["remove"] and "which blocks rejoining" in back[0].explanation


def test_edits_cannot_smuggle_in_a_banned_word() -> None:
    s = Stream(ModerationEngine(book(WORDS)))
    assert s.post("hello") == []
    edit = s.feed(s.event("message_edited", ts=T0 + 5, text="hello 加微信"))
    assert kinds(edit) == ["delete_message", "warn"]


def test_bots_and_unknown_groups_are_not_judged() -> None:
    s = Stream(ModerationEngine(book(WORDS)))
    assert s.post("加微信", is_bot=True) == []
    assert s.post("加微信", group="telegram/elsewhere") == []


def test_a_duplicated_event_changes_nothing() -> None:
    """The runner drops the redelivery before the engine sees it (no seen-key set here)."""
    runner = Runner("c", [ModerationEngine(book(WORDS))])
    s = Stream(ModerationEngine(book(WORDS)))  # only makes the events
    event = s.event("message_posted", text="加微信")
    runner.feed(event)
    runner.feed(event)
    runner.feed(s.event("message_posted", ts=T0 + 1, text="加微信"))
    made = [(t.action.cause, t.action.kind) for t in runner.taken]
    first, second = [("e1", "delete_message"), ("e1", "warn")], [("e2", "delete_message")]
    assert made == [*first, *second, ("e2", "mute")]
    assert runner.counts.events == 3 and runner.counts.duplicates == 1


def test_screening_restriction_is_respected() -> None:
    s = Stream(ModerationEngine(book(WORDS)))
    taken = {"action": "restrict", "engine": "screening", "rule": None, "details": {}}
    s.feed(s.event("action_taken", extra=json.dumps(taken)))
    assert s.post("加微信", ts=T0 + 1) == []  # screening holds or deletes it
    taken["action"] = "unrestrict"
    s.feed(s.event("action_taken", ts=T0 + 2, extra=json.dumps(taken)))
    assert kinds(s.post("加微信", ts=T0 + 3)) == ["delete_message", "warn"]


def test_every_explanation_is_a_sentence() -> None:
    s = Stream(ModerationEngine(book(WORDS + LINKS + FLOOD + REPEAT)))
    for i in range(40):
        s.post(["加微信", "t.cn/a", "x", "x"][i % 4], ts=T0 + i)
    s.tick(T0 + 3 * DAY)
    assert s.actions
    for action in s.actions:
        assert action.explanation.endswith(".") and len(action.explanation) > 20
        assert action.engine == "moderation"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (30, "30 s"),
        (90, "1 min 30 s"),
        (600, "10 min"),
        (3600, "1 h"),
        (DAY, "24 h"),
        (7 * DAY, "7 d"),
    ],
)
def test_durations_in_words(seconds: int, words: str) -> None:
    assert duration_words(seconds) == words
