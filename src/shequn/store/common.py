"""Behaviour both stores share, over a small set of dialect hooks.

Subclasses provide how to run SQL, open a transaction and append an Arrow batch
to a staging table; everything else (ledger, undo, stats, groups) is written once here.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from shequn.errors import ImportNotFound, StoreError
from shequn.events import EVENT_COLUMNS, EVENT_SCHEMA, EventKind
from shequn.store import sql
from shequn.store.base import GroupInfo, ImportRecord, ImportSpec, Reject, Store, Window
from shequn.store.members import MemberOperations
from shequn.store.playbooks import PlaybookOperations

_COLUMNS = ", ".join(EVENT_COLUMNS)

#: the per-platform counts ``counts_sql`` returns, in its column order
EVENT_COUNTS: Final = (
    "groups",
    "messages",
    "bot_messages",
    "deleted_messages",
    "joins",
    "leaves",
    "removals",
    "reactions",
)
#: every count ``stats`` reports, in the order people read them
STATS_COUNTS: Final = ("groups", "members", *EVENT_COUNTS[1:])


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def iso(ts: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, as stats --json prints times."""
    if ts is None:
        return None
    return ts.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


class SqlStore(MemberOperations, PlaybookOperations, Store):
    """A store over a SQL database; the dialect-specific parts are abstract."""

    # -- dialect hooks (and SqlHooks' _execute, _fetchall, _transaction) ----------
    @abstractmethod
    def _insert_new_events(self, events: pa.Table) -> int:
        """Insert the rows of ``events`` whose key is not stored yet; return how many."""

    @abstractmethod
    def _fetch_arrow(self, query: str, params: Sequence[Any] = ()) -> pa.Table: ...

    # -- schema ----------------------------------------------------------------
    def _migrate(self, statements: list[str]) -> None:
        with self._transaction():
            for statement in statements:
                self._execute(statement)
            self._execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [str(sql.STORE_SCHEMA_VERSION)],
            )

    # -- imports ---------------------------------------------------------------
    def _record(self, row: tuple[Any, ...]) -> ImportRecord:
        return ImportRecord(*row)

    def _claim(self, spec: ImportSpec) -> None:
        """Make sure no other process is importing this export now (a no-op where the
        database itself admits one writer, as DuckDB does)."""

    def _release(self, import_id: int) -> None:
        """Give up what :meth:`_claim` took."""

    def begin_import(self, spec: ImportSpec) -> ImportRecord:
        self._claim(spec)
        with self._transaction():
            rows = self._fetchall(
                f"SELECT {sql.IMPORT_COLUMNS} FROM imports WHERE community = ? AND platform = ? "
                "AND group_id = ? AND fingerprint = ? AND options = ? "
                "AND status IN ('running', 'failed') ORDER BY import_id DESC LIMIT 1",
                [
                    spec.community,
                    spec.platform,
                    spec.group_id,
                    spec.fingerprint,
                    spec.options_json(),
                ],
            )
            if rows:
                record = self._record(rows[0])
                self._execute(
                    "UPDATE imports SET status = 'running', message = NULL WHERE import_id = ?",
                    [record.import_id],
                )
                record.status, record.resumed = "running", True
                return record
            next_id = self._fetchall("SELECT nextval('import_ids')")[0][0]
            self._execute(
                "INSERT INTO imports (import_id, community, platform, group_id, source, "
                "fingerprint, options, status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    next_id,
                    spec.community,
                    spec.platform,
                    spec.group_id,
                    spec.source,
                    spec.fingerprint,
                    spec.options_json(),
                    "running",
                    _now(),
                ],
            )
        return self.get_import(int(next_id))

    #: the driver's own exception types, translated to StoreError at this boundary
    _driver_errors: tuple[type[Exception], ...] = ()

    def write_batch(
        self,
        import_id: int,
        events: pa.Table,
        rejects: Sequence[Reject],
        position: int,
        records_read: int,
    ) -> int:
        try:
            with self._transaction():
                stored = self._insert_new_events(events) if events.num_rows else 0
                self._link_number_changes(import_id, events)
                for reject in rejects:
                    self._execute(
                        "INSERT INTO rejects (import_id, source, line, reason, raw) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [import_id, reject.source, reject.line, reject.reason, reject.raw[:500]],
                    )
                self._execute(
                    "UPDATE imports SET position = ?, records_read = records_read + ?, "
                    "events_stored = events_stored + ?, duplicates = duplicates + ?, "
                    "rejected = rejected + ? WHERE import_id = ?",
                    [
                        position,
                        records_read,
                        stored,
                        events.num_rows - stored,
                        len(rejects),
                        import_id,
                    ],
                )
        except self._driver_errors as exc:
            raise StoreError(f"could not store the records up to line {position:,}: {exc}") from exc
        return stored

    def finish_import(
        self,
        import_id: int,
        status: str,
        *,
        media: Mapping[str, int] | None = None,
        message: str | None = None,
    ) -> ImportRecord:
        self._release(import_id)
        with self._transaction():
            self._execute(
                "UPDATE imports SET status = ?, finished_at = ?, media = ?, message = ? "
                "WHERE import_id = ?",
                [status, _now(), json.dumps(dict(media or {}), sort_keys=True), message, import_id],
            )
        return self.get_import(import_id)

    def imports(self, community: str | None = None) -> list[ImportRecord]:
        where, params = ("community = ?", [community]) if community else ("TRUE", [])
        rows = self._fetchall(
            f"SELECT {sql.IMPORT_COLUMNS} FROM imports WHERE {where} ORDER BY import_id", params
        )
        return [self._record(r) for r in rows]

    def get_import(self, import_id: int) -> ImportRecord:
        rows = self._fetchall(
            f"SELECT {sql.IMPORT_COLUMNS} FROM imports WHERE import_id = ?", [import_id]
        )
        if not rows:
            raise ImportNotFound(import_id)
        return self._record(rows[0])

    def undo_import(self, import_id: int) -> int:
        self.get_import(import_id)
        with self._transaction():
            removed = self._fetchall(
                "SELECT COUNT(*) FROM events WHERE import_id = ?", [import_id]
            )[0][0]
            self._execute("DELETE FROM events WHERE import_id = ?", [import_id])
            self._execute("DELETE FROM identity_links WHERE import_id = ?", [import_id])
            self._execute(
                "UPDATE imports SET status = 'undone', finished_at = ? WHERE import_id = ?",
                [_now(), import_id],
            )
        return int(removed)

    def rejects(self, import_id: int) -> list[Reject]:
        rows = self._fetchall(
            "SELECT source, line, reason, raw FROM rejects WHERE import_id = ? ORDER BY line",
            [import_id],
        )
        return [Reject(*r) for r in rows]

    # -- groups and identities ----------------------------------------------------
    def upsert_group(
        self, community: str, platform: str, group_id: str, name: str, timezone: str
    ) -> None:
        with self._transaction():
            self._execute(
                "INSERT INTO groups (community, platform, group_id, name, timezone) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (community, platform, group_id) "
                "DO UPDATE SET name = excluded.name, timezone = excluded.timezone",
                [community, platform, group_id, name, timezone],
            )

    def groups(self, window: Window | None = None) -> list[GroupInfo]:
        window = window or Window()
        where, params = sql.window_filter(Window(since=window.since, until=window.until))
        params = [*params, window.community, window.community]
        rows = self._fetchall(sql.groups_sql(where), params)
        return [
            GroupInfo(r[0], r[1], r[2], r[3], r[4], int(r[5] or 0), int(r[6] or 0), r[7], r[8])
            for r in rows
        ]

    def link_identities(self, platform: str, identity: str, member_key: str) -> None:
        with self._transaction():
            self._link(platform, identity, member_key, 0)

    def _link(self, platform: str, identity: str, member_key: str, import_id: int) -> None:
        """Link an identity; a link that already says the same stays with the import (or
        the person) that made it, so undoing a later re-import never removes it."""
        self._execute(
            "INSERT INTO identity_links (platform, identity, member_key, import_id) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (platform, identity) DO UPDATE "
            "SET member_key = excluded.member_key, import_id = excluded.import_id "
            "WHERE identity_links.member_key <> excluded.member_key",
            [platform, identity, member_key, import_id],
        )

    def _link_number_changes(self, import_id: int, events: pa.Table) -> None:
        """'+1 555 changed to +1 666': the new number is the old number's member.

        Runs inside the batch's transaction, so a crash keeps links and events together;
        the old number's own link is followed, so A→B→C stays one member.
        """
        kinds = events.column("kind")
        changes = events.filter(pc.equal(kinds, EventKind.MEMBER_NUMBER_CHANGED.value))
        for row in changes.select(["platform", "member_id", "text"]).to_pylist():
            platform, old, new = row["platform"], row["member_id"], row["text"]
            if not old or not new or old == new:
                continue
            found = self._fetchall(
                "SELECT member_key FROM identity_links WHERE platform = ? AND identity = ?",
                [platform, old],
            )
            self._link(platform, new, found[0][0] if found else f"{platform}:{old}", import_id)

    # -- reading ---------------------------------------------------------------
    def stats(self, window: Window | None = None) -> dict[str, Any]:
        window = window or Window()
        where, params = sql.window_filter(window)
        counts = self._fetchall(sql.counts_sql(where), params)
        members = dict(self._fetchall(sql.members_sql(where), params + params))
        all_members = self._fetchall(sql.members_total_sql(where), params + params)[0][0]
        ledger_where, ledger_params = (
            ("community = ?", [window.community]) if window.community else ("TRUE", [])
        )
        rejected = self._fetchall(
            f"SELECT COALESCE(SUM(rejected), 0) FROM imports WHERE {ledger_where}", ledger_params
        )[0][0]
        total = dict.fromkeys(STATS_COUNTS, 0)
        by_platform: dict[str, dict[str, int]] = {}
        first: datetime | None = None
        last: datetime | None = None
        for row in counts:
            platform = row[0]
            values = [int(v or 0) for v in row[1:9]]
            for name, value in zip(
                EVENT_COUNTS,
                values,
                strict=True,
            ):
                total[name] += value
            member_count = int(members.get(platform, 0))
            total["members"] += member_count
            by_platform[platform] = {
                "groups": values[0],
                "messages": values[1],
                "members": member_count,
            }
            first = row[9] if first is None or (row[9] is not None and row[9] < first) else first
            last = row[10] if last is None or (row[10] is not None and row[10] > last) else last
        total["members"] = int(all_members or 0)
        return {
            **total,
            "first": iso(first),
            "last": iso(last),
            "by_platform": by_platform,
            "rejected_records": int(rejected),
        }

    def table(self, name: str) -> pa.Table:
        if name not in ("events", "identity_links", "groups"):
            raise StoreError(f"no exportable table {name!r}")
        if name == "events":
            return self.events().cast(EVENT_SCHEMA)
        return self._fetch_arrow(f"SELECT * FROM {name} ORDER BY 1, 2, 3")

    def events(self, window: Window | None = None, kinds: Sequence[str] | None = None) -> pa.Table:
        window = window or Window()
        where, params = sql.window_filter(window)
        if kinds:
            where += " AND e.kind IN (" + ", ".join("?" for _ in kinds) + ")"
            params += list(kinds)
        return self._fetch_arrow(
            f"SELECT {_COLUMNS} FROM events e WHERE {where} "
            "ORDER BY e.ts, e.source_line, e.kind, e.member_id, e.key",
            params,
        )
