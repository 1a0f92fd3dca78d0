"""``shequn run`` and ``shequn replay``: the engines over the log, for real or what-if."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from shequn.cli.common import JsonOption, StoreOption, errors, out, parse_time, store_location
from shequn.store import open_store

#: how many rows of a long replay table are shown (all of them are in --json)
SHOWN_ROWS = 40

_DURATION = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$")

CommunityArg = Annotated[str, typer.Option("--community", help="The community to run.")]


def _moment(value: str | None, option: str, sign: int) -> Callable[[int], int] | int | None:
    """An ISO date/time (UTC), or a duration counted from the log's last event."""
    if value is None:
        return None
    if _DURATION.match(value):
        from shequn.playbook.durations import parse_duration

        seconds = parse_duration(value)
        return lambda last: last + sign * seconds
    moment = parse_time(value, option)
    assert moment is not None
    return int(moment.replace(tzinfo=UTC).timestamp())


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


def run(
    ctx: typer.Context,
    community: CommunityArg,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Record nothing; print what would happen and why."),
    ] = False,
    until: Annotated[
        str | None,
        typer.Option(
            help="End of the analysed time: ISO date/time (UTC) or a duration after the "
            "last event, e.g. 3d (default: the last event)."
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Apply the community's current playbook to the events not processed yet.

    The engines' state is rebuilt from the log's start; the actions caused by events
    after the last run are recorded as action_taken events and shown. Running it again
    adds nothing.

    Example: shequn run --community makers --dry-run
    """
    from shequn.engines.adapters import ConsoleAdapter, describe
    from shequn.engines.runner import run_community

    with errors(), open_store(store_location(ctx, store)) as db:
        report = run_community(
            db,
            community,
            until=_moment(until, "--until", +1),
            dry_run=dry_run,
            adapter=None if dry_run else ConsoleAdapter(sys.stdout),
        )
    for note in report.notes:
        out.print(f"note: {note}", markup=False)
    if dry_run:
        for item in report.actions:
            out.print(describe(item.action, verb="would: "), markup=False)
    c = report.counts
    seen = f"{c.events:,} events, {c.ticks:,} ticks, playbook v{report.version}"
    if dry_run:
        out.print(
            f"dry run: {len(report.actions):,} new action(s) ({seen}); nothing recorded",
            markup=False,
        )
    elif report.import_id is None:
        out.print(f"nothing new to do ({seen})", markup=False)
    else:
        out.print(
            f"recorded {report.recorded:,} action(s) as import #{report.import_id} ({seen}); "
            f"undo with: shequn imports undo {report.import_id}",
            markup=False,
        )


def replay(
    ctx: typer.Context,
    community: CommunityArg,
    playbook: Annotated[
        Path, typer.Option("--playbook", help="The changed playbook (TOML) to compare.")
    ],
    since: Annotated[
        str | None,
        typer.Option(
            help="Start of the compared window: a duration back from the last event "
            "(30d) or an ISO date/time (UTC); default the log's start."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="End of the window: ISO date/time or a duration after the last event."),
    ] = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """What a changed playbook would have done, against the current one.

    Both replay the whole log; shown are the differences in the window: who would have
    been removed or spared, actions per kind, points and levels, leaderboards.

    Example: shequn replay --community makers --playbook new.toml --since 30d
    """
    from shequn.engines.replay import replay_community
    from shequn.playbook import load_playbook

    with errors():
        book = load_playbook(playbook)
        with open_store(store_location(ctx, store)) as db:
            diff = replay_community(
                db,
                community,
                book,
                label=str(playbook),
                since=_moment(since, "--since", -1),
                until=_moment(until, "--until", +1),
            )
    result = diff.to_json()
    if as_json:
        out.print(json.dumps(result, ensure_ascii=False, sort_keys=True, default=str), markup=False)
        return
    _print_replay(result)


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = Table(title=title, show_header=True, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows[:SHOWN_ROWS]:
        table.add_row(*(escape(cell) for cell in row))
    out.print(table)
    if len(rows) > SHOWN_ROWS:
        out.print(f"… and {len(rows) - SHOWN_ROWS:,} more (see --json)", markup=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict) and set(value) == {"member", "points"}:
        return f"{value['member']} ({value['points']:,})"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _print_replay(r: dict[str, Any]) -> None:
    out.print(
        f"replay of {r['community']!r} from {_when(r['since'])} to {_when(r['until'])} UTC: "
        f"current playbook {r['current']['playbook']} vs {r['new']['playbook']}",
        markup=False,
    )
    for note in r["notes"]:
        out.print(f"note: {note}", markup=False)
    differs = r["removed"] or r["spared"] or r["only_current"] or r["only_new"]
    if not (differs or r["state"] or r["leaderboards"]):
        out.print("no difference: both playbooks do the same", markup=False)
        return
    _table(
        "actions",
        ("kind", "current", "new", "change"),
        [
            (kind, f"{c['current']:,}", f"{c['new']:,}", f"{c['new'] - c['current']:+,}")
            for kind, c in r["counts"].items()
            if c["current"] != c["new"]
        ],
    )
    for title, rows in (("would be removed", r["removed"]), ("would be spared", r["spared"])):
        if rows:
            _table(
                title,
                ("when", "group", "member", "why"),
                [(_when(a["ts"]), a["group"], a["member"], a["explanation"]) for a in rows],
            )
    if r["state"]:
        # what operators compare first: points, then levels, badges, the rest
        first = {"points": 0, "levels": 1, "badges": 2}
        rows = sorted(r["state"], key=lambda s: first.get(s["path"].split("/")[0], 3))
        _table(
            "state at the end (points, levels, badges, …)",
            ("engine", "what", "current", "new"),
            [(s["engine"], s["path"], _cell(s["current"]), _cell(s["new"])) for s in rows],
        )
    if r["leaderboards"]:
        _table(
            "leaderboards",
            ("board", "rank", "current", "new"),
            [
                (b["board"], str(b["rank"]), _cell(b["current"]), _cell(b["new"]))
                for b in r["leaderboards"]
            ],
        )
    if r["only_current"] or r["only_new"]:
        _table(
            "actions that differ",
            ("when", "group", "member", "action", "under", "why"),
            [
                (
                    _when(a["ts"]),
                    a["group"],
                    a["member"] or "-",
                    a["kind"],
                    "current",
                    a["explanation"],
                )
                for a in r["only_current"]
            ]
            + [
                (_when(a["ts"]), a["group"], a["member"] or "-", a["kind"], "new", a["explanation"])
                for a in r["only_new"]
            ],
        )
