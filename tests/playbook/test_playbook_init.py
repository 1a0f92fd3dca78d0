"""`shequn playbook init` starts from the community the store holds: its groups, their
timezones, the size cap asked for, and screening only where a platform can ask."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from shequn.cli import app
from shequn.playbook import load_playbook
from shequn.store import open_store

runner = CliRunner()


def _store_with_groups(path: Path, groups: list[tuple[str, str, str]]) -> None:
    """Community "makers" with these (platform, group id, timezone) groups."""
    with open_store(path) as store:
        for platform, group, zone in groups:
            store.upsert_group("makers", platform, group, f'{group} "quoted"', zone)


def test_init_writes_the_communitys_groups_and_cap(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    _store_with_groups(
        db, [("telegram", "-100123", "Europe/Berlin"), ("whatsapp", "Makers B", "Asia/Shanghai")]
    )
    target = tmp_path / "playbook.toml"
    result = runner.invoke(
        app,
        ["--store", str(db), "playbook", "init", "--community", "makers", "--cap", "200",
         "--out", str(target)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    book = load_playbook(target)
    assert [(g.platform, g.id, g.name, g.cap, g.timezone) for g in book.groups] == [
        ("telegram", "-100123", '-100123 "quoted"', 200, "Europe/Berlin"),
        ("whatsapp", "Makers B", 'Makers B "quoted"', 200, "Asia/Shanghai"),
    ]
    assert book.screening.enabled  # the Telegram group can be screened


def test_a_whatsapp_only_community_starts_without_question_screening(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    _store_with_groups(db, [("whatsapp", "Makers", "Asia/Shanghai")])
    result = runner.invoke(app, ["--store", str(db), "playbook", "init", "--community", "makers"])
    assert result.exit_code == 0, result.output
    assert "# Off: WhatsApp groups have no bot" in result.stdout
    target = tmp_path / "p.toml"
    target.write_text(result.stdout, encoding="utf-8")
    book = load_playbook(target)
    assert not book.screening.enabled and [g.id for g in book.groups] == ["Makers"]


def test_init_without_the_community_writes_a_placeholder_and_says_so(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["--store", str(tmp_path / "none.duckdb"), "playbook", "init", "--community", "x"]
    )
    assert result.exit_code == 0, result.output
    assert 'id = "-1001234567890"' in result.stdout
    assert "no groups of community 'x' in the store" in result.stderr
    assert not (tmp_path / "none.duckdb").exists()  # init never creates a store
