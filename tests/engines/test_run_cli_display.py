"""What `shequn run` and `shequn replay` print: phone numbers masked unless
--show-phones (a recorded run included), group ids left readable, and hostile text —
terminal escapes and bidi overrides in a member's answer or message — written out, and
rich markup in it shown as typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from enginehelp import store_events
from typer.testing import CliRunner

from shequn.cli import app
from shequn.store import open_store

T0 = 1_709_258_400
PHONE = "+4917012345678"
MASKED = "+49•••••••••78"
TG_GROUP = "-1001234567890"

PLAYBOOK = f"""
version = 1
community = "makers"

[[groups]]
platform = "telegram"
id = "{TG_GROUP}"

[[groups]]
platform = "whatsapp"
id = "Makers"

[screening]
enabled = true
time_limit = "10m"

[[screening.questions]]
ask = "What do you make?"
accept = ["furniture"]

[[rules]]
id = "no-ads"
kind = "banned_words"
words = ["代购"]
penalty = [{{ at = 1, action = "warn" }}]
"""

#: short enough to be quoted whole (screening quotes 40 characters of an answer)
HOSTILE = "[b]x[/b] \x1b[31mRED \x1b]0;pwned\x07 \u202etxt"


def _log() -> list[dict[str, object]]:
    tg = {"platform": "telegram", "group_id": TG_GROUP}
    wa = {"platform": "whatsapp", "group_id": "Makers"}
    return [
        {**tg, "kind": "member_listed", "ts": T0 - 86_400, "member_id": "vic"},
        {**wa, "kind": "member_listed", "ts": T0 - 86_400, "member_id": PHONE},
        {**wa, "kind": "message_posted", "ts": T0, "member_id": PHONE, "text": "代购 now"},
        {**tg, "kind": "message_posted", "ts": T0 + 60, "member_id": "vic", "text": "代购 bags"},
        {
            **tg,
            "kind": "join_requested",
            "ts": T0 + 120,
            "member_id": "fay",
            "extra": json.dumps({"answers": [HOSTILE]}),
        },
    ]


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "store.duckdb")
    with open_store(path) as store:
        store_events(store, "makers", _log())
        store.save_playbook("makers", PLAYBOOK, "playbook.toml")
    return path


def _cli(db: str, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--store", db])
    assert result.exit_code == 0, result.output
    return result.output


def _clean(output: str) -> None:
    """No control character but newlines reaches the terminal; each is written out."""
    assert not [c for c in output if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
    assert "\u202e" not in output
    assert "[b]x[/b] \\x1b[31mRED \\x1b]0;pwned\\x07 \\u202etxt" in output


@pytest.mark.parametrize("how", [("--dry-run",), ("--dry-run", "--all"), ()])
def test_run_masks_phone_numbers_but_not_group_ids(db: str, how: tuple[str, ...]) -> None:
    output = _cli(db, "run", "--community", "makers", *how)
    assert f"whatsapp/Makers warn whatsapp:{MASKED}" in output
    assert f"telegram/{TG_GROUP} reject telegram:fay" in output
    assert PHONE.removeprefix("+") not in output
    _clean(output)


def test_show_phones_shows_them(db: str) -> None:
    output = _cli(db, "run", "--community", "makers", "--dry-run", "--all", "--show-phones")
    assert f"whatsapp/Makers warn whatsapp:{PHONE}" in output
    assert f"telegram/{TG_GROUP} warn telegram:vic" in output


def test_dry_run_json_keeps_the_group_and_masks_the_member(db: str) -> None:
    document = json.loads(_cli(db, "run", "--community", "makers", "--dry-run", "--json"))
    warned = [a for a in document["actions"] if a["kind"] == "warn"]
    assert [(a["group"], a["member"]) for a in warned] == [
        ("whatsapp/Makers", f"whatsapp:{MASKED}"),
        (f"telegram/{TG_GROUP}", "telegram:vic"),
    ]
    reject = next(a for a in document["actions"] if a["kind"] == "reject")
    assert HOSTILE in reject["explanation"]  # JSON escapes control characters itself


def test_replay_masks_members_but_not_groups(db: str, tmp_path: Path) -> None:
    new = tmp_path / "new.toml"
    changed = PLAYBOOK.replace('words = ["代购"]', 'words = ["nothing"]')
    new.write_text(changed.replace("What do you make?", "What do you build?"), encoding="utf-8")
    document = json.loads(
        _cli(db, "replay", "--community", "makers", "--playbook", str(new), "--json")
    )
    spared = [(a["group"], a["member"]) for a in document["only_current"] if a["kind"] == "warn"]
    assert spared == [
        ("whatsapp/Makers", f"whatsapp:{MASKED}"),
        (f"telegram/{TG_GROUP}", "telegram:vic"),
    ]
    table = _cli(db, "replay", "--community", "makers", "--playbook", str(new))
    assert PHONE.removeprefix("+") not in table and MASKED in table
    assert f"telegram/{TG_GROUP}" in table
    _clean(table)
