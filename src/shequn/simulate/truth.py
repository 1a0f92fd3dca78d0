"""The ground truth of a simulated export: what an importer must recover from it.

Two files go next to the export (schema in ``docs/simulator.md``):

``truth_events.parquet``
    one row per event in the export, :data:`TRUTH_SCHEMA`, ordered by line. A deleted
    message is a ``message_posted`` row followed by a ``message_deleted`` row on the
    same line; "Alice added Bob and Carol" is two ``member_joined`` rows on one line.
``truth.json``
    the group, the export's options, every member (identity, name forms, role, join,
    inviter, churn, message count), the invite tree, the rhythm and the counts — each
    count equal to the rows of that kind in the parquet file.

Writers stream row batches into :class:`TruthWriter`, which keeps the counts.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shequn.events import EventKind, JoinMethod
from shequn.simulate.community import (
    HOUR_WEIGHTS,
    PEAK_HOURS,
    QUIET_HOURS,
    ROLES,
    WEEKDAY_WEIGHTS,
    Community,
    ExitKind,
    JoinMethodCode,
)

TRUTH_VERSION: Final = "shequn-simulate-truth/1"

TRUTH_SCHEMA: Final = pa.schema(
    [
        pa.field("line", pa.int64(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("ts_utc", pa.timestamp("us"), nullable=False),
        pa.field("ts_raw", pa.string(), nullable=False),
        pa.field("member", pa.string()),
        pa.field("member_name", pa.string()),
        pa.field("by_member", pa.string()),
        pa.field("text", pa.string()),
        pa.field("attachment_kind", pa.string()),
        pa.field("join_method", pa.string()),
        pa.field("reply_to_line", pa.int64()),
        pa.field("mentions", pa.list_(pa.string())),
        # platforms with ids: the message's id; forums and guilds: the topic or channel
        pa.field("platform_id", pa.string()),
        pa.field("topic_id", pa.string()),
        pa.field("is_bot", pa.bool_(), nullable=False),
    ]
)
#: what writers hand in: the truth columns plus ``_order`` (rank of a row within its line)
ROW_SCHEMA: Final = TRUTH_SCHEMA.append(pa.field("_order", pa.int64(), nullable=False))

_JOIN_METHOD: Final = {
    JoinMethodCode.FOUNDER: str(JoinMethod.UNKNOWN),
    JoinMethodCode.ADDED: str(JoinMethod.ADDED),
    JoinMethodCode.LINK: str(JoinMethod.INVITE_LINK),
}


class TruthWriter:
    """Streams event rows into ``truth_events.parquet`` and counts them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = pq.ParquetWriter(str(path), TRUTH_SCHEMA, compression="zstd")
        self.kinds: Counter[str] = Counter()
        self.join_methods: Counter[str] = Counter()
        self.rows = 0
        self.replies = 0
        self.mentions = 0

    def write(self, rows: pa.Table) -> None:
        """Append rows (:data:`ROW_SCHEMA`, already in line order)."""
        table = rows.drop_columns(["_order"])
        for item in pc.value_counts(table["kind"]).to_pylist():
            self.kinds[item["values"]] += item["counts"]
        joins = table.filter(pc.equal(table["kind"], str(EventKind.MEMBER_JOINED)))
        for item in pc.value_counts(joins["join_method"]).to_pylist():
            self.join_methods[item["values"]] += item["counts"]
        self.rows += table.num_rows
        self.replies += table.num_rows - table["reply_to_line"].null_count
        self.mentions += int(pc.sum(pc.list_value_length(table["mentions"])).as_py() or 0)
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TruthWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def event_counts(truth: TruthWriter, line_counts: dict[str, int]) -> dict[str, int]:
    """The ``counts`` object of truth.json: rows per kind plus line-level counts."""
    k = truth.kinds
    return {
        "messages": k[EventKind.MESSAGE_POSTED],
        "text_messages": line_counts.get("text", 0),
        "media_omitted": line_counts.get("media_omitted", 0),
        "attachments": line_counts.get("attachments", 0),
        "deleted": k[EventKind.MESSAGE_DELETED],
        "joins": k[EventKind.MEMBER_JOINED],
        "joins_added": truth.join_methods[JoinMethod.ADDED],
        "joins_invite_link": truth.join_methods[JoinMethod.INVITE_LINK],
        "leaves": k[EventKind.MEMBER_LEFT],
        "removals": k[EventKind.MEMBER_REMOVED],
        "group_created": k[EventKind.GROUP_CREATED],
        "renames": k[EventKind.GROUP_RENAMED],
        "description_changes": k[EventKind.GROUP_DESCRIPTION_CHANGED],
        "icon_changes": k[EventKind.GROUP_ICON_CHANGED],
        "number_changes": k[EventKind.MEMBER_NUMBER_CHANGED],
        "security_notices": k[EventKind.SECURITY_NOTICE],
        "system_notices": k[EventKind.SYSTEM_NOTICE],
        "system_lines": line_counts.get("system_lines", 0),
        "lines": line_counts.get("lines", 0),
        "out_of_order": line_counts.get("out_of_order", 0),
        "replies": truth.replies,
        "mentions": truth.mentions,
        "events": truth.rows,
    }


def truth_document(
    community: Community,
    *,
    platform: str,
    group_name: str,
    exporter_name: str,
    export: dict[str, Any],
    member_ids: tuple[str, ...],
    member_all_ids: tuple[tuple[str, ...], ...],
    member_names: tuple[tuple[str, ...], ...],
    replies_received: npt.NDArray[np.int64],
    counts: dict[str, int],
    resolution: int = 1,
) -> dict[str, Any]:
    """truth.json as a dict (identities are those the importer computes from the export).

    ``resolution`` is the export's time step in seconds (60 when it writes no seconds):
    event times are truncated to it, as the importer will read them.
    """
    c = community

    def iso(local_s: int) -> str:
        return c.clock.utc_iso(local_s - local_s % resolution)

    def ident(m: int) -> str | None:
        return None if m < 0 else member_ids[m]

    founders = set(c.initial.tolist())
    members: list[dict[str, Any]] = []
    for m in sorted(range(c.n_members), key=lambda i: (int(c.join_s[i]), i)):
        gone = int(c.exit_kind[m])
        members.append(
            {
                "id": member_ids[m],
                "ids": list(member_all_ids[m] or (member_ids[m],)),
                "names": list(member_names[m]),
                "role": str(ROLES[int(c.role[m])]),
                "founder": m in founders,
                "creator": m == c.creator,
                "exporter": m == c.exporter,
                "joined_at": iso(int(c.join_s[m])),
                "join_method": _JOIN_METHOD[JoinMethodCode(int(c.join_method[m]))],
                "invited_by": ident(int(c.invited_by[m])),
                "referred_by": ident(int(c.referred_by[m])),
                "depth": int(c.depth[m]),
                "visible_depth": int(c.visible_depth[m]),
                "left_at": iso(int(c.exit_s[m])) if gone == ExitKind.LEFT else None,
                "removed_at": iso(int(c.exit_s[m])) if gone == ExitKind.REMOVED else None,
                "removed_by": ident(int(c.removed_by[m])),
                "messages": int(c.message_counts[m]),
                "replies_received": int(replies_received[m]),
            }
        )
    children: dict[str, list[str]] = {}
    for m in sorted(range(c.n_members), key=lambda i: (int(c.join_s[i]), i)):
        parent = int(c.invited_by[m]) if c.invited_by[m] >= 0 else int(c.referred_by[m])
        if parent >= 0:
            children.setdefault(member_ids[parent], []).append(member_ids[m])
    churn = [
        {
            "member": member_ids[m],
            "kind": "left" if c.exit_kind[m] == ExitKind.LEFT else "removed",
            "at": iso(int(c.exit_s[m])),
            "by": ident(int(c.removed_by[m])),
        }
        for m in sorted(np.flatnonzero(c.exit_kind != ExitKind.STAYS), key=lambda i: c.exit_s[i])
    ]
    return {
        "schema": TRUTH_VERSION,
        "platform": platform,
        "group": {
            "name": group_name,
            "subjects": list(c.subjects),
            "created_at": iso(c.created_at),
            "created_by": member_ids[c.creator],
        },
        "export": export,
        "seed": c.config.seed,
        "timezone": c.config.timezone,
        "period": {
            "start_local": c.config.start.isoformat(),
            "days": c.config.days,
            "start_utc": c.clock.utc_iso(0),
            "end_utc": c.clock.utc_iso(c.end),
        },
        "exporter": {"id": member_ids[c.exporter], "name": exporter_name},
        "members": members,
        "invite_tree": {
            "root": member_ids[c.creator],
            "children": children,
            "depth": int(c.depth.max()),
            "visible_depth": int(c.visible_depth.max()),
        },
        "activity": {
            "peak_hours_local": list(PEAK_HOURS),
            "quiet_hours_local": list(QUIET_HOURS),
            "hour_weights": [float(w) for w in HOUR_WEIGHTS],
            "weekday_weights": [float(w) for w in WEEKDAY_WEIGHTS],
        },
        "churn": churn,
        "counts": {"members": c.n_members, **counts},
    }


def write_truth_json(path: Path, document: dict[str, Any]) -> None:
    """Write truth.json (UTF-8, stable key order, one trailing newline)."""
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def true_replies(events_path: Path) -> tuple[Counter[str], Counter[str]]:
    """(messages posted, true replies received) per member id, from the truth's
    ``reply_to_line`` in ``truth_events.parquet`` — the replies a WhatsApp export hides."""
    truth = pq.read_table(events_path).to_pylist()
    line_author = {r["line"]: r["member"] for r in truth if r["kind"] == "message_posted"}
    posts = Counter(r["member"] for r in truth if r["kind"] == "message_posted")
    replies = Counter(
        line_author[r["reply_to_line"]]
        for r in truth
        if r["kind"] == "message_posted" and r["reply_to_line"] in line_author
    )
    return posts, replies
