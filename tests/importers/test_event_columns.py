"""The batch builder every id-based importer shares: keys, types and constant columns."""

from __future__ import annotations

from datetime import datetime

from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, natural_key
from shequn.importers.columns import EventColumns, dump_extra


def test_keys_are_natural_keys_and_constants_fill_every_row() -> None:
    out = EventColumns("discord", "makers", 7)
    out.add("message_posted", "g1", datetime(2024, 1, 5, 12), 3, key_parts=("m1",),
            platform_id="m1", mentions=[], extra=dump_extra({"b": 1, "a": None}))  # fmt: skip
    out.add("reaction_added", "g1", 1_704_456_000_000_000, 4, key_parts=("m1", None, "👍"))
    assert len(out) == 2
    table = out.table()
    assert table.schema == EVENT_SCHEMA
    assert len(out) == 0 and out.table().num_rows == 0
    rows = table.to_pylist()
    assert [r["key"] for r in rows] == [
        natural_key("discord", "makers", "g1", "message_posted", "m1"),
        natural_key("discord", "makers", "g1", "reaction_added", "m1", None, "👍"),
    ]
    assert {(r["platform"], r["community"], r["import_id"]) for r in rows} == {
        ("discord", "makers", 7)
    }
    assert {r["schema_version"] for r in rows} == {SCHEMA_VERSION}
    assert rows[0]["mentions"] is None  # an empty list is stored as null
    assert rows[0]["extra"] == '{"a":null,"b":1}'
    assert rows[1]["ts"] == datetime(2024, 1, 5, 12)  # microseconds or datetimes alike


def test_truncate_drops_a_half_read_record() -> None:
    out = EventColumns("slack", "c", 0)
    out.add("message_posted", "C1", 0, 1, key_parts=("1.0",))
    out.add("reaction_added", "C1", 0, 2, key_parts=("2.0", "U1"))
    out.truncate(1)
    assert out.table()["source_line"].to_pylist() == [1]
