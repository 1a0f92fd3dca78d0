"""Reading a result dictionary-encoded batch by batch (``arrow_dictionary``): the values
of the plain read, and the codes encoding each whole string column gives."""

from __future__ import annotations

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
