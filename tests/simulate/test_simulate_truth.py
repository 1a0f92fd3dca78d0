"""truth.json and truth_events.parquet agree with each other and with the written file."""

from __future__ import annotations

import itertools
from collections import Counter

import pyarrow.parquet as pq
import pytest
from simhelp import Sim

from shequn.events import AttachmentKind, EventKind, JoinMethod
from shequn.identity import identity_of
from shequn.simulate.truth import TRUTH_SCHEMA

COUNTED = {
    "messages": EventKind.MESSAGE_POSTED,
    "deleted": EventKind.MESSAGE_DELETED,
    "joins": EventKind.MEMBER_JOINED,
    "leaves": EventKind.MEMBER_LEFT,
    "removals": EventKind.MEMBER_REMOVED,
    "group_created": EventKind.GROUP_CREATED,
    "renames": EventKind.GROUP_RENAMED,
    "description_changes": EventKind.GROUP_DESCRIPTION_CHANGED,
    "icon_changes": EventKind.GROUP_ICON_CHANGED,
    "number_changes": EventKind.MEMBER_NUMBER_CHANGED,
    "security_notices": EventKind.SECURITY_NOTICE,
    "system_notices": EventKind.SYSTEM_NOTICE,
}


@pytest.fixture(params=["android", "ios"])
def sim(request: pytest.FixtureRequest) -> Sim:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_parquet_schema(sim: Sim) -> None:
    assert pq.read_schema(sim.summary.events_path) == TRUTH_SCHEMA
    kinds = {r["kind"] for r in sim.rows}
    assert kinds <= {str(k) for k in EventKind}
    assert {r["attachment_kind"] for r in sim.rows} - {None} <= {str(k) for k in AttachmentKind}
    assert {r["join_method"] for r in sim.rows} - {None} <= {str(k) for k in JoinMethod}


def test_counts_equal_parquet_rows(sim: Sim) -> None:
    counts = sim.truth["counts"]
    kinds = Counter(r["kind"] for r in sim.rows)
    for name, kind in COUNTED.items():
        assert counts[name] == kinds[kind], name
    assert counts["events"] == len(sim.rows)
    assert counts["messages"] == sim.summary.messages == 20_000
    assert counts["members"] == len(sim.truth["members"]) == 300
    joins = Counter(r["join_method"] for r in sim.rows if r["kind"] == "member_joined")
    assert counts["joins_added"] == joins["added"]
    assert counts["joins_invite_link"] == joins["invite_link"]
    assert counts["joins"] == 299  # everyone but the creator joins once
    assert counts["replies"] == sum(r["reply_to_line"] is not None for r in sim.rows)
    assert counts["mentions"] == sum(len(r["mentions"]) for r in sim.rows)
    media = Counter(r["attachment_kind"] is not None for r in sim.posted)
    assert media[True] == counts["media_omitted"] + counts["attachments"]
    assert counts["text_messages"] == sum(r["text"] is not None for r in sim.posted)


def test_counts_equal_lines_in_the_file(sim: Sim) -> None:
    counts = sim.truth["counts"]
    header = sim.header()
    headed = sum(1 for line in sim.lines if header.match(line))
    assert headed == counts["messages"] + counts["system_lines"]
    assert len(sim.lines) == counts["lines"] == sim.summary.lines
    assert len({r["line"] for r in sim.rows}) == headed
    system_lines = {
        r["line"] for r in sim.rows if r["kind"] not in ("message_posted", "message_deleted")
    }
    assert len(system_lines) == counts["system_lines"]


def test_every_row_points_at_its_line(sim: Sim) -> None:
    """Each message's lines in the file are its header, its author and its text exactly."""
    header = sim.header()
    starts = [*sorted({r["line"] for r in sim.rows}), len(sim.lines) + 1]
    span = dict(itertools.pairwise(starts))
    ios = sim.options.get("layout") == "ios"
    for r in sim.rows:
        first = sim.lines[r["line"] - 1]
        m = header.match(first)
        assert m, first
        assert r["ts_raw"] in m.group(0)
        record = "\n".join(sim.lines[r["line"] - 1 : span[r["line"]] - 1])[m.end() :]
        if r["kind"] != "message_posted":
            if r["member_name"] is not None:
                assert r["member_name"] in record
            continue
        assert record.startswith(r["member_name"] + ": ")
        body = record[len(r["member_name"]) + 2 :]
        if r["text"] is not None:
            assert body == r["text"]
        elif r["attachment_kind"] is not None:
            assert body.startswith("\u200e") == ios
        else:
            assert body.lstrip("\u200e") in ("This message was deleted", "You deleted this message")


def test_members_identities(sim: Sim) -> None:
    members = sim.truth["members"]
    ids = [i for m in members for i in m["ids"]]
    assert len(ids) == len(set(ids))
    for m in members:
        assert m["id"] in m["ids"]
        assert {identity_of(n) for n in m["names"]} == set(m["ids"])
    written = {r["member"] for r in sim.rows if r["member"]}
    assert written <= set(ids)
    phone = [m for m in members if m["id"].startswith("+")]
    assert phone and all(m["id"][1:].isdigit() for m in phone)
    changed = [m for m in members if len(m["ids"]) == 2]
    assert len(changed) == 1  # the member whose number changed


def test_a_changed_number_is_written_from_the_notice_on(sim: Sim) -> None:
    (member,) = [m for m in sim.truth["members"] if len(m["ids"]) == 2]
    old, new = member["ids"]
    (notice,) = [r for r in sim.rows if r["kind"] == "member_number_changed" and r["text"]]
    assert (notice["member"], notice["text"]) == (old, new)
    for r in sim.posted:
        if r["member"] in (old, new):
            assert r["member"] == (old if r["line"] < notice["line"] else new)


def test_exporter_and_you_rows(sim: Sim) -> None:
    exporter = sim.truth["exporter"]
    me = next(m for m in sim.truth["members"] if m["exporter"])
    assert me["id"] == exporter["id"] == identity_of(exporter["name"])
    you_rows = [r for r in sim.rows if r["member"] == me["id"] and r["member_name"] is None]
    assert any(r["kind"] == "member_joined" for r in you_rows)  # "Alice added you"
    by_me = Counter(r["kind"] for r in sim.rows if r["by_member"] == me["id"])
    assert by_me["member_joined"] >= 1 and by_me["member_removed"] >= 1  # "You added/removed"
    assert me["messages"] > 0


def test_deleted_messages_are_posted_then_deleted(sim: Sim) -> None:
    rows = sim.rows
    deleted = [i for i, r in enumerate(rows) if r["kind"] == "message_deleted"]
    assert deleted
    for i in deleted:
        posted = rows[i - 1]
        assert posted["kind"] == "message_posted" and posted["line"] == rows[i]["line"]
        assert posted["text"] is None and posted["attachment_kind"] is None


def test_truth_json_shape(sim: Sim) -> None:
    t = sim.truth
    assert t["platform"] == "whatsapp"
    assert t["group"]["name"] == sim.summary.group_name == t["group"]["subjects"][-1]
    assert t["export"]["file"] == sim.summary.export_path.name
    assert t["timezone"] == "Asia/Shanghai"
    member = t["members"][0]
    assert set(member) >= {
        "id",
        "ids",
        "names",
        "role",
        "joined_at",
        "join_method",
        "invited_by",
        "left_at",
        "removed_at",
        "removed_by",
        "messages",
    }
    ids = {m["id"] for m in t["members"]}
    children = t["invite_tree"]["children"]
    assert set(children) <= ids and {c for cs in children.values() for c in cs} <= ids
    assert sum(len(cs) for cs in children.values()) == len(ids) - 1
    churn_dates = [c["at"] for c in t["churn"]]
    assert churn_dates == sorted(churn_dates)


def test_member_times_are_as_precise_as_the_export(sim: Sim) -> None:
    """Join times in truth.json are the times of the join lines, to the export's precision."""
    joined = {r["member"]: r["ts_utc"] for r in sim.rows if r["kind"] == "member_joined"}
    for m in sim.truth["members"]:
        if m["id"] in joined:
            assert m["joined_at"] == joined[m["id"]].isoformat() + "Z"
