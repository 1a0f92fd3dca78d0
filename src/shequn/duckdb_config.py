"""Opening DuckDB connections the way shequn needs them everywhere, and giving their
buffer pool room for what does not fit its small import limits."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa
import pyarrow.compute as pc


def connect(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A connection that never draws DuckDB's progress bar: stdout is for results."""
    con = duckdb.connect(database)
    con.execute("SET enable_progress_bar = false")
    return con


def long_string_megabytes(values: pa.Array | pa.ChunkedArray, at_least: int) -> float:
    """Megabytes of the strings in ``values`` at least ``at_least`` bytes long: DuckDB
    keeps such strings in blocks of their own, which a small pool may not hold."""
    lengths = pc.binary_length(values)
    if (pc.max(lengths).as_py() or 0) < at_least:
        return 0.0  # the usual batch: nothing that long, one pass
    long = pc.sum(pc.if_else(pc.greater_equal(lengths, at_least), lengths, 0)).as_py()
    return (long or 0) / 1e6


@contextmanager
def memory_room(con: duckdb.DuckDBPyConnection, limit_mb: int, extra_mb: float) -> Iterator[None]:
    """The pool of ``con`` (set to ``limit_mb``) raised by ``extra_mb`` for the block, then
    ``limit_mb`` again; nothing changes when ``extra_mb`` is 0."""
    room = math.ceil(extra_mb)
    if not room:
        yield
        return
    con.execute(f"SET memory_limit = '{limit_mb + room}MB'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{limit_mb}MB'")
