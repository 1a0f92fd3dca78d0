"""Durations as operators write them: ``90s``, ``10m``, ``24h``, ``7d``, ``2w``, ``1d12h``."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import BeforeValidator, PlainSerializer

_PART: Final = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE: Final = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$")
_UNIT: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(value: object) -> int:
    """Seconds in a duration string (or a plain number of seconds)."""
    if isinstance(value, bool):
        raise ValueError("a duration like '10m', '24h' or '7d' is needed")
    if isinstance(value, int) and value >= 0:
        return value
    if not isinstance(value, str) or not _WHOLE.match(value):
        raise ValueError(f"{value!r} is not a duration like '10m', '24h' or '7d'")
    return sum(int(n) * _UNIT[unit] for n, unit in _PART.findall(value))


def format_duration(seconds: int) -> str:
    """The shortest exact text for a number of seconds (``86400`` → ``1d``)."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT[unit]
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


#: a duration field: written as text, held as seconds
Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
