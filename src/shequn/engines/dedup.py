"""Duplicate events, dropped once for all engines: the runner's :class:`SeenKeys`.

A redelivered webhook or a re-imported export repeats an event (same key). The runner
checks each stored event's key here before any engine sees it, so engines need not
keep seen-key sets of their own (they used to keep four, one check per engine and
event).
"""

from __future__ import annotations

from typing import Final

#: events are recognised as duplicates (same key) for at least this long of log time
DEDUP_HORIZON: Final = 3 * 86_400


class SeenKeys:
    """Event keys seen lately: two generations of ``horizon`` log time each, the older
    dropped whole when a third begins, so a key is remembered for ``horizon`` to twice
    ``horizon`` seconds. When a key is forgotten depends only on its time and the
    current time, never on which other events happened to come."""

    __slots__ = ("current", "generation", "horizon", "previous")

    def __init__(self, horizon: int = DEDUP_HORIZON) -> None:
        self.horizon = horizon
        self.generation = -1
        self.current: set[str] = set()
        self.previous: set[str] = set()

    def first_time(self, key: str, ts: int) -> bool:
        """Whether ``key`` is new (not seen lately); remembers it."""
        if key in self.current or key in self.previous:
            return False
        generation = ts // self.horizon
        if generation > self.generation:
            self.previous = self.current if generation == self.generation + 1 else set()
            self.current = set()
            self.generation = generation
        self.current.add(key)
        return True
