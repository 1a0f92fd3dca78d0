"""Growth: how members come in (and by whom), the invite tree, the viral coefficient, churn.

A *join* is a ``member_joined`` event. Its *source* is its ``join_method`` (invite link,
added by a member, approved request, QR code, community, ``unknown`` when the export does
not say) and its *inviter* the member in ``by_member_id`` (the adder, the QR code's owner,
the approver) — never the joiner themselves. What an export shows differs: WhatsApp names
the adder but not whose link a link-joiner used, WeChat names inviters and QR-code owners,
Telegram, Discord and Slack some of them. Every number here is about the *visible* edges.

Presence (for "members who could invite"): a member is in a group from their first
appearance (any event about them or done by them) until their last exit (``member_left``
/ ``member_removed``), if that exit is later than their last join. For the community as
a whole (group ``*``) a member is present from their first appearance in any group until
they have left every group.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from ibis.expr import types as ir

from shequn.analytics.context import EXIT_KINDS, Context
from shequn.analytics.metrics.common import ALL_GROUPS, week_of, with_all_groups
from shequn.analytics.registry import derived, metric

#: how a join is labelled when the export does not say
UNKNOWN_SOURCE: Final = "unknown"


def joins(ctx: Context) -> ir.Table:
    """Every join: group, member, inviter (or null), source, invite_link, ts, local_ts, key."""
    e = ctx.events
    j = e.filter((e.kind == "member_joined") & e.member.notnull())
    has_inviter = j.actor.notnull() & (j.actor != j.member)
    return j.select(
        group=j.group,
        member=j.member,
        inviter=ibis.ifelse(has_inviter, j.actor, ibis.null("string")),
        source=ibis.coalesce(j.join_method, ibis.literal(UNKNOWN_SOURCE)),
        invite_link=j.invite_link,
        ts=j.ts,
        local_ts=j.local_ts,
        key=j.key,
    )


def first_joins(ctx: Context) -> ir.Table:
    """Each member's first join per group (by time, then event key)."""
    j = joins(ctx)
    first = ibis.window(group_by=["group", "member"], order_by=["ts", "key"])
    ranked = j.mutate(n=ibis.row_number().over(first))
    return ranked.filter(ranked.n == 0).drop("n")


def presence(ctx: Context) -> ir.Table:
    """Per group (and ``*``) and member: ``first_seen`` and ``exited`` (null: still in)."""
    e = ctx.events
    as_subject = e.filter(e.member.notnull()).select(
        group=e.group, member=e.member, local_ts=e.local_ts, kind=e.kind
    )
    acted = e.filter(e.actor.notnull())
    as_actor = acted.select(
        group=acted.group,
        member=acted.actor,
        local_ts=acted.local_ts,
        kind=ibis.literal("acted"),
    )
    seen = as_subject.union(as_actor)
    is_exit = seen.kind.isin(list(EXIT_KINDS))
    is_join = seen.kind.isin(["member_joined", "member_listed"])
    per = seen.group_by(["group", "member"]).aggregate(
        first_seen=seen.local_ts.min(),
        last_exit=seen.local_ts.max(where=is_exit),
        last_join=seen.local_ts.max(where=is_join),
    )
    gone = per.last_exit.notnull() & (per.last_join.isnull() | (per.last_exit > per.last_join))
    groups = per.select(
        "group",
        "member",
        "first_seen",
        exited=ibis.ifelse(gone, per.last_exit, ibis.null("timestamp")),
    )
    everywhere = groups.group_by("member").aggregate(
        first_seen=groups.first_seen.min(),
        exited=groups.exited.max(),
        still_in=groups.exited.isnull().sum(),
    )
    star = everywhere.select(
        group=ibis.literal(ALL_GROUPS),
        member=everywhere.member,
        first_seen=everywhere.first_seen,
        exited=ibis.ifelse(everywhere.still_in > 0, ibis.null("timestamp"), everywhere.exited),
    )
    return groups.union(star)


def weeks(ctx: Context) -> ir.Table:
    """Every local week of each group, from its first event's week to its last's (``*``: of
    any group), including weeks without events — so a quiet week shows as zeros."""
    e = ctx.events
    spans = with_all_groups(e.select(group=e.group, week=week_of(e.local_ts)))
    spans = spans.group_by(spans.group.name("span_group")).aggregate(
        first_week=spans.week.min(), last_week=spans.week.max()
    )
    calendar = ibis.memtable(_calendar(ctx))
    inside = calendar.join(
        spans,
        [
            calendar.group == spans.span_group,
            calendar.week >= spans.first_week,
            calendar.week <= spans.last_week,
        ],
    )
    return inside.select("group", "week")


def _calendar(ctx: Context) -> pa.Table:
    """Mondays (local) covering the period in every group's timezone, for every group."""
    start, end = _aware(ctx.start), _aware(ctx.end)
    mondays: set[date] = set()
    for zone in {*ctx.timezones.values(), "UTC"}:
        first = start.astimezone(ZoneInfo(zone)).date()
        last = end.astimezone(ZoneInfo(zone)).date()
        day = first - timedelta(days=first.weekday())
        while day <= last:
            mondays.add(day)
            day += timedelta(days=7)
    groups = sorted({*ctx.timezones, ALL_GROUPS})
    ordered = sorted(mondays)
    return pa.table(
        {
            "group": [g for g in groups for _ in ordered],
            "week": [datetime(d.year, d.month, d.day) for _ in groups for d in ordered],
        },
        schema=pa.schema([("group", pa.string()), ("week", pa.timestamp("us"))]),
    )


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


@metric(
    "growth.joins_by_source",
    "Joins by source",
    "Per group and local week: member_joined events by source — invite_link (with the "
    "link's id or name where the export gives it), added (by a member), request_approved, "
    "qr_code, community, or unknown when the export does not say. A member who joins "
    "twice counts twice; group * counts the joins of every group.",
    ("group", "week", "source", "invite_link"),
)
def joins_by_source(ctx: Context) -> ir.Table:
    j = joins(ctx)
    rows = with_all_groups(
        j.select("group", "source", "invite_link", week=week_of(j.local_ts), member="member")
    )
    return rows.group_by(["group", "week", "source", "invite_link"]).aggregate(
        joins=rows.count(), members=rows.member.nunique()
    )


@metric(
    "growth.joins",
    "First joins",
    "Each member's first join in each group (earliest member_joined event, ties broken by "
    "event key): when (UTC), the source and the inviter the export shows (null for link "
    "joins on WhatsApp, for unknown joins, and when the joiner is their own inviter). The "
    "edge list the invite tree is built from.",
    ("group", "member"),
)
def joins_metric(ctx: Context) -> ir.Table:
    f = first_joins(ctx)
    return f.select("group", "member", "inviter", "source", "invite_link", joined=f.ts)


def _forest(group: str, first: pa.Table) -> pa.Table:
    """One group's invite forest (rows of :data:`_TREE_SCHEMA`) from its first joins, one
    row per member: each member and each inviter whose own join is not in the log, by
    key, with their generation, the parent actually used, their root, and their direct
    and all descendants — on arrays of member numbers, not a dict per member."""
    members = first["member"].combine_chunks()
    inviters = pc.unique(first["inviter"].drop_null())
    # an inviter whose own join is not in the log is a root: no join, no source
    extra = inviters.filter(pc.invert(pc.is_in(inviters, members)))
    listed = pa.concat_arrays([members, extra.cast(members.type)])
    order = pc.sort_indices(listed)  # by code point, as Python sorts strings
    names = listed.take(order)
    none = pa.nulls(len(extra))
    joined = pa.concat_arrays([first["joined"].combine_chunks(), none.cast(pa.timestamp("us"))])
    source = pa.concat_arrays([first["source"].combine_chunks(), none.cast(pa.string())])
    joined, source = joined.take(order), source.take(order)
    inviter = pa.concat_arrays([first["inviter"].combine_chunks(), none.cast(pa.string())])
    parent = _indices(pc.index_in(inviter.take(order), names))
    generation, root = _walk(parent)
    while (generation < 0).any():
        # members on a cycle of first joins (only possible with inconsistent clocks), and
        # those below them, never reach a root: the earliest of them (then by key)
        # becomes a root and the walk repeats
        stuck = np.flatnonzero(generation < 0)
        times = pc.cast(joined, pa.int64()).take(pa.array(stuck))
        dated = stuck[times.is_valid().to_numpy(zero_copy_only=False)]
        if len(dated):
            at = times.drop_null().to_numpy()
            parent[dated[np.lexsort((dated, at))[0]]] = -1
        else:
            parent[stuck[0]] = -1
        generation, root = _walk(parent)
    has_parent = parent >= 0
    invitees = np.bincount(parent[has_parent], minlength=len(names))
    descendants = np.zeros(len(names), dtype=np.int64)
    for level in range(int(generation.max(initial=0)), 0, -1):  # the deepest first
        at_level = np.flatnonzero(generation == level)
        np.add.at(descendants, parent[at_level], descendants[at_level] + 1)
    return pa.table(
        {
            "group": pa.repeat(pa.scalar(group, pa.string()), len(names)),
            "member": names,
            "inviter": names.take(pa.array(np.where(has_parent, parent, 0), mask=~has_parent)),
            "root": names.take(pa.array(root)),
            "generation": pa.array(generation),
            "joined": joined,
            "source": source,
            "invitees": pa.array(invitees.astype(np.int64)),
            "descendants": pa.array(descendants),
        },
        schema=_TREE_SCHEMA,
    )


def _indices(found: pa.Array) -> npt.NDArray[np.int64]:
    """Positions found by ``index_in``, −1 where none."""
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _walk(parent: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each member's generation (steps up to a root; −1 for members who never reach one)
    and root, by pointer jumping: every round doubles the steps each member has taken
    (its ancestor's ancestor), so log₂(members) rounds walk the longest chain."""
    n = len(parent)
    is_root = parent < 0
    above = np.where(is_root, np.arange(n), parent)
    steps = (~is_root).astype(np.int64)
    for _ in range(max(1, n.bit_length()) + 1):
        steps = steps + steps[above]
        above = above[above]
    reached = is_root[above]
    return np.where(reached, steps, -1), above


@derived(
    "growth.invite_tree",
    "Invite tree",
    "Who brought in whom, per group, from each member's first join: the inviter the export "
    "shows (adder, QR code owner, approver), the generation (0 for a root: a member with no "
    "visible inviter — the group's creator, a link joiner on WhatsApp, a member present "
    "before the export — so a member added by someone whose own join is unknown is in "
    "generation 1), the root of their tree, their direct invitees and all descendants.",
    ("growth.joins",),
    ("group", "member"),
)
def invite_tree(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    first = results["growth.joins"]
    groups = sorted(pc.unique(first["group"]).to_pylist())
    forests = [_forest(group, first.filter(pc.equal(first["group"], group))) for group in groups]
    return pa.concat_tables(forests) if forests else _TREE_SCHEMA.empty_table()


_TREE_SCHEMA: Final = pa.schema(
    [
        ("group", pa.string()),
        ("member", pa.string()),
        ("inviter", pa.string()),
        ("root", pa.string()),
        ("generation", pa.int64()),
        ("joined", pa.timestamp("us")),
        ("source", pa.string()),
        ("invitees", pa.int64()),
        ("descendants", pa.int64()),
    ]
)


@derived(
    "growth.generations",
    "Generations and the viral coefficient",
    "Per group and generation of the invite tree: its size (breadth), how many of its "
    "members invited anyone, the size of the next generation (their invitees) and the "
    "viral coefficient K = members of generation g+1 / members of generation g (K > 1: "
    "each generation brings in a larger one). Group * adds up the groups' trees.",
    ("growth.invite_tree",),
    ("group", "generation"),
)
def generations(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    tree = results["growth.invite_tree"]
    rows = pa.table(
        {
            "group": tree["group"],
            "generation": tree["generation"],
            "inviting": pc.cast(pc.greater(tree["invitees"], 0), pa.int64()),
        }
    )
    # each member counts in their group and again in *
    rows = pa.concat_tables(
        [rows, rows.set_column(0, "group", pa.repeat(pa.scalar(ALL_GROUPS), rows.num_rows))]
    )
    per = rows.group_by(["group", "generation"]).aggregate(
        [("inviting", "count"), ("inviting", "sum")]
    )
    per = per.sort_by([("group", "ascending"), ("generation", "ascending")])
    size = per["inviting_count"].to_numpy()
    group = per["group"].combine_chunks()
    generation = per["generation"].to_numpy()
    # the next generation of the same group is the next row, if there is one
    following = np.zeros(len(size), dtype=np.int64)
    if len(size) > 1:
        next_one = pc.equal(group[1:], group[:-1]).to_numpy(zero_copy_only=False) & (
            generation[1:] == generation[:-1] + 1
        )
        following[:-1] = np.where(next_one, size[1:], 0)
    return pa.table(
        {
            "group": group,
            "generation": pa.array(generation),
            "members": pa.array(size),
            "inviters": per["inviting_sum"],
            "invitees": pa.array(following),
            "k": pa.array(following / size),
        },
        schema=_GENERATION_SCHEMA,
    )


_GENERATION_SCHEMA: Final = pa.schema(
    [
        ("group", pa.string()),
        ("generation", pa.int64()),
        ("members", pa.int64()),
        ("inviters", pa.int64()),
        ("invitees", pa.int64()),
        ("k", pa.float64()),
    ]
)


@metric(
    "growth.k_factor",
    "Viral coefficient over time",
    "Per group and local week: members at the start of the week (present — seen before the "
    "week began and not gone before it; they are the members who could invite), joins that "
    "week brought by a member (the export shows an inviter), how many members invited, and "
    "K = invited joins / members at the start of the week (null when the group had no "
    "members yet). Group * counts a member in several groups once and their joins in "
    "every group.",
    ("group", "week"),
)
def k_factor(ctx: Context) -> ir.Table:
    calendar = weeks(ctx)
    start = _members_at_start(ctx, calendar)
    j = joins(ctx)
    invited = with_all_groups(
        j.filter(j.inviter.notnull()).select("group", "inviter", week=week_of(j.local_ts))
    )
    per_week = invited.group_by(["group", "week"]).aggregate(
        invited=invited.count(), inviters=invited.inviter.nunique()
    )
    out = calendar.left_join(start, ["group", "week"]).drop("group_right", "week_right")
    out = out.left_join(per_week, ["group", "week"]).drop("group_right", "week_right")
    members = ibis.coalesce(out.members_at_start, 0)
    invited_n = ibis.coalesce(out.invited, 0)
    return out.select(
        "group",
        "week",
        members_at_start=members,
        invited=invited_n,
        inviters=ibis.coalesce(out.inviters, 0),
        k=ibis.ifelse(
            members > 0, invited_n.cast("float64") / members.cast("float64"), ibis.null("float64")
        ),
    )


def _members_at_start(ctx: Context, calendar: ir.Table) -> ir.Table:
    """Members present at the start of each calendar week: entered before, not gone before."""
    p = presence(ctx)
    entered = p.group_by(["group", week_of(p.first_seen).name("moved")]).aggregate(n=p.count())
    left = p.filter(p.exited.notnull())
    exited = left.group_by(["group", week_of(left.exited).name("moved")]).aggregate(n=-left.count())
    moves = entered.union(exited).rename(move_group="group")
    span = calendar.join(moves, [calendar.group == moves.move_group, moves.moved < calendar.week])
    return span.group_by(["group", "week"]).aggregate(members_at_start=span.n.sum())


@metric(
    "growth.cycle_time",
    "Invitation cycle time",
    "Per group: members who invited someone and whose own join is in the log, and the "
    "exact median time (seconds) from their own first join to their first invitation "
    "(the middle value, or the mean of the two middle values; negative gaps — an "
    "invitation before the join the log shows — are left out). Group * pools every "
    "group's inviters.",
    ("group",),
)
def cycle_time(ctx: Context) -> ir.Table:
    j = joins(ctx)
    invites = j.filter(j.inviter.notnull())
    first_invite = invites.group_by(["group", "inviter"]).aggregate(invited_at=invites.ts.min())
    own = first_joins(ctx).select(own_group="group", own_member="member", own_ts="ts")
    both = first_invite.join(
        own, [first_invite.group == own.own_group, first_invite.inviter == own.own_member]
    )
    gaps = both.select(
        group=both.group,
        member=both.inviter,
        seconds=both.invited_at.epoch_seconds() - both.own_ts.epoch_seconds(),
    )
    gaps = with_all_groups(gaps.filter(gaps.seconds >= 0))
    return exact_median(gaps, "seconds", "member").rename(
        inviters="n", median_cycle_seconds="median"
    )


def exact_median(table: ir.Table, value: str, tiebreak: str, by: str = "group") -> ir.Table:
    """Per ``by``: ``n`` rows and the exact median of ``value`` (ranks, no approximation)."""
    order = ibis.window(group_by=by, order_by=[value, tiebreak])
    ranked = table.mutate(
        rank=ibis.row_number().over(order) + 1, n=table.count().over(ibis.window(group_by=by))
    )
    middle = (ranked.rank == (ranked.n + 1) // 2) | (ranked.rank == ranked.n // 2 + 1)
    mid = ranked.filter(middle)
    out = mid.group_by(by).aggregate(n=mid.n.max(), total=mid[value].sum(), picked=mid.count())
    return out.select(by, "n", median=out.total.cast("float64") / out.picked.cast("float64"))


@metric(
    "growth.inviters",
    "Best inviters",
    "Per group, members who brought others in (first joins naming them as inviter), "
    "ranked by invitees, then invitees still in the group, then invitees who posted at "
    "least once in it, then member key: invitees, still_members (not gone by the end of "
    "the period), posted, and the first invitation (UTC). Group * adds up each member's "
    "groups.",
    ("group", "rank"),
)
def inviters(ctx: Context) -> ir.Table:
    f = first_joins(ctx).filter(lambda t: t.inviter.notnull())
    p = presence(ctx).select(p_group="group", p_member="member", exited="exited")
    m = ctx.messages
    posters = m.select(q_group=m.group, q_member=m.member).distinct()
    rows = f.left_join(p, [f.group == p.p_group, f.member == p.p_member])
    rows = rows.left_join(posters, [rows.group == posters.q_group, rows.member == posters.q_member])
    flagged = rows.select(
        group=rows.group,
        inviter=rows.inviter,
        ts=rows.ts,
        stayed=rows.exited.isnull().cast("int64"),
        posted=rows.q_member.notnull().cast("int64"),
    )
    flagged = with_all_groups(flagged)
    per = flagged.group_by(["group", "inviter"]).aggregate(
        invitees=flagged.count(),
        still_members=flagged.stayed.sum(),
        posted=flagged.posted.sum(),
        first_invite=flagged.ts.min(),
    )
    best = ibis.window(
        group_by="group",
        order_by=[
            ibis.desc("invitees"),
            ibis.desc("still_members"),
            ibis.desc("posted"),
            "inviter",
        ],
    )
    return per.select(
        "group",
        rank=ibis.row_number().over(best) + 1,
        member=per.inviter,
        invitees=per.invitees,
        still_members=per.still_members,
        posted=per.posted,
        first_invite=per.first_invite,
    )


@metric(
    "growth.flow",
    "Joins, leaves and removals",
    "Per group and local week (every week with an event): joins (member_joined events), "
    "leaves (member_left), removals (member_removed), net growth = joins − leaves − "
    "removals, and the cumulative net growth since the first week in scope. Group * adds "
    "up the groups.",
    ("group", "week"),
)
def flow(ctx: Context) -> ir.Table:
    e = ctx.events
    moves = e.filter(e.kind.isin(["member_joined", *EXIT_KINDS]) & e.member.notnull())
    moves = with_all_groups(
        moves.select(group=moves.group, kind=moves.kind, week=week_of(moves.local_ts))
    )
    per = moves.group_by(["group", "week"]).aggregate(
        joins=(moves.kind == "member_joined").sum(),
        leaves=(moves.kind == "member_left").sum(),
        removals=(moves.kind == "member_removed").sum(),
    )
    calendar = weeks(ctx)
    out = calendar.left_join(per, ["group", "week"]).drop("group_right", "week_right")
    j = ibis.coalesce(out.joins, 0)
    lv = ibis.coalesce(out.leaves, 0)
    rm = ibis.coalesce(out.removals, 0)
    out = out.select("group", "week", joins=j, leaves=lv, removals=rm, net=j - lv - rm)
    running = ibis.cumulative_window(group_by="group", order_by="week")
    return out.mutate(cumulative_net=out.net.sum().over(running))
