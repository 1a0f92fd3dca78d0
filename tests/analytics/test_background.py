"""A derived metric in a forked process: the child's table comes back, a failing child
is replaced by the computation here, and the runner's results are the serial run's."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import igraph
import pyarrow as pa
import pytest

from shequn.analytics import runner
from shequn.analytics.background import Background, openmp_threads
from shequn.analytics.context import Context
from shequn.analytics.registry import METRICS, Derived
from shequn.analytics.runner import load_metrics, run_metrics

PARENT = os.getpid()


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: a child that waits forever hangs its parent's wait."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"not done within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _pid_table() -> pa.Table:
    return pa.table({"pid": [os.getpid()]})


def test_the_table_is_computed_in_a_child_and_read_back() -> None:
    job = Background(_pid_table).start()
    table = job.result()
    assert job.from_child
    child = table.column("pid")[0].as_py()
    assert child != os.getpid()
    with pytest.raises(ChildProcessError):  # reaped: no zombie left
        os.waitpid(child, os.WNOHANG)


def _fails_in_a_child(failure: Callable[[], None]) -> Callable[[], pa.Table]:
    def compute() -> pa.Table:
        if os.getpid() != PARENT:
            failure()
        return _pid_table()

    return compute


def _raise() -> None:
    raise RuntimeError("only in the child")


def _killed() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _exits() -> None:
    raise SystemExit(0)  # an exit is not a table


@pytest.mark.parametrize("failure", [_raise, _killed, _exits], ids=["raises", "killed", "exits"])
def test_a_failing_child_is_replaced_by_the_computation_here(
    failure: Callable[[], None],
) -> None:
    job = Background(_fails_in_a_child(failure)).start()
    table = job.result()
    assert not job.from_child
    assert table.column("pid")[0].as_py() == os.getpid()


def test_no_child_to_be_had_computes_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    job = Background(_pid_table).start()
    assert job.pid is None and job.fd is None
    assert job.result().column("pid")[0].as_py() == os.getpid()
    assert not job.from_child


def test_an_error_the_computation_has_is_raised_here() -> None:
    def compute() -> pa.Table:
        raise ValueError("bad edges")

    with pytest.raises(ValueError, match="bad edges"):
        Background(compute).start().result()


def test_cancel_ends_a_running_child() -> None:
    def slow() -> pa.Table:
        time.sleep(60)
        return _pid_table()

    job = Background(slow).start()
    pid = job.pid
    assert pid is not None
    with deadline(10):
        job.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _pagerank() -> pa.Table:
    graph = igraph.Graph.Erdos_Renyi(n=3000, m=30000, directed=True)
    with openmp_threads(1):
        rank = graph.pagerank()
    return pa.table({"rank": rank})


def test_a_child_runs_openmp_after_the_parent_did_on_two_threads() -> None:
    # the parent's OpenMP workers are not in the child: a region of two threads there
    # waited for them forever before the child was held to one thread
    graph = igraph.Graph.Erdos_Renyi(n=3000, m=30000, directed=True)
    with openmp_threads(2):
        graph.pagerank()

    def child_pagerank() -> pa.Table:
        return pa.table({"rank": graph.pagerank()})  # no openmp_threads here: the child's own

    with deadline(60):
        job = Background(child_pagerank).start()
        table = job.result()
    assert job.from_child
    with openmp_threads(1):
        here = graph.pagerank()
    assert table.column("rank").to_pylist() == here  # one thread in both: the same floats


def test_pagerank_on_one_thread_is_the_same_in_any_process() -> None:
    graph = igraph.Graph.Erdos_Renyi(n=3000, m=30000, directed=True)

    def rank() -> pa.Table:
        with openmp_threads(1):
            return pa.table({"rank": graph.pagerank()})

    job = Background(rank).start()
    assert job.result().equals(rank())
    assert job.from_child


class _Recorded(Background):
    started: ClassVar[list[_Recorded]] = []

    def start(self) -> Background:
        _Recorded.started.append(self)
        return super().start()


def test_the_runner_gives_the_serial_results_with_the_graph_in_a_child(
    duckdb_context: Context, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = tmp_path / "calls"  # a file: the child's writes are seen here
    spec = load_metrics()["graph.centrality"]
    assert isinstance(spec, Derived)

    def counted(ctx: Context, inputs: Mapping[str, pa.Table]) -> pa.Table:
        with calls.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return spec.compute(ctx, inputs)

    monkeypatch.setitem(METRICS, spec.name, dataclasses.replace(spec, compute=counted))
    monkeypatch.setattr(runner, "Background", _Recorded)
    _Recorded.started.clear()
    names = ["graph.centrality", "kols.ranking", "roles.members"]
    forked = run_metrics(duckdb_context, names)
    assert [job.from_child for job in _Recorded.started] == [True]
    # computed once, in the child: not again here when a metric that reads it is ready
    assert [int(pid) for pid in calls.read_text().split()] != [os.getpid()]
    assert len(calls.read_text().split()) == 1
    serial = run_metrics(duckdb_context, names, background=False)
    assert len(_Recorded.started) == 1
    assert [int(pid) for pid in calls.read_text().split()][1:] == [os.getpid()]
    assert set(forked) == set(serial) >= set(names)
    for name in serial:
        assert _decoded(forked[name]).equals(_decoded(serial[name])), name


def _decoded(table: pa.Table) -> pa.Table:
    """Dictionary columns as their values (DuckDB's dictionary order is not stable)."""
    columns = [
        c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    return pa.table(columns, names=table.column_names).combine_chunks()


def test_only_metrics_that_read_nothing_but_their_inputs_are_forked() -> None:
    marked = [n for n, spec in load_metrics().items() if getattr(spec, "background", False)]
    assert marked == ["graph.centrality"]
