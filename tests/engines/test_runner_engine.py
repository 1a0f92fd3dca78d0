"""The runner: order, ticks (sparse but equivalent to a fixed stream), feedback, keys."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar

import pyarrow as pa
import pytest
from enginehelp import REGISTRY, T0, SpamEngine, TallyEngine, ev, feed, playbook, rows
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.engines.base import TICK, TICK_SECONDS, Action, EngineEvent
from shequn.engines.contract import EngineContractError
from shequn.engines.record import identity_of, reverse_links
from shequn.engines.registry import load_engines
from shequn.engines.runner import Runner, engine_events
from shequn.events import natural_key


def _runner(**kw: Any) -> Runner:
    book = playbook()
    return Runner("makers", [SpamEngine(book), TallyEngine(book)], **kw)


def _summary(runner: Runner) -> list[tuple[str, str, str | None, int, str]]:
    return [
        (t.action.engine, t.action.kind, t.action.member, t.action.ts, t.action.cause)
        for t in runner.taken
    ]


def test_registry_builds_in_order_and_skips_missing_modules() -> None:
    engines, notes = load_engines(playbook(), REGISTRY)
    assert [e.name for e in engines] == ["spam", "tally"]
    assert notes == ["engine 'missing' is not installed (shequn.engines.no_such_engine); skipped"]


def test_registry_finds_a_class_by_its_engine_name() -> None:
    engines, _ = load_engines(playbook(), [("tally", "enginehelp:NoSuchClass")])
    assert isinstance(engines[0], TallyEngine)
    with pytest.raises(LookupError):
        load_engines(playbook(), [("nobody", "enginehelp:NoSuchClass")])


def test_a_mute_ends_on_a_tick_while_the_group_is_silent() -> None:
    runner = _runner()
    runner.feed_all(
        feed(
            [
                ev("message_posted", T0, text="spam"),
                ev("message_posted", T0 + 10, text="more spam"),
                # an hour of silence in g1; then someone talks in g2
                ev("message_posted", T0 + 3600, "telegram:bob", group="telegram/g2", text="hi"),
            ]
        )
    )
    tick = -(-(T0 + 10 + 300) // TICK_SECONDS) * TICK_SECONDS
    mute = runner.taken[-5]
    assert _summary(runner)[-5:] == [
        ("spam", "mute", "telegram:alice", T0 + 10, mute.action.cause),
        ("tally", "deduct_points", "telegram:alice", T0 + 10, mute.key),
        ("tally", "award_points", "telegram:alice", T0 + 10, mute.action.cause),
        ("spam", "unmute", "telegram:alice", tick, f"tick:telegram/g1:{tick}"),
        ("tally", "award_points", "telegram:bob", T0 + 3600, runner.taken[-1].action.cause),
    ]
    assert runner.counts.ticks == 1  # one group was known then, one tick was due
    assert runner.taken[-2].at_us == tick * 1_000_000


def test_deadlines_after_the_last_event_fire_up_to_the_end() -> None:
    runner = _runner()
    runner.feed_all(feed([ev("message_posted", T0 + i, text="spam") for i in range(2)]))
    runner.finish(T0 + 100)  # before the mute ends: nothing
    assert "unmute" not in [t.action.kind for t in runner.taken]
    runner.finish(T0 + 1000)
    runner.finish(T0 + 2000)
    assert [t.action.kind for t in runner.taken].count("unmute") == 1
    assert runner.taken[-1].action.kind == "unmute"


def test_actions_are_fed_back_at_once_with_their_record_key() -> None:
    seen: list[EngineEvent] = []

    class Spy:
        name: ClassVar[str] = "spy"

        def start(self) -> None:
            return None

        def next_deadline(self, state: None) -> None:
            return None

        def step(self, state: None, event: EngineEvent) -> tuple[None, list[Action]]:
            seen.append(event)
            return state, []

    book = playbook()
    runner = Runner("makers", [SpamEngine(book), Spy(), TallyEngine(book)])
    runner.feed(ev("message_posted", T0, text="spam"))
    # the spy sees the warn (fed back) before the message reaches the tally engine,
    # then the tally's award fed back
    assert [e.kind for e in seen] == ["action_taken", "message_posted", "action_taken"]
    warn, award = runner.taken
    assert seen[0].key == warn.key and seen[0].member == "telegram:alice"
    assert seen[0].text == "warn: spam #1 (rule no-spam)"
    assert json.loads(seen[0].extra or "") == {
        "action": "warn",
        "engine": "spam",
        "rule": "no-spam",
        "details": {},
        "cause": warn.action.cause,
    }
    assert seen[2].key == award.key


def test_keys_are_natural_and_equal_actions_are_numbered() -> None:
    class Twice:
        name: ClassVar[str] = "twice"

        def start(self) -> None:
            return None

        def next_deadline(self, state: None) -> None:
            return None

        def step(self, state: None, event: EngineEvent) -> tuple[None, list[Action]]:
            if event.kind != "message_posted":
                return state, []
            a = Action(
                "notice", event.group, event.member, event.ts, self.name, "hello", cause=event.key
            )
            return state, [a, a]

    def keys() -> list[str]:
        runner = Runner("makers", [Twice()])
        runner.feed(ev("message_posted", T0, text="x"))
        return [t.key for t in runner.taken]

    first = keys()
    assert len(set(first)) == 2 and keys() == first
    cause = ev("message_posted", T0, text="x").key
    assert first == [
        natural_key(
            "shequn",
            "makers",
            "telegram/g1",
            "action",
            "twice",
            cause,
            "notice",
            "telegram:alice",
            n,
        )
        for n in (0, 1)
    ]


def test_contract_breaches_are_errors() -> None:
    class Bad:
        name: ClassVar[str] = "bad"

        def __init__(self, kind: str, explanation: str, echo: bool = False) -> None:
            self.kind, self.explanation, self.echo = kind, explanation, echo

        def start(self) -> None:
            return None

        def next_deadline(self, state: None) -> None:
            return None

        def step(self, state: None, event: EngineEvent) -> tuple[None, list[Action]]:
            if event.kind == "action_taken" and not self.echo:
                return state, []
            return state, [
                Action(self.kind, event.group, None, event.ts, self.name, self.explanation)
            ]

    for engine, message in (
        (Bad("explode", "why"), "unknown kind 'explode'"),
        (Bad("warn", ""), "no explanation"),
        (Bad("warn", "again", echo=True), "actions keep causing actions"),
    ):
        with pytest.raises(EngineContractError, match=message):
            Runner("makers", [engine]).feed(ev("message_posted", T0))


def test_a_step_that_raises_leaves_no_half_made_action_for_the_next() -> None:
    """A built-in engine appends its actions to the runner's reused list as it steps; if
    a step raises, what is there was never acted on and must not be the next step's."""
    from shequn.engines.registry import load_engines
    from shequn.playbook import parse_playbook, starting_playbook

    class Boom:
        name: ClassVar[str] = "boom"

        def start(self) -> None:
            return None

        def next_deadline(self, state: None) -> None:
            return None

        def step(self, state: None, event: EngineEvent) -> tuple[None, list[Action]]:
            raise RuntimeError("boom")

    book = parse_playbook(starting_playbook("makers", "telegram", "g1", "UTC"), "p")
    runner = Runner("makers", [Boom(), *load_engines(book)[0]])
    half = Action("warn", "telegram/g1", "telegram:x", T0, "moderation", "half made")
    runner._out.append(half)  # as an engine's advance leaves it when a later call raises
    with pytest.raises(RuntimeError, match="boom"):
        runner.feed(ev("message_posted", T0, text="hello"))
    assert runner._out == []


def test_only_actions_caused_after_keep_from_are_kept() -> None:
    runner = _runner(keep_from_us=(T0 + 5) * 1_000_000)
    runner.feed_all(feed([ev("message_posted", T0 + i * 10, text="spam") for i in range(2)]))
    assert {t.action.ts for t in runner.taken} == {T0 + 10}
    assert runner.counts.actions == 5  # warn + award, mute + deduct + award


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["telegram", "discord"]),
            st.sampled_from(["g1", "g2", "-100"]),
            st.sampled_from(["a1", "b1", "c1", None]),
            st.sampled_from(["a1", "d1", None]),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 5),
)
def test_member_and_group_keys_are_platform_prefixed_per_row(
    cells: list[tuple[str, str, str | None, str | None, bool]], chunk: int
) -> None:
    """Against the keys written out row by row: batches of one platform (joined on the
    ids' dictionary) and of two (joined per row), null ids, bots and none."""
    items = [
        {"kind": "message_posted", "ts": T0 + i, "member_id": member, "by_member_id": actor}
        for i, (_, _, member, actor, _) in enumerate(cells)
    ]
    table = rows("makers", items, import_id=1)
    table = table.set_column(
        table.schema.get_field_index("platform"), "platform", pa.array([c[0] for c in cells])
    )
    table = table.set_column(
        table.schema.get_field_index("group_id"), "group_id", pa.array([c[1] for c in cells])
    )
    table = table.set_column(
        table.schema.get_field_index("is_bot"),
        "is_bot",
        pa.array([c[4] for c in cells], pa.bool_()),
    )
    links = {"discord:a1": "member:alice"}
    got = [
        (e.group, e.member, e.actor, e.is_bot)
        for e, _ in engine_events(table, links, chunk_rows=chunk)
    ]

    def key(platform: str, who: str | None) -> str | None:
        return None if who is None else links.get(f"{platform}:{who}", f"{platform}:{who}")

    assert got == [(f"{p}/{g}", key(p, m), key(p, a), bot) for p, g, m, a, bot in cells]


def test_stored_rows_become_engine_events_with_linked_members() -> None:
    table = rows(
        "makers",
        [
            {
                "kind": "message_posted",
                "ts": T0,
                "member_id": "a1",
                "text": "hi",
                "mentions": ["b1", "c1"],
                "extra": '{"x": 1}',
                "platform_id": "77",
                "member_name": "Alice A.",
            },
            {
                "kind": "member_joined",
                "ts": T0 + 1,
                "member_id": "b1",
                "by_member_id": "a1",
                "join_method": "added",
                "group_id": "g2",
            },
            {"kind": "group_renamed", "ts": T0 + 2, "member_id": None, "text": "New"},
        ],
        import_id=1,
    )
    links = {"telegram:a1": "member:alice"}
    got = list(engine_events(table, links, chunk_rows=2))
    (first, us0), (second, _), (third, _) = got
    assert us0 == T0 * 1_000_000
    assert (first.group, first.ts, first.member, first.text, first.platform_id) == (
        "telegram/g1",
        T0,
        "member:alice",
        "hi",
        "77",
    )
    assert first.mentions == ("telegram:b1", "telegram:c1") and first.extra == '{"x": 1}'
    assert first.member_name == "Alice A." and second.member_name is None
    assert first.action is None
    assert (second.group, second.member, second.actor, second.join_method) == (
        "telegram/g2",
        "telegram:b1",
        "member:alice",
        "added",
    )
    assert third.member is None and third.mentions == ()
    # built without __init__, yet the very object the constructor makes
    for event, _ in got:
        assert dataclasses.replace(event) == event
        assert hash(dataclasses.replace(event)) == hash(event)


def test_recorded_rows_name_the_platform_identity_of_linked_members() -> None:
    links = {"telegram:a1": "member:alice", "whatsapp:+1555": "member:alice"}
    reverse = reverse_links(links)
    assert identity_of("member:alice", "telegram", reverse) == "a1"
    assert identity_of("member:alice", "whatsapp", reverse) == "+1555"
    assert identity_of("telegram:b2", "telegram", reverse) == "b2"
    assert identity_of(None, "telegram", reverse) is None


# -- property: sparse ticks are a fixed-interval tick stream --------------------------------
def _fixed_stream(
    events: list[EngineEvent], until: int
) -> list[tuple[str, str, str | None, int, str]]:
    """Reference: a tick every TICK_SECONDS for every known group, ticks first at ties."""
    book = playbook()
    engines = [SpamEngine(book), TallyEngine(book)]
    runner = Runner("makers", engines)
    groups: list[str] = []
    clock: int | None = None

    def ticks_to(limit: int) -> None:
        assert clock is not None
        t = (clock // TICK_SECONDS + 1) * TICK_SECONDS
        while t <= limit:
            for g in sorted(groups):
                runner._begin(t * 1_000_000)
                runner._step(EngineEvent(f"tick:{g}:{t}", TICK, g, t), 0)
            t += TICK_SECONDS

    for event in events:
        if clock is not None:
            ticks_to(event.ts)
        if event.group not in groups:
            groups.append(event.group)
        clock = event.ts if clock is None else max(clock, event.ts)
        runner._begin(event.ts * 1_000_000)
        runner._step(event, 0)
    if clock is not None:
        ticks_to(until)
    return _summary(runner)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2000),
            st.sampled_from(["telegram:alice", "telegram:bob"]),
            st.sampled_from(["telegram/g1", "telegram/g2"]),
            st.sampled_from(["spam", "hello", "spam again"]),
        ),
        max_size=25,
    ),
    st.integers(0, 1500),
)
def test_sparse_ticks_act_like_a_tick_every_interval(
    raw: list[tuple[int, str, str, str]], tail: int
) -> None:
    events = [
        ev("message_posted", T0 + gap, member, group=group, text=text, key=f"k{i}")
        for i, (gap, member, group, text) in enumerate(sorted(raw))
    ]
    until = T0 + (max((g for g, *_ in raw), default=0)) + tail
    runner = _runner()
    runner.feed_all(feed(events))
    runner.finish(until)
    assert _summary(runner) == _fixed_stream(events, until)


def test_replaying_twice_gives_the_same_actions() -> None:
    events = [ev("message_posted", T0 + 7 * i, text="spam" if i % 3 else "hi") for i in range(30)]

    def once() -> list[tuple[str, str]]:
        runner = _runner()
        runner.feed_all(feed(events))
        runner.finish(T0 + 10_000)
        return [(t.key, t.extra) for t in runner.taken]

    assert once() == once()


def test_an_engine_with_kinds_sees_only_those() -> None:
    seen: list[str] = []

    class Picky:
        name: ClassVar[str] = "picky"
        kinds: ClassVar[frozenset[str]] = frozenset({"member_joined"})

        def start(self) -> None:
            return None

        def next_deadline(self, state: None) -> None:
            return None

        def step(self, state: None, event: EngineEvent) -> tuple[None, list[Action]]:
            seen.append(event.kind)
            return state, []

    book = playbook()
    runner = Runner("makers", [SpamEngine(book), Picky(), TallyEngine(book)])
    runner.feed_all(
        feed(
            [
                ev("message_posted", T0, text="spam"),
                ev("member_joined", T0 + 1, "telegram:bob"),
                ev("message_posted", T0 + 2, text="spam"),
            ]
        )
    )
    runner.finish(T0 + 1000)
    assert runner.counts.ticks == 1 and seen == ["member_joined"]


def test_an_unread_action_counts_in_the_number_of_an_equal_one_read_later() -> None:
    """Actions nobody reads or keeps get no key and are numbered only when needed; an
    equal action after them in the same root (here fed back because a deadline came
    due) still gets the number it would have had (1, not 0)."""
    seen: list[str] = []

    class Echo:  # a notice on a message, and again on the watcher's warn fed back
        name: ClassVar[str] = "echo"
        kinds: ClassVar[frozenset[str]] = frozenset({"message_posted", "action_taken"})

        def start(self) -> None:
            return None

        def reads_feedback(self, engine: str, kind: str) -> bool:
            return engine == "watcher"

        def step(self, state: None, event: EngineEvent) -> tuple[None, list[Action]]:
            notice = Action("notice", event.group, "telegram:m", event.ts, "echo", "hi", cause="x")
            return None, [notice]

        def next_deadline(self, state: None) -> None:
            return None

    class Watcher:  # warns on a message and is due at once; records what it is fed
        name: ClassVar[str] = "watcher"
        kinds: ClassVar[frozenset[str]] = frozenset({"message_posted"})

        def start(self) -> list[int]:
            return []

        def reads_feedback(self, engine: str, kind: str) -> bool:
            return False

        def step(self, state: list[int], event: EngineEvent) -> tuple[list[int], list[Action]]:
            if event.kind == "message_posted":
                state.append(event.ts)
                warn = Action("warn", event.group, "telegram:w", event.ts, "watcher", "w")
                return state, [warn]
            seen.append(event.key)
            state.clear()
            return state, []

        def next_deadline(self, state: list[int]) -> int | None:
            return state[0] if state else None

    runner = Runner("makers", [Echo(), Watcher()], keep_from_us=2**62)
    message = ev("message_posted", T0)
    runner.feed_all(feed([message]))
    ident = (message.group, "action", "echo", "x", "notice", "telegram:m")
    second = natural_key("shequn", "makers", *ident, 1)
    assert seen == [second]
    assert runner.counts.actions == 3 and not runner.taken


def test_the_garbage_collector_threshold_is_restored_after_a_replay() -> None:
    import gc

    before = gc.get_threshold()
    runner = _runner()
    runner.feed_all(feed([ev("message_posted", T0 + i) for i in range(3)]))
    assert gc.get_threshold() == before
