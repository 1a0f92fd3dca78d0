"""Topic terms: the tokenizer by hand, the sample and the weekly terms against the truth."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shequn.analytics.context import Context, build_context
from shequn.analytics.metrics.topics import (
    EMERGING_MIN_COUNT,
    SAMPLE_SIZE,
    TOP_TERMS,
    stop_words,
    terms,
)
from shequn.analytics.runner import run_metrics
from shequn.analytics.source import Log
from shequn.events import EVENT_SCHEMA, natural_key

TOPICS = ("topics.sample", "topics.terms", "topics.emerging")


# ----------------------------------------------------------------- the tokenizer by hand
def test_noise_is_removed() -> None:
    text = (
        "@Maria Lopez Reminder: the night run is tomorrow at 8pm 🏃‍♀️🇩🇪 — slides at "
        "https://docs.example.org/s/3f9a and www.example.net/faq, 2024 #42 @bob Night-Run!"
    )
    assert terms(text, ["Maria Lopez"]) == [
        "reminder",
        "night",
        "run",
        "tomorrow",
        "slides",
        "night-run",
    ]


def test_stop_words_and_short_words_are_dropped() -> None:
    assert terms("I'd like to help with the beta test, it's a good idea ok?") == [
        "help",
        "beta",
        "test",
        "good",
        "idea",
    ]
    assert terms("Saturday's meetup") == ["saturday", "meetup"]
    assert terms("x y z 👍 😂😂😂 +1") == []


def test_chinese_is_segmented_with_jieba() -> None:
    assert terms("@张三\u2005我们明天一起去北京参加社区活动，今天的分享很有收获，谢谢大家") == [
        "明天",
        "一起",
        "北京",
        "参加",
        "社区活动",
        "今天",
        "分享",
        "收获",
    ]
    assert terms("周末有空的一起来参加线下活动吧 ok好的 workshop") == [
        "周末",
        "有空",
        "起来",  # jieba's dictionary cuts 一起来 as 一 / 起来
        "参加",
        "线下",
        "活动",
        "workshop",
    ]


def test_both_stop_word_lists_are_loaded() -> None:
    words = stop_words()
    assert {"the", "because", "we'll", "我们", "因为", "什么", "ok"} <= words
    assert not {"meetup", "活动"} & words
    assert all(w == w.strip() and not w.startswith("#") for w in words)


def test_jieba_prints_nothing(tmp_path: Path) -> None:
    """A cold start (no cache in the temp dir) writes nothing to stderr or stdout."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shequn.analytics.metrics.topics import terms; terms('社区活动')",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert (done.stdout, done.stderr) == ("", "")
    assert (tmp_path / "jieba.cache").exists()


# ----------------------------------------------------------------- against the truth
def _local_week(ts: datetime, zone: ZoneInfo) -> datetime:
    local = ts.replace(tzinfo=UTC).astimezone(zone).date()
    monday = local - timedelta(days=local.weekday())
    return datetime(monday.year, monday.month, monday.day)


@pytest.fixture(scope="module")
def on_community(duckdb_context: Context) -> dict[str, pa.Table]:
    return run_metrics(duckdb_context, TOPICS)


def test_sample_holds_the_truth_texts(community: Any, on_community: dict[str, pa.Table]) -> None:
    truth = [
        e
        for e in pq.read_table(community.events_path).to_pylist()
        if e["kind"] == "message_posted" and e["text"] is not None and not e["is_bot"]
    ]
    assert len(truth) < SAMPLE_SIZE  # the whole log fits: every text is in the sample
    sample = on_community["topics.sample"].to_pylist()
    assert Counter(r["text"] for r in sample) == Counter(e["text"] for e in truth)
    zone = ZoneInfo(community.truth["timezone"])
    assert Counter(r["week"] for r in sample) == Counter(
        _local_week(e["ts_utc"], zone) for e in truth
    )


def test_terms_are_the_truth(community: Any, on_community: dict[str, pa.Table]) -> None:
    """Top terms per week recomputed from truth_events.parquet by plain counting."""
    zone = ZoneInfo(community.truth["timezone"])
    events = pq.read_table(community.events_path).to_pylist()
    names = {e["member_name"] for e in events if e["kind"] == "message_posted" and e["member_name"]}
    names |= {m for e in events if e["kind"] == "message_posted" for m in e["mentions"] or ()}
    docs: dict[datetime, Counter[str]] = defaultdict(Counter)
    messages: Counter[datetime] = Counter()
    for e in events:
        if e["kind"] != "message_posted" or e["text"] is None:
            continue
        week = _local_week(e["ts_utc"], zone)
        messages[week] += 1
        docs[week].update(set(terms(e["text"], names)))
    expected = []
    for week in sorted(docs):
        ranked = sorted(docs[week].items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TERMS]
        for rank, (term, n) in enumerate(ranked, 1):
            expected.append((week, rank, term, n, n / messages[week]))
    got = [
        (r["week"], r["rank"], r["term"], r["count"], r["share"])
        for r in on_community["topics.terms"].to_pylist()
        if r["group"] == "*"
    ]
    assert got == expected
    assert any("\u4e00" <= r[2][0] <= "\u9fff" for r in got)  # Chinese terms are there


# ----------------------------------------------------------------- a hand-made log
def _event(when: datetime, text: str, n: int) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(EVENT_SCHEMA.names)
    row.update(
        key=natural_key("t", when.isoformat(), n),
        schema_version=2,
        kind="message_posted",
        platform="slack",
        community="c",
        group_id="general",
        ts=when,
        member_id=f"u{n % 3}",
        member_name=f"User {n % 3}",
        text=text,
        is_bot=False,
        import_id=1,
    )
    return row


def _context(rows: list[dict[str, Any]]) -> Context:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    tables = {
        "events": pa.Table.from_pylist(rows, schema=EVENT_SCHEMA),
        "identity_links": pa.table(
            {"platform": ["-"], "identity": ["-"], "member_key": ["-"], "import_id": [0]}
        ),
        "groups": pa.table(
            {
                "community": ["c"],
                "platform": ["slack"],
                "group_id": ["general"],
                "name": ["general"],
                "timezone": ["UTC"],
            }
        ),
    }
    for name, table in tables.items():
        con.register(f"{name}_arrow", table)
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM "{name}_arrow"')
    backend = ibis.duckdb.from_connection(con)
    return build_context(
        Log(
            backend,
            backend.table("events"),
            backend.table("identity_links"),
            backend.table("groups"),
            "duckdb",
        )
    )


MONDAY = datetime(2024, 1, 1, 9)


def _weeks() -> list[dict[str, Any]]:
    """Four weeks of "meetup schedule" (plus one "prize"), then a week about a hackathon."""
    rows = []
    n = 0
    for week in range(4):
        for i in range(10):
            text = "meetup schedule" if (week, i) != (1, 0) else "meetup prize"
            rows.append(_event(MONDAY + timedelta(weeks=week, hours=i), text, n))
            n += 1
    fifth = ["hackathon prize"] * 5 + ["meetup"] * 3 + ["schedule"] * 2 + ["robots"] * 2
    for i, text in enumerate(fifth):
        rows.append(_event(MONDAY + timedelta(weeks=4, hours=i), text, n))
        n += 1
    return rows


def test_small_log_terms_and_emerging() -> None:
    results = run_metrics(_context(_weeks()), TOPICS)
    fifth = MONDAY.replace(hour=0) + timedelta(weeks=4)
    top = [
        (r["term"], r["count"], r["share"])
        for r in results["topics.terms"].to_pylist()
        if r["group"] == "slack/general" and r["week"] == fifth
    ]
    assert top == [
        ("hackathon", 5, 5 / 12),
        ("prize", 5, 5 / 12),
        ("meetup", 3, 3 / 12),
        ("robots", 2, 2 / 12),
        ("schedule", 2, 2 / 12),
    ]
    emerging = [
        (r["rank"], r["term"], r["count"], r["previous_share"], r["rise"])
        for r in results["topics.emerging"].to_pylist()
        if r["group"] == "slack/general" and r["week"] == fifth
    ]
    # robots rose too, but is in fewer than EMERGING_MIN_COUNT messages
    assert EMERGING_MIN_COUNT == 3
    assert emerging == [
        (1, "hackathon", 5, 0.0, pytest.approx(5 / 12)),
        (2, "prize", 5, 1 / 40, pytest.approx(5 / 12 - 1 / 40)),
    ]
    weeks_with_emerging = {
        r["week"] for r in results["topics.emerging"].to_pylist() if r["group"] == "slack/general"
    }
    # week 1 has nothing before it; week 2's "prize" is in one message only
    assert MONDAY.replace(hour=0) not in weeks_with_emerging


def test_sample_keeps_the_latest_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    import shequn.analytics.metrics.topics as topics

    monkeypatch.setattr(topics, "SAMPLE_SIZE", 7)
    rows = _weeks()
    sample = run_metrics(_context(rows), ["topics.sample"])["topics.sample"].to_pylist()
    latest = sorted(rows, key=lambda r: (r["ts"], r["key"]))[-7:]
    assert [r["key"] for r in sample] == [r["key"] for r in latest]


def test_sample_from_recent_days_is_the_sample_from_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sample is ranked only from the days its latest messages begin on: the same
    rows as ranking every message, with several groups, busy days and equal times."""
    import shequn.analytics.metrics.topics as topics

    rows = _busy_days()
    for size in (1, 5, 9, 10, 11, 23, 60):
        monkeypatch.setattr(topics, "SAMPLE_SIZE", size)
        sample = run_metrics(_context(rows), ["topics.sample"])["topics.sample"].to_pylist()
        expected = []
        for group in sorted({r["group_id"] for r in rows}):
            mine = [r for r in rows if r["group_id"] == group and r["text"] and not r["is_bot"]]
            expected += sorted(mine, key=lambda r: (r["ts"], r["key"]))[-size:]
        assert sorted((r["ts"], r["key"]) for r in sample) == sorted(
            (r["ts"], r["key"]) for r in expected
        ), size


def _busy_days() -> list[dict[str, Any]]:
    """Two groups over six days, some days busy, some minutes holding several messages
    (equal times: the key breaks the tie), and bots and empty texts left out."""
    rows = []
    n = 0
    for group, per_day in (("general", (3, 0, 7, 1, 12, 4)), ("random", (9, 2, 0, 5, 1, 6))):
        for day, count in enumerate(per_day):
            for i in range(count):
                row = _event(MONDAY + timedelta(days=day, minutes=10 * (i // 2)), "talk", n)
                row["group_id"] = group
                rows.append(row)
                n += 1
    rows[3]["is_bot"] = True
    rows[8]["text"] = None
    return rows
