"""One simulated community, imported once, read by every engine the analytics support."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shequn.analytics.context import Context, build_context
from shequn.analytics.source import duckdb_log, export_parquet, parquet_log
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import open_store


@dataclass(frozen=True)
class Community:
    """A simulated community in a store, its truth, and its Parquet export."""

    store: Path
    parquet: Path
    truth: dict[str, Any]
    events_path: Path


@pytest.fixture(scope="session")
def community(tmp_path_factory: pytest.TempPathFactory) -> Community:
    root = tmp_path_factory.mktemp("analytics")
    summary = simulate_export(
        members=150, messages=8000, days=70, seed=21, out=root / "sim", timezone="Europe/Berlin"
    )
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    store_path = root / "store.duckdb"
    with open_store(store_path) as store:
        run_import(
            store,
            summary.export_path,
            ImportSettings(
                community="club", timezone=truth["timezone"], me=truth["exporter"]["name"]
            ),
        )
        export_parquet(store, root / "parquet")
    return Community(store_path, root / "parquet", truth, summary.events_path)


@pytest.fixture(scope="session")
def duckdb_context(community: Community) -> Context:
    return build_context(duckdb_log(community.store))


@pytest.fixture(scope="session")
def spark_context(community: Community) -> Context:
    return build_context(parquet_log(community.parquet, engine="spark"))
