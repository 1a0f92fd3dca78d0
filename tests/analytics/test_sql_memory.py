"""The derived metrics run with DuckDB's buffer pool held low, and it is given back."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pytest

from shequn.analytics.context import Context
from shequn.analytics.registry import Derived
from shequn.analytics.runner import load_metrics, run_metrics
from shequn.analytics.source import DERIVED_MEMORY_LIMIT
from shequn.duckdb_config import connect


def _limit(ctx: Context) -> str:
    con: Any = ctx.log.backend.con
    return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def _as_duckdb_shows(limit: str) -> str:
    """How DuckDB writes ``limit`` back (it rounds and names the unit its own way)."""
    con = connect()
    con.execute(f"SET memory_limit = '{limit}'")
    return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def _recording(monkeypatch: pytest.MonkeyPatch, seen: list[str], *, fail: bool = False) -> str:
    """Replace ``graph.centrality``'s computation by one that notes DuckDB's limit (run
    here, not in a forked process: it reads the engine)."""
    name = "graph.centrality"
    spec = load_metrics()[name]
    assert isinstance(spec, Derived)
    real = spec.compute

    def compute(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
        seen.append(_limit(ctx))
        if fail:
            raise RuntimeError("derived metric failed")
        return real(ctx, results)

    replaced = dataclasses.replace(spec, compute=compute, background=False)
    monkeypatch.setitem(load_metrics(), name, replaced)
    return name


def test_derived_metrics_see_the_low_limit_and_the_report_gets_its_own_back(
    duckdb_context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _limit(duckdb_context)
    seen: list[str] = []
    name = _recording(monkeypatch, seen)
    results = run_metrics(duckdb_context, [name])
    assert results[name].num_rows > 0
    assert seen == [_as_duckdb_shows(DERIVED_MEMORY_LIMIT)]
    assert seen[0] != before
    assert _limit(duckdb_context) == before


def test_the_limit_is_given_back_when_a_derived_metric_fails(
    duckdb_context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _limit(duckdb_context)
    seen: list[str] = []
    name = _recording(monkeypatch, seen, fail=True)
    with pytest.raises(RuntimeError, match="derived metric failed"):
        run_metrics(duckdb_context, [name])
    assert seen == [_as_duckdb_shows(DERIVED_MEMORY_LIMIT)]
    assert _limit(duckdb_context) == before
