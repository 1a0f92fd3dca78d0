"""The embedded default store: one DuckDB file, no server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shequn.duckdb_config import connect, long_string_megabytes, memory_room
from shequn.errors import StoreError
from shequn.events import EVENT_COLUMNS
from shequn.store import sql
from shequn.store.base import ImportRecord, ImportSpec, Reject
from shequn.store.common import SqlStore
from shequn.store.key_hashes import KeyHashes

_COLUMNS = ", ".join(EVENT_COLUMNS)
#: DuckDB's buffer pool while an import writes (``begin_import`` to ``finish_import``):
#: its batches need little, and the import's peak memory counts the pool (a 1M-message
#: WhatsApp import: 454 MB at 128 MB, 416 MB at 64 MB, the same CPU)
IMPORT_MEMORY_MB: Final = 64
#: strings this long or longer are kept pinned in DuckDB's pool until the checkpoint
#: after their commit: a batch of 300 texts of 100 KB (or 20,000 of 30 KB) failed there
#: with the 64 MB import pool ("failed to pin block"), leaving the store to be reopened.
#: A batch holding such strings gets the pool raised by :data:`LONG_STRING_ROOM` times
#: their bytes, and its checkpoint run before the pool goes back.
LONG_STRING_BYTES: Final = 4096
LONG_STRING_ROOM: Final = 1.25
#: the events' keys are 32 hex digits of a hash: DuckDB's string compression (dictionary
#: and FSST) halves them at best, and pays for it in every commit's checkpoint. Stored as
#: they are, a 1M-message WhatsApp import takes ≈ 6 % less CPU (its store-only writing
#: 9 %) and the file ≈ 40 % more space (46 → 65 MB): the import's speed is the target
#: (bench/RESULTS.md, imp8). Stores created before keep their compressed keys: the column
#: is declared only when the table is created.
KEY_STORAGE: Final = " USING COMPRESSION uncompressed"


class DuckDBStore(SqlStore):
    """Events in a single DuckDB file (or ``:memory:``)."""

    _driver_errors = (duckdb.Error,)

    def __init__(self, path: str | Path, memory_limit: str = "128MB") -> None:
        self.path = str(path)
        self.url = self.path
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = connect(self.path)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET allocator_flush_threshold = '16MB'")
        self.con.execute("SET allocator_bulk_deallocation_flush_threshold = '64MB'")
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self._memory_limit = memory_limit
        self._threads = int(self.con.execute("SELECT current_setting('threads')").fetchall()[0][0])
        #: hashes of the stored keys, built at the first batch that needs them
        self._key_hashes: KeyHashes | None = None
        #: the undone imports (count, latest) when the hashes were read
        self._undone: tuple[Any, ...] = ()
        self._migrate(sql.ddl("VARCHAR[]", key_storage=KEY_STORAGE))

    def _execute(self, query: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(query, list(params))

    def _fetchall(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(query, list(params)).fetchall()

    def _fetch_arrow(self, query: str, params: Sequence[Any] = ()) -> pa.Table:
        return self.con.sql(query, params=list(params)).to_arrow_table()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def begin_import(self, spec: ImportSpec) -> ImportRecord:
        record = super().begin_import(spec)
        self.con.execute(f"SET memory_limit = '{IMPORT_MEMORY_MB}MB'")
        return record

    def finish_import(
        self,
        import_id: int,
        status: str,
        *,
        media: Mapping[str, int] | None = None,
        message: str | None = None,
    ) -> ImportRecord:
        try:
            return super().finish_import(import_id, status, media=media, message=message)
        finally:
            self.con.execute(f"SET memory_limit = '{self._memory_limit}'")

    def write_batch(
        self,
        import_id: int,
        events: pa.Table,
        rejects: Sequence[Reject],
        position: int,
        records_read: int,
    ) -> int:
        """:meth:`SqlStore.write_batch`, with the pool raised for a batch of long strings
        (:data:`LONG_STRING_BYTES`): a pathological export (thousands of pasted pages in
        one chunk) still imports, and ordinary batches keep the small pool."""
        extra = LONG_STRING_ROOM * sum(
            long_string_megabytes(column, LONG_STRING_BYTES)
            for column in events.columns
            if pa.types.is_string(column.type)
        )
        with memory_room(self.con, IMPORT_MEMORY_MB, extra):
            stored = super().write_batch(import_id, events, rejects, position, records_read)
            if extra:
                # the checkpoint that moves them from the write-ahead log into the file
                # needs the room too: run now, not by the next commit with the small pool
                self.con.execute("CHECKPOINT")
        return stored

    def _insert_new_events(self, events: pa.Table) -> int:
        """Append the rows whose key is not stored yet.

        When none of the batch's key hashes is among the stored keys' (:mod:`.key_hashes`)
        no key of it is stored, and the scan of every stored key is skipped. Otherwise
        the stored keys among the batch's are found by a semi-join that hashes only
        the batch's keys and scans the stored ones, in parallel; usually there are none
        and the batch is appended as it is. An anti-join hashes every column of the
        batch to carry it through the join. The append runs on one thread: the parser
        has the other core, and a second DuckDB thread adds overhead to one Arrow batch.
        """
        hashes = np.sort(self._hashes_of(events))
        # distinct hashes are distinct keys; equal ones are checked on the keys
        distinct = not bool((hashes[1:] == hashes[:-1]).any())
        memory = self._stored_key_hashes()
        stored: list[tuple[Any, ...]] = []
        if memory.any_of(hashes):
            stored = self._query_batch(
                events,
                "SELECT DISTINCT b.key FROM shequn_batch b SEMI JOIN events e ON b.key = e.key",
            )
        if stored:
            known = pa.array([row[0] for row in stored], pa.string())
            events = events.filter(pc.invert(pc.is_in(events.column("key"), known)))
        if not distinct:
            events = _first_of_each_key(events)
        if events.num_rows:
            self.con.execute("SET threads = 1")
            try:
                self._query_batch(
                    events, f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM shequn_batch"
                )
            finally:
                self.con.execute(f"SET threads = {self._threads}")
        memory.add(hashes, events.num_rows)
        return int(events.num_rows)

    def _hashes_of(self, events: pa.Table) -> np.ndarray:
        """DuckDB's 64-bit hash of each key of ``events`` (the stored keys' are the same)."""
        with self._batch_visible(events.select(["key"])):
            return self._key_hashes_in("shequn_batch")

    def _key_hashes_in(self, table: str) -> np.ndarray:
        """DuckDB's ``hash`` of each key in ``table``: one function for the batch's keys
        and the stored ones, so equal keys have equal hashes."""
        found = self.con.execute(f"SELECT hash(key) AS h FROM {table}").fetchnumpy()["h"]
        return np.asarray(found, dtype=np.uint64)

    def _stored_key_hashes(self) -> KeyHashes:
        """The stored keys' hashes: kept from batch to batch while the store's row count
        and undone imports are what they describe, read again from the table (one scan)
        when they are not — rows deleted (an undo) or written by another connection, or a
        batch rolled back.
        """
        rows = int(self.con.execute("SELECT count(*) FROM events").fetchall()[0][0])
        # rows are deleted only by an undo, which marks its import undone: another
        # connection's undo and as many new rows leave the count as it was, not this
        undone = self.con.execute(
            "SELECT count(*), max(finished_at) FROM imports WHERE status = 'undone'"
        ).fetchall()[0]
        known = self._key_hashes
        if known is None or known.rows != rows or undone != self._undone:
            self._undone = undone
            hashes = self._key_hashes_in("events") if rows else np.empty(0, np.uint64)
            known = self._key_hashes = KeyHashes(hashes, rows)
        return known

    def _query_batch(self, events: pa.Table, query: str) -> list[tuple[Any, ...]]:
        """The rows of ``query``, run with ``events`` visible as ``shequn_batch``."""
        with self._batch_visible(events):
            return self.con.execute(query).fetchall()

    @contextlib.contextmanager
    def _batch_visible(self, events: pa.Table) -> Iterator[None]:
        """``events`` visible to this connection's queries as ``shequn_batch``."""
        self.con.register("shequn_batch", events)
        try:
            yield
        finally:
            self.con.unregister("shequn_batch")

    def _remove_from_mentions_sql(self) -> str:
        return "nullif(list_filter(mentions, lambda x: x <> ?), [])"

    def _mentions_has_sql(self) -> str:
        return "list_contains(mentions, ?)"

    def close(self) -> None:
        self.con.close()


def _first_of_each_key(events: pa.Table) -> pa.Table:
    """``events`` with a key repeated inside the batch kept once (its first row), as
    PostgreSQL's ``ON CONFLICT DO NOTHING`` keeps it; as many distinct keys as rows is
    the cheap usual case (``unique`` costs half of ``count_distinct`` on 100k keys)."""
    if len(pc.unique(events.column("key"))) == events.num_rows:
        return events
    rows = events.append_column("shequn_row", pa.array(range(events.num_rows), pa.int64()))
    first = rows.group_by("key", use_threads=False).aggregate([("shequn_row", "min")])
    firsts = first.column("shequn_row_min")
    return events.take(firsts.sort())
