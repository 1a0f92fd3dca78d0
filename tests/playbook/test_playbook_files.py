"""Playbook files: the template validates, every mistake names file, line and field."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from shequn.cli import app
from shequn.errors import PlaybookError
from shequn.playbook import (
    clone_playbook,
    load_playbook,
    parse_playbook,
    playbook_schema,
    schema_text,
    starting_playbook,
)
from shequn.playbook.durations import format_duration, parse_duration
from shequn.playbook.locate import line_index
from shequn.store import Store

DOCS = Path(__file__).parents[2] / "docs"


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text)
    return caught.value.problems


def line_with(text: str, fragment: str, nth: int = 0) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return hits[nth]


def test_the_starting_playbook_is_valid_and_complete() -> None:
    book = parse_playbook(starting_playbook("club", "wechat", "123@chatroom", "Asia/Shanghai"))
    assert book.community == "club"
    assert (book.groups[0].platform, book.groups[0].id, book.groups[0].cap) == (
        "wechat",
        "123@chatroom",
        500,
    )
    assert [r.kind for r in book.rules] == ["links", "banned_words", "flood", "repeat"]
    assert book.rules[0].penalty[2].duration == 7 * 86_400
    assert book.screening.enabled and book.screening.time_limit == 600
    assert book.checkins.streak_bonus == {"7": 10, "30": 50}
    assert [level.threshold for level in book.levels] == [0, 100, 500]


def test_a_wrong_value_names_its_line_and_field() -> None:
    text = starting_playbook()
    bad = text.replace('{ at = 4, action = "mute"', '{ at = 4, action = "mutee"')
    assert problems(bad) == [
        (
            line_with(bad, '"mutee"'),
            "rules[0].penalty[2].action",
            "'mutee' is not one of warn, notice, mute, remove",
        )
    ]


def test_several_mistakes_are_all_reported_in_file_order() -> None:
    text = starting_playbook()
    bad = (
        text.replace("cap = 500", "cap = -3")
        .replace("min_messages = 5", "min_mesages = 5")
        .replace('kind = "flood"', 'kind = "floood"')
        .replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"')
    )
    found = problems(bad)
    assert [(line, field) for line, field, _ in found] == [
        (line_with(bad, "cap = -3"), "groups[0].cap"),
        (line_with(bad, "timezone ="), "groups[0].timezone"),
        (line_with(bad, "min_mesages"), "trust.levels[1].min_mesages"),
        (line_with(bad, '"floood"'), "rules[2].kind"),
    ]
    messages = [message for _, _, message in found]
    assert "'Mars/Olympus' is not an IANA timezone" in messages[1]
    assert messages[2] == "unknown field (a typo?)"
    assert messages[3].startswith("'floood' is not a rule kind (links, banned_words")


def test_broken_toml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "playbook.toml"
    path.write_text('version = 1\ncommunity = "x"\n[groups\n', encoding="utf-8")
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    ((line, field, message),) = caught.value.problems
    assert line == 3 and field == "" and message.startswith("not valid TOML")
    assert str(caught.value).startswith(f"{path}:3: not valid TOML")


@pytest.mark.parametrize(
    ("replace", "by", "field", "message"),
    [
        (
            '{ at = 2, action = "notice" }',
            '{ at = 1, action = "notice" }',
            "rules[0].penalty[1].at",
            "penalty steps must have increasing 'at' counts",
        ),
        (
            '{ at = 4, action = "mute", duration = "7d" }',
            '{ at = 4, action = "mute" }',
            "rules[0].penalty[2]",
            "a mute needs a duration",
        ),
        (
            'within = "30s"',
            'within = "half a minute"',
            "rules[2].within",
            "'half a minute' is not a duration",
        ),
        (
            'pattern = ".{10,}"',
            'pattern = "(unclosed"',
            "screening.questions[0].pattern",
            "is not a valid regular expression",
        ),
        (
            'id = "helper"',
            'id = "streak-7"',
            "badges[1].id",
            "two badges share the id 'streak-7'",
        ),
        (
            "down_to_share = 0.9",
            "down_to_share = 0.99",
            "metabolism.down_to_share",
            "down_to_share must not exceed at_share",
        ),
    ],
)
def test_rule_level_checks(replace: str, by: str, field: str, message: str) -> None:
    text = starting_playbook()
    assert replace in text
    ((_, got_field, got_message),) = problems(text.replace(replace, by, 1))
    assert got_field == field and message in got_message


GROUP_TEAM = """timezone = "Asia/Shanghai"
team = ["telegram:owner-id", "telegram:nobody"]
"""


@pytest.mark.parametrize(
    ("edit", "marker", "field", "message"),
    [
        (  # the same group twice: the second is named
            lambda t: t.replace(
                "[[team.members]]",
                '[[groups]]\nplatform = "telegram"\nid = "-1001234567890"\n\n[[team.members]]',
            ),
            ('id = "-1001234567890"', 1),
            "groups[1].id",
            "group telegram:-1001234567890 is listed twice",
        ),
        (
            lambda t: t.replace('id = "no-repeats"', 'id = "no-flood"'),
            ('id = "no-flood"', 1),
            "rules[3].id",
            "two rules share the id 'no-flood'",
        ),
        (
            lambda t: t.replace("threshold = 500", "threshold = 50"),
            ("threshold = 50", 0),
            "levels[2].threshold",
            "level thresholds must start at 0 and increase",
        ),
        (
            lambda t: t.replace("threshold = 0", "threshold = 1"),
            ("threshold = 1", 0),
            "levels[0].threshold",
            "level thresholds must start at 0 and increase",
        ),
        (
            lambda t: t.replace('timezone = "Asia/Shanghai"\n', GROUP_TEAM, 1),
            ("team = [", 0),
            "groups[0].team[1]",
            "group -1001234567890 names telegram:nobody who is not in team",
        ),
        (
            lambda t: t.replace("level = 1\n", "level = 0\n"),
            ("level = 0", 1),
            "trust.levels[1].level",
            "trust levels must be numbered in increasing order",
        ),
        (  # a key a table does not take is named as itself, not as "[key]"
            lambda t: t.replace("[points.actions.answer]", "[points.actions.answers]"),
            ("[points.actions.answers]", 0),
            "points.actions.answers",
            "'answers' is not one of message, reply_reacted, answer",
        ),
    ],
)
def test_checks_across_fields_name_the_line_and_field(
    edit: Any, marker: tuple[str, int], field: str, message: str
) -> None:
    text = starting_playbook()
    bad = edit(text)
    assert bad != text
    ((line, got_field, got_message),) = problems(bad)
    assert (line, got_field) == (line_with(bad, *marker), field)
    assert got_message.startswith(message), got_message


def test_the_published_schema_is_the_models_schema() -> None:
    assert (DOCS / "playbook.schema.json").read_text(encoding="utf-8") == schema_text()
    schema = playbook_schema()
    assert schema["title"] == "Playbook" and "rules" in schema["properties"]
    assert json.loads(schema_text()) == schema


def test_clone_replicates_onto_new_groups_keeping_comments() -> None:
    source = starting_playbook()
    copy = clone_playbook(source, ["telegram:-100777", "wechat:9@chatroom"], community="b")
    book = parse_playbook(copy)
    assert [(g.platform, g.id, g.cap, g.timezone) for g in book.groups] == [
        ("telegram", "-100777", 500, "Asia/Shanghai"),
        ("wechat", "9@chatroom", 500, "Asia/Shanghai"),
    ]
    assert book.community == "b"
    assert book.rules == parse_playbook(source).rules
    assert "# 群规: each rule has a penalty ladder" in copy
    # every comment survives, in order — the one after the last group too
    comments = [line for line in source.splitlines() if line.lstrip().startswith("#")]
    assert [line for line in copy.splitlines() if line.lstrip().startswith("#")] == comments
    assert 'timezone = "Asia/Shanghai"\n\n# 团队: who runs it' in copy


@given(st.integers(min_value=0, max_value=10**7))
def test_durations_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_line_index_counts_array_entries_per_parent() -> None:
    text = (
        "[[rules]]\nid = 'a'\n[[rules.steps]]\nx = 1\n[[rules]]\nid = 'b'\n[[rules.steps]]\nx = 2\n"
    )
    index = line_index(text)
    assert index[("rules", 1, "id")] == 6
    assert index[("rules", 1, "steps", 0, "x")] == 8
    assert tomllib.loads(text)["rules"][1]["steps"][0]["x"] == 2


def test_apply_keeps_versions_and_skips_unchanged(store: Store, tmp_path: Path) -> None:
    first = starting_playbook()
    version, new = store.save_playbook("makers", first, "a.toml")
    assert (version.version, new) == (1, True)
    assert store.save_playbook("makers", first, "a.toml")[1] is False
    changed = first.replace("cap = 500", "cap = 200")
    version, new = store.save_playbook("makers", changed, "b.toml")
    assert (version.version, new) == (2, True)
    history = store.playbooks("makers")
    assert [v.version for v in history] == [1, 2] and history[-1].text == changed
    assert store.playbooks("other") == []


def test_cli_validate_prints_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(starting_playbook().replace('action = "warn" }', 'action = "wran" }'), "utf-8")
    result = CliRunner().invoke(app, ["playbook", "validate", str(path)])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 3 and all("'wran' is not one of" in line for line in errors)
    assert all(f"{path}:" in line for line in errors)


def test_apply_and_history_show_a_file_name_as_written(tmp_path: Path) -> None:
    """A file name that looks like rich markup is printed as it is, not styled away."""
    path = tmp_path / "[bold]club.toml"
    path.write_text(starting_playbook(), encoding="utf-8")
    db = str(tmp_path / "s.duckdb")
    outputs = [
        CliRunner().invoke(app, ["--store", db, "playbook", *args]).output
        for args in (
            ["apply", str(path)],
            ["apply", str(path)],
            ["history", "--community", "makers"],
        )
    ]
    assert outputs[0] == f"applied {path} as version 1 of 'makers'\n"
    assert outputs[1] == f"{path} is already version 1 of 'makers'\n"
    assert "[bold]club.toml" in outputs[2]
