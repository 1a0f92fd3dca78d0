"""The health score: its inputs against the simulator's truth, its formula by hand."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shequn.analytics.context import Context
from shequn.analytics.metrics.health import WEIGHTS, response_score, weekly
from shequn.analytics.runner import run_metrics
from shequn.analytics.source import arrow


def _local_week(ts: datetime, zone: ZoneInfo) -> datetime:
    local = ts.replace(tzinfo=UTC).astimezone(zone).date()
    monday = local - timedelta(days=local.weekday())
    return datetime(monday.year, monday.month, monday.day)


@pytest.fixture(scope="module")
def components(duckdb_context: Context) -> list[dict[str, Any]]:
    table = run_metrics(duckdb_context, ["health.components"])["health.components"]
    return table.to_pylist()


def test_components_are_the_truth(
    community: Any, duckdb_context: Context, components: list[dict[str, Any]]
) -> None:
    """Messages, posters, month-over-month retention and the top 10 % share, recomputed
    from truth_events.parquet with plain Python."""
    zone = ZoneInfo(community.truth["timezone"])
    links = {r["identity"]: r["member_key"] for r in arrow(duckdb_context.log.links).to_pylist()}
    per: dict[datetime, Counter[str]] = defaultdict(Counter)
    for e in pq.read_table(community.events_path).to_pylist():
        if e["kind"] == "message_posted":
            member = links.get(e["member"], "whatsapp:" + e["member"])
            per[_local_week(e["ts_utc"], zone)][member] += 1
    (group,) = duckdb_context.timezones
    rows = [r for r in components if r["group"] == group]
    assert [r for r in components if r["group"] == "*"] == [{**r, "group": "*"} for r in rows]
    weeks = [r["week"] for r in rows]
    assert weeks == [weeks[0] + timedelta(weeks=i) for i in range(len(weeks))]
    assert set(per) <= set(weeks)

    def posters(first: datetime, last: datetime) -> set[str]:
        return {m for w, c in per.items() if first <= w <= last for m in c}

    for r in rows:
        w = r["week"]
        counts = per.get(w, Counter())
        assert r["messages"] == sum(counts.values())
        assert r["active_members"] == len(counts)
        before = posters(w - timedelta(weeks=7), w - timedelta(weeks=4))
        recent = posters(w - timedelta(weeks=3), w)
        assert r["previous_month_active"] == len(before)
        assert r["still_active"] == len(before & recent)
        if counts:
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            top = ranked[: math.ceil(len(ranked) / 10)]
            assert r["top10_share"] == pytest.approx(
                sum(n for _, n in top) / sum(counts.values()), rel=1e-12
            )
        else:
            assert r["top10_share"] is None


# ----------------------------------------------------------------- the formula by hand
W = [datetime(2024, 1, 1) + timedelta(weeks=i) for i in range(6)]


def _components(rows: list[tuple[int, int, int, int, float | None]]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "group": "g",
                "week": W[i],
                "messages": m,
                "active_members": a,
                "previous_month_active": p,
                "still_active": s,
                "top10_share": t,
            }
            for i, (m, a, p, s, t) in enumerate(rows)
        ]
    )


RESPONSE_STUB = pa.table(
    {
        "group": ["g", "g"],
        "week": [W[4], W[5]],
        "questions": [4, 0],
        "answered": [3, 0],
        "unanswered": [1, 0],
        "median_response_seconds": [300.0, None],
    }
)
LURKERS_STUB = pa.table(
    {
        "group": ["g", "*"],
        "members_known": [10, 10],
        "lurkers": [7, 7],
        "lurker_share": [0.7, 0.7],
        "countable": [True, True],
    }
)


def _score(results: dict[str, pa.Table]) -> dict[datetime, dict[str, Any]]:
    out = weekly(None, results)  # type: ignore[arg-type]
    return {r["week"]: r for r in out.to_pylist()}


def test_score_is_the_weighted_mean_of_the_components() -> None:
    comp = _components(
        [
            (10, 2, 0, 0, 0.5),
            (10, 2, 0, 0, 0.5),
            (10, 2, 0, 0, 0.5),
            (10, 2, 0, 0, 0.5),
            (5, 2, 4, 3, 0.75),
            (0, 0, 4, 1, None),
        ]
    )
    rows = _score(
        {
            "health.components": comp,
            "conversation.response": RESPONSE_STUB,
            "lurkers.summary": LURKERS_STUB,
        }
    )
    r = rows[W[4]]
    # trend: messages at half the 4-week average, posters level: (0.5 + 1) / 2
    assert r["trend"] == pytest.approx(75.0)
    assert r["retention"] == pytest.approx(75.0)  # 3 of 4
    assert r["response"] == pytest.approx(75.0)  # 3 of 4 answered, median 5 min: full speed
    assert r["concentration"] == pytest.approx(50.0)  # top 10 % wrote 75 %
    assert r["lurkers"] == pytest.approx(60.0)  # 70 % lurk
    expected = (0.25 * 75 + 0.25 * 75 + 0.20 * 75 + 0.15 * 50 + 0.15 * 60) / sum(WEIGHTS.values())
    assert r["score"] == pytest.approx(expected)
    assert r["components"] == 5
    assert [r[f"{k}_weight"] for k in WEIGHTS] == pytest.approx(list(WEIGHTS.values()))

    first = rows[W[0]]  # no earlier weeks, no retention base, no questions: reweighted
    assert first["trend"] is None and first["retention"] is None and first["response"] is None
    assert first["components"] == 2
    assert first["score"] == pytest.approx((0.15 * 100 + 0.15 * 60) / 0.30)
    assert first["concentration_weight"] == pytest.approx(0.5)
    assert first["trend_weight"] == 0.0

    quiet = rows[W[5]]  # no messages: trend 0; a week without questions has no response
    assert quiet["trend"] == 0.0
    assert quiet["response"] is None and quiet["concentration"] is None
    assert quiet["retention"] == pytest.approx(25.0)


def test_uncountable_lurkers_are_left_out() -> None:
    lurkers = LURKERS_STUB.set_column(4, "countable", pa.array([False, False])).set_column(
        3, "lurker_share", pa.array([None, None], pa.float64())
    )
    rows = _score(
        {
            "health.components": _components([(10, 2, 0, 0, 0.5)]),
            "conversation.response": RESPONSE_STUB.slice(0, 0),
            "lurkers.summary": lurkers,
        }
    )
    (r,) = rows.values()
    assert r["lurkers"] is None and r["lurkers_weight"] == 0.0
    assert r["score"] == 100.0 and r["concentration_weight"] == 1.0


def test_weekly_lurker_tables_are_joined_by_week() -> None:
    lurkers = pa.table(
        {
            "group": ["g", "g"],
            "week": [W[0], W[1]],
            "members_known": [10, 10],
            "lurkers": [5, 10],
            "lurker_share": [0.5, 1.0],
            "countable": [True, True],
        }
    )
    rows = _score(
        {
            "health.components": _components([(10, 2, 0, 0, 0.5), (10, 2, 0, 0, 0.5)]),
            "conversation.response": RESPONSE_STUB.slice(0, 0),
            "lurkers.summary": lurkers,
        }
    )
    assert rows[W[0]]["lurkers"] == 100.0 and rows[W[1]]["lurkers"] == 0.0


def test_response_score() -> None:
    assert response_score(0, 0, None) is None
    assert response_score(4, 0, None) == 0.0
    assert response_score(2, 2, 60.0) == 100.0
    assert response_score(2, 2, 86_400.0) == 0.0
    assert response_score(2, 1, None) == 50.0
    middle = math.sqrt(300 * 86_400)  # halfway on the log scale
    assert response_score(1, 1, middle) == pytest.approx(50.0)


def test_health_runs_on_the_registered_inputs(duckdb_context: Context) -> None:
    rows = run_metrics(duckdb_context, ["health.weekly"])["health.weekly"].to_pylist()
    assert rows
    for r in rows:
        used = [k for k in WEIGHTS if r[k] is not None]
        assert r["components"] == len(used)
        assert sum(r[f"{k}_weight"] for k in WEIGHTS) == pytest.approx(1.0 if used else 0.0)
        if used:
            assert 0.0 <= r["score"] <= 100.0
            assert r["score"] == pytest.approx(sum(r[k] * r[f"{k}_weight"] for k in used))
