"""Conversation metrics: a hand-made log checked against plain Python, and the simulator.

The tiny log has a Discord-like group with reply ids (one reply given by the target's
key, one member linked to a person key, a mention by identity) and a WhatsApp-like group
without reply ids (turn taking inside the 5-minute window).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shequn.analytics.context import Context, Scope, build_context
from shequn.analytics.metrics.conversation import (
    INFERRED_WEIGHT,
    INFERRED_WINDOW_MINUTES,
    message_links,
    people_messages,
    thread_table,
    turn_taking,
)
from shequn.analytics.runner import load_metrics, run_metrics
from shequn.analytics.source import Coded, duckdb_log, parquet_log
from shequn.events import EVENT_SCHEMA
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.store import open_store

T0 = datetime(2024, 1, 1, 10, 0)  # a Monday
LINKS = {("discord", "c"): "person:carol"}

# (group platform, group id, key, platform_id, author, minutes, text, reply_to, mentions)
MESSAGES: list[tuple[str, str, str, str | None, str, float, str, str | None, list[str]]] = [
    ("discord", "g1", "k1", "p1", "a", 0, "How do I join", None, []),
    ("discord", "g1", "k2", "p2", "b", 2, "Use the link", "p1", []),
    ("discord", "g1", "k3", "p3", "c", 3, "thanks", "p2", []),
    ("discord", "g1", "k4", "p4", "a", 10, "great @b", "p3", ["b"]),
    ("discord", "g1", "k5", "p5", "d", 20, "活动什么时候开始", None, []),
    ("discord", "g1", "k9", "p9", "b", 25, "at eight", "k5", []),  # reply by key
    ("discord", "g1", "k6", "p6", "b", 30, "hello @carol", None, ["c"]),
    ("discord", "g1", "k10", "p10", "c", 24 * 60, "why?", None, []),
    ("discord", "g1", "k7", "p7", "c", 2 * 24 * 60, "is it on", "p1", []),
    ("discord", "g1", "k8", "p8", "a", 3 * 24 * 60, "ok", None, []),
    ("discord", "g1", "k11", "p11", "d", 7 * 24 * 60 + 5, "Anyone know the room?", None, []),
    ("discord", "g1", "k12", "p12", "d", 7 * 24 * 60 + 6, "hm", "p11", []),  # own reply
    ("discord", "g1", "k13", "p13", "a", 7 * 24 * 60 + 40, "room 4", "p11", []),
    ("whatsapp", "w1", "w1", None, "A", 0, "where is it?", None, []),
    ("whatsapp", "w1", "w2", None, "A", 1, "anyone?", None, []),
    ("whatsapp", "w1", "w3", None, "B", 3, "here", None, []),
    ("whatsapp", "w1", "w4", None, "B", 4, "and there", None, []),
    ("whatsapp", "w1", "w5", None, "A", 20, "thx", None, ["B"]),
    ("whatsapp", "w1", "w6", None, "C", 22, "hi all", None, []),
    ("whatsapp", "w1", "w8", None, "B", 23, "welcome @C", None, ["C"]),  # inferred + mention
    ("whatsapp", "w1", "w7", None, "C", 7 * 24 * 60 + 30, "is this the right group?", None, []),
]
REACTIONS = [
    ("discord", "g1", "b", "p1"),
    ("discord", "g1", "a", "p1"),
    ("discord", "g1", "c", "p2"),
]


def write_log(folder: Path) -> Path:
    """The messages above (plus reactions and joins) as a Parquet log export."""
    rows: list[dict[str, Any]] = []

    def event(**values: Any) -> None:
        row = dict.fromkeys(EVENT_SCHEMA.names)
        row.update(schema_version=2, community="t", is_bot=False, import_id=1)
        row.update(values)
        rows.append(row)

    for platform, group, key, pid, who, minutes, text, reply, mentions in MESSAGES:
        event(
            key=key, kind="message_posted", platform=platform, group_id=group,
            ts=T0 + timedelta(minutes=minutes), platform_id=pid, member_id=who, text=text,
            reply_to=reply, mentions=mentions or None,
        )  # fmt: skip
    for i, (platform, group, who, target) in enumerate(REACTIONS):
        event(
            key=f"r{i}", kind="reaction_added", platform=platform, group_id=group,
            ts=T0 + timedelta(minutes=1), platform_id=target, member_id=who, reply_to=target,
        )  # fmt: skip
    for platform, group, who in [("discord", "g1", m) for m in "abcde"] + [
        ("whatsapp", "w1", m) for m in "ABCL"
    ]:
        event(
            key=f"j{platform}{who}", kind="member_joined", platform=platform, group_id=group,
            ts=T0 - timedelta(days=1), member_id=who,
        )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=EVENT_SCHEMA), folder / "events.parquet")
    links = [
        {"platform": p, "identity": i, "member_key": k, "import_id": 1}
        for (p, i), k in LINKS.items()
    ]
    pq.write_table(pa.Table.from_pylist(links), folder / "identity_links.parquet")
    groups = [
        {"community": "t", "platform": p, "group_id": g, "name": g, "timezone": "UTC"}
        for p, g in (("discord", "g1"), ("whatsapp", "w1"))
    ]
    pq.write_table(pa.Table.from_pylist(groups), folder / "groups.parquet")
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Context:
    return build_context(parquet_log(write_log(tmp_path_factory.mktemp("tiny"))))


@pytest.fixture(scope="module")
def tiny_results(tiny: Context) -> dict[str, pa.Table]:
    return run_metrics(
        tiny, ["conversation.edges", "conversation.response", "conversation.threads"]
    )


# ---------------------------------------------------------------- plain Python


def member_key(platform: str, identity: str) -> str:
    return LINKS.get((platform, identity), f"{platform}:{identity}")


def plain_messages() -> list[dict[str, Any]]:
    out = []
    for platform, group, key, pid, who, minutes, text, reply, mentions in MESSAGES:
        out.append(
            {
                "group": f"{platform}/{group}", "platform": platform, "key": key, "pid": pid,
                "member": member_key(platform, who), "ts": T0 + timedelta(minutes=minutes),
                "text": text, "reply_to": reply, "mentions": mentions,
            }
        )  # fmt: skip
    return sorted(out, key=lambda m: (m["group"], m["ts"], m["key"]))


def plain_parents() -> dict[str, tuple[str, str, bool]]:
    """key → (parent key, parent member, inferred)."""
    msgs = plain_messages()
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in msgs:
        by_group[m["group"]].append(m)
    out: dict[str, tuple[str, str, bool]] = {}
    for rows in by_group.values():
        explicit = any(m["reply_to"] for m in rows)
        ref = {m["pid"]: m for m in rows if m["pid"]} | {m["key"]: m for m in rows}
        for i, m in enumerate(rows):
            if explicit and m["reply_to"] in ref:
                p = ref[m["reply_to"]]
                out[m["key"]] = (p["key"], p["member"], False)
            elif not explicit and i > 0:
                p = rows[i - 1]
                window = timedelta(minutes=INFERRED_WINDOW_MINUTES)
                if p["member"] != m["member"] and m["ts"] <= p["ts"] + window:
                    out[m["key"]] = (p["key"], p["member"], True)
    return out


def plain_edges() -> dict[tuple[str, str, str, str], tuple[float, int]]:
    parents = plain_parents()
    found: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for m in plain_messages():
        parent = parents.get(m["key"])
        if parent and parent[1] != m["member"]:
            kind = "inferred" if parent[2] else "reply"
            found[(m["group"], m["member"], parent[1], kind)].append(
                INFERRED_WEIGHT if parent[2] else 1.0
            )
        for identity in set(m["mentions"]):
            target = member_key(m["platform"], identity)
            # a mention of the member the message *explicitly* replies to is the reply
            # edge; one of an inferred parent is the evidence and counts
            if target != m["member"] and not (parent and not parent[2] and parent[1] == target):
                found[(m["group"], m["member"], target, "mention")].append(1.0)
    for (_group, s, t, kind), weights in list(found.items()):
        found[("*", s, t, kind)] += weights
    return {k: (sum(w), len(w)) for k, w in found.items()}


def is_plain_question(text: str) -> bool:
    low = text.lower().strip()
    return (
        low.endswith(("?", "？"))
        or low.split(" ")[0] in ("what", "why", "how", "when", "where", "which", "who")
        or "anyone know" in low
        or any(w in text for w in ("什么", "吗", "怎么"))
    )


def plain_response(answer_hours: int, end: datetime) -> dict[tuple[str, datetime], dict[str, Any]]:
    msgs = plain_messages()
    parents = plain_parents()
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in msgs:
        by_group[m["group"]].append(m)
    weeks: dict[tuple[str, datetime], dict[str, Any]] = {}
    for group, rows in by_group.items():
        explicit = any(m["reply_to"] for m in rows)
        for i, q in enumerate(rows):
            if not is_plain_question(q["text"]):
                continue
            first = None
            if explicit:
                answers = [
                    m["ts"] for m in rows
                    if parents.get(m["key"], ("",))[0] == q["key"]
                    and m["member"] != q["member"] and m["ts"] >= q["ts"]
                ]  # fmt: skip
                first = min(answers) if answers else None
            else:  # the next member's turn, if it starts within the window
                for m in rows[i + 1 :]:
                    if m["member"] != q["member"]:
                        if m["key"] in parents:
                            first = m["ts"]
                        break
            week = datetime.combine(q["ts"].date() - timedelta(days=q["ts"].weekday()), T0.time())
            week = week.replace(hour=0)
            limit = timedelta(hours=answer_hours)
            answered = first is not None and first <= q["ts"] + limit
            pending = not answered and q["ts"] + limit > end
            for g in (group, "*"):
                w = weeks.setdefault((g, week), {"questions": 0, "answered": 0, "pending": 0,
                                                  "seconds": []})  # fmt: skip
                w["questions"] += 1
                w["answered"] += answered
                w["pending"] += pending
                if answered and first is not None:
                    w["seconds"].append((first - q["ts"]).total_seconds())
    return weeks


# ---------------------------------------------------------------- tests


def test_edges_match_plain_python(tiny_results: dict[str, pa.Table]) -> None:
    ours = {
        (r["group"], r["source"], r["target"], r["kind"]): (r["weight"], r["interactions"])
        for r in tiny_results["conversation.edges"].to_pylist()
    }
    assert ours == plain_edges()
    # the cases the log was made for
    assert ours[("discord/g1", "discord:b", "discord:d", "reply")] == (1.0, 1)  # by key
    assert ours[("discord/g1", "discord:b", "person:carol", "mention")] == (1.0, 1)  # linked
    assert ("discord/g1", "discord:a", "discord:b", "mention") in ours
    assert ("discord/g1", "discord:a", "person:carol", "mention") not in ours  # = the reply
    assert ours[("whatsapp/w1", "whatsapp:B", "whatsapp:A", "inferred")] == (INFERRED_WEIGHT, 1)
    assert ours[("whatsapp/w1", "whatsapp:C", "whatsapp:A", "inferred")] == (INFERRED_WEIGHT, 1)
    assert ("whatsapp/w1", "whatsapp:A", "whatsapp:B", "inferred") not in ours  # 16 min later
    # an inferred answer that also @mentions its inferred parent: both edges
    assert ours[("whatsapp/w1", "whatsapp:B", "whatsapp:C", "inferred")] == (INFERRED_WEIGHT, 1)
    assert ours[("whatsapp/w1", "whatsapp:B", "whatsapp:C", "mention")] == (1.0, 1)


@pytest.mark.parametrize("group", ["discord/g1", "whatsapp/w1"])
def test_edges_of_one_group(tiny: Context, group: str) -> None:
    """A scope of one group takes the one-group path (its pairs aggregated once, the "*"
    rows copied from them): the group's edges as plain Python has them, twice."""
    one = build_context(tiny.log, Scope(groups=(group,)))
    assert list(one.timezones) == [group]
    rows = run_metrics(one, ["conversation.edges"])["conversation.edges"].to_pylist()
    ours = {
        (r["group"], r["source"], r["target"], r["kind"]): (r["weight"], r["interactions"])
        for r in rows
    }
    plain = {k[1:]: v for k, v in plain_edges().items() if k[0] == group}
    assert ours == {(g, *k): v for g in (group, "*") for k, v in plain.items()}
    assert [(r["group"], r["source"], r["target"], r["kind"]) for r in rows] == sorted(ours)


def test_edges_leave_the_engine_as_codes(tiny: Context) -> None:
    """The pairs are aggregated and read as integer codes of the groups, members and
    kinds, decoded on the Python side (the values above are the decoded ones)."""
    built = load_metrics()["conversation.edges"].build(tiny)
    assert isinstance(built, Coded)
    assert set(built.values) == {"group", "source", "target", "kind"}
    schema = built.rows.schema()
    assert all(schema[column].is_integer() for column in built.values)


def test_response_matches_plain_python(tiny: Context, tiny_results: dict[str, pa.Table]) -> None:
    expected = plain_response(tiny.settings.answer_hours, tiny.end)
    rows = tiny_results["conversation.response"].to_pylist()
    assert len(rows) == len(expected)
    for r in rows:
        w = expected[(r["group"], r["week"])]
        assert (r["questions"], r["answered"], r["pending"]) == (
            w["questions"], w["answered"], w["pending"]
        )  # fmt: skip
        assert r["unanswered"] == w["questions"] - w["answered"] - w["pending"]
        if w["seconds"]:
            assert r["median_response_seconds"] == statistics.median(w["seconds"])
        else:
            assert r["median_response_seconds"] is None
    first_week = {r["group"]: r for r in rows if r["week"] == datetime(2024, 1, 1)}
    # g1: "How do I join" (2 min), 什么时候 (5 min, reply by key), "why?" (never)
    assert first_week["discord/g1"]["questions"] == 3
    assert first_week["discord/g1"]["median_response_seconds"] == 210.0
    # w1: both of A's questions answered by B's turn (3 and 2 minutes); C's is pending
    assert first_week["whatsapp/w1"]["median_response_seconds"] == 150.0
    later = {r["group"]: r for r in rows if r["week"] == datetime(2024, 1, 8)}
    assert later["whatsapp/w1"]["pending"] == 1


def test_threads_follow_reply_chains(tiny_results: dict[str, pa.Table]) -> None:
    rows = {r["group"]: r for r in tiny_results["conversation.threads"].to_pylist()}
    g1 = rows["discord/g1"]
    # k1 ← k2 ← k3 ← k4 and k1 ← k7; k5 ← k9; k11 ← k12, k11 ← k13
    assert (g1["threads"], g1["thread_messages"], g1["max_depth"]) == (3, 10, 3)
    assert g1["deep_threads"] == 1
    assert g1["group_threads"] == 1
    # w1: one burst w1..w4 (turns A, B: depth 1); w5, w6, w8 (A ← C ← B: depth 2)
    w1 = rows["whatsapp/w1"]
    assert (w1["threads"], w1["max_depth"]) == (2, 2)


def test_messages_are_numbered_apart(tiny: Context) -> None:
    """conversation.messages gives each message a distinct integer ``number`` (the links'
    windows are joined back on it, not on the key); the links do not carry it."""
    msgs = people_messages(tiny).to_pyarrow()
    numbers = msgs.column("number").to_pylist()
    assert pa.types.is_integer(msgs.schema.field("number").type)
    assert None not in numbers
    assert len(set(numbers)) == len(numbers) == len(MESSAGES)
    assert "number" not in message_links(tiny).columns


def test_simulated_questions_and_replies(community: Any, duckdb_context: Context) -> None:
    """The simulated WhatsApp group: every question is counted once, answered ones have
    a positive median, and the graph's nodes are the members who posted."""
    import pyarrow.parquet as pq_

    results = run_metrics(duckdb_context, ["conversation.response", "conversation.edges"])
    truth = pq_.read_table(community.events_path).to_pylist()
    texts = [r["text"] for r in truth if r["kind"] == "message_posted" and r["text"]]
    asked = sum(is_plain_question(t) for t in texts)
    rows = [r for r in results["conversation.response"].to_pylist() if r["group"] == "*"]
    counted = sum(r["questions"] for r in rows)
    # the plain test is a subset of the metric's word lists
    assert asked <= counted <= asked * 1.5
    assert all(r["median_response_seconds"] > 0 for r in rows if r["answered"])
    posters = {f"whatsapp:{r['member']}" for r in truth if r["kind"] == "message_posted"}
    edges = results["conversation.edges"].to_pylist()
    nodes = {e["source"] for e in edges} | {e["target"] for e in edges}
    assert nodes <= posters
    mentions = sum(e["interactions"] for e in edges if e["kind"] == "mention" and e["group"] != "*")
    true_mentions = sum(len(r["mentions"] or []) for r in truth if r["kind"] == "message_posted")
    assert 0 < mentions <= true_mentions


def test_turns_within_a_minute_follow_the_export(tmp_path: Path) -> None:
    """WhatsApp writes minutes only: within a minute, who spoke after whom is the order of
    the export's lines (not of the event keys, which are hashes)."""
    lines = ["12/01/2024, 10:00 - Ann: anyone here?"]
    for n in range(12):  # pairs in one minute, in a known order
        lines += [
            f"12/01/2024, 10:{n + 1:02d} - Bob: b{n}",
            f"12/01/2024, 10:{n + 1:02d} - Cy: c{n}",
        ]
    export = tmp_path / "WhatsApp Chat with Turns.txt"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open_store(tmp_path / "store.duckdb") as store:
        run_import(store, export, ImportSettings(community="c", timezone="UTC"))
    ctx = build_context(duckdb_log(tmp_path / "store.duckdb"))
    edges = run_metrics(ctx, ["conversation.edges"])["conversation.edges"].to_pylist()
    inferred = {
        (r["source"].split(":", 1)[1], r["target"].split(":", 1)[1]): r["interactions"]
        for r in edges
        if r["group"] != "*" and r["kind"] == "inferred"
    }
    # Bob answers Ann, then each minute Cy answers Bob and Bob (next minute) answers Cy
    assert inferred == {("Bob", "Ann"): 1, ("Cy", "Bob"): 12, ("Bob", "Cy"): 11}


# ------------------------------------------- turn taking across days, plain Python

#: a message: (group, member or None, minutes after MIDNIGHT_EVE, export line or None,
#: index of the message it replies to or None)
Drawn = tuple[str, str | None, int, int | None, int | None]
#: 23:50 the evening before a day boundary: minutes 10, 1450, … fall at midnight
MIDNIGHT_EVE = datetime(2024, 3, 1, 23, 50)


#: the drawn groups' platforms
DRAWN_PLATFORMS: Final = {"g1": "discord", "w1": "whatsapp", "w2": "whatsapp"}


def drawn_key(i: int) -> str:
    """Event keys in an order of their own (neither the drawing's nor the lines')."""
    return f"{(i * 7919) % 1009:04d}-{i}"


def write_drawn_log(folder: Path, drawn: list[Drawn]) -> Path:
    """The drawn messages as a Parquet log (groups w1, w2 on WhatsApp, g1 on Discord)."""
    rows: list[dict[str, Any]] = []
    for i, (group, member, minutes, line, reply) in enumerate(drawn):
        row = dict.fromkeys(EVENT_SCHEMA.names)
        platform = DRAWN_PLATFORMS[group]
        row.update(
            schema_version=2, community="t", is_bot=False, import_id=1, key=drawn_key(i),
            kind="message_posted", platform=platform, group_id=group,
            ts=MIDNIGHT_EVE + timedelta(minutes=minutes), member_id=member, text="hi",
            source_line=line, reply_to=None if reply is None else drawn_key(reply),
        )  # fmt: skip
        rows.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=EVENT_SCHEMA), folder / "events.parquet")
    no_links = pa.schema(
        [("platform", pa.string()), ("identity", pa.string()), ("member_key", pa.string()),
         ("import_id", pa.int64())]
    )  # fmt: skip
    pq.write_table(no_links.empty_table(), folder / "identity_links.parquet")
    groups = [
        {"community": "t", "platform": p, "group_id": g, "name": g, "timezone": "UTC"}
        for p, g in (("whatsapp", "w1"), ("whatsapp", "w2"), ("discord", "g1"))
    ]
    pq.write_table(pa.Table.from_pylist(groups), folder / "groups.parquet")
    return folder


def plain_links(drawn: list[Drawn]) -> dict[str, dict[str, Any]]:
    """key → the turn-taking columns of message_links, computed message by message,
    with SQL's nulls: comparing a member with no member gives null."""
    window = timedelta(minutes=INFERRED_WINDOW_MINUTES)
    platform = DRAWN_PLATFORMS
    msgs = [
        {
            "group": f"{platform[g]}/{g}", "key": drawn_key(i),
            "member": None if who is None else f"{platform[g]}:{who}",
            "ts": MIDNIGHT_EVE + timedelta(minutes=minutes), "line": line or 0,
            "reply_to": None if reply is None else drawn_key(reply),
        }
        for i, (g, who, minutes, line, reply) in enumerate(drawn)
    ]  # fmt: skip
    out: dict[str, dict[str, Any]] = {}
    for group in {m["group"] for m in msgs}:
        rows = sorted(
            (m for m in msgs if m["group"] == group), key=lambda m: (m["ts"], m["line"], m["key"])
        )
        explicit = any(m["reply_to"] for m in rows)
        by_key = {m["key"]: m for m in rows}
        run = burst = 0
        for seq, m in enumerate(rows):
            prev = rows[seq - 1] if seq else None
            prev_member = prev["member"] if prev else None
            differs = None if m["member"] is None else prev_member != m["member"]
            turn = True if prev_member is None else differs
            burst_start = prev is None or m["ts"] > prev["ts"] + window
            run += turn is True
            burst += burst_start
            close = prev is not None and m["ts"] <= prev["ts"] + window
            answers = differs if prev_member is not None and close else False
            parent = by_key.get(m["reply_to"]) if explicit else None
            out[m["key"]] = {
                "seq": seq, "turn": turn, "run": run, "burst_start": burst_start,
                "burst": burst, "parent_key": parent["key"] if parent else None,
                "parent_member": (parent["member"] if parent else None)
                if explicit
                else (prev_member if answers else None),
                "inferred": False if explicit else answers,
            }  # fmt: skip
    return out


def plain_bursts(drawn: list[Drawn]) -> dict[tuple[str, str], tuple[str | None, int, int, int]]:
    """(group, root key) → (starter, messages, depth, participants) of the threads of the
    groups without reply ids: bursts of more than one message."""
    links = plain_links(drawn)
    platform = DRAWN_PLATFORMS
    explicit = {g for g, *_, reply in drawn if reply is not None}
    bursts: dict[tuple[str, int], list[tuple[int, str, str | None, bool]]] = defaultdict(list)
    for i, (g, who, *_) in enumerate(drawn):
        if g not in explicit:
            row = links[drawn_key(i)]
            member = None if who is None else f"{platform[g]}:{who}"
            later_turn = row["turn"] is True and not row["burst_start"]
            bursts[(f"{platform[g]}/{g}", row["burst"])].append(
                (row["seq"], drawn_key(i), member, later_turn)
            )
    out = {}
    for (group, _burst), rows in bursts.items():
        if len(rows) > 1:
            rows.sort()
            members = {member for _seq, _key, member, _turn in rows if member is not None}
            depth = sum(turn for *_, turn in rows)
            out[(group, rows[0][1])] = (rows[0][2], len(rows), depth, len(members))
    return out


@st.composite
def drawn_logs(draw: st.DrawFn) -> list[Drawn]:
    """Messages around midnights: ties at one minute (and one line), members alone
    across a boundary, bursts spanning it, messages without a member, a Discord group
    whose messages may reply to one another."""
    n = draw(st.integers(1, 40))
    drawn: list[Drawn] = []
    for i in range(n):
        group = draw(st.sampled_from(["w1", "w2", "g1"]))
        member = draw(st.sampled_from(["A", "B", "C", None]))
        day = draw(st.sampled_from([0, 0, 1, 3])) * 24 * 60
        minutes = day + draw(st.integers(0, 20))  # minute 10 is midnight
        line = draw(st.one_of(st.none(), st.integers(0, 3)))
        reply = draw(st.one_of(st.none(), st.integers(0, i))) if group == "g1" and i else None
        drawn.append((group, member, minutes, line, reply))
    return drawn


#: the columns message_links computes from the order of the messages
TURN_COLUMNS = ("seq", "turn", "run", "burst_start", "burst", "parent_key", "parent_member",
                "inferred")  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(drawn=drawn_logs())
@example(  # a burst over midnight: B's turn starts the day, A alone across the boundary
    drawn=[("w1", "A", 8, 1, None), ("w1", "B", 9, 0, None), ("w1", "B", 10, 0, None),
           ("w1", "A", 10, 0, None), ("w1", "A", 11, None, None), ("w1", None, 1449, 2, None),
           ("w1", "A", 1450, 0, None), ("w1", "C", 1451, 0, None)]
)  # fmt: skip
def test_turns_across_days_match_plain_python(
    tmp_path_factory: pytest.TempPathFactory, drawn: list[Drawn]
) -> None:
    """message_links numbers each day apart and carries the counts over from the days
    before: the same seq, turns, runs, bursts and parents as one pass over each group;
    the bursts' threads count their messages, later turns and members."""
    folder = write_drawn_log(tmp_path_factory.mktemp("drawn"), drawn)
    ctx = build_context(parquet_log(folder))
    links = message_links(ctx).to_pyarrow().to_pylist()
    got = {row["key"]: {c: row[c] for c in TURN_COLUMNS} for row in links}
    assert got == plain_links(drawn)
    bursts = plain_bursts(drawn)
    replied = {g for g, *_, reply in drawn if reply is not None}
    inferred_groups = {f"{DRAWN_PLATFORMS[g]}/{g}" for g, *_ in drawn if g not in replied}
    threads = {
        (t["group"], t["root"]): (t["starter"], t["messages"], t["depth"], t["participants"])
        for t in thread_table(ctx).to_pyarrow().to_pylist()
        if t["group"] in inferred_groups
    }
    assert threads == bursts


def test_turn_numbers_are_eight_byte_integers_in_duckdb() -> None:
    """``seq``, ``run`` and ``burst`` leave the turn taking as BIGINT: DuckDB's running
    sums are 16-byte HUGEINTs (whatever Ibis calls them), and ten million of them carried
    through the join back cost seconds (bench/RESULTS.md, session 13)."""
    import duckdb
    import ibis

    rows = pa.table(
        {
            "group": pa.array([1, 1, 1], pa.int64()),
            "key": ["a", "b", "c"],
            "number": pa.array([0, 1, 2], pa.int64()),
            "code": pa.array([1, 2, 1], pa.int64()),
            "ts": pa.array([datetime(2024, 1, 1, 9, m) for m in (0, 1, 30)], pa.timestamp("us")),
            "line": pa.array([1, 2, 3], pa.int64()),
        }
    )
    con = duckdb.connect()
    con.register("messages", rows)
    expr = turn_taking(ibis.table(ibis.Schema.from_pyarrow(rows.schema), name="messages"))
    relation = con.sql(str(ibis.to_sql(expr, dialect="duckdb")))
    types = dict(zip(relation.columns, map(str, relation.types), strict=True))
    assert {name: types[name] for name in ("seq", "run", "burst")} == dict.fromkeys(
        ("seq", "run", "burst"), "BIGINT"
    )
    at = [relation.columns.index(c) for c in ("seq", "run", "burst")]
    got = sorted(tuple(row[i] for i in at) for row in relation.fetchall())
    assert got == [(0, 1, 1), (1, 2, 1), (2, 3, 2)]


@pytest.mark.parametrize("scope", [None, "discord/g1", "whatsapp/w1"])
def test_received_counts_and_responders_match_the_edges(tiny: Context, scope: str | None) -> None:
    """roles.signals' received counts and responders (read from the pair counts the
    edges share) as plain Python has them from the edges: per target, the interactions
    of each kind and the distinct sources — a source of two kinds once (B both answers
    and @mentions C), for "*" over every group. Both the path of several groups and the
    one-group path."""
    ctx = tiny if scope is None else build_context(tiny.log, Scope(groups=(scope,)))
    columns = {"reply": "replies_received", "inferred": "inferred_received",
               "mention": "mentions_received"}  # fmt: skip
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(columns, 0))
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (group, source, target, kind), (_weight, n) in plain_edges().items():
        if scope is not None and group != "*":
            if group != scope:
                continue
            for g in (group, "*"):  # the scope's "*" is its one group
                counts[(g, target)][kind] += n
                sources[(g, target)].add(source)
        elif scope is None:
            counts[(group, target)][kind] += n
            sources[(group, target)].add(source)
    if scope != "discord/g1":  # whatsapp/w1 holds the source of two kinds
        assert any(len(s) < sum(counts[k].values()) for k, s in sources.items())
    rows = run_metrics(ctx, ["roles.signals"])["roles.signals"].to_pylist()
    assert rows
    for r in rows:
        key = (r["group"], r["member"])
        want = {columns[kind]: n for kind, n in counts[key].items()}
        want["responders"] = len(sources[key])
        assert {c: r[c] for c in want} == want, key
