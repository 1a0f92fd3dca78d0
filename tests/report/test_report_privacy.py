"""Reports never show a phone number unless asked (issue 4), in every form they take:
the JSON document, the HTML page and the terminal; names lose their bidi marks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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
