"""Screening: questions, captcha, task, decisions, time limits, cleanup, invitees, team."""

from __future__ import annotations

import json
from typing import Any

from shequn.engines.base import TICK, Action, EngineEvent
from shequn.engines.moderation import ModerationEngine
from shequn.engines.runner import Runner
from shequn.engines.screening import ScreeningEngine
from shequn.playbook import parse_playbook
from shequn.playbook.model import Playbook

T0 = 1_700_000_000
G = "telegram/g1"
NEW = "telegram:new"
BOOK = """
version = 1
community = "c"

[[groups]]
platform = "telegram"
id = "g1"

[[team.members]]
member = "telegram:owner"
role = "owner"

[screening]
enabled = true
time_limit = "10m"
welcome = "Welcome!"
{screening}

[[screening.questions]]
ask = "What do you build?"
pattern = ".{{10,}}"

[[screening.questions]]
ask = "Did you read the rules?"
accept = ["yes", "是"]

[[rules]]
id = "no-ads"
kind = "banned_words"
description = "No ads"
words = ["加微信"]
penalty = [{{ at = 1, action = "warn" }}]
"""


def book(screening: str = "") -> Playbook:
    return parse_playbook(BOOK.format(screening=screening), "screening.toml")


class Stream:
    def __init__(self, playbook: Playbook) -> None:
        self.engine = ScreeningEngine(playbook)
        self.state = self.engine.start()
        self.n = 0

    def feed(self, kind: str, member: str | None = NEW, ts: int = T0, **kw: Any) -> list[Action]:
        self.n += 1
        kw.setdefault("platform_id", f"m{self.n}")
        event = EngineEvent(f"s{self.n}", kind, G, ts, member, **kw)
        self.state, actions = self.engine.step(self.state, event)
        return actions

    def say(self, text: str, ts: int, member: str = NEW) -> list[Action]:
        return self.feed("message_posted", member, ts, text=text)

    def tick(self, ts: int) -> list[Action]:
        self.state, actions = self.engine.step(
            self.state, EngineEvent(f"tick:{G}:{ts}", TICK, G, ts)
        )
        return actions


def kinds(actions: list[Action]) -> list[str]:
    return [a.kind for a in actions]


def test_a_newcomer_is_restricted_asked_and_welcomed_with_the_rules() -> None:
    s = Stream(book())
    joined = s.feed("member_joined")
    assert kinds(joined) == ["restrict", "notice"]
    assert joined[0].explanation == (
        "restricted until screening is passed: joined at 2023-11-14 22:13 and must answer "
        "2 questions within 10 min."
    )
    assert joined[1].details["text"] == "Question 1 of 2 (answer within 10 min): What do you build?"
    assert s.engine.next_deadline(s.state) == T0 + 600
    second = s.say("a robot arm for my studio", T0 + 30)
    assert kinds(second) == ["delete_message", "notice"]  # before_passing = delete (default)
    assert second[1].details["text"].startswith("Question 2 of 2 (answer within 9 min 30 s)")
    passed = s.say("  YES ", T0 + 40)
    assert kinds(passed) == ["delete_message", "approve", "unrestrict", "post_message"]
    assert (
        passed[1].explanation
        == "approved: answered all 2 questions acceptably, 40 s after joining."
    )
    assert passed[3].details == {"text": "Welcome!\n\nRules:\n• No ads", "mention": NEW}
    assert s.say("hello everyone", T0 + 50) == []  # passed: no longer screened
    assert s.tick(T0 + 660) == []  # the time limit is gone with them


def test_a_wrong_answer_is_rejected_and_the_traces_cleaned() -> None:
    s = Stream(book('before_passing = "hold"'))
    s.feed("member_joined")
    held = s.say("加微信 888", T0 + 5)
    assert kinds(held) == ["hold_message", "notice"]  # taken as the (too short) first answer
    failed = s.say("yes", T0 + 6)
    assert kinds(failed) == [
        "hold_message",
        "reject",
        "delete_message",
        "delete_message",
        "delete_message",
    ]
    reject = failed[1]
    assert reject.details["clean"] is True and reject.details["remove"] is True
    assert reject.explanation == (
        "rejected: the answer to “What do you build?” (“加微信 888”) is not accepted; "
        "cleaning up the join notice and 2 held messages."
    )
    assert [a.details["message"] for a in failed[2:]] == ["m1", "m2", "m3"]


def test_no_cleanup_when_clean_failed_is_off() -> None:
    s = Stream(book("clean_failed = false"))
    s.feed("member_joined")
    s.say("short", T0 + 5)
    failed = s.say("no", T0 + 6)
    assert kinds(failed) == ["delete_message", "reject"]
    assert failed[1].details["clean"] is False


def test_timeout_rejects_on_the_tick_after_the_limit() -> None:
    s = Stream(book())
    s.feed("member_joined", platform_id="join-notice")
    s.say("a long enough answer", T0 + 20)
    assert s.tick(T0 + 540) == []
    timed_out = s.tick(T0 + 600)
    assert kinds(timed_out) == ["reject", "delete_message"]
    assert timed_out[0].explanation == (
        "rejected: did not finish screening within 10 min of joining at 22:13 (answered 1 of "
        "2 questions); cleaning up the join notice."
    )
    assert timed_out[0].cause == f"tick:{G}:{T0 + 600}" and timed_out[0].member == NEW
    assert s.say("yes", T0 + 700) == []  # no longer pending


def test_timeout_can_queue_for_a_human_who_decides() -> None:
    s = Stream(book('on_timeout = "queue"'))
    s.feed("member_joined")
    queued = s.tick(T0 + 660)
    assert kinds(queued) == ["notice"] and "queued for the team's decision" in queued[0].explanation
    assert s.tick(T0 + 6000) == []
    assert kinds(s.say("anyone?", T0 + 6100)) == ["delete_message"]  # still restricted
    decided = s.feed(
        "join_decided",
        ts=T0 + 7000,
        actor="telegram:owner",
        extra=json.dumps({"decision": "approve"}),
    )
    assert kinds(decided) == ["approve", "unrestrict", "post_message"]
    assert decided[0].explanation == "approved: decided by telegram:owner."


def test_queue_decision_waits_for_a_human_rejection() -> None:
    s = Stream(book('decision = "queue"'))
    s.feed("member_joined")
    s.say("wrong", T0 + 1)
    waiting = s.say("nope", T0 + 2)
    assert kinds(waiting) == ["delete_message", "notice"]  # answers wrong, yet a human decides
    rejected = s.feed("join_decided", ts=T0 + 3, text="rejected", actor="telegram:owner")
    assert kinds(rejected) == ["reject", "delete_message"]


def test_captcha_then_task() -> None:
    s = Stream(book('captcha = true\ntask = "Post a photo of your workbench"'))
    joined = s.feed("member_joined")
    code = joined[1].details["text"].rsplit(" ", 1)[1]
    assert len(code) == 4 and code.isdigit()
    wrong = s.say("0000" if code != "0000" else "1111", T0 + 5)
    assert (
        kinds(wrong) == ["delete_message", "notice"] and "not the code" in wrong[1].details["text"]
    )
    assert "Question 1 of 2" in s.say(code, T0 + 6)[1].details["text"]
    s.say("a bench with a vise", T0 + 7)
    task = s.say("是", T0 + 8)
    assert (
        task[1].details["text"] == "Your task (within 9 min 52 s): Post a photo of your workbench"
    )
    done = s.feed("message_posted", ts=T0 + 9, attachment_kind="image")
    assert kinds(done) == ["delete_message", "approve", "unrestrict", "post_message"]
    assert (
        "typed the captcha and answered all 2 questions acceptably and submitted the task"
        in done[1].explanation
    )


def test_the_same_join_gives_the_same_captcha() -> None:
    first, second = Stream(book("captcha = true")), Stream(book("captcha = true"))
    assert first.feed("member_joined")[1].details == second.feed("member_joined")[1].details


def test_a_join_request_with_answers_is_decided_at_once_and_not_screened_again() -> None:
    s = Stream(book())
    answers = {"answers": ["I build furniture", "yes"]}
    decided = s.feed("join_requested", extra=json.dumps(answers))
    assert kinds(decided) == ["approve", "post_message"]  # not in the group: nothing to unrestrict
    assert s.feed("member_joined", ts=T0 + 5, join_method="request_approved") == []
    by_name = {"answers": {"What do you build?": "tiny robots", "Did you read the rules?": "no"}}
    refused = s.feed("join_requested", member="telegram:x", ts=T0 + 9, extra=json.dumps(by_name))
    assert kinds(refused) == ["reject"] and refused[0].details["remove"] is False


def test_a_join_request_without_answers_is_asked() -> None:
    s = Stream(book())
    asked = s.feed("join_requested")
    assert kinds(asked) == ["notice"]
    assert kinds(s.feed("member_joined", ts=T0 + 1)) == ["restrict"]  # let in early: restricted


def test_a_join_request_that_times_out_is_counted_from_the_request_not_a_join() -> None:
    s = Stream(book())
    assert kinds(s.feed("join_requested")) == ["notice"]
    timed_out = s.tick(T0 + 600)
    assert kinds(timed_out) == ["reject"]
    assert timed_out[0].explanation.startswith(
        "rejected: did not finish screening within 10 min of asking to join at 22:13 "
    )


def test_the_team_and_bots_are_never_screened() -> None:
    s = Stream(book())
    assert s.feed("member_joined", member="telegram:owner") == []
    assert s.feed("member_joined", member="telegram:helper_bot", is_bot=True) == []
    assert s.feed("message_posted", member="telegram:owner", text="hi") == []


def test_invitees_are_screened_unless_screen_invitees_is_off() -> None:
    on, off = Stream(book()), Stream(book("screen_invitees = false"))
    invited: dict[str, Any] = {"actor": "telegram:friend", "join_method": "added"}
    assert kinds(on.feed("member_joined", **invited)) == ["restrict", "notice"]
    assert off.feed("member_joined", **invited) == []
    assert kinds(
        off.feed("member_joined", member="telegram:stranger", join_method="invite_link")
    ) == ["restrict", "notice"]


def test_leaving_before_passing_cleans_up() -> None:
    s = Stream(book('before_passing = "hold"'))
    s.feed("member_joined")
    s.say("buy my stuff", T0 + 1)
    left = s.feed("member_left", ts=T0 + 2)
    assert kinds(left) == ["delete_message", "delete_message"]
    assert (
        left[0].explanation
        == "deleted the join notice: cleaned up: left before passing screening (member left)."
    )


def test_disabled_screening_does_nothing() -> None:
    s = Stream(
        book().model_copy(
            update={"screening": book().screening.model_copy(update={"enabled": False})}
        )
    )
    assert s.feed("member_joined") == []


def test_a_duplicated_join_changes_nothing() -> None:
    s = Stream(book())
    event = EngineEvent("dup", "member_joined", G, T0, NEW)
    state, first = s.engine.step(s.state, event)
    state, again = s.engine.step(state, event)
    assert kinds(first) == ["restrict", "notice"] and again == []


def test_with_the_runner_moderation_leaves_a_pending_newcomer_to_screening() -> None:
    """Screening's restrict is fed back before moderation sees the join (registry order)."""
    playbook = book()
    runner = Runner("c", [ScreeningEngine(playbook), ModerationEngine(playbook)])
    events = [
        EngineEvent("j", "member_joined", G, T0, NEW),
        EngineEvent("a1", "message_posted", G, T0 + 5, NEW, text="加微信 building robots"),
        EngineEvent("a2", "message_posted", G, T0 + 6, NEW, text="yes"),
        EngineEvent("m", "message_posted", G, T0 + 9, NEW, text="加微信"),
    ]
    for event in events:
        runner.feed(event)
    made = [(t.action.engine, t.action.kind, t.action.cause) for t in runner.taken]
    assert made == [
        ("screening", "restrict", "j"),
        ("screening", "notice", "j"),
        ("screening", "delete_message", "a1"),  # pending: screening's, not a rule's
        ("screening", "notice", "a1"),
        ("screening", "delete_message", "a2"),
        ("screening", "approve", "a2"),
        ("screening", "unrestrict", "a2"),
        ("screening", "post_message", "a2"),
        ("moderation", "delete_message", "m"),
        ("moderation", "warn", "m"),
    ]


def test_nothing_to_ask_approves_at_once_without_restricting() -> None:
    playbook = book()
    bare = playbook.screening.model_copy(update={"questions": []})
    s = Stream(playbook.model_copy(update={"screening": bare}))
    joined = s.feed("member_joined")
    assert kinds(joined) == ["approve", "post_message"]
    assert joined[0].explanation == "approved: screening asks no captcha, questions or task."


def test_with_the_runner_a_silent_newcomer_times_out_on_a_tick() -> None:
    runner = Runner("c", [ScreeningEngine(book())])
    runner.feed(EngineEvent("j", "member_joined", G, T0, NEW, platform_id="join"))
    runner.finish(T0 + 3600)
    made = [(t.action.kind, t.action.cause) for t in runner.taken]
    tick = -(-(T0 + 600) // 60) * 60
    assert made == [
        ("restrict", "j"),
        ("notice", "j"),
        ("reject", f"tick:{G}:{tick}"),
        ("delete_message", f"tick:{G}:{tick}"),
    ]


POSITIONING = """
[positioning]
purpose = "Help makers ship side projects"
audience = "hobby makers, students"
topics = ["3D printing", " ", "electronics"]
goals = ["a weekly show-and-tell", "answers within a day"]
"""


def _passed(playbook: Playbook) -> list[Action]:
    s = Stream(playbook)
    s.feed("member_joined")
    s.say("a robot arm for my studio", T0 + 30)
    return [a for a in s.say("yes", T0 + 40) if a.kind == "post_message"]


def test_the_welcome_shows_the_positioning_with_the_rules() -> None:
    text = BOOK.format(screening="") + POSITIONING
    [welcome] = _passed(parse_playbook(text, "screening.toml"))
    assert welcome.details["text"] == (
        "Welcome!\n\n"
        "What this group is for: Help makers ship side projects\n"
        "Who it is for: hobby makers, students\n"
        "Topics: 3D printing, electronics\n"
        "Goals: a weekly show-and-tell; answers within a day\n\n"
        "Rules:\n• No ads"
    )
    assert welcome.explanation == (
        "welcome with the group's positioning and rules, on passing screening."
    )
    # only what the playbook says: a purpose alone is one line, with no welcome text
    only = BOOK.format(screening="").replace('welcome = "Welcome!"', "")
    only += '\n[positioning]\npurpose = "Ship things"\n'
    [welcome] = _passed(parse_playbook(only, "screening.toml"))
    assert welcome.details["text"] == "What this group is for: Ship things\n\nRules:\n• No ads"


def test_an_empty_positioning_leaves_the_welcome_unchanged() -> None:
    text = BOOK.format(screening="") + '\n[positioning]\npurpose = "  "\ntopics = [""]\n'
    [welcome] = _passed(parse_playbook(text, "screening.toml"))
    assert welcome.details["text"] == "Welcome!\n\nRules:\n• No ads"
    assert welcome.explanation == "welcome with the group rules, on passing screening."


def test_held_messages_are_released_when_they_pass_but_not_the_captcha_codes() -> None:
    """before_passing = "hold": what they wrote while screened is shown once they pass —
    their answers and what they wrote while queued — but not the codes they typed."""
    s = Stream(book('before_passing = "hold"\ncaptcha = true\ndecision = "queue"'))
    s.feed("member_joined")
    code = s.state.pending[(G, NEW)].captcha
    assert kinds(s.say("0000" if code != "0000" else "1111", T0 + 2)) == ["hold_message", "notice"]
    assert kinds(s.say(code, T0 + 3))[0] == "hold_message"
    s.say("a robot arm for my studio", T0 + 4)
    queued = s.say("yes", T0 + 5)
    assert "hold_message" in kinds(queued)
    waiting = s.say("hello, waiting here", T0 + 6)  # queued: held, no answer taken
    assert kinds(waiting) == ["hold_message"]
    approved = s.feed("join_decided", ts=T0 + 7, text="approve", actor="telegram:owner")
    released = [a for a in approved if a.kind == "release_message"]
    # m2, m3 the codes; m4, m5 the answers; m6 written while queued (m1 the join)
    assert [a.details["message"] for a in released] == ["m4", "m5", "m6"]
    assert [a.details["event"] for a in released] == ["s4", "s5", "s6"]
    assert all(a.member == NEW for a in released)
    assert kinds(approved)[-1] == "post_message"  # the welcome comes after them


def test_nothing_is_released_when_messages_are_deleted() -> None:
    s = Stream(book())
    s.feed("member_joined")
    s.say("a robot arm for my studio", T0 + 30)
    passed = s.say("yes", T0 + 40)
    assert "release_message" not in kinds(passed)
