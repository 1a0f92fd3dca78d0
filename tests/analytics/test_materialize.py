"""Shared tables on DuckDB: written to the scratch file, columns of hashes as they are."""

from __future__ import annotations

from collections import defaultdict

from shequn.analytics.context import Context
from shequn.analytics.source import arrow, materialize


def _compressions(context: Context, table_name: str) -> dict[str, set[str]]:
    con = context.log.backend.con  # type: ignore[attr-defined]
    con.execute(f"CHECKPOINT {context.log.scratch}")
    rows = con.execute(
        f"SELECT column_name, compression FROM pragma_storage_info('{table_name}')"
    ).fetchall()
    out: dict[str, set[str]] = defaultdict(set)
    for column, compression in rows:
        out[column].add(compression)
    return out


def test_uncompressed_columns_are_stored_as_they_are_and_the_rows_kept(
    duckdb_context: Context,
) -> None:
    events = duckdb_context.resolved
    expr = events.select("key", "member", "kind", "ts", "mentions")
    table = materialize(duckdb_context.log, expr, uncompressed=("key",))
    stored = _compressions(duckdb_context, table.get_name())
    assert "Uncompressed" in stored["key"]
    assert not stored["key"] & {"DICT_FSST", "FSST", "Dictionary"}
    assert "Uncompressed" not in stored["member"]  # the other strings stay compressed
    order = ["key", "ts"]
    assert arrow(table.order_by(order)).equals(arrow(expr.order_by(order)))
    assert table.schema() == expr.schema()


def test_without_uncompressed_columns_every_string_is_compressed(
    duckdb_context: Context,
) -> None:
    expr = duckdb_context.resolved.select("key", "member")
    stored = _compressions(duckdb_context, materialize(duckdb_context.log, expr).get_name())
    assert "Uncompressed" not in stored["key"] | stored["member"]
