"""Opening an embedded store's file: attached with the store's row-group size, one DuckDB
instance per file in a process.

DuckDB takes a row-group size only as an ``ATTACH`` option, so a store file is attached
to an in-memory instance and used from there, not opened by ``duckdb.connect(path)``.
DuckDB refuses to attach one file to two instances in a process, and ``connect(path)``
shares one instance per path; the stores open on one file here share its instance the
same way (each gets a connection of its own), and the instance closes with the last one.
"""

from __future__ import annotations

import os
import threading
from typing import Final

import duckdb

from shequn.duckdb_config import connect

#: rows per row group of the store's tables. An import commits ≈ 100,000 events at a
#: time; with DuckDB's default (122,880) each commit's rows are appended into the last,
#: partly filled row group and compressed again by the commit's checkpoint, where with
#: 20,480 the full groups are written compressed once during the INSERT and only the
#: last partial one is redone: a 1M-message WhatsApp import's store-only writing
#: 2.17 → 1.68 s CPU; the file ≈ 10 % larger; the report's one scan of the events (its
#: events step) no slower at 10M (bench/RESULTS-imp8.md). A size of 49,152 gained
#: nothing (bench/RESULTS.md, imp6). A file written with another size opens and reads
#: as it is; only rows written from now on take this size.
ROW_GROUP_SIZE: Final = 20_480
#: the name the store's file is attached under (its tables are the connection's default)
ALIAS: Final = "store"

_lock = threading.Lock()
#: file (real path) -> the instance it is attached to, and how many stores use it
_open: dict[str, tuple[duckdb.DuckDBPyConnection, int]] = {}


def open_file(path: str) -> duckdb.DuckDBPyConnection:
    """A connection whose default database is the store file at ``path``."""
    key = os.path.realpath(path)
    with _lock:
        instance, users = _open.get(key, (None, 0))
        if instance is None:
            instance = connect()
            try:
                instance.execute(
                    f"ATTACH '{_quoted(path)}' AS {ALIAS} (ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
                )
            except BaseException:
                instance.close()
                raise
        con = instance.cursor()
        _open[key] = (instance, users + 1)
    con.execute("SET enable_progress_bar = false")
    con.execute(f"USE {ALIAS}")
    return con


def close_file(path: str, con: duckdb.DuckDBPyConnection) -> None:
    """Close a connection :func:`open_file` gave, and the instance after its last one
    (which checkpoints the file and detaches it)."""
    key = os.path.realpath(path)
    con.close()
    with _lock:
        instance, users = _open[key]
        if users > 1:
            _open[key] = (instance, users - 1)
            return
        del _open[key]
    instance.close()


def _quoted(path: str) -> str:
    return path.replace("'", "''")
