"""The Telegram importer recovers what the simulator wrote, event for event, per variant.

Truth rows (``truth_events.parquet``) are matched to imported events by (line, kind,
member); every compared column must be equal. ``reply_to_line`` is turned into the
platform id of the message on that line, as the importer writes ``reply_to``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from shequn.importers import open_export
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import Store

COMPARED = (
    ("ts", "ts_utc"),
    ("ts_raw", "ts_raw"),
    ("by_member_id", "by_member"),
    ("text", "text"),
    ("attachment_kind", "attachment_kind"),
    ("join_method", "join_method"),
    ("platform_id", "platform_id"),
    ("topic_id", "topic_id"),
    ("is_bot", "is_bot"),
    ("reply_to", "reply_to"),
    ("mentions", "mentions"),
)


def import_rows(export: Path, timezone: str) -> list[dict[str, Any]]:
    importer = open_export(export)
    assert importer.platform == "telegram"
    rows: list[dict[str, Any]] = []
    last = 0
    for batch in importer.batches(ImportSettings(timezone=timezone, commit_every=700)):
        assert batch.rejects == []
        assert batch.position > last
        last = batch.position
        rows.extend(batch.events.to_pylist())
    return rows


def expected_rows(out: Path) -> list[dict[str, Any]]:
    rows = pq.read_table(out / "truth_events.parquet").to_pylist()
    ids = {r["line"]: r["platform_id"] for r in rows}
    for r in rows:
        line = r.pop("reply_to_line")
        r["reply_to"] = None if line is None else ids[line]
        r["ts_raw"] = r["ts_raw"] or None
        r["mentions"] = r["mentions"] or None
    return rows


def assert_round_trip(out: Path, export: Path) -> list[dict[str, Any]]:
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    got = import_rows(export, truth["timezone"])
    want = expected_rows(out)

    def key(r: dict[str, Any], line: str, member: str) -> tuple[Any, ...]:
        return (r[line], r["kind"], r[member])

    mine = Counter(key(r, "source_line", "member_id") for r in got)
    theirs = Counter(key(r, "line", "member") for r in want)
    assert sorted((mine - theirs).items(), key=str)[:5] == []
    assert sorted((theirs - mine).items(), key=str)[:5] == []
    index: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in got:
        index.setdefault(key(r, "source_line", "member_id"), []).append(r)
    for r in want:
        candidates = index[key(r, "line", "member")]
        ok = [c for c in candidates if all(c[a] == r[b] for a, b in COMPARED)]
        assert ok, (r, candidates)
        candidates.remove(ok[0])
        if r["member_name"] is not None:
            assert ok[0]["member_name"] == r["member_name"]
    return got


@pytest.mark.parametrize("variant", ["json", "html", "account"])
def test_every_variant_round_trips(tmp_path: Path, variant: str) -> None:
    summary = simulate_export(
        format="telegram", variant=variant, members=60, messages=3000, days=30, seed=11,
        out=tmp_path,
    )  # fmt: skip
    got = assert_round_trip(tmp_path, summary.export_path)
    kinds = Counter(r["kind"] for r in got)
    # the quirks are there: joins of both kinds, exits, pins, a migration, a bot
    assert kinds["member_joined"] > 10 and kinds["member_left"] and kinds["member_removed"]
    assert kinds["message_pinned"] and kinds["system_notice"] == 2
    if variant != "html":
        assert kinds["reaction_added"] > 50
        assert any(r["is_bot"] for r in got)
        assert any(r["mentions"] for r in got)
    assert any(r["platform_id"].startswith("-99") for r in got)
    assert len({r["group_id"] for r in got}) == 1


def test_other_seeds_and_timezones_round_trip(tmp_path: Path) -> None:
    summary = simulate_export(
        format="telegram", variant="json", members=40, messages=2500, days=20, seed=4,
        out=tmp_path, timezone="America/New_York", start="2024-03-01",
    )  # fmt: skip
    assert_round_trip(tmp_path, summary.export_path)


@pytest.mark.parametrize("variant", ["json", "html"])
def test_stats_match_the_truth_and_reimport_adds_nothing(
    tmp_path: Path, store: Store, variant: str
) -> None:
    summary = simulate_export(
        format="telegram", variant=variant, members=50, messages=2000, days=20, seed=3,
        out=tmp_path / "x",
    )  # fmt: skip
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    settings = ImportSettings(timezone=truth["timezone"], commit_every=500)
    first = run_import(store, summary.export_path, settings)
    stats = store.stats()
    counts = truth["counts"]
    assert first.platform == "telegram"
    assert stats["messages"] == counts["messages"]
    assert stats["joins"] == counts["joins"]
    assert stats["leaves"] == counts["leaves"]
    assert stats["removals"] == counts["removals"]
    assert stats["rejected_records"] == 0
    assert first.new_events == counts["events"]
    again = run_import(store, summary.export_path, settings)
    assert again.new_events == 0
    assert store.stats()["messages"] == counts["messages"]
