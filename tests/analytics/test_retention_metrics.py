"""retention.cohorts and retention.summary: against a plain-Python reference over a small
random log (joins, rosters, rejoins, exits, two groups on two clocks, one member in both,
a bot), and against the simulator's truth (joins, churn, posts) on the shared community.

``small_context`` and ``scenario`` are imported by the hours and lurker tests too.
"""

from __future__ import annotations

import hashlib
import random
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shequn.analytics.context import Context, Settings, build_context
from shequn.analytics.runner import run_metrics
from shequn.analytics.source import Log
from shequn.events import EVENT_SCHEMA

Row = dict[str, Any]
EXITS = ("member_left", "member_removed")
WEEK = timedelta(days=7)


# -- a small log in an in-memory DuckDB ----------------------------------------------------


def small_context(
    rows: list[Row],
    timezones: dict[str, str],
    links: dict[tuple[str, str], str] | None = None,
    settings: Settings | None = None,
) -> Context:
    """A context over ``rows`` (kind, group "platform/id", ts naive UTC, member, …)."""
    events = []
    for i, r in enumerate(rows):
        platform, group_id = r["group"].split("/", 1)
        events.append(
            {
                "key": hashlib.md5(f"{i}".encode()).hexdigest(),
                "schema_version": 2,
                "kind": r["kind"],
                "platform": platform,
                "community": "c",
                "group_id": group_id,
                "ts": r["ts"],
                "member_id": r.get("member"),
                "member_name": r.get("name", r.get("member")),
                "by_member_id": r.get("by"),
                "is_bot": r.get("is_bot", False),
                "import_id": 1,
            }
        )
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")

    def create(name: str, table: pa.Table) -> None:
        db.register("incoming", table)
        db.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
        db.unregister("incoming")

    create("events", pa.Table.from_pylist(events, schema=EVENT_SCHEMA))
    groups = [
        {
            "community": "c",
            "platform": g.split("/", 1)[0],
            "group_id": g.split("/", 1)[1],
            "name": g,
            "timezone": tz,
        }
        for g, tz in timezones.items()
    ]
    create("groups", pa.Table.from_pylist(groups))
    link_rows = [
        {"platform": p, "identity": i, "member_key": k, "import_id": 1}
        for (p, i), k in (links or {}).items()
    ]
    link_schema = pa.schema(
        [
            ("platform", pa.string()),
            ("identity", pa.string()),
            ("member_key", pa.string()),
            ("import_id", pa.int64()),
        ]
    )
    create("identity_links", pa.Table.from_pylist(link_rows, schema=link_schema))
    con = ibis.duckdb.from_connection(db)
    log = Log(con, con.table("events"), con.table("identity_links"), con.table("groups"), "duckdb")
    return build_context(log, settings=settings)


def key_of(row: Row, links: dict[tuple[str, str], str]) -> str:
    platform = row["group"].split("/", 1)[0]
    return links.get((platform, row["member"]), f"{platform}:{row['member']}")


def local(ts: datetime, zone: str) -> datetime:
    return ts.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def seconds(ts: datetime) -> int:
    return int(ts.replace(tzinfo=UTC).timestamp())


def monday(ts: datetime) -> datetime:
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


START = datetime(2024, 3, 4, 6, 0)  # a Monday; Berlin switches to summer time on 31 March
DAYS = 70
ZONES = {"whatsapp/one": "Europe/Berlin", "slack/two": "UTC"}
#: m0 … m5 are also in the second group, under another identity linked to them
LINKS = {("slack", f"U{i}"): f"whatsapp:m{i}" for i in range(6)}


def scenario(seed: int, members: int = 40) -> list[Row]:
    """Random members in two groups: joined / listed with a date / first seen posting,
    posts, exits (some rejoin), undated roster rows at the end, one bot."""
    rnd = random.Random(seed)
    rows: list[Row] = []

    def at(lo: datetime, hi: datetime) -> datetime:
        return lo + timedelta(seconds=rnd.randrange(max(1, int((hi - lo).total_seconds()))))

    end = START + timedelta(days=DAYS)
    for i in range(members):
        homes = [g for g in ZONES if rnd.random() < (0.8 if g == "whatsapp/one" else 0.4)]
        if i < 6:
            homes = list(ZONES)
        for group in homes or ["whatsapp/one"]:
            ident = f"m{i}" if group == "whatsapp/one" else f"U{i}"
            joined = at(START, end - timedelta(days=3))
            how = rnd.choice(["member_joined", "member_joined", "member_listed", "none"])
            if how != "none":
                rows.append({"kind": how, "group": group, "ts": joined, "member": ident})
            posts = rnd.choice([0, 0, 1, 2, 5, 12]) if how != "none" else rnd.randint(1, 6)
            exit_at = at(joined + timedelta(days=1), end) if rnd.random() < 0.3 else None
            back_at = (
                at(exit_at + timedelta(hours=1), end)
                if exit_at is not None and rnd.random() < 0.35
                else None
            )
            for p in range(posts):
                lo, hi = joined, exit_at or end
                if back_at is not None and rnd.random() < 0.5:
                    lo, hi = back_at, end
                ts = joined if (how == "none" and p == 0) else at(lo, hi)
                rows.append(
                    {
                        "kind": "message_posted",
                        "group": group,
                        "ts": ts,
                        "member": ident,
                        "name": f"{ident}-{p}",
                    }
                )
            if exit_at is not None:
                kind = rnd.choice(EXITS)
                rows.append(
                    {"kind": kind, "group": group, "ts": exit_at, "member": ident, "by": "m0"}
                )
                if back_at is not None:
                    rows.append(
                        {"kind": "member_joined", "group": group, "ts": back_at, "member": ident}
                    )
            if exit_at is None and rnd.random() < 0.2:  # an undated roster: the snapshot time
                rows.append({"kind": "member_listed", "group": group, "ts": end, "member": ident})
    rows.append({"kind": "member_joined", "group": "whatsapp/one", "ts": START, "member": "bot"})
    for d in range(0, DAYS, 3):
        rows.append(
            {
                "kind": "message_posted",
                "group": "whatsapp/one",
                "ts": START + timedelta(days=d, hours=2),
                "member": "bot",
                "is_bot": True,
            }
        )
    return rows


# -- the plain-Python reference ------------------------------------------------------------


class Reference:
    """The definitions of docs/analytics/retention-hours-lurkers.md, written out plainly."""

    def __init__(
        self,
        rows: list[Row],
        zones: dict[str, str],
        links: dict[tuple[str, str], str],
        end: datetime,
    ) -> None:
        self.zones = zones
        self.end = end
        self.by: dict[tuple[str, str], list[Row]] = defaultdict(list)
        bots = {key_of(r, links) for r in rows if r.get("member") and r.get("is_bot")}
        for r in rows:
            if r.get("member") is None:
                continue
            k = key_of(r, links)
            if k not in bots:
                self.by[(r["group"], k)].append(r)

    def groups(self) -> list[str]:
        return sorted({g for g, _ in self.by})

    def members(self, group: str) -> list[str]:
        return sorted(m for g, m in self.by if g == group)

    def join(self, group: str, member: str) -> datetime:
        rows = self.by[(group, member)]
        joins = [r["ts"] for r in rows if r["kind"] == "member_joined"]
        return min(joins) if joins else min(r["ts"] for r in rows)

    def join_week(self, group: str, member: str) -> datetime:
        return monday(local(self.join(group, member), self.zones[group]))

    def gone_before(self, group: str, member: str, local_limit: datetime | None) -> bool:
        """Gone when the events before ``local_limit`` (None: all) end with an exit."""
        rows = [
            r
            for r in self.by[(group, member)]
            if local_limit is None or local(r["ts"], self.zones[group]) < local_limit
        ]
        exits = [r["ts"] for r in rows if r["kind"] in EXITS]
        others = [r["ts"] for r in rows if r["kind"] not in EXITS]
        return bool(exits) and (not others or max(exits) >= max(others))

    def posted_in(self, group: str, member: str, week: datetime) -> bool:
        return any(
            r["kind"] == "message_posted" and monday(local(r["ts"], self.zones[group])) == week
            for r in self.by[(group, member)]
        )

    def last_local(self, group: str) -> datetime:
        return local(self.end, self.zones[group])

    # ---- whole community
    def all_members(self) -> list[str]:
        return sorted({m for _, m in self.by})

    def homes(self, member: str) -> list[str]:
        return sorted(g for g, m in self.by if m == member)

    def member_weeks(self) -> list[Row]:
        """(group, member, cohort, k, week, complete, posted, is_member)."""
        out = []
        for group in self.groups():
            last = self.last_local(group)
            for m in self.members(group):
                cohort = self.join_week(group, m)
                k = 0
                while cohort + k * WEEK < last:
                    week = cohort + k * WEEK
                    out.append(
                        {
                            "group": group,
                            "member": m,
                            "cohort": cohort,
                            "k": k,
                            "week": week,
                            "complete": week + WEEK <= last,
                            "posted": self.posted_in(group, m, week),
                            "is_member": not self.gone_before(group, m, week + WEEK),
                        }
                    )
                    k += 1
        ends = [self.last_local(g) for g in self.groups()]
        for m in self.all_members():
            homes = self.homes(m)
            cohort = min(self.join_week(g, m) for g in homes)
            k = 0
            while cohort + k * WEEK < max(ends):
                week = cohort + k * WEEK
                out.append(
                    {
                        "group": "*",
                        "member": m,
                        "cohort": cohort,
                        "k": k,
                        "week": week,
                        "complete": week + WEEK <= min(ends),
                        "posted": any(
                            self.join_week(g, m) <= week and self.posted_in(g, m, week)
                            for g in homes
                        ),
                        "is_member": any(
                            self.join_week(g, m) <= week
                            and week < self.last_local(g)
                            and not self.gone_before(g, m, week + WEEK)
                            for g in homes
                        ),
                    }
                )
                k += 1
        return out

    def cohorts(self) -> dict[tuple[str, datetime, int], Row]:
        table: dict[tuple[str, datetime, int], Row] = {}
        for r in self.member_weeks():
            key = (r["group"], r["cohort"], r["k"])
            t = table.setdefault(
                key,
                {"week": r["week"], "complete": r["complete"], "size": 0, "post": 0, "mem": 0},
            )
            t["size"] += 1
            t["post"] += r["posted"]
            t["mem"] += r["is_member"]
        return table

    def ending(self, group: str, m: str) -> tuple[datetime, datetime | None, bool, datetime | None]:
        """(joined, last post, gone at the end, last exit)."""
        rows = self.by[(group, m)]
        posts = [r["ts"] for r in rows if r["kind"] == "message_posted"]
        exits = [r["ts"] for r in rows if r["kind"] in EXITS]
        return (
            self.join(group, m),
            max(posts) if posts else None,
            self.gone_before(group, m, None),
            max(exits) if exits else None,
        )

    def lifetimes(self, group: str) -> tuple[int, list[int]]:
        """Members followed, and the lifetimes (seconds) of those who have one."""
        per_member: dict[str, list[tuple[datetime, datetime | None, bool, datetime | None]]] = {}
        for g in self.groups():
            if group in ("*", g):
                for m in self.members(g):
                    per_member.setdefault(m, []).append(self.ending(g, m))
        lives = []
        for endings in per_member.values():
            joined = min(e[0] for e in endings)
            posts = [e[1] for e in endings if e[1] is not None]
            if all(e[2] for e in endings):  # gone from every group: the last exit
                end: datetime | None = max(e[3] for e in endings if e[3] is not None)
            else:
                end = max(posts) if posts else None
            if end is not None:
                lives.append(max(0, seconds(end) - seconds(joined)))
        return len(per_member), lives

    def summary(self, group: str, weeks: list[Row]) -> Row:
        followed, lives = self.lifetimes(group)
        mine = [w for w in weeks if w["group"] == group]
        mature = {w["member"] for w in mine if w["k"] == 5 and w["complete"]}

        def posted(member: str, k: int) -> bool:
            return any(w["posted"] for w in mine if w["member"] == member and w["k"] == k)

        n = len(mature)
        p = {k: sum(posted(m, k) for m in mature) for k in (1, 3, 4, 5)}
        w1 = p[1] / n if n else None
        w4 = p[4] / n if n else None
        return {
            "group": group,
            "members": followed,
            "lifetime_members": len(lives),
            "median_lifetime_days": statistics.median(lives) / 86400 if lives else None,
            "cliff_cohorts": len({w["cohort"] for w in mine if w["member"] in mature}),
            "cliff_members": n,
            "week1_posting_share": w1,
            "week4_posting_share": w4,
            "week4_vs_week1": (w4 / w1) if w1 and w4 is not None else None,
            "posting_week3": p[3],
            "posting_week5": p[5],
            "dropped_3_to_5": sum(posted(m, 3) and not posted(m, 5) for m in mature),
        }


def approx_row(ours: Row, theirs: Row) -> None:
    assert set(ours) >= set(theirs), (ours, theirs)
    for name, value in theirs.items():
        if isinstance(value, float):
            assert ours[name] == pytest.approx(value, rel=1e-9), (name, ours, theirs)
        else:
            assert ours[name] == value, (name, ours, theirs)


def cohorts_as_expected(results: dict[str, pa.Table], expected: dict[Any, Row]) -> dict[Any, Row]:
    """retention.cohorts' rows by (group, cohort, k), each asserted equal to the
    reference's week, completeness, size, posters and members."""
    got = {(r["group"], r["cohort"], r["k"]): r for r in results["retention.cohorts"].to_pylist()}
    assert set(got) == set(expected)
    for key, e in expected.items():
        r = got[key]
        assert (r["week"], r["complete"]) == (e["week"], e["complete"]), key
        assert (r["cohort_size"], r["still_posting"], r["still_member"]) == (
            e["size"],
            e["post"],
            e["mem"],
        ), key
    return got


def summary_as_expected(results: dict[str, pa.Table], ref: Reference) -> dict[str, Row]:
    """retention.summary's rows by group, each asserted equal to the reference's."""
    weeks = ref.member_weeks()
    rows = {r["group"]: r for r in results["retention.summary"].to_pylist()}
    for group, row in rows.items():
        approx_row(row, ref.summary(group, weeks))
    return rows


# -- against the reference -----------------------------------------------------------------


@pytest.fixture(scope="module", params=[3, 11])
def small(request: pytest.FixtureRequest) -> tuple[Context, Reference, dict[str, pa.Table]]:
    rows = scenario(request.param)
    ctx = small_context(rows, ZONES, LINKS)
    ref = Reference(rows, ZONES, LINKS, ctx.end)
    return ctx, ref, run_metrics(ctx, ["retention.cohorts", "retention.summary"])


def test_cohorts_match_the_reference(
    small: tuple[Context, Reference, dict[str, pa.Table]],
) -> None:
    _, ref, results = small
    expected = ref.cohorts()
    got = cohorts_as_expected(results, expected)
    for key, e in expected.items():
        r = got[key]
        assert r["posting_share"] == pytest.approx(e["post"] / e["size"])
        assert r["member_share"] == pytest.approx(e["mem"] / e["size"])
    # the scenario has what the definitions are about
    assert {g for g, _, _ in got} == {"*", "whatsapp/one", "slack/two"}
    assert any(not e["complete"] for e in expected.values())
    assert any(e["mem"] < e["size"] for e in expected.values())


@pytest.mark.parametrize("seed", [3, 11])
def test_one_group_matches_the_reference(seed: int) -> None:
    """A community of one group (its rows of ``*`` are the group's, built without the
    status across groups): cohorts and summary as the reference has them."""
    rows = [r for r in scenario(seed) if r["group"] == "whatsapp/one"]
    zones = {"whatsapp/one": ZONES["whatsapp/one"]}
    ctx = small_context(rows, zones, LINKS)
    ref = Reference(rows, zones, LINKS, ctx.end)
    results = run_metrics(ctx, ["retention.cohorts", "retention.summary"])
    expected = ref.cohorts()
    got = cohorts_as_expected(results, expected)
    assert {g for g, _, _ in got} == {"*", "whatsapp/one"}
    assert any(e["mem"] < e["size"] for e in expected.values())
    summary_as_expected(results, ref)


@pytest.mark.parametrize("seed", [3, 11])
def test_a_group_whose_period_ends_before_the_last_week_of_the_community(seed: int) -> None:
    """The period ends on Sunday 23:00 UTC, Monday 01:00 in Berlin: the community (``*``)
    has a last week that the UTC group does not, and a member of that group alone is no
    member of ``*`` in it, whatever their standing at the group's end (``*``'s members
    are counted from changes: the group's standing must end where its weeks do)."""
    cutoff = datetime(2024, 5, 12, 22, 59, 59)  # Sunday, UTC (Berlin: summer time, +2)
    rows = [r for r in scenario(seed) if r["ts"] < cutoff]
    rows.append({"kind": "message_posted", "group": "slack/two", "ts": cutoff, "member": "U1"})
    ctx = small_context(rows, ZONES, LINKS)
    ref = Reference(rows, ZONES, LINKS, ctx.end)
    results = run_metrics(ctx, ["retention.cohorts", "retention.summary"])
    expected = ref.cohorts()
    cohorts_as_expected(results, expected)
    last = datetime(2024, 5, 13)
    assert any(g == "*" and e["week"] == last for (g, _, _), e in expected.items())
    assert not any(g == "slack/two" and e["week"] == last for (g, _, _), e in expected.items())
    summary_as_expected(results, ref)


def test_summary_matches_the_reference(
    small: tuple[Context, Reference, dict[str, pa.Table]],
) -> None:
    _, ref, results = small
    rows = summary_as_expected(results, ref)
    assert set(rows) == {"*", "whatsapp/one", "slack/two"}
    assert rows["*"]["cliff_members"] > 0


def test_the_bot_and_unlinked_identities() -> None:
    rows = scenario(3)
    ctx = small_context(rows, ZONES, LINKS)
    cohorts = run_metrics(ctx, ["retention.summary"])["retention.summary"].to_pylist()
    ref = Reference(rows, ZONES, LINKS, ctx.end)
    everyone = {r["group"]: r["members"] for r in cohorts}["*"]
    assert everyone == len(ref.all_members())
    assert "whatsapp:bot" not in ref.all_members()
    # m0 and U0 are one member (linked), so * counts fewer than the groups together
    assert everyone < sum(len(ref.members(g)) for g in ref.groups())


def test_join_is_the_join_event_then_the_roster_date_then_the_first_event() -> None:
    g = "whatsapp/one"
    monday_ = datetime(2024, 1, 1, 12)
    rows = [
        # a: posted in week 0, joined (visibly) in week 1 → cohort = week 1
        {"kind": "message_posted", "group": g, "ts": monday_, "member": "a"},
        {"kind": "member_joined", "group": g, "ts": monday_ + WEEK, "member": "a"},
        # b: a dated roster row in week 0, first post in week 2 → cohort = week 0
        {"kind": "member_listed", "group": g, "ts": monday_, "member": "b"},
        {"kind": "message_posted", "group": g, "ts": monday_ + 2 * WEEK, "member": "b"},
        # c: first post in week 1, an undated roster row (the snapshot) in week 3
        {"kind": "message_posted", "group": g, "ts": monday_ + WEEK, "member": "c"},
        {"kind": "member_listed", "group": g, "ts": monday_ + 3 * WEEK, "member": "c"},
        {"kind": "message_posted", "group": g, "ts": monday_ + 3 * WEEK, "member": "x"},
    ]
    ctx = small_context(rows, {g: "UTC"})
    table = run_metrics(ctx, ["retention.cohorts"])["retention.cohorts"].to_pylist()
    k0 = {r["cohort"]: r["cohort_size"] for r in table if r["group"] == g and r["k"] == 0}
    assert k0 == {
        datetime(2024, 1, 1): 1,  # b
        datetime(2024, 1, 8): 2,  # a, c
        datetime(2024, 1, 22): 1,  # x
    }


def test_exits_rejoins_and_the_whole_community() -> None:
    one, two = "whatsapp/one", "whatsapp/two"
    t0 = datetime(2024, 1, 1, 12)
    day = timedelta(days=1)
    rows = [
        # a: joins both groups, leaves two after 3 days; still in one, last post day 9
        {"kind": "member_joined", "group": one, "ts": t0, "member": "a"},
        {"kind": "member_joined", "group": two, "ts": t0, "member": "a"},
        {"kind": "message_posted", "group": one, "ts": t0 + 9 * day, "member": "a"},
        {"kind": "member_left", "group": two, "ts": t0 + 3 * day, "member": "a"},
        # b: a post and the removal at the same instant: gone (the exit wins the tie)
        {"kind": "member_joined", "group": one, "ts": t0, "member": "b"},
        {"kind": "message_posted", "group": one, "ts": t0 + 2 * day, "member": "b"},
        {"kind": "member_removed", "group": one, "ts": t0 + 2 * day, "member": "b"},
        # c: leaves on day 1, rejoins on day 8, posts on day 20
        {"kind": "member_joined", "group": one, "ts": t0, "member": "c"},
        {"kind": "member_left", "group": one, "ts": t0 + day, "member": "c"},
        {"kind": "member_joined", "group": one, "ts": t0 + 8 * day, "member": "c"},
        {"kind": "message_posted", "group": one, "ts": t0 + 20 * day, "member": "c"},
        {"kind": "message_posted", "group": two, "ts": t0 + 27 * day, "member": "z"},
    ]
    ctx = small_context(rows, {one: "UTC", two: "UTC"})
    res = run_metrics(ctx, ["retention.cohorts", "retention.summary"])
    member = {
        (r["group"], r["k"]): r["still_member"]
        for r in res["retention.cohorts"].to_pylist()
        if r["cohort"] == datetime(2024, 1, 1)
    }
    # week 0: b removed, c left; week 1: c is back
    assert [member[(one, k)] for k in range(4)] == [1, 2, 2, 2]
    assert [member[(two, k)] for k in range(4)] == [0, 0, 0, 0]
    assert [member[("*", k)] for k in range(4)] == [1, 2, 2, 2]  # a is still in one
    summary = {r["group"]: r for r in res["retention.summary"].to_pylist()}
    # lifetimes: a 9 days (last post; not gone from the community), b 2 (removed), c 20
    # (from the first join), z 0 (joined = first seen = only post)
    assert summary["*"]["median_lifetime_days"] == 5.5
    # in group two, a's lifetime ends with the exit (3 days); z's is 0
    assert summary[two]["median_lifetime_days"] == 1.5


# -- against the simulator's truth ---------------------------------------------------------


def truth_keys(community: Any, ctx: Context) -> dict[str, str]:
    """truth identity → member key (number changes are linked)."""
    links = {
        r["identity"]: r["member_key"]
        for r in ctx.log.links.to_pyarrow().to_pylist()
        if r["platform"] == "whatsapp"
    }
    out = {}
    for m in community.truth["members"]:
        keys = {links.get(i, f"whatsapp:{i}") for i in m["ids"]}
        assert len(keys) == 1, m
        key = keys.pop()
        out.update({i: key for i in m["ids"]})
    return out


def utc(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def truth_member_weeks(community: Any, ctx: Context) -> list[Row]:
    truth = community.truth
    zone = truth["timezone"]
    keys = truth_keys(community, ctx)
    posts: dict[str, set[datetime]] = defaultdict(set)
    events = pq.read_table(community.events_path, columns=["kind", "member", "ts_utc"])
    for e in events.to_pylist():
        if e["kind"] == "message_posted":
            posts[keys[e["member"]]].add(monday(local(e["ts_utc"], zone)))
    last = local(ctx.end, zone)
    out = []
    for m in truth["members"]:
        key = keys[m["id"]]
        cohort = monday(local(utc(m["joined_at"]), zone))  # type: ignore[arg-type]
        exit_at = utc(m["left_at"]) or utc(m["removed_at"])
        k = 0
        while cohort + k * WEEK < last:
            week = cohort + k * WEEK
            out.append(
                {
                    "member": key,
                    "cohort": cohort,
                    "k": k,
                    "complete": week + WEEK <= last,
                    "posted": week in posts[key],
                    "is_member": exit_at is None or local(exit_at, zone) >= week + WEEK,
                }
            )
            k += 1
    return out


def test_cohorts_follow_the_simulated_joins_posts_and_churn(
    community: Any, duckdb_context: Context
) -> None:
    results = run_metrics(duckdb_context, ["retention.cohorts", "retention.summary"])
    expected: dict[tuple[datetime, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in truth_member_weeks(community, duckdb_context):
        t = expected[(r["cohort"], r["k"])]
        t[0] += 1
        t[1] += r["posted"]
        t[2] += r["is_member"]
    rows = [r for r in results["retention.cohorts"].to_pylist() if r["group"] != "*"]
    got = {
        (r["cohort"], r["k"]): [r["cohort_size"], r["still_posting"], r["still_member"]]
        for r in rows
    }
    assert got == dict(expected)
    # every member joined once; the churned ones are the only ones who stop being members
    truth = community.truth
    churned = len(truth["churn"])
    last_k: dict[datetime, Row] = {}
    for r in sorted(rows, key=lambda r: (r["cohort"], r["k"])):
        last_k[r["cohort"]] = r
    assert sum(r["cohort_size"] - r["still_member"] for r in last_k.values()) == churned
    assert sum(r["cohort_size"] for r in last_k.values()) == len(truth["members"])


def test_summary_from_the_truth(community: Any, duckdb_context: Context) -> None:
    truth = community.truth
    keys = truth_keys(community, duckdb_context)
    last_post: dict[str, datetime] = {}
    events = pq.read_table(community.events_path, columns=["kind", "member", "ts_utc"])
    for e in events.to_pylist():
        if e["kind"] == "message_posted":
            k = keys[e["member"]]
            last_post[k] = max(last_post.get(k, e["ts_utc"]), e["ts_utc"])
    lives = []
    for m in truth["members"]:
        joined = utc(m["joined_at"])
        end = utc(m["left_at"]) or utc(m["removed_at"]) or last_post.get(keys[m["id"]])
        if end is not None and joined is not None:
            lives.append(max(0.0, (end - joined).total_seconds()))
    weeks = truth_member_weeks(community, duckdb_context)
    mature = {w["member"] for w in weeks if w["k"] == 5 and w["complete"]}
    posted = {(w["member"], w["k"]) for w in weeks if w["posted"]}
    row = {
        r["group"]: r
        for r in run_metrics(duckdb_context, ["retention.summary"])["retention.summary"].to_pylist()
    }
    group = next(g for g in row if g != "*")
    assert row[group] == row["*"] | {"group": group}
    ours = row[group]
    assert ours["members"] == len(truth["members"])
    assert ours["lifetime_members"] == len(lives)
    assert ours["median_lifetime_days"] == pytest.approx(statistics.median(lives) / 86400)
    assert ours["cliff_members"] == len(mature)
    assert ours["week1_posting_share"] == pytest.approx(
        sum((m, 1) in posted for m in mature) / len(mature)
    )
    assert ours["week4_posting_share"] == pytest.approx(
        sum((m, 4) in posted for m in mature) / len(mature)
    )
    assert ours["dropped_3_to_5"] == sum((m, 3) in posted and (m, 5) not in posted for m in mature)
