"""activity.weekly and activity.concentration against a plain-Python recomputation of
the simulator's ground truth (truth_events.parquet: every post, its author and time)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
from test_retention_metrics import LINKS, ZONES, key_of, scenario, small_context
from test_retention_metrics import local as local_time
from test_retention_metrics import monday as retention_monday

from shequn.analytics.context import Context
from shequn.analytics.runner import run_metrics

UTC_ZONE = ZoneInfo("UTC")


def truth_posts(community: Any) -> list[tuple[str, datetime]]:
    """(member, local time) of every post, members merged across number changes."""
    truth = community.truth
    member_of = {identity: m["id"] for m in truth["members"] for identity in m["ids"]}
    zone = ZoneInfo(truth["timezone"])
    rows = pq.read_table(community.events_path, columns=["kind", "member", "ts_utc"])
    posts = []
    for row in rows.to_pylist():
        if row["kind"] == "message_posted":
            local = row["ts_utc"].replace(tzinfo=UTC_ZONE).astimezone(zone).replace(tzinfo=None)
            posts.append((member_of.get(row["member"], row["member"]), local))
    return posts


def monday(moment: datetime) -> date:
    return moment.date() - timedelta(days=moment.weekday())


def expected_weeks(posts: list[tuple[str, datetime]]) -> dict[date, dict[str, float]]:
    messages: Counter[date] = Counter()
    active: dict[date, set[str]] = defaultdict(set)
    days: dict[date, set[tuple[str, date]]] = defaultdict(set)
    first: dict[str, date] = {}
    for member, local in posts:
        week = monday(local)
        messages[week] += 1
        active[week].add(member)
        days[week].add((member, local.date()))
        first[member] = min(first.get(member, week), week)
    out = {}
    for week in sorted(active):
        before = active.get(week - timedelta(days=7), set())
        now = active[week]
        mau = set().union(*(active.get(week - timedelta(days=7 * k), set()) for k in range(4)))
        dau = len(days[week]) / 7
        out[week] = {
            "messages": messages[week],
            "active_members": len(now),
            "new_members": sum(1 for m in now if first[m] == week),
            "returning": len(now & before),
            "reactivated": sum(1 for m in now - before if first[m] < week),
            "churned": len(before - now),
            "dau": dau,
            "mau": len(mau),
            "stickiness": dau / len(mau),
        }
    return out


@pytest.fixture(scope="module")
def results(duckdb_context: Context) -> dict[str, Any]:
    return run_metrics(duckdb_context, ["activity.weekly", "activity.concentration"])


def test_weekly_activity_matches_the_truth(community: Any, results: dict[str, Any]) -> None:
    expected = expected_weeks(truth_posts(community))
    rows = [r for r in results["activity.weekly"].to_pylist() if r["group"] == "*"]
    assert [r["week"].date() for r in rows] == sorted(expected)
    for row in rows:
        want = expected[row["week"].date()]
        for name, value in want.items():
            assert math.isclose(row[name], value, rel_tol=1e-12), (row["week"], name)
        assert row["wau"] == row["active_members"]
    single = [r for r in results["activity.weekly"].to_pylist() if r["group"] != "*"]
    assert [{k: v for k, v in r.items() if k != "group"} for r in single] == [
        {k: v for k, v in r.items() if k != "group"} for r in rows
    ]  # one group: the community is that group


def test_concentration_matches_the_truth(community: Any, results: dict[str, Any]) -> None:
    counts = sorted(Counter(member for member, _ in truth_posts(community)).values())
    n, total = len(counts), sum(counts)
    top = sorted(counts, reverse=True)
    gini = 2 * sum(i * x for i, x in enumerate(counts, start=1)) / (n * total) - (n + 1) / n
    (row,) = [r for r in results["activity.concentration"].to_pylist() if r["group"] == "*"]
    assert (row["posting_members"], row["messages"]) == (n, total)
    assert math.isclose(row["top1_share"], sum(top[: math.ceil(n / 100)]) / total)
    assert math.isclose(row["top10_share"], sum(top[: math.ceil(n / 10)]) / total)
    assert math.isclose(row["gini"], gini, rel_tol=1e-12)
    assert 0.3 < row["gini"] < 1  # heavy-tailed, as the simulator's activity is


WEEK = timedelta(days=7)


def reference_weeks(rows: list[dict[str, Any]]) -> dict[tuple[str, datetime], dict[str, Any]]:
    """activity.weekly's counts per (group, week), ``*`` included, written out plainly."""
    posts: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for r in rows:
        if r["kind"] == "message_posted" and r.get("member") is not None:
            at = local_time(r["ts"], ZONES[r["group"]])
            for group in (r["group"], "*"):
                posts[group].append((key_of(r, LINKS), at))
    out = {}
    for group, mine in posts.items():
        active: dict[datetime, set[str]] = defaultdict(set)
        days: dict[datetime, set[tuple[str, datetime]]] = defaultdict(set)
        messages: Counter[datetime] = Counter()
        for member, at in mine:
            week = retention_monday(at)
            active[week].add(member)
            days[week].add((member, at.replace(hour=0, minute=0, second=0, microsecond=0)))
            messages[week] += 1
        for week in active:
            before = active.get(week - WEEK, set())
            earlier = {m for w in active if w < week for m in active[w]}
            now = active[week]
            out[(group, week)] = {
                "messages": messages[week],
                "active_members": len(now),
                "new_members": len(now - earlier),
                "returning": len(now & before),
                "reactivated": len((now & earlier) - before),
                "churned": len(before - now),
                "dau": len(days[week]) / 7,
                "mau": len(
                    set().union(
                        *(active.get(week - timedelta(days=7 * k), set()) for k in range(4))
                    )
                ),
            }
    return out


@pytest.mark.parametrize("seed", [3, 11])
def test_weekly_in_two_groups_on_two_clocks(seed: int) -> None:
    """Two groups on two clocks, a member in both under linked identities, a post without
    a member: every week's counts, ``*`` counting a member (and a day) once."""
    rows = scenario(seed)
    rows.append({"kind": "message_posted", "group": "slack/two", "ts": datetime(2024, 4, 2)})
    ctx = small_context(rows, ZONES, LINKS)
    got = run_metrics(ctx, ["activity.weekly"])["activity.weekly"].to_pylist()
    expected = reference_weeks(rows)
    assert {(r["group"], r["week"]) for r in got} == set(expected)
    for r in got:
        e = expected[(r["group"], r["week"])]
        for name, value in e.items():
            assert r[name] == pytest.approx(value, rel=1e-12), (r["group"], r["week"], name)
    assert any(e["churned"] and e["reactivated"] for e in expected.values())
