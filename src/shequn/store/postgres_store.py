"""The server store: PostgreSQL, for many writers and large logs."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from shequn.duckdb_config import connect
from shequn.errors import StoreError
from shequn.events import EVENT_COLUMNS
from shequn.store import sql
from shequn.store.base import ImportSpec
from shequn.store.common import SqlStore

_COLUMNS = ", ".join(EVENT_COLUMNS)

# PostgreSQL's text[] literal from an Arrow list<string>, computed vectorised in DuckDB.
_PG_ARRAY_SQL = (
    "SELECT * REPLACE (CASE WHEN mentions IS NULL THEN NULL ELSE '{' || array_to_string("
    "list_transform(mentions, lambda x: '\"' || replace(replace(x, '\\', '\\\\'), '\"', '\\\"') "
    "|| '\"'), ',') || '}' END AS mentions) FROM batch"
)


def _qmark_to_format(query: str) -> str:
    return query.replace("%", "%%").replace("?", "%s")


class PostgresStore(SqlStore):
    """Events in a PostgreSQL database given by a ``postgresql://`` URL."""

    _driver_errors = (psycopg.Error,)

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {url}: {exc}") from exc
        self._migrate(sql.ddl("TEXT[]"))
        with self._transaction():
            self._execute("CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events (key)")
            self._execute(
                "CREATE INDEX IF NOT EXISTS events_scope ON events (community, group_id, ts)"
            )
            self._execute("CREATE INDEX IF NOT EXISTS events_import ON events (import_id)")

    def _claim(self, spec: ImportSpec) -> None:
        """A session advisory lock per export: a second process importing the same export
        into the same group is refused instead of writing the same ledger row."""
        key = "\x1f".join((spec.community, spec.platform, spec.group_id, spec.fingerprint))
        got = self.conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key]
        ).fetchone()
        if not got or not got[0]:
            raise StoreError(
                f"another process is importing this export into group {spec.group_id!r} "
                "right now; wait for it to finish"
            )
        self._claimed: str | None = key

    def _release(self, import_id: int) -> None:
        key: str | None = getattr(self, "_claimed", None)
        if key is not None:
            self.conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
            self._claimed = None

    def _execute(self, query: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(_qmark_to_format(query), list(params))

    def _fetchall(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(_qmark_to_format(query), list(params))
        return list(cur.fetchall())

    def _fetch_arrow(self, query: str, params: Sequence[Any] = ()) -> pa.Table:
        from shequn.events import EVENT_SCHEMA

        cur = self.conn.execute(_qmark_to_format(query), list(params))
        names = [d.name for d in cur.description or []]
        rows = cur.fetchall()
        columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        schema = pa.schema(
            [
                EVENT_SCHEMA.field(n) if n in EVENT_SCHEMA.names else pa.field(n, pa.string())
                for n in names
            ]
        )
        return pa.table(
            {
                n: pa.array(list(c), schema.field(n).type)
                for n, c in zip(names, columns, strict=True)
            },
            schema=schema,
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def _insert_new_events(self, events: pa.Table) -> int:
        local = connect()
        local.register("batch", events)
        prepared = local.sql(_PG_ARRAY_SQL).to_arrow_table()
        local.close()
        buffer = io.BytesIO()
        pacsv.write_csv(prepared, buffer, pacsv.WriteOptions(include_header=False))
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS shequn_batch "
            "(LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY shequn_batch ({_COLUMNS}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
            cur.execute(
                f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM shequn_batch "
                "ON CONFLICT (key) DO NOTHING"
            )
            stored = cur.rowcount
            cur.execute("TRUNCATE shequn_batch")
        return max(stored, 0)

    def _remove_from_mentions_sql(self) -> str:
        return "NULLIF(array_remove(mentions, CAST(? AS TEXT)), '{}')"

    def _mentions_has_sql(self) -> str:
        return "CAST(? AS TEXT) = ANY(mentions)"

    def close(self) -> None:
        self.conn.close()
