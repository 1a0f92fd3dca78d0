"""How the embedded store lays out its file: keys as they are, other strings compressed,
small row groups; and how stores open on one file share it."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, natural_key
from shequn.store import ImportSpec, open_store, sql
from shequn.store.duckdb_files import ROW_GROUP_SIZE
from shequn.store.duckdb_store import DuckDBStore

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


def _row_groups(path: Path) -> list[int]:
    """Rows of each row group of the stored events."""
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute(
        "SELECT row_group_id, max(count) FROM pragma_storage_info('events') "
        "WHERE column_name = 'ts' GROUP BY row_group_id ORDER BY row_group_id"
    ).fetchall()
    con.close()
    return [count for _, count in rows]


def test_a_store_writes_its_events_in_row_groups_of_its_size(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    events = _messages(3 * ROW_GROUP_SIZE + 100)
    _write(path, events)
    assert _row_groups(path) == [ROW_GROUP_SIZE] * 3 + [100]


def test_stores_open_on_one_file_share_it_until_the_last_closes(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    first, more = _messages(10), _messages(10, first=10)
    with DuckDBStore(path) as store, DuckDBStore(path) as other:
        record = store.begin_import(SPEC)
        store.write_batch(record.import_id, first, [], 10, 10)
        store.finish_import(record.import_id, "complete")
        assert other.events().num_rows == 10  # the other store sees the commit
        store.close()
        record = other.begin_import(replace_fingerprint(SPEC, "f2"))
        other.write_batch(record.import_id, more, [], 10, 10)  # still open
        other.finish_import(record.import_id, "complete")
    assert not Path(f"{path}.wal").exists()  # the last close checkpointed the file
    with open_store(path) as reopened:
        assert reopened.events().num_rows == 20


def replace_fingerprint(spec: ImportSpec, fingerprint: str) -> ImportSpec:
    return ImportSpec(
        spec.community, spec.platform, spec.group_id, spec.source, fingerprint, spec.options
    )
