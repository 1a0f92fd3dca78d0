"""What every Discord record needs before its events are added: ids, times, errors.

The events themselves go into :class:`~shequn.importers.columns.EventColumns`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

PLATFORM: Final = "discord"
#: Discord's epoch (2015-01-01T00:00:00Z) in milliseconds; snowflakes count from it
DISCORD_EPOCH_MS: Final = 1_420_070_400_000
_EPOCH: Final = datetime(1970, 1, 1)


class RecordError(ValueError):
    """A record that cannot be read; the message is the JSON path and the reason."""


def snowflake_time(snowflake: str) -> datetime:
    """The UTC time a Discord id was made (its top 42 bits are milliseconds)."""
    ms = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return _EPOCH + timedelta(milliseconds=ms)


def parse_time(value: object, field: str, timezone: str) -> tuple[datetime, str | None]:
    """(naive UTC time, raw text if the text had no offset) of an ISO 8601 time."""
    if not isinstance(value, str):
        raise RecordError(f"{field}: missing or not a string")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"{field}: {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:  # never written by DCE; read as the operator's local time
        return when.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC).replace(tzinfo=None), value
    return when.astimezone(UTC).replace(tzinfo=None), None
