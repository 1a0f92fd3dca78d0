"""hours.heatmap, hours.weekly and hours.windows: against a plain-Python reference over a
small log on two clocks (Berlin across the switch to summer time, and UTC), the window
search against brute force over every set of hours, and the windows against the
simulator's true peak hours — on the shared community and on one of 5,000 members.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from test_retention_metrics import Row, local, monday, small_context

from shequn.analytics.context import Context, Settings, build_context
from shequn.analytics.metrics.hours import best_windows
from shequn.analytics.runner import run_metrics
from shequn.analytics.source import duckdb_log
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import open_store

ZONES = {"whatsapp/berlin": "Europe/Berlin", "slack/utc": "UTC"}
START = datetime(2024, 2, 26)  # a Monday; Berlin springs forward on 31 March


def posts(seed: int) -> list[Row]:
    """Posts weighted towards 9 h and 19–20 h local, over ten weeks; some by a bot."""
    rnd = random.Random(seed)
    rows: list[Row] = []
    for group in ZONES:
        for _ in range(1500):
            ts = START + timedelta(seconds=rnd.randrange(70 * 86400))
            rows.append({"kind": "message_posted", "group": group, "ts": ts, "member": "a"})
            if rnd.random() < 0.3:
                day = ts.replace(hour=rnd.choice([8, 18, 19]), minute=rnd.randrange(60))
                rows.append({"kind": "message_posted", "group": group, "ts": day, "member": "b"})
        for d in range(70):  # the bot posts at 05:00 UTC every day; not counted
            ts = START + timedelta(days=d, hours=5)
            rows.append(
                {
                    "kind": "message_posted",
                    "group": group,
                    "ts": ts,
                    "member": "bot",
                    "is_bot": True,
                }
            )
        rows.append({"kind": "member_joined", "group": group, "ts": START, "member": "c"})
    return rows


@pytest.fixture(scope="module")
def small() -> tuple[Context, list[Row], dict[str, pa.Table]]:
    rows = posts(5)
    ctx = small_context(rows, ZONES)
    return ctx, rows, run_metrics(ctx, ["hours.heatmap", "hours.weekly", "hours.windows"])


def reference_cells(rows: list[Row]) -> dict[str, Counter[tuple[int, int]]]:
    cells: dict[str, Counter[tuple[int, int]]] = {g: Counter() for g in [*ZONES, "*"]}
    for r in rows:
        if r["kind"] != "message_posted" or r.get("is_bot"):
            continue
        t = local(r["ts"], ZONES[r["group"]])
        for g in (r["group"], "*"):
            cells[g][(t.weekday(), t.hour)] += 1
    return cells


def test_heatmap_matches_the_reference(
    small: tuple[Context, list[Row], dict[str, pa.Table]],
) -> None:
    _, rows, results = small
    expected = reference_cells(rows)
    got = results["hours.heatmap"].to_pylist()
    assert len(got) == 3 * 7 * 24  # every cell, empty ones too
    for r in got:
        want = expected[r["group"]][(r["weekday"], r["hour"])]
        assert r["messages"] == want, r
        assert r["share"] == pytest.approx(want / sum(expected[r["group"]].values()))
    busiest = max((r for r in got if r["group"] == "whatsapp/berlin"), key=lambda r: r["messages"])
    # b's extra posts are at 18–19 h UTC, i.e. 19–21 h on Berlin's clock (DST included)
    assert busiest["hour"] in (19, 20, 21)


def test_weekly_matches_the_reference(
    small: tuple[Context, list[Row], dict[str, pa.Table]],
) -> None:
    _, rows, results = small
    expected: Counter[tuple[str, datetime, int]] = Counter()
    for r in rows:
        if r["kind"] == "message_posted" and not r.get("is_bot"):
            t = local(r["ts"], ZONES[r["group"]])
            for g in (r["group"], "*"):
                expected[(g, monday(t), t.hour)] += 1
    got = {
        (r["group"], r["week"], r["hour"]): r["messages"]
        for r in results["hours.weekly"].to_pylist()
    }
    assert got == dict(expected)


# -- the window search -------------------------------------------------------------------


def circular_runs(hours: set[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive hours round the clock, as (start, length), by start."""
    if len(hours) == 24:
        return [(0, 24)]
    runs = []
    for h in sorted(hours):
        if (h - 1) % 24 in hours:
            continue
        n = 1
        while (h + n) % 24 in hours:
            n += 1
        runs.append((h, n))
    return sorted(runs)


def brute_force(counts: list[int], budget: int) -> tuple[int, list[tuple[int, int]]]:
    best: tuple[int, list[tuple[int, int]]] | None = None
    for chosen in itertools.combinations(range(24), budget):
        runs = circular_runs(set(chosen))
        if len(runs) > 2:
            continue
        total = sum(counts[h] for h in chosen)
        if best is None or total > best[0] or (total == best[0] and tie(runs) < tie(best[1])):
            best = (total, runs)
    assert best is not None
    return best


def tie(runs: list[tuple[int, int]]) -> tuple[int, list[int], list[int]]:
    """Fewer windows first, then the earliest starts, then the shorter first window."""
    return (len(runs), [s for s, _ in runs], [n for _, n in runs])


@pytest.mark.parametrize("budget", [1, 2, 3, 4, 5])
def test_windows_are_the_best_of_every_set_of_hours(budget: int) -> None:
    rnd = random.Random(budget)
    for trial in range(12 if budget < 5 else 3):
        # small counts make ties common, so the tie rule is exercised too
        counts = [rnd.randrange(4 if trial % 2 else 40) for _ in range(24)]
        chosen = best_windows(counts, budget)
        total, runs = brute_force(counts, budget)
        assert sum(counts[h] for h in chosen.hours) == total, counts
        assert list(chosen.runs) == runs, counts


def test_windows_round_midnight_and_ties() -> None:
    counts = [0] * 24
    counts[23], counts[0], counts[1], counts[2] = 5, 9, 7, 3
    w = best_windows(counts, 4)
    assert w.runs == ((23, 4),) and w.hours == [0, 1, 2, 23]
    assert w.label() == "23:00–03:00"
    assert best_windows([1] * 24, 4).runs == ((0, 4),)  # all equal: the earliest start
    two = [0] * 24
    two[12], two[13], two[20], two[21] = 8, 8, 9, 9
    assert best_windows(two, 4).runs == ((12, 2), (20, 2))
    assert best_windows(two, 4).label() == "12:00–14:00, 20:00–22:00"
    assert best_windows([0] * 24, 4).runs == ((0, 4),)
    assert best_windows(two, 24).hours == list(range(24))


def test_windows_and_their_stability(small: tuple[Context, list[Row], dict[str, pa.Table]]) -> None:
    ctx, rows, results = small
    cells = reference_cells(rows)
    weekly = results["hours.weekly"].to_pylist()
    for row in results["hours.windows"].to_pylist():
        group = row["group"]
        daily = [sum(cells[group][(d, h)] for d in range(7)) for h in range(24)]
        total, runs = brute_force(daily, ctx.settings.window_hours)
        hours = sorted({(s + i) % 24 for s, n in runs for i in range(n)})
        assert row["hours"] == hours
        assert row["share"] == pytest.approx(total / sum(daily))
        assert row["messages"] == sum(daily)
        assert (row["window1_start"], row["window1_hours"]) == runs[0]
        # the last 8 complete local weeks: the period ends inside week 10, so weeks 2 … 9
        ends = [local(ctx.end, z) for z in ZONES.values()]
        end = ends[list(ZONES).index(group)] if group != "*" else min(ends)
        last = monday(end) - timedelta(days=7)
        weeks = [last - timedelta(days=7 * i) for i in range(8)]
        per_week = []
        for week in weeks:
            c = [0] * 24
            for w in weekly:
                if w["group"] == group and w["week"] == week:
                    c[w["hour"]] += w["messages"]
            per_week.append(c)
        shares = [sum(c[h] for h in hours) / sum(c) for c in per_week]
        assert row["stability_weeks"] == 8
        assert row["mean_weekly_share"] == pytest.approx(sum(shares) / 8)
        assert row["min_weekly_share"] == pytest.approx(min(shares))
        own = [brute_force(c, 4)[1] for c in per_week]
        overlapping = sum(
            bool({(s + i) % 24 for s, n in r for i in range(n)} & set(hours)) for r in own
        )
        assert row["weeks_overlapping"] == overlapping


def test_window_hours_is_a_setting() -> None:
    ctx = small_context(posts(5), ZONES, settings=Settings(window_hours=2, stability_weeks=3))
    rows = run_metrics(ctx, ["hours.windows"])["hours.windows"].to_pylist()
    assert all(len(r["hours"]) == 2 and r["stability_weeks"] == 3 for r in rows)


# -- against the simulator's truth ---------------------------------------------------------


def top_hours(truth: dict[str, Any], n: int = 3) -> set[int]:
    weights = truth["activity"]["hour_weights"]
    return set(sorted(range(24), key=lambda h: (-weights[h], h))[:n])


def test_windows_hold_the_true_peak_hours(community: Any, duckdb_context: Context) -> None:
    top3 = top_hours(community.truth)
    assert top3 <= set(community.truth["activity"]["peak_hours_local"])
    rows = run_metrics(duckdb_context, ["hours.windows"])["hours.windows"].to_pylist()
    assert len(rows) == 2
    for row in rows:
        assert top3 <= set(row["hours"]), row
        assert row["share"] > 4 / 24 * 1.5  # far above four hours' even share


@pytest.mark.slow
def test_windows_hold_the_true_peak_hours_at_5000_members(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.perf_counter()
    summary = simulate_export(
        members=5000,
        messages=60_000,
        days=90,
        seed=5,
        out=tmp_path / "sim",
        timezone="Asia/Shanghai",
    )
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    with open_store(tmp_path / "store.duckdb") as store:
        run_import(
            store,
            summary.export_path,
            ImportSettings(
                community="big", timezone=truth["timezone"], me=truth["exporter"]["name"]
            ),
        )
    prepared = time.perf_counter()
    ctx = build_context(duckdb_log(tmp_path / "store.duckdb"))
    rows = run_metrics(ctx, ["hours.windows"])["hours.windows"].to_pylist()
    computed = time.perf_counter()
    row = next(r for r in rows if r["group"] != "*")
    top3 = top_hours(truth)
    with capsys.disabled():
        print(
            f"\n[hours.windows at 5,000 members / {row['messages']:,} messages / 90 days] "
            f"windows {row['windows']} hold {row['share']:.1%} of messages; true top-3 hours "
            f"{sorted(top3)} inside: {top3 <= set(row['hours'])}; last {row['stability_weeks']} "
            f"weeks: mean {row['mean_weekly_share']:.1%}, min {row['min_weekly_share']:.1%}, "
            f"own best windows overlapping in {row['weeks_overlapping']}; "
            f"simulate+import {prepared - started:.1f} s, metrics {computed - prepared:.1f} s"
        )
    assert top3 <= set(row["hours"])
    assert row["weeks_overlapping"] == row["stability_weeks"] == 8
