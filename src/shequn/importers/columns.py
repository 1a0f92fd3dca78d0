"""Event columns built per batch, for the importers of platforms with ids.

Discord, Slack, Telegram and WeChat all append their events here and hand out one
``EVENT_SCHEMA`` table per batch. Each event is kept as one tuple and the tuples become
columns once per batch: a dict per event, or one list append per column, is several
times slower for million-message exports. Key hashes and the constant columns
(platform, community, import id, schema version) are made at the end too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, TypedDict

import pyarrow as pa

from shequn.events import EVENT_SCHEMA, KEY_SEPARATOR, SCHEMA_VERSION

#: the columns an event tuple holds, in its order (the key first: it is hashed apart)
_VARYING: Final = (
    "key",
    "kind",
    "group_id",
    "ts",
    "ts_raw",
    "platform_id",
    "member_id",
    "member_name",
    "by_member_id",
    "text",
    "reply_to",
    "mentions",
    "attachment_kind",
    "forwarded_from",
    "is_bot",
    "join_method",
    "invite_link",
    "extra",
    "source_line",
    "topic_id",
)


class EventFields(TypedDict, total=False):
    """The columns :meth:`EventColumns.add` takes by keyword, for helpers that pass them on."""

    ts_raw: str | None
    platform_id: str | None
    member_id: str | None
    member_name: str | None
    by_member_id: str | None
    text: str | None
    reply_to: str | None
    mentions: list[str] | None
    attachment_kind: str | None
    forwarded_from: str | None
    is_bot: bool
    join_method: str | None
    invite_link: str | None
    extra: str | None
    topic_id: str | None


def dump_extra(extra: Mapping[str, Any] | None) -> str | None:
    """The ``extra`` column: compact JSON with sorted keys, or null when there is nothing."""
    if not extra:
        return None
    return json.dumps(extra, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class EventColumns:
    """The events of one batch of one platform's import; :meth:`table` hands them out."""

    def __init__(self, platform: str, community: str, import_id: int) -> None:
        self.platform = platform
        self.community = community
        self.import_id = import_id
        self._prefix = KEY_SEPARATOR.join((platform, community)) + KEY_SEPARATOR
        self._rows: list[tuple[Any, ...]] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(
        self,
        kind: str,
        group_id: str,
        ts: datetime | int,
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
        forwarded_from: str | None = None,
        is_bot: bool = False,
        join_method: str | None = None,
        invite_link: str | None = None,
        extra: str | None = None,
        topic_id: str | None = None,
    ) -> None:
        """One event at ``ts`` (naive UTC, or microseconds since the epoch).

        Its key is :func:`~shequn.events.natural_key` of (platform, community,
        ``group_id``, ``kind``, ``*key_parts``); an empty ``mentions`` is stored as null.
        """
        key = self._prefix + group_id + KEY_SEPARATOR + kind
        for part in key_parts:
            key += KEY_SEPARATOR if part is None else KEY_SEPARATOR + str(part)
        self._rows.append(
            (key, kind, group_id, ts, ts_raw, platform_id, member_id, member_name, by_member_id,
             text, reply_to, mentions or None, attachment_kind, forwarded_from, is_bot,
             join_method, invite_link, extra, line, topic_id)
        )  # fmt: skip

    def truncate(self, n: int) -> None:
        """Drop the events after the first ``n`` (a record that failed half-way)."""
        del self._rows[n:]

    def table(self) -> pa.Table:
        """The events so far as one ``EVENT_SCHEMA`` table; the next batch starts empty."""
        rows, self._rows = self._rows, []
        n = len(rows)
        if rows:
            values = dict(zip(_VARYING, zip(*rows, strict=True), strict=True))
        else:
            values = dict.fromkeys(_VARYING, ())
        md5 = hashlib.md5
        arrays = {
            name: pa.array(values[name], EVENT_SCHEMA.field(name).type) for name in _VARYING[1:]
        }
        arrays["key"] = pa.array([md5(k.encode("utf-8")).hexdigest() for k in values["key"]])
        arrays["schema_version"] = pa.repeat(pa.scalar(SCHEMA_VERSION, pa.int16()), n)
        arrays["platform"] = pa.repeat(pa.scalar(self.platform, pa.string()), n)
        arrays["community"] = pa.repeat(pa.scalar(self.community, pa.string()), n)
        arrays["amount"] = pa.nulls(n, pa.float64())
        arrays["currency"] = pa.nulls(n, pa.string())
        arrays["import_id"] = pa.repeat(pa.scalar(self.import_id, pa.int64()), n)
        return pa.Table.from_arrays(
            [arrays[name] for name in EVENT_SCHEMA.names], schema=EVENT_SCHEMA
        )
