"""`shequn replay`: a changed playbook over the past, against the current one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from enginehelp import PLAYBOOK, REGISTRY, T0, store_events
from test_run_cli_engine import LATER, LOG
from typer.testing import CliRunner

from shequn.cli import app
from shequn.engines import registry
from shequn.engines.base import Action
from shequn.engines.replay import COMMUNITY_BOARD, ReplayDiff, Side, boards, flatten
from shequn.engines.runner import Taken
from shequn.store import open_store

#: remove only at the 4th spam, and twice the points per message
NEW = PLAYBOOK.replace("at = 3, action", "at = 4, action").replace("points = 10", "points = 20")


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    monkeypatch.setattr(registry, "ENGINES", REGISTRY)
    path = str(tmp_path / "store.duckdb")
    with open_store(path) as db:
        store_events(db, "makers", [*LOG, *LATER])
        db.save_playbook("makers", PLAYBOOK, "playbook.toml")
    new = tmp_path / "new.toml"
    new.write_text(NEW, encoding="utf-8")
    return path, new


def _replay(path: str, *args: str) -> str:
    result = CliRunner().invoke(app, ["replay", "--community", "makers", *args, "--store", path])
    assert result.exit_code == 0, result.output
    return result.output


def test_replay_shows_who_is_spared_and_what_points_change(setup: tuple[str, Path]) -> None:
    path, new = setup
    result = json.loads(_replay(path, "--playbook", str(new), "--json"))
    assert (result["since"], result["until"]) == (T0, T0 + 7200)
    assert result["current"] == {"playbook": "v1", "engines": ["spam", "tally"]}
    assert result["removed"] == []
    [spared] = result["spared"]
    assert (spared["member"], spared["explanation"]) == (
        "telegram:alice",
        "remove: spam #3 (rule no-spam)",
    )
    assert result["counts"]["remove"] == {"current": 1, "new": 0}
    assert result["counts"]["level_up"] == {"current": 0, "new": 1}
    state = {(s["path"], s["current"], s["new"]) for s in result["state"]}
    assert state == {
        ("points/telegram/g1/telegram:alice", -65, 75),
        ("points/telegram/g1/telegram:bob", 10, 20),
        ("levels/telegram/g1/telegram:alice", "newcomer", "regular"),
    }
    boards_changed = {(b["board"], b["rank"]) for b in result["leaderboards"]}
    assert boards_changed == {
        ("telegram/g1", 1),
        ("telegram/g1", 2),
        (COMMUNITY_BOARD, 1),
        (COMMUNITY_BOARD, 2),
    }
    first = next(b for b in result["leaderboards"] if b["board"] == "telegram/g1")
    assert first["current"] == {"member": "telegram:bob", "points": 10}
    assert first["new"] == {"member": "telegram:alice", "points": 75}


def test_since_counts_back_from_the_last_event_or_is_a_date(setup: tuple[str, Path]) -> None:
    path, new = setup
    recent = json.loads(_replay(path, "--playbook", str(new), "--since", "30m", "--json"))
    assert recent["since"] == T0 + 7200 - 1800
    assert recent["counts"] == {
        "award_points": {"current": 1, "new": 1},
        "deduct_points": {"current": 1, "new": 0},
        "remove": {"current": 1, "new": 0},
    }
    # the award is the same action with other points: listed under both
    assert [a["kind"] for a in recent["only_current"]] == [
        "remove",
        "deduct_points",
        "award_points",
    ]
    assert [a["kind"] for a in recent["only_new"]] == ["award_points"]
    dated = json.loads(
        _replay(path, "--playbook", str(new), "--since", "2023-11-14T23:43:20Z", "--json")
    )
    assert dated["since"] == recent["since"] and dated["counts"] == recent["counts"]


def test_replay_twice_prints_the_same_bytes(setup: tuple[str, Path]) -> None:
    path, new = setup
    for extra in ((), ("--json",)):
        assert _replay(path, "--playbook", str(new), *extra) == _replay(
            path, "--playbook", str(new), *extra
        )


def test_the_table_names_the_spared_member_and_the_changes(setup: tuple[str, Path]) -> None:
    path, new = setup
    text = _replay(path, "--playbook", str(new))
    assert text.splitlines()[0] == (
        "replay of 'makers' from 2023-11-14 22:13 to 2023-11-15 00:13 UTC: "
        f"current playbook v1 vs {new}"
    )
    for words in (
        "would be spared",
        "remove: spam #3 (rule no-spam)",
        "leaderboards",
        "points/telegram/g1/telegram:alice",
        "telegram:alice (75)",
    ):
        assert words in text, words


def test_the_same_playbook_makes_no_difference(setup: tuple[str, Path], tmp_path: Path) -> None:
    path, _ = setup
    same = tmp_path / "same.toml"
    same.write_text(PLAYBOOK, encoding="utf-8")
    assert "no difference: both playbooks do the same" in _replay(path, "--playbook", str(same))


def test_a_playbook_of_another_community_is_refused(
    setup: tuple[str, Path], tmp_path: Path
) -> None:
    path, _ = setup
    other = tmp_path / "other.toml"
    other.write_text(PLAYBOOK.replace('community = "makers"', 'community = "other"'), "utf-8")
    result = CliRunner().invoke(
        app, ["replay", "--community", "makers", "--playbook", str(other), "--store", path]
    )
    assert result.exit_code == 1 and "the playbook of 'other', not 'makers'" in result.output


def test_flatten_and_boards() -> None:
    assert flatten({"b": {"y": 1, "x": [2]}, "a": {}}) == {"a": {}, "b/x": [2], "b/y": 1}
    assert boards({"g1": {"m1": 5, "m2": 9}, "g2": {"m1": 7}}, 1) == {
        "g1": [("m2", 9)],
        "g2": [("m1", 7)],
        COMMUNITY_BOARD: [("m1", 12)],
    }
    assert boards({"m1": 3, "m2": 3}, 5) == {COMMUNITY_BOARD: [("m1", 3), ("m2", 3)]}


def test_a_member_removed_before_the_window_is_neither_removed_nor_spared() -> None:
    """A smaller cap removes the same silent member earlier: inside the window the
    current playbook removes them, but under the new one they were already gone."""
    removal = Taken(
        Action("remove", "telegram/g1", "telegram:m1", T0, "metabolism", "removed"), "k", 0, "{}"
    )
    current = Side("v1", [removal], {}, ["metabolism"])
    gone_before = Side("new", [], {}, ["metabolism"], {("telegram/g1", "telegram:m1")})
    still_there = Side("new", [], {}, ["metabolism"])
    assert ReplayDiff("c", 0, 1, current, gone_before).to_json()["spared"] == []
    spared = ReplayDiff("c", 0, 1, current, still_there).to_json()["spared"]
    assert [a["member"] for a in spared] == ["telegram:m1"]
    # and the other way round: removed under the new one only if not gone already
    assert ReplayDiff("c", 0, 1, gone_before, current).to_json()["removed"] == []
    assert len(ReplayDiff("c", 0, 1, still_there, current).to_json()["removed"]) == 1
