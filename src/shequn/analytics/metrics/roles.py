"""Roles (角色结构): who manages, who leads, who bridges, who answers, who only reads.

The roles are the ones the seeds name (001 §8, 002 §3, 004): manager, KOL (leader),
executor / helper, follower, connector, contributor, seed member and lurker. Each is
read from what members *do* in the log, never from how a community was generated:

manager       acts on members or the group: removes, pins, decides join requests, changes
              the group's name / description / icon / settings, or adds many members
KOL           draws answers: see :mod:`shequn.analytics.metrics.kols`
connector     bridges clusters: high betweenness in the interaction graph and partners in
              at least two other Leiden communities
helper        answers other members' questions (the executor who does the work)
seed          was there on the group's first day and still posts
contributor   brings resources: files, media and links, well above the group's mean
follower      takes part (more than a lurker's few posts) without any of the above
lurker        (潜水) reads and (almost) never speaks

``roles.signals`` computes the numbers on the engine; ``roles.members`` applies the
rules (thresholds are module constants, explained in docs/analytics/conversation-roles-
kols.md); ``roles.mix`` and ``roles.gaps`` summarise them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import ibis
import pyarrow as pa
from ibis.expr import types as ir

from shequn.analytics.context import EXIT_KINDS, MEMBERSHIP_KINDS, Context
from shequn.analytics.metrics.common import ALL_GROUPS, day_of, with_all_groups
from shequn.analytics.metrics.conversation import (
    interactions,
    mention_rows,
    message_links,
    message_refs,
    people_messages,
    replies_to,
    thread_table,
)
from shequn.analytics.registry import derived, metric

#: the roles, in the order a member is given the first that fits
ROLES: Final = (
    "manager", "kol", "connector", "helper", "seed", "contributor", "follower", "lurker",
)  # fmt: skip
#: a member with at most this many messages in the period is a lurker (unless a manager)
LURKER_MAX_MESSAGES: Final = 2
#: moderation acts (removals, pins, join decisions, group setting changes) for a manager
MANAGER_MIN_ACTS: Final = 1
#: ... or members added (adding is open to everyone on many platforms, so it takes more)
MANAGER_MIN_ADDS: Final = 10
#: betweenness at least this many times the group's mean (over graph members) ...
CONNECTOR_RATIO: Final = 5.0
#: ... with partners in at least this many other communities
CONNECTOR_MIN_COMMUNITIES: Final = 2
#: answers to other members' questions for a helper, and at least twice the mean
HELPER_MIN_ANSWERS: Final = 5
HELPER_RATIO: Final = 2.0
#: a seed member was first seen within this long after the group's first event
SEED_WINDOW: Final = timedelta(days=1)
#: resource posts (media, files, links) for a contributor, and twice the mean
CONTRIBUTOR_MIN_RESOURCES: Final = 3
CONTRIBUTOR_RATIO: Final = 2.0
#: a group whose lurkers exceed this share gets a gap
LURKER_GAP_SHARE: Final = 0.85

MODERATION_KINDS: Final = ("member_removed", "message_pinned", "join_decided", "action_taken")
SETTINGS_KINDS: Final = (
    "group_renamed", "group_description_changed", "group_icon_changed",
    "group_settings_changed",
)  # fmt: skip


def per_member(ctx: Context, rows: ir.Table, aggregate: Callable[[ir.Table], ir.Table]) -> ir.Table:
    """``aggregate`` of ``rows`` (with a ``group`` column) per group, and again over every
    group as ``*``: as :func:`~shequn.analytics.metrics.common.with_all_groups` then
    ``aggregate``, but in a community of one group ``*``'s rows are the group's rows,
    so the rows are aggregated once (not twice, as a union of two copies)."""
    if len(ctx.timezones) == 1:
        per = aggregate(rows)
        return per.union(per.mutate(group=ibis.literal(ALL_GROUPS)).select(per.columns))
    return aggregate(with_all_groups(rows))


def _members(ctx: Context) -> ir.Table:
    e = ctx.events
    people = e.filter(~e.is_bot & e.member.notnull())
    seen = people.filter(
        people.kind.isin([*MEMBERSHIP_KINDS, "message_posted", "reaction_added", *EXIT_KINDS])
    )
    rows = seen.select("group", "member", "ts", "kind")
    joined = [*MEMBERSHIP_KINDS, "message_posted", "reaction_added"]
    return per_member(
        ctx,
        rows,
        lambda t: t.group_by(["group", "member"]).aggregate(
            first_seen=t.ts.min(),
            last_in=t.ts.max(where=t.kind.isin(joined)),
            last_exit=t.ts.max(where=t.kind.isin(list(EXIT_KINDS))),
        ),
    )


@metric(
    "roles.signals",
    "What each member does",
    "Per member and group, the numbers roles and KOLs are read from: messages, days "
    "with a post, first seen / first and last post; questions asked and answers given "
    "to other members' questions; replies given and received (reply ids), inferred "
    "answers received (groups without reply ids), @mentions received, responders "
    "(different members who replied to or mentioned them), reactions received from "
    "others; threads started that drew in someone else and how many others they drew; "
    "resource posts (media, files, links); members added; moderation acts (removals, "
    "pins, join decisions, group setting changes); whether they are still in the group.",
    ("group", "member"),
)
def signals(ctx: Context) -> ir.Table:
    msgs = people_messages(ctx)
    links = message_links(ctx)
    posts = msgs.select("group", "member", "ts", "question", "resource", day=day_of(msgs.local_ts))
    post_stats = per_member(ctx, posts, _post_stats)

    answering = links.filter(links.parent_member.notnull() & (links.parent_member != links.member))
    given = answering.select("group", "member", explicit=~answering.inferred)
    replies_given = per_member(
        ctx,
        given,
        lambda t: t.group_by(["group", "member"]).aggregate(replies_given=t.explicit.sum()),
    )
    got = answering.select("group", member=answering.parent_member, inferred=answering.inferred)
    replies_got = per_member(
        ctx,
        got,
        lambda t: t.group_by(["group", "member"]).aggregate(
            replies_received=(~t.inferred).sum(), inferred_received=t.inferred.sum()
        ),
    )
    mentioned = mention_rows(ctx)
    mentioned = mentioned.select("group", member=mentioned.target)
    mentions_got = per_member(
        ctx,
        mentioned,
        lambda t: t.group_by(["group", "member"]).aggregate(mentions_received=t.count()),
    )
    inter = interactions(ctx).select("group", "source", member="target")
    responders = per_member(
        ctx,
        inter,
        lambda t: t.group_by(["group", "member"]).aggregate(responders=t.source.nunique()),
    )

    questions = links.filter(links.question).select(q_group="group", q_key="key", asker="member")
    replies = replies_to(ctx)
    answers = replies.join(
        questions,
        [replies.group == questions.q_group, replies.replied_key == questions.q_key],
    )
    answers = answers.filter(answers.reply_member != answers.asker)
    answers = answers.select("group", member=answers.reply_member, question=answers.replied_key)
    answers_given = per_member(
        ctx,
        answers,
        lambda t: t.group_by(["group", "member"]).aggregate(answers_given=t.question.nunique()),
    )

    reactions = _reactions_received(ctx, msgs)
    threads = thread_table(ctx)
    drawing = threads.filter(threads.participants > 1).select(
        "group", member=threads.starter, others=threads.participants - 1
    )
    thread_stats = per_member(
        ctx,
        drawing,
        lambda t: t.group_by(["group", "member"]).aggregate(
            threads_started=t.count(), others_drawn=t.others.sum()
        ),
    )
    acts = _acts(ctx)

    out = _members(ctx)
    for part in (
        post_stats,
        replies_given,
        replies_got,
        mentions_got,
        responders,
        answers_given,
        reactions,
        thread_stats,
        acts,
    ):
        out = out.left_join(part, ["group", "member"]).drop("group_right", "member_right")
    zero = ibis.literal(0, "int64")
    return out.select(
        "group",
        "member",
        messages=ibis.coalesce(out.messages, zero),
        active_days=ibis.coalesce(out.active_days, zero),
        first_seen=out.first_seen,
        first_post=out.first_post,
        last_post=out.last_post,
        questions=ibis.coalesce(out.questions.cast("int64"), zero),
        answers_given=ibis.coalesce(out.answers_given, zero),
        replies_given=ibis.coalesce(out.replies_given.cast("int64"), zero),
        replies_received=ibis.coalesce(out.replies_received.cast("int64"), zero),
        inferred_received=ibis.coalesce(out.inferred_received.cast("int64"), zero),
        mentions_received=ibis.coalesce(out.mentions_received, zero),
        responders=ibis.coalesce(out.responders, zero),
        reactions_received=ibis.coalesce(out.reactions_received, zero),
        threads_started=ibis.coalesce(out.threads_started, zero),
        others_drawn=ibis.coalesce(out.others_drawn.cast("int64"), zero),
        resource_posts=ibis.coalesce(out.resource_posts.cast("int64"), zero),
        adds=ibis.coalesce(out.adds, zero),
        moderation=ibis.coalesce(out.moderation.cast("int64"), zero),
        present=out.last_exit.isnull() | (out.last_in > out.last_exit),
    )


def _post_stats(posts: ir.Table) -> ir.Table:
    """Per (group, member): messages, days with a post, first and last post, questions
    and resource posts — summed from the member's days, so the distinct days are the
    days' rows (one pass over the posts instead of a distinct count beside the others,
    which the engine runs as a second pass over them)."""
    days = posts.group_by(["group", "member", "day"]).aggregate(
        messages=posts.count(),
        first_post=posts.ts.min(),
        last_post=posts.ts.max(),
        questions=posts.question.sum(),
        resource_posts=posts.resource.sum(),
    )
    return days.group_by(["group", "member"]).aggregate(
        messages=days.messages.sum().cast("int64"),
        active_days=days.count(),
        first_post=days.first_post.min(),
        last_post=days.last_post.max(),
        questions=days.questions.sum().cast("int64"),
        resource_posts=days.resource_posts.sum().cast("int64"),
    )


def _reactions_received(ctx: Context, msgs: ir.Table) -> ir.Table:
    e = ctx.events
    r = e.filter((e.kind == "reaction_added") & ~e.is_bot & e.member.notnull())
    r = r.select("group", reactor=r.member, reply_to=r.reply_to)
    wanted = r.filter(r.reply_to.notnull()).select(ref_group=r.group, ref=r.reply_to).distinct()
    refs = message_refs(msgs, wanted)
    authors = msgs.select(a_key=msgs.key, author=msgs.member)
    hit = r.join(refs, [r.group == refs.ref_group, r.reply_to == refs.ref])
    hit = hit.join(authors, hit.ref_key == authors.a_key)
    hit = hit.filter(hit.author != hit.reactor)
    return per_member(
        ctx,
        hit.select("group", member=hit.author),
        lambda t: t.group_by(["group", "member"]).aggregate(reactions_received=t.count()),
    )


def _acts(ctx: Context) -> ir.Table:
    """Members added (distinct) and moderation acts per acting member."""
    e = ctx.events.filter(~ctx.events.is_bot)
    adds = e.filter(e.kind.isin(list(MEMBERSHIP_KINDS)) & e.actor.notnull())
    adds = adds.filter(adds.actor != adds.member)
    add_rows = adds.select("group", who=adds.actor, added=adds.member, act=ibis.literal(0))
    acted = e.filter(
        e.kind.isin([k for k in MODERATION_KINDS if k != "message_pinned"]) & e.actor.notnull()
    )
    pins = e.filter(e.kind == "message_pinned")
    pin_by = ibis.coalesce(pins.actor, pins.member)
    mod_rows = acted.select(
        "group", who=acted.actor, added=ibis.null("string"), act=ibis.literal(1)
    ).union(
        pins.filter(pin_by.notnull()).select(
            "group", who=pin_by, added=ibis.null("string"), act=ibis.literal(1)
        )
    )
    settings = e.filter(e.kind.isin(list(SETTINGS_KINDS)) & e.member.notnull())
    set_rows = settings.select(
        "group", who=settings.member, added=ibis.null("string"), act=ibis.literal(1)
    )
    return per_member(
        ctx,
        add_rows.union(mod_rows).union(set_rows),
        lambda t: t.group_by(["group", t.who.name("member")]).aggregate(
            adds=t.added.nunique(), moderation=t.act.sum()
        ),
    )


MEMBERS_SCHEMA: Final = pa.schema(
    [
        ("group", pa.string()),
        ("member", pa.string()),
        ("role", pa.string()),
        ("why", pa.string()),
        ("messages", pa.int64()),
        ("moderation", pa.int64()),
        ("adds", pa.int64()),
        ("draw_ratio", pa.float64()),
        ("betweenness", pa.float64()),
        ("bridged_communities", pa.int64()),
        ("answers_given", pa.int64()),
        ("resource_posts", pa.int64()),
        ("first_seen", pa.timestamp("us")),
        ("last_post", pa.timestamp("us")),
        ("is_manager", pa.bool_()),
        ("is_kol", pa.bool_()),
        ("is_connector", pa.bool_()),
        ("is_helper", pa.bool_()),
        ("is_seed", pa.bool_()),
        ("is_contributor", pa.bool_()),
        ("is_lurker", pa.bool_()),
    ]
)


#: the roles.signals columns :func:`classify_group` reads
SIGNAL_COLUMNS: Final = (
    "group", "member", "messages", "moderation", "adds", "answers_given", "resource_posts",
    "first_seen", "last_post",
)  # fmt: skip


def classify_group(
    ctx_end: datetime,
    lurker_days: int,
    rows: list[dict[str, Any]],
    kols: Mapping[str, dict[str, Any]],
    graph: Mapping[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Roles of one group's members from their signals, KOL ranking and graph rows."""
    posters = [r for r in rows if r["messages"] > 0]
    n_posters = max(1, len(posters))
    mean_answers = sum(r["answers_given"] for r in posters) / n_posters
    mean_resources = sum(r["resource_posts"] for r in posters) / n_posters
    between = [g["betweenness"] for g in graph.values()]
    mean_between = sum(between) / len(between) if between else 0.0
    starts = [r["first_seen"] for r in rows if r["first_seen"] is not None]
    group_start = min(starts) if starts else None
    active_since = ctx_end - timedelta(days=lurker_days)
    out: list[dict[str, Any]] = []
    for r in rows:
        g = graph.get(r["member"], {})
        k = kols.get(r["member"], {})
        b = float(g.get("betweenness", 0.0))
        bridged = int(g.get("bridged_communities", 0))
        draw_ratio = float(k.get("draw_ratio", 0.0))
        flags = {
            "is_manager": r["moderation"] >= MANAGER_MIN_ACTS or r["adds"] >= MANAGER_MIN_ADDS,
            "is_kol": bool(k.get("is_kol", False)),
            "is_connector": mean_between > 0
            and b >= CONNECTOR_RATIO * mean_between
            and bridged >= CONNECTOR_MIN_COMMUNITIES,
            "is_helper": r["answers_given"] >= max(HELPER_MIN_ANSWERS, HELPER_RATIO * mean_answers),
            "is_seed": group_start is not None
            and r["first_seen"] is not None
            and r["first_seen"] <= group_start + SEED_WINDOW
            and r["last_post"] is not None
            and r["last_post"] >= active_since,
            "is_contributor": r["resource_posts"]
            >= max(CONTRIBUTOR_MIN_RESOURCES, CONTRIBUTOR_RATIO * mean_resources),
            "is_lurker": r["messages"] <= LURKER_MAX_MESSAGES,
        }
        role, why = _role(r, flags, draw_ratio, b, mean_between, bridged)
        out.append(
            {
                "group": r["group"],
                "member": r["member"],
                "role": role,
                "why": why,
                "messages": r["messages"],
                "moderation": r["moderation"],
                "adds": r["adds"],
                "draw_ratio": draw_ratio,
                "betweenness": b,
                "bridged_communities": bridged,
                "answers_given": r["answers_given"],
                "resource_posts": r["resource_posts"],
                "first_seen": r["first_seen"],
                "last_post": r["last_post"],
                **flags,
            }
        )
    return out


def _role(
    r: Mapping[str, Any],
    flags: Mapping[str, bool],
    draw_ratio: float,
    b: float,
    mean_between: float,
    bridged: int,
) -> tuple[str, str]:
    if flags["is_manager"]:
        return "manager", f"{r['moderation']} moderation acts, {r['adds']} members added"
    if flags["is_lurker"]:
        return "lurker", f"{r['messages']} messages in the period"
    if flags["is_kol"]:
        return "kol", f"draws {draw_ratio:.2f}× the group's answers per message"
    if flags["is_connector"]:
        ratio = b / mean_between if mean_between else 0.0
        return (
            "connector",
            f"betweenness {ratio:.1f}× the mean, partners in {bridged} other clusters",
        )
    if flags["is_helper"]:
        return "helper", f"answered {r['answers_given']} questions of others"
    if flags["is_seed"]:
        return "seed", "here since the group's first day and still posting"
    if flags["is_contributor"]:
        return "contributor", f"{r['resource_posts']} posts with media, files or links"
    return "follower", f"{r['messages']} messages, no leading signal"


@derived(
    "roles.members",
    "Member roles",
    "Each member's role, the first that fits in this order: manager (at least "
    f"{MANAGER_MIN_ACTS} moderation act — removal, pin, join decision, group setting "
    f"change — or {MANAGER_MIN_ADDS}+ members added); lurker (at most "
    f"{LURKER_MAX_MESSAGES} messages in the period); KOL (kols.ranking's is_kol: draws "
    "answers per message well above the group); connector (betweenness at least "
    f"{CONNECTOR_RATIO:g}× the group's mean and partners in {CONNECTOR_MIN_COMMUNITIES}+ "
    f"other communities); helper / executor (answered {HELPER_MIN_ANSWERS}+ questions of "
    f"others and at least {HELPER_RATIO:g}× the mean); seed (first seen within a day of the "
    "group's first event and posted within the lurker window); contributor "
    f"({CONTRIBUTOR_MIN_RESOURCES}+ posts with media, files or links and "
    f"{CONTRIBUTOR_RATIO:g}× the mean); follower (everyone else who posts). 'why' gives "
    "the numbers; the is_* columns show every signal a member has, not only the role's.",
    ("roles.signals", "graph.centrality", "kols.ranking"),
    ("group", "member"),
)
def members(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    # only the columns the rules read become Python values (200,000 rows × 21 columns
    # at 100,000 members, most of them never read here)
    per_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in results["roles.signals"].select(list(SIGNAL_COLUMNS)).to_pylist():
        per_group[row["group"]].append(row)
    kols: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    ranking = results["kols.ranking"].select(["group", "member", "draw_ratio", "is_kol"])
    for row in ranking.to_pylist():
        kols[row["group"]][row["member"]] = row
    graph: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    centrality = results["graph.centrality"].select(
        ["group", "member", "betweenness", "bridged_communities"]
    )
    for row in centrality.to_pylist():
        graph[row["group"]][row["member"]] = row
    out: list[dict[str, Any]] = []
    for group in sorted(per_group):
        out.extend(
            classify_group(
                ctx.end, ctx.settings.lurker_days, per_group[group], kols[group], graph[group]
            )
        )
    return pa.Table.from_pylist(out, schema=MEMBERS_SCHEMA)


@derived(
    "roles.mix",
    "Role mix",
    "Per group, how many members hold each role and their share of the group's members "
    "(every role listed, zero included).",
    ("roles.members",),
    ("group", "role"),
)
def mix(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ROLES, 0))
    for row in results["roles.members"].select(["group", "role"]).to_pylist():
        counts[row["group"]][row["role"]] += 1
    rows = []
    for group in sorted(counts):
        total = sum(counts[group].values())
        for role in ROLES:
            n = counts[group][role]
            rows.append({"group": group, "role": role, "members": n, "share": n / total})
    schema = pa.schema(
        [("group", pa.string()), ("role", pa.string()), ("members", pa.int64()),
         ("share", pa.float64())]
    )  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def find_gaps(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What is missing or out of balance in one group's role structure."""
    roles: dict[str, int] = defaultdict(int)
    for r in rows:
        roles[r["role"]] += 1
    total = max(1, len(rows))
    gaps: list[tuple[str, str]] = []
    kols = [r for r in rows if r["is_kol"]]
    if not any(r["is_manager"] for r in rows):
        gaps.append(
            (
                "no manager",
                "Nobody removed, pinned, decided a join request or "
                "changed the group's settings: the group has no visible operator.",
            )
        )
    if not kols:
        gaps.append(
            (
                "no KOL",
                "No member draws clearly more answers per message than the "
                "rest: nobody starts discussions others join (001 §8).",
            )
        )
    elif all(r["is_manager"] for r in kols):
        gaps.append(
            (
                "KOLs are all managers",
                f"All {len(kols)} members who draw answers "
                "are operators: no member leads discussion on their own.",
            )
        )
    if not any(r["is_connector"] for r in rows):
        gaps.append(
            (
                "no connector",
                "No member bridges otherwise separate clusters of the interaction graph.",
            )
        )
    if not any(r["is_helper"] for r in rows):
        gaps.append(
            ("no helper", "Nobody answers other members' questions markedly more than the rest.")
        )
    if not any(r["is_seed"] for r in rows):
        gaps.append(
            (
                "no active seed members",
                "None of the members from the group's first day still posts.",
            )
        )
    lurkers = roles["lurker"] / total
    if lurkers > LURKER_GAP_SHARE:
        gaps.append(
            (
                "lurkers dominate",
                f"{lurkers:.0%} of members (almost) never post "
                f"(more than {LURKER_GAP_SHARE:.0%}; seeds put ~70 % as usual).",
            )
        )
    if not gaps:
        gaps.append(("none", "Every role is present and lurkers are within the usual share."))
    return gaps


@derived(
    "roles.gaps",
    "What the role structure lacks",
    "Per group, what is missing or out of balance: no manager, no KOL, KOLs who are all "
    "managers, no connector, no helper, no seed member still active, lurkers above "
    f"{LURKER_GAP_SHARE:.0%} of members; 'none' when nothing is.",
    ("roles.members",),
    ("group", "gap"),
)
def gaps(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    per_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    read = ["group", "role", "is_manager", "is_kol", "is_connector", "is_helper", "is_seed"]
    for row in results["roles.members"].select(read).to_pylist():
        per_group[row["group"]].append(row)
    rows = [
        {"group": group, "gap": gap, "explanation": text}
        for group in sorted(per_group)
        for gap, text in find_gaps(per_group[group])
    ]
    schema = pa.schema([("group", pa.string()), ("gap", pa.string()), ("explanation", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)
