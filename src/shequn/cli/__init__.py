"""The ``shequn`` command line: parses, calls the library, formats. No logic lives here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from shequn.cli.common import (
    CommunityOption,
    JsonOption,
    RootStoreOption,
    SinceOption,
    StoreOption,
    UntilOption,
    cell,
    err,
    errors,
    out,
    store_location,
    window,
)
from shequn.cli.engines import replay, run
from shequn.cli.imports import imports_app
from shequn.cli.members import forget, members_app
from shequn.cli.playbook import playbook_app
from shequn.cli.report import export_parquet_command, report
from shequn.importers.base import ImportSettings
from shequn.localtime import machine_timezone, validate_timezone
from shequn.safe_text import json_text, printable
from shequn.store import open_store
from shequn.store.common import STATS_COUNTS

app = typer.Typer(
    help="shequn (社群): community operations from your group chats.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(imports_app, name="imports")
app.add_typer(members_app, name="members")
app.add_typer(playbook_app, name="playbook")
app.command()(forget)
app.command()(run)
app.command()(replay)
app.command("report")(report)
app.command("export-parquet")(export_parquet_command)


@app.callback()
def main(ctx: typer.Context, store: RootStoreOption = None) -> None:
    """shequn imports group chats into an event log and tells you what is true about them."""
    ctx.obj = {"store": store}


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
    pseudonymize: Annotated[
        bool,
        typer.Option(
            "--pseudonymize",
            help="Store keyed pseudonyms instead of names and phone numbers.",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every commit.")] = False,
    store: StoreOption = None,
) -> None:
    """Import a chat export (auto-detected); re-running resumes or changes nothing.

    Example: shequn import "WhatsApp Chat with Makers.zip" --community makers
    --timezone Asia/Shanghai
    """
    from shequn.ingest import run_import

    with errors():
        tz = validate_timezone(timezone) if timezone else machine_timezone()
        settings = ImportSettings(
            community=community,
            group=group,
            timezone=tz,
            timezone_given=timezone is not None,
            date_order=date_order,
            me=me,
            commit_every=commit_every,
            pseudonymize=pseudonymize,
        )
        with open_store(store_location(ctx, store)) as db, _progress() as progress:
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
    if len(result.groups) > 1 or (result.groups and result.groups[0][1] != result.group_id):
        into = (
            f"into {len(result.groups)} group(s): "
            + ", ".join(f"{p}/{g}" for p, g in result.groups[:5])
            + (" …" if len(result.groups) > 5 else "")
        )
    else:
        into = f"as {result.platform} group {result.group_id!r}"
    out.print(
        printable(
            f"{verb} {path} {into} "
            f"(community {community!r}, timezone {result.timezone}, import #{record.import_id})"
        ),
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
        out.print(f"  note: {printable(note)}", markup=False)
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
    with errors(), open_store(store_location(ctx, store)) as db:
        result = db.stats(window(community, since, until))
    if as_json:
        out.print(json_text(result), markup=False)
        return
    table = Table(title=f"community {cell(community or '(all)')}", show_header=True)
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
    with errors(), open_store(store_location(ctx, store)) as db:
        found = db.groups(window(community, since, until))
    if as_json:
        out.print(
            json_text(
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
            ),
            markup=False,
        )
        return
    # a group keyed by an id (Telegram's -100…, a WeChat chatroom) shows its name too
    named = any(g.name and g.name != g.group_id for g in found)
    table = Table(show_header=True)
    columns = ["community", "platform", "group", *(["name"] if named else [])]
    for column in (*columns, "timezone", "messages", "events", "first", "last"):
        table.add_column(column, justify="right" if column in ("messages", "events") else "left")
    for g in found:
        table.add_row(
            cell(g.community),
            g.platform,
            cell(g.group_id),
            *([cell(g.name or "")] if named else []),
            g.timezone,
            f"{g.messages:,}",
            f"{g.events:,}",
            g.first.strftime("%Y-%m-%d") if g.first else "-",
            g.last.strftime("%Y-%m-%d") if g.last else "-",
        )
    out.print(table if found else "the store holds no groups yet; try `shequn import`")


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

    with errors():
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
