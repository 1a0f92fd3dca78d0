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


def _rank_rows(
    rows: list[dict[str, Any]], pagerank: dict[str, float], drawn: dict[str, float] | None
) -> list[dict[str, Any]]:
    """The ranking rule row by row, as kols.rank_group computed it before it worked
    column by column: the reference the columns must equal to the bit."""
    posters = [r for r in rows if r["messages"] > 0]
    if not posters:
        return []
    total = sum(r["messages"] for r in posters)
    explicit = kols.is_explicit(posters)

    def drew(r: dict[str, Any]) -> float:
        return drawn.get(r["member"], 0.0) if drawn is not None else kols.draw(r, explicit)

    # added left to right, as sum() adds floats up to Python 3.11 (3.12 compensates)
    mean_draw = 0.0
    for r in posters:
        mean_draw += drew(r)
    mean_draw /= total
    mean_reactions = sum(r["reactions_received"] for r in posters) / total
    out = []
    for r in posters:
        n = r["messages"]
        smoothed = (drew(r) + kols.PRIOR_MESSAGES * mean_draw) / (n + kols.PRIOR_MESSAGES)
        ratio = smoothed / mean_draw if mean_draw > 0 else 0.0
        out.append(
            {
                "member": r["member"],
                "is_kol": n >= kols.KOL_MIN_MESSAGES
                and r["responders"] >= kols.KOL_MIN_RESPONDERS
                and ratio >= kols.KOL_DRAW_RATIO,
                "messages": n,
                "draw_per_message": drew(r) / n,
                "draw_ratio": ratio,
                "reactions_per_message": (
                    r["reactions_received"] + kols.PRIOR_MESSAGES * mean_reactions
                )
                / (n + kols.PRIOR_MESSAGES),
                "pagerank": float(pagerank.get(r["member"], 0.0)),
                "others_drawn": r["others_drawn"],
            }
        )

    def percentiles(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        result = [0.0] * len(values)
        i = 0
        while i < len(values):
            j = i
            while j + 1 < len(values) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                result[order[k]] = ((i + j) / 2 + 1) / len(values)
            i = j + 1
        return result

    signals = [
        percentiles([o["draw_ratio"] for o in out]),
        percentiles([o["reactions_per_message"] for o in out]),
        percentiles([float(f"{o['pagerank']:.9g}") for o in out]),
        percentiles([float(o["others_drawn"]) for o in out]),
    ]
    for i, o in enumerate(out):
        o["influence"] = (2 * signals[0][i] + signals[1][i] + signals[2][i] + signals[3][i]) / 5
    ranked = sorted(out, key=lambda o: (-o["influence"], -o["draw_ratio"], o["member"]))
    for rank, o in enumerate(ranked, 1):
        o["influence_rank"] = rank
    for rank, o in enumerate(sorted(out, key=lambda o: (-o["messages"], o["member"])), 1):
        o["message_rank"] = rank
        o["rank_gap"] = rank - o["influence_rank"]
    return ranked


def test_columns_equal_the_row_rule() -> None:
    """rank_group (NumPy, column by column) gives every value of the row-by-row rule to
    the bit, in the same order: random groups with many ties (small counts, repeated
    PageRanks, members absent from the PageRank or the estimate, non-ASCII keys), with
    replies, with inferred answers only and with an estimate."""
    import random

    rng = random.Random(5)
    for trial in range(60):
        size = rng.randint(1, 80)
        names = rng.sample(["m", "ü", "Zed", "a b", "中", "x1", "x10", "x2"] * 20, size)
        members = [f"{name}{i % 7}" for i, name in enumerate(names)]
        members = list(dict.fromkeys(members))
        explicit = trial % 3 == 0
        rows = [
            signal(
                member,
                rng.choice([0, 1, 2, 5, 5, 9, 40]),
                rng.randint(0, 3) if explicit else 0,
                mentions_received=rng.randint(0, 2) if explicit else 0,
                inferred_received=rng.randint(0, 6),
                reactions_received=rng.randint(0, 4),
                others_drawn=rng.randint(0, 3),
                responders=rng.randint(0, 6),
            )
            for member in members
        ]
        pagerank = {m: rng.choice([0.1, 0.2, 1 / 3, 0.05]) for m in members if rng.random() < 0.8}
        drawn = None
        if trial % 3 == 2:
            drawn = {m: rng.choice([0.0, 0.5, 1.25, 2 / 3, 7.1]) for m in members[::2]}
        want = _rank_rows(rows, pagerank, drawn)
        got = kols.rank_group(rows, pagerank, drawn)
        assert [r["member"] for r in got] == [r["member"] for r in want]
        for g, w in zip(got, want, strict=True):
            assert {k: g[k] for k in w} == w


def test_ranking_of_several_groups(monkeypatch: Any) -> None:
    """ranking() on tables: two groups, one estimated (no reply ids) and one with
    replies, and the community ("*") summing what each group's rule gives; PageRank
    looked up per group. Against the row rule fed dicts, as ranking() built them."""
    import random

    rng = random.Random(9)
    members = [f"whatsapp:{i}" for i in range(40)]
    rows: list[dict[str, Any]] = []
    for group in ("*", "g1", "g2"):
        for member in rng.sample(members, 30):
            row = signal(member, rng.choice([0, 3, 5, 8]), rng.randint(0, 3) * (group == "g2"))
            row.update(group=group, inferred_received=rng.randint(0, 5))
            row.update(reactions_received=rng.randint(0, 2), responders=rng.randint(0, 5))
            rows.append(row)
    estimated = {"g1": {m: rng.choice([0.0, 1.5, 2.25]) for m in members[::3]}}
    whole: dict[str, float] = {}
    for r in rows:
        if r["group"] == "g1":
            continue
        if r["group"] == "g2":
            value = kols.draw(r, True)
            whole[r["member"]] = whole.get(r["member"], 0.0) + value
    for member, value in estimated["g1"].items():
        whole[member] = value + whole.get(member, 0.0)
    centrality = [
        {"group": g, "member": m, "pagerank": rng.random()} for g in ("*", "g1") for m in members
    ]
    monkeypatch.setattr(kols, "drawn_by_group", lambda ctx: estimated)
    got = kols.ranking(
        None,  # type: ignore[arg-type]
        {
            "roles.signals": pa.Table.from_pylist(rows),
            "graph.centrality": pa.Table.from_pylist(centrality),
        },
    ).to_pylist()
    drawn = {"g1": estimated["g1"], "*": whole}
    for group in ("*", "g1", "g2"):
        pagerank = {c["member"]: c["pagerank"] for c in centrality if c["group"] == group}
        group_rows = [r for r in rows if r["group"] == group]
        want = _rank_rows(group_rows, pagerank, drawn.get(group))
        mine = [r for r in got if r["group"] == group]
        assert [r["member"] for r in mine] == [r["member"] for r in want]
        for g, w in zip(mine, want, strict=True):
            assert {k: g[k] for k in w} == w
