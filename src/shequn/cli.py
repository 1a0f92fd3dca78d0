"""The ``shequn`` command line: parses, calls the library, formats. No logic lives here."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from shequn.errors import ConfigError, ShequnError
from shequn.importers.base import ImportSettings
from shequn.localtime import machine_timezone, validate_timezone
from shequn.store import Window, open_store
from shequn.store.common import STATS_COUNTS

app = typer.Typer(
    help="shequn (社群): community operations from your group chats.",
    no_args_is_help=True,
    add_completion=False,
)
# help comes from the `imports_list` docstring, so `shequn imports --help` shows its example
imports_app = typer.Typer(add_completion=False)
app.add_typer(imports_app, name="imports")

# emoji=False: a name like ':fire:' is data, not an emoji code. soft_wrap on stderr keeps
# every error on one line however long the path in it.
out = Console(
    highlight=False, emoji=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200
)
err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)

_STORE_HELP = (
    "DuckDB file path or postgresql:// URL (default: $SHEQUN_STORE, else your user data dir)."
)
# Only the top-level option reads SHEQUN_STORE, so an explicit --store anywhere beats it.
RootStoreOption = Annotated[
    str | None, typer.Option("--store", envvar="SHEQUN_STORE", help=_STORE_HELP)
]
StoreOption = Annotated[str | None, typer.Option("--store", help=_STORE_HELP)]
CommunityOption = Annotated[
    str | None, typer.Option("--community", help="Only this community (default: all).")
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="From this UTC date/time (ISO 8601).")
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Before this UTC date/time (ISO 8601).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _fail(message: str) -> typer.Exit:
    message = re.sub(r"\s*\n\s*", " ", message.strip())
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(1)


@contextmanager
def _errors() -> Iterator[None]:
    """Library errors become one line on stderr and exit code 1."""
    try:
        yield
    except ShequnError as exc:
        raise _fail(escape(str(exc))) from None


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(option, f"{value!r} is not an ISO 8601 date or time") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _window(community: str | None, since: str | None, until: str | None) -> Window:
    return Window(community, _time(since, "--since"), _time(until, "--until"))


@app.callback()
def main(ctx: typer.Context, store: RootStoreOption = None) -> None:
    """shequn imports group chats into an event log and tells you what is true about them."""
    ctx.obj = {"store": store}


def _store_location(ctx: Any, store: str | None) -> str | None:
    """The command's own --store, else the nearest enclosing one (`shequn --store S …`,
    `shequn imports --store S show 1`), else None (SHEQUN_STORE, then the default)."""
    if store is not None:
        return store
    parent: Any = ctx
    while parent is not None:
        if parent.obj and parent.obj.get("store"):
            return str(parent.obj["store"])
        parent = parent.parent
    return None


@app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Export file, .zip or folder.")],
    community: Annotated[str, typer.Option(help="Community that owns the group.")] = "default",
    group: Annotated[str | None, typer.Option(help="Group name (default: from file name).")] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="IANA timezone the export's local times are in (default: this machine's)."
        ),
    ] = None,
    platform: Annotated[str | None, typer.Option(help="Skip auto-detection.")] = None,
    date_order: Annotated[
        str | None,
        typer.Option(
            help="WhatsApp: dmy, mdy or ymd, used only when the file's dates are ambiguous."
        ),
    ] = None,
    me: Annotated[
        str | None, typer.Option(help="Your own name: who 'you' is in the export.")
    ] = None,
    commit_every: Annotated[
        int, typer.Option(help="Commit after about this many lines.")
    ] = 100_000,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every commit.")] = False,
    store: StoreOption = None,
) -> None:
    """Import a chat export (auto-detected); re-running resumes or changes nothing.

    Example: shequn import "WhatsApp Chat with Makers.zip" --community makers
    --timezone Asia/Shanghai
    """
    from shequn.ingest import run_import

    with _errors():
        tz = validate_timezone(timezone) if timezone else machine_timezone()
        settings = ImportSettings(
            community=community,
            group=group,
            timezone=tz,
            date_order=date_order,
            me=me,
            commit_every=commit_every,
        )
        with open_store(_store_location(ctx, store)) as db, _progress() as progress:
            result = run_import(
                db,
                path,
                settings,
                platform=platform,
                progress=progress,
                on_commit=_log_commit if verbose else None,
            )
    record = result.record
    verb = f"resumed (from line {result.resumed_from:,})" if record.resumed else "imported"
    out.print(
        f"{verb} {path} as {result.platform} group {result.group_id!r} "
        f"(community {community!r}, timezone {tz}, import #{record.import_id})",
        markup=False,
    )
    out.print(
        f"  records read {record.records_read:,}  new events {record.events_stored:,}  "
        f"already stored {record.duplicates:,}  rejected {record.rejected:,}",
        markup=False,
    )
    media = json.loads(record.media or "{}")
    if media:
        out.print(
            "  media files (not imported): " + ", ".join(f"{k} {v}" for k, v in media.items()),
            markup=False,
        )
    for note in result.notes:
        out.print(f"  note: {note}", markup=False)
    if record.rejected:
        out.print(
            f"  see rejected lines with: shequn imports show {record.import_id}", markup=False
        )


def _log_commit(position: int, stored: int) -> None:
    err.print(f"committed through line {position:,} ({stored:,} new events)", markup=False)


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal; nothing when output is piped."""
    if not sys.stderr.isatty():
        yield None
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("importing", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@app.command()
def stats(
    ctx: typer.Context,
    community: CommunityOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Counts of what the store holds: groups, members, messages, joins, leaves …

    Example: shequn stats --community makers --json
    """
    with _errors(), open_store(_store_location(ctx, store)) as db:
        result = db.stats(_window(community, since, until))
    if as_json:
        out.print(json.dumps(result, ensure_ascii=False), markup=False)
        return
    table = Table(title=f"community {escape(community or '(all)')}", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name in (*STATS_COUNTS, "rejected_records"):
        table.add_row(name.replace("_", " "), f"{result[name]:,}")
    table.add_row("first", str(result["first"]))
    table.add_row("last", str(result["last"]))
    out.print(table)
    if result["by_platform"]:
        per = Table(show_header=True)
        for column in ("platform", "groups", "members", "messages"):
            per.add_column(column, justify="left" if column == "platform" else "right")
        for platform, counts in result["by_platform"].items():
            per.add_row(
                platform,
                f"{counts['groups']:,}",
                f"{counts['members']:,}",
                f"{counts['messages']:,}",
            )
        out.print(per)


@app.command()
def groups(
    ctx: typer.Context,
    community: CommunityOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """The groups the store holds, by community, with their timezone and size.

    Example: shequn groups --community makers
    """
    with _errors(), open_store(_store_location(ctx, store)) as db:
        found = db.groups(_window(community, since, until))
    if as_json:
        out.print(
            json.dumps(
                [
                    {
                        "community": g.community,
                        "platform": g.platform,
                        "group": g.group_id,
                        "name": g.name,
                        "timezone": g.timezone,
                        "events": g.events,
                        "messages": g.messages,
                        "first": g.first.isoformat() + "Z" if g.first else None,
                        "last": g.last.isoformat() + "Z" if g.last else None,
                    }
                    for g in found
                ],
                ensure_ascii=False,
            ),
            markup=False,
        )
        return
    table = Table(show_header=True)
    for column in (
        "community",
        "platform",
        "group",
        "timezone",
        "messages",
        "events",
        "first",
        "last",
    ):
        table.add_column(column, justify="right" if column in ("messages", "events") else "left")
    for g in found:
        table.add_row(
            escape(g.community),
            g.platform,
            escape(g.group_id),
            g.timezone,
            f"{g.messages:,}",
            f"{g.events:,}",
            g.first.strftime("%Y-%m-%d") if g.first else "-",
            g.last.strftime("%Y-%m-%d") if g.last else "-",
        )
    out.print(table if found else "the store holds no groups yet; try `shequn import`")


@imports_app.callback(invoke_without_command=True)
def imports_list(
    ctx: typer.Context,
    community: CommunityOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """The import ledger: every import, its status and counts.

    Example: shequn imports
    """
    if ctx.invoked_subcommand is not None:
        if store is not None:  # `shequn imports --store S show 1`
            ctx.ensure_object(dict)["store"] = store
        return
    with _errors(), open_store(_store_location(ctx, store)) as db:
        window = _window(community, since, until)
        records = [
            r
            for r in db.imports(community)
            if (window.since is None or r.started_at >= window.since)
            and (window.until is None or r.started_at < window.until)
        ]
    if as_json:
        out.print(
            json.dumps(
                [
                    {
                        "id": r.import_id,
                        "community": r.community,
                        "platform": r.platform,
                        "group": r.group_id,
                        "source": r.source,
                        "status": r.status,
                        "started_at": r.started_at.isoformat() + "Z",
                        "records_read": r.records_read,
                        "events_stored": r.events_stored,
                        "duplicates": r.duplicates,
                        "rejected": r.rejected,
                        "media": json.loads(r.media),
                    }
                    for r in records
                ],
                ensure_ascii=False,
            ),
            markup=False,
        )
        return
    table = Table(show_header=True)
    for column in (
        "id",
        "community",
        "group",
        "status",
        "records",
        "stored",
        "duplicates",
        "rejected",
        "source",
    ):
        table.add_column(column)
    for r in records:
        table.add_row(
            str(r.import_id),
            escape(r.community),
            escape(r.group_id),
            r.status,
            f"{r.records_read:,}",
            f"{r.events_stored:,}",
            f"{r.duplicates:,}",
            f"{r.rejected:,}",
            escape(r.source),
        )
    out.print(table if records else "no imports yet")


@imports_app.command("undo")
def imports_undo(
    ctx: typer.Context,
    import_id: Annotated[int, typer.Argument(help="Import id from `shequn imports`.")],
    store: StoreOption = None,
) -> None:
    """Remove the events one import stored (the ledger keeps the row, marked undone).

    Example: shequn imports undo 3
    """
    with _errors(), open_store(_store_location(ctx, store)) as db:
        removed = db.undo_import(import_id)
        undone = db.get_import(import_id)
        overlapping = [
            r.import_id
            for r in db.imports(undone.community)
            if r.import_id != import_id
            and (r.platform, r.group_id) == (undone.platform, undone.group_id)
            and r.status == "complete"
            and r.duplicates
        ]
    out.print(f"import #{import_id} undone: {removed:,} events removed", markup=False)
    if overlapping:
        ids = ", ".join(f"#{i}" for i in overlapping)
        out.print(
            f"  note: imports {ids} of the same group shared events with it, which are gone "
            "too; import those exports again to restore them",
            markup=False,
        )


@imports_app.command("show")
def imports_show(
    ctx: typer.Context,
    import_id: Annotated[int, typer.Argument(help="Import id from `shequn imports`.")],
    store: StoreOption = None,
) -> None:
    """One import in detail, with every line it could not read.

    Example: shequn imports show 3
    """
    with _errors(), open_store(_store_location(ctx, store)) as db:
        record = db.get_import(import_id)
        rejects = db.rejects(import_id)
    out.print(f"import #{record.import_id} {record.status}: {record.source}", markup=False)
    out.print(
        f"  community {record.community}, {record.platform} group {record.group_id}", markup=False
    )
    out.print(
        f"  records {record.records_read:,}, stored {record.events_stored:,}, "
        f"duplicates {record.duplicates:,}, rejected {record.rejected:,}",
        markup=False,
    )
    if record.message:
        out.print(f"  {record.message}", markup=False)
    for reject in rejects:
        out.print(f"  {reject.source}:{reject.line}: {reject.reason}: {reject.raw!r}", markup=False)


@app.command()
def simulate(
    format: Annotated[str, typer.Option("--format", help="Export format to write.")] = "whatsapp",
    variant: Annotated[
        str, typer.Option(help="The platform's export flavour (e.g. telegram: json or html).")
    ] = "",
    members: Annotated[int, typer.Option(help="Members in the group.")] = 300,
    messages: Annotated[int, typer.Option(help="Messages to write.")] = 20_000,
    days: Annotated[int, typer.Option(help="Days the history spans.")] = 120,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 1,
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write into.")] = Path(
        "simulated"
    ),
    timezone: Annotated[str, typer.Option(help="The group's IANA timezone.")] = "Asia/Shanghai",
    language: Annotated[str, typer.Option(help="Language of system lines.")] = "en",
    layout: Annotated[str, typer.Option(help="android or ios.")] = "android",
    clock: Annotated[str, typer.Option(help="24h or 12h.")] = "24h",
    date_order: Annotated[str, typer.Option(help="dmy, mdy or ymd.")] = "dmy",
    crlf: Annotated[bool, typer.Option(help="Windows line endings.")] = False,
    bom: Annotated[bool, typer.Option(help="Start with a UTF-8 byte-order mark.")] = False,
    zip_: Annotated[bool, typer.Option("--zip", help="Write the zip the app shares.")] = False,
) -> None:
    """Write a synthetic community's export in the platform's real layout, plus truth.json.

    Example: shequn simulate --format whatsapp --members 300 --messages 20000 --days 120
    --seed 7 --out demo
    """
    from shequn.simulate import simulate_export

    with _errors():
        validate_timezone(timezone)
        summary = simulate_export(
            format=format,
            variant=variant,
            members=members,
            messages=messages,
            days=days,
            seed=seed,
            out=out_dir,
            timezone=timezone,
            language=language,
            layout=layout,
            clock=clock,
            date_order=date_order,
            crlf=crlf,
            bom=bom,
            zip=zip_,
        )
    out.print(f"wrote {summary}", markup=False)


if __name__ == "__main__":  # pragma: no cover
    app()
