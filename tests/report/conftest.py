"""A small community written to attack the report: two WhatsApp groups whose member
names, group name and messages carry markup, script and rich markup. Built once per
session into an embedded store (and its Parquet export)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from shequn.analytics.source import export_parquet
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.store import open_store

#: hostile names: each would set window.__pwned if it ever ran as markup or script
IMG_NAME = "<img src=x onerror=window.__pwned=1>"
SCRIPT_NAME = "</script><script>window.__pwned=2</script>"
RICH_NAME = "[bold red]Mallory[/bold red]"
IMG_TEXT = "look <img src=x onerror=window.__pwned=3> here"
SCRIPT_TEXT = "</script><script>window.__pwned=4</script> {{DATA}} &amp; \u2028 end"
GROUP_NAME = "Makers <b onmouseover=window.__pwned=5>B</b>"
MEMBERS = ("Ann", "Bob", "李雷", IMG_NAME, SCRIPT_NAME, RICH_NAME, "Carol", "Dan")
START = date(2024, 1, 1)  # a Monday
DAYS = 35
#: the two groups, in import order (file i is "WhatsApp Chat with group{i}.txt")
GROUPS = ("Makers A", GROUP_NAME)


@dataclass(frozen=True)
class Hostile:
    store: Path
    parquet: Path
    root: Path


def _export(days: int, members: tuple[str, ...], offset: int) -> str:
    """A WhatsApp (Android, dmy, 24h) export: each day a few members post at set hours."""
    lines = []
    for day in range(days):
        when = START + timedelta(days=day)
        for turn in range(3 + (day + offset) % 4):
            who = members[(day * 3 + turn + offset) % len(members)]
            hour = (9 + 4 * turn + offset + day % 3) % 24
            text = f"message {day}-{turn}"
            if who == IMG_NAME:
                text = IMG_TEXT
            elif who == SCRIPT_NAME:
                text = SCRIPT_TEXT
            elif turn == 1:
                text = "does anyone know how to join?"
            lines.append(f"{when:%d/%m/%Y}, {hour:02d}:{10 + turn:02d} - {who}: {text}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    root = tmp_path_factory.mktemp("report")
    exports = {
        GROUPS[0]: _export(DAYS, MEMBERS, 0),
        GROUPS[1]: _export(DAYS - 14, MEMBERS[:5], 1),
    }
    store_path = root / "store.duckdb"
    with open_store(store_path) as store:
        for i, (group, text) in enumerate(exports.items()):
            path = root / f"WhatsApp Chat with group{i}.txt"
            path.write_text(text, encoding="utf-8")
            run_import(
                store,
                path,
                ImportSettings(community="makers", group=group, timezone="Asia/Shanghai"),
            )
        export_parquet(store, root / "parquet")
    return Hostile(store_path, root / "parquet", root)


#: a positioning that would run (or colour the terminal) if it were ever markup
HOSTILE_PURPOSE = "<script>window.__pwned=7</script> [bold]Ship[/bold] & call +49 170 1234567"
POSITIONED_PLAYBOOK = f"""
version = 1
community = "makers"

[positioning]
purpose = {HOSTILE_PURPOSE!r}
audience = "hobby makers <b>and</b> students"
topics = ["3D printing", "  ", "electronics"]
goals = ["a weekly show-and-tell", "answers within a day"]

[[groups]]
platform = "whatsapp"
id = "Makers A"
"""


def positioned_copy(hostile: Hostile, folder: Path, playbook: str | None) -> Path:
    """A copy of the hostile store with ``playbook`` applied to 'makers' (None: none)."""
    import shutil

    path = folder / "positioned.duckdb"
    shutil.copyfile(hostile.store, path)
    if playbook is not None:
        with open_store(path) as store:
            store.save_playbook("makers", playbook, "playbook.toml")
    return path
