"""Terminal escapes in what the chats bring — member names, message text, the group's
name, the export's file name, a rejected line — are written out by every command that
prints for a person, never sent to the terminal raw: ``ESC [2J`` would clear the
operator's screen, ``ESC ]0;…`` retitle it, U+009B start an 8-bit control sequence."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shequn.cli import app
from shequn.safe_text import json_text, printable

ESC = "\x1b"
#: clears the screen and retitles the window: must show as typed, never act
NAME = f"Eve{ESC}[2J{ESC}]0;pwned\x07"
TEXT = f"hi {ESC}[31mred\x9b1m does anyone know? \u202eevil"
GROUP = f"G{ESC}[4mr\u202eoup\x85"
COMMUNITY = f"c{ESC}[7m"
FILE = f"WhatsApp Chat with X{ESC}[1mY.txt"
#: what a terminal would act on: C0 but the newline, DEL, C1, bidi embeddings and overrides
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("escapes")
    lines = [
        f"{day:02d}/01/2024, {9 + turn:02d}:1{turn} - {who}: {TEXT}"
        for day in range(1, 29)
        for turn, who in enumerate(("Ann", NAME, "Bob"))
    ]
    # an impossible date: rejected, and its raw text quoted by `imports show`
    lines.append(f"31/02/2024, 21:01 - {NAME}: {TEXT}")
    export = root / FILE
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = root / "store.duckdb"
    imported = _run(
        path,
        "import",
        str(export),
        "--community",
        COMMUNITY,
        "--group",
        GROUP,
        "--timezone",
        "UTC",
    )
    assert "rejected 1" in imported
    return path


def _run(store: Path, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--store", str(store)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    ("command", "shows"),
    [
        (("stats", "--community", COMMUNITY), COMMUNITY),
        (("groups",), GROUP),
        (("imports",), FILE),
        (("imports", "show", "1"), NAME),
        (("members",), NAME),
        (("report", "--community", COMMUNITY), NAME),
    ],
)
def test_escapes_are_written_out_not_sent(
    store: Path, command: tuple[str, ...], shows: str
) -> None:
    output = _run(store, *command)
    assert RAW_CONTROL.findall(output) == []
    assert printable(shows) in output  # the hostile value is there, written out


def test_printable_writes_out_each_control_and_keeps_the_rest() -> None:
    assert printable(f"a{ESC}[2Jb\x9b\u202ec\n李") == "a\\x1b[2Jb\\x9b\\u202ec\\x0a李"
    assert printable("[bold]Mallory[/bold] 🙂") == "[bold]Mallory[/bold] 🙂"


@pytest.mark.parametrize(
    ("command", "holds"),
    [
        (("groups", "--json"), GROUP),
        (("imports", "--json"), FILE),
        (("members", "--json"), NAME),
        (("report", "--community", COMMUNITY, "--json"), GROUP),
    ],
)
def test_json_escapes_them_and_means_the_same(
    store: Path, command: tuple[str, ...], holds: str
) -> None:
    """``--json`` is JSON for scripts and text on a terminal: the controls JSON leaves
    raw (DEL, C1, bidi overrides) come as ``\\u`` escapes, which decode to the value."""
    output = _run(store, *command)
    assert RAW_CONTROL.findall(output) == []
    assert holds in _strings(json.loads(output))


def _strings(value: Any) -> set[str]:
    """Every string in a JSON value, keys included, and each one's ``/``-separated
    parts (a group is stored as ``platform/name``)."""
    if isinstance(value, str):
        return {value, *value.split("/")}
    if isinstance(value, dict):
        return set().union(*(_strings(k) | _strings(v) for k, v in value.items()), set())
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value), set())
    return set()


def test_json_text_escapes_only_what_json_leaves_raw() -> None:
    value = {"n": f"a{ESC}\x7f\x9b\u202e\u2066\u2028李🙂"}
    text = json_text(value)
    assert text == '{"n": "a\\u001b\\u007f\\u009b\\u202e\\u2066\\u2028李🙂"}'
    assert json.loads(text) == value
