"""``shequn imports``: the import ledger, one import's details, and undo."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from shequn.cli.common import (
    CommunityOption,
    JsonOption,
    SinceOption,
    StoreOption,
    UntilOption,
    cell,
    errors,
    out,
    store_location,
    window,
)
from shequn.privacy.display import shown
from shequn.safe_text import json_text, printable
from shequn.store import open_store

# help comes from the `imports_list` docstring, so `shequn imports --help` shows its example
imports_app = typer.Typer(add_completion=False)


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
    with errors(), open_store(store_location(ctx, store)) as db:
        scope = window(community, since, until)
        records = [
            r
            for r in db.imports(community)
            if (scope.since is None or r.started_at >= scope.since)
            and (scope.until is None or r.started_at < scope.until)
        ]
    if as_json:
        out.print(
            json_text(
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
            cell(r.community),
            cell(r.group_id),
            r.status,
            f"{r.records_read:,}",
            f"{r.events_stored:,}",
            f"{r.duplicates:,}",
            f"{r.rejected:,}",
            cell(r.source),
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
    with errors(), open_store(store_location(ctx, store)) as db:
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
    show_phones: Annotated[
        bool, typer.Option("--show-phones", help="Print phone numbers in rejected lines in full.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """One import in detail, with every line it could not read (phone numbers masked).

    Example: shequn imports show 3
    """
    with errors(), open_store(store_location(ctx, store)) as db:
        record = db.get_import(import_id)
        rejects = db.rejects(import_id)
    out.print(
        printable(f"import #{record.import_id} {record.status}: {record.source}"), markup=False
    )
    out.print(
        printable(f"  community {record.community}, {record.platform} group {record.group_id}"),
        markup=False,
    )
    out.print(
        f"  records {record.records_read:,}, stored {record.events_stored:,}, "
        f"duplicates {record.duplicates:,}, rejected {record.rejected:,}",
        markup=False,
    )
    if record.message:
        out.print(f"  {printable(record.message)}", markup=False)
    for reject in rejects:
        raw = shown(reject.raw, show_phones=show_phones)
        out.print(
            printable(f"  {reject.source}:{reject.line}: {reject.reason}: {raw!r}"), markup=False
        )
