"""Activity: who posts, how much, how regularly, and how concentrated the talking is.

Weeks are local weeks (Monday 00:00 on the group's clock). A member is *active* in a
week when they posted at least one message in it. For the community as a whole
(group ``*``) a member active in two groups counts once.
"""

from __future__ import annotations

import ibis
from ibis.expr import types as ir

from shequn.analytics.context import Context
from shequn.analytics.metrics.common import day_of, period_ends, week_of, with_all_groups
from shequn.analytics.registry import metric


def _member_weeks(ctx: Context) -> ir.Table:
    m = ctx.messages
    posts = with_all_groups(
        m.select(group=m.group, member=m.member, week=week_of(m.local_ts), day=day_of(m.local_ts))
    )
    return posts


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
    posts = _member_weeks(ctx)
    per_member_week = posts.group_by(["group", "member", "week"]).aggregate(
        messages=posts.count(), days=posts.day.nunique()
    )
    first = per_member_week.group_by(["group", "member"]).aggregate(
        first_week=per_member_week.week.min()
    )
    pw = per_member_week.join(first, ["group", "member"])
    earlier = pw.select(
        group="group", member="member", prev_week="week"
    )  # the same member's active weeks, to look back
    last_week = earlier.mutate(week=earlier.prev_week + ibis.interval(days=7)).select(
        "group", "member", "week", had_last=ibis.literal(True)
    )
    flagged = pw.left_join(last_week, ["group", "member", "week"]).select(
        pw.group,
        pw.member,
        pw.week,
        pw.messages,
        pw.days,
        is_new=pw.week == pw.first_week,
        was_active_last_week=last_week.had_last.notnull(),
    )
    weeks = flagged.group_by(["group", "week"]).aggregate(
        messages=flagged.messages.sum(),
        active_members=flagged.count(),
        new_members=flagged.is_new.sum(),
        returning=flagged.was_active_last_week.sum(),
        reactivated=((~flagged.is_new) & (~flagged.was_active_last_week)).sum(),
        member_days=flagged.days.sum(),
    )
    churned = _churned(flagged)
    mau = _rolling_actives(posts)
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
        mau=out.mau,
        stickiness=dau / out.mau.cast("float64"),
    )


def _churned(flagged: ir.Table) -> ir.Table:
    """Members active in week w-1 and not in week w, counted in week w."""
    nxt = flagged.select(group="group", member="member", week=flagged.week + ibis.interval(days=7))
    present = flagged.select("group", "member", "week", here=ibis.literal(True))
    gone = nxt.left_join(present, ["group", "member", "week"])
    gone = gone.filter(gone.here.isnull())
    return gone.group_by([gone.group, gone.week]).aggregate(churned=gone.count())


def _rolling_actives(posts: ir.Table) -> ir.Table:
    """Distinct posters in each week and the three before (28 days)."""
    active = posts.select("group", "member", "week").distinct()
    weeks = active.select("group", "week").distinct()
    seen = active.select(g2="group", member="member", w2="week")
    span = weeks.join(
        seen,
        [
            weeks.group == seen.g2,
            seen.w2 <= weeks.week,
            seen.w2 > weeks.week - ibis.interval(days=28),
        ],
    )
    return span.group_by(["group", "week"]).aggregate(mau=span.member.nunique())


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
