"""The runner: drives the engines over the log, in log order, with ticks and feedback.

:class:`Runner` is the pure part. It is given the engines (built from one playbook, in
registry order) and stored events in log order; for each event it

1. emits the **ticks** due before it: at multiples of :data:`~shequn.engines.base.TICK_SECONDS`
   of the log's own time, for every group seen so far, but only when some engine's
   ``next_deadline`` is due at or before that tick — equivalent to a fixed-interval tick
   stream (engines do nothing on a tick before their deadline) and much cheaper;
   a tick at ``t`` comes before the events at ``t``;
2. drops it if its key was fed lately (a duplicate, :class:`~shequn.engines.dedup.SeenKeys`:
   3 to 6 days of log time), once for every engine;
3. steps the engines that take its kind (an engine's optional ``kinds``; all without
   it), in order — and any other engine whose deadline is due by the event's time, so
   deadlines fire on the same event as if every engine saw every event;
4. feeds every :class:`~shequn.engines.base.Action` back, at once (depth first), as an
   ``action_taken`` event — ``member`` = the action's member, ``text`` = its
   explanation, ``action`` = the action, ``extra`` = JSON ``{"action", "engine",
   "rule", "details", "cause"}`` (left out when every engine reads ``action``), ``key``
   = the key the action is recorded under — to the engines that read it (an engine's
   optional ``reads_feedback(engine, kind)``; all without it) and those with a deadline
   due. An action nobody reads and the run does not keep costs no key and no JSON.

Each action gets a natural key, ``natural_key("shequn", community, group, "action",
engine, cause, kind, member, n)`` (``n`` counts equal actions made while processing one
event or tick), so recording the same action twice stores it once.

:func:`run_community` is ``shequn run``: it rebuilds the engines' state by replaying the
community's log from its start with the current playbook and records (or, dry, only
returns) the actions caused by events and ticks after the stored cursor.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shequn.engines.adapters import Adapter
from shequn.engines.base import (
    ACTION_KINDS,
    NO_DEADLINE,
    TICK,
    TICK_SECONDS,
    Action,
    Engine,
    EngineEvent,
    NativeEngine,
)
from shequn.engines.contract import EngineContractError
from shequn.engines.dedup import SeenKeys
from shequn.events import KEY_SEPARATOR
from shequn.playbook import parse_playbook
from shequn.playbook.model import Playbook
from shequn.store.base import PlaybookVersion, Store, Window

#: the store setting holding a community's cursor (log time in µs, see run_community)
CURSOR_SETTING: Final = "engines.cursor.{community}"
#: the import ledger's ``platform`` for the runs that recorded actions
LEDGER_PLATFORM: Final = "shequn"
#: feedback deeper than this (an action causing an action causing …) is an engine bug
MAX_FEEDBACK_DEPTH: Final = 16
#: rows converted to EngineEvents at a time
CHUNK_ROWS: Final = 65_536
#: the cyclic garbage collector's first threshold while the runner replays (CPython's
#: default, 700 allocations, has it sweep the young engine records over and over: ≈ 4 %
#: of the replay's instructions); restored after
GC_YOUNG: Final = 50_000
#: "no deadline", as a number (an engine's ``state.due`` says it the same way)
NEVER: Final = NO_DEADLINE

_KINDS: Final = frozenset(ACTION_KINDS)
_SEP: Final = KEY_SEPARATOR
_md5: Final = hashlib.md5


def json_encoder() -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=False)``, the same text, for the actions' JSON.

    ``dumps`` builds an encoder per call and ``JSONEncoder.encode`` still sets up
    ``iterencode`` in Python each time — more than half the cost of a kept action's JSON;
    this is the C encoder ``encode`` makes, made once (no circular-reference check: an
    action's details are plain data). Without the C accelerator: ``encode``.
    """
    from json import encoder

    make: Any = getattr(encoder, "c_make_encoder", None)  # CPython's _json, when there
    if make is None:
        return json.JSONEncoder(ensure_ascii=False).encode
    chunks = make(
        None,
        json.JSONEncoder().default,
        encoder.encode_basestring,  # as JSONEncoder(ensure_ascii=False) picks it
        None,
        ": ",
        ", ",
        False,
        False,
        True,
    )

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode


_encode: Final = json_encoder()
_US: Final = 1_000_000


_Step = Callable[[Any, EngineEvent], tuple[Any, list[Action]]]
_Next = Callable[[Any], int | None]
#: how one engine is stepped: its index, ``step``, ``next_deadline`` (``None`` when it
#: keeps its deadline on its state as ``due``, read without a call) and, for a built-in
#: engine, the engine itself (its ``advance`` is called directly: base.NativeEngine)
_Plan = tuple[tuple[int, _Step, _Next | None, NativeEngine | None], ...]


class Taken(NamedTuple):
    """An action as the runner made it: with its record key and when it was caused."""

    action: Action
    #: the natural key of its ``action_taken`` record (and of its feedback event)
    key: str
    #: log time (µs) of the stored event or tick whose processing made it
    at_us: int
    #: the ``extra`` JSON of its record and feedback event
    extra: str


@dataclass
class Counts:
    """What a run went through."""

    events: int = 0
    #: stored events dropped as duplicates (a key seen lately), counted in ``events``
    duplicates: int = 0
    ticks: int = 0
    actions: int = 0
    feedback: int = 0


class Runner:
    """Steps engines over events in log order, emitting ticks and feeding actions back."""

    def __init__(
        self,
        community: str,
        engines: Sequence[Engine[Any]],
        *,
        keep_from_us: int | None = None,
    ) -> None:
        self.community = community
        self.engines = list(engines)
        self.states: list[Any] = [engine.start() for engine in self.engines]
        #: only actions caused after this log time (µs) are kept in :attr:`taken`
        self.keep_from_us = keep_from_us
        self.taken: list[Taken] = []
        #: (group, member) removed before ``keep_from_us`` (replay reads who was gone)
        self.removed_before: set[tuple[str, str | None]] = set()
        self.counts = Counts()
        #: every group seen so far, sorted (ticks go to each)
        self.groups: list[str] = []
        self._known: set[str] = set()
        #: the keys of the stored events fed lately: a duplicate reaches no engine
        self.seen = SeenKeys()
        #: log time (s) up to which ticks and events are done
        self.clock: int | None = None
        self._numbers: dict[tuple[str, str, str, str, str | None], int] = {}
        #: this root's actions that got no key (nobody read or kept them), not numbered
        #: yet: numbered only if an equal action after them needs its key (_number)
        self._unnumbered: list[Action] = []
        self._root_us = 0
        self._keep = keep_from_us is None
        self._steps: list[_Step] = [engine.step for engine in self.engines]
        self._natives: list[NativeEngine | None] = [
            engine if isinstance(engine, NativeEngine) else None for engine in self.engines
        ]
        #: the list a built-in engine's ``advance`` appends its actions to (empty between
        #: steps; replaced when an engine acted, as acting may step engines again)
        self._out: list[Action] = []
        self._nexts: list[_Next] = [engine.next_deadline for engine in self.engines]
        #: each engine's ``next_deadline``, or None when it keeps ``state.due`` (base.py)
        self._asks: list[_Next | None] = [
            None if getattr(engine, "keeps_due", False) else engine.next_deadline
            for engine in self.engines
        ]
        #: each engine's optional ``kinds`` and ``reads_feedback`` (None: everything)
        self._kinds: list[frozenset[str] | None] = [
            _optional_set(engine, "kinds") for engine in self.engines
        ]
        self._reads: list[Callable[[str, str], bool] | None] = [
            getattr(engine, "reads_feedback", None) for engine in self.engines
        ]
        #: fed-back events carry their JSON ``extra`` only for engines that do not declare
        #: ``reads_feedback`` (those that do read ``event.action``)
        self._json_feedback = any(reads is None for reads in self._reads)
        #: each engine's next deadline (NEVER: none), as of its last step
        self._dues: list[int] = [self._due(i) for i in range(len(self.engines))]
        #: at most the earliest of ``_dues`` (exact after a pass that stepped the due)
        self._min_due = min(self._dues, default=NEVER)
        #: event kind → the indexes of the engines that take it
        self._routes: dict[str, tuple[int, ...]] = {}
        #: event kind → how to step the engines that take it (its route, see _Plan)
        self._plans: dict[str, _Plan] = {}
        #: (engine, action kind) → how to step the engines that read such feedback
        self._fb_plans: dict[tuple[str, str], _Plan] = {}

    # -- driving -----------------------------------------------------------------
    def feed(self, event: EngineEvent, at_us: int | None = None) -> None:
        """Process one stored event (``at_us``: its exact log time, default ``ts``)."""
        self.feed_all(((event, event.ts * _US if at_us is None else at_us),))

    def feed_all(self, events: Iterable[tuple[EngineEvent, int]]) -> None:
        """Process (event, log time in µs) pairs in log order.

        This loop runs once per stored event: the ticks due before it, the group
        list, the duplicate check (``SeenKeys.first_time``) and a new root
        (``_begin``) are inlined. The garbage collector's first threshold is raised to
        :data:`GC_YOUNG` meanwhile (cycles are still collected, less often).
        """
        seen = self.seen
        known = self._known
        plans = self._plans
        numbers, unnumbered = self._numbers, self._unnumbered
        keep_from = self.keep_from_us
        fed = duplicates = 0
        threshold = gc.get_threshold()
        if 0 < threshold[0] < GC_YOUNG:
            gc.set_threshold(GC_YOUNG, *threshold[1:])
        try:
            for event, at_us in events:
                ts = event.ts
                clock = self.clock
                if clock is None or ts > clock:
                    if (
                        clock is not None
                        and self._min_due <= ts  # else no deadline is due yet: no tick
                        and ts // TICK_SECONDS > clock // TICK_SECONDS
                    ):
                        self._ticks(ts)
                    self.clock = ts
                group = event.group
                if group not in known:
                    known.add(group)
                    bisect.insort(self.groups, group)
                fed += 1
                key = event.key
                if key in seen.current or key in seen.previous:
                    duplicates += 1
                    continue
                if ts // seen.horizon > seen.generation:
                    seen.first_time(key, ts)
                else:
                    seen.current.add(key)
                if numbers:
                    numbers.clear()
                if unnumbered:
                    unnumbered.clear()
                self._root_us = at_us
                self._keep = keep_from is None or at_us > keep_from
                plan = plans.get(event.kind)
                if plan is None:
                    plan = self._plan(event.kind)
                self._dispatch(event, plan, 0)  # a direct call when compiled
        finally:
            gc.set_threshold(*threshold)
            self.counts.events += fed
            self.counts.duplicates += duplicates
            if self._out:  # an engine raised mid-step: what it appended was never acted on
                self._out = []

    def finish(self, until: int) -> None:
        """Emit the ticks due up to ``until`` (s), after the last event (silent groups)."""
        if self.clock is None:
            return
        if until // TICK_SECONDS > self.clock // TICK_SECONDS:
            self._ticks(until)
        self.clock = max(self.clock, until)

    def snapshots(self) -> dict[str, Any]:
        """Each engine's ``snapshot(state)`` (an optional method), by engine name."""
        found: dict[str, Any] = {}
        for engine, state in zip(self.engines, self.states, strict=True):
            snapshot = getattr(engine, "snapshot", None)
            if callable(snapshot):
                found[engine.name] = snapshot(state)
        return found

    # -- ticks ---------------------------------------------------------------------
    def _due(self, i: int) -> int:
        ask = self._asks[i]
        due = self.states[i].due if ask is None else ask(self.states[i])
        return NEVER if due is None else due

    def _deadline(self) -> int | None:
        """The earliest deadline of any engine."""
        best = self._min_due = min(self._dues, default=NEVER)
        return None if best >= NEVER else best

    def _ticks(self, limit: int) -> None:
        """Ticks at the grid points in (clock, limit] where a deadline is due.

        A deadline a tick did not clear is ticked again at the next grid point, as a
        fixed stream would; one that stays due makes a tick a minute up to ``limit``.
        A tick that no engine takes and none is due for is counted, not built.
        """
        assert self.clock is not None
        first = (self.clock // TICK_SECONDS + 1) * TICK_SECONDS
        plan = self._plans.get(TICK)
        if plan is None:
            plan = self._plan(TICK)
        while True:
            due = self._deadline()
            if due is None or due > limit:
                return
            at = max(-(-due // TICK_SECONDS) * TICK_SECONDS, first)
            if at > limit:
                return
            for group in self.groups:
                self.counts.ticks += 1
                if plan or self._min_due <= at:
                    self._begin(at * _US)
                    self._dispatch(EngineEvent(f"tick:{group}:{at}", TICK, group, at), plan, 0)
            self.clock = at
            first = at + TICK_SECONDS

    # -- stepping ------------------------------------------------------------------
    def _begin(self, at_us: int) -> None:
        self._numbers.clear()
        self._unnumbered.clear()
        self._root_us = at_us
        self._keep = self.keep_from_us is None or at_us > self.keep_from_us

    def _route(self, kind: str) -> tuple[int, ...]:
        """The engines that take ``kind``: all, but for those whose optional ``kinds``
        (a set of event kinds, ``tick`` and ``action_taken`` included) leaves it out."""
        route = tuple(i for i, kinds in enumerate(self._kinds) if kinds is None or kind in kinds)
        self._routes[kind] = route
        return route

    def _plan(self, kind: str) -> _Plan:
        """How to step the engines that take ``kind`` (:meth:`_route`)."""
        plan = self._as_plan(self._routes.get(kind) or self._route(kind))
        self._plans[kind] = plan
        return plan

    def _as_plan(self, route: tuple[int, ...]) -> _Plan:
        return tuple((i, self._steps[i], self._asks[i], self._natives[i]) for i in route)

    def _feedback_plan(self, engine: str, kind: str) -> _Plan:
        """The engines that read an ``engine``'s action of ``kind`` fed back: those that
        take ``action_taken`` and whose optional ``reads_feedback(engine, kind)`` (asked
        once per pair) says yes."""
        take = set(self._route("action_taken"))
        route = tuple(
            i
            for i, reads in enumerate(self._reads)
            if i in take and (reads is None or reads(engine, kind))
        )
        plan = self._fb_plans[(engine, kind)] = self._as_plan(route)
        return plan

    def _step(self, event: EngineEvent, depth: int) -> None:
        """Step the engines that take ``event`` (and those with a deadline due)."""
        plan = self._plans.get(event.kind)
        if plan is None:
            plan = self._plan(event.kind)
        self._dispatch(event, plan, depth)

    def _dispatch(self, event: EngineEvent, plan: _Plan, depth: int) -> None:
        """Step, in order, the engines of ``plan`` and every engine with a deadline due
        at ``event.ts`` (which would have acted on this event had it seen every event)."""
        ts = event.ts
        if self._min_due <= ts:
            self._dispatch_due(event, plan, depth, 0)
            return
        dues = self._dues
        for i, step, ask, native in plan:
            due, actions = self._step_one(i, step, ask, native, event)
            dues[i] = due
            if due < self._min_due:
                self._min_due = due
            if actions:
                for action in actions:
                    self._act(action, depth + 1)
            if self._min_due <= ts:  # a deadline came due meanwhile: the careful way
                self._dispatch_due(event, plan, depth, i + 1)
                return

    def _dispatch_due(self, event: EngineEvent, plan: _Plan, depth: int, first: int) -> None:
        """:meth:`_dispatch` from engine ``first`` on, while some deadline is due."""
        steps, asks, natives, dues = self._steps, self._asks, self._natives, self._dues
        take = {i for i, _, _, _ in plan}
        ts = event.ts
        for i in range(first, len(steps)):
            if i not in take and dues[i] > ts:
                continue
            due, actions = self._step_one(i, steps[i], asks[i], natives[i], event)
            dues[i] = due
            if due < self._min_due:
                self._min_due = due
            if actions:
                for action in actions:
                    self._act(action, depth + 1)
        self._min_due = min(dues, default=NEVER)

    def _step_one(
        self,
        i: int,
        step: _Step,
        ask: _Next | None,
        native: NativeEngine | None,
        event: EngineEvent,
    ) -> tuple[int, list[Action]]:
        """Step engine ``i`` with ``event``: (its next deadline, NEVER for none; the
        actions it made). A built-in engine's ``advance`` appends to the reused list,
        replaced when it acted (acting may step engines again); another engine is
        stepped through ``step``, its deadline read from ``state.due`` when it
        ``keeps_due``, else asked."""
        if native is not None:
            actions = self._out
            due = native.advance(self.states[i], event, actions)
            if actions:
                self._out = []
            return due, actions
        state, made = step(self.states[i], event)
        self.states[i] = state
        found = state.due if ask is None else ask(state)
        return (NEVER if found is None else found), made

    def _act(self, action: Action, depth: int) -> None:
        """Count, and (where it is read or kept) number, key and keep ``action``; feed it
        back to the engines that read it."""
        kind = action.kind
        # an Action subclass (scoring's PointsAward) writes its explanation only when read
        if kind not in _KINDS or (type(action) is Action and not action.explanation):
            what = "no explanation" if kind in _KINDS else f"unknown kind {kind!r}"
            raise EngineContractError(f"engine {action.engine!r} made an action with {what}")
        if depth > MAX_FEEDBACK_DEPTH:
            raise EngineContractError(
                f"actions keep causing actions ({depth} deep, last: {action.engine} "
                f"{kind} for {action.member} in {action.group}); an engine reacts to its "
                "own feedback"
            )
        self.counts.actions += 1
        if kind == "remove" and not self._keep:
            self.removed_before.add((action.group, action.member))
        plan = self._fb_plans.get((action.engine, kind))
        if plan is None:
            plan = self._feedback_plan(action.engine, kind)
        fed = bool(plan) or self._min_due <= action.ts
        if not (fed or self._keep):
            # nobody reads it and nobody keeps it: no key, no JSON, and numbered only if
            # an equal action after it in this root needs its number (_number)
            self._unnumbered.append(action)
            return
        n = self._number(action)
        # natural_key("shequn", community, group, "action", engine, cause, kind, member, n)
        key = _md5(
            f"shequn{_SEP}{self.community}{_SEP}{action.group}{_SEP}action{_SEP}"
            f"{action.engine}{_SEP}{action.cause}{_SEP}{kind}{_SEP}"
            f"{action.member or ''}{_SEP}{n}".encode()
        ).hexdigest()
        extra = None
        if self._keep or self._json_feedback:
            extra = _encode(
                {
                    "action": kind,
                    "engine": action.engine,
                    "rule": action.rule,
                    "details": action.details,
                    "cause": action.cause,
                }
            )
        if self._keep:
            assert extra is not None
            self.taken.append(Taken(action, key, self._root_us, extra))
        if fed:
            self.counts.feedback += 1
            event = EngineEvent(
                key,
                "action_taken",
                action.group,
                action.ts,
                action.member,
                None,
                action.explanation,
                None,
                None,
                (),
                None,
                None,
                False,
                None,
                extra,
                None,
                action,
            )
            self._dispatch(event, plan, depth)

    def _number(self, action: Action) -> int:
        """``n`` of ``action``'s key: how many equal actions (group, engine, cause, kind,
        member) this root made before it, the unnumbered ones included."""
        numbers = self._numbers
        if self._unnumbered:
            for earlier in self._unnumbered:
                ident = (earlier.group, earlier.engine, earlier.cause, earlier.kind, earlier.member)
                numbers[ident] = numbers.get(ident, 0) + 1
            self._unnumbered.clear()
        ident = (action.group, action.engine, action.cause, action.kind, action.member)
        n = numbers.get(ident, 0)
        numbers[ident] = n + 1
        return n


def _optional_set(engine: Engine[Any], name: str) -> frozenset[str] | None:
    value = getattr(engine, name, None)
    return None if value is None else frozenset(value)


# -- reading the log --------------------------------------------------------------------
def engine_events(
    table: pa.Table, links: dict[str, str] | None = None, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[EngineEvent, int]]:
    """Stored rows (EVENT_SCHEMA, log order) as (EngineEvent, log time in µs).

    ``links`` maps default member keys (``platform:identity``) to linked member keys;
    members, actors and mentions are resolved through it (as analytics' context does).
    Columns are converted a chunk at a time, never row by row through Arrow.
    """
    links = links or {}
    for batch in table.to_batches(max_chunksize=chunk_rows):
        yield from _batch_events(batch, links)


def _batch_events(
    batch: pa.RecordBatch, links: dict[str, str]
) -> Iterator[tuple[EngineEvent, int]]:
    col = batch.column
    rows = batch.num_rows
    platform = col("platform")
    ts_us = pc.cast(col("ts"), pa.int64())
    ts_s: list[int] = pc.divide(ts_us, _US).to_pylist()
    us: list[int] = ts_us.to_pylist()
    group = _prefixed(platform, col("group_id"), "/")
    member = _prefixed(platform, col("member_id"), ":")
    actor = _prefixed(platform, col("by_member_id"), ":")
    if links:
        get = links.get
        member = [None if m is None else get(m, m) for m in member]
        actor = [None if m is None else get(m, m) for m in actor]
    mentions: list[tuple[str, ...]] = [()] * rows
    raw_mentions = col("mentions")
    if raw_mentions.null_count < rows:
        plats = platform.to_pylist()
        for i, found in enumerate(raw_mentions.to_pylist()):
            if found:
                keys = (f"{plats[i]}:{m}" for m in found)
                mentions[i] = tuple(links.get(k, k) for k in keys) if links else tuple(keys)
    key: list[str] = col("key").to_pylist()
    kind = _shared(col("kind"))
    text = _values(col("text"))
    platform_id = _values(col("platform_id"))
    reply_to = _values(col("reply_to"))
    attachment = _values(col("attachment_kind"))
    forwarded = _values(col("forwarded_from"))
    bots = col("is_bot")
    no_bots = bots.true_count == 0 and bots.null_count == 0
    is_bot: list[bool] = [False] * rows if no_bots else bots.to_pylist()
    join_method = _values(col("join_method"))
    extra = _values(col("extra"))
    names = _values(col("member_name"))
    # one EngineEvent per row, positional (``action`` last), the columns read by index: a
    # loop of our own, which compiled (mypyc) calls EngineEvent's constructor directly
    # (``map`` over the class made every row parse its 17 arguments; a ``zip`` of the
    # columns built and unpacked a 17-tuple per row: docs/decisions/0005)
    for i in range(rows):
        yield (
            EngineEvent(
                key[i],
                kind[i],  # type: ignore[arg-type]  # a stored event always has its kind
                group[i],  # type: ignore[arg-type]  # … and its group
                ts_s[i],
                member[i],
                actor[i],
                text[i],
                platform_id[i],
                reply_to[i],
                mentions[i],
                attachment[i],
                forwarded[i],
                is_bot[i],
                join_method[i],
                extra[i],
                names[i],
                None,
            ),
            us[i],
        )


def _values(strings: pa.Array) -> list[str | None]:
    """``strings.to_pylist()``; a column of nulls (most of an event's optional fields)
    without visiting its rows."""
    if strings.null_count == len(strings):
        return [None] * len(strings)
    values: list[str | None] = strings.to_pylist()
    return values


def _prefixed(platform: pa.Array, ids: pa.Array, separator: str) -> list[str | None]:
    """``platform + separator + id`` per row (None where ``id`` is), each distinct
    string one object (:func:`_shared`).

    A batch from one platform (the usual case) joins the ids' dictionary, not every row:
    the distinct groups and members are few against the rows.
    """
    if ids.null_count == len(ids):
        return [None] * len(ids)
    if platform.null_count == 0 and pc.count_distinct(platform).as_py() == 1:
        encoded = pc.dictionary_encode(ids)
        head = f"{platform[0].as_py()}{separator}"
        values: list[str | None] = [head + v for v in encoded.dictionary.to_pylist()]
        return _take(values, encoded.indices)
    return _shared(pc.binary_join_element_wise(platform, ids, separator))


def _shared(strings: pa.Array) -> list[str | None]:
    """``strings.to_pylist()``, but each distinct string one object: the engines' dict
    lookups by kind, group and member then hash it once (not once per event) and find
    their keys by identity."""
    encoded = pc.dictionary_encode(strings)
    values: list[str | None] = encoded.dictionary.to_pylist()
    return _take(values, encoded.indices)


def _take(values: list[str | None], indices: pa.Array) -> list[str | None]:
    """``values[i]`` for each of ``indices`` (None where an index is null)."""
    if indices.null_count:
        indices = pc.fill_null(indices, len(values))
        values = [*values, None]
    taken: list[str | None] = np.array(values, dtype=object)[indices.to_numpy()].tolist()
    return taken


def member_links(store: Store) -> dict[str, str]:
    """Default member key → linked member key, for every linked identity."""
    table = store.table("identity_links")
    out: dict[str, str] = {}
    for row in table.select(["platform", "identity", "member_key"]).to_pylist():
        default = f"{row['platform']}:{row['identity']}"
        if row["member_key"] != default:
            out[default] = row["member_key"]
    return out


def ledger_ids(store: Store, community: str) -> set[int]:
    """The import ids under which runs recorded actions (skipped when replaying)."""
    return {r.import_id for r in store.imports(community) if r.platform == LEDGER_PLATFORM}


@dataclass
class Log:
    """One community's stored events, ready to replay."""

    #: the events the engines see (recorded actions left out), in log order
    table: pa.Table
    #: keys of the actions earlier runs recorded
    recorded: set[str]
    links: dict[str, str]
    #: log time (µs) of the first and last event the engines see; None if none
    first_us: int | None
    last_us: int | None

    def events(self, until_us: int | None = None) -> Iterator[tuple[EngineEvent, int]]:
        table = self.table
        if until_us is not None and self.last_us is not None and until_us < self.last_us:
            ts = pc.cast(table.column("ts"), pa.int64())
            table = table.filter(pc.less_equal(ts, until_us))
        return engine_events(table, self.links)


def read_log(store: Store, community: str) -> Log:
    """The community's log as the engines replay it (see :class:`Log`)."""
    table = store.events(Window(community=community))
    ours = ledger_ids(store, community)
    recorded: set[str] = set()
    if ours:
        mine = pc.is_in(table.column("import_id"), pa.array(sorted(ours), pa.int64()))
        recorded = set(table.filter(mine).column("key").to_pylist())
        table = table.filter(pc.invert(mine))
    first_us = last_us = None
    if table.num_rows:
        ts = pc.cast(table.column("ts"), pa.int64())
        first_us, last_us = int(ts[0].as_py()), int(ts[-1].as_py())
    return Log(table, recorded, member_links(store), first_us, last_us)


# -- shequn run -------------------------------------------------------------------------
def current_playbook(store: Store, community: str) -> tuple[PlaybookVersion, Playbook]:
    """The community's current (last applied) playbook; an error if none was applied."""
    from shequn.errors import ConfigError

    versions = store.playbooks(community)
    if not versions:
        raise ConfigError(
            "--community",
            f"no playbook applied to {community!r} yet; "
            f"run `shequn playbook apply playbook.toml --community {community}` first",
        )
    version = versions[-1]
    return version, parse_playbook(version.text, f"{community} playbook v{version.version}")


def cursor(store: Store, community: str) -> int | None:
    """Log time (µs) up to which the community's events were processed by `shequn run`."""
    value = store.setting(CURSOR_SETTING.format(community=community))
    return int(value) if value else None


@dataclass
class RunReport:
    """What ``shequn run`` did (or, dry, would do)."""

    community: str
    version: int
    dry_run: bool
    #: the new actions, in the order they were made
    actions: list[Taken]
    counts: Counts
    cursor_before: int | None
    cursor_after: int | None
    recorded: int = 0
    import_id: int | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def run_community(
    store: Store,
    community: str,
    *,
    until: Callable[[int], int] | int | None = None,
    dry_run: bool = False,
    engines: Sequence[Engine[Any]] | None = None,
    registry: Sequence[tuple[str, str]] | None = None,
    adapter: Adapter | None = None,
    kols: Sequence[str] = (),
) -> RunReport:
    """``shequn run``: apply the current playbook to the events not processed yet.

    The state is rebuilt by replaying the log from its start; only the actions caused by
    events (and ticks) after the cursor — and not recorded already — are new. Unless
    ``dry_run``, they are recorded as ``action_taken`` events (through the import
    ledger), the cursor moves to the analysed end and ``adapter`` carries them out.
    ``until`` is the analysed end in epoch seconds (or a function of the last event's
    time); default the last event. ``kols``: the analytics' KOL ranking, best first
    (see :func:`~shequn.engines.registry.load_engines`).
    """
    from shequn.engines.record import record_actions
    from shequn.engines.registry import load_engines, with_linked_members

    started = time.perf_counter()
    version, playbook = current_playbook(store, community)
    notes: list[str] = []
    log = read_log(store, community)
    if engines is None:
        linked = with_linked_members(playbook, log.links)
        engines, notes = load_engines(linked, registry, kols=kols)
    before = cursor(store, community)
    if log.last_us is None:
        return RunReport(
            community,
            version.version,
            dry_run,
            [],
            Counts(),
            before,
            before,
            notes=[*notes, f"no events stored for {community!r}"],
        )
    last_s = log.last_us // _US
    end_s = until(last_s) if callable(until) else (last_s if until is None else until)
    # events of the analysed end's own second are in; the cursor covers events and ticks
    through_us = min(log.last_us, end_s * _US + _US - 1)
    runner = Runner(community, engines, keep_from_us=before)
    runner.feed_all(log.events(through_us))
    runner.finish(end_s)
    after = max(through_us, end_s * _US, before or 0)
    new = [t for t in runner.taken if t.key not in log.recorded]
    report = RunReport(
        community, version.version, dry_run, new, runner.counts, before, after, notes=notes
    )
    if not dry_run:
        report.recorded, report.import_id = record_actions(
            store,
            community,
            new,
            log.links,
            version=version.version,
            cursor_from=before,
            cursor_to=after,
        )
        store.set_setting(CURSOR_SETTING.format(community=community), str(after))
        if adapter is not None:
            for item in new:
                adapter.carry_out(item.action)
    report.seconds = time.perf_counter() - started
    return report


def epoch_seconds(moment: datetime) -> int:
    """A naive-UTC (or aware) datetime as epoch seconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())
