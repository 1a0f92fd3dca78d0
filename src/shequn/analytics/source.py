"""Where the analytics read the event log: the embedded store, or Parquet on DuckDB or Spark.

Every metric is an Ibis expression over three tables — ``events``, ``identity_links``
and ``groups`` — so it runs unchanged on the embedded DuckDB file and, at scale, on
Spark over the log exported to Parquet (``shequn export-parquet``). PostgreSQL stores
are read through that same Parquet export.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ibis.backends import BaseBackend
from ibis.expr import types as ir

from shequn.errors import ConfigError
from shequn.store.base import Store
from shequn.tempfiles import private_folder

#: the tables a log export holds, each one Parquet file
TABLES: Final = ("events", "identity_links", "groups")


@dataclass(frozen=True)
class Log:
    """The event log as Ibis tables on one backend."""

    backend: BaseBackend
    events: ir.Table
    links: ir.Table
    groups: ir.Table
    engine: str
    #: DuckDB: the attached database file shared tables are written to (None: temporary
    #: tables in memory)
    scratch: str | None = None
    #: DuckDB: the memory limit the log was opened with (None: DuckDB's default)
    memory_limit: str | None = None


#: the name the embedded store's report attaches its scratch database under
SCRATCH: Final = "shequn_shared"

#: DuckDB's memory for a report; past it, the shared tables spill to a temporary folder.
#: The report's Python side (result tables, the document, the page) needs the rest of a
#: 4 GB budget; at 1M messages 1 GB is enough without spilling (bench/RESULTS.md)
REPORT_MEMORY_LIMIT: Final = "1GB"


#: DuckDB's memory while the derived metrics run (the graph, the KOLs' estimate): their
#: work is in Python, and DuckDB's pool, full of the SQL steps' cached blocks, would sit
#: beside their arrays (at 10M messages, 1 GB of a report's 4.3 GB peak); the report's
#: explorer queries run under it too (report.collect.explorer_data)
DERIVED_MEMORY_LIMIT: Final = "256MB"


@contextlib.contextmanager
def sql_memory(log: Log, limit: str) -> Iterator[None]:
    """DuckDB's buffer pool held to ``limit`` for the block (its cached blocks beyond it
    freed at once), then given its earlier limit back; nothing on Spark."""
    if log.engine != "duckdb":
        yield
        return
    con: Any = log.backend.con
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        # the limit as opened, not as DuckDB shows it (rounded: setting that back drifts)
        if log.memory_limit is None:
            con.execute("RESET memory_limit")
        else:
            con.execute(f"SET memory_limit = '{log.memory_limit}'")


def duckdb_log(path: str | Path, memory_limit: str = REPORT_MEMORY_LIMIT) -> Log:
    """The embedded store's file, opened read-only (an import may not run meanwhile)."""
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ConfigError("--store", f"cannot open {path} for reading: {exc}") from exc
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    # a folder of this process's own (the store's folder may not be writable, and
    # DuckDB names its spill files the same in every process), removed at exit
    spill = private_folder("shequn-duckdb-")
    con.execute(f"SET temp_directory = '{_quote(Path(spill))}'")
    # the shared tables go to a database file of their own in that folder: its tables
    # are stored compressed and read back through DuckDB's buffer pool, where temporary
    # tables past the memory limit spill uncompressed (at 10M messages ≈ 10 GB written
    # to the spill folder, a third of that as a file; bench/RESULTS.md)
    scratch_file = Path(spill) / "shared.duckdb"
    con.execute(f"ATTACH '{_quote(scratch_file)}' AS {SCRATCH} (READ_WRITE)")
    con.execute("SET TimeZone = 'UTC'")
    backend = ibis.duckdb.from_connection(con)
    return Log(
        backend,
        backend.table("events"),
        backend.table("identity_links"),
        backend.table("groups"),
        "duckdb",
        SCRATCH,
        memory_limit,
    )


def parquet_log(folder: str | Path, engine: str = "duckdb") -> Log:
    """A log exported with :func:`export_parquet`, on DuckDB or on a local Spark."""
    folder = Path(folder)
    missing = [name for name in TABLES if not (folder / f"{name}.parquet").exists()]
    if missing:
        raise ConfigError(
            "--parquet", f"{folder} lacks {', '.join(missing)} (write it with export-parquet)"
        )
    backend: BaseBackend
    if engine == "spark":
        from shequn.analytics.spark import spark_backend

        backend = spark_backend()
    elif engine == "duckdb":
        backend = ibis.duckdb.connect()
        backend.raw_sql("SET TimeZone = 'UTC'")
    else:
        raise ConfigError("--engine", f"{engine!r} is not one of duckdb, spark")
    tables = {
        name: backend.read_parquet(str(folder / f"{name}.parquet"), table_name=f"shequn_{name}")
        for name in TABLES
    }
    return Log(backend, tables["events"], tables["identity_links"], tables["groups"], engine)


def export_parquet(store: Store, folder: str | Path) -> dict[str, int]:
    """Write the store's log as Parquet files (``events``, ``identity_links``, ``groups``).

    Returns rows per table. Streams the events of a PostgreSQL store in batches; the
    embedded store copies them in one statement.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    con: Any = getattr(store, "con", None)
    for name in TABLES:
        target = folder / f"{name}.parquet"
        if con is not None:  # the embedded store: DuckDB writes Parquet itself
            con.execute(
                f"COPY (SELECT * FROM {name} ORDER BY ALL) TO '{_quote(target)}' "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            rows[name] = int(pq.read_metadata(target).num_rows)
            continue
        table = store.table(name)
        pq.write_table(table, target, compression="zstd")
        rows[name] = table.num_rows
    return rows


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def materialize(log: Log, expr: ir.Table, uncompressed: tuple[str, ...] = ()) -> ir.Table:
    """``expr`` computed now and kept for the life of the backend's connection: on
    DuckDB a table in the log's scratch database file (compressed, read back through
    the buffer pool) or else a temporary table (in memory, spilling to disk past the
    memory limit) — the store itself stays read-only; a checkpointed DataFrame on Spark.

    ``uncompressed`` names string columns the scratch file stores as they are: for
    hashes (event keys) DuckDB's string compression costs more CPU to write than it
    saves (at 1M messages 0.7 s for the events' keys, against 0.1 s stored as they are,
    in twice the space: 40 MB)."""
    name = f"shequn_shared_{uuid.uuid4().hex}"
    if log.engine == "spark":
        return _spark_checkpoint(log, name, expr)
    if log.scratch is None:
        return log.backend.create_table(name, expr, temp=True)
    database = f"{log.scratch}.main"
    if uncompressed:
        _create_scratch_table(log, name, expr.schema(), uncompressed)
        log.backend.insert(name, expr, database=database)
        return log.backend.table(name, database=database)
    return log.backend.create_table(name, expr, database=database)


def _create_scratch_table(
    log: Log, name: str, schema: ibis.Schema, uncompressed: tuple[str, ...]
) -> None:
    """An empty table ``name`` of ``schema`` in the scratch file, the ``uncompressed``
    columns stored as they are."""
    from ibis.backends.sql.datatypes import DuckDBType

    columns = ", ".join(
        f"{_identifier(column)} {DuckDBType.to_string(kind)}"
        + (" USING COMPRESSION uncompressed" if column in uncompressed else "")
        for column, kind in schema.items()
    )
    backend: Any = log.backend
    backend.con.execute(f"CREATE TABLE {log.scratch}.main.{_identifier(name)} ({columns})")


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _spark_checkpoint(log: Log, name: str, expr: ir.Table) -> ir.Table:
    """The rows of ``expr`` held by Spark with no lineage behind them.

    A cached DataFrame keeps its whole plan: a query over shared tables built on shared
    tables carries every one's plan, and Spark writes the plan out as text on each run —
    with activity's and health's tables read several times over, that text alone ran the
    driver out of heap. A local checkpoint computes the rows once and starts a new plan.
    """
    # a view first: it registers the in-memory tables the expression reads; Spark types
    # some literals its own way (0.5 as a decimal), so it is cast back to the schema
    backend: Any = log.backend
    view = backend.create_view(f"{name}_plan", expr).cast(expr.schema())
    frame = backend._session.sql(backend.compile(view)).localCheckpoint(eager=True)
    frame.createOrReplaceTempView(name)
    return backend.table(name)


def release_memory() -> None:
    """Give back to the system the memory Arrow's allocator keeps after it is freed.

    Arrow allocates through mimalloc, which holds freed pages for reuse and returns them
    only when it next runs (and its delay has passed): a big step's temporaries — a sort's
    keys, a read's batches — stay in the process's memory while the next step's DuckDB
    query or NumPy arrays, allocated elsewhere, come on top of them (bench/RESULTS.md).
    """
    pa.default_memory_pool().release_unused()


def arrow(expr: ir.Table) -> pa.Table:
    """Run an expression (the only place analytics execute)."""
    return expr.to_pyarrow()


#: rows read at a time by :func:`arrow_dictionary`
BATCH_ROWS: Final = 1_000_000


def arrow_dictionary(log: Log, expr: ir.Table) -> pa.Table:
    """Run an expression like :func:`arrow`, its string columns dictionary-encoded
    (int32 indices into one dictionary per column, shared by every chunk).

    On DuckDB the rows are read :data:`BATCH_ROWS` at a time and each batch encoded as
    it comes, so the strings are never all held: ten million rows of member keys are
    2 GB as strings, a few hundred MB encoded. Spark hands its result over whole; it is
    encoded as :func:`arrow` returns it.
    """
    if log.engine != "duckdb":
        table = arrow(expr)
        columns = [_encoded(column) for column in table.columns]
        return pa.table(columns, names=table.column_names).unify_dictionaries()
    schema = expr.schema().to_pyarrow()
    encoded = pa.schema(
        [
            pa.field(f.name, pa.dictionary(pa.int32(), f.type), f.nullable)
            if is_text(f.type)
            else f
            for f in schema
        ]
    )
    backend: Any = log.backend
    # Ibis's own to_pyarrow_batches calls a cursor method DuckDB 2 no longer has
    reader = backend.con.sql(backend.compile(expr)).to_arrow_reader(BATCH_ROWS)
    # each string column's values so far, and its batches as indices into them: encoded
    # as they come against one dictionary per column, so no second pass unifies the
    # batches' dictionaries (a copy of every index, held beside the first)
    known: dict[int, _Values] = {i: _Values() for i, f in enumerate(schema) if is_text(f.type)}
    chunks: list[list[pa.Array]] = [[] for _ in schema]
    for batch in reader:
        for i, column in enumerate(batch.cast(schema).columns):
            # the other columns copied: a column of the batch as DuckDB hands it over
            # keeps the whole batch alive, strings included (Arrow frees an imported
            # batch when the last of its buffers goes): at 10M messages the edges' 21
            # batches of strings, 2 GB, were held until the read ended
            chunks[i].append(known[i].indices(column) if i in known else _copied(column))
        del batch
    columns = [
        pa.chunked_array(
            [pa.DictionaryArray.from_arrays(c, known[i].values) for c in chunks[i]]
            if i in known
            else chunks[i],
            encoded.field(i).type,
        )
        for i in range(len(schema))
    ]
    return pa.Table.from_arrays(columns, schema=encoded)


@dataclass(frozen=True)
class Coded:
    """A result whose string columns leave the engine as integer codes.

    ``rows`` has the result's columns, those named in ``values`` as integers;
    ``values[column]`` is a table (``code``, ``value``) giving each code's string, one
    row per code (codes unique, values unique). :func:`arrow_coded` reads it as the
    plain result would read with its string columns dictionary-encoded: the engine
    moves integers, not millions of repeated strings (``conversation.edges``).
    """

    rows: ir.Table
    values: dict[str, ir.Table]


def arrow_coded(log: Log, coded: Coded) -> pa.Table:
    """The rows of ``coded``, each coded column as a dictionary array of its values.

    Each column's dictionary holds the values its rows use, sorted (so the runner's
    sort reads places straight from the indices); a null code is a null. On DuckDB the
    rows are read :data:`BATCH_ROWS` at a time, each batch's codes turned into indices
    and its other columns copied as it comes, so no batch outlives its turn."""
    schema = coded.rows.schema().to_pyarrow()
    coded_at = {schema.get_field_index(name): name for name in coded.values}
    dictionaries, places = {}, {}
    for i, name in coded_at.items():
        dictionaries[i], places[i] = _sorted_values(arrow(coded.values[name]))
    chunks: list[list[pa.Array]] = [[] for _ in schema]
    for batch in _batches(log, coded.rows):
        for i, column in enumerate(batch.cast(schema).columns):
            chunks[i].append(pc.take(places[i], column) if i in places else _copied(column))
        del batch
    fields = list(schema)
    for i in coded_at:
        dictionary, indices = _used(dictionaries[i], chunks[i])
        kind = pa.dictionary(pa.int32(), dictionary.type)
        chunks[i] = [pa.DictionaryArray.from_arrays(c, dictionary) for c in indices]
        fields[i] = pa.field(fields[i].name, kind, fields[i].nullable)
    columns = [pa.chunked_array(c, f.type) for c, f in zip(chunks, fields, strict=True)]
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _batches(log: Log, expr: ir.Table) -> Iterator[pa.RecordBatch]:
    """``expr``'s rows batch by batch: on DuckDB :data:`BATCH_ROWS` at a time as DuckDB
    hands them over; elsewhere the whole result's batches."""
    if log.engine != "duckdb":
        yield from arrow(expr).to_batches()
        return
    backend: Any = log.backend
    # Ibis's own reader calls a cursor method DuckDB 2 no longer has; this relation
    # registers the expression's in-memory tables first, as Ibis does
    yield from backend._to_duckdb_relation(expr).to_arrow_reader(BATCH_ROWS)


def _sorted_values(values: pa.Table) -> tuple[pa.Array, pa.Array]:
    """A (code, value) table's values sorted, and for each code (an index) its value's
    place among them (int32)."""
    codes = values["code"].to_numpy().astype(np.int64)
    order = pc.sort_indices(values["value"]).to_numpy()
    place = np.zeros(int(codes.max()) + 1 if len(codes) else 1, dtype=np.int32)
    place[codes[order]] = np.arange(len(order), dtype=np.int32)
    return values["value"].combine_chunks().take(pa.array(order)), pa.array(place)


def _used(dictionary: pa.Array, chunks: list[pa.Array]) -> tuple[pa.Array, list[pa.Array]]:
    """The dictionary's values some row points at (in their order), and the rows'
    indices into them."""
    used = np.zeros(len(dictionary), dtype=bool)
    for chunk in chunks:
        used[chunk.drop_null().to_numpy()] = True
    if used.all():
        return dictionary, chunks
    moved = pa.array(np.cumsum(used, dtype=np.int32) - 1)
    return dictionary.filter(pa.array(used)), [pc.take(moved, chunk) for chunk in chunks]


def _copied(column: pa.Array) -> pa.Array:
    """``column`` in buffers of its own (Arrow's concatenation always writes new ones)."""
    return pa.concat_arrays([column])


class _Values:
    """A string column's distinct values in the order they first appear, read batch by
    batch: each new batch's values are numbered after those seen before, in the order of
    the batch's own encoding — the dictionary ``unify_dictionaries`` makes of the
    batches encoded one by one, and so the codes that encoding the whole column gives."""

    def __init__(self) -> None:
        self.values: pa.Array = pa.array([], pa.string())

    def indices(self, column: pa.Array) -> pa.Array:
        """``column``'s int32 indices into :attr:`values` (new values appended)."""
        local = column.dictionary_encode()
        if len(self.values) == 0:
            self.values = local.dictionary
            return local.indices
        seen = pc.index_in(local.dictionary, value_set=self.values)
        new = seen.is_null()
        added = local.dictionary.filter(new)
        codes = seen.to_numpy(zero_copy_only=False)
        codes = np.where(
            new.to_numpy(zero_copy_only=False),
            len(self.values) + np.cumsum(new.to_numpy(zero_copy_only=False)) - 1,
            np.nan_to_num(codes),
        ).astype(np.int32)
        if len(added):
            self.values = pa.concat_arrays([self.values, added])
        return pc.take(pa.array(codes, pa.int32()), local.indices)


def _encoded(column: Any) -> Any:
    """A string column (array or chunked) dictionary-encoded; others as they are."""
    return column.dictionary_encode() if is_text(column.type) else column


def is_text(kind: pa.DataType) -> bool:
    """A plain string column's type (Arrow has two); the one test the runner, the
    masking and the report's JSON rows share."""
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def spark_available() -> bool:
    """True when pyspark is installed and a Java runtime can be found."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return bool(os.environ.get("JAVA_HOME")) or any(
        (Path(p) / "java").exists() for p in os.environ.get("PATH", "").split(os.pathsep)
    )
