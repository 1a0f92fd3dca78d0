"""Two small engines of the runner's own tests, an event factory and a stored-log builder.

``SpamEngine`` ("spam"): the playbook's first ``banned_words`` rule, its penalty ladder
counted per (group, member) for ever; a mute sets a deadline, and the first tick at or
after it unmutes. ``TallyEngine`` ("tally"): ``points.actions.message.points`` per
message, ``points.deductions`` on the penalties fed back, ``level_up`` on crossing a
playbook level; ``snapshot`` gives points and levels. Neither acts on a tick before
its deadline, so both keep the tick contract.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import pyarrow as pa

from shequn.engines.base import TICK, Action, EngineEvent
from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, natural_key
from shequn.playbook import parse_playbook
from shequn.playbook.model import Playbook, WordsRule
from shequn.store.base import ImportSpec, Store

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC

REGISTRY = (
    ("spam", "enginehelp:SpamEngine"),
    ("missing", "shequn.engines.no_such_engine:Nothing"),
    ("tally", "enginehelp:TallyEngine"),
)

PLAYBOOK = """
version = 1
community = "makers"

[[groups]]
platform = "telegram"
id = "g1"
cap = 10

[[groups]]
platform = "telegram"
id = "g2"

[[rules]]
id = "no-spam"
kind = "banned_words"
words = ["spam"]
penalty = [
  { at = 1, action = "warn" },
  { at = 2, action = "mute", duration = "5m" },
  { at = 3, action = "remove", block_rejoin = true },
]

[points.actions.message]
points = 10

[points.deductions]
mute = 5
remove = 100

[[levels]]
name = "newcomer"
threshold = 0

[[levels]]
name = "regular"
threshold = 30
"""


def playbook(text: str = PLAYBOOK) -> Playbook:
    return parse_playbook(text, "test")


@dataclass
class SpamState:
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (group, member) → mute end
    muted: dict[tuple[str, str], int] = field(default_factory=dict)


class SpamEngine:
    name: ClassVar[str] = "spam"

    def __init__(self, book: Playbook) -> None:
        rules = [r for r in book.rules if isinstance(r, WordsRule)]
        self.rule = rules[0] if rules else None
        self.words = [w.lower() for w in self.rule.words] if self.rule else []
        self.ladder = {s.at: s for s in self.rule.penalty} if self.rule else {}

    def start(self) -> SpamState:
        return SpamState()

    def next_deadline(self, state: SpamState) -> int | None:
        return min(state.muted.values()) if state.muted else None

    def step(self, state: SpamState, event: EngineEvent) -> tuple[SpamState, list[Action]]:
        if event.kind == TICK:
            return state, self._unmute(state, event)
        if event.kind != "message_posted" or event.member is None or self.rule is None:
            return state, []
        text = (event.text or "").lower()
        if not any(w in text for w in self.words):
            return state, []
        who = (event.group, event.member)
        n = state.counts[who] = state.counts.get(who, 0) + 1
        step = self.ladder.get(n)
        if step is None:
            return state, []
        details: dict[str, Any] = {}
        if step.action == "mute":
            assert step.duration is not None
            state.muted[who] = details["until"] = event.ts + step.duration
        if step.action == "remove":
            details["block_rejoin"] = step.block_rejoin
            state.muted.pop(who, None)
        return state, [
            Action(
                step.action,
                event.group,
                event.member,
                event.ts,
                self.name,
                f"{step.action}: spam #{n} (rule {self.rule.id})",
                self.rule.id,
                event.key,
                details,
            )
        ]

    def _unmute(self, state: SpamState, event: EngineEvent) -> list[Action]:
        due = sorted(w for w, end in state.muted.items() if w[0] == event.group and end <= event.ts)
        for who in due:
            del state.muted[who]
        return [
            Action(
                "unmute",
                g,
                m,
                event.ts,
                self.name,
                f"unmute: the mute of {m} ended",
                None,
                event.key,
            )
            for g, m in due
        ]


@dataclass
class TallyState:
    points: dict[str, dict[str, int]] = field(default_factory=dict)
    levels: dict[str, dict[str, str]] = field(default_factory=dict)


class TallyEngine:
    name: ClassVar[str] = "tally"

    def __init__(self, book: Playbook) -> None:
        rule = book.points.actions.get("message")
        self.per_message = rule.points if rule else 0
        self.deductions = dict(book.points.deductions)
        self.levels = [(lv.threshold, lv.name) for lv in book.levels]

    def start(self) -> TallyState:
        return TallyState()

    def next_deadline(self, state: TallyState) -> int | None:
        return None

    def snapshot(self, state: TallyState) -> dict[str, Any]:
        return {"points": state.points, "levels": state.levels}

    def step(self, state: TallyState, event: EngineEvent) -> tuple[TallyState, list[Action]]:
        if event.member is None:
            return state, []
        if event.kind == "message_posted" and self.per_message:
            return state, self._add(state, event, self.per_message, "message")
        if event.kind == "action_taken" and event.extra:
            extra = json.loads(event.extra)
            lost = self.deductions.get(extra["action"])
            if lost and extra["engine"] != self.name:
                return state, self._add(state, event, -lost, extra["action"])
        return state, []

    def _add(self, state: TallyState, event: EngineEvent, points: int, why: str) -> list[Action]:
        assert event.member is not None
        group = state.points.setdefault(event.group, {})
        total = group[event.member] = group.get(event.member, 0) + points
        kind = "award_points" if points > 0 else "deduct_points"
        actions = [
            Action(
                kind,
                event.group,
                event.member,
                event.ts,
                self.name,
                f"{kind}: {points:+} for {why}, {total} in all",
                None,
                event.key,
                {"points": points, "total": total},
            )
        ]
        reached = [name for threshold, name in sorted(self.levels) if total >= threshold]
        level = reached[-1] if reached else None
        known = state.levels.setdefault(event.group, {})
        if level is not None and known.get(event.member) != level:
            before = known.get(event.member)
            known[event.member] = level
            if before is not None:
                actions.append(
                    Action(
                        "level_up",
                        event.group,
                        event.member,
                        event.ts,
                        self.name,
                        f"level_up: {event.member} is now {level} with {total} points",
                        level,
                        event.key,
                        {"level": level},
                    )
                )
        return actions


# -- events -------------------------------------------------------------------------------
def ev(
    kind: str,
    ts: int,
    member: str | None = "telegram:alice",
    *,
    group: str = "telegram/g1",
    text: str | None = None,
    key: str | None = None,
    **more: Any,
) -> EngineEvent:
    """An EngineEvent with a key made from its parts."""
    return EngineEvent(
        key or natural_key(kind, group, ts, member, text),
        kind,
        group,
        ts,
        member,
        text=text,
        **more,
    )


def feed(events: Sequence[EngineEvent]) -> list[tuple[EngineEvent, int]]:
    return [(e, e.ts * 1_000_000) for e in events]


# -- a stored log ---------------------------------------------------------------------------
def rows(community: str, items: Sequence[dict[str, Any]], import_id: int) -> pa.Table:
    """EVENT_SCHEMA rows; each item needs kind, ts (epoch s), member_id; platform telegram."""
    full = []
    for i, item in enumerate(items):
        row = {name: None for name in EVENT_SCHEMA.names}
        row.update(
            schema_version=SCHEMA_VERSION,
            platform="telegram",
            community=community,
            group_id="g1",
            is_bot=False,
            import_id=import_id,
            source_line=i + 1,
        )
        row.update(item)
        row["ts"] = datetime.fromtimestamp(item["ts"], UTC).replace(tzinfo=None)
        row["key"] = item.get("key") or natural_key(
            "test", row["group_id"], row["kind"], item["ts"], row["member_id"], row["text"], i
        )
        full.append(row)
    return pa.Table.from_pylist(full, schema=EVENT_SCHEMA)


def store_events(
    store: Store, community: str, items: Sequence[dict[str, Any]], name: str = "log"
) -> int:
    """Write ``items`` as one import (the store's ordinary write path); returns new rows."""
    record = store.begin_import(
        ImportSpec(community, "telegram", "g1", name, f"fp-{name}", {"n": len(items)})
    )
    stored = store.write_batch(
        record.import_id, rows(community, items, record.import_id), [], len(items), len(items)
    )
    store.finish_import(record.import_id, "complete")
    return stored
