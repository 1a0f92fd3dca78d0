"""Health: one 0–100 score per group and week, from five components an operator can act on.

Each component is a 0–100 column; the score is their weighted mean over the components
that exist that week (a missing component — no questions asked, no previous month to
compare with, lurkers not countable — is left out and the others' weights are scaled up
to sum to 1, never counted as zero). The effective weights are columns too.

============== ====== ==========================================================
component      weight 100 means
============== ====== ==========================================================
trend          0.25   messages and active members at least the average of the
                      previous 4 weeks (half of it: 50; growth is capped at 100)
retention      0.25   everyone who posted in the month before the last is still
                      posting (month = 4 weeks)
response       0.20   every question answered, with a median response of 5
                      minutes or less (0 at 24 hours, log scale in between)
concentration  0.15   the top 10 % of the week's posters write at most half of
                      its messages (0 when they write all of them)
lurkers        0.15   at most half of the known members lurk (0 when all do)
============== ====== ==========================================================

Why these weights: a community is healthy when it keeps its people and keeps talking
(trend and retention, half of the score together), when questions get answers (the
reason most members stay), and when the talking is not left to a handful while most
read in silence (concentration and lurkers: typical groups have ~70 % lurkers and a
top 10 % writing ~70 % of messages, so they score 60 and 60 there — a middle, not a
failure).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import ibis
import pyarrow as pa
from ibis.expr import types as ir

from shequn.analytics.context import Context
from shequn.analytics.metrics.activity import member_weeks, rolling_actives
from shequn.analytics.metrics.growth import weeks
from shequn.analytics.registry import derived, metric

#: component → weight (the score's weighted mean; documented in the module docstring)
WEIGHTS: Final = {
    "trend": 0.25,
    "retention": 0.25,
    "response": 0.20,
    "concentration": 0.15,
    "lurkers": 0.15,
}
#: weeks before this one the trend compares with
TREND_WEEKS: Final = 4
#: a median response at or under this many seconds scores 100 …
FAST_RESPONSE_SECONDS: Final = 300
#: … and at or over this many, 0
SLOW_RESPONSE_SECONDS: Final = 86_400
#: the top 10 % writing at most this share of messages scores 100
HEALTHY_TOP10_SHARE: Final = 0.5
#: a lurker share at or under this scores 100
HEALTHY_LURKER_SHARE: Final = 0.5


@metric(
    "health.components",
    "Health inputs per week",
    "Per group and local week (quiet weeks included): messages, active members (posted), "
    "posters of the month before the last (weeks w-7 … w-4) and how many of them posted in "
    "the last month (w-3 … w), and the share of the week's messages written by its top "
    "10 % of posters (at least one; ties by member key). The health score is computed "
    "from these.",
    ("group", "week"),
)
def components(ctx: Context) -> ir.Table:
    pw = member_weeks(ctx)
    per = pw.select("group", "week", "member", n=pw.messages)
    calendar = weeks(ctx)
    weekly = _weekly(per)
    kept = _kept(pw)
    out = calendar.left_join(weekly, ["group", "week"]).drop("group_right", "week_right")
    out = out.left_join(kept, ["group", "week"]).drop("group_right", "week_right")
    return out.select(
        "group",
        "week",
        messages=ibis.coalesce(out.messages, 0),
        active_members=ibis.coalesce(out.active_members, 0),
        previous_month_active=ibis.coalesce(out.previous_month_active, 0),
        still_active=ibis.coalesce(out.still_active, 0),
        top10_share=out.top10_share,
    )


def _weekly(per: ir.Table) -> ir.Table:
    """Messages, posters and the top 10 % posters' share per (group, week).

    The top posters' messages are the largest counts of the week whoever wrote them
    (members tied on a count write as much), so they are read from how many posters
    wrote each count: the top t take the counts from the largest down, the last count
    only as many times as places are left — no ranking of every poster.
    """
    counts = per.group_by(["group", "week", "n"]).aggregate(posters=per.count())
    larger = ibis.cumulative_window(group_by=["group", "week"], order_by=ibis.desc("n"))
    counts = counts.mutate(
        above=counts.posters.sum().over(larger) - counts.posters,
        total=counts.posters.sum().over(ibis.window(group_by=["group", "week"])),
    )
    top = (counts.total * 10 + 99) // 100  # ceil(10 % of the posters), at least one
    taken = ibis.least(ibis.greatest(top - counts.above, 0), counts.posters)
    out = counts.group_by(["group", "week"]).aggregate(
        messages=(counts.n * counts.posters).sum().cast("int64"),
        active_members=counts.posters.sum().cast("int64"),
        top_messages=(counts.n * taken).sum(),
    )
    return out.select(
        "group",
        "week",
        "messages",
        "active_members",
        top10_share=out.top_messages.cast("float64") / out.messages.cast("float64"),
    )


def _kept(pw: ir.Table) -> ir.Table:
    """Per week w: posters of weeks w-7…w-4 (A), and how many of them posted in weeks
    w-3…w (B) — |A ∩ B| = |A| + |B| − |A ∪ B|, each a count of distinct posters over a
    run of weeks (:func:`~shequn.analytics.metrics.activity.rolling_actives`), A being
    B four weeks earlier. Posts without a member count as one poster in A, never in B."""
    rows = pw.select("group", "member", "week", "prev_week")
    month = TREND_WEEKS
    earlier = rolling_actives(rows, month)
    earlier = earlier.select(
        "group", week=earlier.week + ibis.interval(days=7 * month), earlier=earlier.actives
    )
    named = rows.filter(rows.member.notnull())
    named_earlier = rolling_actives(named, month)
    named_earlier = named_earlier.select(
        "group",
        week=named_earlier.week + ibis.interval(days=7 * month),
        named_earlier=named_earlier.actives,
    )
    recent = rolling_actives(named, month).rename(recent="actives")
    either = rolling_actives(named, 2 * month).rename(either="actives")
    # the named posters of a week are among its posters: every week has a row here
    out = earlier.left_join(named_earlier, ["group", "week"]).drop("group_right", "week_right")
    out = out.left_join(recent, ["group", "week"]).drop("group_right", "week_right")
    out = out.left_join(either, ["group", "week"]).drop("group_right", "week_right")
    zero = ibis.literal(0, "int64")
    both = (
        ibis.coalesce(out.named_earlier, zero)
        + ibis.coalesce(out.recent, zero)
        - ibis.coalesce(out.either, zero)
    )
    return out.select(
        "group",
        "week",
        previous_month_active=ibis.coalesce(out.earlier, zero),
        still_active=both,
    )


@derived(
    "health.weekly",
    "Health score",
    "One 0–100 score per group and local week: the weighted mean of five 0–100 "
    "components — trend 0.25 (messages and active members vs the average of the 4 weeks "
    "before; holding the level scores 100, half of it 50), retention 0.25 (share of the "
    "month-before-last's posters who posted in the last 4 weeks), response 0.20 (answered "
    "share of questions × speed: median response ≤ 5 min = 1, 24 h = 0, log scale; from "
    "conversation.response), concentration 0.15 (100 when the week's top 10 % of posters "
    "write at most half of the messages, 0 when they write all) and lurkers 0.15 (100 "
    "when at most half of the known members lurk, 0 when all do; lurkers.summary). A "
    "component that cannot be computed is left out and the other weights scaled up; the "
    "weights used are columns.",
    ("health.components", "conversation.response", "lurkers.summary"),
    ("group", "week"),
)
def weekly(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    rows = [{**r, "week": _naive(r["week"])} for r in results["health.components"].to_pylist()]
    response = _by_week(results["conversation.response"])
    lurkers = results["lurkers.summary"]
    lurker_by_week = "week" in lurkers.column_names
    lurker_rows = (
        _by_week(lurkers)
        if lurker_by_week
        else {(r["group"], None): r for r in lurkers.to_pylist()}
    )
    history: dict[tuple[str, datetime], dict[str, Any]] = {(r["group"], r["week"]): r for r in rows}
    out: dict[str, list[Any]] = {name: [] for name in _SCHEMA.names}
    for row in rows:
        group, week = row["group"], row["week"]
        parts: dict[str, float | None] = {
            "trend": _trend(
                row,
                [
                    history.get((group, week - timedelta(weeks=k)))
                    for k in range(1, TREND_WEEKS + 1)
                ],
            ),
            "retention": _retention(row),
            "response": _response(response.get((group, week))),
            "concentration": _concentration(row),
            "lurkers": _lurkers(lurker_rows.get((group, week if lurker_by_week else None))),
        }
        present = {k: WEIGHTS[k] for k, v in parts.items() if v is not None}
        total = sum(present.values())
        out["group"].append(group)
        out["week"].append(week)
        out["score"].append(
            sum(present[k] * float(parts[k] or 0.0) for k in present) / total if total else None
        )
        out["components"].append(len(present))
        for name in WEIGHTS:
            out[name].append(parts[name])
            out[f"{name}_weight"].append(present.get(name, 0.0) / total if total else 0.0)
    return pa.table(out, schema=_SCHEMA)


_SCHEMA: Final = pa.schema(
    [
        ("group", pa.string()),
        ("week", pa.timestamp("us")),
        ("score", pa.float64()),
        ("components", pa.int64()),
        *[(name, pa.float64()) for name in WEIGHTS],
        *[(f"{name}_weight", pa.float64()) for name in WEIGHTS],
    ]
)


def _by_week(table: pa.Table) -> dict[tuple[str, datetime | None], dict[str, Any]]:
    return {(r["group"], _naive(r["week"])): r for r in table.to_pylist()}


def _naive(week: Any) -> Any:
    if isinstance(week, datetime) and week.tzinfo is not None:
        return week.replace(tzinfo=None)
    return week


def _trend(row: dict[str, Any], before: list[dict[str, Any] | None]) -> float | None:
    """100 × the mean of min(1, this week / average of the weeks before), for messages and
    active members; None without an earlier week that had messages."""
    known = [b for b in before if b is not None]
    if not known:
        return None
    ratios = []
    for column in ("messages", "active_members"):
        average = sum(int(b[column]) for b in known) / len(known)
        if average <= 0:
            return None
        ratios.append(min(1.0, int(row[column]) / average))
    return 100.0 * sum(ratios) / len(ratios)


def _retention(row: dict[str, Any]) -> float | None:
    earlier = int(row["previous_month_active"])
    return 100.0 * int(row["still_active"]) / earlier if earlier else None


def response_score(questions: int, answered: int, median_seconds: float | None) -> float | None:
    """100 × answered share × speed (1 up to 5 min, 0 from 24 h, log scale between);
    the answered share alone when no median is known; None without questions."""
    if questions <= 0:
        return None
    share = answered / questions
    if answered <= 0 or median_seconds is None:  # nothing to time: the answered share alone
        return 100.0 * share
    seconds = max(float(median_seconds), 0.0)
    if seconds <= FAST_RESPONSE_SECONDS:
        speed = 1.0
    elif seconds >= SLOW_RESPONSE_SECONDS:
        speed = 0.0
    else:
        speed = 1.0 - math.log(seconds / FAST_RESPONSE_SECONDS) / math.log(
            SLOW_RESPONSE_SECONDS / FAST_RESPONSE_SECONDS
        )
    return 100.0 * share * speed


def _response(row: dict[str, Any] | None) -> float | None:
    if row is None or row.get("questions") is None:
        return None
    return response_score(
        int(row["questions"]), int(row.get("answered") or 0), row.get("median_response_seconds")
    )


def _concentration(row: dict[str, Any]) -> float | None:
    share = row["top10_share"]
    if share is None or int(row["active_members"]) == 0:
        return None
    return 100.0 * min(1.0, (1.0 - float(share)) / (1.0 - HEALTHY_TOP10_SHARE))


def _lurkers(row: dict[str, Any] | None) -> float | None:
    if row is None or not row.get("countable", True) or row.get("lurker_share") is None:
        return None
    share = float(row["lurker_share"])
    return 100.0 * min(1.0, (1.0 - share) / (1.0 - HEALTHY_LURKER_SHARE))
