"""The report's key tables in the terminal (rich).

Every cell is a :class:`rich.text.Text`, so a name like ``[bold]x[/]`` prints as
written and never as markup. Week-based tables show the community's (``*``) last
weeks; member tables their first rows (the metric's own order).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shequn.analytics.metrics.common import ALL_GROUPS
from shequn.report.collect import Report

#: rows shown per table
ROWS: Final = 10
#: weeks shown for weekly tables
WEEKS: Final = 8
#: columns shown per table at most
COLUMNS: Final = 9
#: the activity columns that matter most in a terminal
ACTIVITY_COLUMNS: Final = (
    "week",
    "messages",
    "active_members",
    "new_members",
    "returning",
    "reactivated",
    "churned",
    "stickiness",
)
SEVERITY_STYLE: Final = {"action": "bold green", "warning": "bold yellow", "info": "cyan"}


def print_report(report: Report, console: Console) -> None:
    """The header, the recommendations, then each section's tables."""
    doc = report.document
    scope = doc["scope"]
    console.print(
        Text(
            f"shequn report · community {scope.get('community') or '(all)'} · "
            f"{(doc['period']['start'] or '')[:10]} – {(doc['period']['end'] or '')[:10]} UTC · "
            f"{len(doc['groups'])} group(s) · engine {doc['engine']}",
            style="bold",
        )
    )
    recs = doc["recommendations"]
    if recs:
        console.print(Text("\nWhat to do", style="bold underline"))
        for rec in recs:
            line = Text("  ")
            line.append(f"{rec['severity']:<8}", style=SEVERITY_STYLE.get(rec["severity"], ""))
            line.append(rec["text"])
            console.print(line)
    for section in doc["sections"]:
        if section["id"] == "overview":
            continue
        if not section["metrics"]:
            continue
        console.print(Text(f"\n{section['title']}", style="bold underline"))
        for name in section["metrics"]:
            console.print(metric_table(name, doc["metrics"][name]))
        if section["note"]:
            console.print(Text(section["note"], style="dim"))
    omitted = [s for s in doc["sections"] if not s["metrics"] and s["note"]]
    if omitted:
        console.print(Text("\nNot in this report", style="bold underline"))
        for section in omitted:
            console.print(Text(f"  {section['title']}: {section['note']}", style="dim"))


def metric_table(name: str, metric: dict[str, Any]) -> Table:
    """One metric's key rows as a rich table, titled with the metric's title."""
    columns = [c["name"] for c in metric["columns"]]
    rows: list[dict[str, Any]] = metric["rows"]
    caption = None
    if "week" in columns:
        community = [r for r in rows if r.get("group") == ALL_GROUPS]
        if community:  # the whole community's weeks; each group's are in --json
            rows = community
            columns = [c for c in columns if c != "group"]
        rows = rows[-WEEKS:]
        if name == "activity.weekly":
            columns = [c for c in ACTIVITY_COLUMNS if c in columns]
    shown = columns[:COLUMNS]
    if len(rows) > ROWS:
        caption = f"first {ROWS} of {len(rows)} rows (all in --json or --out report.html)"
        rows = rows[:ROWS]
    if len(columns) > len(shown):
        note = f"{len(columns) - len(shown)} more columns in --json"
        caption = f"{caption}; {note}" if caption else note
    table = Table(title=Text(f"{metric['title']} ({name})"), caption=caption, title_justify="left")
    for column in shown:
        numeric = any(isinstance(r.get(column), int | float) for r in rows)
        table.add_column(Text(column.replace("_", " ")), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*_cells((row.get(c) for c in shown), shown))
    return table


def _cells(values: Iterable[Any], columns: list[str]) -> list[Text]:
    return [Text(cell(v, c)) for v, c in zip(values, columns, strict=True)]


def cell(value: Any, column: str = "") -> str:
    """A value as the terminal shows it."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if (
            any(k in column for k in ("share", "rate", "stickiness", "retention"))
            and abs(value) <= 1
        ):
            return f"{value:.1%}"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    text = str(value)
    if len(text) == 19 and text.endswith("T00:00:00"):
        return text[:10]
    return text
