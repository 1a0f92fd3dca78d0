"""Lurkers (潜水): members who never posted, or have been silent too long.

Members, their joins and whether they are still there come from
:func:`~shequn.analytics.metrics.retention.member_facts`: anyone an event of the group is
about — a join, a roster listing (``member_listed``), a post, a reaction … — who has
not left or been removed by the end of the period. A member is a *lurker* at the end
of the period (``ctx.end``) when they never posted, or when their last post is more
than ``lurker_days`` days (whole seconds) before it.

Without ``member_joined`` and ``member_listed`` events a group's silent members are
invisible (an export shows only who wrote), so its lurker share is not computed.
"""

from __future__ import annotations

from datetime import UTC

import ibis
from ibis.expr import types as ir

from shequn.analytics.context import MEMBERSHIP_KINDS, Context
from shequn.analytics.metrics.common import ALL_GROUPS
from shequn.analytics.metrics.retention import SECONDS_PER_DAY, member_events, member_facts
from shequn.analytics.registry import metric


def _end_seconds(ctx: Context) -> int:
    end = ctx.end if ctx.end.tzinfo is not None else ctx.end.replace(tzinfo=UTC)
    return int(end.timestamp() // 1)


def _members_now(ctx: Context) -> ir.Table:
    """Members at the end of the period, with how long they have been silent."""
    facts = member_facts(ctx)
    present = facts.filter(~facts.gone)
    since = ibis.coalesce(present.last_post, present.joined)
    silent_seconds = ibis.literal(_end_seconds(ctx), "int64") - since.epoch_seconds().cast("int64")
    never = present.posts == 0
    limit = ctx.settings.lurker_days * SECONDS_PER_DAY
    return present.mutate(
        never_posted=never,
        silent_seconds=silent_seconds,
        is_lurker=never | (silent_seconds > ibis.literal(limit, "int64")),
    )


def _countable(ctx: Context) -> ir.Table:
    """Per group and ``*``: whether joins or rosters were recorded (for ``*``: in every group)."""
    e = ctx.events
    flag = ibis.ifelse(e.kind.isin(list(MEMBERSHIP_KINDS)), 1, 0)
    per = e.group_by(e.group.name("k_group")).aggregate(has=flag.max())
    whole = per.aggregate(has=per.has.min()).mutate(k_group=ibis.literal(ALL_GROUPS))
    return per.union(whole.select("k_group", "has"))


@metric(
    "lurkers.summary",
    "Lurkers",
    "Per group at the end of the period: members known (anyone seen joining, on a member "
    "list, posting or otherwise acting, who has not left or been removed), lurkers among "
    "them — never posted, or silent for more than lurker_days (30) days — split into "
    "never_posted and silent, and lurker_share = lurkers / members_known. A group with no "
    "join events and no member list only shows the members who wrote, so its share would "
    "be wrong: countable is false and the share is left empty.",
    ("group",),
)
def summary(ctx: Context) -> ir.Table:
    now = _members_now(ctx)
    counts = now.group_by(now.group.name("n_group")).aggregate(
        members_known=now.count(),
        never=ibis.ifelse(now.never_posted, 1, 0).sum(),
        silent=ibis.ifelse(now.is_lurker & ~now.never_posted, 1, 0).sum(),
    )
    groups = _countable(ctx)
    out = groups.left_join(counts, groups.k_group == counts.n_group)
    known = ibis.coalesce(out.members_known, 0).cast("int64")
    never = ibis.coalesce(out.never, 0).cast("int64")
    silent = ibis.coalesce(out.silent, 0).cast("int64")
    countable = out.has == 1
    lurkers = never + silent
    share = lurkers.cast("float64") / known.cast("float64").nullif(0.0)
    return out.select(
        group=out.k_group,
        members_known=known,
        lurkers=lurkers,
        lurker_share=ibis.ifelse(countable, share, ibis.null("float64")),
        never_posted=never,
        silent=silent,
        countable=countable,
    )


def _last_names(ctx: Context, members: ir.Table) -> ir.Table:
    """Each of ``members``' name on their latest named event (latest time, then highest
    key), per group and for ``*`` (the latest of the groups' latest).

    ``members`` (a ``member`` column) are the members whose names are wanted: their
    events are picked out first, so the named rows the search holds are theirs only (the
    lurkers': at 1M messages 146,000 of 1.1M events).
    """
    e = member_events(ctx)
    wanted = members.select(wanted_member="member").distinct()
    e = e.semi_join(wanted, e.member == wanted.wanted_member)
    named = e.filter(e.member_name.notnull())
    rows = named.select("group", "member", "member_name", "ts", "key")
    per_group = _latest(rows)
    everywhere = _latest(per_group.mutate(group=ibis.literal(ALL_GROUPS)))
    out = per_group.union(everywhere)
    return out.select(name_group="group", name_member="member", name="member_name")


def _latest(rows: ir.Table) -> ir.Table:
    """Per (group, member), the row with the latest ``ts`` and then the highest ``key``
    (two aggregates instead of a window sorting every row)."""
    last = rows.group_by(["group", "member"]).aggregate(last_ts=rows.ts.max())
    last = last.rename(l_group="group", l_member="member")
    at_last = rows.join(
        last,
        [rows.group == last.l_group, rows.member == last.l_member, rows.ts == last.last_ts],
    )
    return at_last.group_by(["group", "member"]).aggregate(
        member_name=at_last.member_name.argmax(at_last.key),
        ts=at_last.ts.max(),
        key=at_last.key.max(),
    )


@metric(
    "lurkers.list",
    "Lurkers, in cleanup order",
    "The members a cleanup would remove first, per group: those who never posted before "
    "those who went silent; then the longest silent first (silence counts from the last "
    "post, or from joining for members who never posted); then the earliest joined; ties "
    "by member key. Each with the last name seen, when they joined, their last post, "
    "days silent at the end of the period and their rank (1 = first to go).",
    ("group", "rank"),
)
def lurker_list(ctx: Context) -> ir.Table:
    now = _members_now(ctx)
    lurkers = now.filter(now.is_lurker)
    names = _last_names(ctx, lurkers)
    out = lurkers.left_join(
        names, [lurkers.group == names.name_group, lurkers.member == names.name_member]
    )
    order = ibis.window(
        group_by="group",
        order_by=[
            ibis.desc(ibis.ifelse(out.never_posted, 1, 0)),
            ibis.desc(out.silent_seconds),
            out.joined,
            out.member,
        ],
    )
    return out.select(
        "group",
        "member",
        "name",
        "joined",
        "last_post",
        "never_posted",
        silent_days=out.silent_seconds.cast("float64") / ibis.literal(SECONDS_PER_DAY, "float64"),
        rank=(ibis.row_number().over(order) + 1).cast("int64"),
    )
