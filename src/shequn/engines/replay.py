"""``shequn replay``: what a changed playbook would have done, against the current one.

Both playbooks replay the community's whole log from its start (a playbook cannot take
over another playbook's engine state, so each builds its own), to the same end; the
difference is then read over the window ``[since, until]``:

* **actions** made under one playbook and not the other (matched by their natural key —
  the same engine, cause, kind and member — time, explanation and details, so an
  award of other points counts as different), with counts per kind;
* **removed / spared**: members removed in the window under the new playbook but not
  the current one, and the other way round, each with the explanation — leaving out
  a member the other playbook had removed before the window (already gone there);
* **state** at the end, from each engine's optional ``snapshot(state) -> dict``:
  every value that differs (points, levels, badges, …), flattened to a path;
* **leaderboards**: from a snapshot's ``"points"`` — ``{group: {member: points}}`` or
  ``{member: points}`` — the top ``leaderboards.size`` per group and for the whole
  community (points summed over groups), rank by rank where they differ.

An engine without ``snapshot`` is compared by its actions only. The result is sorted
throughout (actions in the order they were made), so the same log and playbooks give
byte-identical output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shequn.engines.base import Engine
from shequn.engines.registry import load_engines, with_linked_members
from shequn.engines.runner import Runner, Taken, current_playbook, read_log
from shequn.errors import ConfigError
from shequn.playbook.model import Playbook
from shequn.store.base import Store

_US = 1_000_000
#: how the community-wide leaderboard is named
COMMUNITY_BOARD = "(community)"


@dataclass
class Side:
    """One playbook's replay."""

    label: str
    actions: list[Taken]
    snapshots: dict[str, Any]
    engines: list[str]
    #: (group, member) this playbook removed before the window
    removed_before: set[tuple[str, str | None]] = field(default_factory=set)


@dataclass
class ReplayDiff:
    """The difference between the current and a changed playbook over a window."""

    community: str
    since: int
    until: int
    current: Side
    new: Side
    notes: list[str] = field(default_factory=list)
    #: the leaderboards' size (the new playbook's ``leaderboards.size``)
    board_size: int = 10

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object (documented in docs/engines/runner.md)."""
        only_current, only_new = _only(self.current.actions, self.new.actions)
        counts_cur = Counter(t.action.kind for t in self.current.actions)
        counts_new = Counter(t.action.kind for t in self.new.actions)
        removed, spared = _removals(self.current, self.new)
        return {
            "community": self.community,
            "since": self.since,
            "until": self.until,
            "current": {"playbook": self.current.label, "engines": self.current.engines},
            "new": {"playbook": self.new.label, "engines": self.new.engines},
            "counts": {
                kind: {"current": counts_cur.get(kind, 0), "new": counts_new.get(kind, 0)}
                for kind in sorted(set(counts_cur) | set(counts_new))
            },
            "removed": removed,
            "spared": spared,
            "only_current": [_action_json(t) for t in only_current],
            "only_new": [_action_json(t) for t in only_new],
            "state": _state_diff(self.current.snapshots, self.new.snapshots),
            "leaderboards": _board_diff(
                self.current.snapshots, self.new.snapshots, self.board_size
            ),
            "notes": self.notes,
        }


def _action_json(t: Taken) -> dict[str, Any]:
    a = t.action
    return {
        "ts": a.ts,
        "group": a.group,
        "member": a.member,
        "kind": a.kind,
        "engine": a.engine,
        "rule": a.rule,
        "explanation": a.explanation,
        "details": a.details,
        "key": t.key,
    }


def _same(t: Taken) -> tuple[Any, ...]:
    """What makes two actions the same: key, time, explanation and details."""
    return (t.key, t.action.ts, t.action.explanation, t.extra)


def _only(current: Sequence[Taken], new: Sequence[Taken]) -> tuple[list[Taken], list[Taken]]:
    cur_keys = {_same(t) for t in current}
    new_keys = {_same(t) for t in new}
    return (
        [t for t in current if _same(t) not in new_keys],
        [t for t in new if _same(t) not in cur_keys],
    )


def _removals(current: Side, new: Side) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Members removed in the window only under the new playbook, and only under the
    current one. A member one playbook removed *before* the window is neither: under it
    they were already gone (a smaller cap removes earlier, not more)."""

    def first_removals(actions: Sequence[Taken]) -> dict[tuple[str, str], Taken]:
        found: dict[tuple[str, str], Taken] = {}
        for t in actions:
            a = t.action
            if a.kind == "remove" and a.member is not None:
                found.setdefault((a.group, a.member), t)
        return found

    cur, nxt = first_removals(current.actions), first_removals(new.actions)
    removed = [
        _action_json(nxt[k]) for k in sorted(set(nxt) - set(cur)) if k not in current.removed_before
    ]
    spared = [
        _action_json(cur[k]) for k in sorted(set(cur) - set(nxt)) if k not in new.removed_before
    ]
    return removed, spared


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a/b/c": leaf}`` (lists and scalars are leaves)."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key in sorted(value, key=str):
            out.update(flatten(value[key], f"{prefix}/{key}" if prefix else str(key)))
        return out
    return {prefix: _plain(value)}


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    return value


def _state_diff(current: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for engine in sorted(set(current) & set(new)):
        a, b = flatten(current[engine]), flatten(new[engine])
        for path in sorted(set(a) | set(b)):
            if a.get(path) != b.get(path):
                rows.append(
                    {"engine": engine, "path": path, "current": a.get(path), "new": b.get(path)}
                )
    return rows


def boards(points: Any, size: int) -> dict[str, list[tuple[str, int]]]:
    """Top ``size`` (member, points) per group and for the community, from a snapshot."""
    if not isinstance(points, Mapping):
        return {}
    per_group: dict[str, dict[str, int]] = {}
    flat: dict[str, int] = {}
    for key, value in points.items():
        if isinstance(value, Mapping):
            per_group[str(key)] = {str(m): int(p) for m, p in value.items()}
        elif isinstance(value, int):
            flat[str(key)] = value
    if per_group:
        for members in per_group.values():
            for member, pts in members.items():
                flat[member] = flat.get(member, 0) + pts

    def top(scores: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:size]

    result = {group: top(members) for group, members in sorted(per_group.items())}
    result[COMMUNITY_BOARD] = top(flat)
    return result


def _board_diff(current: dict[str, Any], new: dict[str, Any], size: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for engine in sorted(set(current) & set(new)):
        a = boards(_get(current[engine], "points"), size)
        b = boards(_get(new[engine], "points"), size)
        for board in sorted(set(a) | set(b)):
            left, right = a.get(board, []), b.get(board, [])
            for rank in range(max(len(left), len(right))):
                x = left[rank] if rank < len(left) else None
                y = right[rank] if rank < len(right) else None
                if x != y:
                    rows.append(
                        {
                            "engine": engine,
                            "board": board,
                            "rank": rank + 1,
                            "current": None if x is None else {"member": x[0], "points": x[1]},
                            "new": None if y is None else {"member": y[0], "points": y[1]},
                        }
                    )
    return rows


def _get(snapshot: Any, name: str) -> Any:
    return snapshot.get(name) if isinstance(snapshot, Mapping) else None


def _side(
    label: str,
    community: str,
    engines: Sequence[Engine[Any]],
    log_events: Callable[[], Any],
    keep_from_us: int,
    end_s: int,
) -> Side:
    runner = Runner(community, engines, keep_from_us=keep_from_us)
    runner.feed_all(log_events())
    runner.finish(end_s)
    return Side(
        label, runner.taken, runner.snapshots(), [e.name for e in engines], runner.removed_before
    )


def replay_community(
    store: Store,
    community: str,
    playbook: Playbook,
    *,
    label: str = "new",
    since: Callable[[int], int] | int | None = None,
    until: Callable[[int], int] | int | None = None,
    registry: Sequence[tuple[str, str]] | None = None,
    kols: Sequence[str] = (),
) -> ReplayDiff:
    """Replay the log under the current playbook and under ``playbook``; diff the window.

    ``since``/``until`` are epoch seconds, or functions of the last event's time (so
    ``30d`` counts back from the log's end, never from the wall clock). Default: the
    whole log.
    """
    if playbook.community != community:
        raise ConfigError(
            "--playbook", f"it is the playbook of {playbook.community!r}, not {community!r}"
        )
    version, current = current_playbook(store, community)
    log = read_log(store, community)
    cur_engines, notes = load_engines(with_linked_members(current, log.links), registry, kols=kols)
    new_engines, _ = load_engines(with_linked_members(playbook, log.links), registry, kols=kols)
    if log.last_us is None or log.first_us is None:
        raise ConfigError("--community", f"no events stored for {community!r}")
    last_s = log.last_us // _US
    first_s = log.first_us // _US
    start = since(last_s) if callable(since) else (first_s if since is None else since)
    end = until(last_s) if callable(until) else (last_s if until is None else until)
    if end < start:
        raise ConfigError("--since", "the window ends before it starts")
    through_us = min(log.last_us, end * _US + _US - 1)
    keep = start * _US - 1

    def events() -> Any:
        return log.events(through_us)

    cur = _side(f"v{version.version}", community, cur_engines, events, keep, end)
    nxt = _side(label, community, new_engines, events, keep, end)
    return ReplayDiff(community, start, end, cur, nxt, notes, playbook.leaderboards.size)
