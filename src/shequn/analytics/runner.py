"""Running the metric set on an engine: execute each metric once, then the derived ones."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shequn.analytics.context import Context
from shequn.analytics.registry import METRICS, Derived, Metric
from shequn.analytics.source import (
    DERIVED_MEMORY_LIMIT,
    Coded,
    arrow,
    arrow_coded,
    arrow_dictionary,
    is_text,
    release_memory,
    sql_memory,
)


def load_metrics() -> dict[str, Metric | Derived]:
    """The registered metric set (importing the metric modules registers them)."""
    import shequn.analytics.metrics  # noqa: F401

    return METRICS


def run_metrics(
    ctx: Context,
    names: Iterable[str] | None = None,
    timings: dict[str, float] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, pa.Table]:
    """Every metric (or the named ones and what they need), each sorted by its order.

    ``timings``, when given, receives each metric's seconds on ``clock`` (a metric that
    is first to need a shared table of the context pays for materialising it).
    """
    timings = {} if timings is None else timings
    known = load_metrics()
    wanted = list(known) if names is None else _with_inputs(known, list(names))
    results: dict[str, pa.Table] = {}
    for name in wanted:
        spec = known[name]
        if isinstance(spec, Metric):
            began = clock()
            results[name] = _ordered_result(partial(_computed, spec, ctx), spec.order_by)
            release_memory()
            timings[name] = clock() - began
    pending = [spec for n in wanted if isinstance(spec := known[n], Derived)]
    if pending:
        with sql_memory(ctx.log, DERIVED_MEMORY_LIMIT):
            _run_derived(ctx, pending, results, timings, clock)
    return {name: results[name] for name in wanted}


def _run_derived(
    ctx: Context,
    pending: list[Derived],
    results: dict[str, pa.Table],
    timings: dict[str, float],
    clock: Callable[[], float],
) -> None:
    """Each derived metric once its inputs are in ``results``."""
    while pending:
        ready = [d for d in pending if all(i in results for i in d.inputs)]
        if not ready:
            missing = {i for d in pending for i in d.inputs if i not in results}
            raise ValueError(f"derived metrics wait for unknown inputs: {sorted(missing)}")
        for spec in ready:
            began = clock()
            results[spec.name] = _ordered(spec.compute(ctx, results), spec.order_by)
            release_memory()
            timings[spec.name] = clock() - began
            pending.remove(spec)


def _with_inputs(known: dict[str, Metric | Derived], names: list[str]) -> list[str]:
    out: list[str] = []

    def visit(name: str) -> None:
        if name in out:
            return
        spec = known[name]
        if isinstance(spec, Derived):
            for dependency in spec.inputs:
                visit(dependency)
        out.append(name)

    for name in names:
        visit(name)
    return out


def _computed(spec: Metric, ctx: Context) -> pa.Table:
    built = spec.build(ctx)
    if isinstance(built, Coded):
        return arrow_coded(ctx.log, built)
    if spec.dictionary:
        return arrow_dictionary(ctx.log, built)
    return arrow(built)


def _ordered_result(compute: Callable[[], pa.Table], order_by: tuple[str, ...]) -> pa.Table:
    """``compute()`` sorted like :func:`_ordered`, one column at a time: each column's
    unsorted rows are freed once its sorted copy is made, so a big result (ten million
    edges at 10M messages) is held about once while it is sorted, not twice."""
    table = compute()
    if not order_by or table.num_rows < 2:
        return table
    release_memory()  # what the read freed (its batches as they came), before the keys
    indices = _sorting(table, order_by)
    if indices is None:
        return table
    schema, columns = table.schema, table.columns
    del table  # the only reference: the columns below are the last ones
    for i in range(len(columns)):
        columns[i] = columns[i].take(indices)
    return pa.Table.from_arrays(columns, schema=schema)


def _order(table: pa.Table, order_by: tuple[str, ...]) -> pa.Array:
    """The indices that sort ``table`` by ``order_by`` (stable)."""
    indices = _sorting(table, order_by)
    return pa.array(np.arange(table.num_rows)) if indices is None else indices


def _sorting(table: pa.Table, order_by: tuple[str, ...]) -> pa.Array | None:
    """:func:`_order`'s indices, or None when the rows are in that order already (a
    result read in order, as ``conversation.edges`` leaves DuckDB, needs no copy)."""
    combined = _combined_key(table, order_by)
    if combined is None:
        keys = pa.table({str(i): _sort_key(table.column(c)) for i, c in enumerate(order_by)})
        return pc.sort_indices(keys, [(str(i), "ascending") for i in range(len(order_by))])
    if bool(np.all(combined[1:] >= combined[:-1])):
        return None
    # NumPy's stable sort of 8-byte integers (timsort; Arrow's sort_indices is stable
    # too: the same indices): 20.8M keys in no order 3.4-3.9 s against Arrow's 4.3-5.1
    # (load 15-20); in sorted runs far less
    return pa.array(np.argsort(combined, kind="stable"))


def _combined_key(table: pa.Table, order_by: tuple[str, ...]) -> np.ndarray | None:
    """One integer per row that orders like the rows' ``order_by`` string keys, or None.

    When every key is a string column (plain or dictionary-encoded) without nulls, each
    row's places among its columns' sorted distinct values (:func:`_sort_key`) are
    written as the digits of one number, base each column's number of places: comparing
    the numbers compares the places column after column. The sort is stable either way,
    so ties keep their order: the same indices as sorting on the columns' keys, from
    one array of 8 bytes a row instead of one per column (``conversation.edges`` at 10M
    messages: four keys of 20.8M rows, 670 MB, held beside the table while it sorts).
    """
    columns = [table.column(c) for c in order_by]
    if not all(
        (pa.types.is_dictionary(c.type) and is_text(c.type.value_type)) or is_text(c.type)
        for c in columns
    ):
        return None
    if any(c.null_count for c in columns):
        return None
    combined = np.zeros(table.num_rows, dtype=np.uint64)
    span = 1
    for column in columns:
        encoded = _encoded_column(column)
        if encoded.dictionary.null_count:
            return None
        places = pc.rank(encoded.dictionary, sort_keys="ascending", tiebreaker="dense")
        base = int(pc.max(places).as_py() or 0) + 1
        span *= base
        if span >= 1 << 63:
            return None
        combined *= np.uint64(base)
        combined += places.to_numpy()[encoded.indices.to_numpy()]
    return combined


def _encoded_column(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """A string column, dictionary-encoded or as it is, as one dictionary array."""
    if pa.types.is_dictionary(column.type):
        return column.combine_chunks()
    return pc.dictionary_encode(column).combine_chunks()


def _ordered(table: pa.Table, order_by: tuple[str, ...]) -> pa.Table:
    """``table`` sorted by ``order_by`` (ascending, nulls last, stable).

    String keys are sorted as their places in their sorted distinct values: the same
    order, but a million-row result with a few thousand member keys sorts integers
    instead of comparing strings.
    """
    if not order_by or table.num_rows < 2:
        return table
    indices = _sorting(table, order_by)
    return table if indices is None else table.take(indices)


def _sort_key(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    if pa.types.is_dictionary(column.type) or is_text(column.type):
        # already encoded (Metric.dictionary); combining unifies the chunks' dictionaries
        encoded = _encoded_column(column)
    else:
        return column
    # each row's key is its value's place among the sorted distinct values ("dense":
    # equal values share a place, should a dictionary hold one twice)
    places = pc.rank(encoded.dictionary, sort_keys="ascending", tiebreaker="dense")
    return pc.take(places, encoded.indices)
