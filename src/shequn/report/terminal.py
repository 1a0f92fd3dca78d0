"""The report's key tables in the terminal (rich): one screenful per theme, not a dump.

The JSON document holds every row of every metric; a terminal reader wants the answer
to "how is my community doing and what should I do". So each theme shows a chosen
:class:`View` of its metrics: the community's last weeks for weekly tables, each
group's latest reading for scores, the top rows of rankings, members by name. The
active hours come as a weekday × hour strip. A metric without a view is listed at the
end as available in ``--json`` / ``--out report.html``.

Every cell is a :class:`rich.text.Text`, so a name like ``[bold]x[/]`` prints as
written and never as markup, and every text from the chats goes through
:func:`~shequn.safe_text.printable`, so a terminal escape in one is shown, not obeyed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shequn.analytics.metrics.common import ALL_GROUPS
from shequn.report.collect import Report
from shequn.report.positioning import positioning_lines
from shequn.report.recommend import partial_weeks
from shequn.safe_text import printable

#: rows shown per ranking
ROWS: Final = 10
#: weeks shown for weekly tables
WEEKS: Final = 8
SEVERITY_STYLE: Final = {"action": "bold green", "warning": "bold yellow", "info": "cyan"}
#: the heat strip's shades, from no messages to the busiest hour
SHADES: Final = " ░▒▓█"
WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class View:
    """Which rows and columns of a metric the terminal shows."""

    metric: str
    columns: tuple[str, ...]
    #: how rows are chosen: "weeks" (the community's last weeks), "last_week" (the
    #: community's rows of its last complete week), "groups" (one row per group),
    #: "top" (the first rows of the community's ranking), "community" (all its rows)
    select: str
    #: a caption under the table
    note: str | None = None


#: theme id → its views, in the order printed (themes as in the document's sections)
VIEWS: Final[dict[str, tuple[View, ...]]] = {
    "health": (
        View(
            "health.weekly",
            ("week", "score", "trend", "retention", "response", "concentration", "lurkers"),
            "weeks",
            "score 0–100 and its components (each 0–100); how they are weighed: --json",
        ),
    ),
    "activity": (
        View(
            "activity.weekly",
            (
                "week",
                "messages",
                "active_members",
                "new_members",
                "returning",
                "reactivated",
                "churned",
                "stickiness",
            ),
            "weeks",
        ),
        View(
            "activity.concentration",
            ("group", "posting_members", "messages", "top1_share", "top10_share", "gini"),
            "groups",
        ),
    ),
    "retention": (
        View(
            "retention.summary",
            (
                "group",
                "members",
                "median_lifetime_days",
                "week1_posting_share",
                "week4_posting_share",
                "dropped_3_to_5",
            ),
            "groups",
        ),
    ),
    "hours": (
        View(
            "hours.windows",
            ("group", "windows", "share", "stability_weeks", "min_weekly_share"),
            "groups",
            "local time of each group; share = messages written in the windows",
        ),
    ),
    "members": (
        View("lurkers.summary", ("group", "members_known", "lurkers", "lurker_share"), "groups"),
        View("roles.gaps", ("group", "gap", "explanation"), "groups"),
    ),
    "kols": (
        View(
            "kols.ranking",
            (
                "influence_rank",
                "member",
                "messages",
                "message_rank",
                "draw_ratio",
                "responders",
                "is_kol",
            ),
            "top",
            "ranked by influence (PageRank, answers drawn, responders), not by volume",
        ),
    ),
    "growth": (
        View(
            "growth.generations",
            ("generation", "members", "inviters", "invitees", "k"),
            "community",
            "generation 0 joined by no member's invitation; k = invitees / members",
        ),
        View("growth.inviters", ("rank", "member", "invitees", "still_members", "posted"), "top"),
    ),
    "conversation": (
        View(
            "conversation.response",
            ("week", "questions", "answered", "unanswered", "median_response_seconds"),
            "weeks",
        ),
    ),
    "topics": (
        View(
            "topics.terms",
            ("week", "rank", "term", "count", "share"),
            "last_week",
            "share = the week's messages that use the term",
        ),
        View("topics.emerging", ("week", "rank", "term", "count", "rise"), "last_week"),
    ),
}


def print_report(report: Report, console: Console) -> None:
    """The header, the recommendations, then each theme's key tables."""
    doc = report.document
    scope = doc["scope"]
    console.print(
        Text(
            f"shequn report · community {printable(scope.get('community') or '(all)')} · "
            f"{(doc['period']['start'] or '')[:10]} – {(doc['period']['end'] or '')[:10]} UTC · "
            f"{len(doc['groups'])} group(s) · engine {doc['engine']}",
            style="bold",
        )
    )
    positioning = doc.get("positioning")
    if positioning:
        console.print(Text("\nPositioning", style="bold underline"))
        for label, text in positioning_lines(positioning):
            line = Text(f"  {label}: ", style="dim")
            line.append(printable(text))
            console.print(line)
    recs = doc["recommendations"]
    if recs:
        console.print(Text("\nWhat to do", style="bold underline"))
        for rec in recs:
            line = Text("  ")
            line.append(f"{rec['severity']:<8}", style=SEVERITY_STYLE.get(rec["severity"], ""))
            line.append(printable(rec["text"]))
            console.print(line)
    names = member_names(report)
    metrics: dict[str, Any] = doc["metrics"]
    partial = partial_weeks(report.results.get("activity.weekly")) or set()
    shown: set[str] = set()
    for section in doc["sections"]:
        views = [v for v in VIEWS.get(section["id"], ()) if v.metric in metrics]
        strip = section["id"] == "hours" and "hours.heatmap" in metrics
        if not views and not strip:
            continue
        console.print(Text(f"\n{section['title']}", style="bold underline"))
        if section["id"] == "members" and "roles.mix" in metrics:
            console.print(role_mix(metrics["roles.mix"]))
            shown.add("roles.mix")
        for view in views:
            console.print(view_table(view, metrics[view.metric], names, partial))
            shown.add(view.metric)
        if strip:
            console.print(heat_strip(metrics["hours.heatmap"]))
            shown.add("hours.heatmap")
    rest = [name for name in metrics if name not in shown]
    if rest:
        console.print(
            Text(
                f"\nEvery group, week and row of these and of {len(rest)} more metrics "
                f"({', '.join(rest)}): --json, or --out report.html for the page with filters.",
                style="dim",
            )
        )
    omitted = [s for s in doc["sections"] if not s["metrics"] and s["note"]]
    if omitted:
        console.print(Text("\nNot in this report", style="bold underline"))
        for section in omitted:
            console.print(Text(f"  {section['title']}: {section['note']}", style="dim"))


def member_names(report: Report) -> dict[str, str]:
    """Member key → display name, from the explorer and the lurker list."""
    explorer = report.explorer
    names = {
        key: name
        for key, name in zip(explorer.get("members", ()), explorer.get("names", ()), strict=True)
        if name
    }
    lurkers = report.document["metrics"].get("lurkers.list", {"rows": []})
    for row in lurkers["rows"]:
        if row.get("name"):
            names.setdefault(row["member"], row["name"])
    return names


def view_table(
    view: View, metric: dict[str, Any], names: dict[str, str], partial: set[str]
) -> Table:
    """A metric's chosen rows and columns as a rich table, titled with its title.

    ``partial``: the weeks (ISO dates) the period ends inside, marked "(so far)".
    """
    present = {c["name"] for c in metric["columns"]}
    rows, columns = select_rows(view, metric["rows"], partial)
    columns = [c for c in columns if c in present]
    table = Table(
        title=Text(f"{metric['title']} ({view.metric})"),
        caption=view.note,
        title_justify="left",
    )
    for column in columns:
        values = [r.get(column) for r in rows]
        numeric = any(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        table.add_column(Text(column.replace("_", " ")), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(Text(printable(_cell(row, c, names, partial))) for c in columns))
    return table


def select_rows(view: View, rows: Rows, partial: set[str]) -> tuple[Rows, list[str]]:
    """The rows a view shows, and its columns (``group`` dropped where it is one value)."""
    columns = list(view.columns)
    single = len({r.get("group") for r in rows} - {ALL_GROUPS, None}) <= 1
    community = [r for r in rows if r.get("group") == ALL_GROUPS] or rows
    if view.select == "weeks":
        chosen = community[-WEEKS:]
    elif view.select == "top":
        chosen = community[:ROWS]
    elif view.select == "community":
        chosen = community
    elif view.select == "last_week":
        weeks = sorted({_day(r.get("week")) for r in community} - partial - {""})
        last = weeks[-1] if weeks else ""
        chosen = [r for r in community if _day(r.get("week")) == last][:ROWS]
    else:  # "groups"
        chosen = community[:1] if single else rows
    if view.select != "groups" or single:
        columns = [c for c in columns if c != "group"]
    return chosen, columns


def _day(value: Any) -> str:
    return str(value)[:10] if value else ""


def role_mix(metric: dict[str, Any]) -> Table:
    """Roles as columns, one row per group: members (share)."""
    counts: dict[str, dict[str, str]] = defaultdict(dict)
    roles: list[str] = []
    for row in metric["rows"]:
        if row["role"] not in roles:
            roles.append(row["role"])
        counts[row["group"]][row["role"]] = f"{row['members']:,} ({row['share']:.0%})"
    groups = sorted(counts, key=lambda g: (g != ALL_GROUPS, g))
    if len(groups) == 2:  # one group: the community is that group
        groups = groups[:1]
    table = Table(title=Text(f"{metric['title']} (roles.mix)"), title_justify="left")
    table.add_column(Text("group"))
    for role in roles:
        table.add_column(Text(role), justify="right")
    for group in groups:
        table.add_row(
            Text(printable(group)), *(Text(counts[group].get(role, "-")) for role in roles)
        )
    return table


def heat_strip(metric: dict[str, Any]) -> Table:
    """The community's weekday × hour messages as shaded cells, busiest hour darkest."""
    grid = [[0] * 24 for _ in WEEKDAYS]
    for row in metric["rows"]:
        if row["group"] == ALL_GROUPS:
            grid[row["weekday"]][row["hour"]] += row["messages"]
    peak = max((max(day) for day in grid), default=0) or 1
    table = Table(
        title=Text(f"{metric['title']} (hours.heatmap)"),
        caption=f"local time; darkest = {peak:,} messages in that hour over the period",
        title_justify="left",
        box=None,
        pad_edge=False,
    )
    table.add_column(Text(""))
    table.add_column(Text("0     6     12    18   23"), no_wrap=True)
    for name, day in zip(WEEKDAYS, grid, strict=True):
        table.add_row(Text(name), Text("".join(shade(n, peak) for n in day)))
    return table


def shade(count: int, peak: int) -> str:
    """The shade of one hour: blank for none, then four steps up to the peak."""
    if count <= 0:
        return SHADES[0]
    return SHADES[min(len(SHADES) - 1, 1 + (count * (len(SHADES) - 1) - 1) // peak)]


def _cell(row: dict[str, Any], column: str, names: dict[str, str], partial: set[str]) -> str:
    value = row.get(column)
    if column in ("member", "inviter") and isinstance(value, str):
        return names.get(value, value)
    if column == "week" and _day(value) in partial:
        return f"{cell(value, column)} (so far)"
    return cell(value, column)


def cell(value: Any, column: str = "") -> str:
    """A value as the terminal shows it."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if column.endswith("_seconds"):
            return duration(value)
        if (
            any(k in column for k in ("share", "rate", "stickiness", "retention"))
            and abs(value) <= 1
            and column != "retention"
        ):
            return f"{value:.1%}"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    text = str(value)
    if len(text) == 19 and text.endswith("T00:00:00"):
        return text[:10]
    return text


def duration(seconds: float) -> str:
    """Seconds as the largest sensible unit: 45 s, 12 min, 3.5 h, 2.1 d."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
