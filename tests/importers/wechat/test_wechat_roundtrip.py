"""Every WeChat variant the simulator writes comes back from the importer, event for event."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import Store
from truth import (
    COMPARED,
    COMPARED_IDS,
    MEMBER_NAME,
    TS_RAW,
    assert_reimport_adds_nothing,
    assert_same,
    import_rows,
    matched,
    read_truth,
)

VARIANTS = ("memotrace", "memotrace-bom", "memotrace-gbk", "pywxdump")


def assert_round_trip(out: Path, export: Path, variant: str) -> None:
    truth, expected = read_truth(out)
    settings = ImportSettings(timezone=truth["timezone"], commit_every=700)
    got = import_rows(export, "wechat", settings)
    pid_of_line = {r["line"]: r["platform_id"] for r in expected}
    quotes = 0
    for mine, row in matched(got, expected):
        assert_same(mine, row, COMPARED + TS_RAW + COMPARED_IDS + MEMBER_NAME)
        if variant == "pywxdump" and row["reply_to_line"] is not None:
            quotes += 1
            assert mine["reply_to"] == pid_of_line[row["reply_to_line"]], row
        elif row["kind"] == "message_posted":
            # MemoTrace's CSV omits CompressContent: a quote's target is not in the file
            assert mine["reply_to"] is None, row
    if variant == "pywxdump":
        assert quotes > 20


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_round_trips(tmp_path: Path, variant: str) -> None:
    summary = simulate_export(
        format="wechat", variant=variant, members=60, messages=3000, days=30, seed=11, out=tmp_path
    )
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    kinds = {r["kind"] for r in pq.read_table(summary.events_path).to_pylist()}
    assert {"member_joined", "member_removed", "message_deleted", "group_renamed"} <= kinds
    assert truth["counts"]["joins"] > 40
    assert_round_trip(tmp_path, summary.export_path, variant)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_round_trips_over_seeds(tmp_path: Path, seed: int) -> None:
    summary = simulate_export(
        format="wechat", variant="pywxdump", members=40, messages=12_000, days=20, seed=seed,
        out=tmp_path,
    )  # fmt: skip
    assert summary.export_path.name.endswith("@chatroom")
    assert len(list(summary.export_path.glob("*.csv"))) == 3  # 5000-row pages
    assert_round_trip(tmp_path, summary.export_path, "pywxdump")


@pytest.mark.parametrize("variant", ["memotrace", "pywxdump"])
def test_store_counts_equal_the_truth_and_reimport_adds_nothing(
    tmp_path: Path, store: Store, variant: str
) -> None:
    summary = simulate_export(
        format="wechat", variant=variant, members=50, messages=2000, days=20, seed=4,
        out=tmp_path / "x",
    )  # fmt: skip
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    settings = ImportSettings(timezone=truth["timezone"])
    first = run_import(store, summary.export_path, settings)
    stats = store.stats()
    counts = truth["counts"]
    assert first.new_events == counts["events"]
    assert stats["messages"] == counts["messages"]
    assert stats["deleted_messages"] == counts["deleted"]
    assert stats["joins"] == counts["joins"]
    assert stats["leaves"] == counts["leaves"] == 0  # WeChat shows no leave line
    assert stats["removals"] == counts["removals"]
    assert stats["groups"] == 1 and stats["rejected_records"] == 0
    assert_reimport_adds_nothing(store, summary.export_path, settings, counts["messages"])
