"""KOL ranking: influence per message, not volume — hand-made signals checked by hand,
and the simulated group's KOLs (whose messages draw the most replies in the truth)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from shequn.analytics.context import Context
from shequn.analytics.metrics import kols
from shequn.analytics.runner import run_metrics
from shequn.simulate.truth import true_replies


def signal(member: str, messages: int, replies: int, **values: Any) -> dict[str, Any]:
    row = {
        "group": "g", "member": member, "messages": messages, "replies_received": replies,
        "mentions_received": 0, "inferred_received": 0, "reactions_received": 0,
        "threads_started": 0, "others_drawn": 0, "responders": 5,
    }  # fmt: skip
    row.update(values)
    return row


ROWS = [
    signal("loud", 200, 40),  # talks most, drawn little
    signal("sage", 20, 30, reactions_received=15, others_drawn=12),  # few posts, answered
    signal("lucky", 2, 6),  # two posts, six replies: too few to judge
    signal("mid", 50, 10),
    signal("alone", 30, 30, responders=1),  # all answers from one person
    signal("reader", 0, 0),
]


def test_ranking_by_hand() -> None:
    pagerank = {"loud": 0.2, "sage": 0.3, "lucky": 0.1, "mid": 0.15, "alone": 0.25}
    out = {r["member"]: r for r in kols.rank_group(ROWS, pagerank)}
    assert "reader" not in out  # only posting members are ranked
    # the group's mean draw: 116 answers / 302 messages
    mean = 116 / 302
    expected = (30 + kols.PRIOR_MESSAGES * mean) / (20 + kols.PRIOR_MESSAGES) / mean
    assert abs(out["sage"]["draw_ratio"] - expected) < 1e-12
    assert out["sage"]["is_kol"]
    assert not out["loud"]["is_kol"]
    assert not out["lucky"]["is_kol"]  # below KOL_MIN_MESSAGES
    assert not out["alone"]["is_kol"]  # below KOL_MIN_RESPONDERS
    assert out["sage"]["influence_rank"] == 1
    assert out["loud"]["message_rank"] == 1
    assert out["loud"]["rank_gap"] < 0 < out["sage"]["rank_gap"]
    assert sorted(r["influence_rank"] for r in out.values()) == [1, 2, 3, 4, 5]


def test_compare_lists_by_hand() -> None:
    table = pa.Table.from_pylist(kols.rank_group(ROWS, {}), schema=kols.RANKING_SCHEMA)
    old = kols.TOP_N
    kols.TOP_N = 2
    try:
        row = kols.compare(None, {"kols.ranking": table}).to_pylist()[0]  # type: ignore[arg-type]
    finally:
        kols.TOP_N = old
    assert row["only_by_messages"] == ["loud"] or "loud" in row["only_by_messages"]
    assert "sage" in row["only_by_influence"]
    assert row["kols"] == 1


def test_without_reply_ids_inferred_answers_count() -> None:
    rows = [
        signal("a", 10, 0, replies_received=0, inferred_received=30),
        signal("b", 10, 0, inferred_received=4),
        signal("c", 10, 0, inferred_received=4),
        signal("d", 10, 0, inferred_received=4),
    ]
    out = {r["member"]: r for r in kols.rank_group(rows, {})}
    assert out["a"]["draw_per_message"] == kols.INFERRED_WEIGHT * 3
    assert out["a"]["is_kol"]


def test_simulated_kols_draw_more_than_the_loudest(duckdb_context: Context, community: Any) -> None:
    """The truth's replies received per message (from reply_to_line, which the WhatsApp
    export hides) is higher for the top of our influence list than for the top by
    messages — the two lists differ as they should."""
    results = run_metrics(duckdb_context, ["kols.ranking", "kols.compare"])
    rows = [r for r in results["kols.ranking"].to_pylist() if r["group"] != "*"]
    posts, replies = true_replies(community.events_path)

    def per_message(members: list[str]) -> float:
        ids = [m.split(":", 1)[1] for m in members]
        return sum(replies[i] for i in ids) / max(1, sum(posts[i] for i in ids))

    top = 5
    by_influence = [r["member"] for r in sorted(rows, key=lambda r: r["influence_rank"])[:top]]
    by_volume = [r["member"] for r in sorted(rows, key=lambda r: r["message_rank"])[:top]]
    assert per_message(by_influence) > per_message(by_volume)
    compare = next(r for r in results["kols.compare"].to_pylist() if r["group"] != "*")
    assert compare["jaccard"] < 1
