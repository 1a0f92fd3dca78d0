"""What an engine decided, and why: :class:`Action` (the contract: engines/base.py).

Its own module, never compiled (docs/decisions/0005-compiled-engines.md): an engine
may return a subclass whose ``explanation`` and ``details`` are written when first
read (scoring's ``PointsAward``, engines/awards.py). Compiled code treats a class of a
module it does not compile as a plain Python object and reads its fields by name, so
it finds such properties; a native (compiled) class's fields would be read directly
from its struct, and compiled code would take only the exact class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Action:
    """What an engine decided, and why (read-only by contract once made; not frozen,
    as a frozen dataclass costs four times as much to build)."""

    kind: str
    group: str
    member: str | None
    ts: int
    #: the engine and (where one applies) the playbook rule, badge or level behind it
    engine: str
    explanation: str
    rule: str | None = None
    #: the key of the event that caused it (the tick's own key for deadlines)
    cause: str = ""
    details: dict[str, Any] = field(default_factory=dict)
