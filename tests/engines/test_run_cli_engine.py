"""`shequn run`: the current playbook over the events not processed yet, recorded once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from enginehelp import PLAYBOOK, REGISTRY, T0, store_events
from typer.testing import CliRunner

from shequn.cli import app
from shequn.engines import registry
from shequn.engines.runner import CURSOR_SETTING, run_community
from shequn.store import Store, open_store

LOG = [
    {"kind": "message_posted", "ts": T0, "member_id": "alice", "text": "hello"},
    {"kind": "message_posted", "ts": T0 + 60, "member_id": "alice", "text": "spam"},
    {"kind": "message_posted", "ts": T0 + 120, "member_id": "alice", "text": "spam!"},
    {"kind": "message_posted", "ts": T0 + 3600, "member_id": "bob", "text": "hi all"},
]
LATER = [{"kind": "message_posted", "ts": T0 + 7200, "member_id": "alice", "text": "SPAM"}]
UNMUTE = -(-(T0 + 420) // 60) * 60


@pytest.fixture
def own_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "ENGINES", REGISTRY)


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    path = str(tmp_path / "store.duckdb")
    with open_store(path) as db:
        store_events(db, "makers", LOG)
    return path


def _cli(db_path: str, *args: str) -> list[str]:
    result = CliRunner().invoke(app, [*args, "--store", db_path])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def _apply(db_path: str, text: str = PLAYBOOK) -> None:
    with open_store(db_path) as db:
        db.save_playbook("makers", text, "playbook.toml")


def _actions(db_path: str) -> list[tuple[str, str, str]]:
    with open_store(db_path) as db:
        table = db.events(kinds=["action_taken"])
    return [(r["member_id"], r["text"], r["key"]) for r in table.to_pylist()]


def test_run_needs_an_applied_playbook(db_path: str, own_engines: None) -> None:
    result = CliRunner().invoke(app, ["run", "--community", "makers", "--store", db_path])
    assert result.exit_code == 1
    assert "no playbook applied to 'makers' yet" in result.output


def test_dry_run_shows_the_actions_with_explanations_and_records_nothing(
    db_path: str, own_engines: None
) -> None:
    _apply(db_path)
    lines = _cli(db_path, "run", "--community", "makers", "--dry-run", "--all")
    assert lines[0] == (
        "note: engine 'missing' is not installed (shequn.engines.no_such_engine); skipped"
    )
    assert lines[1:] == [
        "would: 2023-11-14 22:13 telegram/g1 award_points telegram:alice [tally]: "
        "award_points: +10 for message, 10 in all",
        "would: 2023-11-14 22:14 telegram/g1 warn telegram:alice [spam/no-spam]: "
        "warn: spam #1 (rule no-spam)",
        "would: 2023-11-14 22:14 telegram/g1 award_points telegram:alice [tally]: "
        "award_points: +10 for message, 20 in all",
        "would: 2023-11-14 22:15 telegram/g1 mute telegram:alice [spam/no-spam]: "
        "mute: spam #2 (rule no-spam)",
        "would: 2023-11-14 22:15 telegram/g1 deduct_points telegram:alice [tally]: "
        "deduct_points: -5 for mute, 15 in all",
        "would: 2023-11-14 22:15 telegram/g1 award_points telegram:alice [tally]: "
        "award_points: +10 for message, 25 in all",
        "would: 2023-11-14 22:21 telegram/g1 unmute telegram:alice [spam]: "
        "unmute: the mute of telegram:alice ended",
        "would: 2023-11-14 23:13 telegram/g1 award_points telegram:bob [tally]: "
        "award_points: +10 for message, 10 in all",
        "dry run: 8 new action(s) (4 events, 1 ticks, playbook v1); nothing recorded",
    ]
    assert _actions(db_path) == []
    with open_store(db_path) as db:
        assert db.setting(CURSOR_SETTING.format(community="makers")) is None


def test_dry_run_summarises_per_rule_with_one_explained_example_of_each(
    db_path: str, own_engines: None
) -> None:
    _apply(db_path)
    lines = _cli(db_path, "run", "--community", "makers", "--dry-run")
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert rows == [
        ["spam", "-", "1", "unmute 1"],
        ["spam", "no-spam", "2", "warn 1, mute 1"],
        ["tally", "-", "5", "award_points 4, deduct_points 1"],
    ]
    examples = lines[
        lines.index("the first of each, with its reason (--all lists every action):") + 1 : -1
    ]
    assert examples == [
        "  2023-11-14 22:21 telegram/g1 unmute telegram:alice [spam]: "
        "unmute: the mute of telegram:alice ended",
        "  2023-11-14 22:15 telegram/g1 mute telegram:alice [spam/no-spam]: "
        "mute: spam #2 (rule no-spam)",
        "  2023-11-14 22:14 telegram/g1 warn telegram:alice [spam/no-spam]: "
        "warn: spam #1 (rule no-spam)",
        "  2023-11-14 22:13 telegram/g1 award_points telegram:alice [tally]: "
        "award_points: +10 for message, 10 in all",
        "  2023-11-14 22:15 telegram/g1 deduct_points telegram:alice [tally]: "
        "deduct_points: -5 for mute, 15 in all",
    ]
    assert (
        lines[-1] == "dry run: 8 new action(s) (4 events, 1 ticks, playbook v1); nothing recorded"
    )
    assert _actions(db_path) == []


def test_run_records_once_and_then_only_what_is_new(db_path: str, own_engines: None) -> None:
    _apply(db_path)
    lines = _cli(db_path, "run", "--community", "makers")
    assert lines[0].startswith("2023-11-14 22:13 telegram/g1 award_points telegram:alice")
    assert lines[-2].startswith("note: engine 'missing' is not installed")
    assert lines[-1] == (
        "recorded 8 action(s) as import #2 (4 events, 1 ticks, playbook v1); "
        "undo with: shequn imports undo 2"
    )
    recorded = _actions(db_path)
    assert len(recorded) == 8 and all(text for _, text, _ in recorded)
    assert ("alice", "unmute: the mute of telegram:alice ended") in [r[:2] for r in recorded]

    # again: nothing new, nothing stored
    assert _cli(db_path, "run", "--community", "makers")[-1] == (
        "nothing new to do (4 events, 1 ticks, playbook v1)"
    )
    assert _actions(db_path) == recorded

    # new events: only their actions (the state was rebuilt from the start: 3rd spam)
    with open_store(db_path) as db:
        store_events(db, "makers", LATER, name="later")
    lines = _cli(db_path, "run", "--community", "makers")
    assert lines[:-2] == [
        "2023-11-15 00:13 telegram/g1 remove telegram:alice [spam/no-spam]: "
        "remove: spam #3 (rule no-spam)",
        "2023-11-15 00:13 telegram/g1 deduct_points telegram:alice [tally]: "
        "deduct_points: -100 for remove, -75 in all",
        "2023-11-15 00:13 telegram/g1 award_points telegram:alice [tally]: "
        "award_points: +10 for message, -65 in all",
    ]
    assert len(_actions(db_path)) == 11


def test_a_new_playbook_does_not_act_on_events_already_processed(
    db_path: str, own_engines: None
) -> None:
    _apply(db_path)
    _cli(db_path, "run", "--community", "makers")
    _apply(db_path, PLAYBOOK.replace('at = 1, action = "warn"', 'at = 1, action = "notice"'))
    with open_store(db_path) as db:
        assert len(db.playbooks("makers")) == 2
    assert _cli(db_path, "run", "--community", "makers")[-1].startswith("nothing new to do")


def test_until_fires_the_deadlines_after_the_last_event(tmp_path: Path, own_engines: None) -> None:
    short = str(tmp_path / "short.duckdb")
    with open_store(short) as db:
        store_events(db, "makers", LOG[:3])
        db.save_playbook("makers", PLAYBOOK, "p.toml")
    lines = _cli(short, "run", "--community", "makers", "--dry-run")
    assert not any("unmute" in line for line in lines)
    lines = _cli(short, "run", "--community", "makers", "--dry-run", "--until", "1h")
    assert any(" unmute telegram:alice" in line for line in lines)
    lines = _cli(short, "run", "--community", "makers", "--until", "2023-11-14T23:00:00Z")
    assert sum(" unmute " in line for line in lines) == 1
    # the tick after the last event is behind the cursor now: run again adds nothing
    assert _cli(short, "run", "--community", "makers", "--until", "1h")[-1].startswith(
        "nothing new"
    )


def test_recording_is_idempotent_on_both_stores(store: Store) -> None:
    from enginehelp import SpamEngine, TallyEngine, playbook

    store_events(store, "makers", LOG)
    store.save_playbook("makers", PLAYBOOK, "p.toml")
    book = playbook()
    first = run_community(store, "makers", engines=[SpamEngine(book), TallyEngine(book)])
    assert first.recorded == 8 and first.cursor_after == (T0 + 3600) * 1_000_000
    # the cursor forgotten: every action is computed again, and none is new
    store.set_setting(CURSOR_SETTING.format(community="makers"), "")
    again = run_community(store, "makers", engines=[SpamEngine(book), TallyEngine(book)])
    assert again.actions == [] and again.import_id is None
    table = store.events(kinds=["action_taken"])
    assert table.num_rows == 8
    assert sorted(table.column("key").to_pylist()) == sorted(t.key for t in first.actions)
    unmute = [r for r in table.to_pylist() if '"unmute"' in r["extra"]]
    assert (
        unmute[0]["ts"].replace(tzinfo=UTC).timestamp() == UNMUTE
        and unmute[0]["member_id"] == "alice"
    )


# -- end to end, over the real engines ---------------------------------------------------------
#: (engine, kind, member, seconds after T0, words its explanation must hold)
EXPECTED = [
    ("screening", "reject", "fay", 0, "“spam bot”"),
    ("screening", "notice", "tim", 60, "question 1 of 1"),
    ("screening", "reject", "tim", 660, "within 10 min"),
    ("screening", "approve", "pat", 1800, "answered the question acceptably"),
    ("screening", "post_message", "pat", 1800, "welcome"),
    ("metabolism", "warn_inactive", "quiet", 1810, "19/20"),
    ("moderation", "delete_message", "pat", 2000, "rule no-new-links"),
    ("moderation", "warn", "pat", 2000, "1st violation of rule no-new-links"),
    ("metabolism", "remove", "quiet", 5460, "did not post within the 1 h grace period"),
    ("moderation", "delete_message", "vic", 7200, "rule no-ads"),
    ("moderation", "warn", "vic", 7200, "1st violation of rule no-ads"),
    ("moderation", "delete_message", "vic", 7260, "rule no-ads"),
    ("moderation", "mute", "vic", 7260, "2nd violation of rule no-ads within 24 h"),
    ("moderation", "unmute", "vic", 7860, "the mute ended"),
    ("moderation", "delete_message", "vic", 8000, "rule no-ads"),
    ("moderation", "remove", "vic", 8000, "3rd violation of rule no-ads within 24 h"),
    ("checkins", "award_points", "cat", 50340, "on 2024-03-01 (the group's day in Asia/Shanghai)"),
    ("checkins", "award_points", "cat", 50460, "day 2 of the streak"),
]


def test_end_to_end_over_the_real_engines(tmp_path: Path) -> None:
    """Join requests passed, failed and timed out; a newcomer's link; a ladder climbed to
    removal; check-ins across midnight; a group at 95 % of its cap. Every engine of the
    registry must be installed."""
    from e2e_scenario import PLAYBOOK as E2E_PLAYBOOK
    from e2e_scenario import T0 as E0
    from e2e_scenario import scenario

    from shequn.engines.registry import ENGINES, load_engines
    from shequn.playbook import parse_playbook

    path = str(tmp_path / "e2e.duckdb")
    with open_store(path) as db:
        store_events(db, "makers", scenario())
        db.save_playbook("makers", E2E_PLAYBOOK, "playbook.toml")
    engines, notes = load_engines(parse_playbook(E2E_PLAYBOOK, "e2e"))
    # every engine takes part: a missing one must fail this test, not shrink it
    assert [e.name for e in engines] == [name for name, _ in ENGINES] and notes == []
    expected = EXPECTED

    with open_store(path) as db:
        report = run_community(db, "makers")
        made = [
            (t.action.engine, t.action.kind, t.action.member, t.action.ts - E0)
            for t in report.actions
        ]
        assert made == [(e, k, f"telegram:{m}", s) for e, k, m, s, _ in expected]
        for taken, (*_, words) in zip(report.actions, expected, strict=True):
            assert words in taken.action.explanation, (taken.action.explanation, words)
        stored = db.events(kinds=["action_taken"]).to_pylist()
        assert [r["text"] for r in stored] == [t.action.explanation for t in report.actions]
        assert [r["member_id"] for r in stored] == [m for _, _, m, _, _ in expected]

    # running it again adds nothing
    lines = _cli(path, "run", "--community", "makers")
    assert lines[-1].startswith("nothing new to do")
    with open_store(path) as db:
        assert db.events(kinds=["action_taken"]).num_rows == len(expected)


# -- live: the wall clock ---------------------------------------------------------------------
def test_until_now_and_watch_fire_a_deadline_while_the_group_is_silent(tmp_path: Path) -> None:
    """A join request stored 30 minutes ago (wall clock), never answered, with a 10-minute
    limit: a run up to the last event cannot time it out; one up to now does, and so does
    each round of --watch — once, however many rounds run."""
    import time

    from e2e_scenario import PLAYBOOK as E2E_PLAYBOOK

    asked = int(time.time()) - 1800
    path = str(tmp_path / "live.duckdb")
    with open_store(path) as db:
        store_events(db, "makers", [{"kind": "join_requested", "ts": asked, "member_id": "tim"}])
        db.save_playbook("makers", E2E_PLAYBOOK, "playbook.toml")
    lines = _cli(path, "run", "--community", "makers", "--dry-run")
    assert not any(" reject " in line for line in lines), lines
    lines = _cli(path, "run", "--community", "makers", "--dry-run", "--until", "now")
    assert sum(" reject telegram:tim" in line and "within 10 min" in line for line in lines) == 1
    lines = _cli(path, "run", "--community", "makers", "--watch", "0", "--rounds", "2")
    assert sum(" reject telegram:tim" in line for line in lines) == 1, lines
    assert lines[-1].startswith("nothing new to do"), lines
    with open_store(path) as db:
        taken = db.events(kinds=["action_taken"]).to_pylist()
    rejects = [r for r in taken if '"reject"' in r["extra"]]
    assert len(rejects) == 1
    moment = rejects[0]["ts"].replace(tzinfo=UTC).timestamp()
    # fired at the first tick after the limit (the grid of TICK_SECONDS), not at "now"
    assert asked + 600 <= moment < asked + 600 + 60
    # a live event stamped 10 s before the last run's wall clock but stored after it (a
    # webhook's delay) is still ahead of the cursor, which stays LIVE_SETTLE_SECONDS
    # behind: a later run acts on it (here one up to this moment, given as a time)
    with open_store(path) as db:
        late = int(db.setting(CURSOR_SETTING.format(community="makers"))) // 1_000_000 + 20
        store_events(
            db, "makers", [{"kind": "join_requested", "ts": late, "member_id": "ann"}], "late"
        )
    moment_now = datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S")
    lines = _cli(path, "run", "--community", "makers", "--until", moment_now)
    assert sum(" notice telegram:ann" in line for line in lines) == 1, lines


def test_watch_outlives_a_run_that_fails_while_an_import_holds_the_store(db_path: str) -> None:
    """An import holds the embedded store's lock, so a round cannot open it: the watcher
    reports that round and acts in the next one, once the store is free."""
    import subprocess
    import sys

    _apply(db_path)
    command = [sys.executable, "-m", "shequn.cli", "run", "--community", "makers"]
    with subprocess.Popen(
        [*command, "--watch", "0.2", "--rounds", "40", "--until", "2024-03-02", "--store", db_path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as watcher:
        assert watcher.stderr is not None and watcher.stdout is not None
        with open_store(db_path):  # the lock an import holds
            failure = watcher.stderr.readline()
        # read on through the same buffered stream (communicate() would skip what it holds)
        stderr = failure + watcher.stderr.read()
        stdout = watcher.stdout.read()
    assert watcher.returncode == 0, stderr
    assert "cannot open store" in failure and "lock" in failure, failure
    assert "run 1 failed; trying again in 0.2 s" in stderr
    assert sum(line.startswith("recorded ") for line in stdout.splitlines()) == 1, stdout
    assert stdout.splitlines()[-1].startswith("nothing new to do"), stdout
    assert len(_actions(db_path)) > 0


def test_watch_refuses_a_dry_run_and_rounds_need_watch(db_path: str) -> None:
    result = CliRunner().invoke(
        app, ["run", "--community", "makers", "--dry-run", "--watch", "1", "--store", db_path]
    )
    assert result.exit_code != 0 and "records nothing" in result.output
    result = CliRunner().invoke(
        app, ["run", "--community", "makers", "--rounds", "2", "--store", db_path]
    )
    assert result.exit_code != 0 and "--rounds goes with --watch" in result.output


def test_run_names_the_groups_with_events_the_playbook_does_not_list(
    tmp_path: Path, own_engines: None
) -> None:
    """Only stored groups that have events and are not listed: g2 is listed (no events),
    g5 is neither listed nor has events; the note is in text and JSON, said once."""
    path = str(tmp_path / "store.duckdb")
    unlisted = ["-1001644844433", "g3", "g4", "g6", "g7", "g8"]
    with open_store(path) as db:
        for group in ["g1", "g2", "g5", *unlisted]:
            name = "Photo walks +49 170 1234567" if group == unlisted[0] else group
            db.upsert_group("makers", "telegram", group, name, "UTC")
        items = [{**LOG[0], "group_id": group} for group in ["g1", *unlisted]]
        for i, item in enumerate(items):
            item["ts"] = T0 + i
        store_events(db, "makers", items)
    _apply(path)
    lines = _cli(path, "run", "--community", "makers", "--dry-run")
    note = (
        "note: 6 groups with events are not in the playbook: telegram/-1001644844433 "
        "('Photo walks +49 ••• •••••67'), telegram/g3, telegram/g4, telegram/g6, "
        "telegram/g7 and 1 more — add them to [[groups]] to run them"
    )
    assert [line for line in lines if "not in the playbook" in line] == [note]
    dry_json = _cli(path, "run", "--community", "makers", "--dry-run", "--json")
    document = json.loads("\n".join(dry_json))
    assert document["notes"][-1] == note.removeprefix("note: ")
    shown = _cli(path, "run", "--community", "makers", "--show-phones")
    assert sum("not in the playbook" in line for line in shown) == 1
    assert "('Photo walks +49 170 1234567')" in "\n".join(shown)


def test_run_has_no_such_note_when_every_group_with_events_is_listed(
    db_path: str, own_engines: None
) -> None:
    with open_store(db_path) as db:
        db.upsert_group("makers", "telegram", "g1", "g1", "UTC")
        db.upsert_group("makers", "telegram", "g9", "Empty", "UTC")  # unlisted, no events
    _apply(db_path)
    lines = _cli(db_path, "run", "--community", "makers", "--dry-run")
    assert not any("not in the playbook" in line for line in lines)


def test_a_team_member_listed_by_a_linked_identity_is_the_team_in_the_events(
    tmp_path: Path,
) -> None:
    """The events name a linked identity by its member's key; the playbook's team names
    the identity. The owner, linked to another key, posts a banned word: exempt as the
    owner (a rule exempts the team), not warned as a stranger."""
    from e2e_scenario import PLAYBOOK as E2E_PLAYBOOK

    path = str(tmp_path / "linked.duckdb")
    with open_store(path) as db:
        post = {"kind": "message_posted", "ts": T0, "member_id": "owner", "text": "代购"}
        store_events(db, "makers", [post])
        db.save_playbook("makers", E2E_PLAYBOOK, "playbook.toml")
        unlinked = run_community(db, "makers", dry_run=True)
        db.link_identities("telegram", "owner", "telegram:boss")
        linked = run_community(db, "makers", dry_run=True)
    assert [t.action.kind for t in unlinked.actions] == []  # the owner: exempt
    # linked, the event's member is telegram:boss — still the owner the playbook names
    assert [t.action.kind for t in linked.actions] == []
