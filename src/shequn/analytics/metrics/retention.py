"""Retention: of the members who joined in a week, how many still post and still belong.

Who is a member, when they joined and whether they are still there is decided once, in
:func:`member_facts` (the lurker metrics use the same facts):

* a *member* of a group is anyone an event of the group is about (``member`` of a post,
  join, roster listing, reaction, rename, exit …); members who were ever flagged as bots
  anywhere in scope are left out;
* their *join* is their first ``member_joined`` event in the group; without one, their
  first event of any kind there. A ``member_listed`` row carries the join date when the
  roster has one, else the time the list was taken, which is never earlier than the
  member's other events — so "the dated roster row, else the first event" is exactly the
  earliest event;
* they are *gone* at an instant when their latest exit (``member_left`` /
  ``member_removed``) up to then is not followed by any other event of theirs (a rejoin,
  a post, a fresh listing); equal times count as gone.

For the whole community (group ``*``) a member joined when they first joined any group,
is gone only when gone from every group, and posted when they posted in any group.
Weeks are local weeks (Monday 00:00 on the group's clock).
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
from ibis.expr import types as ir

from shequn.analytics.context import EXIT_KINDS, Context
from shequn.analytics.metrics.common import ALL_GROUPS, period_ends, week_of
from shequn.analytics.registry import metric

#: a cohort counts towards the week-4 cliff once its week ``CLIFF_LAST_WEEK`` is complete
CLIFF_LAST_WEEK: Final = 5
SECONDS_PER_DAY: Final = 86_400


def member_events(ctx: Context) -> ir.Table:
    """Events about a member (``member`` not null), bots' members left out."""
    e = ctx.events.filter(ctx.events.member.notnull())
    bots = e.filter(e.is_bot).select(bot_member=e.member).distinct()
    e = e.left_join(bots, e.member == bots.bot_member)
    return e.filter(e.bot_member.isnull()).drop("bot_member")


def member_facts(ctx: Context) -> ir.Table:
    """One row per (group, member), the community ``*`` included.

    Columns: ``group``, ``member``, ``joined`` (UTC), ``join_week`` (local Monday),
    ``posts``, ``last_post`` (UTC, null if none), ``gone`` (at the end of the period),
    ``exited`` (UTC time of the exit that made them gone, else null). Materialised per
    context.
    """
    return ctx.shared("retention.member_facts", lambda: _member_facts(ctx))


def _member_facts(ctx: Context) -> ir.Table:
    e = member_events(ctx)
    is_exit = e.kind.isin(list(EXIT_KINDS))
    joined_row = e.kind == "member_joined"
    posted = e.kind == "message_posted"
    week = week_of(e.local_ts)
    per = e.group_by(["group", "member"]).aggregate(
        first_joined=e.ts.min(where=joined_row),
        first_seen=e.ts.min(),
        joined_week=week.min(where=joined_row),
        first_week=week.min(),
        posts=e.count(where=posted),
        last_post=e.ts.max(where=posted),
        last_exit=e.ts.max(where=is_exit),
        last_presence=e.ts.max(where=~is_exit),
    )
    gone = _gone(per.last_exit, per.last_presence)
    groups = per.select(
        group=per.group,
        member=per.member,
        joined=ibis.coalesce(per.first_joined, per.first_seen),
        join_week=ibis.coalesce(per.joined_week, per.first_week),
        posts=per.posts.cast("int64"),
        last_post=per.last_post,
        gone=gone,
        exited=ibis.ifelse(gone, per.last_exit, ibis.null("timestamp")),
    )
    gone_flag = ibis.ifelse(groups.gone, 1, 0)
    everything = groups.group_by("member").aggregate(
        joined=groups.joined.min(),
        join_week=groups.join_week.min(),
        posts=groups.posts.sum(),
        last_post=groups.last_post.max(),
        all_gone=gone_flag.min(),
        last_exit=groups.exited.max(),
    )
    all_gone = everything.all_gone == 1
    community = everything.select(
        group=ibis.literal(ALL_GROUPS),
        member=everything.member,
        joined=everything.joined,
        join_week=everything.join_week,
        posts=everything.posts.cast("int64"),
        last_post=everything.last_post,
        gone=all_gone,
        exited=ibis.ifelse(all_gone, everything.last_exit, ibis.null("timestamp")),
    )
    return groups.union(community)


def _gone(last_exit: ir.TimestampValue, last_presence: ir.TimestampValue) -> ir.BooleanValue:
    return last_exit.notnull() & (last_presence.isnull() | (last_exit >= last_presence))


def _member_at_end(
    last_exit: ir.TimestampValue, last_presence: ir.TimestampValue
) -> ir.IntegerValue:
    """1 while a member (not :func:`_gone`), else 0."""
    return ibis.ifelse(_gone(last_exit, last_presence), 0, 1)


def _week_numbers(ctx: Context) -> ir.Table:
    """k = 0 … enough weeks to cover the period (rows past its end are filtered later)."""
    span = max(0, (ctx.end - ctx.start).days) // 7 + 3
    return ibis.memtable(pa.table({"k": pa.array(range(span), pa.int64())}))


def cohort_weeks(ctx: Context) -> ir.Table:
    """One row per join cohort and week since joining (k = 0 …) inside the period.

    Columns: ``group``, ``cohort`` (local Monday of the join), ``k``, ``week`` (cohort + k
    weeks), ``complete`` (the week ended inside the period), ``cohort_size`` (members who
    joined that week). Materialised per context (a few thousand rows).
    """
    return ctx.shared("retention.cohort_weeks", lambda: _cohort_weeks(ctx))


def _cohort_weeks(ctx: Context) -> ir.Table:
    facts = member_facts(ctx)
    cohorts = facts.group_by(["group", facts.join_week.name("cohort")]).aggregate(
        cohort_size=facts.count()
    )
    grid = cohorts.cross_join(_week_numbers(ctx))
    grid = grid.mutate(week=grid.cohort + (grid.k * 7).as_interval("D"))
    ends = period_ends(ctx)
    grid = grid.join(ends, grid.group == ends.end_group)
    grid = grid.filter(grid.week < grid.last_local)
    return grid.select(
        "group",
        "cohort",
        "k",
        "week",
        complete=(grid.week + ibis.interval(days=7)) <= grid.complete_until,
        cohort_size=grid.cohort_size.cast("int64"),
    )


def member_weeks(ctx: Context) -> ir.Table:
    """The weeks in which a member's standing may change: one row per member and week
    since joining (k = 0 …, inside the period) in which they have an event.

    Columns: ``group``, ``member``, ``cohort``, ``k``, ``posted`` (a message in that
    week), ``change`` (+1: a member again at the week's end, having been gone at the end
    of their previous such week; −1: gone, having been a member; 0: unchanged; at k = 0,
    +1 or 0 as they are a member at its end). Every member has a row at k = 0 (their
    join is an event of that week), so a cohort's members at the end of week k are the
    sum of its changes up to k, and its posters those rows with ``posted``: the member ×
    week grid (every member in every week since joining, 7.5M rows at 100,000 members
    and a year) is never built. Materialised per context.
    """
    return ctx.shared("retention.member_weeks", lambda: _member_weeks(ctx))


def _member_weeks(ctx: Context) -> ir.Table:
    facts = member_facts(ctx)
    grid = cohort_weeks(ctx)
    w = _weeks_with_events(facts, grid, member_events(ctx))
    # most members never leave (92 % at 100,000 members): their standing changes once,
    # +1 at k = 0 (their first row: every member has one); only the rows of members
    # with an exit are sorted to follow their standing, and joined back
    e = ctx.events
    exits = e.filter(e.kind.isin(list(EXIT_KINDS)) & e.member.notnull())
    exits = exits.select(x_group="group", x_member="member").distinct()
    # a bot's rows are not in ``w``, so the events of every member with an exit will do
    leaving = e.semi_join(exits, [e.group == exits.x_group, e.member == exits.x_member])
    changes = _standing_changes(_weeks_with_events(facts, grid, leaving))
    changes = changes.select(c_group="group", c_member="member", c_k="k", c_change="change")
    w = w.left_join(
        changes, [w.group == changes.c_group, w.member == changes.c_member, w.k == changes.c_k]
    )
    groups = w.select(
        "group",
        "member",
        "cohort",
        "k",
        "week",
        posted=w.posts > 0,
        change=ibis.coalesce(w.c_change, ibis.ifelse(w.k == 0, 1, 0).cast("int64")),
    )
    if len(ctx.timezones) == 1:
        # one group: the community's members, cohorts, weeks and period end are the
        # group's, so its rows are the group's rows
        return groups.drop("week").union(groups.drop("week").mutate(group=ibis.literal(ALL_GROUPS)))
    return groups.drop("week").union(_community_weeks(ctx, facts, grid, groups))


def _weeks_with_events(facts: ir.Table, grid: ir.Table, e: ir.Table) -> ir.Table:
    """Per (group, member, k) with an event of ``e`` in the member's grid: ``cohort``,
    ``week``, ``posts`` and the week's latest exit and presence (``exit_ts``,
    ``presence_ts``)."""
    is_exit = e.kind.isin(list(EXIT_KINDS))
    weekly = e.group_by(["group", "member", week_of(e.local_ts).name("week")]).aggregate(
        posts=e.count(where=e.kind == "message_posted"),
        exit_ts=e.ts.max(where=is_exit),
        presence_ts=e.ts.max(where=~is_exit),
    )
    joins = facts.filter(facts.group != ALL_GROUPS).select(
        f_group="group", f_member="member", cohort="join_week"
    )
    w = weekly.join(joins, [weekly.group == joins.f_group, weekly.member == joins.f_member])
    # the weeks of the member's grid: from the join week on, before the period's end
    g = grid.select(g_group="group", g_cohort="cohort", g_week="week", k="k")
    w = w.join(g, [w.group == g.g_group, w.cohort == g.g_cohort, w.week == g.g_week])
    return w.drop("f_group", "f_member", "g_group", "g_cohort", "g_week")


def _standing_changes(w: ir.Table) -> ir.Table:
    """Per row of ``w`` (a member's weeks with events), ``change``: the change of standing
    read from the latest exit and presence up to this row and up to the row before —
    four running maxima in one ordered pass (a lag of the standing would sort the rows
    again)."""
    so_far = ibis.cumulative_window(group_by=[w.group, w.member], order_by=w.k)
    before = ibis.window(group_by=[w.group, w.member], order_by=w.k, rows=(None, -1))
    first = ibis.row_number().over(ibis.window(group_by=[w.group, w.member], order_by=w.k)) == 0
    status = _member_at_end(w.exit_ts.max().over(so_far), w.presence_ts.max().over(so_far))
    was = _member_at_end(w.exit_ts.max().over(before), w.presence_ts.max().over(before))
    return w.select(
        "group", "member", "k", change=(status - ibis.ifelse(first, 0, was)).cast("int64")
    )


def _community_weeks(ctx: Context, facts: ir.Table, grid: ir.Table, groups: ir.Table) -> ir.Table:
    """The rows of group ``*``: posted in a week when posted in any group; a member at a
    week's end while a member of any group whose own weeks (its join week … the period's
    end on its clock) hold that week.

    The groups a member belongs to at a week's end are counted as a running sum of the
    groups' changes, plus, in the first week past each group's period, the loss of the
    standing the member had there at its end; the member belongs to ``*`` while that
    count is above zero, and ``*``'s changes are where that flips.
    """
    ends = _first_weeks_after(ctx)
    final = groups.group_by(["group", "member"]).aggregate(standing=groups.change.sum())
    closing = final.join(ends, final.group == ends.x_group).select(
        member=final.member,
        week=ends.x_week.cast(groups.week.type()),
        change=(-final.standing).cast("int64"),
        posted=ibis.literal(False),
    )
    rows = groups.select("member", "week", "change", "posted").union(closing)
    per = rows.group_by(["member", "week"]).aggregate(
        change=rows.change.sum(), posted=ibis.ifelse(rows.posted, 1, 0).max()
    )
    running = ibis.cumulative_window(group_by=per.member, order_by=per.week)
    per = per.mutate(status=ibis.ifelse(per.change.sum().over(running) > 0, 1, 0))
    before = ibis.window(group_by=per.member, order_by=per.week)
    per = per.mutate(
        c_change=per.status - ibis.coalesce(per.status.lag().over(before), 0),
    )
    whole = facts.filter(facts.group == ALL_GROUPS).select(c_member="member", c_cohort="join_week")
    own = grid.filter(grid.group == ALL_GROUPS)
    c = per.join(whole, per.member == whole.c_member)
    c = c.join(own, [c.c_cohort == own.cohort, c.week == own.week])
    return c.select(
        group=ibis.literal(ALL_GROUPS),
        member=c.member,
        cohort=c.c_cohort,
        k=c.k,
        posted=c.posted == 1,
        change=c.c_change.cast("int64"),
    )


def _first_weeks_after(ctx: Context) -> ir.Table:
    """Per group, the first local Monday at or after the period's end on its clock (the
    first week past the group's weeks)."""
    end = ctx.end if ctx.end.tzinfo is not None else ctx.end.replace(tzinfo=UTC)
    groups, weeks = [], []
    for group, zone in sorted(ctx.timezones.items()):
        last = end.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        monday = (last - timedelta(days=last.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        groups.append(group)
        weeks.append(monday if monday >= last else monday + timedelta(days=7))
    return ibis.memtable(
        pa.table(
            {
                "x_group": pa.array(groups, pa.string()),
                "x_week": pa.array(weeks, pa.timestamp("us")),
            }
        )
    )


def _share(part: ir.IntegerValue, whole: ir.IntegerValue) -> ir.FloatingValue:
    return part.cast("float64") / whole.cast("float64").nullif(0.0)


@metric(
    "retention.cohorts",
    "Retention by join week",
    "Members grouped by the local week they joined (their first join event; without one, "
    "their first event in the group), followed week by week: k = 0 is the join week. For "
    "each cohort and k: cohort size, how many posted in week cohort+k (still posting) and "
    "how many had not left or been removed by the end of that week (still a member), and "
    "both as shares of the cohort. 'complete' is false for a week the period ends inside, "
    "whose numbers can still grow. Group * follows each member from their first join in "
    "any group; they still belong while they belong to any group.",
    ("group", "cohort", "k"),
)
def cohorts(ctx: Context) -> ir.Table:
    grid = cohort_weeks(ctx)
    mw = member_weeks(ctx)
    per = mw.group_by(
        [mw.group.name("p_group"), mw.cohort.name("p_cohort"), mw.k.name("p_k")]
    ).aggregate(
        posting=ibis.ifelse(mw.posted, 1, 0).sum(),
        change=mw.change.sum(),
    )
    out = grid.left_join(
        per, [grid.group == per.p_group, grid.cohort == per.p_cohort, grid.k == per.p_k]
    )
    so_far = ibis.cumulative_window(group_by=[out.group, out.cohort], order_by=out.k)
    out = out.mutate(
        still_posting=ibis.coalesce(out.posting, 0),
        still_member=ibis.coalesce(out.change, 0).sum().over(so_far),
    )
    return out.select(
        "group",
        "cohort",
        "k",
        "week",
        "complete",
        cohort_size=out.cohort_size.cast("int64"),
        still_posting=out.still_posting.cast("int64"),
        still_member=out.still_member.cast("int64"),
        posting_share=_share(out.still_posting, out.cohort_size),
        member_share=_share(out.still_member, out.cohort_size),
    )


@metric(
    "retention.summary",
    "Retention at a glance",
    "Per group: members followed; median lifetime in days — from joining to the exit for "
    "members who left or were removed, else to their last post; members who never posted "
    "and are still there have no lifetime yet and are not counted (lifetime_members says "
    "how many are); the exact middle value, or the mean of the two middle ones. The week-4 "
    "cliff, over cohorts whose week 5 is complete: the share of their members posting in "
    "week 1 and in week 4 after joining, week 4 as a fraction of week 1, and how many "
    "members who posted in week 3 did not post in week 5.",
    ("group",),
)
def summary(ctx: Context) -> ir.Table:
    facts = member_facts(ctx)
    sizes = facts.group_by("group").aggregate(members=facts.count())
    lifetime = _median_lifetime(facts)
    cliff = _cliff(ctx)
    out = sizes.left_join(lifetime, sizes.group == lifetime.l_group)
    out = out.left_join(cliff, out.group == cliff.c_group)
    cliff_members = ibis.coalesce(out.cliff_members, 0)
    w1 = _share(out.posting_week1, out.cliff_members)
    w4 = _share(out.posting_week4, out.cliff_members)
    return out.select(
        "group",
        members=out.members.cast("int64"),
        lifetime_members=ibis.coalesce(out.lifetime_members, 0).cast("int64"),
        median_lifetime_days=out.median_seconds / ibis.literal(SECONDS_PER_DAY, "float64"),
        cliff_cohorts=ibis.coalesce(out.cliff_cohorts, 0).cast("int64"),
        cliff_members=cliff_members.cast("int64"),
        week1_posting_share=w1,
        week4_posting_share=w4,
        week4_vs_week1=w4 / w1.nullif(0.0),
        posting_week3=ibis.coalesce(out.posting_week3, 0).cast("int64"),
        posting_week5=ibis.coalesce(out.posting_week5, 0).cast("int64"),
        dropped_3_to_5=ibis.coalesce(out.dropped_3_to_5, 0).cast("int64"),
    )


def lifetime_seconds(facts: ir.Table) -> ir.Table:
    """(group, member, seconds) for members with a lifetime: exit if gone, else last post."""
    end = ibis.ifelse(facts.gone, facts.exited, facts.last_post)
    with_end = facts.mutate(end_ts=end).filter(end.notnull())
    seconds = with_end.end_ts.epoch_seconds().cast("int64") - with_end.joined.epoch_seconds().cast(
        "int64"
    )
    return with_end.select(
        "group", "member", seconds=ibis.greatest(seconds, ibis.literal(0, "int64"))
    )


def _median_lifetime(facts: ir.Table) -> ir.Table:
    life = lifetime_seconds(facts)
    ranked = life.mutate(
        r=ibis.row_number().over(group_by="group", order_by=["seconds", "member"]),
        n=life.count().over(group_by="group"),
    )
    middle = (ranked.r == (ranked.n - 1) // 2) | (ranked.r == ranked.n // 2)
    return ranked.group_by(ranked.group.name("l_group")).aggregate(
        lifetime_members=ranked.count(),
        median_seconds=ranked.seconds.cast("float64").mean(where=middle),
    )


def _cliff(ctx: Context) -> ir.Table:
    """Per group, over cohorts whose week ``CLIFF_LAST_WEEK`` is complete."""
    grid = cohort_weeks(ctx)
    facts = member_facts(ctx)
    mature = grid.filter((grid.k == CLIFF_LAST_WEEK) & grid.complete).select(
        m_group="group", m_cohort="cohort"
    )
    members = facts.join(
        mature, [facts.group == mature.m_group, facts.join_week == mature.m_cohort]
    ).select("group", "member", cohort="join_week")
    mw = member_weeks(ctx)
    posts = mw.filter(mw.posted & mw.k.isin([1, 3, 4, 5]))

    def posted_in(k: int) -> ir.IntegerValue:
        return ibis.ifelse(posts.k == k, 1, 0).max()

    weeks = posts.group_by([posts.group.name("q_group"), posts.member.name("q_member")]).aggregate(
        p1=posted_in(1), p3=posted_in(3), p4=posted_in(4), p5=posted_in(5)
    )
    per = members.left_join(
        weeks, [members.group == weeks.q_group, members.member == weeks.q_member]
    )
    per = per.select(
        "group",
        "cohort",
        p1=ibis.coalesce(per.p1, 0),
        p3=ibis.coalesce(per.p3, 0),
        p4=ibis.coalesce(per.p4, 0),
        p5=ibis.coalesce(per.p5, 0),
    )
    return per.group_by(per.group.name("c_group")).aggregate(
        cliff_cohorts=per.cohort.nunique(),
        cliff_members=per.count(),
        posting_week1=per.p1.sum(),
        posting_week3=per.p3.sum(),
        posting_week4=per.p4.sum(),
        posting_week5=per.p5.sum(),
        dropped_3_to_5=ibis.ifelse((per.p3 == 1) & (per.p5 == 0), 1, 0).sum(),
    )
