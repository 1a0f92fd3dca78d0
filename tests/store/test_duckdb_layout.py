"""How the embedded store lays out its events: keys as they are, other strings compressed."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, natural_key
from shequn.store import ImportSpec, open_store, sql

SPEC = ImportSpec("c", "whatsapp", "g", "x.txt", "f1", {"timezone": "UTC"})


def _messages(count: int, first: int = 0) -> pa.Table:
    """``count`` message events with keys like the importers' (hex hashes)."""
    start = datetime(2024, 1, 1)
    rows = []
    for i in range(first, first + count):
        ts = start + timedelta(minutes=i)
        rows.append(
            {
                **{name: None for name in EVENT_SCHEMA.names},
                "key": natural_key("whatsapp", "c", "g", str(ts), f"m{i % 7}", f"text {i}"),
                "schema_version": SCHEMA_VERSION,
                "kind": "message_posted",
                "platform": "whatsapp",
                "community": "c",
                "group_id": "g",
                "ts": ts,
                "member_id": f"m{i % 7}",
                "text": f"text {i}",
                "is_bot": False,
                "import_id": 1,
                "source_line": i + 1,
            }
        )
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def _write(path: Path, events: pa.Table) -> None:
    with open_store(path) as store:
        record = store.begin_import(SPEC)
        store.write_batch(record.import_id, events, [], events.num_rows, events.num_rows)
        store.finish_import(record.import_id, "complete")


def _compressions(path: Path) -> dict[str, set[str]]:
    """Each string column of the stored events and the compressions its segments use."""
    con = duckdb.connect(str(path))
    con.execute("CHECKPOINT")
    rows = con.execute(
        "SELECT column_name, compression FROM pragma_storage_info('events') "
        "WHERE segment_type = 'VARCHAR'"
    ).fetchall()
    keys = con.execute("SELECT key FROM events ORDER BY source_line").fetchall()
    con.close()
    found: dict[str, set[str]] = defaultdict(set)
    for column, compression in rows:
        found[column].add(compression)
    found["(keys)"] = {k for (k,) in keys}
    return found


def test_a_new_store_keeps_the_event_keys_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    events = _messages(3000)
    _write(path, events)
    stored = _compressions(path)
    assert stored["key"] == {"Uncompressed"}
    assert "Uncompressed" not in stored["text"]  # the other strings stay compressed
    assert stored["(keys)"] == set(events.column("key").to_pylist())


def test_a_store_created_before_keeps_its_compressed_keys_and_takes_new_events(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.duckdb"
    con = duckdb.connect(str(path))
    for statement in sql.ddl("VARCHAR[]"):  # the schema as stores were created before
        con.execute(statement)
    con.close()
    first, more = _messages(3000), _messages(3000, first=3000)
    _write(path, first)
    _write(path, more)
    stored = _compressions(path)
    assert "Uncompressed" not in stored["key"]
    expected = set(first.column("key").to_pylist()) | set(more.column("key").to_pylist())
    assert stored["(keys)"] == expected


def test_a_batch_of_long_texts_commits_and_the_import_pool_comes_back(tmp_path: Path) -> None:
    """Texts over the long-string size stay pinned until DuckDB's checkpoint: 300 of
    100 KB in a batch failed with the 64 MB import pool ("failed to pin block", the
    store left to be reopened); the batch gets room for them, the next one the pool."""
    path = tmp_path / "long.duckdb"
    page = "x" * 100_000
    with open_store(path) as store:
        record = store.begin_import(SPEC)
        written = 0
        for part in range(3):
            events = _messages(300, first=part * 300)
            texts = pa.array([f"{i} {page}" for i in range(part * 300, part * 300 + 300)])
            events = events.set_column(EVENT_SCHEMA.get_field_index("text"), "text", texts)
            written += store.write_batch(record.import_id, events, [], (part + 1) * 300, 300)
            pool = store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
            assert pool == "61.0 MiB"  # 64 MB, as DuckDB prints it
        store.write_batch(record.import_id, _messages(10, first=900), [], 910, 10)
        store.finish_import(record.import_id, "complete")
    assert written == 900
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute("SELECT count(*), sum(length(text)) FROM events").fetchall()[0]
    con.close()
    assert rows[0] == 910
    assert rows[1] == sum(len(f"{i} {page}") for i in range(900)) + sum(
        len(f"text {i}") for i in range(900, 910)
    )
