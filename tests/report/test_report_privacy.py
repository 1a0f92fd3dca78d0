"""Reports never show a phone number unless asked (issue 4), in every form they take:
the JSON document, the HTML page and the terminal; names lose their bidi marks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from shequn.cli import app
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import open_store

runner = CliRunner()


@pytest.fixture(scope="module")
def phones(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A simulated WhatsApp community (many members are bare phone numbers) in a store,
    and the digits of every phone number among its identities (read from the store)."""
    root = tmp_path_factory.mktemp("phones")
    summary = simulate_export(members=80, messages=4000, days=40, seed=3, out=root / "export")
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    path = root / "store.duckdb"
    with open_store(path) as store:
        run_import(
            store,
            summary.export_path,
            ImportSettings(timezone=truth["timezone"], me=truth["exporter"]["name"]),
        )
        ids = {e["member_id"] for e in store.events().to_pylist()} - {None}
    numbers = {re.sub(r"\D", "", i) for i in ids if i.startswith("+")}
    assert len(numbers) >= 10  # the fixture really holds phone numbers
    return path, numbers


def _leaks(text: str, numbers: set[str]) -> set[str]:
    """The numbers whose full digits appear in ``text`` (separators ignored)."""
    digits = re.sub(r"[\s().\-\u202a-\u202e\u200e\u200f]", "", text)
    return {n for n in numbers if n in digits}


def _report(store: Path, *args: str) -> str:
    result = runner.invoke(app, ["report", "--store", str(store), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_report_masks_every_phone_number(phones: tuple[Path, set[str]]) -> None:
    store, numbers = phones
    masked = _report(store, "--json")
    assert _leaks(masked, numbers) == set()
    assert "•" in masked  # numbers are shown masked, not dropped
    document: dict[str, Any] = json.loads(masked)
    assert "topics.sample" not in document["metrics"]  # no raw message text
    shown = _report(store, "--json", "--show-phones")
    assert len(_leaks(shown, numbers)) >= len(numbers) // 2  # asked for: shown


def test_html_and_terminal_reports_mask_phone_numbers(
    phones: tuple[Path, set[str]], tmp_path: Path
) -> None:
    store, numbers = phones
    page = tmp_path / "report.html"
    _report(store, "--out", str(page))
    assert _leaks(page.read_text(encoding="utf-8"), numbers) == set()
    terminal = _report(store)
    assert _leaks(terminal, numbers) == set()
    assert "\u202a" not in terminal and "\u202c" not in terminal  # names without bidi marks


def test_dictionary_encoded_edges_are_masked(phones: tuple[Path, set[str]], tmp_path: Path) -> None:
    """conversation.edges is held dictionary-encoded (its member keys as indices into one
    dictionary): masking must reach the dictionary, in the JSON rows and in the page."""
    from shequn.analytics.context import Scope, build_context
    from shequn.analytics.runner import run_metrics
    from shequn.analytics.source import duckdb_log

    store, numbers = phones
    edges = run_metrics(build_context(duckdb_log(store), Scope()), ["conversation.edges"])
    table = edges["conversation.edges"]
    assert pa.types.is_dictionary(table.schema.field("source").type)  # the encoded path
    members = set(table.column("source").to_pylist()) | set(table.column("target").to_pylist())
    assert _leaks(" ".join(members), numbers)  # the edges do name phone numbers

    def edge_text(document: dict[str, Any]) -> str:
        metric = document["metrics"]["conversation.edges"]
        assert {c["name"]: c["type"] for c in metric["columns"]}["source"] == "string"
        rows = metric["rows"]
        assert rows
        return " ".join(f"{r['source']} {r['target']}" for r in rows)

    masked = json.loads(_report(store, "--json", "--metric", "conversation.edges"))
    assert _leaks(edge_text(masked), numbers) == set()
    assert "•" in edge_text(masked)
    shown = json.loads(_report(store, "--json", "--metric", "conversation.edges", "--show-phones"))
    assert _leaks(edge_text(shown), numbers)  # the check can fail: unmasked, they leak

    page = tmp_path / "edges.html"
    _report(store, "--metric", "conversation.edges", "--out", str(page))
    html = page.read_text(encoding="utf-8")
    assert _leaks(html, numbers) == set()
    _report(store, "--metric", "conversation.edges", "--show-phones", "--out", str(page))
    assert _leaks(page.read_text(encoding="utf-8"), numbers)
