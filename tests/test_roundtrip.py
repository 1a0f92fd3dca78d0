"""The importer recovers what the simulator wrote, event for event, in every layout.

Ground truth is ``truth_events.parquet``, written by the simulator independently of the
importer: for every event, its line, kind, member, time (UTC and as written), who did
it, text, attachment kind and join source must come back exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shequn.importers.base import ImportSettings
from shequn.importers.whatsapp.system_lines import languages
from shequn.simulate import simulate_export
from shequn.store import open_store
from truth import COMPARED, TS_RAW, assert_same, import_rows, matched, read_truth


def assert_round_trip(out: Path, export: Path) -> None:
    truth, expected = read_truth(out)
    settings = ImportSettings(
        timezone=truth["timezone"], me=truth["exporter"]["name"], commit_every=1500
    )
    got = import_rows(export, "whatsapp", settings)
    for mine, truth_row in matched(got, expected):
        assert_same(mine, truth_row, COMPARED + TS_RAW)
        if truth_row["member_name"] is not None:
            assert mine["member_name"] == truth_row["member_name"], truth_row


VARIANTS = [
    {"layout": "android"},
    {"layout": "ios"},
    {"layout": "android", "clock": "12h", "date_order": "mdy"},
    {"layout": "ios", "clock": "12h", "date_order": "ymd"},
    {"layout": "android", "crlf": True, "bom": True},
    {"layout": "android", "zip": True},
    {"layout": "ios", "zip": True, "crlf": True},
]


@pytest.mark.parametrize(
    "options", VARIANTS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items())
)
def test_every_layout_round_trips(tmp_path: Path, options: dict[str, Any]) -> None:
    summary = simulate_export(members=60, messages=3000, days=30, seed=11, out=tmp_path, **options)
    assert_round_trip(tmp_path, summary.export_path)


@pytest.mark.parametrize("language", languages())
def test_every_language_round_trips(tmp_path: Path, language: str) -> None:
    summary = simulate_export(
        members=40, messages=2000, days=14, seed=5, out=tmp_path, language=language
    )
    assert_round_trip(tmp_path, summary.export_path)


def test_stats_json_counts_match_the_truth(tmp_path: Path) -> None:
    summary = simulate_export(members=120, messages=6000, days=45, seed=3, out=tmp_path / "x")
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    with open_store(tmp_path / "s.duckdb") as store:
        from shequn.ingest import run_import

        run_import(
            store,
            summary.export_path,
            ImportSettings(timezone=truth["timezone"], me=truth["exporter"]["name"]),
        )
        stats = store.stats()
    counts = truth["counts"]
    assert stats["messages"] == counts["messages"]
    assert stats["deleted_messages"] == counts["deleted"]
    assert stats["joins"] == counts["joins"]
    assert stats["leaves"] == counts["leaves"]
    assert stats["removals"] == counts["removals"]
    assert stats["groups"] == 1 and stats["rejected_records"] == 0
    expected_members = {m["id"] for m in truth["members"]}
    assert stats["members"] == len(expected_members)
