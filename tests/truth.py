"""The simulator's ground truth, and the checks every round-trip test makes against it.

A round trip simulates an export (``truth.json`` and ``truth_events.parquet`` beside
it), imports it, and matches each imported event to the truth row of the same
(line, kind, member). Importable from every test because ``tests/`` holds the root
``conftest.py`` and has no ``__init__.py`` (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from shequn.importers import open_export
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.store import Store

Row = dict[str, Any]

#: (imported column, truth column) pairs every platform's round trip compares
COMPARED = (
    ("ts", "ts_utc"),
    ("by_member_id", "by_member"),
    ("text", "text"),
    ("attachment_kind", "attachment_kind"),
    ("join_method", "join_method"),
)
#: what the platforms with ids (Discord, Slack, Telegram, WeChat) compare besides
COMPARED_IDS = (
    ("platform_id", "platform_id"),
    ("topic_id", "topic_id"),
    ("is_bot", "is_bot"),
)
TS_RAW = (("ts_raw", "ts_raw"),)
MEMBER_NAME = (("member_name", "member_name"),)


def read_truth(out: Path) -> tuple[dict[str, Any], list[Row]]:
    """``truth.json`` and the rows of ``truth_events.parquet`` the simulator wrote to ``out``."""
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return truth, pq.read_table(out / "truth_events.parquet").to_pylist()


def import_rows(export: Path, platform: str, settings: ImportSettings) -> list[Row]:
    """Every event ``platform``'s importer reads from ``export``, batch by batch.

    As the import contract says: no record is rejected and batch positions rise strictly.
    """
    importer = open_export(export)
    assert importer.platform == platform
    rows: list[Row] = []
    last = 0
    for batch in importer.batches(settings):
        assert batch.rejects == []
        assert batch.position > last
        last = batch.position
        rows.extend(batch.events.to_pylist())
    return rows


def matched(got: list[Row], expected: list[Row]) -> list[tuple[Row, Row]]:
    """(imported, truth) pairs on (line, kind, member): one to one, none missing or extra."""
    index = {(r["source_line"], r["kind"], r["member_id"]): r for r in got}
    assert len(index) == len(got), "two imported events share line, kind and member"
    want = {(r["line"], r["kind"], r["member"]): r for r in expected}
    assert len(want) == len(expected), "two truth rows share line, kind and member"
    assert sorted(set(want) - set(index), key=str)[:5] == []
    assert sorted(set(index) - set(want), key=str)[:5] == []
    return [(index[key], row) for key, row in want.items()]


def assert_same(mine: Row, truth: Row, compared: tuple[tuple[str, str], ...]) -> None:
    """The compared columns are equal, and so are the mentions (null and empty alike)."""
    key = (truth["line"], truth["kind"], truth["member"])
    for ours, theirs in compared:
        assert mine[ours] == truth[theirs], (key, ours, mine[ours], truth[theirs])
    assert (mine["mentions"] or []) == list(truth["mentions"] or []), key


def assert_reimport_adds_nothing(
    store: Store, export: Path, settings: ImportSettings, messages: int
) -> None:
    """Importing the same export again stores nothing new: its keys are stable."""
    again = run_import(store, export, settings)
    assert again.new_events == 0
    assert store.stats()["messages"] == messages
