"""One suite, both stores: the ledger, idempotent writes, undo, stats, groups."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from shequn.errors import ImportNotFound
from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, natural_key
from shequn.store import ImportSpec, Reject, Store, Window


def _events(rows: list[dict[str, object]], import_id: int) -> pa.Table:
    base = {name: None for name in EVENT_SCHEMA.names}
    full = []
    for i, row in enumerate(rows):
        event = {
            **base,
            "schema_version": SCHEMA_VERSION,
            "platform": "whatsapp",
            "community": "c",
            "group_id": "g",
            "is_bot": False,
            "import_id": import_id,
            "source_line": i + 1,
            **row,
        }
        event.setdefault("key", None)
        if event["key"] is None:
            event["key"] = natural_key(
                event["group_id"], event["kind"], event["member_id"], event["ts"], event["text"]
            )
        full.append(event)
    return pa.Table.from_pylist(full, schema=EVENT_SCHEMA)


def _spec(fingerprint: str = "f1", group: str = "g") -> ImportSpec:
    return ImportSpec(
        community="c",
        platform="whatsapp",
        group_id=group,
        source="x.txt",
        fingerprint=fingerprint,
        options={"timezone": "UTC"},
    )


T0 = datetime(2024, 1, 1, 12, 0)
T1 = datetime(2024, 1, 2, 12, 0)

ROWS = [
    {
        "kind": "message_posted",
        "member_id": "Alice",
        "ts": T0,
        "text": "hi",
        "mentions": ["Bob", 'we"ird,{x}'],
    },
    {"kind": "message_posted", "member_id": "Bot", "ts": T0, "text": "beep", "is_bot": True},
    {
        "kind": "message_posted",
        "member_id": "Bob",
        "ts": T1,
        "text": None,
        "extra": '{"deleted": true}',
    },
    {"kind": "message_deleted", "member_id": "Bob", "ts": T1},
    {
        "kind": "member_joined",
        "member_id": "Carol",
        "by_member_id": "Alice",
        "ts": T0,
        "join_method": "added",
    },
    {
        "kind": "member_joined",
        "member_id": "Dave",
        "by_member_id": "Alice",
        "ts": T0,
        "join_method": "added",
    },
    {"kind": "member_left", "member_id": "Dave", "ts": T1},
    {"kind": "member_removed", "member_id": "Carol", "by_member_id": "Alice", "ts": T1},
    {"kind": "reaction_added", "member_id": "Bob", "ts": T1, "text": "👍"},
    {"kind": "message_edited", "member_id": "Alice", "ts": T1, "text": "hi!"},
]


def test_write_batch_is_idempotent_and_counts(store: Store) -> None:
    record = store.begin_import(_spec())
    events = _events(ROWS, record.import_id)
    assert store.write_batch(record.import_id, events, [], position=10, records_read=10) == 10
    assert store.write_batch(record.import_id, events, [], position=10, records_read=10) == 0
    again = store.get_import(record.import_id)
    assert (again.events_stored, again.duplicates, again.position) == (10, 10, 10)
    stored = store.events()
    assert stored.num_rows == 10
    alice = stored.filter(pa.compute.equal(stored["text"], "hi")).to_pylist()[0]
    assert alice["mentions"] == ["Bob", 'we"ird,{x}']


def test_a_key_repeated_inside_one_batch_is_stored_once(store: Store) -> None:
    record = store.begin_import(_spec())
    events = _events(ROWS, record.import_id)
    doubled = pa.concat_tables([events.slice(0, 3), events.slice(1, 1), events.slice(3)])
    assert store.write_batch(record.import_id, doubled, [], position=11, records_read=11) == 10
    assert store.get_import(record.import_id).duplicates == 1
    assert sorted(store.events()["key"].to_pylist()) == sorted(events["key"].to_pylist())


def test_stats_follow_the_definitions(store: Store) -> None:
    record = store.begin_import(_spec())
    store.write_batch(
        record.import_id,
        _events(ROWS, record.import_id),
        [Reject("x.txt", 3, "bad date", "raw")],
        position=10,
        records_read=11,
    )
    stats = store.stats()
    assert stats == {
        "groups": 1,
        "members": 5,
        "messages": 3,
        "bot_messages": 1,
        "deleted_messages": 1,
        "joins": 2,
        "leaves": 1,
        "removals": 1,
        "reactions": 1,
        "first": "2024-01-01T12:00:00Z",
        "last": "2024-01-02T12:00:00Z",
        "by_platform": {"whatsapp": {"groups": 1, "messages": 3, "members": 5}},
        "rejected_records": 1,
    }
    assert store.stats(Window(since=T1))["messages"] == 1
    assert store.stats(Window(until=T1))["messages"] == 2
    assert store.stats(Window(community="other"))["messages"] == 0


def test_identity_links_merge_members(store: Store) -> None:
    record = store.begin_import(_spec())
    rows = [
        {"kind": "message_posted", "member_id": "+1555", "ts": T0, "text": "a"},
        {"kind": "message_posted", "member_id": "+1666", "ts": T1, "text": "b"},
    ]
    store.write_batch(record.import_id, _events(rows, record.import_id), [], 2, 2)
    assert store.stats()["members"] == 2
    store.link_identities("whatsapp", "+1666", "whatsapp:+1555")
    assert store.stats()["members"] == 1


def test_begin_import_resumes_unfinished_and_not_finished(store: Store) -> None:
    first = store.begin_import(_spec())
    store.write_batch(first.import_id, _events(ROWS[:3], first.import_id), [], 3, 3)
    resumed = store.begin_import(_spec())
    assert resumed.import_id == first.import_id and resumed.resumed and resumed.position == 3
    store.finish_import(first.import_id, "complete", media={"image": 2})
    fresh = store.begin_import(_spec())
    assert fresh.import_id != first.import_id and not fresh.resumed and fresh.position == 0
    assert store.get_import(first.import_id).media == '{"image": 2}'


def test_undo_removes_only_that_imports_events(store: Store) -> None:
    a = store.begin_import(_spec("fa"))
    store.write_batch(a.import_id, _events(ROWS[:2], a.import_id), [], 2, 2)
    b = store.begin_import(_spec("fb"))
    store.write_batch(b.import_id, _events(ROWS[4:6], b.import_id), [], 2, 2)
    assert store.undo_import(a.import_id) == 2
    assert store.stats()["messages"] == 0 and store.stats()["joins"] == 2
    assert store.get_import(a.import_id).status == "undone"
    with pytest.raises(ImportNotFound):
        store.undo_import(999)


def test_groups_and_rejects(store: Store) -> None:
    store.upsert_group("c", "whatsapp", "g", "Group G", "Asia/Shanghai")
    store.upsert_group("c", "whatsapp", "g", "Group G renamed", "Asia/Shanghai")
    store.upsert_group("d", "whatsapp", "h", "H", "UTC")
    record = store.begin_import(_spec())
    store.write_batch(
        record.import_id,
        _events(ROWS[:2], record.import_id),
        [Reject("x.txt", 7, "why", "line")],
        2,
        3,
    )
    groups = store.groups()
    assert [(g.community, g.group_id, g.name, g.messages) for g in groups] == [
        ("c", "g", "Group G renamed", 2),
        ("d", "h", "H", 0),
    ]
    assert [g.group_id for g in store.groups(Window(community="d"))] == ["h"]
    assert store.rejects(record.import_id) == [Reject("x.txt", 7, "why", "line")]


def test_a_failed_batch_leaves_nothing_behind(store: Store) -> None:
    record = store.begin_import(_spec())
    good = _events(ROWS[:2], record.import_id)
    store.write_batch(record.import_id, good, [], 2, 2)
    broken = _events(ROWS[2:4], record.import_id).set_column(
        6, "ts", pa.array([None, None], pa.timestamp("us"))
    )  # NOT NULL violated
    with pytest.raises(Exception):  # noqa: B017 - the store's own driver error
        store.write_batch(record.import_id, broken, [], 4, 2)
    assert store.events().num_rows == 2
    assert store.get_import(record.import_id).position == 2


def test_number_change_chains_are_one_member_and_undo_unlinks(store: Store) -> None:
    record = store.begin_import(_spec())
    rows = [
        {"kind": "message_posted", "member_id": "+1", "ts": T0, "text": "a"},
        {"kind": "member_number_changed", "member_id": "+1", "ts": T0, "text": "+2"},
        {"kind": "message_posted", "member_id": "+2", "ts": T0, "text": "b"},
        {"kind": "member_number_changed", "member_id": "+2", "ts": T1, "text": "+3"},
        {"kind": "message_posted", "member_id": "+3", "ts": T1, "text": "c"},
    ]
    store.write_batch(record.import_id, _events(rows, record.import_id), [], 5, 5)
    assert store.stats()["members"] == 1
    store.undo_import(record.import_id)
    again = store.begin_import(_spec("other"))
    store.write_batch(again.import_id, _events(rows[::2], again.import_id), [], 5, 3)
    assert store.stats()["members"] == 3  # the links went with the undone import


def test_undoing_a_reimport_keeps_the_links_the_first_import_made(store: Store) -> None:
    rows = [
        {"kind": "message_posted", "member_id": "+1", "ts": T0, "text": "a"},
        {"kind": "member_number_changed", "member_id": "+1", "ts": T0, "text": "+2"},
        {"kind": "message_posted", "member_id": "+2", "ts": T1, "text": "b"},
    ]
    first = store.begin_import(_spec())
    store.write_batch(first.import_id, _events(rows, first.import_id), [], 3, 3)
    again = store.begin_import(_spec("again"))
    assert store.write_batch(again.import_id, _events(rows, again.import_id), [], 3, 3) == 0
    store.undo_import(again.import_id)  # it stored nothing, so it takes nothing away
    assert store.stats()["members"] == 1
    assert store.events().num_rows == 3


def test_groups_count_community_and_name_together(store: Store) -> None:
    for community in ("a", "b"):
        record = store.begin_import(
            ImportSpec(
                community=community,
                platform="whatsapp",
                group_id="One",
                source="x",
                fingerprint=community,
            )
        )
        rows = [
            {
                "kind": "message_posted",
                "member_id": "m",
                "ts": T0,
                "text": community,
                "community": community,
                "group_id": "One",
            }
        ]
        store.write_batch(record.import_id, _events(rows, record.import_id), [], 1, 1)
    assert store.stats()["groups"] == 2
    assert store.stats()["by_platform"]["whatsapp"]["groups"] == 2


def test_ids_come_from_a_sequence_and_survive_undo(store: Store) -> None:
    first = store.begin_import(_spec("s1"))
    store.finish_import(first.import_id, "complete")
    second = store.begin_import(_spec("s2"))
    assert second.import_id == first.import_id + 1


def test_postgres_refuses_a_second_process_on_the_same_export(pg_url: str) -> None:
    from shequn.errors import StoreError
    from shequn.store import open_store

    with open_store(pg_url) as one, open_store(pg_url) as two:
        record = one.begin_import(_spec("same"))
        with pytest.raises(StoreError, match="another process"):
            two.begin_import(_spec("same"))
        one.finish_import(record.import_id, "complete")
        again = two.begin_import(_spec("same"))  # free once the first one finished
        assert again.import_id != record.import_id
