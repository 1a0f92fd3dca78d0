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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from ibis.expr import types as ir

from shequn.analytics.context import EXIT_KINDS, MEMBERSHIP_KINDS, Context
from shequn.analytics.metrics.activity import member_weeks
from shequn.analytics.metrics.common import per_group_and_all
from shequn.analytics.metrics.conversation import (
    interactions,
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


def _member_stats(ctx: Context, msgs: ir.Table) -> ir.Table:
    """Per (group, member), ``*`` included: first seen, last joined or active, last exit,
    and the post stats (messages, first and last post, questions and resource posts).

    One aggregate over the people's posts (``msgs``: their questions and resources are
    read there) and their other events that tell membership: the posts are most of the
    events, and aggregating them once for the post stats and again for first seen /
    last active was two passes over ten million rows at 10M messages. A post without a
    member has no row: nothing joins to it."""
    e = ctx.events
    others = e.filter(
        ~e.is_bot
        & e.member.notnull()
        & e.kind.isin([*MEMBERSHIP_KINDS, "reaction_added", *EXIT_KINDS])
    )
    no = ibis.literal(False)
    posts = msgs.filter(msgs.member.notnull())
    rows = posts.select(
        "group",
        "member",
        "ts",
        post=ibis.literal(True),
        joined=ibis.literal(True),
        exit=no,
        question=posts.question,
        resource=posts.resource,
    ).union(
        others.select(
            "group",
            "member",
            "ts",
            post=no,
            joined=others.kind.isin([*MEMBERSHIP_KINDS, "reaction_added"]),
            exit=others.kind.isin(list(EXIT_KINDS)),
            question=no,
            resource=no,
        )
    )
    return per_group_and_all(
        ctx,
        rows,
        lambda t: t.group_by(["group", "member"]).aggregate(
            first_seen=t.ts.min(),
            last_in=t.ts.max(where=t.joined),
            last_exit=t.ts.max(where=t.exit),
            messages=t.count(where=t.post).cast("int64"),
            first_post=t.ts.min(where=t.post),
            last_post=t.ts.max(where=t.post),
            questions=t.question.sum().cast("int64"),
            resource_posts=t.resource.sum().cast("int64"),
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

    answering = links.filter(links.parent_member.notnull() & (links.parent_member != links.member))
    given = answering.select("group", "member", explicit=~answering.inferred)
    replies_given = per_group_and_all(
        ctx,
        given,
        lambda t: t.group_by(["group", "member"]).aggregate(replies_given=t.explicit.sum()),
    )
    received = per_group_and_all(
        ctx, interactions(ctx).select("group", "source", "kind", member="target"), _received
    )

    questions = links.filter(links.question).select(q_group="group", q_key="key", asker="member")
    replies = replies_to(ctx)
    answers = replies.join(
        questions,
        [replies.group == questions.q_group, replies.replied_key == questions.q_key],
    )
    answers = answers.filter(answers.reply_member != answers.asker)
    answers = answers.select("group", member=answers.reply_member, question=answers.replied_key)
    answers_given = per_group_and_all(
        ctx,
        answers,
        lambda t: t.group_by(["group", "member"]).aggregate(answers_given=t.question.nunique()),
    )

    reactions = _reactions_received(ctx, msgs)
    threads = thread_table(ctx)
    drawing = threads.filter(threads.participants > 1).select(
        "group", member=threads.starter, others=threads.participants - 1
    )
    thread_stats = per_group_and_all(
        ctx,
        drawing,
        lambda t: t.group_by(["group", "member"]).aggregate(
            threads_started=t.count(), others_drawn=t.others.sum()
        ),
    )
    acts = _acts(ctx)

    out = _member_stats(ctx, msgs)
    for part in (
        _active_days(ctx),
        replies_given,
        received,
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


def _active_days(ctx: Context) -> ir.Table:
    """Per (group, member), ``*`` included: local days with a post not flagged as a bot's,
    summed from activity's member weeks (their days counted there already: grouping
    every post by member and day again was the largest part of this metric)."""
    weeks = member_weeks(ctx)
    weeks = weeks.filter(weeks.member.notnull())
    return weeks.group_by(["group", "member"]).aggregate(
        active_days=weeks.people_days.sum().cast("int64")
    )


def _received(interactions: ir.Table) -> ir.Table:
    """Per (group, member): replies (reply ids), inferred answers and @mentions received,
    and responders — different members who replied to or mentioned them — from one
    aggregate of the interactions per (group, member, source) (a distinct count of the
    sources beside the three counts would make a second pass over the rows; the replies
    and inferred answers are the interactions of those kinds, the mentions the rest)."""
    t = interactions
    pairs = t.group_by(["group", "member", "source"]).aggregate(
        replies=ibis.ifelse(t.kind == "reply", 1, 0).sum(),
        inferred=ibis.ifelse(t.kind == "inferred", 1, 0).sum(),
        mentions=ibis.ifelse(t.kind == "mention", 1, 0).sum(),
    )
    return pairs.group_by(["group", "member"]).aggregate(
        replies_received=pairs.replies.sum().cast("int64"),
        inferred_received=pairs.inferred.sum().cast("int64"),
        mentions_received=pairs.mentions.sum().cast("int64"),
        responders=pairs.count(),
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
    return per_group_and_all(
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
    return per_group_and_all(
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


#: the roles.signals columns :func:`classify` reads
SIGNAL_COLUMNS: Final = (
    "group", "member", "messages", "moderation", "adds", "answers_given", "resource_posts",
    "first_seen", "last_post",
)  # fmt: skip
SIGNALS_SCHEMA: Final = pa.schema([MEMBERS_SCHEMA.field(name) for name in SIGNAL_COLUMNS])
#: the roles in the order a member is given the first that fits (``ROLES`` without
#: manager first); a member's role is its place here
_PRECEDENCE: Final = (
    "manager", "lurker", "kol", "connector", "helper", "seed", "contributor", "follower",
)  # fmt: skip
_MICROSECONDS: Final = 1_000_000


def classify_group(
    ctx_end: datetime,
    lurker_days: int,
    rows: list[dict[str, Any]],
    kols: Mapping[str, dict[str, Any]],
    graph: Mapping[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """:func:`classify` of one group given as rows: its signals, and its KOL ranking and
    graph rows by member."""
    group = rows[0]["group"] if rows else ""
    kol_rows = [
        {"group": group, "member": m, "draw_ratio": k.get("draw_ratio", 0.0),
         "is_kol": k.get("is_kol", False)}
        for m, k in kols.items()
    ]  # fmt: skip
    graph_rows = [
        {"group": group, "member": m, "betweenness": g.get("betweenness", 0.0),
         "bridged_communities": g.get("bridged_communities", 0)}
        for m, g in graph.items()
    ]  # fmt: skip
    table = classify(
        ctx_end,
        lurker_days,
        pa.Table.from_pylist(rows, schema=SIGNALS_SCHEMA),
        pa.Table.from_pylist(kol_rows, schema=_schema(("group", "member", "draw_ratio", "is_kol"))),
        pa.Table.from_pylist(
            graph_rows, schema=_schema(("group", "member", "betweenness", "bridged_communities"))
        ),
    )
    out: list[dict[str, Any]] = table.to_pylist()
    return out


def _schema(names: tuple[str, ...]) -> pa.Schema:
    return pa.schema([MEMBERS_SCHEMA.field(name) for name in names])


def classify(
    ctx_end: datetime, lurker_days: int, signals: pa.Table, kols: pa.Table, graph: pa.Table
) -> pa.Table:
    """Roles of every member from their signals (:data:`SIGNAL_COLUMNS`), KOL ranking
    (``draw_ratio``, ``is_kol``) and graph rows (``betweenness``,
    ``bridged_communities``), one row per (group, member) in each; groups in order,
    members as in ``signals``. Column by column: at 100,000 members the rules as Python
    dicts, one per member and input, cost seconds."""
    n = signals.num_rows
    rows = signals.select(list(SIGNAL_COLUMNS)).append_column("row", pa.array(np.arange(n)))
    keys = ["group", "member"]
    rows = rows.join(kols.select([*keys, "draw_ratio", "is_kol"]), keys, join_type="left outer")
    rows = rows.join(
        graph.select([*keys, "betweenness", "bridged_communities"]), keys, join_type="left outer"
    )
    rows = rows.take(pc.sort_indices(rows["row"]))  # a join does not keep the row order

    encoded = pc.dictionary_encode(rows["group"]).combine_chunks()
    code = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    groups = encoded.dictionary.to_pylist()
    messages = _ints(rows["messages"])
    answers = _ints(rows["answers_given"])
    resources = _ints(rows["resource_posts"])
    moderation = _ints(rows["moderation"])
    adds = _ints(rows["adds"])
    between = rows["betweenness"].fill_null(0.0).to_numpy()
    bridged = _ints(rows["bridged_communities"].fill_null(0))
    draw_ratio = rows["draw_ratio"].fill_null(0.0).to_numpy()

    # per group: the means over its posters (at least one), the graph members' mean
    # betweenness (summed in the graph's row order, as a running sum) and its start
    posters = messages > 0
    n_posters = np.maximum(np.bincount(code, weights=posters, minlength=len(groups)), 1)
    mean_answers = np.bincount(code, weights=answers * posters, minlength=len(groups)) / n_posters
    mean_resources = (
        np.bincount(code, weights=resources * posters, minlength=len(groups)) / n_posters
    )
    mean_between = _mean_betweenness(graph, groups)
    first_seen = _micros(rows["first_seen"])
    last_post = _micros(rows["last_post"])
    seen = ~np.isnan(first_seen)
    start = np.full(len(groups), np.inf)
    np.minimum.at(start, code[seen], first_seen[seen])
    active_since = _micros(pa.array([ctx_end - timedelta(days=lurker_days)], pa.timestamp("us")))

    g_between = mean_between[code]
    flags = {
        "is_manager": (moderation >= MANAGER_MIN_ACTS) | (adds >= MANAGER_MIN_ADDS),
        "is_kol": rows["is_kol"].fill_null(False).to_numpy(zero_copy_only=False),
        "is_connector": (g_between > 0)
        & (between >= CONNECTOR_RATIO * g_between)
        & (bridged >= CONNECTOR_MIN_COMMUNITIES),
        "is_helper": answers >= np.maximum(HELPER_MIN_ANSWERS, HELPER_RATIO * mean_answers[code]),
        # NaN (no time) compares false
        "is_seed": (first_seen <= start[code] + SEED_WINDOW / timedelta(microseconds=1))
        & (last_post >= active_since[0]),
        "is_contributor": resources
        >= np.maximum(CONTRIBUTOR_MIN_RESOURCES, CONTRIBUTOR_RATIO * mean_resources[code]),
        "is_lurker": messages <= LURKER_MAX_MESSAGES,
    }
    order = ("is_manager", "is_lurker", "is_kol", "is_connector", "is_helper", "is_seed",
             "is_contributor")  # fmt: skip
    role = np.select([flags[f] for f in order], list(range(len(order))), len(order))
    why = _why(rows, role, between / np.where(g_between > 0, g_between, 1.0), bridged, draw_ratio)

    out = pa.table(
        {
            "group": rows["group"],
            "member": rows["member"],
            "role": pc.take(pa.array(_PRECEDENCE), pa.array(role)),
            "why": why,
            "messages": rows["messages"],
            "moderation": rows["moderation"],
            "adds": rows["adds"],
            "draw_ratio": pa.array(draw_ratio),
            "betweenness": pa.array(between),
            "bridged_communities": pa.array(bridged),
            "answers_given": rows["answers_given"],
            "resource_posts": rows["resource_posts"],
            "first_seen": rows["first_seen"],
            "last_post": rows["last_post"],
            **{name: pa.array(value) for name, value in flags.items()},
        },
        schema=MEMBERS_SCHEMA,
    )
    return out.take(pc.sort_indices(out["group"]))  # stable: members keep their order


def _ints(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    return np.asarray(column.to_numpy(), dtype=np.int64)


def _micros(column: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """Timestamps as float microseconds (exact below 2⁵³: the year 2255), NaN for null."""
    return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _mean_betweenness(graph: pa.Table, groups: list[str]) -> npt.NDArray[np.float64]:
    """Each group's mean betweenness over its graph members (0 without any), summed one
    after another in the graph's row order, as Python's ``sum`` adds them."""
    encoded = pc.dictionary_encode(graph["group"]).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")
    values = graph["betweenness"].to_numpy()[order].tolist()
    ends = np.cumsum(np.bincount(codes, minlength=len(encoded.dictionary))).tolist()
    means = {}
    for i, group in enumerate(encoded.dictionary.to_pylist()):
        between = values[(ends[i - 1] if i else 0) : ends[i]]
        means[group] = sum(between) / len(between) if between else 0.0
    return np.array([means.get(g, 0.0) for g in groups], dtype=np.float64)


def _why(
    rows: pa.Table,
    role: npt.NDArray[np.int64],
    ratio: npt.NDArray[np.float64],
    bridged: npt.NDArray[np.int64],
    draw: npt.NDArray[np.float64],
) -> pa.Array:
    """Each member's reason for their role (``role``: the place in :data:`_PRECEDENCE`):
    the numbers as text, column by column; KOLs' and connectors' ratios, rounded, as
    Python formats them."""

    def text(*parts: str | pa.ChunkedArray) -> pa.Array:
        pieces = [p if isinstance(p, str) else pc.cast(p, pa.string()) for p in parts]
        return pc.binary_join_element_wise(*pieces, "").combine_chunks()

    rounded: list[str] = [""] * len(role)
    for i in np.flatnonzero((role == 2) | (role == 3)).tolist():
        if role[i] == 2:
            rounded[i] = f"draws {draw[i]:.2f}× the group's answers per message"
        else:
            rounded[i] = (
                f"betweenness {ratio[i]:.1f}× the mean, partners in {bridged[i]} other clusters"
            )
    reasons = [
        text(rows["moderation"], " moderation acts, ", rows["adds"], " members added"),
        text(rows["messages"], " messages in the period"),
        pa.array(rounded, pa.string()),
        pa.array(rounded, pa.string()),
        text("answered ", rows["answers_given"], " questions of others"),
        pa.repeat(pa.scalar("here since the group's first day and still posting"), len(role)),
        text(rows["resource_posts"], " posts with media, files or links"),
        text(rows["messages"], " messages, no leading signal"),
    ]
    return pc.choose(pa.array(role), *reasons)


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
    return classify(
        ctx.end,
        ctx.settings.lurker_days,
        results["roles.signals"],
        results["kols.ranking"],
        results["graph.centrality"],
    )


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
    members = results["roles.members"].select(["group", "role"])
    for row in members.group_by(["group", "role"]).aggregate([("role", "count")]).to_pylist():
        counts[row["group"]][row["role"]] += row["role_count"]
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


@dataclass(frozen=True)
class RoleCounts:
    """How many of one group's members hold each role or signal the gaps are read from."""

    members: int
    lurkers: int
    managers: int
    kols: int
    #: KOLs who are managers too
    kol_managers: int
    connectors: int
    helpers: int
    seeds: int


def find_gaps(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What is missing or out of balance in one group's role structure (its rows)."""
    return role_gaps(
        RoleCounts(
            members=len(rows),
            lurkers=sum(1 for r in rows if r["role"] == "lurker"),
            managers=sum(1 for r in rows if r["is_manager"]),
            kols=sum(1 for r in rows if r["is_kol"]),
            kol_managers=sum(1 for r in rows if r["is_kol"] and r["is_manager"]),
            connectors=sum(1 for r in rows if r["is_connector"]),
            helpers=sum(1 for r in rows if r["is_helper"]),
            seeds=sum(1 for r in rows if r["is_seed"]),
        )
    )


def role_gaps(counts: RoleCounts) -> list[tuple[str, str]]:
    """What is missing or out of balance in a group with these counts."""
    total = max(1, counts.members)
    gaps: list[tuple[str, str]] = []
    if not counts.managers:
        gaps.append(
            (
                "no manager",
                "Nobody removed, pinned, decided a join request or "
                "changed the group's settings: the group has no visible operator.",
            )
        )
    if not counts.kols:
        gaps.append(
            (
                "no KOL",
                "No member draws clearly more answers per message than the "
                "rest: nobody starts discussions others join (001 §8).",
            )
        )
    elif counts.kol_managers == counts.kols:
        gaps.append(
            (
                "KOLs are all managers",
                f"All {counts.kols} members who draw answers "
                "are operators: no member leads discussion on their own.",
            )
        )
    if not counts.connectors:
        gaps.append(
            (
                "no connector",
                "No member bridges otherwise separate clusters of the interaction graph.",
            )
        )
    if not counts.helpers:
        gaps.append(
            ("no helper", "Nobody answers other members' questions markedly more than the rest.")
        )
    if not counts.seeds:
        gaps.append(
            (
                "no active seed members",
                "None of the members from the group's first day still posts.",
            )
        )
    lurkers = counts.lurkers / total
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
    members = results["roles.members"]
    flags = {
        "lurkers": pc.equal(members["role"], "lurker"),
        "managers": members["is_manager"],
        "kols": members["is_kol"],
        "kol_managers": pc.and_(members["is_kol"], members["is_manager"]),
        "connectors": members["is_connector"],
        "helpers": members["is_helper"],
        "seeds": members["is_seed"],
    }
    table = pa.table(
        {"group": members["group"], **{k: pc.cast(v, pa.int64()) for k, v in flags.items()}}
    )
    per_group = table.group_by("group").aggregate(
        [("group", "count"), *[(name, "sum") for name in flags]]
    )
    counts = {
        row["group"]: RoleCounts(
            members=row["group_count"], **{name: row[f"{name}_sum"] for name in flags}
        )
        for row in per_group.to_pylist()
    }
    rows = [
        {"group": group, "gap": gap, "explanation": text}
        for group in sorted(counts)
        for gap, text in role_gaps(counts[group])
    ]
    schema = pa.schema([("group", pa.string()), ("gap", pa.string()), ("explanation", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)
