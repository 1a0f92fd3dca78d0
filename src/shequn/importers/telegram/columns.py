"""Event columns built per batch: plain Python lists turned into one Arrow table.

Building a dict per event and converting a list of dicts is several times slower than
appending to one list per column; constant columns (platform, community, import id,
schema version) are made once per batch at the end.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from shequn.events import EVENT_SCHEMA, KEY_SEPARATOR, SCHEMA_VERSION
from shequn.store.base import Reject

PLATFORM: Final = "telegram"

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


class EventColumns:
    """Collects the events of one batch, one list per column."""

    def __init__(self, community: str, import_id: int) -> None:
        self.community = community
        self.import_id = import_id
        self._prefix = KEY_SEPARATOR.join((PLATFORM, community)) + KEY_SEPARATOR
        self.rejects: list[Reject] = []
        self._reset()

    def _reset(self) -> None:
        self.cols: dict[str, list[object]] = {name: [] for name in _VARYING}
        c = self.cols
        self._key = c["key"].append
        self._kind = c["kind"].append
        self._group = c["group_id"].append
        self._ts = c["ts"].append
        self._ts_raw = c["ts_raw"].append
        self._pid = c["platform_id"].append
        self._member = c["member_id"].append
        self._name = c["member_name"].append
        self._by = c["by_member_id"].append
        self._text = c["text"].append
        self._reply = c["reply_to"].append
        self._mentions = c["mentions"].append
        self._att = c["attachment_kind"].append
        self._fwd = c["forwarded_from"].append
        self._bot = c["is_bot"].append
        self._join = c["join_method"].append
        self._link = c["invite_link"].append
        self._extra = c["extra"].append
        self._line = c["source_line"].append
        self._topic = c["topic_id"].append

    def __len__(self) -> int:
        return len(self.cols["key"])

    def add(
        self,
        kind: str,
        group_id: str,
        ts_us: int,
        platform_id: str | None,
        line: int,
        *,
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
        ts_raw: str | None = None,
        more: str = "",
    ) -> None:
        """One event; its key is ``natural_key(platform, community, group, kind, id, more)``."""
        key = self._prefix + group_id + KEY_SEPARATOR + kind + KEY_SEPARATOR + (platform_id or "")
        if more:
            key += KEY_SEPARATOR + more
        self._key(key)
        self._kind(kind)
        self._group(group_id)
        self._ts(ts_us)
        self._ts_raw(ts_raw)
        self._pid(platform_id)
        self._member(member_id)
        self._name(member_name)
        self._by(by_member_id)
        self._text(text)
        self._reply(reply_to)
        self._mentions(mentions)
        self._att(attachment_kind)
        self._fwd(forwarded_from)
        self._bot(is_bot)
        self._join(join_method)
        self._link(invite_link)
        self._extra(extra)
        self._line(line)
        self._topic(topic_id)

    def take(self) -> tuple[pa.Table, list[Reject]]:
        """The batch so far as an ``EVENT_SCHEMA`` table (and its rejects); starts afresh."""
        import hashlib

        c = self.cols
        n = len(c["key"])
        md5 = hashlib.md5
        keys = [md5(k.encode("utf-8")).hexdigest() for k in c["key"]]  # type: ignore[attr-defined]
        arrays = {
            "key": pa.array(keys, pa.string()),
            "schema_version": pa.repeat(pa.scalar(SCHEMA_VERSION, pa.int16()), n),
            "kind": pa.array(c["kind"], pa.string()),
            "platform": pa.repeat(pa.scalar(PLATFORM, pa.string()), n),
            "community": pa.repeat(pa.scalar(self.community, pa.string()), n),
            "group_id": pa.array(c["group_id"], pa.string()),
            "ts": pa.array(c["ts"], pa.timestamp("us")),
            "ts_raw": pa.array(c["ts_raw"], pa.string()),
            "platform_id": pa.array(c["platform_id"], pa.string()),
            "member_id": pa.array(c["member_id"], pa.string()),
            "member_name": pa.array(c["member_name"], pa.string()),
            "by_member_id": pa.array(c["by_member_id"], pa.string()),
            "text": pa.array(c["text"], pa.string()),
            "reply_to": pa.array(c["reply_to"], pa.string()),
            "mentions": pa.array(c["mentions"], pa.list_(pa.string())),
            "attachment_kind": pa.array(c["attachment_kind"], pa.string()),
            "forwarded_from": pa.array(c["forwarded_from"], pa.string()),
            "is_bot": pa.array(c["is_bot"], pa.bool_()),
            "join_method": pa.array(c["join_method"], pa.string()),
            "invite_link": pa.array(c["invite_link"], pa.string()),
            "amount": pa.nulls(n, pa.float64()),
            "currency": pa.nulls(n, pa.string()),
            "extra": pa.array(c["extra"], pa.string()),
            "import_id": pa.repeat(pa.scalar(self.import_id, pa.int64()), n),
            "source_line": pa.array(c["source_line"], pa.int64()),
            "topic_id": pa.array(c["topic_id"], pa.string()),
        }
        table = pa.Table.from_arrays(
            [arrays[name] for name in EVENT_SCHEMA.names], schema=EVENT_SCHEMA
        )
        rejects = self.rejects
        self.rejects = []
        self._reset()
        return table, rejects
