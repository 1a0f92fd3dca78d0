"""KOLs (意见领袖): members whose posts start discussions and sway others — by influence,
not by volume.

A KOL is not whoever writes the most: the seeds (001 §8, 004) describe members who
*draw* replies, open topics others join and whose word is picked up. So influence is
read per message: answers drawn per message (replies and @mentions received; where the
export has no reply ids, estimated from timing and @mentions by
:mod:`~shequn.analytics.metrics.inferred_draw`), reactions per message, PageRank in the
reply graph, and the people drawn into threads the member started. The list by messages
is shown beside it, and how the two lists differ.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shequn.analytics.context import Context
from shequn.analytics.metrics.common import ALL_GROUPS
from shequn.analytics.metrics.conversation import INFERRED_WEIGHT
from shequn.analytics.metrics.inferred_draw import drawn_by_group
from shequn.analytics.registry import derived

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

#: a member needs this many messages before their influence per message is judged
KOL_MIN_MESSAGES: Final = 5
#: ... and answers from this many different members
KOL_MIN_RESPONDERS: Final = 3
#: answers drawn per message, shrunk toward the group's mean (see :data:`PRIOR_MESSAGES`),
#: must be at least this many times the group's mean to make a KOL
KOL_DRAW_RATIO: Final = 1.6
#: pseudo-messages at the group's mean added to every member's own (empirical Bayes
#: shrinkage: five lucky replies to two messages do not make a KOL)
PRIOR_MESSAGES: Final = 10
#: the compare table looks at the top this many of each list
TOP_N: Final = 10

RANKING_SCHEMA: Final = pa.schema(
    [
        ("group", pa.string()),
        ("member", pa.string()),
        ("influence_rank", pa.int64()),
        ("message_rank", pa.int64()),
        ("rank_gap", pa.int64()),
        ("influence", pa.float64()),
        ("is_kol", pa.bool_()),
        ("messages", pa.int64()),
        ("draw_per_message", pa.float64()),
        ("draw_ratio", pa.float64()),
        ("reactions_per_message", pa.float64()),
        ("pagerank", pa.float64()),
        ("threads_started", pa.int64()),
        ("others_drawn", pa.int64()),
        ("responders", pa.int64()),
    ]
)

#: the columns of ``roles.signals`` the ranking reads
SIGNALS_READ: Final = (
    "group", "member", "messages", "replies_received", "mentions_received",
    "inferred_received", "reactions_received", "responders", "threads_started",
    "others_drawn",
)  # fmt: skip

COMPARE_SCHEMA: Final = pa.schema(
    [
        ("group", pa.string()),
        ("top_n", pa.int64()),
        ("in_both", pa.int64()),
        ("only_by_influence", pa.list_(pa.string())),
        ("only_by_messages", pa.list_(pa.string())),
        ("jaccard", pa.float64()),
        ("kols", pa.int64()),
        ("kols_in_top_by_messages", pa.int64()),
    ]
)


def draw(row: Mapping[str, Any], explicit: bool) -> float:
    """Answers a member's messages drew: replies and mentions received where the group has
    any (explicit evidence), else inferred answers (turn taking)."""
    if explicit:
        return float(row["replies_received"] + row["mentions_received"])
    return float(INFERRED_WEIGHT * row["inferred_received"])


def _draws(signals: pa.Table, explicit: bool) -> F64:
    """:func:`draw` of every row of ``signals``."""
    if explicit:
        return (_ints(signals, "replies_received") + _ints(signals, "mentions_received")).astype(
            np.float64
        )
    weighted: F64 = INFERRED_WEIGHT * _ints(signals, "inferred_received").astype(np.float64)
    return weighted


def _ints(table: pa.Table, column: str) -> I64:
    values: I64 = table[column].to_numpy().astype(np.int64, copy=False)
    return values


def _percentile_array(values: F64) -> F64:
    """Mid-rank percentile of each value among ``values`` (ties share their mean rank):
    the values sorted, each run of equal values takes the mean of its 1-based places,
    divided by the count."""
    n = len(values)
    if n == 0:
        return np.empty(0)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    ends = np.append(starts[1:], n) - 1
    mid = (starts + ends) / 2 + 1
    out = np.empty(n)
    out[order] = np.repeat(mid / n, ends - starts + 1)
    return out


def is_explicit(rows: list[dict[str, Any]]) -> bool:
    """The group's answers are read from replies and mentions (else from turn taking)."""
    return any(r["replies_received"] + r["mentions_received"] > 0 for r in rows)


def _is_explicit(signals: pa.Table) -> bool:
    """:func:`is_explicit` of a table of ``roles.signals`` rows."""
    return bool(np.any(_ints(signals, "replies_received") + _ints(signals, "mentions_received")))


def rank_group(
    rows: list[dict[str, Any]],
    pagerank: Mapping[str, float],
    drawn: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Rank one group's posting members (``roles.signals`` rows) by influence: the rows
    of :func:`rank_table`, in influence order.

    ``drawn``: answers each member drew, where the export has no reply ids and they are
    estimated (:mod:`inferred_draw`); else they are read from the rows (:func:`draw`).
    """
    if not rows:
        return []
    signals = pa.Table.from_pylist([{c: r[c] for c in SIGNALS_READ} for r in rows])
    members = [r["member"] for r in rows]
    ranks = np.array([float(pagerank.get(m, 0.0)) for m in members], dtype=np.float64)
    estimated = None
    if drawn is not None:
        estimated = np.array([drawn.get(m, 0.0) for m in members], dtype=np.float64)
    ranked: list[dict[str, Any]] = rank_table(signals, ranks, estimated).to_pylist()
    return ranked


def rank_table(signals: pa.Table, pagerank: F64, drawn: F64 | None = None) -> pa.Table:
    """Rank one group's posting members by influence: ``signals`` are its
    ``roles.signals`` rows (the :data:`SIGNALS_READ` columns), ``pagerank`` and ``drawn``
    (answers drawn, where estimated; else read from the rows, :func:`draw`) one value per
    row. The ranking's rows (:data:`RANKING_SCHEMA`), in influence order.

    Column by column in NumPy, every float worked out as the row-by-row rule writes it
    (the same operations in the same order: the means are running sums, as Python's
    ``sum`` adds), so the values are the same to the bit; 100,000 members a group.
    """
    messages = _ints(signals, "messages")
    keep = np.flatnonzero(messages > 0)
    if len(keep) == 0:
        return RANKING_SCHEMA.empty_table()
    posters = signals.take(pa.array(keep))
    n = messages[keep]
    total_messages = int(n.sum())
    drew = drawn[keep] if drawn is not None else _draws(posters, _is_explicit(posters))
    # running sums, left to right as ``sum`` added floats up to Python 3.11 (NumPy's sum
    # adds pairwise)
    mean_draw = float(np.cumsum(drew)[-1]) / total_messages
    received = _ints(posters, "reactions_received")
    mean_reactions = int(received.sum()) / total_messages
    smoothed = (drew + PRIOR_MESSAGES * mean_draw) / (n + PRIOR_MESSAGES)
    reactions = (received + PRIOR_MESSAGES * mean_reactions) / (n + PRIOR_MESSAGES)
    ratio = smoothed / mean_draw if mean_draw > 0 else np.zeros(len(n))
    responders = _ints(posters, "responders")
    others = _ints(posters, "others_drawn")
    is_kol = (n >= KOL_MIN_MESSAGES) & (responders >= KOL_MIN_RESPONDERS)
    is_kol &= ratio >= KOL_DRAW_RATIO
    ranks = pagerank[keep]
    signal = [
        _percentile_array(ratio),
        _percentile_array(reactions),
        # igraph's PageRank differs in the last bits between runs (≈ 1e-13 relative): to
        # 9 significant digits, equal values tie the same way every run and engine
        _percentile_array(np.array([float(f"{p:.9g}") for p in ranks.tolist()])),
        _percentile_array(others.astype(np.float64)),
    ]
    # answers drawn count twice: it is the seeds' definition of a KOL
    influence = (2 * signal[0] + signal[1] + signal[2] + signal[3]) / 5
    # members in code-point order (Arrow sorts strings by their UTF-8 bytes: the same)
    by_member = np.empty(len(n), dtype=np.int64)
    by_member[pc.array_sort_indices(posters["member"]).to_numpy()] = np.arange(len(n))
    places = np.arange(1, len(n) + 1, dtype=np.int64)
    by_influence = np.lexsort((by_member, -ratio, -influence))
    influence_rank = np.empty(len(n), dtype=np.int64)
    influence_rank[by_influence] = places
    message_rank = np.empty(len(n), dtype=np.int64)
    message_rank[np.lexsort((by_member, -n))] = places
    columns: dict[str, Any] = {
        "group": posters["group"],
        "member": posters["member"],
        "influence_rank": influence_rank,
        "message_rank": message_rank,
        "rank_gap": message_rank - influence_rank,
        "influence": influence,
        "is_kol": is_kol,
        "messages": n,
        "draw_per_message": drew / n,
        "draw_ratio": ratio,
        "reactions_per_message": reactions,
        "pagerank": ranks,
        "threads_started": posters["threads_started"],
        "others_drawn": others,
        "responders": responders,
    }
    table = pa.table(
        {
            name: pa.array(value) if isinstance(value, np.ndarray) else value
            for name, value in columns.items()
        }
    )
    return table.cast(RANKING_SCHEMA).take(pa.array(by_influence))


@derived(
    "kols.ranking",
    "KOLs: influence, not volume",
    "Posting members ranked by influence: the mean of their percentiles in answers drawn "
    "per message (replies and @mentions received; in groups whose export has no reply ids, "
    "estimated from the timing of the messages after theirs and @mentions; counted "
    "twice), reactions received per message, PageRank, and members drawn into "
    f"threads they started. Per-message figures are shrunk toward the group's mean by "
    f"{PRIOR_MESSAGES} pseudo-messages, so a lucky few posts do not rank high. "
    f"is_kol: at least {KOL_MIN_MESSAGES} messages, answers from at least "
    f"{KOL_MIN_RESPONDERS} different members, and a shrunk draw per message at least "
    f"{KOL_DRAW_RATIO}× the group's mean (draw_ratio). message_rank is the rank by "
    "messages; rank_gap = message_rank − influence_rank (positive: more influential "
    "than their volume suggests).",
    ("roles.signals", "graph.centrality"),
    ("group", "influence_rank"),
)
def ranking(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    # the estimate first: its arrays (ten million messages, a hundred million candidate
    # pairs at 10M) are freed when it returns, before the tables below are read
    estimated = drawn_by_group(ctx)
    # column by column (rank_table): no row becomes a Python dict (200,000 rows of
    # roles.signals at 100,000 members cost ≈ 2 s as dicts, bench/RESULTS.md, grf7)
    per_group = _split(results["roles.signals"].select(list(SIGNALS_READ)))
    centrality = _split(results["graph.centrality"].select(["group", "member", "pagerank"]))
    drawn = _drawn(per_group, estimated)
    tables = [RANKING_SCHEMA.empty_table()]
    for group in sorted(per_group):
        signals = per_group[group]
        ranks = np.zeros(signals.num_rows)
        if group in centrality:
            # each member's PageRank in the group's graph, 0 outside it
            scored = centrality[group]
            at = pc.index_in(signals["member"], value_set=scored["member"])
            found = at.is_valid().to_numpy(zero_copy_only=False)
            values = scored["pagerank"].to_numpy()
            ranks[found] = values[at.drop_null().to_numpy()]
        estimate = None
        if group in drawn:
            got = drawn[group]
            estimate = np.array([got.get(m, 0.0) for m in signals["member"].to_pylist()])
        tables.append(rank_table(signals, ranks, estimate))
    return pa.concat_tables(tables)


def _split(table: pa.Table) -> dict[str, pa.Table]:
    """``table``'s rows per group, each group's in their order, the groups in the order
    they first appear (as a dict filled row by row would hold them)."""
    encoded = pc.dictionary_encode(table["group"]).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes, minlength=len(encoded.dictionary)))
    out: dict[str, pa.Table] = {}
    for code, group in enumerate(encoded.dictionary.to_pylist()):
        lo = int(ends[code - 1]) if code else 0
        out[group] = table.take(pa.array(order[lo : int(ends[code])]))
    return out


def _drawn(
    per_group: Mapping[str, pa.Table], estimated: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Estimated answers per group without reply ids, and for the community (``*``) the
    sum over its groups of what each group's own rule gives, when any group is estimated."""
    if not estimated:
        return {}
    whole: dict[str, float] = defaultdict(float)
    for group, signals in per_group.items():
        if group == ALL_GROUPS:
            continue
        if group in estimated:
            for member, value in estimated[group].items():
                whole[member] += value
        else:
            draws = _draws(signals, _is_explicit(signals)).tolist()
            for member, value in zip(signals["member"].to_pylist(), draws, strict=True):
                whole[member] += value
    return {**estimated, ALL_GROUPS: dict(whole)}


@derived(
    "kols.compare",
    "Influence list vs. volume list",
    f"Per group, the top {TOP_N} by influence against the top {TOP_N} by messages: "
    "members in both, those only on the influence list (quiet but listened to), those "
    "only on the volume list (talk a lot, draw little), the Jaccard overlap of the two "
    "lists, the KOLs found and how many of them are also in the top by messages.",
    ("kols.ranking",),
    ("group",),
)
def compare(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    per_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    # only the columns read here become Python values
    read = ["group", "member", "influence_rank", "message_rank", "is_kol"]
    for row in results["kols.ranking"].select(read).to_pylist():
        per_group[row["group"]].append(row)
    out: list[dict[str, Any]] = []
    for group in sorted(per_group):
        rows = per_group[group]
        top_influence = {r["member"] for r in rows if r["influence_rank"] <= TOP_N}
        top_volume = {r["member"] for r in rows if r["message_rank"] <= TOP_N}
        union = top_influence | top_volume
        kols = [r for r in rows if r["is_kol"]]
        out.append(
            {
                "group": group,
                "top_n": TOP_N,
                "in_both": len(top_influence & top_volume),
                "only_by_influence": sorted(top_influence - top_volume),
                "only_by_messages": sorted(top_volume - top_influence),
                "jaccard": len(top_influence & top_volume) / len(union) if union else 0.0,
                "kols": len(kols),
                "kols_in_top_by_messages": sum(r["message_rank"] <= TOP_N for r in kols),
            }
        )
    return pa.Table.from_pylist(out, schema=COMPARE_SCHEMA)
