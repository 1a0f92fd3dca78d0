"""Reading a result dictionary-encoded batch by batch (``arrow_dictionary``): the values
of the plain read, and the codes encoding each whole string column gives."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from shequn.analytics import source
from shequn.analytics.context import Context


def test_batches_encoded_as_they_come_give_the_whole_columns_codes(
    duckdb_context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small batches: many of them, each bringing members not seen before
    monkeypatch.setattr(source, "BATCH_ROWS", 100)
    events = duckdb_context.events
    expr = events.select("member", "kind", "reply_to", "key", "ts").order_by(["ts", "key"])
    plain = source.arrow(expr)
    encoded = source.arrow_dictionary(duckdb_context.log, expr)
    assert encoded.num_rows == plain.num_rows > 1000
    assert encoded["member"].num_chunks > 2
    assert plain["reply_to"].null_count > 0  # nulls stay nulls
    for name in ("member", "kind", "reply_to"):
        column = encoded[name]
        assert pa.types.is_dictionary(column.type)
        whole = plain[name].combine_chunks().dictionary_encode()
        # one dictionary for every chunk
        assert len({tuple(chunk.dictionary.to_pylist()) for chunk in column.chunks}) == 1
        assert column.chunk(0).dictionary.to_pylist() == whole.dictionary.to_pylist()
        indices = [i for chunk in column.chunks for i in chunk.indices.to_pylist()]
        assert indices == whole.indices.to_pylist()
        assert column.to_pylist() == plain[name].to_pylist()
    for name in ("key", "ts"):
        assert encoded[name].to_pylist() == plain[name].to_pylist()


def test_coded_columns_read_as_their_sorted_used_values(duckdb_context: Context) -> None:
    """``arrow_coded``: each coded column a dictionary of the values its rows use, in
    sorted order (unused codes left out), a null code a null; other columns as they are."""
    rows = ibis.memtable(
        pa.table(
            {
                "group": pa.array([2, 0, 2, None, 0], pa.int32()),
                "member": pa.array([7, 3, 3, 5, 7], pa.int32()),
                "n": pa.array([1, 2, 3, 4, 5], pa.int64()),
            }
        )
    )
    groups = ibis.memtable(
        pa.table({"code": pa.array([0, 1, 2], pa.int32()), "value": ["z/b", "unused", "*"]})
    )
    members = ibis.memtable(
        pa.table(
            {"code": pa.array([3, 5, 7, 9], pa.int32()), "value": ["m:c", "m:a", "m:é", "m:0"]}
        )
    )
    coded = source.Coded(rows, {"group": groups, "member": members})
    table = source.arrow_coded(duckdb_context.log, coded)
    assert table.column_names == ["group", "member", "n"]
    assert table["group"].to_pylist() == ["*", "z/b", "*", None, "z/b"]
    assert table["member"].to_pylist() == ["m:é", "m:c", "m:c", "m:a", "m:é"]
    assert table["n"].to_pylist() == [1, 2, 3, 4, 5]
    for name, used in (("group", ["*", "z/b"]), ("member", ["m:a", "m:c", "m:é"])):
        column = table[name]
        assert column.type == pa.dictionary(pa.int32(), pa.string())
        assert {tuple(chunk.dictionary.to_pylist()) for chunk in column.chunks} == {tuple(used)}
