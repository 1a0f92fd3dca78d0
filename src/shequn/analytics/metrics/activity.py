"""Activity: who posts, how much, how regularly, and how concentrated the talking is.

Weeks are local weeks (Monday 00:00 on the group's clock). A member is *active* in a
week when they posted at least one message in it. For the community as a whole
(group ``*``) a member active in two groups counts once.
"""

from __future__ import annotations

from typing import Final

import ibis
import pyarrow as pa
from ibis.expr import types as ir

from shequn.analytics.context import Context
from shequn.analytics.metrics.common import (
    ALL_GROUPS,
    period_ends,
    week_of,
    with_all_groups,
)
from shequn.analytics.registry import metric

#: a week's monthly actives (MAU) are those active in it and the weeks before: 28 days
MONTH_WEEKS: Final = 4
#: seconds in a week (local Mondays are whole weeks apart)
WEEK_SECONDS: Final = 7 * 86_400


def member_weeks(ctx: Context) -> ir.Table:
    """One row per (group, member, local week) with a post, the community ``*`` included:
    ``messages`` and ``days`` (distinct local days with a post), ``people_days`` (those
    with a post not flagged as a bot's: roles.signals' active days). Materialised per
    context (activity.weekly, health.components and roles.signals read it). A post
    without a member counts too, under a null ``member``. ``prev_week`` and
    ``next_week`` are the member's active weeks before and after (null: none), in the
    group.
    """
    return ctx.shared("activity.member_weeks", lambda: _member_weeks(ctx))


def _member_weeks(ctx: Context) -> ir.Table:
    m = ctx.messages
    # a week's days are its weekdays: each post sets its weekday's bit (and, when not
    # flagged as a bot's, the same bit of a second mask), OR-ed in one aggregate per
    # (group, member, week) and counted after. Grouping by day first made a second
    # aggregate over nearly as many rows as posts; fourteen weekday flags (one maximum
    # each) cost more than two OR-s (at 1M messages 1.2 -> 1.05 s CPU)
    bit = ibis.literal(1, "int32") << m.local_ts.day_of_week.index().cast("int32")
    per = m.group_by([m.group, m.member, week_of(m.local_ts).name("week")]).aggregate(
        messages=m.count(),
        days=bit_or(bit),
        people_days=bit_or(ibis.ifelse(m.is_bot, ibis.literal(0, "int32"), bit)),
    )
    if len(ctx.timezones) > 1:
        # a member's days across the groups: a day with posts in two groups is one day
        everywhere = per.group_by(["member", "week"]).aggregate(
            messages=per.messages.sum(),
            days=bit_or(per.days),
            people_days=bit_or(per.people_days),
        )
        everywhere = everywhere.mutate(group=ibis.literal(ALL_GROUPS)).select(per.columns)
        per = per.union(everywhere)
    per = per.select(
        "group",
        "member",
        "week",
        messages=per.messages.cast("int64"),
        days=_bits_set(per.days),
        people_days=_bits_set(per.people_days),
    )
    per = _with_neighbour_weeks(per)
    if len(ctx.timezones) == 1:
        # one group: the community's rows are the group's, neighbour weeks included (so
        # the rows are sorted once, not twice as a union of two copies)
        per = per.union(per.mutate(group=ibis.literal(ALL_GROUPS)).select(per.columns))
    return per


@ibis.udf.agg.builtin  # type: ignore[untyped-decorator]
def bit_or(value: int) -> int:  # type: ignore[empty-body]
    """The bitwise OR of a group's values (DuckDB's and Spark's ``bit_or``)."""


def _bits_set(mask: ir.IntegerValue) -> ir.IntegerValue:
    """How many of a weekday mask's seven bits are set."""
    total: ir.IntegerValue = ibis.literal(0, "int64")
    for day in range(7):
        total = total + ((mask >> day) & 1)
    return total.cast("int64")


def _with_neighbour_weeks(per: ir.Table) -> ir.Table:
    """``per`` with each member's active weeks before and after in the group (one sort,
    for every metric reading the table)."""
    order = ibis.window(group_by=[per.group, per.member], order_by=per.week)
    return per.mutate(prev_week=per.week.lag().over(order), next_week=per.week.lead().over(order))


@metric(
    "activity.weekly",
    "Weekly activity",
    "Per local week: messages; active members (posted at least once); new (first post "
    "ever), returning (also active the week before), reactivated (not active the week "
    "before but earlier) and churned (active the week before, not this week); messages "
    "per active member; DAU (average distinct posters per day over the 7 days), WAU "
    "(= active members), MAU (distinct posters in this week and the 3 before, 28 days) "
    "and stickiness = DAU / MAU. `complete` is false for a week the period ends inside "
    "(its churn and DAU are not comparable with whole weeks).",
    ("group", "week"),
)
def weekly(ctx: Context) -> ir.Table:
    pw = member_weeks(ctx)
    pw = pw.filter(pw.member.notnull())
    # the member's active weeks before and after tell new, returning, reactivated and
    # churned without joining the table to itself
    one_week = ibis.interval(days=7)
    flagged = pw.mutate(
        is_new=pw.prev_week.isnull(),
        was_active_last_week=ibis.coalesce(pw.prev_week == pw.week - one_week, False),
    )
    weeks = flagged.group_by(["group", "week"]).aggregate(
        messages=flagged.messages.sum(),
        active_members=flagged.count(),
        new_members=flagged.is_new.sum(),
        returning=flagged.was_active_last_week.sum(),
        reactivated=((~flagged.is_new) & (~flagged.was_active_last_week)).sum(),
        member_days=flagged.days.sum(),
    )
    churned = _churned(pw)
    mau = rolling_actives(pw, MONTH_WEEKS)
    out = weeks.left_join(churned, ["group", "week"]).drop("group_right", "week_right")
    out = out.left_join(mau, ["group", "week"]).drop("group_right", "week_right")
    ends = period_ends(ctx)
    out = out.left_join(ends, out.group == ends.end_group)
    dau = out.member_days.cast("float64") / ibis.literal(7, "float64")
    return out.select(
        "group",
        "week",
        complete=(out.week + ibis.interval(days=7)) <= out.complete_until,
        messages=out.messages,
        active_members=out.active_members,
        new_members=out.new_members,
        returning=out.returning,
        reactivated=out.reactivated,
        churned=ibis.coalesce(out.churned, 0),
        messages_per_active=out.messages.cast("float64") / out.active_members,
        dau=dau,
        wau=out.active_members,
        mau=out.actives,
        stickiness=dau / out.actives.cast("float64"),
    )


def _churned(pw: ir.Table) -> ir.Table:
    """Members active in week w-1 and not in week w, counted in week w: an active week
    whose member's next active week is not the one after it."""
    after = pw.week + ibis.interval(days=7)
    gone = pw.filter(pw.next_week.isnull() | (pw.next_week != after))
    gone = gone.select("group", week=gone.week + ibis.interval(days=7))
    return gone.group_by([gone.group, gone.week]).aggregate(churned=gone.count())


def rolling_actives(pw: ir.Table, span: int) -> ir.Table:
    """``actives``: distinct members active in each week and the ``span - 1`` before.

    ``pw`` holds each member's active weeks with ``prev_week``, their active week before.
    A week counts a member once, from the first of their active weeks that covers it: an
    active week covers itself and the ``span - 1`` weeks after it, those not covered by
    the member's previous active week already — from offset ``first`` on, ``span`` minus
    the weeks since the previous active week (0 without one). The active weeks are
    counted per (group, week, first) before they meet the offsets, so the ``span``-fold
    rows are a few per week, not a few per member (no distinct count over a join of
    every week with the weeks before it).
    """
    since = _whole_weeks(pw.week, pw.prev_week)
    first = ibis.ifelse(pw.prev_week.isnull(), 0, ibis.greatest(span - since, 0))
    starts = pw.group_by(["group", "week", first.name("first")]).aggregate(n=pw.count())
    offsets = ibis.memtable(pa.table({"offset": pa.array(range(span), pa.int64())}))
    rows = starts.cross_join(offsets)
    rows = rows.filter(rows.offset >= rows.first)
    covered = rows.week + (rows.offset * 7).as_interval("D")
    return rows.group_by([rows.group, covered.name("week")]).aggregate(
        actives=rows.n.sum().cast("int64")
    )


def _whole_weeks(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.IntegerValue:
    """Weeks from one local Monday to a later one, in integers (rounded to the nearest
    week, so an engine that read the naive times across a clock change still agrees)."""
    seconds = later.epoch_seconds().cast("int64") - earlier.epoch_seconds().cast("int64")
    return (seconds + WEEK_SECONDS // 2) // WEEK_SECONDS


@metric(
    "activity.concentration",
    "Who does the talking",
    "Over the whole period, per group: members who posted, messages, the share of "
    "messages written by the top 1 % and top 10 % of posting members (at least one "
    "member each; ties broken by member key) and the Gini coefficient of messages per "
    "posting member (0: everyone posts equally; near 1: one member posts everything).",
    ("group",),
)
def concentration(ctx: Context) -> ir.Table:
    m = ctx.messages
    counts = with_all_groups(m.select("group", "member"))
    per = counts.group_by(["group", "member"]).aggregate(n=counts.count())
    by_volume = ibis.window(group_by="group", order_by=[ibis.desc("n"), "member"])
    ascending = ibis.window(group_by="group", order_by=["n", "member"])
    whole = ibis.window(group_by="group")
    ranked = per.mutate(
        top_rank=ibis.row_number().over(by_volume),
        up_rank=ibis.row_number().over(ascending) + 1,
        posters=per.count().over(whole),
    )
    ranked = ranked.mutate(
        in_top1=ranked.top_rank < _share_of(ranked.posters, 1),
        in_top10=ranked.top_rank < _share_of(ranked.posters, 10),
    )
    out = ranked.group_by("group").aggregate(
        posting_members=ranked.count(),
        messages=ranked.n.sum(),
        top1_messages=ranked.n.sum(where=ranked.in_top1),
        top10_messages=ranked.n.sum(where=ranked.in_top10),
        weighted=(ranked.up_rank * ranked.n).sum(),
    )
    n = out.posting_members.cast("float64")
    total = out.messages.cast("float64")
    return out.select(
        "group",
        "posting_members",
        "messages",
        top1_share=out.top1_messages / total,
        top10_share=out.top10_messages / total,
        gini=(out.weighted.cast("float64") * 2) / (n * total) - (n + 1) / n,
    )


def _share_of(count: ir.IntegerValue, percent: int) -> ir.IntegerValue:
    """ceil(count × percent / 100) in integers (no decimal literals: Spark reads 0.01
    as DECIMAL and would round differently)."""
    return (count * percent + 99) // 100
