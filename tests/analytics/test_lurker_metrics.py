"""lurkers.summary and lurkers.list: against a plain-Python reference over small random
logs (joins, rosters, rejoins, exits, two groups, linked identities, a bot), by hand at
the edges (exactly lurker_days silent, ties, groups without joins or rosters), and
against the simulator's truth (lurker roles, posts, churn).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_retention_metrics import (
    LINKS,
    ZONES,
    Reference,
    Row,
    key_of,
    scenario,
    small_context,
    truth_keys,
    utc,
)

from shequn.analytics.context import Context, Settings
from shequn.analytics.runner import run_metrics

DAY = timedelta(days=1)


def seconds(ts: datetime) -> int:
    return int(ts.replace(tzinfo=UTC).timestamp())


def reference_lurkers(
    rows: list[Row], end: datetime, lurker_days: int = 30
) -> tuple[dict[str, Row], dict[str, list[Row]]]:
    """(summary by group, ranked list by group) written out plainly."""
    ref = Reference(rows, ZONES, LINKS, end)
    names: dict[tuple[str, str], tuple[datetime, str, str]] = {}
    for i, r in enumerate(rows):
        if r.get("member") is None or key_of(r, LINKS) not in ref.all_members():
            continue
        name = r.get("name", r["member"])
        key = hashlib.md5(f"{i}".encode()).hexdigest()
        for g in (r["group"], "*"):
            k = (g, key_of(r, LINKS))
            if k not in names or (r["ts"], key) > names[k][:2]:
                names[k] = (r["ts"], key, name)
    summaries: dict[str, Row] = {}
    lists: dict[str, list[Row]] = {}
    for group in [*ref.groups(), "*"]:
        homes = ref.groups() if group == "*" else [group]
        present = []
        for m in ref.all_members():
            mine = [g for g in homes if (g, m) in ref.by]
            if not mine or all(ref.gone_before(g, m, None) for g in mine):
                continue
            posts = [r["ts"] for g in mine for r in ref.by[(g, m)] if r["kind"] == "message_posted"]
            joined = min(ref.join(g, m) for g in mine)
            last_post = max(posts) if posts else None
            silent = seconds(end) - seconds(last_post or joined)
            present.append(
                {
                    "member": m,
                    "name": names[(group, m)][2],
                    "joined": joined,
                    "last_post": last_post,
                    "never_posted": not posts,
                    "silent_seconds": silent,
                }
            )
        lurkers = [
            p for p in present if p["never_posted"] or p["silent_seconds"] > lurker_days * 86400
        ]
        lurkers.sort(
            key=lambda p: (not p["never_posted"], -p["silent_seconds"], p["joined"], p["member"])
        )
        lists[group] = lurkers
        kinds = {r["kind"] for r in rows if r["group"] in homes}
        countable = bool(kinds & {"member_joined", "member_listed"})
        if group == "*":
            countable = all(
                {r["kind"] for r in rows if r["group"] == g} & {"member_joined", "member_listed"}
                for g in ref.groups()
            )
        never = sum(p["never_posted"] for p in lurkers)
        summaries[group] = {
            "group": group,
            "members_known": len(present),
            "lurkers": len(lurkers),
            "lurker_share": len(lurkers) / len(present) if countable else None,
            "never_posted": never,
            "silent": len(lurkers) - never,
            "countable": countable,
        }
    return summaries, lists


def check(ctx: Context, rows: list[Row]) -> dict[str, pa.Table]:
    results = run_metrics(ctx, ["lurkers.summary", "lurkers.list"])
    summaries, lists = reference_lurkers(rows, ctx.end, ctx.settings.lurker_days)
    got = {r["group"]: r for r in results["lurkers.summary"].to_pylist()}
    assert set(got) == set(summaries)
    for group, want in summaries.items():
        for name, value in want.items():
            if isinstance(value, float):
                assert got[group][name] == pytest.approx(value), (group, name)
            else:
                assert got[group][name] == value, (group, name, got[group], want)
    listed: dict[str, list[Row]] = defaultdict(list)
    for r in results["lurkers.list"].to_pylist():
        listed[r["group"]].append(r)
    for group, want_list in lists.items():
        mine = listed.get(group, [])
        assert [r["rank"] for r in mine] == list(range(1, len(mine) + 1))
        assert [r["member"] for r in mine] == [p["member"] for p in want_list], group
        for r, p in zip(mine, want_list, strict=True):
            assert (r["name"], r["joined"], r["last_post"], r["never_posted"]) == (
                p["name"],
                p["joined"],
                p["last_post"],
                p["never_posted"],
            )
            assert r["silent_days"] == pytest.approx(p["silent_seconds"] / 86400)
    return results


@pytest.mark.parametrize("seed", [3, 8, 13])
def test_lurkers_match_the_reference(seed: int) -> None:
    rows = scenario(seed, members=50)
    ctx = small_context(rows, ZONES, LINKS)
    results = check(ctx, rows)
    summary = {r["group"]: r for r in results["lurkers.summary"].to_pylist()}
    assert summary["*"]["silent"] > 0 and summary["*"]["never_posted"] > 0
    assert "whatsapp:bot" not in results["lurkers.list"].column("member").to_pylist()


def test_lurker_days_is_a_setting() -> None:
    rows = scenario(8, members=50)
    ctx = small_context(rows, ZONES, LINKS, settings=Settings(lurker_days=10))
    results = check(ctx, rows)
    shorter = {r["group"]: r["silent"] for r in results["lurkers.summary"].to_pylist()}
    default = small_context(rows, ZONES, LINKS)
    longer = {
        r["group"]: r["silent"]
        for r in run_metrics(default, ["lurkers.summary"])["lurkers.summary"].to_pylist()
    }
    assert shorter["*"] > longer["*"]


def test_the_edges_by_hand() -> None:
    one, chat, roster = "whatsapp/one", "telegram/chat", "discord/listed"
    t0 = datetime(2024, 1, 1, 12)
    last = t0 + 60 * DAY  # the last event; the period ends one second later
    end = last + timedelta(seconds=1)
    rows = [
        {"kind": "member_joined", "group": one, "ts": t0, "member": "keeps_talking"},
        {"kind": "message_posted", "group": one, "ts": last, "member": "keeps_talking"},
        # exactly 30 days silent: not a lurker; one second more: a lurker
        {"kind": "member_joined", "group": one, "ts": t0, "member": "exactly"},
        {"kind": "message_posted", "group": one, "ts": end - 30 * DAY, "member": "exactly"},
        {"kind": "member_joined", "group": one, "ts": t0, "member": "just_over"},
        {
            "kind": "message_posted",
            "group": one,
            "ts": end - 30 * DAY - timedelta(seconds=1),
            "member": "just_over",
        },
        # never posted, joined the same instant: ranked by member key
        {"kind": "member_joined", "group": one, "ts": t0 + DAY, "member": "zed", "name": "Z"},
        {"kind": "member_joined", "group": one, "ts": t0 + DAY, "member": "amy", "name": "A"},
        {"kind": "member_renamed", "group": one, "ts": t0 + 2 * DAY, "member": "amy", "name": "A2"},
        # silent as long as just_over, but joined later: ranked after it
        {"kind": "member_joined", "group": one, "ts": t0 + DAY, "member": "also_over"},
        {
            "kind": "message_posted",
            "group": one,
            "ts": end - 30 * DAY - timedelta(seconds=1),
            "member": "also_over",
        },
        # two names at the same instant: the event key decides (here: the later row's)
        {"kind": "member_joined", "group": one, "ts": t0 + 4 * DAY, "member": "twin", "name": "T1"},
        {
            "kind": "member_renamed",
            "group": one,
            "ts": t0 + 4 * DAY,
            "member": "twin",
            "name": "T2",
        },
        # joined yesterday, never posted: a lurker still (ranked after older never-posters)
        {"kind": "member_joined", "group": one, "ts": last - DAY, "member": "newbie"},
        # left, or removed: not members
        {"kind": "member_joined", "group": one, "ts": t0, "member": "left"},
        {"kind": "member_left", "group": one, "ts": t0 + DAY, "member": "left"},
        {"kind": "member_joined", "group": one, "ts": t0, "member": "removed"},
        {"kind": "member_removed", "group": one, "ts": t0 + DAY, "member": "removed", "by": "x"},
        # removed and added again: a member (who never posted)
        {"kind": "member_joined", "group": one, "ts": t0, "member": "back"},
        {"kind": "member_removed", "group": one, "ts": t0 + DAY, "member": "back", "by": "x"},
        {"kind": "member_joined", "group": one, "ts": t0 + 3 * DAY, "member": "back"},
        # a chat export without joins or a member list: only writers are known
        {"kind": "message_posted", "group": chat, "ts": t0, "member": "u1"},
        {"kind": "message_posted", "group": chat, "ts": last, "member": "u2"},
        # a member list alone is enough to count
        {"kind": "member_listed", "group": roster, "ts": t0, "member": "d1"},
        {"kind": "member_listed", "group": roster, "ts": t0, "member": "d2"},
        {"kind": "message_posted", "group": roster, "ts": last, "member": "d2"},
    ]
    twins = [
        (hashlib.md5(f"{i}".encode()).hexdigest(), r["name"])
        for i, r in enumerate(rows)
        if r["member"] == "twin"
    ]
    twin_name = max(twins)[1]
    zones = {one: "UTC", chat: "UTC", roster: "UTC"}
    ctx = small_context(rows, zones)
    assert ctx.end == end
    results = run_metrics(ctx, ["lurkers.summary", "lurkers.list"])
    summary = {r["group"]: r for r in results["lurkers.summary"].to_pylist()}
    assert summary[one] == {
        "group": one,
        "members_known": 9,
        "lurkers": 7,
        "lurker_share": 7 / 9,
        "never_posted": 5,
        "silent": 2,
        "countable": True,
    }
    assert summary[chat]["countable"] is False and summary[chat]["lurker_share"] is None
    assert summary[chat]["lurkers"] == 1  # u1, silent 60 days: listed, but not a share
    assert summary[roster]["countable"] is True and summary[roster]["lurker_share"] == 0.5
    assert summary["*"]["countable"] is False and summary["*"]["lurker_share"] is None
    ranked = [
        (r["member"], r["name"], r["rank"])
        for r in results["lurkers.list"].to_pylist()
        if r["group"] == one
    ]
    assert ranked == [
        ("whatsapp:back", "back", 1),  # joined t0 (first join), never posted
        ("whatsapp:amy", "A2", 2),  # joined t0 + 1 day, same as zed: key order
        ("whatsapp:zed", "Z", 3),
        ("whatsapp:twin", twin_name, 4),
        ("whatsapp:newbie", "newbie", 5),
        ("whatsapp:just_over", "just_over", 6),
        ("whatsapp:also_over", "also_over", 7),
    ]


# -- against the simulator's truth ---------------------------------------------------------


def test_lurkers_from_the_truth(community: Any, duckdb_context: Context) -> None:
    truth = community.truth
    keys = truth_keys(community, duckdb_context)
    last_post: dict[str, datetime] = {}
    events = pq.read_table(community.events_path, columns=["kind", "member", "ts_utc"])
    for e in events.to_pylist():
        if e["kind"] == "message_posted":
            k = keys[e["member"]]
            last_post[k] = max(last_post.get(k, e["ts_utc"]), e["ts_utc"])
    end = duckdb_context.end
    limit = end - 30 * DAY
    churned = {keys[c["member"]] for c in truth["churn"]}
    staying = [m for m in truth["members"] if keys[m["id"]] not in churned]
    expected_never = {keys[m["id"]] for m in staying if keys[m["id"]] not in last_post}
    expected_silent = {
        keys[m["id"]]
        for m in staying
        if keys[m["id"]] in last_post and seconds(last_post[keys[m["id"]]]) < seconds(limit)
    }
    results = run_metrics(duckdb_context, ["lurkers.summary", "lurkers.list"])
    groups = {r["group"]: r for r in results["lurkers.summary"].to_pylist()}
    group = next(g for g in groups if g != "*")
    row = groups[group]
    assert row == groups["*"] | {"group": group}
    assert row["members_known"] == len(staying)
    assert row["never_posted"] == len(expected_never)
    assert row["silent"] == len(expected_silent)
    assert row["lurker_share"] == pytest.approx(
        (len(expected_never) + len(expected_silent)) / len(staying)
    )
    listed = [r for r in results["lurkers.list"].to_pylist() if r["group"] == group]
    assert {r["member"] for r in listed if r["never_posted"]} == expected_never
    assert {r["member"] for r in listed if not r["never_posted"]} == expected_silent
    # the simulator's lurker role: two thirds never post; those who stayed are all listed
    quiet_lurkers = {keys[m["id"]] for m in staying if m["role"] == "lurker" and m["messages"] == 0}
    assert quiet_lurkers and quiet_lurkers <= expected_never
    # nobody who left or was removed is listed
    assert not churned & {r["member"] for r in listed}
    # never-posters first, oldest joins first among them
    flags = [r["never_posted"] for r in listed]
    assert flags == sorted(flags, reverse=True)
    joined = {keys[m["id"]]: utc(m["joined_at"]) for m in truth["members"]}
    never_rows = [r for r in listed if r["never_posted"]]
    assert [r["joined"] for r in never_rows] == sorted(joined[r["member"]] for r in never_rows)
