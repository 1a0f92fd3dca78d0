"""Event rows collected column by column, then handed out as one Arrow table."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pyarrow as pa

from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, natural_key

PLATFORM = "wechat"


class EventBuffer:
    """Appends events for one batch; :meth:`take` empties it into a table."""

    def __init__(self, community: str, import_id: int) -> None:
        self.community = community
        self.import_id = import_id
        self._reset()

    def _reset(self) -> None:
        self.cols: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}

    def __len__(self) -> int:
        return len(self.cols["key"])

    def add(
        self,
        *,
        kind: str,
        group_id: str,
        ts: datetime,
        line: int,
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
        join_method: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
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
        c["is_bot"].append(False)
        c["join_method"].append(join_method)
        c["invite_link"].append(None)
        c["amount"].append(None)
        c["currency"].append(None)
        c["extra"].append(json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None)
        c["import_id"].append(self.import_id)
        c["source_line"].append(line)
        c["topic_id"].append(None)

    def take(self) -> pa.Table:
        table = pa.Table.from_pydict(self.cols, schema=EVENT_SCHEMA)
        self._reset()
        return table
