"""`shequn run` and `shequn replay` hand the analytics' KOL ranking to the engines, so a
playbook's ``metabolism.protect_top_kols`` protects the community's top KOLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shequn.analytics.context import Scope, build_context
from shequn.analytics.runner import run_metrics
from shequn.analytics.source import duckdb_log
from shequn.cli import app
from shequn.engines.metabolism import MetabolismEngine
from shequn.engines.registry import load_engines
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.playbook import StartingGroup, parse_playbook, starting_playbook
from shequn.privacy.display import shown
from shequn.simulate import simulate_export
from shequn.store import open_store

runner = CliRunner()


@pytest.fixture(scope="module")
def community(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A simulated WhatsApp community in a store, and a playbook protecting 3 KOLs."""
    root = tmp_path_factory.mktemp("kols")
    summary = simulate_export(members=60, messages=3000, days=40, seed=5, out=root / "export")
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    db = root / "store.duckdb"
    with open_store(db) as store:
        run_import(
            store,
            summary.export_path,
            ImportSettings(
                community="makers", timezone=truth["timezone"], me=truth["exporter"]["name"]
            ),
        )
        groups = store.groups()
    text = starting_playbook(
        "makers",
        groups=[StartingGroup(g.platform, g.group_id, g.name, g.timezone) for g in groups],
        cap=60,
    ).replace("protect_tags =", "protect_top_kols = 3\nprotect_tags =")
    with open_store(db) as store:
        store.save_playbook("makers", text, "playbook.toml")
    return db, text


def _top_kols(db: Path, n: int) -> list[str]:
    """The community's first ``n`` by influence, straight from the analytics."""
    ranking = run_metrics(
        build_context(duckdb_log(db), Scope(community="makers")), ["kols.ranking"]
    )
    rows = [r for r in ranking["kols.ranking"].to_pylist() if r["group"] == "*"]
    return [r["member"] for r in sorted(rows, key=lambda r: r["influence_rank"])][:n]


def test_the_engines_get_the_ranking_and_protect_its_top(community: tuple[Path, str]) -> None:
    db, text = community
    book = parse_playbook(text, "p")
    top = _top_kols(db, 5)
    engines, _ = load_engines(book, kols=top)
    metabolism = next(e for e in engines if isinstance(e, MetabolismEngine))
    assert set(top[:3]) <= metabolism.protected and top[3] not in metabolism.protected


def test_run_and_replay_name_the_protected_kols(community: tuple[Path, str]) -> None:
    db, text = community
    top = _top_kols(db, 3)
    note = "note: metabolism protects the top 3 KOLs by influence (kols.ranking): " + ", ".join(
        shown(k) for k in top
    )
    run = runner.invoke(app, ["run", "--community", "makers", "--dry-run", "--store", str(db)])
    assert run.exit_code == 0, run.output
    assert note in run.stdout.splitlines()
    assert not any(
        line.split()[3] in ("remove", "warn_inactive") and line.split()[4] in top
        for line in run.stdout.splitlines()
        if line.startswith("  20")
    )
    new = db.parent / "new.toml"
    new.write_text(text.replace("cap = 60", "cap = 50"), encoding="utf-8")
    replay = runner.invoke(
        app,
        ["replay", "--community", "makers", "--playbook", str(new), "--json", "--store", str(db)],
    )
    assert replay.exit_code == 0, replay.output
    diff = json.loads(replay.stdout)
    assert note.removeprefix("note: ") in diff["notes"]
    removed = {a["member"] for a in diff["removed"]}
    assert not removed & {shown(k) for k in top}
