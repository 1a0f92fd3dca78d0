"""Anti-gaming, with every engine at once (issue 6): a member who posts 1,000
one-character messages in an hour earns no more than the daily cap and trips the flood
rule — under the starting playbook, as `shequn run` drives it."""

from __future__ import annotations

from shequn.engines.base import EngineEvent
from shequn.engines.registry import load_engines
from shequn.engines.runner import Runner
from shequn.playbook import parse_playbook, starting_playbook

T0 = 1_772_420_400  # 2026-03-02 11:00 in Shanghai: the hour stays inside one local day
GROUP = "telegram/g1"
FARMER = "telegram:farmer"


def _farm(text: str) -> Runner:
    playbook = parse_playbook(text, "anti-gaming.toml")
    engines, missing = load_engines(playbook)
    assert not missing and {e.name for e in engines} >= {"moderation", "scoring"}
    runner = Runner("makers", engines)
    runner.feed(EngineEvent("join", "member_joined", GROUP, T0 - 30 * 86_400, FARMER))
    for i in range(1000):  # a different character each time: no repeat rule catches them
        ts = T0 + i * 3600 // 1000
        runner.feed(EngineEvent(f"m{i}", "message_posted", GROUP, ts, FARMER, text=chr(0x4E00 + i)))
    runner.finish(T0 + 3600)
    return runner


def _template(min_length: int, flood: bool = True) -> str:
    text = starting_playbook(group="g1", timezone="Asia/Shanghai")
    text = text.replace("[screening]\nenabled = true", "[screening]\nenabled = false")
    text = text.replace("min_length = 5", f"min_length = {min_length}")
    if not flood:
        start = text.index('[[rules]]\nid = "no-flood"')
        text = text[:start] + text[text.index("\n\n", start) + 2 :]
    return text


def _message_points(runner: Runner) -> int:
    return sum(
        t.action.details["points"]
        for t in runner.taken
        if t.action.kind == "award_points"
        and t.action.member == FARMER
        and t.action.details["action"] == "message"
    )


def test_a_thousand_one_character_messages_earn_at_most_the_cap_and_trip_the_flood_rule() -> None:
    for min_length in (5, 0):  # the template's minimum, and none at all
        runner = _farm(_template(min_length))
        assert _message_points(runner) <= 20
        flood = [
            t.action
            for t in runner.taken
            if t.action.rule == "no-flood" and t.action.kind in ("mute", "remove")
        ]
        assert flood and flood[0].kind == "mute" and flood[0].ts < T0 + 60
        assert flood[0].member == FARMER
        assert "messages within" in flood[0].explanation


def test_without_the_flood_rule_the_daily_cap_is_what_stops_them() -> None:
    """No minimum length and no flood rule: one message a minute earns (60 in the hour);
    the cap of 20 a day holds them to 20."""
    runner = _farm(_template(0, flood=False))
    assert not [t for t in runner.taken if t.action.rule == "no-flood"]
    assert _message_points(runner) == 20
