"""Keyed pseudonyms for an import (``shequn import --pseudonymize``).

Before a batch is stored, every identity becomes ``p-<code>`` and every display name
``Member <CODE>``, where the code is a keyed digest of the identity (:mod:`.keys`):
stable across re-imports into the same store, meaningless without the store's key.
Phone numbers are pseudonymised wherever they occur — identities, mentions, the new
number of a number change, and inside message text — and a phone number maps to the
same pseudonym on every platform, so ``+49 170 …`` in a message is the member it names.
``@Name`` mentions of names seen in the batch are replaced too; a name written in
plain prose without ``@`` cannot be told from ordinary words and stays.

What is *not* rewritten: the event key (already a one-way digest), the group's name,
timestamps and the ``extra`` details.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from shequn.events import EventKind
from shequn.identity import identity_of, is_phone_number
from shequn.privacy.display import PHONE_IN_TEXT
from shequn.privacy.keys import digest

#: what a rejected line's raw text becomes in a pseudonymised import
WITHHELD: Final = "(withheld: imported with --pseudonymize)"


class Pseudonymizer:
    """Rewrites batches of events so that no name or phone number is stored."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    # -- single values ---------------------------------------------------------------
    def identity(self, platform: str, identity: str) -> str:
        """The pseudonym of an identity; phone numbers agree across platforms."""
        if identity.startswith("p-"):
            return identity
        if is_phone_number(identity):
            return "p-" + digest(self.key, "phone", identity_of(identity))
        return "p-" + digest(self.key, "id", platform, identity)

    def name(self, pseudonym: str) -> str:
        """The display name that goes with an identity's pseudonym."""
        return "Member " + pseudonym.removeprefix("p-")[:6].upper()

    def text(self, text: str, names: dict[str, str]) -> str:
        """Phone numbers and ``@Name`` mentions in free text replaced by pseudonyms."""
        text = PHONE_IN_TEXT.sub(lambda m: self.identity("", m.group(0)), text)
        if not names or "@" not in text:
            return text
        return _mention_pattern(tuple(names)).sub(lambda m: "@" + names[m.group(1)], text)

    # -- batches -----------------------------------------------------------------
    def apply(self, events: pa.Table) -> pa.Table:
        """The batch with identities, names, mentions and phone numbers pseudonymised."""
        if events.num_rows == 0:
            return events
        platform = events.column("platform")
        member = events.column("member_id")
        ids = self._map_pairs(platform, member, self.identity)
        names_by_written = self._names(events, ids)
        by = self._map_pairs(platform, events.column("by_member_id"), self.identity)
        member_name = pc.if_else(
            pc.is_null(events.column("member_name")),
            pa.nulls(events.num_rows, pa.string()),
            _map(ids, self.name),
        )
        forwarded = _map(
            events.column("forwarded_from"), lambda n: self.name("p-" + digest(self.key, "name", n))
        )
        text = self._texts(events, names_by_written)
        mentions = self._mentions(events.column("mentions"), platform)
        replaced = {
            "member_id": ids,
            "by_member_id": by,
            "member_name": member_name,
            "forwarded_from": forwarded,
            "text": text,
            "mentions": mentions,
        }
        for name, column in replaced.items():
            index = events.schema.get_field_index(name)
            events = events.set_column(index, events.schema.field(index), column)
        return events

    def _map_pairs(
        self, platform: pa.ChunkedArray, values: pa.ChunkedArray, fn: Callable[[str, str], str]
    ) -> pa.Array:
        pairs = pa.table({"p": platform, "v": values})
        unique = pairs.group_by(["p", "v"]).aggregate([]).to_pylist()
        mapping = {
            (row["p"], row["v"]): fn(row["p"], row["v"]) for row in unique if row["v"] is not None
        }
        keys = pc.binary_join_element_wise(platform, values, "\x1f")
        lookup = pa.array(["\x1f".join(k) for k in mapping], pa.string())
        mapped = pa.array(list(mapping.values()), pa.string())
        return pc.take(mapped, pc.index_in(keys, lookup)).combine_chunks()

    def _names(self, events: pa.Table, ids: pa.Array) -> dict[str, str]:
        """Written display name → pseudonym name, for the names in this batch."""
        pairs = pa.table({"n": events.column("member_name"), "i": ids}).drop_null()
        found = pairs.group_by(["n", "i"]).aggregate([]).to_pylist()
        return {row["n"]: self.name(row["i"]) for row in found if len(row["n"]) >= 2}

    def _texts(self, events: pa.Table, names: dict[str, str]) -> pa.Array:
        text = events.column("text").combine_chunks()
        kinds = events.column("kind").combine_chunks()
        platform = events.column("platform").combine_chunks()
        number_change = pc.equal(kinds, EventKind.MEMBER_NUMBER_CHANGED.value)
        candidates = pc.or_(
            pc.fill_null(pc.match_substring_regex(text, r"\d{3}|@"), False),
            pc.fill_null(number_change, False),
        )
        rows = pc.indices_nonzero(candidates).to_pylist()
        if not rows:
            return text
        values = text.to_pylist()
        for i in rows:
            value = values[i]
            if value is None:
                continue
            if kinds[i].as_py() == EventKind.MEMBER_NUMBER_CHANGED.value:
                values[i] = self.identity(platform[i].as_py(), value)
            else:
                values[i] = self.text(value, names)
        return pa.array(values, pa.string())

    def _mentions(self, mentions: pa.ChunkedArray, platform: pa.ChunkedArray) -> pa.Array:
        lists = mentions.combine_chunks()
        if lists.null_count == len(lists):
            return lists
        lengths = pc.fill_null(pc.list_value_length(lists), 0)
        owner = pc.take(platform.combine_chunks(), pc.list_parent_indices(lists))
        flat = pc.list_flatten(lists)
        mapped = self._map_pairs(pa.chunked_array([owner]), pa.chunked_array([flat]), self.identity)
        offsets = pa.array([0, *pc.cumulative_sum(lengths).to_pylist()], pa.int32())
        return pa.ListArray.from_arrays(offsets, mapped, mask=pc.is_null(lists))


@lru_cache(maxsize=8)
def _mention_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """``@`` followed by any of ``names``, the longest first ("Dr: Who" before "Dr")."""
    ordered = sorted(names, key=len, reverse=True)
    return re.compile("@(" + "|".join(re.escape(n) for n in ordered) + ")")


def _map(values: pa.ChunkedArray | pa.Array, fn: Callable[[str], str]) -> pa.Array:
    """``fn`` over the distinct non-null strings of a column, nulls kept."""
    column = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    unique = pc.unique(column.drop_null()).to_pylist()
    if not unique:
        return column
    mapped = pa.array([fn(v) for v in unique], pa.string())
    return pc.take(mapped, pc.index_in(column, pa.array(unique, pa.string())))
