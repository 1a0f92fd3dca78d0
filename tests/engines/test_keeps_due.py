"""``keeps_due``: an engine's ``state.due`` is always what its ``next_deadline`` says.

The runner reads ``state.due`` after each step of an engine that declares ``keeps_due``
instead of calling ``next_deadline`` (base.py). Here every real engine is stepped by
the runner over the end-to-end scenario (join requests timing out, mutes, grace
periods, invitations, a weekly leaderboard) and checked after every step.
"""

from __future__ import annotations

from typing import Any, ClassVar

from e2e_scenario import PLAYBOOK, scenario
from enginehelp import rows

from shequn.engines.base import NO_DEADLINE, Action, EngineEvent
from shequn.engines.registry import load_engines
from shequn.engines.runner import Runner, engine_events
from shequn.playbook import parse_playbook


class Checked:
    """Steps an engine and compares ``state.due`` with ``next_deadline`` after each step
    (it does not declare ``keeps_due`` itself: the runner asks ``next_deadline``)."""

    name: ClassVar[str] = "checked"

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.kinds = getattr(engine, "kinds", None)
        self.reads_feedback = engine.reads_feedback
        self.steps = 0
        #: the deadlines seen (so that a test that never had one fails)
        self.deadlines: set[int] = set()

    def start(self) -> Any:
        state = self.engine.start()
        self._check(state)
        return state

    def step(self, state: Any, event: EngineEvent) -> tuple[Any, list[Action]]:
        state, actions = self.engine.step(state, event)
        self._check(state)
        self.steps += 1
        return state, actions

    def next_deadline(self, state: Any) -> int | None:
        due: int | None = self.engine.next_deadline(state)
        return due

    def _check(self, state: Any) -> None:
        due = self.engine.next_deadline(state)
        assert state.due == (NO_DEADLINE if due is None else due), (self.engine.name, due)
        if due is not None:
            self.deadlines.add(due)


def test_every_engine_keeps_its_due_equal_to_next_deadline() -> None:
    engines = load_engines(parse_playbook(PLAYBOOK, "e2e"))[0]
    assert engines and all(getattr(e, "keeps_due", False) for e in engines)
    checked = [Checked(e) for e in engines]
    runner = Runner("makers", checked)
    table = rows("makers", scenario(), 1)
    runner.feed_all(engine_events(table))
    runner.finish(runner.clock + 30 * 86_400 if runner.clock is not None else 0)
    assert runner.counts.ticks > 0
    by_name = {c.engine.name: c for c in checked}
    assert all(c.steps > 0 for c in checked)
    # deadlines were set and cleared in the engines that have them
    for name in ("screening", "moderation", "metabolism", "scoring"):
        assert by_name[name].deadlines, name


class Counting:
    """An engine that keeps its due, with its ``next_deadline`` calls counted: a
    wrapper, not a subclass (a compiled engine class cannot be subclassed in Python)."""

    name: ClassVar[str] = "counting"

    def __init__(self, engine: Any) -> None:
        assert engine.keeps_due
        self.engine = engine
        self.kinds = getattr(engine, "kinds", None)
        self.keeps_due = True
        self.reads_feedback = engine.reads_feedback
        self.asked = 0

    def start(self) -> Any:
        return self.engine.start()

    def step(self, state: Any, event: EngineEvent) -> tuple[Any, list[Action]]:
        result: tuple[Any, list[Action]] = self.engine.step(state, event)
        return result

    def next_deadline(self, state: Any) -> int | None:
        self.asked += 1
        due: int | None = self.engine.next_deadline(state)
        return due


def test_the_runner_reads_due_instead_of_asking() -> None:
    """An engine that keeps its due is not asked ``next_deadline`` by the runner."""
    counting = Counting(load_engines(parse_playbook(PLAYBOOK, "e2e"))[0][0])
    runner = Runner("makers", [counting])
    runner.feed_all(engine_events(rows("makers", scenario(), 1)))
    assert runner.counts.events > 0 and counting.asked == 0
    # and the wrapper counts: asked directly, it says so
    counting.next_deadline(counting.start())
    assert counting.asked == 1
