"""Opening DuckDB connections the way shequn needs them everywhere."""

from __future__ import annotations

import duckdb


def connect(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A connection that never draws DuckDB's progress bar: stdout is for results."""
    con = duckdb.connect(database)
    con.execute("SET enable_progress_bar = false")
    return con
