"""Active hours: when each group talks, on its own clock, and when to post into it.

Messages are members' posts (bots' posts are left out: they are scheduled by the
operator and say nothing about when members are there), placed on the group's local
clock (``local_ts``, DST-correct). Weekday 0 is Monday. Group ``*`` adds up every
group's local hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
from ibis.expr import types as ir

from shequn.analytics.context import Context
from shequn.analytics.metrics.common import ALL_GROUPS, week_of, with_all_groups
from shequn.analytics.registry import derived, metric

HOURS: Final = 24
WEEKDAYS: Final = 7
#: at most this many separate windows a day
MAX_WINDOWS: Final = 2


def _member_posts(ctx: Context) -> ir.Table:
    m = ctx.messages
    m = m.filter(~m.is_bot)
    return with_all_groups(
        m.select(
            group=m.group,
            week=week_of(m.local_ts),
            weekday=m.local_ts.day_of_week.index().cast("int64"),
            hour=m.local_ts.hour().cast("int64"),
        )
    )


@metric(
    "hours.heatmap",
    "When the group talks",
    "Members' messages by weekday (0 = Monday) and hour of the day on each group's own "
    "clock (daylight saving included), over the whole period; share = the cell's part of "
    "the group's messages. Every group has all 7 × 24 cells, empty ones with 0. Bots' "
    "posts are not counted.",
    ("group", "weekday", "hour"),
)
def heatmap(ctx: Context) -> ir.Table:
    posts = _member_posts(ctx)
    counts = posts.group_by(["group", "weekday", "hour"]).aggregate(n=posts.count())
    groups = posts.select(g="group").distinct()
    cells = ibis.memtable(
        pa.table(
            {
                "c_weekday": pa.array(
                    [d for d in range(WEEKDAYS) for _ in range(HOURS)], pa.int64()
                ),
                "c_hour": pa.array([h for _ in range(WEEKDAYS) for h in range(HOURS)], pa.int64()),
            }
        )
    )
    grid = groups.cross_join(cells)
    full = grid.left_join(
        counts,
        [grid.g == counts.group, grid.c_weekday == counts.weekday, grid.c_hour == counts.hour],
    )
    messages = ibis.coalesce(full.n, 0).cast("int64")
    full = full.select(group=full.g, weekday=full.c_weekday, hour=full.c_hour, messages=messages)
    total = full.messages.sum().over(group_by="group")
    return full.mutate(share=full.messages.cast("float64") / total.cast("float64").nullif(0.0))


@metric(
    "hours.weekly",
    "Messages by hour, week by week",
    "Members' messages per local week (Monday 00:00 on the group's clock) and hour of the "
    "day; only hours with messages are listed. The posting windows' stability is measured "
    "on it.",
    ("group", "week", "hour"),
)
def weekly(ctx: Context) -> ir.Table:
    posts = _member_posts(ctx)
    out = posts.group_by(["group", "week", "hour"]).aggregate(messages=posts.count())
    return out.mutate(messages=out.messages.cast("int64"))


@dataclass(frozen=True)
class Windows:
    """Up to :data:`MAX_WINDOWS` runs of hours on the 24-hour circle."""

    #: (start hour, length) per window, by start
    runs: tuple[tuple[int, int], ...]

    @property
    def hours(self) -> list[int]:
        return sorted({(start + i) % HOURS for start, length in self.runs for i in range(length)})

    def label(self) -> str:
        return ", ".join(
            f"{start:02d}:00–{(start + length) % HOURS:02d}:00" for start, length in self.runs
        )


def best_windows(counts: Sequence[int], budget: int) -> Windows:
    """The hours (at most ``budget``, in at most two runs on the circle) holding most.

    Exhaustive: every single run and every pair of runs that neither overlap nor touch,
    of lengths adding up to ``budget`` (with counts ≥ 0, using the whole budget never
    loses). Ties: one window before two, then the earliest start (then the earliest
    second start, then the shorter first window). A run's start is its first hour
    clockwise: 23:00–03:00 starts at 23. Two touching runs are the same hours as one
    run, which is among the candidates, so they are not listed twice.
    """
    if len(counts) != HOURS:
        raise ValueError(f"need {HOURS} hourly counts, got {len(counts)}")
    budget = max(0, min(budget, HOURS))
    if budget == 0:
        return Windows(())
    if budget == HOURS:
        return Windows(((0, HOURS),))
    best: tuple[int, tuple[int, ...], tuple[tuple[int, int], ...]] | None = None
    for runs in _candidates(budget):
        total = sum(counts[(s + i) % HOURS] for s, n in runs for i in range(n))
        order = _tie_order(runs)
        if best is None or total > best[0] or (total == best[0] and order < best[1]):
            best = (total, order, runs)
    assert best is not None
    return Windows(best[2])


def _tie_order(runs: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """One window before two; then the earliest starts; then the shorter first window."""
    return (len(runs), *(s for s, _ in runs), *(n for _, n in runs))


def _candidates(budget: int) -> Iterable[tuple[tuple[int, int], ...]]:
    for start in range(HOURS):
        yield ((start, budget),)
    if MAX_WINDOWS < 2:
        return
    for first in range(1, budget):
        second = budget - first
        for a in range(HOURS):
            # b starts at least one hour after a's run ends, and ends at least one hour
            # before a starts again (going round the circle)
            for gap in range(1, HOURS - budget):
                b = (a + first + gap) % HOURS
                yield tuple(sorted(((a, first), (b, second))))


def _overlap(a: Windows, b: Windows) -> bool:
    return bool(set(a.hours) & set(b.hours))


@derived(
    "hours.windows",
    "When to post",
    "Per group, the hours of the day to schedule posts into: at most window_hours hours "
    "(4) a day in total, in at most two unbroken windows, chosen by trying every window "
    "and pair of windows round the clock so that they hold the largest share of the "
    "group's messages (ties: earliest start); share = that share over the whole period. "
    "Stability over the last stability_weeks (8) complete weeks with messages: the mean "
    "and the lowest weekly share inside the windows, and in how many of those weeks the "
    "week's own best windows overlapped them.",
    ("hours.heatmap", "hours.weekly"),
    ("group",),
)
def windows(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    budget = ctx.settings.window_hours
    profile: dict[str, list[int]] = {}
    for row in results["hours.heatmap"].to_pylist():
        profile.setdefault(row["group"], [0] * HOURS)[row["hour"]] += row["messages"]
    weeks: dict[str, dict[datetime, list[int]]] = {}
    for row in results["hours.weekly"].to_pylist():
        per = weeks.setdefault(row["group"], {})
        per.setdefault(row["week"], [0] * HOURS)[row["hour"]] += row["messages"]
    rows: list[dict[str, object]] = []
    for group in sorted(profile):
        counts = profile[group]
        total = sum(counts)
        if total == 0:
            continue
        chosen = best_windows(counts, budget)
        inside = sum(counts[h] for h in chosen.hours)
        recent = _recent_weeks(ctx, group, weeks.get(group, {}))
        shares = [sum(w[h] for h in chosen.hours) / sum(w) for w in recent]
        overlapping = sum(_overlap(best_windows(w, budget), chosen) for w in recent)
        runs = list(chosen.runs) + [(None, None)] * (MAX_WINDOWS - len(chosen.runs))
        rows.append(
            {
                "group": group,
                "windows": chosen.label(),
                "window1_start": runs[0][0],
                "window1_hours": runs[0][1],
                "window2_start": runs[1][0],
                "window2_hours": runs[1][1],
                "hours": chosen.hours,
                "messages": total,
                "share": inside / total,
                "stability_weeks": len(recent),
                "mean_weekly_share": sum(shares) / len(shares) if shares else None,
                "min_weekly_share": min(shares) if shares else None,
                "weeks_overlapping": overlapping,
            }
        )
    return pa.Table.from_pylist(rows, schema=WINDOWS_SCHEMA)


WINDOWS_SCHEMA: Final = pa.schema(
    [
        ("group", pa.string()),
        ("windows", pa.string()),
        ("window1_start", pa.int64()),
        ("window1_hours", pa.int64()),
        ("window2_start", pa.int64()),
        ("window2_hours", pa.int64()),
        ("hours", pa.list_(pa.int64())),
        ("messages", pa.int64()),
        ("share", pa.float64()),
        ("stability_weeks", pa.int64()),
        ("mean_weekly_share", pa.float64()),
        ("min_weekly_share", pa.float64()),
        ("weeks_overlapping", pa.int64()),
    ]
)


def _recent_weeks(ctx: Context, group: str, weeks: Mapping[datetime, list[int]]) -> list[list[int]]:
    """Hourly counts of the last ``stability_weeks`` complete local weeks, empty weeks skipped."""
    until = _complete_until(ctx, group)
    last_monday = (until - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
    last_monday -= timedelta(days=last_monday.weekday())
    first_monday = last_monday - timedelta(days=7 * (ctx.settings.stability_weeks - 1))
    picked = []
    for week in sorted(weeks):
        w = week.replace(tzinfo=None) if week.tzinfo is not None else week
        if first_monday <= w <= last_monday and sum(weeks[week]) > 0:
            picked.append(weeks[week])
    return picked


def _complete_until(ctx: Context, group: str) -> datetime:
    """The end of the period on the group's clock (for ``*``: the earliest group's)."""
    end = ctx.end if ctx.end.tzinfo is not None else ctx.end.replace(tzinfo=UTC)
    zones = ctx.timezones.values() if group == ALL_GROUPS else [ctx.timezones.get(group, "UTC")]
    locals_ = [end.astimezone(ZoneInfo(z)).replace(tzinfo=None) for z in zones] or [
        end.replace(tzinfo=None)
    ]
    return min(locals_)
