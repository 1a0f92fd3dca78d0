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

import pytest

from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import Store
from truth import (
    COMPARED,
    COMPARED_IDS,
    TS_RAW,
    assert_reimport_adds_nothing,
    import_rows,
    read_truth,
)

#: truth rows may repeat (line, kind, member), so rows are matched on all of these
MATCHED = COMPARED + TS_RAW + COMPARED_IDS + (("reply_to", "reply_to"), ("mentions", "mentions"))


def expected_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = {r["line"]: r["platform_id"] for r in rows}
    for r in rows:
        line = r.pop("reply_to_line")
        r["reply_to"] = None if line is None else ids[line]
        r["ts_raw"] = r["ts_raw"] or None
        r["mentions"] = r["mentions"] or None
    return rows


def assert_round_trip(out: Path, export: Path) -> list[dict[str, Any]]:
    truth, rows = read_truth(out)
    settings = ImportSettings(timezone=truth["timezone"], commit_every=700)
    got = import_rows(export, "telegram", settings)
    want = expected_rows(rows)

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
        ok = [c for c in candidates if all(c[a] == r[b] for a, b in MATCHED)]
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
    # reactions (with their reactors) and the bot are read from every format
    assert kinds["reaction_added"] > 50
    assert any(r["is_bot"] for r in got)
    assert any(r["kind"] == "reaction_added" and r["member_id"] for r in got)
    if variant != "html":
        assert any(r["mentions"] for r in got)
    assert any(r["platform_id"].startswith("-99") for r in got)
    # one group, migration included: the chat's Bot API id (JSON), the chat's name (HTML)
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert {r["group_id"] for r in got} == {truth["export"]["group_id"]}


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
    assert_reimport_adds_nothing(store, summary.export_path, settings, counts["messages"])
