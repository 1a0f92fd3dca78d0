"""The Slack importer recovers what the Slack simulator wrote, event for event, per variant.

Ground truth is ``truth_events.parquet`` written by ``shequn.simulate.slack``; every
row's kind, member, name, time, actor, text, attachment kind, join method, platform id,
topic (thread), bot flag, reply target and mentions must come back exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from shequn.importers.base import ImportSettings
from shequn.importers.slack import SlackImporter
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import Store
from truth import (
    COMPARED,
    COMPARED_IDS,
    MEMBER_NAME,
    assert_reimport_adds_nothing,
    assert_same,
    import_rows,
    matched,
    read_truth,
)

VARIANTS = ["folder", "zip", "nousers"]


def simulate(out: Path, variant: str, **kw: Any) -> Any:
    opts = {"members": 60, "messages": 3000, "days": 30, "seed": 11, **kw}
    return simulate_export(format="slack", variant=variant, out=out, **opts)


def assert_round_trip(out: Path, export: Path) -> list[dict[str, Any]]:
    truth, expected = read_truth(out)
    assert SlackImporter(export).group_name == truth["group"]["name"]
    settings = ImportSettings(timezone=truth["timezone"], commit_every=700)
    got = import_rows(export, "slack", settings)
    message_ids = {r["line"]: r["platform_id"] for r in expected if r["kind"] == "message_posted"}
    for mine, row in matched(got, expected):
        assert_same(mine, row, COMPARED + COMPARED_IDS + MEMBER_NAME)
        assert mine["ts_raw"] is None
        target = message_ids[row["reply_to_line"]] if row["reply_to_line"] is not None else None
        assert mine["reply_to"] == target, row
    return got


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_round_trips(tmp_path: Path, variant: str) -> None:
    summary = simulate(tmp_path, variant)
    assert summary.export_path.suffix == (".zip" if variant == "zip" else "")
    assert (summary.export_path / "users.json").exists() == (variant == "folder")
    got = assert_round_trip(tmp_path, summary.export_path)
    kinds = {r["kind"] for r in got}
    assert {
        "message_posted", "reaction_added", "member_joined", "member_left", "member_listed",
        "message_pinned", "group_renamed", "group_description_changed",
    } <= kinds  # fmt: skip
    assert any(r["is_bot"] for r in got if r["kind"] == "message_posted")
    assert any(r["reply_to"] for r in got if r["kind"] == "message_posted")
    assert any(r["attachment_kind"] for r in got)
    assert any(r["join_method"] == "added" for r in got)
    assert any(r["join_method"] == "unknown" for r in got)
    assert any(r["extra"] and "edited" in r["extra"] for r in got)
    assert len({r["group_id"] for r in got}) == 2


def test_a_small_community_round_trips(tmp_path: Path) -> None:
    summary = simulate(tmp_path, "folder", members=12, messages=150, days=3, seed=4)
    assert_round_trip(tmp_path, summary.export_path)


def test_stats_match_the_truth_and_reimport_adds_nothing(store: Store, tmp_path: Path) -> None:
    summary = simulate(tmp_path / "x", "zip", members=40, messages=1500, days=14, seed=3)
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    settings = ImportSettings(community="sim", timezone=truth["timezone"], commit_every=400)
    first = run_import(store, summary.export_path, settings)
    stats = store.stats()
    counts = truth["counts"]
    rows = pq.read_table(summary.events_path).to_pylist()
    kinds = [r["kind"] for r in rows]
    bots = sum(1 for r in rows if r["kind"] == "message_posted" and r["is_bot"])
    assert stats["messages"] == counts["messages"]
    assert stats["joins"] == counts["joins"]
    assert stats["leaves"] == counts["leaves"]
    assert stats["reactions"] == kinds.count("reaction_added")
    assert stats["bot_messages"] == bots > 0
    assert stats["groups"] == 2 and stats["rejected_records"] == 0
    assert first.new_events == counts["events"]
    assert_reimport_adds_nothing(store, summary.export_path, settings, counts["messages"])
