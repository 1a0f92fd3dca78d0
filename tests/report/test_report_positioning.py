"""The community's positioning at the top of the report: from the current playbook,
escaped and masked like everything else, and absent when no playbook says one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import HOSTILE_PURPOSE, POSITIONED_PLAYBOOK, Hostile, positioned_copy
from shequn.cli import app
from shequn.playbook.model import Positioning
from shequn.report.positioning import current_positioning, positioning_json

MASKED_PURPOSE = HOSTILE_PURPOSE.replace("+49 170 1234567", "+49 ••• •••••67")


def _report(store: Path, *args: str) -> str:
    command = ["report", "--community", "makers", "--metric", "activity.weekly"]
    result = CliRunner().invoke(app, [*command, "--store", str(store), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def positioned(hostile: Hostile, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return positioned_copy(hostile, tmp_path_factory.mktemp("positioned"), POSITIONED_PLAYBOOK)


def test_positioning_keeps_the_fields_with_text() -> None:
    assert positioning_json(Positioning(), "c", 1) is None
    assert positioning_json(Positioning(purpose=" ", topics=["", " "]), "c", 1) is None
    assert positioning_json(Positioning(goals=[" grow "]), "c", 3) == {
        "community": "c",
        "playbook_version": 3,
        "purpose": "",
        "audience": "",
        "topics": [],
        "goals": ["grow"],
    }


def test_the_current_playbook_is_read_and_the_latest_version_wins(
    hostile: Hostile, tmp_path: Path
) -> None:
    store = positioned_copy(hostile, tmp_path, POSITIONED_PLAYBOOK)
    first = current_positioning(str(store), "makers")
    assert first is not None and first["playbook_version"] == 1
    assert first["purpose"] == MASKED_PURPOSE
    assert first["topics"] == ["3D printing", "electronics"]
    shown = current_positioning(str(store), "makers", show_phones=True)
    assert shown is not None and shown["purpose"] == HOSTILE_PURPOSE
    from shequn.store import open_store

    with open_store(store) as db:
        db.save_playbook("makers", POSITIONED_PLAYBOOK.replace("Ship", "Sail"), "playbook.toml")
    second = current_positioning(str(store), "makers")
    assert second is not None and second["playbook_version"] == 2
    assert "[bold]Sail[/bold]" in second["purpose"]
    assert current_positioning(str(store), "elsewhere") is None
    assert current_positioning(str(store), None) is None
    assert current_positioning(str(tmp_path / "missing.duckdb"), "makers") is None


def test_json_terminal_and_page_show_it_escaped_and_masked(
    positioned: Path, tmp_path: Path
) -> None:
    document = json.loads(_report(positioned, "--json"))
    assert document["positioning"] == {
        "community": "makers",
        "playbook_version": 1,
        "purpose": MASKED_PURPOSE,
        "audience": "hobby makers <b>and</b> students",
        "topics": ["3D printing", "electronics"],
        "goals": ["a weekly show-and-tell", "answers within a day"],
    }
    lines = _report(positioned).splitlines()
    at = lines.index("Positioning")
    assert lines[1] == "" and at == 2  # right under the heading line
    assert lines[at + 1 : at + 5] == [
        f"  What it is for: {MASKED_PURPOSE}",  # rich markup printed as written
        "  Who it is for: hobby makers <b>and</b> students",
        "  Topics: 3D printing, electronics",
        "  Goals: a weekly show-and-tell; answers within a day",
    ]
    page = tmp_path / "page.html"
    _report(positioned, "--out", str(page))
    html = page.read_text(encoding="utf-8")
    box = re.search(r'<section id="positioning".*?</section>', html)
    assert box is not None
    assert "&lt;script&gt;window.__pwned=7&lt;/script&gt; [bold]Ship[/bold] &amp; call" in box[0]
    assert "hobby makers &lt;b&gt;and&lt;/b&gt; students" in box[0]
    assert "1234567" not in html and "<b>" not in html
    assert html.count("<script") == 3 and html.count("</script>") == 3


def test_no_playbook_no_positioning(hostile: Hostile, tmp_path: Path) -> None:
    bare = positioned_copy(hostile, tmp_path, None)
    assert json.loads(_report(bare, "--json"))["positioning"] is None
    assert "Positioning" not in _report(bare)
    page = tmp_path / "page.html"
    _report(bare, "--out", str(page))
    html = page.read_text(encoding="utf-8")
    assert 'id="positioning"' not in html and "{{POSITIONING}}" not in html
    # a playbook whose positioning is empty: no empty box either
    head, tail = POSITIONED_PLAYBOOK.split("[positioning]")
    empty = head + tail.split('"answers within a day"]\n')[1]
    assert "positioning" not in empty and "[[groups]]" in empty
    (tmp_path / "blank").mkdir()
    blank = positioned_copy(hostile, tmp_path / "blank", empty)
    assert json.loads(_report(blank, "--json"))["positioning"] is None
    assert "Positioning" not in _report(blank)
