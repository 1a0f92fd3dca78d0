"""The embedded store's memory of its keys: the duplicate check may skip its scan of
every stored key only where no key of the batch can be stored."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, natural_key
from shequn.store import ImportSpec
from shequn.store.duckdb_store import DuckDBStore
from shequn.store.key_hashes import KeyHashes


def test_any_of_agrees_with_a_set_through_merges() -> None:
    rng = np.random.default_rng(3)
    # few distinct values, so batches often share some
    pool = rng.integers(0, 2**64, size=5_000, dtype=np.uint64)
    known = KeyHashes(pool[:10], rows=10)
    seen = set(pool[:10].tolist())
    for size in [1, 7, 30, 200, 5, 900, 64, 3, 1500, 2]:
        batch = np.sort(rng.choice(pool, size=size))
        assert known.any_of(batch) == bool(seen & set(batch.tolist()))
        known.add(batch, rows=size)
        seen |= set(batch.tolist())
        assert len(known.runs) <= 1 + int(np.log2(len(seen) + 1)) + 1
        for run in known.runs:
            assert bool((np.diff(run.astype(np.float64)) >= 0).all())
    assert known.rows == 10 + sum([1, 7, 30, 200, 5, 900, 64, 3, 1500, 2])
    absent = np.setdiff1d(rng.integers(0, 2**64, size=100, dtype=np.uint64), pool)
    assert not known.any_of(absent)
    assert known.any_of(np.sort(np.concatenate([absent, pool[:1]])))


def test_an_empty_memory_holds_nothing() -> None:
    empty = KeyHashes(np.empty(0, np.uint64), rows=0)
    assert not empty.any_of(np.array([0, 1, 2**63], dtype=np.uint64))
    assert not empty.any_of(np.empty(0, np.uint64))


def _batch(texts: list[str], import_id: int) -> pa.Table:
    rows = [
        {
            **{name: None for name in EVENT_SCHEMA.names},
            "key": natural_key("g", "message_posted", "m", text),
            "schema_version": SCHEMA_VERSION,
            "kind": "message_posted",
            "platform": "whatsapp",
            "community": "c",
            "group_id": "g",
            "ts": datetime(2024, 1, 1, 12, 0),
            "text": text,
            "is_bot": False,
            "import_id": import_id,
            "source_line": i + 1,
        }
        for i, text in enumerate(texts)
    ]
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def _spec(fingerprint: str) -> ImportSpec:
    return ImportSpec("c", "whatsapp", "g", "x.txt", fingerprint, {"timezone": "UTC"})


def _count_scans(store: DuckDBStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The duplicate check's scans of the stored keys, as they happen."""
    scans: list[str] = []
    query_batch = store._query_batch

    def spy(events: pa.Table, query: str) -> list[tuple[object, ...]]:
        if "SEMI JOIN" in query:
            scans.append(query)
        return query_batch(events, query)

    monkeypatch.setattr(store, "_query_batch", spy)
    return scans


def test_batches_of_new_keys_skip_the_scan_and_overlaps_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    with store:
        scans = _count_scans(store, monkeypatch)
        record = store.begin_import(_spec("f1"))
        first = _batch([f"a{i}" for i in range(50)], record.import_id)
        second = _batch([f"b{i}" for i in range(50)], record.import_id)
        assert store.write_batch(record.import_id, first, [], 50, 50) == 50
        assert store.write_batch(record.import_id, second, [], 100, 50) == 50
        assert scans == []
        overlap = _batch([f"a{i}" for i in range(40, 60)], record.import_id)
        assert store.write_batch(record.import_id, overlap, [], 120, 20) == 10
        assert len(scans) == 1
        assert store.events().num_rows == 110


def test_keys_written_by_another_connection_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with DuckDBStore(path) as store, DuckDBStore(path) as other:
        record = store.begin_import(_spec("f1"))
        store.write_batch(record.import_id, _batch(["a", "b"], record.import_id), [], 2, 2)
        theirs = other.begin_import(_spec("f2"))
        other.write_batch(theirs.import_id, _batch(["c", "d"], theirs.import_id), [], 2, 2)
        # the keys "other" stored are not in store's memory: its row count tells
        again = _batch(["c", "d", "e"], record.import_id)
        assert store.write_batch(record.import_id, again, [], 5, 3) == 1
        assert sorted(store.events()["text"].to_pylist()) == ["a", "b", "c", "d", "e"]


def test_an_undone_import_can_be_stored_again(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        record = store.begin_import(_spec("f1"))
        batch = _batch(["a", "b", "c"], record.import_id)
        assert store.write_batch(record.import_id, batch, [], 3, 3) == 3
        store.finish_import(record.import_id, "complete")
        store.undo_import(record.import_id)
        again = store.begin_import(_spec("f1"))
        assert (
            store.write_batch(again.import_id, _batch(["a", "b", "c"], again.import_id), [], 3, 3)
            == 3
        )
        assert store.events().num_rows == 3


def _memory_limit(store: DuckDBStore) -> str:
    return str(store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_an_import_writes_with_the_smaller_buffer_pool_and_gives_it_back(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    with store:
        before = _memory_limit(store)
        record = store.begin_import(_spec("f1"))
        during = _memory_limit(store)
        store.finish_import(record.import_id, "failed", message="stopped")
        assert _memory_limit(store) == before
        assert during != before
        assert during == "61.0 MiB"  # 64 MB


def test_keys_swapped_by_another_connection_at_the_same_row_count_are_seen(
    tmp_path: Path,
) -> None:
    # Another store in this process deletes as many rows as it adds: the row count the
    # memory is checked against is unchanged, but the stored keys are not the same.
    path = tmp_path / "s.duckdb"
    with DuckDBStore(path) as store, DuckDBStore(path) as other:
        record = store.begin_import(_spec("f1"))
        store.write_batch(record.import_id, _batch(["a", "b"], record.import_id), [], 2, 2)
        store.finish_import(record.import_id, "complete")
        theirs = other.begin_import(_spec("f2"))
        other.write_batch(theirs.import_id, _batch(["c", "d"], theirs.import_id), [], 2, 2)
        other.finish_import(theirs.import_id, "complete")
        other.undo_import(record.import_id)  # 2 rows out, 2 rows in: still 2 rows
        again = store.begin_import(_spec("f3"))
        batch = _batch(["c", "d", "e"], again.import_id)
        assert store.write_batch(again.import_id, batch, [], 3, 3) == 1
        assert sorted(store.events()["text"].to_pylist()) == ["c", "d", "e"]
