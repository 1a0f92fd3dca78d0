"""``shequn report`` and ``shequn export-parquet``: parse, call the report library, format."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from shequn.cli.common import (
    CommunityOption,
    JsonOption,
    ShowPhonesOption,
    SinceOption,
    StoreOption,
    UntilOption,
    errors,
    out,
    parse_time,
    store_location,
)

GroupOption = Annotated[
    list[str] | None,
    typer.Option("--group", help="Only this group, as platform/group_id (repeat for several)."),
]
EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        help="duckdb (the embedded store in place) or spark (a local Spark over Parquet).",
    ),
]
ParquetOption = Annotated[
    Path | None,
    typer.Option("--parquet", help="Read this export-parquet folder instead of the store."),
]
MetricOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metric", help="Only this metric and what it needs (repeat; default: every metric)."
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Write the report here: .html (one offline page) or .json."),
]


def report(
    ctx: typer.Context,
    community: CommunityOption = None,
    group: GroupOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    engine: EngineOption = "duckdb",
    parquet: ParquetOption = None,
    metric: MetricOption = None,
    as_json: JsonOption = False,
    out_path: OutOption = None,
    show_phones: ShowPhonesOption = False,
    store: StoreOption = None,
) -> None:
    """Measure the community: activity, retention, hours, roles, KOLs, growth, health …

    Writes one offline HTML page with filters and charts (--out report.html), the same
    numbers as one JSON document (--json, or --out report.json), or the key tables here.

    Example: shequn report --community makers --out report.html
    """
    from shequn.analytics.context import Scope, build_context
    from shequn.report import build_report, print_report, write_html
    from shequn.report.collect import report_log, write_json
    from shequn.report.html import PAGE_ROWS
    from shequn.report.positioning import current_positioning
    from shequn.tempfiles import sigterm_exits

    # killed (SIGTERM) mid-report: exit as usual, so the spill folder is removed
    with sigterm_exits():
        page = out_path is not None and not as_json and out_path.suffix.lower() != ".json"
        # JSON is written row chunk by row chunk from the results, never whole in memory
        to_json = as_json or (out_path is not None and out_path.suffix.lower() == ".json")

        with errors():
            scope = Scope(
                community=community,
                groups=tuple(group or ()),
                since=parse_time(since, "--since"),
                until=parse_time(until, "--until"),
            )
            location = store_location(ctx, store)
            # read before the log is opened: the store is opened once at a time
            positioning = current_positioning(location, community, show_phones=show_phones)
            with report_log(location, engine, parquet) as log:
                result = build_report(
                    build_context(log, scope),
                    metric or None,
                    show_phones=show_phones,
                    row_limit=PAGE_ROWS if page else None,  # the page carries no more
                    defer_rows=to_json,
                    positioning=positioning,
                )
        document = result.document
        if out_path is None and as_json:
            write_json(result, sys.stdout)
            sys.stdout.write("\n")
            return
        if out_path is None:
            print_report(result, out)
            return
        out_path.parent.mkdir(parents=True, exist_ok=True)
        if to_json:
            # compact, as on standard output: an indent makes json use its pure-Python
            # encoder, minutes for the hundreds of MB a million-message community gives
            with out_path.open("w", encoding="utf-8") as stream:
                write_json(result, stream)
                stream.write("\n")
        else:
            write_html(result, out_path)
        shown = sum(1 for s in document["sections"] if s["metrics"])
        out.print(
            f"wrote {out_path} ({out_path.stat().st_size / 1024:,.0f} KB): "
            f"{len(document['metrics'])} metrics in {shown} sections, "
            f"{len(document['recommendations'])} recommendations",
            markup=False,
        )


def export_parquet_command(
    ctx: typer.Context,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write events/identity_links/groups.parquet.")
    ],
    store: StoreOption = None,
) -> None:
    """Write the event log as Parquet files, for report --engine spark --parquet DIR.

    Example: shequn export-parquet --out log-parquet
    """
    from shequn.analytics.source import export_parquet
    from shequn.store import open_store

    with errors(), open_store(store_location(ctx, store)) as db:
        rows = export_parquet(db, out_dir)
    out.print(
        f"wrote {out_dir}: " + ", ".join(f"{name}.parquet {n:,} rows" for name, n in rows.items()),
        markup=False,
    )
