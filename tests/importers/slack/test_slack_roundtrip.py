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

from shequn.importers import open_export
from shequn.importers.base import ImportSettings
from shequn.importers.slack import SlackImporter
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import Store

COMPARED = (
    ("ts", "ts_utc"),
    ("member_name", "member_name"),
    ("by_member_id", "by_member"),
    ("text", "text"),
    ("attachment_kind", "attachment_kind"),
    ("join_method", "join_method"),
    ("platform_id", "platform_id"),
    ("topic_id", "topic_id"),
    ("is_bot", "is_bot"),
)
VARIANTS = ["folder", "zip", "nousers"]


def simulate(out: Path, variant: str, **kw: Any) -> Any:
    opts = {"members": 60, "messages": 3000, "days": 30, "seed": 11, **kw}
    return simulate_export(format="slack", variant=variant, out=out, **opts)


def assert_round_trip(out: Path, export: Path) -> list[dict[str, Any]]:
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    expected = pq.read_table(out / "truth_events.parquet").to_pylist()
    importer = open_export(export)
    assert isinstance(importer, SlackImporter)
    assert importer.group_name == truth["group"]["name"]
    got: list[dict[str, Any]] = []
    for batch in importer.batches(ImportSettings(timezone=truth["timezone"], commit_every=700)):
        assert batch.rejects == []
        got.extend(batch.events.to_pylist())
    index = {(r["source_line"], r["kind"], r["member_id"]): r for r in got}
    assert len(index) == len(got), "two imported events share line, kind and member"
    want = {(r["line"], r["kind"], r["member"]): r for r in expected}
    assert sorted(set(want) - set(index), key=str)[:5] == []
    assert sorted(set(index) - set(want), key=str)[:5] == []
    message_ids = {r["line"]: r["platform_id"] for r in expected if r["kind"] == "message_posted"}
    for key, row in want.items():
        mine = index[key]
        for ours, theirs in COMPARED:
            assert mine[ours] == row[theirs], (key, ours, mine[ours], row[theirs])
        assert mine["ts_raw"] is None
        target = message_ids[row["reply_to_line"]] if row["reply_to_line"] is not None else None
        assert mine["reply_to"] == target, key
        assert (mine["mentions"] or []) == list(row["mentions"]), key
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
    again = run_import(store, summary.export_path, settings)
    assert again.new_events == 0
    assert store.stats()["messages"] == counts["messages"]
