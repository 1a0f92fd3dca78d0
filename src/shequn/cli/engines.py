"""``shequn run`` and ``shequn replay``: the engines over the log, for real or what-if."""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, TextIO

import typer
from rich.table import Table

from shequn.cli.common import (
    JsonOption,
    ShowPhonesOption,
    StoreOption,
    cell,
    err,
    errors,
    out,
    parse_time,
    store_location,
)
from shequn.engines.adapters import describe
from shequn.engines.base import Action
from shequn.privacy.display import shown
from shequn.safe_text import json_text, printable
from shequn.store import GroupInfo, Store, Window, open_store

if TYPE_CHECKING:
    from shequn.playbook.model import Playbook

#: how many rows of a long replay table are shown (all of them are in --json)
SHOWN_ROWS = 40

_DURATION = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$")


class Shown:
    """Text as run and replay show it: phone numbers masked unless ``--show-phones`` —
    but not the groups' own keys (a Telegram group's ``-100…`` id is no phone number)."""

    def __init__(self, groups: Iterable[str], show_phones: bool) -> None:
        keys = sorted(set(groups), key=len, reverse=True)
        self.show_phones = show_phones
        self.keep = re.compile("(" + "|".join(map(re.escape, keys)) + ")") if keys else None

    @classmethod
    def of(cls, books: Iterable[Playbook], show_phones: bool) -> Shown:
        return cls((f"{g.platform}/{g.id}" for b in books for g in b.groups), show_phones)

    def __call__(self, text: str) -> str:
        if self.show_phones:
            return text
        if self.keep is None:
            return shown(text)
        parts = self.keep.split(text)
        return "".join(p if i % 2 else shown(p) for i, p in enumerate(parts))

    def line(self, action: Action, verb: str = "") -> str:
        """One action as the console prints it (masked, control characters written out)."""
        return printable(self(describe(action, verb=verb)))


class MaskedConsole:
    """The console adapter as ``shequn run`` uses it: each recorded action on one line,
    phone numbers masked unless ``--show-phones``, control characters written out."""

    def __init__(self, stream: TextIO, show: Shown) -> None:
        self.stream = stream
        self.show = show

    def carry_out(self, action: Action) -> None:
        self.stream.write(self.show.line(action) + "\n")


CommunityArg = Annotated[str, typer.Option("--community", help="The community to run.")]


#: how far ``--until now`` stays behind the wall clock: the time a live event takes to be
#: stored (a platform's webhook or a bot's poll, then the write). The cursor moves to the
#: analysed end, and an event stamped before it but stored after the run read the log
#: would be history — never acted on; this margin keeps it ahead of the cursor
LIVE_SETTLE_SECONDS: Final = 30


def _moment(value: str | None, option: str, sign: int) -> Callable[[int], int] | int | None:
    """An ISO date/time (UTC), ``now`` (the wall clock, less LIVE_SETTLE_SECONDS), or a
    duration counted from the log's last event."""
    if value is None:
        return None
    if value.strip().lower() == "now":
        return int(time.time()) - LIVE_SETTLE_SECONDS
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
            help="End of the analysed time: ISO date/time (UTC), now (the wall clock, less 30 s "
            "for live events to be stored) or a duration after the last event, e.g. 3d "
            "(default: the last event; with --watch, now)."
        ),
    ] = None,
    show_all: Annotated[
        bool,
        typer.Option(
            "--all", help="With --dry-run: list every action, points and levels included."
        ),
    ] = False,
    watch: Annotated[
        float | None,
        typer.Option(
            min=0,
            metavar="SECONDS",
            help="Live: run again every SECONDS, each time up to the wall clock, so that "
            "deadlines (screening time limits, mutes, grace periods) fire while the groups "
            "are silent and new events are acted on as they are stored; a run that fails "
            "(the store busy with an import) is reported and tried again; Ctrl-C stops.",
        ),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(min=1, help="With --watch: stop after this many runs.")
    ] = None,
    as_json: JsonOption = False,
    show_phones: ShowPhonesOption = False,
    store: StoreOption = None,
) -> None:
    """Apply the community's current playbook to the events not processed yet.

    The engines' state is rebuilt from the log's start; the actions caused by events
    after the last run are recorded as action_taken events and shown. Running it again
    adds nothing. A dry run records nothing: it counts what would happen and lists
    every moderation, screening and membership action with its reason (--all: every
    action; --json: all of them as JSON).

    Live, beside a bot or webhook that stores the groups' events as they happen, --watch
    60 runs it every minute up to the wall clock (the ticks of the live runner).

    Example: shequn run --community makers --dry-run
    """
    location = store_location(ctx, store)
    if watch is None:
        if rounds is not None:
            raise typer.BadParameter("--rounds goes with --watch", param_hint="--rounds")
        _run_once(location, community, until, dry_run, show_all, as_json, show_phones)
        return
    if dry_run:
        raise typer.BadParameter(
            "a dry run records nothing, so watching it would print the same actions again "
            "and again; run --dry-run once, or --watch without it",
            param_hint="--watch",
        )
    done = 0
    failed = False
    try:
        while rounds is None or done < rounds:
            try:
                _run_once(location, community, until or "now", False, False, as_json, show_phones)
                failed = False
            except typer.Exit:
                # the error is printed; a watcher outlives it (an import holding the
                # embedded store, a playbook being edited): the next run tries again
                failed = True
                err.print(f"run {done + 1:,} failed; trying again in {watch:g} s", markup=False)
            done += 1
            if rounds is None or done < rounds:
                time.sleep(watch)
    except KeyboardInterrupt:
        out.print(f"stopped after {done:,} run(s)", markup=False)
    if failed:
        raise typer.Exit(1)


def _run_once(
    location: str | None,
    community: str,
    until: str | None,
    dry_run: bool,
    show_all: bool,
    as_json: bool,
    show_phones: bool,
) -> None:
    """One ``shequn run`` (see :func:`run`)."""
    from shequn.engines.runner import current_playbook, run_community

    with errors():
        with open_store(location) as db:
            _, book = current_playbook(db, community)
            unlisted = unlisted_groups(db, community, book)
        show = Shown.of([book], show_phones)
        kols, kol_note = _kol_ranking(location, community, [book])
        with open_store(location) as db:
            report = run_community(
                db,
                community,
                until=_moment(until, "--until", +1),
                dry_run=dry_run,
                adapter=None if dry_run else MaskedConsole(sys.stdout, show),
                kols=kols,
            )
    if kol_note:
        report.notes.append(kol_note)
    if unlisted:
        report.notes.append(unlisted_note(unlisted, show_phones))
    if dry_run and as_json:
        document = {
            "community": community,
            "playbook_version": report.version,
            "notes": report.notes,
            "counts": dict(Counter(item.action.kind for item in report.actions)),
            "actions": [_action_json(item.action, show) for item in report.actions],
        }
        out.print(json_text(document, default=str), markup=False)
        return
    for note in report.notes:
        out.print(f"note: {printable(note)}", markup=False)
    if dry_run:
        _print_dry_run([item.action for item in report.actions], show_all, show)
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


def unlisted_groups(db: Store, community: str, book: Playbook) -> list[GroupInfo]:
    """The community's stored groups that have events but that ``book`` does not list
    (the engines do not run them)."""
    listed = {(g.platform, g.id) for g in book.groups}
    return [
        g
        for g in db.groups(Window(community=community))
        if g.events and (g.platform, g.group_id) not in listed
    ]


#: unlisted groups named in the note; the rest are counted
NAMED_GROUPS: Final = 5


def unlisted_note(groups: list[GroupInfo], show_phones: bool) -> str:
    """``2 groups with events are not in the playbook: telegram/-100… ('Photo walks'),
    … — add them to [[groups]] to run them``. Group ids are shown as they are (a group's
    id is no phone number); names have phone numbers masked unless ``show_phones``."""
    named = []
    for g in groups[:NAMED_GROUPS]:
        key = f"{g.platform}/{g.group_id}"
        name = shown(g.name, show_phones=show_phones)
        named.append(f"{key} ({name!r})" if g.name and g.name != g.group_id else key)
    listed = ", ".join(named)
    if len(groups) > NAMED_GROUPS:
        listed += f" and {len(groups) - NAMED_GROUPS} more"
    one = len(groups) == 1
    return (
        f"{len(groups)} group{'' if one else 's'} with events "
        f"{'is' if one else 'are'} not in the playbook: {listed} — add "
        f"{'it' if one else 'them'} to [[groups]] to run {'it' if one else 'them'}"
    )


def _print_dry_run(actions: list[Action], show_all: bool, show: Shown) -> None:
    """What the playbook would do, per engine and rule, and one explained example of each
    (every action with ``show_all``): thousands of point awards are read as a count."""
    if show_all:
        for action in actions:
            out.print(show.line(action, verb="would: "), markup=False)
        return
    per_source: dict[tuple[str, str], Counter[str]] = {}
    examples: dict[tuple[str, str, str], Action] = {}
    for action in actions:
        source = (action.engine, action.rule or "")
        per_source.setdefault(source, Counter())[action.kind] += 1
        examples.setdefault((*source, action.kind), action)
    table = Table(title="what the playbook would do", title_justify="left")
    for column, justify in (("engine", "left"), ("rule", "left"), ("actions", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    table.add_column("of which")
    for (engine, rule), kinds in sorted(per_source.items()):
        table.add_row(
            cell(engine),
            cell(rule or "-"),
            f"{kinds.total():,}",
            cell(", ".join(f"{kind} {n:,}" for kind, n in kinds.most_common())),
        )
    out.print(table)
    out.print("the first of each, with its reason (--all lists every action):", markup=False)
    for key in sorted(examples):
        out.print(show.line(examples[key], verb="  "), markup=False)


def _action_json(action: Action, show: Shown) -> dict[str, Any]:
    row = asdict(action)
    row["member"] = show(row["member"]) if row["member"] else None
    row["explanation"] = show(row["explanation"])
    return row


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
    show_phones: ShowPhonesOption = False,
    store: StoreOption = None,
) -> None:
    """What a changed playbook would have done, against the current one.

    Both replay the whole log; shown are the differences in the window: who would have
    been removed or spared, actions per kind, points and levels, leaderboards.

    Example: shequn replay --community makers --playbook new.toml --since 30d
    """
    from shequn.engines.replay import replay_community
    from shequn.engines.runner import current_playbook
    from shequn.playbook import load_playbook

    with errors():
        book = load_playbook(playbook)
        location = store_location(ctx, store)
        with open_store(location) as db:
            _, current = current_playbook(db, community)
        kols, kol_note = _kol_ranking(location, community, [current, book])
        with open_store(location) as db:
            diff = replay_community(
                db,
                community,
                book,
                label=str(playbook),
                since=_moment(since, "--since", -1),
                until=_moment(until, "--until", +1),
                kols=kols,
            )
    if kol_note:
        diff.notes.append(kol_note)
    result = diff.to_json()
    if not show_phones:
        result = _masked(result, Shown.of([current, book], show_phones))
    if as_json:
        out.print(json_text(result, sort_keys=True, default=str), markup=False)
        return
    _print_replay(result)


def _kol_ranking(
    location: str | None, community: str, books: list[Playbook]
) -> tuple[list[str], str | None]:
    """The community's KOL ranking (member keys, best first) when a playbook's metabolism
    protects its top KOLs (``protect_top_kols``), and a note naming who is protected."""
    wanted = max((b.metabolism.protect_top_kols for b in books if b.metabolism.enabled), default=0)
    if wanted <= 0:
        return [], None
    from shequn.analytics.context import Scope, build_context
    from shequn.analytics.metrics.common import ALL_GROUPS
    from shequn.analytics.runner import run_metrics
    from shequn.report.collect import report_log

    with report_log(location) as log:
        ctx = build_context(log, Scope(community=community))
        ranking = run_metrics(ctx, ["kols.ranking"])["kols.ranking"].to_pylist()
    rows = sorted(
        (r for r in ranking if r["group"] == ALL_GROUPS), key=lambda r: r["influence_rank"]
    )
    kols = [str(r["member"]) for r in rows]
    top = ", ".join(shown(k) for k in kols[:wanted]) or "none ranked"
    return kols, f"metabolism protects the top {wanted} KOLs by influence (kols.ranking): {top}"


def _masked(value: Any, show: Shown) -> Any:
    """Every string inside a replay's JSON as shown (phone numbers masked)."""
    if isinstance(value, str):
        return show(value)
    if isinstance(value, list):
        return [_masked(v, show) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v, show) for k, v in value.items()}
    return value


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = Table(title=title, show_header=True, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows[:SHOWN_ROWS]:
        table.add_row(*(cell(value) for value in row))
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
        printable(
            f"replay of {r['community']!r} from {_when(r['since'])} to {_when(r['until'])} UTC: "
            f"current playbook {r['current']['playbook']} vs {r['new']['playbook']}"
        ),
        markup=False,
    )
    for note in r["notes"]:
        out.print(f"note: {printable(note)}", markup=False)
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
    # removals are listed above; the other actions that differ follow
    only_current = [a for a in r["only_current"] if a["kind"] != "remove"]
    only_new = [a for a in r["only_new"] if a["kind"] != "remove"]
    if only_current or only_new:
        _table(
            "other actions that differ",
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
                for a in only_current
            ]
            + [
                (_when(a["ts"]), a["group"], a["member"] or "-", a["kind"], "new", a["explanation"])
                for a in only_new
            ],
        )
