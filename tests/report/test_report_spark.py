"""``report --engine spark``: the same numbers on a local Spark over the Parquet export."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import Hostile
from shequn.analytics.source import spark_available
from shequn.cli import app

pytestmark = pytest.mark.slow
FEW = (
    "--metric",
    "activity.weekly",
    "--metric",
    "activity.concentration",
    "--metric",
    "hours.heatmap",
)


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_same(a, b) for a, b in zip(x, y, strict=True))
    return bool(x == y)


def test_spark_engine_reports_the_same_numbers(hostile: Hostile) -> None:
    assert spark_available(), "pyspark and Java are part of the dev install"
    runner = CliRunner()
    spark = runner.invoke(
        app, ["report", "--store", str(hostile.store), *FEW, "--engine", "spark", "--json"]
    )
    assert spark.exit_code == 0, spark.output
    duck = runner.invoke(app, ["report", "--store", str(hostile.store), *FEW, "--json"])
    on_spark, on_duckdb = json.loads(spark.stdout), json.loads(duck.stdout)
    assert on_spark["engine"] == "spark" and on_duckdb["engine"] == "duckdb"
    assert _same(on_spark["metrics"], on_duckdb["metrics"])
    assert on_spark["recommendations"] == on_duckdb["recommendations"]
