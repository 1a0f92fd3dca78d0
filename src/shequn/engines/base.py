"""The engines' contract: ``step(state, event) -> (state, actions)``, pure and replayable.

An engine (screening, moderation, metabolism, scoring, check-ins …) is built once from
a validated :class:`~shequn.playbook.model.Playbook` (precompiling what it can), and
then only steps: given its state so far and the next :class:`EngineEvent`, it returns
the new state (it may be the same object, updated) and the :class:`Action` s to take.
It reads no clock — time is ``event.ts`` — and does no I/O, so the same code runs
live and in replay, and replaying a log twice gives the same actions.

Each event reaches an engine once: the runner drops a duplicate (a key it fed lately,
:mod:`shequn.engines.dedup`) before any engine sees it, so engines keep no seen-key
sets of their own. An engine stepped directly, without the runner, must be given each
event once.

Deadlines (screening time limits, grace periods, warning expiry, mute ends, daily
resets) fire on ``tick`` events: the runner emits one every :data:`TICK_SECONDS` of
the log's own time (of the wall clock when live), per group, whenever an engine has
a deadline due (``next_deadline``, or ``state.due`` for an engine that declares
``keeps_due``), so a deadline fires even when the group is silent.

Every action carries its explanation, in words an operator reads: "removed: third
link-spam within 24 h, rule `no-links`, after warn at 10:02 and mute at 10:40".
The runner stores each action as an ``action_taken`` event (``text`` = explanation,
``extra`` = the action) and hands it to an adapter (for now: the console). An engine
may return a subclass of :class:`Action` whose ``explanation`` and ``details`` are
written the first time they are read (scoring's ``PointsAward``: a replay makes an
award for most messages and, its cursor at the end, keeps none); the runner does not
read them unless it keeps or feeds the action back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar

from shequn.engines.action import Action as Action

#: the log-time interval of tick events, in seconds
TICK_SECONDS: Final = 60
TICK: Final = "tick"
#: "no deadline": what an engine that keeps its deadline on its state (``keeps_due``)
#: holds in ``state.due`` when it has none — after every real time, and the largest int
#: compiled code keeps unboxed (mypyc's short ints end at 2**62 - 1: one more, and every
#: comparison with it took CPython's generic path)
NO_DEADLINE: Final = 2**62 - 1

ACTION_KINDS: Final = (
    "warn",  # a public or private warning naming the rule
    "notice",  # a private message to the member
    "delete_message",
    "hold_message",  # keep a newcomer's message for review instead of showing it
    "release_message",  # show a held message (its writer passed screening)
    "mute",  # details: {"until": epoch seconds}
    "unmute",
    "restrict",  # a newcomer waits restricted until screening passes
    "unrestrict",
    "approve",  # a join request or screening passed
    "reject",  # failed or timed out; details: {"clean": true} when traces are cleaned
    "remove",  # details: {"block_rejoin": bool}
    "warn_inactive",  # metabolism: told privately first, with the grace period
    "award_points",  # details: {"points": n, "action": "message", "total": n}
    "deduct_points",
    "level_up",  # details: {"level": name, "points": n, "previous": name}
    "level_down",  # details: {"level": name, "points": n, "previous": name}
    "grant_badge",  # details: {"badge": id}
    "trust_changed",  # details: {"level": n}
    "post_message",  # details: {"text": …} (welcome, leaderboard)
)


@dataclass(slots=True, unsafe_hash=True, init=False)
class EngineEvent:
    """One stored event as engines see it (cheap to build; no JSON parsed eagerly).

    Read-only by contract: every engine is given the same object. It is not a frozen
    dataclass only because a frozen one costs five times as much to build, once per
    event, tick and fed-back action. Its ``__init__`` is written out, not generated
    (``init=False``): compiled (mypyc, docs/decisions/0005), the generated one ran as
    Python code, 5,000 instructions an event; this one is C. Same parameters, in the
    same order, with the same defaults as the fields (tested).
    """

    key: str
    kind: str
    #: ``platform/group_id``
    group: str
    ts: int  # UTC epoch seconds
    #: the member key (``platform:identity``, or a linked member's key)
    member: str | None = None
    #: who did it to them (adder, remover, approver), as a member key
    actor: str | None = None
    text: str | None = None
    platform_id: str | None = None
    reply_to: str | None = None
    mentions: tuple[str, ...] = ()
    attachment_kind: str | None = None
    forwarded_from: str | None = None
    is_bot: bool = False
    join_method: str | None = None
    #: the event's ``extra`` JSON text, parsed only by the engines that need it
    extra: str | None = None
    #: the member's display name, where the stored event has one
    member_name: str | None = None
    #: a fed-back ``action_taken``: the :class:`Action` itself (its ``extra`` is that
    #: action as JSON), so engines need not parse it; ``None`` for stored events
    action: Action | None = None

    def __init__(
        self,
        key: str,
        kind: str,
        group: str,
        ts: int,
        member: str | None = None,
        actor: str | None = None,
        text: str | None = None,
        platform_id: str | None = None,
        reply_to: str | None = None,
        mentions: tuple[str, ...] = (),
        attachment_kind: str | None = None,
        forwarded_from: str | None = None,
        is_bot: bool = False,
        join_method: str | None = None,
        extra: str | None = None,
        member_name: str | None = None,
        action: Action | None = None,
    ) -> None:
        self.key = key
        self.kind = kind
        self.group = group
        self.ts = ts
        self.member = member
        self.actor = actor
        self.text = text
        self.platform_id = platform_id
        self.reply_to = reply_to
        self.mentions = mentions
        self.attachment_kind = attachment_kind
        self.forwarded_from = forwarded_from
        self.is_bot = is_bot
        self.join_method = join_method
        self.extra = extra
        self.member_name = member_name
        self.action = action


S = TypeVar("S")


class Engine(Protocol, Generic[S]):
    """A pure engine over one community's events (see module docstring)."""

    name: ClassVar[str]

    def start(self) -> S:
        """The state before the first event."""
        ...

    def step(self, state: S, event: EngineEvent) -> tuple[S, list[Action]]:
        """Consume one event (or tick); return the new state and the actions to take."""
        ...

    def next_deadline(self, state: S) -> int | None:
        """The earliest time (epoch seconds) a tick would make this engine act, if any."""
        ...


class NativeEngine:
    """The base of the built-in engines: ``advance``, a step the compiled runner calls
    directly.

    Compiled (docs/decisions/0005-compiled-engines.md), a call through the protocol's
    ``step`` is a generic Python call — arguments packed and parsed, a tuple and a list
    built and freed — five times an event; the runner calls ``advance`` of an engine
    that derives from this class through mypyc's method table instead, with one list it
    reuses. ``step`` stays the contract every engine (a plug-in's too) answers.
    """

    #: every built-in engine keeps its deadline on its state (``state.due``)
    keeps_due: ClassVar[bool] = True

    def advance(self, state: Any, event: EngineEvent, out: list[Action]) -> int:
        """Step ``state`` in place with ``event``: append the actions to ``out`` and
        return ``state.due`` (what ``next_deadline`` would, ``NO_DEADLINE`` for none)."""
        raise NotImplementedError

    def step(self, state: Any, event: EngineEvent) -> tuple[Any, list[Action]]:
        out: list[Action] = []
        self.advance(state, event, out)
        return state, out


# Optional, read by the runner with getattr (docs/engines/runner.md, "Routing"):
#   kinds: frozenset[str]   the event kinds the engine takes; it is stepped on others
#                           only while its next_deadline is due
#   keeps_due: bool         True: every state it returns has an int attribute ``due``,
#                           always what next_deadline would return (NO_DEADLINE for
#                           None); the runner reads it after each step instead of
#                           calling next_deadline (a call per engine and event saved)
#   reads_feedback(engine: str, kind: str) -> bool
#                           whether it reads another engine's fed-back action of kind
#   snapshot(state) -> dict what replay compares


def taken_fields(event: EngineEvent) -> dict[str, Any] | None:
    """An ``action_taken`` event's action as the JSON object its ``extra`` holds
    (``action``, ``engine``, ``rule``, ``details``, ``cause`` …), or ``None`` if it has none.

    A fed-back action is read from ``event.action`` (no JSON parsed); a stored one (a
    human's, another tool's) from ``extra``.
    """
    action = event.action
    if action is not None:
        return {
            "action": action.kind,
            "engine": action.engine,
            "rule": action.rule,
            "details": action.details,
            "cause": action.cause,
        }
    if not event.extra:
        return None
    try:
        data = json.loads(event.extra)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
