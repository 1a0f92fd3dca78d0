"""The whole metric set gives the same numbers on DuckDB and on Spark — no metric exempted."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pytest

from shequn.analytics.context import Context, build_context
from shequn.analytics.runner import load_metrics, run_metrics
from shequn.analytics.source import parquet_log

RELATIVE = 1e-9


def assert_same(name: str, ours: pa.Table, theirs: pa.Table) -> None:
    assert ours.column_names == theirs.column_names, name
    assert ours.num_rows == theirs.num_rows, name
    for column in ours.column_names:
        a, b = ours.column(column).to_pylist(), theirs.column(column).to_pylist()
        for row, (x, y) in enumerate(zip(a, b, strict=True)):
            assert _equal(x, y), (name, column, row, x, y)


def _equal(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return math.isclose(x, y, rel_tol=RELATIVE, abs_tol=1e-12)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_equal(p, q) for p, q in zip(x, y, strict=True))
    return bool(x == y)


@pytest.fixture(scope="module")
def on_duckdb(duckdb_context: Context) -> dict[str, pa.Table]:
    return run_metrics(duckdb_context)


def test_every_metric_has_rows_on_duckdb(on_duckdb: dict[str, pa.Table]) -> None:
    assert set(on_duckdb) == set(load_metrics())
    empty = [name for name, table in on_duckdb.items() if table.num_rows == 0]
    assert empty == []


def test_parquet_export_reads_the_same_on_duckdb(
    community: Any, on_duckdb: dict[str, pa.Table]
) -> None:
    exported = run_metrics(build_context(parquet_log(community.parquet, engine="duckdb")))
    for name, table in on_duckdb.items():
        assert_same(name, table, exported[name])


def test_spark_gives_the_same_numbers(
    spark_context: Context, on_duckdb: dict[str, pa.Table]
) -> None:
    on_spark = run_metrics(spark_context)
    assert set(on_spark) == set(on_duckdb)
    for name, table in on_duckdb.items():
        assert_same(name, table, on_spark[name].cast(table.schema))
