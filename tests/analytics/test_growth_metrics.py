"""Growth metrics against the simulator's truth (WhatsApp and WeChat) and hand-made logs."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shequn.analytics.context import Context, build_context
from shequn.analytics.runner import run_metrics
from shequn.analytics.source import Log, arrow, duckdb_log
from shequn.events import EVENT_SCHEMA, natural_key
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import open_store

GROWTH = (
    "growth.joins_by_source",
    "growth.joins",
    "growth.invite_tree",
    "growth.generations",
    "growth.k_factor",
    "growth.cycle_time",
    "growth.inviters",
    "growth.flow",
)


# ---------------------------------------------------------------- simulated communities
class Sim:
    """A simulated export imported into a store: its context, truth and member keys."""

    def __init__(self, ctx: Context, truth: dict[str, Any], events: Path) -> None:
        self.ctx = ctx
        self.truth = truth
        self.events = pq.read_table(events).to_pylist()
        self.platform = truth["platform"]
        self.zone = ZoneInfo(truth["timezone"])
        self.links = {r["identity"]: r["member_key"] for r in arrow(ctx.log.links).to_pylist()}
        self.results = run_metrics(ctx, GROWTH)
        (self.group,) = ctx.timezones

    def key(self, identity: str | None) -> str | None:
        if identity is None:
            return None
        return self.links.get(identity, f"{self.platform}:{identity}")

    def week(self, utc: datetime | str) -> datetime:
        if isinstance(utc, str):
            utc = datetime.fromisoformat(utc.replace("Z", "+00:00"))
        if utc.tzinfo is None:
            utc = utc.replace(tzinfo=UTC)
        local = utc.astimezone(self.zone).date()
        monday = local - timedelta(days=local.weekday())
        return datetime(monday.year, monday.month, monday.day)

    def rows(self, name: str, group: str | None = None) -> list[dict[str, Any]]:
        wanted = group or self.group
        return [r for r in self.results[name].to_pylist() if r["group"] == wanted]

    def inviter(self, member: dict[str, Any]) -> str | None:
        """The inviter the export shows: WhatsApp only adders, WeChat also QR owners."""
        if self.platform == "whatsapp":
            return self.key(member["invited_by"])
        return self.key(member["invited_by"] or member["referred_by"])

    def generation(self, member: dict[str, Any]) -> int:
        return int(member["visible_depth"] if self.platform == "whatsapp" else member["depth"])


@pytest.fixture(scope="module")
def whatsapp(community: Any, duckdb_context: Context) -> Sim:
    return Sim(duckdb_context, community.truth, community.events_path)


@pytest.fixture(scope="module")
def wechat(tmp_path_factory: pytest.TempPathFactory) -> Sim:
    root = tmp_path_factory.mktemp("growth_wechat")
    summary = simulate_export(
        format="wechat",
        variant="memotrace",
        members=120,
        messages=4000,
        days=60,
        seed=5,
        out=root / "sim",
        timezone="Asia/Shanghai",
    )
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    with open_store(root / "store.duckdb") as store:
        run_import(
            store, summary.export_path, ImportSettings(community="c", timezone="Asia/Shanghai")
        )
    return Sim(build_context(duckdb_log(root / "store.duckdb")), truth, summary.events_path)


@pytest.fixture(params=["whatsapp", "wechat"])
def sim(request: pytest.FixtureRequest) -> Sim:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- against the truth
def test_invite_tree_is_the_truth(sim: Sim) -> None:
    tree = {r["member"]: r for r in sim.rows("growth.invite_tree")}
    expected = {sim.key(m["id"]): (sim.inviter(m), sim.generation(m)) for m in sim.truth["members"]}
    assert {m: (r["inviter"], r["generation"]) for m, r in tree.items()} == expected
    assert (
        max(r["generation"] for r in tree.values())
        == (sim.truth["invite_tree"]["visible_depth" if sim.platform == "whatsapp" else "depth"])
    )
    children = Counter(parent for parent, _ in expected.values() if parent is not None)
    assert {m: r["invitees"] for m, r in tree.items()} == {m: children[m] for m in expected}
    creator = sim.key(sim.truth["group"]["created_by"])
    assert tree[creator]["generation"] == 0 and tree[creator]["joined"] is None


def test_generations_and_k_are_the_truth(sim: Sim) -> None:
    sizes = Counter(sim.generation(m) for m in sim.truth["members"])
    expected = [
        (g, sizes[g], sizes.get(g + 1, 0), sizes.get(g + 1, 0) / sizes[g]) for g in sorted(sizes)
    ]
    got = [
        (r["generation"], r["members"], r["invitees"], r["k"])
        for r in sim.rows("growth.generations")
    ]
    assert got == expected
    star = [
        (r["generation"], r["members"], r["invitees"], r["k"])
        for r in sim.rows("growth.generations", "*")
    ]
    assert star == expected


def test_joins_by_source_are_the_truth(sim: Sim) -> None:
    source = {
        "added": "added",
        "invite_link": "qr_code" if sim.platform == "wechat" else "invite_link",
    }
    expected = Counter(
        (sim.week(m["joined_at"]), source[m["join_method"]])
        for m in sim.truth["members"]
        if m["join_method"] != "unknown"
    )
    got = {(r["week"], r["source"]): r["joins"] for r in sim.rows("growth.joins_by_source")}
    assert got == dict(expected)


def test_flow_is_the_truth(sim: Sim) -> None:
    joins = Counter(
        sim.week(m["joined_at"]) for m in sim.truth["members"] if m["join_method"] != "unknown"
    )
    exits = Counter((sim.week(c["at"]), c["kind"]) for c in sim.truth["churn"])
    if sim.platform == "wechat":  # WeChat writes no line when a member leaves
        exits = Counter({k: n for k, n in exits.items() if k[1] == "removed"})
    rows = sim.rows("growth.flow")
    weeks = [r["week"] for r in rows]
    assert weeks == [weeks[0] + timedelta(weeks=i) for i in range(len(weeks))]
    total = 0
    for r in rows:
        w = r["week"]
        assert (r["joins"], r["leaves"], r["removals"]) == (
            joins[w],
            exits[(w, "left")],
            exits[(w, "removed")],
        )
        total += r["net"]
        assert r["cumulative_net"] == total


def test_k_factor_is_the_truth(sim: Sim) -> None:
    gone: dict[str, str] = {}
    for c in sim.truth["churn"]:
        if sim.platform == "whatsapp" or c["kind"] == "removed":
            gone[c["member"]] = c["at"]
    invited = Counter(sim.week(m["joined_at"]) for m in sim.truth["members"] if sim.inviter(m))
    for r in sim.rows("growth.k_factor"):
        w = r["week"]
        present = [
            m
            for m in sim.truth["members"]
            if sim.week(m["joined_at"]) < w
            and (m["id"] not in gone or sim.week(gone[m["id"]]) >= w)
        ]
        assert r["members_at_start"] == len(present), w
        assert r["invited"] == invited[w]
        assert r["k"] == (invited[w] / len(present) if present else None)


def test_inviters_are_the_truth(sim: Sim) -> None:
    gone = {
        c["member"]
        for c in sim.truth["churn"]
        if sim.platform == "whatsapp" or c["kind"] == "removed"
    }
    posters = {sim.key(e["member"]) for e in sim.events if e["kind"] == "message_posted"}
    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for m in sim.truth["members"]:
        inviter = sim.inviter(m)
        if inviter is None:
            continue
        expected[inviter][0] += 1
        expected[inviter][1] += m["id"] not in gone
        expected[inviter][2] += sim.key(m["id"]) in posters
    rows = sim.rows("growth.inviters")
    assert {r["member"]: [r["invitees"], r["still_members"], r["posted"]] for r in rows} == dict(
        expected
    )
    ranking = sorted(expected, key=lambda k: (-expected[k][0], -expected[k][1], -expected[k][2], k))
    assert [r["member"] for r in sorted(rows, key=lambda r: r["rank"])] == ranking


def test_cycle_time_is_the_truth(sim: Sim) -> None:
    joined = {sim.key(m["id"]): m for m in sim.truth["members"]}
    first: dict[str, datetime] = {}
    for m in sim.truth["members"]:
        inviter = sim.inviter(m)
        at = datetime.fromisoformat(m["joined_at"].replace("Z", "+00:00"))
        if inviter is not None and (inviter not in first or at < first[inviter]):
            first[inviter] = at
    gaps = [
        (at - datetime.fromisoformat(joined[i]["joined_at"].replace("Z", "+00:00"))).total_seconds()
        for i, at in first.items()
        if joined[i]["join_method"] != "unknown"
    ]
    gaps = [g for g in gaps if g >= 0]
    (row,) = sim.rows("growth.cycle_time")
    assert row["inviters"] == len(gaps)
    assert row["median_cycle_seconds"] == statistics.median(gaps)


# ---------------------------------------------------------------- hand-made small logs
BERLIN = "Europe/Berlin"


def event(
    kind: str,
    when: str,
    member: str | None,
    by: str | None = None,
    method: str | None = None,
    group: str = "g",
    text: str | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(EVENT_SCHEMA.names)
    row.update(
        key=natural_key(kind, when, member, by, group, text),
        schema_version=2,
        kind=kind,
        platform="wechat",
        community="c",
        group_id=group,
        ts=datetime.fromisoformat(when),
        member_id=member,
        by_member_id=by,
        join_method=method,
        text=text,
        is_bot=False,
        import_id=1,
    )
    return row


def small_context(rows: list[dict[str, Any]], zone: str = BERLIN) -> Context:
    """A log of ``rows`` in a fresh in-memory DuckDB, every group on ``zone``'s clock."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    groups = sorted({r["group_id"] for r in rows})
    tables = {
        "events": pa.Table.from_pylist(rows, schema=EVENT_SCHEMA),
        "identity_links": pa.table(
            {"platform": ["-"], "identity": ["-"], "member_key": ["-"], "import_id": [0]}
        ),
        "groups": pa.table(
            {
                "community": ["c"] * len(groups),
                "platform": [rows[0]["platform"]] * len(groups),
                "group_id": groups,
                "name": groups,
                "timezone": [zone] * len(groups),
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


#: group g: c (creator, never joins) adds a and b; a adds d; x joins by link and adds y;
#: b scans d's QR code for e; d leaves, y is removed; group h: a joins by link, adds c.
SMALL = [
    event("message_posted", "2024-01-01 09:00:00", "c", text="hello"),
    event("member_joined", "2024-01-01 10:00:00", "a", "c", "added"),
    event("member_joined", "2024-01-01 10:00:00", "b", "c", "added"),
    event("member_joined", "2024-01-03 12:00:00", "d", "a", "added"),
    event("member_joined", "2024-01-09 08:00:00", "x", None, "invite_link"),
    event("member_joined", "2024-01-10 08:00:00", "y", "x", "added"),
    event("member_joined", "2024-01-16 20:00:00", "e", "d", "qr_code"),
    event("message_posted", "2024-01-17 09:00:00", "e", text="hi"),
    event("member_left", "2024-01-18 09:00:00", "d"),
    event("member_removed", "2024-01-24 09:00:00", "y", "c"),
    event("member_joined", "2024-01-02 10:00:00", "a", None, "invite_link", group="h"),
    event("member_joined", "2024-01-11 10:00:00", "c", "a", "added", group="h"),
]


def plain_generations(edges: dict[str, str | None]) -> dict[str, int]:
    """Walk each member up to a root, counting steps — no graph library."""
    out = {}
    for member in edges:
        steps, at = 0, member
        while edges.get(at) is not None:
            at = str(edges[at])
            steps += 1
        out[member] = steps
    return out


def test_small_log_tree_and_generations() -> None:
    results = run_metrics(small_context(SMALL), GROWTH)
    tree = {(r["group"], r["member"]): r for r in results["growth.invite_tree"].to_pylist()}
    edges_g = {
        "wechat:c": None,
        "wechat:a": "wechat:c",
        "wechat:b": "wechat:c",
        "wechat:d": "wechat:a",
        "wechat:x": None,
        "wechat:y": "wechat:x",
        "wechat:e": "wechat:d",
    }
    edges_h = {"wechat:a": None, "wechat:c": "wechat:a"}
    for group, edges in (("wechat/g", edges_g), ("wechat/h", edges_h)):
        expected = plain_generations(edges)
        got = {m: r["generation"] for (g, m), r in tree.items() if g == group}
        assert got == expected
        assert {m: r["inviter"] for (g, m), r in tree.items() if g == group} == edges
    assert tree[("wechat/g", "wechat:c")]["descendants"] == 4
    assert tree[("wechat/g", "wechat:e")]["root"] == "wechat:c"
    gens = {
        (r["group"], r["generation"]): (r["members"], r["k"])
        for r in results["growth.generations"].to_pylist()
    }
    assert gens[("wechat/g", 0)] == (2, 3 / 2)
    assert gens[("wechat/g", 1)] == (3, 1 / 3)
    assert gens[("wechat/g", 2)] == (1, 1.0)
    assert gens[("wechat/g", 3)] == (1, 0.0)
    assert gens[("*", 0)] == (3, 4 / 3)


def test_small_log_weekly_counts() -> None:
    results = run_metrics(small_context(SMALL), GROWTH)
    w1, w2, w3, w4 = (datetime(2024, 1, d) for d in (1, 8, 15, 22))
    flow = {
        (r["group"], r["week"]): (r["joins"], r["leaves"], r["removals"], r["net"])
        for r in results["growth.flow"].to_pylist()
    }
    assert flow[("wechat/g", w1)] == (3, 0, 0, 3)
    assert flow[("wechat/g", w3)] == (1, 1, 0, 0)
    assert flow[("wechat/g", w4)] == (0, 0, 1, -1)
    assert flow[("*", w2)] == (3, 0, 0, 3)
    k = {
        (r["group"], r["week"]): (r["members_at_start"], r["invited"], r["k"])
        for r in results["growth.k_factor"].to_pylist()
    }
    # week 2 in g: c, a, b, d present; y was added by x
    assert k[("wechat/g", w2)] == (4, 1, 0.25)
    # week 3: x and y joined in week 2; e scanned d's code
    assert k[("wechat/g", w3)] == (6, 1, 1 / 6)
    # week 4: d left in week 3 → 6 present (c a b x y e)
    assert k[("wechat/g", w4)] == (6, 0, 0.0)
    assert k[("wechat/g", w1)] == (0, 3, None)
    # community: c, a, b, d (g) and a (h) → 4 distinct people at the start of week 2
    assert k[("*", w2)][0] == 4
    sources = {
        (r["group"], r["week"], r["source"]): r["joins"]
        for r in results["growth.joins_by_source"].to_pylist()
    }
    assert sources[("wechat/g", w3, "qr_code")] == 1
    assert sources[("*", w1, "invite_link")] == 1


def test_small_log_inviters_and_cycle() -> None:
    results = run_metrics(small_context(SMALL), GROWTH)
    best = [
        (r["member"], r["invitees"], r["still_members"], r["posted"])
        for r in results["growth.inviters"].to_pylist()
        if r["group"] == "wechat/g"
    ]
    assert best == [
        ("wechat:c", 2, 2, 0),
        ("wechat:d", 1, 1, 1),
        ("wechat:a", 1, 0, 0),
        ("wechat:x", 1, 0, 0),
    ]
    cycles = {
        r["group"]: (r["inviters"], r["median_cycle_seconds"])
        for r in results["growth.cycle_time"].to_pylist()
    }
    hour = 3600
    # g: a 2 days + 2 h, d 13 days + 8 h, x 1 day; h: a 9 days
    g = [2 * 86400 + 2 * hour, 13 * 86400 + 8 * hour, 86400]
    h = [9 * 86400]
    assert cycles["wechat/g"] == (3, statistics.median(g))
    assert cycles["wechat/h"] == (1, statistics.median(h))
    assert cycles["*"] == (4, statistics.median(g + h))


def test_a_cycle_of_first_joins_still_gives_a_tree() -> None:
    rows = [
        event("member_joined", "2024-01-02 10:00:00", "a", "b", "added"),
        event("member_joined", "2024-01-03 10:00:00", "b", "a", "added"),
        event("member_joined", "2024-01-04 10:00:00", "c", "b", "added"),
    ]
    tree = {
        r["member"]: (r["generation"], r["inviter"])
        for r in run_metrics(small_context(rows), ["growth.invite_tree"])[
            "growth.invite_tree"
        ].to_pylist()
    }
    assert tree == {"wechat:a": (0, None), "wechat:b": (1, "wechat:a"), "wechat:c": (2, "wechat:b")}


def test_weeks_follow_local_time() -> None:
    # Sunday 23:30 UTC is Monday 00:30 in Berlin: the join belongs to the new week
    rows = [event("member_joined", "2024-01-07 23:30:00", "a", "b", "added")]
    (row,) = [
        r
        for r in run_metrics(small_context(rows), ["growth.flow"])["growth.flow"].to_pylist()
        if r["group"] == "*"
    ]
    assert row["week"] == datetime(2024, 1, 8)
    assert date(2024, 1, 8).weekday() == 0
