"""Event rows in columns: what every Discord record turns into, before it becomes Arrow.

Rows are appended column by column (one list per :data:`~shequn.events.EVENT_SCHEMA`
column) and handed out as one ``pa.Table`` per batch, so a batch of a hundred thousand
records builds no per-row dicts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import pyarrow as pa

from shequn.events import EVENT_COLUMNS, EVENT_SCHEMA, SCHEMA_VERSION, natural_key

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


def dump_extra(extra: dict[str, Any] | None) -> str | None:
    """The ``extra`` column: compact JSON, or null when there is nothing to say."""
    if not extra:
        return None
    return json.dumps(extra, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class Rows:
    """Columns of events being gathered for one batch."""

    def __init__(self, community: str, import_id: int) -> None:
        self.community = community
        self.import_id = import_id
        self.cols: dict[str, list[Any]] = {name: [] for name in EVENT_COLUMNS}

    def __len__(self) -> int:
        return len(self.cols["key"])

    def add(
        self,
        kind: str,
        group_id: str,
        ts: datetime,
        line: int,
        *,
        key_parts: tuple[object, ...],
        ts_raw: str | None = None,
        platform_id: str | None = None,
        member_id: str | None = None,
        member_name: str | None = None,
        by_member_id: str | None = None,
        text: str | None = None,
        reply_to: str | None = None,
        mentions: list[str] | None = None,
        attachment_kind: str | None = None,
        is_bot: bool = False,
        join_method: str | None = None,
        extra: dict[str, Any] | None = None,
        topic_id: str | None = None,
    ) -> None:
        """One event; its key is ``natural_key(platform, community, group, kind, *key_parts)``."""
        c = self.cols
        c["key"].append(natural_key(PLATFORM, self.community, group_id, kind, *key_parts))
        c["schema_version"].append(SCHEMA_VERSION)
        c["kind"].append(kind)
        c["platform"].append(PLATFORM)
        c["community"].append(self.community)
        c["group_id"].append(group_id)
        c["ts"].append(ts)
        c["ts_raw"].append(ts_raw)
        c["platform_id"].append(platform_id)
        c["member_id"].append(member_id)
        c["member_name"].append(member_name)
        c["by_member_id"].append(by_member_id)
        c["text"].append(text)
        c["reply_to"].append(reply_to)
        c["mentions"].append(mentions or None)
        c["attachment_kind"].append(attachment_kind)
        c["forwarded_from"].append(None)
        c["is_bot"].append(is_bot)
        c["join_method"].append(join_method)
        c["invite_link"].append(None)
        c["amount"].append(None)
        c["currency"].append(None)
        c["extra"].append(dump_extra(extra))
        c["import_id"].append(self.import_id)
        c["source_line"].append(line)
        c["topic_id"].append(topic_id)

    def truncate(self, n: int) -> None:
        """Drop the rows after the first ``n`` (a record that failed half-way)."""
        for values in self.cols.values():
            del values[n:]

    def table(self) -> pa.Table:
        """The gathered events as Arrow; the columns start empty again."""
        table = pa.Table.from_pydict(self.cols, schema=EVENT_SCHEMA)
        self.cols = {name: [] for name in EVENT_COLUMNS}
        return table
