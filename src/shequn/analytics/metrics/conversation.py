"""Conversation: questions and how fast others answer them, who talks to whom, threads.

Everything here starts from one table, :func:`message_links`: every message written by a
person (bots are left out: a bot's automatic answer is not a member answering), with the
message it answers (its *parent*) where one is known.

Explicit replies
    ``reply_to`` holds the platform id of the message replied to (Discord, Telegram,
    Slack, WeChat quotes), or for platforms without ids its event ``key``. It is joined
    on the group's messages by ``platform_id``, else by ``key``. The parent's author is
    the member replied to.
Inferred replies (groups without any reply id, e.g. WhatsApp text exports)
    WhatsApp's text export drops the reply links, so who answers whom is read from turn
    taking: when member B writes within :data:`INFERRED_WINDOW_MINUTES` minutes after a
    message by A (A ≠ B, and A's message is the last one before B's), B's message
    answers A's. Only the first message of B's turn counts (three lines in a row are one
    answer). The edge weighs :data:`INFERRED_WEIGHT` of an explicit reply, because some
    of those turns start a new subject instead of answering. A group is read this way
    when none of its messages carries ``reply_to`` — the choice is made per group, from
    the data, not per platform.

Why 5 minutes: in the simulated WhatsApp groups (which know the true reply of every
message) the share of inferred edges whose true reply goes to that member's message
falls as the window grows while the number found grows more slowly; five minutes is
where chat replies in busy groups mostly land (measured figures in
docs/analytics/conversation-roles-kols.md). Mentions are explicit in every export and
always give their own edges.
"""

from __future__ import annotations

from typing import Final

import ibis
import pyarrow as pa
from ibis.expr import types as ir

from shequn.analytics.context import Context
from shequn.analytics.metrics.common import (
    ALL_GROUPS,
    per_group_and_all,
    week_of,
    with_all_groups,
)
from shequn.analytics.registry import metric
from shequn.analytics.source import Coded

#: a message by B this many minutes after A's (A ≠ B) answers it, where no reply ids exist
INFERRED_WINDOW_MINUTES: Final = 5
#: weight of one inferred answer relative to an explicit reply or a mention (1.0)
INFERRED_WEIGHT: Final = 0.5
#: reply chains are followed this many doublings deep: 2**5 = 32 replies
THREAD_DOUBLINGS: Final = 5
#: a thread this deep or deeper counts as a deep thread
DEEP_THREAD: Final = 3
#: turn_taking counts a group's turns in the low bits of one running sum and its bursts
#: above them: exact while a group has fewer than 2**31 messages
COUNT_BITS: Final = 32

#: edge kinds and their weight per interaction
EDGE_KINDS: Final = {"reply": 1.0, "mention": 1.0, "inferred": INFERRED_WEIGHT}

#: a question ends in a question mark (ASCII or full-width), trailing spaces allowed
QUESTION_END: Final = r"[?？]\s*$"
#: English interrogatives, counted only as the message's first word ("what time …"),
#: because inside a sentence they are mostly not questions ("I know what you mean")
EN_QUESTION_STARTS: Final = (
    "what", "why", "how", "when", "where", "which", "who", "whom", "whose",
)  # fmt: skip
#: English phrases that ask the group something wherever they stand
EN_QUESTION_PHRASES: Final = (
    "does anyone", "anyone know", "can someone", "can anyone", "could someone",
    "could anyone", "any idea", "any ideas", "is there", "are there", "do you know",
)  # fmt: skip
#: Chinese question words and particles (simplified and traditional), anywhere
ZH_QUESTION_WORDS: Final = (
    "吗", "嗎", "什么", "什麼", "为什么", "為什麼", "怎么", "怎麼", "怎样", "怎樣", "如何",
    "哪里", "哪裡", "哪儿", "哪个", "哪個", "谁", "誰", "多少", "几点", "幾點", "几个",
    "幾個", "是否", "有没有", "有沒有", "能不能", "可不可以", "是不是", "请问", "請問",
)  # fmt: skip


def _alternation(words: tuple[str, ...]) -> str:
    return "(" + "|".join(words) + ")"


def is_question(text: ir.StringValue) -> ir.BooleanValue:
    """True for a question: ends in ?/？, starts with an English interrogative, or holds an
    English asking phrase or a Chinese question word (lists above)."""
    low = text.lower()
    starts = r"^\s*" + _alternation(EN_QUESTION_STARTS) + r"([^a-z]|$)"
    phrase = r"(^|[^a-z])" + _alternation(EN_QUESTION_PHRASES) + r"([^a-z]|$)"
    zh = _alternation(ZH_QUESTION_WORDS)
    # one search for the four patterns: one pass of the regex engine over each text
    # instead of four (a text matches the alternation when it matches any of them)
    found = low.re_search("|".join(f"({p})" for p in (QUESTION_END, starts, phrase, zh)))
    return text.notnull() & ibis.coalesce(found, False)


#: columns of hashes the shared tables store as they are: DuckDB's string compression
#: costs more CPU to write than it saves on 32 random hex digits a row
#: (:func:`~shequn.analytics.source.materialize`)
HASHES: Final = ("key",)

#: a post is a resource when it carries media or a file, or its text holds a link: one of
#: these (two substring searches cost a third of the regex https?:// at 10M messages)
LINK_STARTS: Final = ("http://", "https://")


def people_messages(ctx: Context) -> ir.Table:
    """Messages written by people (not bots), with the columns conversations need.

    The text is read once, here: ``question`` (:func:`is_question`) and ``resource``
    (media, a file or a link) are kept instead of it; ``line`` is the event's line in
    its export (0 where it has none). ``number`` tells the messages apart (unique, in
    no meaningful order: which message gets which number may differ between runs and
    engines, so nothing may depend on it but the identity): :func:`message_links` joins
    its windows' results back on it, an integer, instead of on the 32-character key.
    Materialised per context.
    """

    def build() -> ir.Table:
        m = ctx.messages
        m = m.filter(~m.is_bot)
        link = ibis.or_(*(m.text.contains(start) for start in LINK_STARTS))
        resource = m.attachment_kind.notnull() | ibis.coalesce(link, False)
        return m.select(
            "group",
            "key",
            "platform_id",
            "member",
            "ts",
            "local_ts",
            "reply_to",
            "mentions",
            question=is_question(m.text),
            resource=resource,
            line=ibis.coalesce(m.source_line, ibis.literal(0, "int64")),
            number=ibis.row_number(),
        )

    return ctx.shared("conversation.messages", build, uncompressed=HASHES)


def _explicit_groups(msgs: ir.Table) -> ir.Table:
    """Groups where at least one message carries a reply id."""
    return (
        msgs.filter(msgs.reply_to.notnull())
        .group_by("group")
        .aggregate(explicit=ibis.literal(True))
    )


def message_refs(msgs: ir.Table, wanted: ir.Table | None = None) -> ir.Table:
    """(group, ref) → the message's key, for ``reply_to`` values: platform ids and keys.

    ``wanted`` (``ref_group``, ``ref``) limits the result to the refs something points at
    (every message has a key, but few are replied to; without reply ids, none is).
    """
    by_id = msgs.filter(msgs.platform_id.notnull()).select(
        ref_group=msgs.group, ref=msgs.platform_id, ref_key=msgs.key
    )
    by_key = msgs.select(ref_group=msgs.group, ref=msgs.key, ref_key=msgs.key)
    refs = by_id.union(by_key)
    if wanted is not None:
        refs = refs.semi_join(wanted, [refs.ref_group == wanted.ref_group, refs.ref == wanted.ref])
    return refs.group_by(["ref_group", "ref"]).aggregate(ref_key=refs.ref_key.min())


def message_links(ctx: Context) -> ir.Table:
    """Every person's message with its parent (the message it answers), where known.

    Columns: the columns of :func:`people_messages` but ``platform_id``, ``reply_to``,
    ``resource`` and ``line`` (read by nothing after this table), then ``explicit`` (the
    group has reply ids), ``seq`` (the message's place in the group by time, export
    line, then key), ``turn`` (first message of a member's turn), ``run`` (turn number in
    the group), ``burst_start`` and ``burst`` (a new burst starts more than the inferred
    window after the message before; burst number in the group), ``parent_key`` (the
    message an explicit reply answers; null for an inferred answer, whose parent is the
    message before it in the group: ``seq`` − 1), ``parent_member`` (the parent's
    author, both ways) and ``inferred`` (the parent comes from turn taking, not from a
    reply id).
    Materialised per context.
    """
    return ctx.shared(
        "conversation.links", lambda: _message_links(ctx), uncompressed=(*HASHES, "parent_key")
    )


def _message_links(ctx: Context) -> ir.Table:
    msgs = people_messages(ctx)
    flagged = msgs.left_join(_explicit_groups(msgs), "group").drop("group_right")
    flagged = flagged.mutate(explicit=ibis.coalesce(flagged.explicit, False))
    # the messages are numbered in their group by time (turn_taking, per day). Messages
    # of one timestamp keep the order the export wrote them in (its line): WhatsApp
    # writes minutes only, and who spoke after whom within a minute is the turn taking
    # read below. The windows sort only the columns they read (not the mentions, flags
    # and local times each message carries); the result is joined back on the message's
    # number, an integer, not on its key (32 characters in the join's hash table and in
    # the running count's sort at ten million messages; the key is only the numbering's
    # last tiebreaker). They carry no previous key: every string they move costs at ten
    # million messages in one group, and nothing reads an inferred answer's parent key
    # (seq - 1 names it). Nor member keys or group names: each (group, member) pair is
    # numbered (members within the group, groups among the groups: a window over the
    # distinct pairs, at most 100,000 rows in the benchmark's group, against ten million
    # messages), the windows move and partition by the numbers, and the previous
    # member's key is joined back by its number. A message without a member has a pair
    # too (its member null, matched null-safe) but no member number: its comparisons
    # stay null as they were with the key
    pairs = msgs.select("group", "member").distinct()
    by_member = ibis.window(group_by="group", order_by="member")
    members = pairs.select(
        c_group="group",
        c_member="member",
        code=ibis.ifelse(
            pairs.member.notnull(), ibis.row_number().over(by_member), ibis.null("int64")
        ),
        group_number=ibis.dense_rank().over(ibis.window(order_by="group")),
    )
    coded = msgs.join(
        members,
        [msgs.group.identical_to(members.c_group), msgs.member.identical_to(members.c_member)],
    )
    turns = turn_taking(coded.select("key", "number", "code", "ts", "line", group="group_number"))
    turns = turns.select(
        "seq", "prev_code", "turn", "burst_start", "run", "burst", "answers_prev",
        turn_number="number",
    )  # fmt: skip
    lagged = flagged.join(turns, flagged.number == turns.turn_number).drop("turn_number")
    # matched on the message's group name, not on numbers the turns carry: a condition
    # on the turns' columns alone lets DuckDB join the names into the turns first, and
    # the join back then holds a string per message
    named = members.select(n_group="c_group", n_code="code", prev_member="c_member")
    lagged = lagged.left_join(
        named, [lagged.group.identical_to(named.n_group), lagged.prev_code == named.n_code]
    ).drop("n_group", "n_code", "prev_code")

    pointing = msgs.filter(msgs.reply_to.notnull())
    wanted = pointing.select(ref_group=pointing.group, ref=pointing.reply_to).distinct()
    refs = message_refs(msgs, wanted)
    parents = msgs.select(p_key=msgs.key, p_member=msgs.member)
    parents = parents.semi_join(refs, parents.p_key == refs.ref_key)
    explicit = lagged.left_join(
        refs, [lagged.group == refs.ref_group, lagged.reply_to == refs.ref]
    ).drop("ref_group", "ref")
    explicit = explicit.left_join(parents, explicit.ref_key == parents.p_key).drop("p_key")
    inferred_ok = ~explicit.explicit & explicit.answers_prev
    out = explicit.mutate(
        parent_key=ibis.ifelse(explicit.explicit, explicit.ref_key, ibis.null("string")),
        parent_member=ibis.ifelse(explicit.explicit, explicit.p_member, explicit.prev_member),
        inferred=inferred_ok,
    )
    has_parent = out.explicit | out.inferred
    out = out.mutate(
        parent_member=ibis.ifelse(has_parent, out.parent_member, ibis.null("string")),
    )
    return out.drop(
        "ref_key", "p_member", "prev_member", "answers_prev", "platform_id", "reply_to",
        "resource", "line", "number",
    )  # fmt: skip


def _is_turn(prev_code: ir.IntegerValue, code: ir.IntegerValue) -> ir.BooleanValue:
    """A member's turn starts: first message, or another member (or none) wrote the one
    before. Null when this message has no member and the one before has one, as the
    comparison of the two is."""
    return prev_code.isnull() | (prev_code != code)


def _is_burst_start(prev_ts: ir.TimestampValue, ts: ir.TimestampValue) -> ir.BooleanValue:
    """A burst starts: first message, or more than the inferred window after the last."""
    return prev_ts.isnull() | (ts > prev_ts + ibis.interval(minutes=INFERRED_WINDOW_MINUTES))


def _answers_prev(
    prev_code: ir.IntegerValue,
    code: ir.IntegerValue,
    prev_ts: ir.TimestampValue,
    ts: ir.TimestampValue,
) -> ir.BooleanValue:
    """Answers the message before (read only in groups without reply ids): another
    member's, within the inferred window."""
    window = ibis.interval(minutes=INFERRED_WINDOW_MINUTES)
    return prev_code.notnull() & (prev_code != code) & (ts <= prev_ts + window)


def turn_taking(narrow: ir.Table) -> ir.Table:
    """Each message's place in its group and the turns and bursts it starts or sits in.

    ``narrow``: (group, key, number, code, ts, line), ``group`` the group's number and
    ``code`` the member's (null without a member): integers sort faster than names;
    ``number`` identifies the message in the result (which has no ``key``: the key
    orders ties, and only the first window needs it). Adds ``seq`` (0, 1, … in the
    group by time, export line, key), ``prev_code`` (the member number of the message
    before), ``turn``, ``burst_start``, ``answers_prev`` and the running counts ``run``
    (turns so far) and ``burst`` (bursts so far).

    The messages are numbered **per day** (UTC; a day is a range of times, so the
    group's order is the days' order, then the order within each day), not in one
    window over the group: at ten million messages in one group that window is one
    sort of every message by time, line and key (bench/RESULTS.md, cnv8). A table of
    one row per day then gives each day its first number (the messages of the days
    before) and the previous day's last message, which is the message before the day's
    first. The running counts are one window over the group ordered by ``seq``, a
    single integer: counting within each day from the day's offsets costs more in
    DuckDB (a running sum over many partitions, 3× the one over the group at 1M). Both
    counts are one running sum (:data:`COUNT_BITS`).
    """
    in_day = ibis.window(group_by=["group", "day"], order_by=["ts", "line", "key"])
    dated = narrow.mutate(day=narrow.ts.date())
    numbered = dated.mutate(
        pos=ibis.row_number().over(in_day),
        prev_code=dated.code.lag().over(in_day),
        prev_ts=dated.ts.lag().over(in_day),
        # the day's last message (line is never null)
        last=dated.line.lead().over(in_day).isnull(),
    )
    days = _day_offsets(numbered)
    joined = numbered.join(days, [numbered.group == days.d_group, numbered.day == days.d_day])
    # the day's first message follows the previous day's last
    first = joined.pos == 0
    joined = joined.select(
        *(c for c in narrow.columns if c != "key"),
        seq=joined.seq_from + joined.pos,
        prev_code=ibis.ifelse(first, joined.prev_last_code, joined.prev_code),
        prev_ts=ibis.ifelse(first, joined.prev_last_ts, joined.prev_ts),
    )
    flagged = joined.mutate(
        turn=_is_turn(joined.prev_code, joined.code),
        burst_start=_is_burst_start(joined.prev_ts, joined.ts),
        answers_prev=_answers_prev(joined.prev_code, joined.code, joined.prev_ts, joined.ts),
    )
    # one running sum counts both: a turn adds 1, a burst 2**32 (a null turn adds
    # nothing, as it added nothing to a sum of its own). Two running sums over ten
    # million rows held twice the window's state and made the rest of the query spill
    # (with the split below and the number join: links 41-55 -> 23-30 s CPU at 10M
    # messages, bench/RESULTS-cnv9.md)
    so_far = ibis.cumulative_window(group_by="group", order_by="seq")
    steps = ibis.coalesce(flagged.turn.cast("int64"), 0) + (
        flagged.burst_start.cast("int64") << COUNT_BITS
    )
    counted = flagged.drop("prev_ts").mutate(counts=steps.sum().over(so_far))
    # split by % and // (a floor of a division: below 2**63 the double's rounding, at
    # most 512, cannot carry the turns, below 2**31, into the next burst), not by & and
    # >>: DuckDB's running sum is a 16-byte HUGEINT, and & and >> keep that width where
    # // gives an 8-byte BIGINT; the narrower join back spilled less (10M: links 26-30
    # against 41-44 s CPU, bench/RESULTS-cnv9.md)
    return counted.mutate(
        run=_narrow(counted.counts % (2**COUNT_BITS)), burst=counted.counts // (2**COUNT_BITS)
    ).drop("counts")


def _narrow(count: ir.IntegerValue) -> ir.IntegerValue:
    """``count`` (below 2**31) as an 8-byte integer: DuckDB's sums are 16-byte HUGEINTs
    whatever Ibis calls them, and a cast to int64 of what Ibis already types int64 is
    dropped; through int32 it stays."""
    return count.cast("int32").cast("int64")


def _day_offsets(numbered: ir.Table) -> ir.Table:
    """One row per (group, day) of :func:`turn_taking`'s numbered messages: the messages
    of the days before (``seq_from``) and the previous day's last member number and
    time (``prev_last_code``, ``prev_last_ts``). Columns ``d_group``, ``d_day`` to join
    on."""
    per_day = numbered.group_by(["group", "day"]).aggregate(
        messages=numbered.count(),
        last_code=numbered.code.max(where=numbered.last),
        last_ts=numbered.ts.max(),
    )
    over_days = ibis.window(group_by="group", order_by="day")
    before = ibis.cumulative_window(group_by="group", order_by="day")
    return per_day.select(
        d_group="group",
        d_day="day",
        seq_from=_narrow(per_day.messages.sum().over(before) - per_day.messages),
        prev_last_code=per_day.last_code.lag().over(over_days),
        prev_last_ts=per_day.last_ts.lag().over(over_days),
    )


def replies_to(ctx: Context) -> ir.Table:
    """(group, replied_key, reply_member, reply_ts): who answered which question, and when.

    Explicit groups: every message whose parent is the replied question. Inferred groups:
    the first message of the next turn answers every message of the turn before it, when
    it came within the window of that turn's last message. Only replies to questions
    (:func:`is_question`) are kept: both readers (``conversation.response``,
    ``roles.signals``) join them to the questions, and in a busy WhatsApp group nearly
    every message is answered this way (at 1M messages 992,939 replies, 220,297 of them
    to questions). Materialised per context.
    """
    return ctx.shared(
        "conversation.replies",
        lambda: _replies_to(message_links(ctx)),
        uncompressed=("replied_key",),
    )


def _replies_to(links: ir.Table) -> ir.Table:
    explicit = links.filter(links.explicit & links.parent_key.notnull())
    asked = links.filter(links.explicit & links.question).select(q_group="group", q_key="key")
    explicit = explicit.semi_join(
        asked, [explicit.group == asked.q_group, explicit.parent_key == asked.q_key]
    )
    direct = explicit.select(
        "group",
        replied_key=explicit.parent_key,
        reply_member=explicit.member,
        reply_ts=explicit.ts,
    )
    inferred = links.filter(~links.explicit)
    starts = inferred.filter(inferred.turn & inferred.inferred).select(
        s_group="group", s_run=inferred.run - 1, s_member="member", s_ts="ts"
    )
    asked = inferred.filter(inferred.question)
    answered = asked.join(starts, [asked.group == starts.s_group, asked.run == starts.s_run])
    by_turn = answered.select(
        "group",
        replied_key=answered.key,
        reply_member=answered.s_member,
        reply_ts=answered.s_ts,
    )
    return direct.union(by_turn)


def mention_rows(ctx: Context) -> ir.Table:
    """(group, key, member, target): each distinct member a message @mentions, resolved to
    member keys through the identity links like the context does; self-mentions and
    mentions of the member the message explicitly replies to (reply ids) are left out
    (that is the reply edge). A mention of the member an *inferred* answer points at is
    kept: the mention is the evidence, the inference only a guess. Materialised per
    context."""
    return ctx.shared("conversation.mentions", lambda: _mention_rows(ctx), uncompressed=HASHES)


def _mention_rows(ctx: Context) -> ir.Table:
    links = message_links(ctx)
    m = links.filter(links.mentions.notnull())
    rows = m.select(
        "group",
        "key",
        "member",
        # the platform is the group's first part (platform/group_id): the messages and
        # their links need not carry it for the mentions alone
        platform=m.group.split("/")[0],
        parent_member=ibis.ifelse(m.inferred, ibis.null("string"), m.parent_member),
        identity=m.mentions.unnest(),
    )
    log_links = ctx.log.links
    ln = log_links.select(
        l_platform=log_links.platform, l_identity=log_links.identity, l_member=log_links.member_key
    )
    resolved = rows.left_join(ln, [rows.platform == ln.l_platform, rows.identity == ln.l_identity])
    resolved = resolved.select(
        "group",
        "key",
        "member",
        "parent_member",
        target=ibis.coalesce(resolved.l_member, resolved.platform.concat(":", resolved.identity)),
    ).distinct()
    keep = (resolved.target != resolved.member) & (
        resolved.parent_member.isnull() | (resolved.parent_member != resolved.target)
    )
    return resolved.filter(keep).select("group", "key", "member", "target")


def interactions(ctx: Context) -> ir.Table:
    """One row per interaction: (group, source, target, kind, weight).

    Not materialised: its two readers (``conversation.edges``, ``roles.signals``) read it
    once each, and a filter of the links beside the mentions costs less than writing
    and reading back a row per interaction (ten million at 10M messages)."""
    return _interactions(ctx)


def _interactions(ctx: Context) -> ir.Table:
    links = message_links(ctx)
    answering = links.filter(links.parent_member.notnull() & (links.parent_member != links.member))
    replies = answering.select(
        "group",
        source=answering.member,
        target=answering.parent_member,
        kind=ibis.ifelse(answering.inferred, "inferred", "reply"),
        weight=ibis.ifelse(
            answering.inferred,
            ibis.literal(INFERRED_WEIGHT, "float64"),
            ibis.literal(1, "float64"),
        ),
    )
    mentions = mention_rows(ctx)
    mentioned = mentions.select(
        "group",
        source=mentions.member,
        target=mentions.target,
        kind=ibis.literal("mention"),
        weight=ibis.literal(1, "float64"),
    )
    return replies.union(mentioned)


@metric(
    "conversation.edges",
    "Who talks to whom",
    "The interaction graph, one row per (source, target, kind): 'reply' — the source "
    "replied to a message of the target (reply ids in the export); 'mention' — the "
    "source @mentioned the target (not counted again when the same message replies to "
    "them); 'inferred' — in groups whose export has no reply ids (WhatsApp), the source "
    f"spoke within {INFERRED_WINDOW_MINUTES} minutes after the target's message, as the "
    f"first message of their turn (weight {INFERRED_WEIGHT} each, 1 for replies and "
    "mentions). interactions counts them, weight adds their weights. Bots are left out.",
    ("group", "source", "target", "kind"),
    # a row per pair of members and kind, twice (the group and "*"): 20.8M rows at 10M
    # messages, held as indices into the member keys
    dictionary=True,
)
def edges(ctx: Context) -> Coded:
    def per_pair(rows: ir.Table) -> ir.Table:
        return rows.group_by(["group", "source", "target", "kind"]).aggregate(
            weight=rows.weight.sum(), interactions=rows.count()
        )

    # the pairs are aggregated, and leave the engine, as integer codes of the groups,
    # members and kinds (Coded, decoded by the runner into dictionary columns): at 10M
    # messages 20.8M rows, each of which held three strings to hash in the aggregate,
    # move out of DuckDB and encode again in Python (edges' own part 23 -> 13 s CPU,
    # bench/RESULTS-cnv10.md). Every value a row holds is in its table (a group of the
    # context, an author or a mention's target, a kind), so no code is null; a left
    # join keeps even a null value's row, as a null
    group_names = sorted({ALL_GROUPS, *ctx.timezones})
    groups, kinds = _values(group_names), _values(sorted(EDGE_KINDS))
    names = _member_values(ctx)
    coded = interactions(ctx)
    for column, values in (
        ("group", groups),
        ("source", names),
        ("target", names),
        ("kind", kinds),
    ):
        found = values.select(c_value="value", c_code="code")
        coded = coded.left_join(found, coded[column] == found.c_value)
        coded = coded.drop(column, "c_value").rename({column: "c_code"})
    coded = coded.select("group", "source", "target", "kind", "weight")
    everyone = ibis.literal(group_names.index(ALL_GROUPS), "int32")
    # one group: the pairs aggregated once and written for the group and "*" (20.8M
    # rows at 10M messages would otherwise be aggregated twice)
    rows = per_group_and_all(ctx, coded, per_pair, everyone)
    return Coded(rows, {"group": groups, "source": names, "target": names, "kind": kinds})


def _values(values: list[str]) -> ir.Table:
    """(code, value): each value with its place in ``values`` as its code."""
    codes = pa.array(range(len(values)), pa.int32())
    return ibis.memtable(pa.table({"code": codes, "value": pa.array(values, pa.string())}))


def _member_values(ctx: Context) -> ir.Table:
    """(code, value) of every member an edge can name: the authors of the people's
    messages (every source, every parent's author) and the mentions' targets."""
    links = message_links(ctx)
    mentions = mention_rows(ctx)
    names = links.select(value=links.member).union(
        mentions.select(value=mentions.target), distinct=True
    )
    names = names.filter(names.value.notnull())
    # numbered in order, though the runner sorts each column's values itself
    code = ibis.row_number().over(ibis.window(order_by="value"))
    return names.select("value", code=code.cast("int32"))


def question_replies(ctx: Context) -> ir.Table:
    """Each question (group, key, member, ts, local_ts) with its first reply by someone
    else: ``first_reply_ts`` (null when nobody answered)."""
    links = message_links(ctx)
    questions = links.filter(links.question)
    replies = replies_to(ctx)
    joined = questions.left_join(
        replies,
        [
            questions.group == replies.group,
            questions.key == replies.replied_key,
            replies.reply_member != questions.member,
            replies.reply_ts >= questions.ts,
        ],
    )
    return joined.group_by(
        [joined.group, joined.key, joined.member, joined.ts, joined.local_ts]
    ).aggregate(first_reply_ts=joined.reply_ts.min())


@metric(
    "conversation.response",
    "How fast questions get answers",
    "Per local week of the question: questions (a message ending in ? or ？, starting "
    "with an English question word — what, why, how, when, where, which, who — holding "
    "an asking phrase such as 'does anyone' or 'is there', or a Chinese question word "
    "such as 吗, 什么, 怎么, 为什么, 哪里, 谁, 多少, 请问); answered: someone else replied "
    "within the answer window (Settings.answer_hours); pending: asked less than that "
    "before the end of the period and not answered yet; unanswered: the rest. "
    "median_response_seconds is the exact median time from the question to its first "
    "reply by someone else, over the answered questions. In groups without reply ids the "
    "reply is the next member's turn when it starts within "
    f"{INFERRED_WINDOW_MINUTES} minutes of the asker's last line.",
    ("group", "week"),
)
def response(ctx: Context) -> ir.Table:
    q = question_replies(ctx)
    limit = ibis.interval(hours=ctx.settings.answer_hours)
    answered = q.first_reply_ts.notnull() & (q.first_reply_ts <= q.ts + limit)
    end = ibis.literal(ctx.end, "timestamp")
    pending = ~answered & (q.ts + limit > end)
    seconds = q.first_reply_ts.truncate("s").delta(q.ts.truncate("s"), unit="second")
    rows = with_all_groups(
        q.select(
            "group",
            "key",
            week=week_of(q.local_ts),
            answered=answered,
            pending=pending,
            seconds=ibis.ifelse(answered, seconds.cast("int64"), ibis.null("int64")),
        )
    )
    weekly = rows.group_by(["group", "week"]).aggregate(
        questions=rows.count(),
        answered=rows.answered.sum(),
        pending=rows.pending.sum(),
    )
    median = exact_median(
        rows.filter(rows.answered).select("group", "week", "key", value="seconds"),
        ("group", "week"),
    )
    out = weekly.left_join(median, ["group", "week"]).drop("group_right", "week_right")
    return out.select(
        "group",
        "week",
        "questions",
        answered=out.answered.cast("int64"),
        unanswered=(out.questions - out.answered - out.pending).cast("int64"),
        pending=out.pending.cast("int64"),
        median_response_seconds=out.median,
    )


def exact_median(rows: ir.Table, by: tuple[str, ...]) -> ir.Table:
    """Exact median of ``value`` per ``by`` from ranks (``key`` breaks ties): the middle
    value, or the mean of the two middle ones."""
    w = ibis.window(group_by=list(by), order_by=["value", "key"])
    whole = ibis.window(group_by=list(by))
    ranked = rows.mutate(rank=ibis.row_number().over(w) + 1, n=rows.count().over(whole))
    lo = (ranked.n + 1) // 2
    hi = ranked.n // 2 + 1
    middle = ranked.filter((ranked.rank == lo) | (ranked.rank == hi))
    agg = middle.group_by(list(by)).aggregate(
        total=middle.value.cast("float64").sum(), middle_n=middle.count()
    )
    return agg.select(*by, median=agg.total / agg.middle_n.cast("float64"))


def reply_tree_positions(links: ir.Table) -> ir.Table:
    """Each message of the groups with reply ids (``links`` as :func:`message_links`
    gives them) with its thread root and depth (replies between it and the root).

    The reply chain is followed by pointer doubling (:data:`THREAD_DOUBLINGS` self-joins
    reach 2**5 = 32 replies up; a deeper message is put 32 below the message it reached).
    """
    explicit = links.filter(links.explicit)
    # one row per message (an aggregate, so each level below is compiled once, as a CTE)
    step = explicit.group_by(["group", "key"]).aggregate(
        up=ibis.coalesce(explicit.parent_key, explicit.key).min(),
        dist=ibis.ifelse(explicit.parent_key.notnull(), 1, 0).cast("int64").min(),
    )
    for _ in range(THREAD_DOUBLINGS):
        other = step.select(o_group="group", o_key="key", o_up="up", o_dist="dist")
        joined = step.join(other, [step.group == other.o_group, step.up == other.o_key])
        step = joined.group_by([joined.group, joined.key]).aggregate(
            up=joined.o_up.min(), dist=(joined.dist + joined.o_dist).min()
        )
    tree = step.select(t_group="group", t_key="key", root="up", depth="dist")
    tree = explicit.join(tree, [explicit.group == tree.t_group, explicit.key == tree.t_key])
    return tree.select("group", "key", "member", "ts", "local_ts", "root", "depth")


def thread_table(ctx: Context) -> ir.Table:
    """Per thread (a root with at least one answer): starter, size, depth, participants.
    Materialised per context.

    Groups with reply ids: the reply trees of :func:`reply_tree_positions`, depth the
    longest chain. Groups without: a thread is a burst — messages each within the window
    of the one before (numbered in :func:`message_links`) — rooted at its first message;
    a message's depth counts the turns after the first up to it, so the thread's depth
    is the burst's turns after its first message.
    """
    return ctx.shared("conversation.thread_table", lambda: _thread_table(ctx))


def _thread_table(ctx: Context) -> ir.Table:
    links = message_links(ctx)
    pos = reply_tree_positions(links)
    per = pos.group_by(["group", "root"]).aggregate(
        messages=pos.count(), depth=pos.depth.max(), participants=pos.member.nunique()
    )
    starters = pos.select(s_group="group", s_key="key", starter="member", started=pos.local_ts)
    trees = per.filter(per.messages > 1)
    trees = trees.join(starters, [trees.group == starters.s_group, trees.root == starters.s_key])
    trees = trees.select("group", "root", "starter", "started", "messages", "depth", "participants")

    # bursts are numbered in message_links (explicit is per group, so the inferred rows
    # are whole groups and their numbering is the same); aggregates per burst, no
    # window: the deepest message of a burst is its last, so the thread's depth is the
    # burst's count, and its root the message of the burst's smallest seq. The members
    # are counted in two steps (per burst and member, then per burst: the rows of a
    # member count once, a message without one not at all) instead of COUNT(DISTINCT),
    # which DuckDB computes in a slower per-group hash (0.52 → 0.42 s at 1M messages)
    rows = links.filter(~links.explicit)
    later_turn = (rows.turn & ~rows.burst_start).cast("int64")
    by_member = rows.group_by(["group", "burst", "member"]).aggregate(
        first=rows.seq.min(), messages=rows.count(), depth=later_turn.sum()
    )
    bursts = by_member.group_by(["group", "burst"]).aggregate(
        first=by_member.first.min(),
        messages=by_member.messages.sum(),
        depth=by_member.depth.sum(),
        participants=by_member.member.count(),
    )
    bursts = bursts.filter(bursts.messages > 1)
    roots = rows.select(
        r_group="group", r_seq="seq", root="key", starter="member", started="local_ts"
    )
    bursts = bursts.join(roots, [bursts.group == roots.r_group, bursts.first == roots.r_seq])
    bursts = bursts.select(
        "group", "root", "starter", "started", "messages", "depth", "participants"
    )
    return trees.union(bursts)


@metric(
    "conversation.threads",
    "Threads",
    "Reply chains per group over the period: threads (a message that drew at least one "
    "answer, with all answers to it and to its answers), messages in them, the mean and "
    "the largest depth (replies in the longest chain), deep threads (depth "
    f"{DEEP_THREAD} or more), threads where at least two members besides the starter "
    "took part, and the share of all messages that sit in a thread. Groups without reply "
    "ids (WhatsApp) count bursts instead: messages each within "
    f"{INFERRED_WINDOW_MINUTES} minutes of the one before, depth = turns after the first.",
    ("group",),
)
def threads(ctx: Context) -> ir.Table:
    t = with_all_groups(thread_table(ctx))
    per = t.group_by("group").aggregate(
        threads=t.count(),
        thread_messages=t.messages.sum(),
        mean_depth=t.depth.cast("float64").mean(),
        max_depth=t.depth.max(),
        deep_threads=(t.depth >= DEEP_THREAD).sum(),
        group_threads=(t.participants >= 3).sum(),
    )
    msgs = with_all_groups(people_messages(ctx).select("group", "key"))
    totals = msgs.group_by("group").aggregate(messages=msgs.count())
    out = totals.left_join(per, "group").drop("group_right")
    return out.select(
        "group",
        "messages",
        threads=ibis.coalesce(out.threads, 0),
        thread_messages=ibis.coalesce(out.thread_messages, 0),
        thread_share=ibis.coalesce(out.thread_messages, 0).cast("float64")
        / out.messages.cast("float64"),
        mean_depth=out.mean_depth,
        max_depth=ibis.coalesce(out.max_depth, 0),
        deep_threads=ibis.coalesce(out.deep_threads, 0).cast("int64"),
        group_threads=ibis.coalesce(out.group_threads, 0).cast("int64"),
    )
