"""What a report may show: phone numbers masked, names clean, raw message text left out.

Issue: exports hold phone numbers (a WhatsApp member *is* one, and names are often a
number the exporter's phone had no contact for) and private talk. The metrics compute on
the real identities; this module only changes what leaves them for a reader — the
terminal, the JSON document and the HTML page — unless the operator asks to see
numbers (``--show-phones``). Display names lose the bidi marks and ``~`` prefix
exports wrap them in (they are kept as written in the store), so columns line up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from shequn.analytics.source import is_text
from shequn.identity import clean_name
from shequn.privacy.display import shown

#: results that are inputs to other metrics and hold raw message text: not shown
INPUT_ONLY: Final = frozenset({"topics.sample"})
#: string columns that never hold a person (group keys may be long numeric ids)
NOT_PERSONAL: Final = frozenset({"group"})
#: string columns holding display names as written in exports
NAME_COLUMNS: Final = frozenset({"name", "member_name"})


#: each value already masked, as shown: (is a name column, value) → shown text
_Memo = dict[tuple[bool, str], str]


def displayed(results: Mapping[str, pa.Table], *, show_phones: bool = False) -> dict[str, pa.Table]:
    """The results a report shows: input-only tables dropped, phone numbers masked.

    Each distinct value is masked once for the whole set: the same member keys fill the
    member columns of many tables (100,000 of them in a dozen tables at 100,000 members),
    and masking one is a regular-expression search in Python.
    """
    memo: _Memo = {}
    return {
        name: mask_table(table, show_phones=show_phones, memo=memo)
        for name, table in results.items()
        if name not in INPUT_ONLY
    }


def mask_table(
    table: pa.Table, *, show_phones: bool = False, memo: _Memo | None = None
) -> pa.Table:
    """Every string (dictionary-encoded string, list-of-string) column but
    :data:`NOT_PERSONAL` as shown; ``memo`` keeps values masked before (shared by calls
    with the same ``show_phones``)."""
    memo = {} if memo is None else memo
    for index, column in enumerate(table.schema):
        if column.name in NOT_PERSONAL:
            continue
        names = column.name in NAME_COLUMNS
        if show_phones and not names:
            continue
        if is_text(column.type):
            values = _mask_strings(
                table.column(index), names=names, show_phones=show_phones, memo=memo
            )
            table = table.set_column(index, column, values)
        elif pa.types.is_dictionary(column.type) and is_text(column.type.value_type):
            values = _mask_dictionary(
                table.column(index), names=names, show_phones=show_phones, memo=memo
            )
            table = table.set_column(index, column, values)
        elif pa.types.is_list(column.type) and is_text(column.type.value_type):
            values = _mask_lists(table.column(index), show_phones=show_phones)
            table = table.set_column(index, column, values)
    return table


def mask_values(values: list[Any], *, names: bool = False, show_phones: bool = False) -> list[Any]:
    """Identities (or display names, cleaned) as shown; None and non-strings unchanged."""
    return [
        shown(clean_name(v) if names else v, show_phones=show_phones) if isinstance(v, str) else v
        for v in values
    ]


def _memo_masked(values: list[Any], *, names: bool, show_phones: bool, memo: _Memo) -> list[Any]:
    """:func:`mask_values`, each value looked up in ``memo`` first."""
    out: list[Any] = []
    for value in values:
        if not isinstance(value, str):
            out.append(value)
            continue
        key = (names, value)
        masked = memo.get(key)
        if masked is None:
            masked = memo[key] = shown(
                clean_name(value) if names else value, show_phones=show_phones
            )
        out.append(masked)
    return out


def _mask_strings(
    column: pa.ChunkedArray, *, names: bool, show_phones: bool, memo: _Memo
) -> pa.ChunkedArray:
    # each distinct value once: member columns repeat the same keys many times
    encoded = pc.dictionary_encode(column).combine_chunks()
    shown_values = _memo_masked(
        encoded.dictionary.to_pylist(), names=names, show_phones=show_phones, memo=memo
    )
    dictionary = pa.array(shown_values, type=column.type)
    return pa.chunked_array([pc.take(dictionary, encoded.indices)], type=column.type)


def _mask_dictionary(
    column: pa.ChunkedArray, *, names: bool, show_phones: bool, memo: _Memo
) -> pa.ChunkedArray:
    """A dictionary-encoded column (``conversation.edges``) masked in its dictionary: the
    rows keep their indices, each distinct value is masked once."""
    encoded = column.combine_chunks()  # one dictionary for every row
    shown_values = _memo_masked(
        encoded.dictionary.to_pylist(), names=names, show_phones=show_phones, memo=memo
    )
    dictionary = pa.array(shown_values, type=column.type.value_type)
    return pa.chunked_array(
        [pa.DictionaryArray.from_arrays(encoded.indices, dictionary)], type=column.type
    )


def _mask_lists(column: pa.ChunkedArray, *, show_phones: bool) -> pa.ChunkedArray:
    masked = [
        None if v is None else mask_values(v, show_phones=show_phones) for v in column.to_pylist()
    ]
    return pa.chunked_array([pa.array(masked, type=column.type)], type=column.type)
