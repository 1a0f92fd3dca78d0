"""The Discord importer recovers what the simulator wrote, event for event, per variant.

Ground truth is ``truth_events.parquet``, written by ``simulate/discord.py`` without the
importer: every row's kind, member, time, actor, text, attachment kind, join method,
platform id, topic, bot flag and the message it points at must come back exactly, and
the importer must produce nothing the truth lacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from shequn.importers.base import ImportSettings
from shequn.importers.discord import DiscordImporter
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

VARIANTS = ("folder", "zip", "file")


def simulate(out: Path, variant: str, **sizes: int) -> Path:
    summary = simulate_export(
        format="discord",
        variant=variant,
        out=out,
        **{"members": 60, "messages": 3000, "days": 30, "seed": 11, **sizes},
    )
    return summary.export_path


def assert_round_trip(out: Path, export: Path) -> list[dict[str, Any]]:
    _, expected = read_truth(out)
    got = import_rows(export, "discord", ImportSettings(commit_every=700))
    message_at = {r["line"]: r["platform_id"] for r in expected if r["kind"] == "message_posted"}
    for mine, truth_row in matched(got, expected):
        assert_same(mine, truth_row, COMPARED + COMPARED_IDS + MEMBER_NAME)
        target = truth_row["reply_to_line"]
        assert mine["reply_to"] == (None if target is None else message_at[target]), truth_row
    return got


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_round_trips(tmp_path: Path, variant: str) -> None:
    export = simulate(tmp_path, variant)
    got = assert_round_trip(tmp_path, export)
    kinds = {r["kind"] for r in got}
    # every kind the writer produces is there, so the comparison above covered it
    assert {"message_posted", "member_joined", "reaction_added", "message_pinned",
            "topic_created"} <= kinds  # fmt: skip
    assert any(r["is_bot"] for r in got) and any(r["reply_to"] for r in got)
    assert {r["attachment_kind"] for r in got} >= {"image", "sticker", "voice"}
    topics = {r["topic_id"] for r in got}
    assert len(topics) == (4 if variant != "file" else 2)  # file: #general + the thread


def test_truth_and_export_agree_on_layout(tmp_path: Path) -> None:
    export = simulate(tmp_path, "folder")
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    files = sorted(p.name for p in export.iterdir())
    assert files == sorted(truth["export"]["files"])
    assert truth["counts"]["leaves"] == 0 and truth["counts"]["removals"] == 0
    importer = DiscordImporter(export)
    assert importer.group_name == truth["group"]["name"]
    assert importer.group_names == {truth["export"]["guild_id"]: truth["group"]["name"]}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    one = simulate(tmp_path / "a", "zip", messages=500)
    two = simulate(tmp_path / "b", "zip", messages=500)
    assert one.read_bytes() == two.read_bytes()
    assert (tmp_path / "a" / "truth_events.parquet").read_bytes() == (
        tmp_path / "b" / "truth_events.parquet"
    ).read_bytes()


def test_stats_match_the_truth_and_reimport_adds_nothing(tmp_path: Path, store: Store) -> None:
    export = simulate(tmp_path / "sim", "zip")
    truth = pq.read_table(tmp_path / "sim" / "truth_events.parquet").to_pylist()
    count = {k: sum(1 for r in truth if r["kind"] == k) for k in {r["kind"] for r in truth}}
    first = run_import(store, export, ImportSettings(community="c", commit_every=900))
    assert first.new_events == len(truth)
    stats = store.stats()
    assert stats["messages"] == count["message_posted"]
    assert stats["bot_messages"] == sum(
        1 for r in truth if r["kind"] == "message_posted" and r["is_bot"]
    )
    assert stats["joins"] == count["member_joined"]
    assert stats["reactions"] == count["reaction_added"]
    assert stats["leaves"] == stats["removals"] == 0  # Discord exports cannot show them
    assert stats["groups"] == 1 and stats["rejected_records"] == 0
    members = {r["member"] for r in truth if r["member"]} | {
        r["by_member"] for r in truth if r["by_member"]
    }
    assert stats["members"] == len(members)
    assert_reimport_adds_nothing(
        store, export, ImportSettings(community="c"), count["message_posted"]
    )
