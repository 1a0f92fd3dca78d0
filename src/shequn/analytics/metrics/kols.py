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

import pyarrow as pa

from shequn.analytics.context import Context
from shequn.analytics.metrics.common import ALL_GROUPS
from shequn.analytics.metrics.conversation import INFERRED_WEIGHT
from shequn.analytics.metrics.inferred_draw import drawn_by_group
from shequn.analytics.registry import derived

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


def _percentiles(values: list[float]) -> list[float]:
    """Mid-rank percentile of each value among ``values`` (ties share their mean rank)."""
    n = len(values)
    if n == 0:
        return []
    order = sorted(range(n), key=lambda i: values[i])
    out = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and values[order[j + 1]] == values[order[i]]:
            j += 1
        mid = (i + j) / 2 + 1
        for k in range(i, j + 1):
            out[order[k]] = mid / n
        i = j + 1
    return out


def is_explicit(rows: list[dict[str, Any]]) -> bool:
    """The group's answers are read from replies and mentions (else from turn taking)."""
    return any(r["replies_received"] + r["mentions_received"] > 0 for r in rows)


def rank_group(
    rows: list[dict[str, Any]],
    pagerank: Mapping[str, float],
    drawn: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Rank one group's posting members (``roles.signals`` rows) by influence.

    ``drawn``: answers each member drew, where the export has no reply ids and they are
    estimated (:mod:`inferred_draw`); else they are read from the rows (:func:`draw`).
    """
    posters = [r for r in rows if r["messages"] > 0]
    if not posters:
        return []
    total_messages = sum(r["messages"] for r in posters)
    explicit = is_explicit(posters)

    def drew(r: Mapping[str, Any]) -> float:
        return drawn.get(r["member"], 0.0) if drawn is not None else draw(r, explicit)

    mean_draw = sum(drew(r) for r in posters) / total_messages
    mean_reactions = sum(r["reactions_received"] for r in posters) / total_messages
    out: list[dict[str, Any]] = []
    for r in posters:
        n = r["messages"]
        smoothed = (drew(r) + PRIOR_MESSAGES * mean_draw) / (n + PRIOR_MESSAGES)
        reactions = (r["reactions_received"] + PRIOR_MESSAGES * mean_reactions) / (
            n + PRIOR_MESSAGES
        )
        ratio = smoothed / mean_draw if mean_draw > 0 else 0.0
        is_kol = (
            n >= KOL_MIN_MESSAGES
            and r["responders"] >= KOL_MIN_RESPONDERS
            and ratio >= KOL_DRAW_RATIO
        )
        out.append(
            {
                "group": r["group"],
                "member": r["member"],
                "is_kol": is_kol,
                "messages": n,
                "draw_per_message": drew(r) / n,
                "draw_ratio": ratio,
                "reactions_per_message": reactions,
                "pagerank": float(pagerank.get(r["member"], 0.0)),
                "threads_started": r["threads_started"],
                "others_drawn": r["others_drawn"],
                "responders": r["responders"],
            }
        )
    signals = [
        _percentiles([o["draw_ratio"] for o in out]),
        _percentiles([o["reactions_per_message"] for o in out]),
        # igraph's PageRank differs in the last bits between runs (≈ 1e-13 relative): to
        # 9 significant digits, equal values tie the same way every run and engine
        _percentiles([float(f"{o['pagerank']:.9g}") for o in out]),
        _percentiles([float(o["others_drawn"]) for o in out]),
    ]
    for i, o in enumerate(out):
        # answers drawn count twice: it is the seeds' definition of a KOL
        o["influence"] = (2 * signals[0][i] + signals[1][i] + signals[2][i] + signals[3][i]) / 5
    by_influence = sorted(out, key=lambda o: (-o["influence"], -o["draw_ratio"], o["member"]))
    for rank, o in enumerate(by_influence, 1):
        o["influence_rank"] = rank
    by_volume = sorted(out, key=lambda o: (-o["messages"], o["member"]))
    for rank, o in enumerate(by_volume, 1):
        o["message_rank"] = rank
        o["rank_gap"] = o["message_rank"] - o["influence_rank"]
    return by_influence


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
    # pairs at 10M) are freed when it returns, before the rows below become Python dicts
    estimated = drawn_by_group(ctx)
    pagerank: dict[str, dict[str, float]] = defaultdict(dict)
    for row in results["graph.centrality"].select(["group", "member", "pagerank"]).to_pylist():
        pagerank[row["group"]][row["member"]] = row["pagerank"]
    per_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    # only the columns read here become Python values (half of roles.signals' columns:
    # 200,000 rows at 100,000 members)
    for row in results["roles.signals"].select(list(SIGNALS_READ)).to_pylist():
        per_group[row["group"]].append(row)
    drawn = _drawn(per_group, estimated)
    out: list[dict[str, Any]] = []
    for group in sorted(per_group):
        out.extend(rank_group(per_group[group], pagerank[group], drawn.get(group)))
    return pa.Table.from_pylist(out, schema=RANKING_SCHEMA)


def _drawn(
    per_group: Mapping[str, list[dict[str, Any]]], estimated: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Estimated answers per group without reply ids, and for the community (``*``) the
    sum over its groups of what each group's own rule gives, when any group is estimated."""
    if not estimated:
        return {}
    whole: dict[str, float] = defaultdict(float)
    for group, rows in per_group.items():
        if group == ALL_GROUPS:
            continue
        if group in estimated:
            for member, value in estimated[group].items():
                whole[member] += value
        else:
            explicit = is_explicit(rows)
            for r in rows:
                whole[r["member"]] += draw(r, explicit)
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
    for row in results["kols.ranking"].to_pylist():
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
