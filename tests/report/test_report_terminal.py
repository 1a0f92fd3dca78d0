"""``shequn report`` without --json or --out: the key tables in the terminal, names as
written (rich markup in a name is printed, never interpreted)."""

from __future__ import annotations

import io
from datetime import datetime

import pyarrow as pa
from rich.console import Console
from typer.testing import CliRunner

from conftest import RICH_NAME, Hostile
from shequn.cli import app
from shequn.report import assemble, print_report
from shequn.report.collect import MetricInfo, empty_explorer


def test_report_prints_the_key_tables(hostile: Hostile) -> None:
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--store",
            str(hostile.store),
            "--metric",
            "activity.weekly",
            "--metric",
            "activity.concentration",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("shequn report · community (all) · 2024-01-01 – 2024-02-04 UTC")
    assert "Weekly activity (activity.weekly)" in out
    assert "Who does the talking (activity.concentration)" in out
    assert "2024-01-29" in out  # the community's weeks, newest last
    assert "Not in this report" in out and "retention.cohorts" in out


def test_names_with_markup_print_as_written() -> None:
    week = datetime(2024, 1, 1)
    results = {
        "kols.ranking": pa.table(
            {"group": ["*", "*"], "member": [RICH_NAME, "[/]"], "draw_ratio": [0.9, 0.25]}
        ),
        "activity.weekly": pa.table(
            {"group": ["*", "g/[red]x[/red]"], "week": [week, week], "messages": [3, 3]}
        ),
    }
    infos = {n: MetricInfo(n, f"Title [b]{n}[/b]", "explain") for n in results}
    meta = {
        "engine": "duckdb",
        "scope": {"community": "[blink]c[/blink]", "groups": [], "since": None, "until": None},
        "period": {"start": "2024-01-01T00:00:00", "end": "2024-01-08T00:00:00"},
        "settings": {},
        "groups": [],
    }
    buffer = io.StringIO()
    print_report(assemble(meta, results, infos), Console(file=buffer, width=200))
    text = buffer.getvalue()
    assert RICH_NAME in text and "[/]" in text
    assert "community [blink]c[/blink]" in text
    assert "Title [b]kols.ranking[/b] (kols.ranking)" in text
    assert "25.0%" not in text and "0.25" in text  # a ratio is not a share


def test_terminal_shows_names_unfinished_weeks_and_the_hour_strip() -> None:
    early, late = datetime(2024, 1, 1), datetime(2024, 1, 8)
    results = {
        "activity.weekly": pa.table(
            {
                "group": ["*", "*"],
                "week": [early, late],
                "complete": [True, False],
                "messages": [40, 7],
            }
        ),
        "kols.ranking": pa.table(
            {
                "group": ["*", "*"],
                "member": ["whatsapp:+4917000000011", "whatsapp:bob"],
                "influence_rank": [1, 2],
            }
        ),
        "hours.heatmap": pa.table(
            {
                "group": ["*", "*", "g/a"],
                "weekday": [0, 6, 0],
                "hour": [0, 23, 5],
                "messages": [8, 2, 99],
            }
        ),
    }
    infos = {n: MetricInfo(n, n.title(), "explain") for n in results}
    meta = {
        "engine": "duckdb",
        "scope": {"community": "c", "groups": [], "since": None, "until": None},
        "period": {"start": "2024-01-01T00:00:00", "end": "2024-01-10T00:00:00"},
        "settings": {},
        "groups": [],
    }
    explorer = {**empty_explorer(), "members": ["whatsapp:bob"], "names": ["Bob Li"]}
    buffer = io.StringIO()
    print_report(assemble(meta, results, infos, explorer), Console(file=buffer, width=200))
    lines = buffer.getvalue().splitlines()
    assert any("Bob Li" in line and "2" in line for line in lines)  # a name, not a key
    assert any("whatsapp:+4917000000011" in line for line in lines)  # no name: the key
    assert any("2024-01-08 (so far)" in line for line in lines)
    assert any("2024-01-01 " in line for line in lines)
    assert not any("2024-01-01 (so far)" in line for line in lines)
    strip = {line[:3]: line[5:29] for line in lines if line[:3] in ("Mon", "Sun")}
    # the community's hours only (group g/a's 99 is not in it): Monday 0:00 darkest
    assert strip["Mon"][0] == "█" and strip["Mon"][5] == " "
    assert strip["Sun"][23] == "░" and strip["Sun"][0] == " "  # 2 of 8: the first quarter
