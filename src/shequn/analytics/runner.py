"""Running the metric set on an engine: execute each metric once, then the derived ones
(one of those may run in a forked process meanwhile: :mod:`.background`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shequn.analytics.background import Background, can_fork
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
    background: bool = True,
) -> dict[str, pa.Table]:
    """Every metric (or the named ones and what they need), each sorted by its order.

    ``timings``, when given, receives each metric's seconds on ``clock`` (a metric that
    is first to need a shared table of the context pays for materialising it).

    ``background``: a derived metric marked :attr:`Derived.background` starts in a forked
    process as soon as its inputs are known and the engine goes on with the others; a
    metric that reads it waits for it before it starts. Its timing is the time waited,
    and the child's CPU is a child's (``os.times``), counted when it is waited for:
    measure metric by metric with ``background=False``.
    """
    timings = {} if timings is None else timings
    known = load_metrics()
    wanted = list(known) if names is None else _with_inputs(known, list(names))
    results: dict[str, pa.Table] = {}
    jobs = _Jobs(ctx, results, timings, clock)
    forkable = [
        spec
        for n in wanted
        if isinstance(spec := known[n], Derived) and spec.background and background
    ]
    if forkable and not can_fork():
        forkable = []
    try:
        for name in wanted:
            spec = known[name]
            if isinstance(spec, Metric):
                began = clock()
                results[name] = _ordered_result(partial(_computed, spec, ctx), spec.order_by)
                release_memory()
                timings[name] = clock() - began
                for waiting in [d for d in forkable if all(i in results for i in d.inputs)]:
                    jobs.start(waiting)
                    forkable.remove(waiting)
        pending = [spec for n in wanted if isinstance(spec := known[n], Derived)]
        if pending:
            with sql_memory(ctx.log, DERIVED_MEMORY_LIMIT):
                _run_derived(pending, jobs)
        jobs.collect_all()
    finally:
        jobs.cancel_all()
    return {name: results[name] for name in wanted}


class _Jobs:
    """The results so far, and the derived metrics computing in forked processes."""

    def __init__(
        self,
        ctx: Context,
        results: dict[str, pa.Table],
        timings: dict[str, float],
        clock: Callable[[], float],
    ) -> None:
        self.ctx, self.results, self.timings, self.clock = ctx, results, timings, clock
        self.running: dict[str, Background] = {}

    def start(self, spec: Derived) -> None:
        inputs = {i: self.results[i] for i in spec.inputs}
        self.running[spec.name] = Background(partial(_derived, spec, self.ctx, inputs)).start()

    def known(self, name: str) -> bool:
        """Computed, or computing in a child."""
        return name in self.results or name in self.running

    def collect(self, name: str) -> None:
        """Wait for a child's table; its timing is the time waited."""
        began = self.clock()
        self.results[name] = self.running.pop(name).result()
        self.timings[name] = self.clock() - began

    def collect_all(self) -> None:
        for name in list(self.running):
            self.collect(name)

    def cancel_all(self) -> None:
        for job in self.running.values():
            job.cancel()
        self.running.clear()


def _run_derived(pending: list[Derived], jobs: _Jobs) -> None:
    """Each derived metric once its inputs are known; one computing in a child is left to
    it, and those that do not read one go first.

    A metric that reads a child's table waits for it before it starts, not when it reads
    it: ``kols.ranking``'s estimate beside ``graph.centrality``'s child held 4.2 GB at 10M
    messages (bench/RESULTS.md), the report's bound being 4 GB.
    """
    while pending:
        ready = [d for d in pending if all(jobs.known(i) for i in d.inputs)]
        if not ready:
            missing = {i for d in pending for i in d.inputs if not jobs.known(i)}
            raise ValueError(f"derived metrics wait for unknown inputs: {sorted(missing)}")
        ready.sort(key=lambda d: any(i in jobs.running for i in d.inputs))  # stable
        for spec in ready:
            pending.remove(spec)
            if spec.name in jobs.running:
                continue
            for name in spec.inputs:
                if name in jobs.running:
                    jobs.collect(name)
            began = jobs.clock()
            jobs.results[spec.name] = _derived(spec, jobs.ctx, jobs.results)
            release_memory()
            jobs.timings[spec.name] = jobs.clock() - began


def _derived(spec: Derived, ctx: Context, inputs: Mapping[str, pa.Table]) -> pa.Table:
    return _ordered(spec.compute(ctx, inputs), spec.order_by)


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
