"""The runner's row order: string keys sorted through one combined integer per row give
the same indices as sorting on the keys themselves."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from shequn.analytics.runner import _combined_key, _order, _ordered


def _reference(table: pa.Table, order_by: tuple[str, ...]) -> list[int]:
    """Stable sort on the Python values, column after column (None last)."""
    values = [table.column(c).to_pylist() for c in order_by]

    def key(i: int) -> tuple[tuple[bool, str], ...]:
        return tuple((v[i] is None, v[i] or "") for v in values)

    return sorted(range(table.num_rows), key=key)


def _strings(rng: random.Random, n: int, distinct: int) -> list[str]:
    pool = [
        "".join(rng.choice("ab\u00e9z9 ") for _ in range(rng.randint(0, 4)))
        for _ in range(distinct)
    ]
    return [rng.choice(pool) for _ in range(n)]


@pytest.mark.parametrize("seed", range(12))
def test_combined_key_orders_like_the_columns(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 400)
    columns = {
        "group": _strings(rng, n, 2),
        "source": _strings(rng, n, rng.randint(1, 30)),
        "target": _strings(rng, n, rng.randint(1, 30)),
        "kind": _strings(rng, n, 3),
    }
    table = pa.table(columns)
    # dictionary-encoded the way arrow_dictionary reads them: chunk by chunk, unified
    cut = rng.randint(1, n - 1)
    encoded = pa.Table.from_batches(
        [
            pa.record_batch([c.dictionary_encode() for c in part.columns], names=part.column_names)
            for part in (table.slice(0, cut).to_batches()[0], table.slice(cut).to_batches()[0])
        ]
    ).unify_dictionaries()
    order_by = ("group", "source", "target", "kind")
    expected = _reference(table, order_by)
    for t in (table, encoded):
        assert _combined_key(t, order_by) is not None
        assert _order(t, order_by).to_pylist() == expected


def test_nulls_and_other_types_take_the_column_sort() -> None:
    table = pa.table({"g": ["b", None, "a", "b"], "n": [3, 1, 2, 0]})
    assert _combined_key(table, ("g",)) is None
    assert _combined_key(table, ("n",)) is None
    assert _order(table, ("g",)).to_pylist() == [2, 0, 3, 1]
    assert _order(table, ("g", "n")).to_pylist() == [2, 3, 0, 1]
    assert pc.sort_indices(table, [("n", "ascending")]).to_pylist() == [3, 1, 2, 0]


def test_rows_in_order_are_not_copied() -> None:
    """A result already in its order comes back as it is (no take of every column); one
    out of order is sorted."""
    table = pa.table(
        {"g": ["*", "*", "a", "a"], "s": ["x", "y", "x", "y"], "w": [1.0, 2.0, 3.0, 4.0]}
    )
    assert _ordered(table, ("g", "s")) is table
    assert _order(table, ("g", "s")).to_pylist() == [0, 1, 2, 3]
    swapped = table.take([2, 0, 3, 1])
    assert _ordered(swapped, ("g", "s")).equals(table)
