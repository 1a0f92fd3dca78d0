"""Telegram's timestamps: epoch seconds where written, else local wall-clock text.

JSON exports since late 2021 write ``date_unixtime`` (UTC epoch seconds) beside
``date`` (the exporting computer's local time, ISO 8601 without offset); older ones
write only ``date``, as do reactions' ``recent[].date``. HTML exports write
``title="12.01.2024 15:04:05 UTC+03:00"`` (older ones without the ``UTC±hh:mm``).
Local times are read in ``settings.timezone``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

_EPOCH: Final = datetime(1970, 1, 1)
_HTML_TITLE: Final = re.compile(
    r"^\s*(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})(?: UTC([+-])(\d{2}):(\d{2}))?\s*$"
)


class Clock:
    """Turns the export's time texts into UTC microseconds."""

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self._cache: dict[str, int] = {}
        self._days: dict[str, int] = {}

    def local_iso(self, text: str) -> int:
        """``2024-01-12T15:04:05`` in the settings' timezone → UTC µs (ValueError if bad)."""
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        naive = datetime.fromisoformat(text)
        if naive.tzinfo is not None:
            utc = naive.astimezone(UTC).replace(tzinfo=None)
        else:
            utc = naive.replace(tzinfo=self.tz).astimezone(UTC).replace(tzinfo=None)
        value = (utc - _EPOCH) // timedelta(microseconds=1)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[text] = value
        return value

    def html_title(self, text: str) -> tuple[int, str | None]:
        """An HTML ``title`` → (UTC µs, the text if it has no offset else None)."""
        if len(text) == 29 and text[19:23] == " UTC" and text[2] == "." and text[26] == ":":
            # the common modern form, by position: dd.MM.yyyy hh:mm:ss UTC+hh:mm
            day = self._days.get(text[:10])
            if day is None:
                day = self._days[text[:10]] = (
                    datetime(int(text[6:10]), int(text[3:5]), int(text[:2])) - _EPOCH
                ).days
            seconds = int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
            offset = int(text[24:26]) * 3600 + int(text[27:29]) * 60
            if text[23] == "+":
                offset = -offset
            elif text[23] != "-":
                raise ValueError(f"not a Telegram date title: {text!r}")
            return (day * 86_400 + seconds + offset) * 1_000_000, None
        m = _HTML_TITLE.match(text)
        if m is None:
            raise ValueError(f"not a Telegram date title: {text!r}")
        d, mo, y, h, mi, s, sign, oh, om = m.groups()
        naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
        if sign is None:
            utc = naive.replace(tzinfo=self.tz).astimezone(UTC).replace(tzinfo=None)
            raw: str | None = text.strip()
        else:
            shift = timedelta(hours=int(oh), minutes=int(om))
            utc = naive - shift if sign == "+" else naive + shift
            raw = None
        return (utc - _EPOCH) // timedelta(microseconds=1), raw


def iso_utc(us: int) -> str:
    """UTC µs as ISO text (for extra)."""
    return (_EPOCH + timedelta(microseconds=us)).isoformat()
