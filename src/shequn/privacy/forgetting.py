"""``shequn forget MEMBER``: a member's content and identities go, anonymous counts stay.

All identities linked to the member are forgotten together. Their events keep their
kind, time and group under one random token (so message, join and member counts do
not move) and lose text, names, mentions and details; other members' mentions of
them are removed. Each identity's keyed fingerprint is kept, so importing an old
export again forgets them again on the way in (:class:`ForgottenFilter`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from shequn.privacy.keys import fingerprint, privacy_key
from shequn.store.base import IdentityInfo, Store

#: columns that say who someone is or what they said
_CONTENT = ("member_name", "text", "mentions", "extra", "forwarded_from", "ts_raw")


@dataclass(frozen=True)
class ForgetReport:
    """What ``forget`` did."""

    token: str
    identities: tuple[tuple[str, str], ...]
    events: int
    mentions: int
    rejects: int


def forget_member(store: Store, platform: str, identity: str) -> ForgetReport:
    """Forget the member that (platform, identity) belongs to, with all their identities."""
    key = privacy_key(store)
    member = store.member_key(platform, identity)
    known = store.identities()
    linked: list[IdentityInfo] = [
        i
        for i in known
        if i.member_key == member or (i.platform, i.identity) == (platform, identity)
    ]
    pairs = sorted({(i.platform, i.identity) for i in linked} | {(platform, identity)})
    names = sorted({n for i in linked for n in i.names})
    token = "forgotten-" + secrets.token_hex(8)
    counts = store.forget_identities(
        [(p, i, fingerprint(key, p, i)) for p, i in pairs], names, token
    )
    return ForgetReport(
        token, tuple(pairs), counts["events"], counts["mentions"], counts["rejects"]
    )


class ForgottenFilter:
    """Forgets, on the way into the store, identities the store was told to forget."""

    def __init__(self, key: bytes, forgotten: dict[tuple[str, str], str]) -> None:
        self.key = key
        self.forgotten = forgotten

    @classmethod
    def for_store(cls, store: Store) -> ForgottenFilter:
        forgotten = store.forgotten()
        return cls(privacy_key(store) if forgotten else b"", forgotten)

    def is_forgotten(self, platform: str, identity: str) -> bool:
        """True when the store was told to forget ``identity`` of ``platform``."""
        return (platform, fingerprint(self.key, platform, identity)) in self.forgotten

    def apply(self, events: pa.Table) -> pa.Table:
        if not self.forgotten or events.num_rows == 0:
            return events
        platform = events.column("platform")
        member, hit = self._tokens(platform, events.column("member_id"))
        by, _ = self._tokens(platform, events.column("by_member_id"))
        out = events
        for name, column in (("member_id", member), ("by_member_id", by)):
            index = out.schema.get_field_index(name)
            out = out.set_column(index, out.schema.field(index), column)
        if pc.any(hit).as_py():
            for name in _CONTENT:
                index = out.schema.get_field_index(name)
                field = out.schema.field(index)
                cleared = pc.if_else(hit, pa.nulls(out.num_rows, field.type), out.column(name))
                out = out.set_column(index, field, cleared)
        return self._drop_mentions(out)

    def _tokens(
        self, platform: pa.ChunkedArray, values: pa.ChunkedArray
    ) -> tuple[pa.Array, pa.Array]:
        """The column with forgotten identities replaced by their tokens, and where."""
        pairs = pa.table({"p": platform, "v": values}).group_by(["p", "v"]).aggregate([])
        replace = {}
        for row in pairs.to_pylist():
            if row["v"] is None:
                continue
            token = self.forgotten.get((row["p"], fingerprint(self.key, row["p"], row["v"])))
            if token is not None:
                replace[row["p"] + "\x1f" + row["v"]] = token
        column = values.combine_chunks()
        if not replace:
            return column, pa.array([False] * len(column))
        keys = pc.binary_join_element_wise(platform, values, "\x1f").combine_chunks()
        lookup = pa.array(list(replace), pa.string())
        found = pc.index_in(keys, lookup)
        tokens = pc.take(pa.array(list(replace.values()), pa.string()), found)
        hit = pc.is_valid(found)
        return pc.if_else(hit, tokens, column), hit

    def _drop_mentions(self, events: pa.Table) -> pa.Table:
        """Other members' mentions of a forgotten identity are removed."""
        mentions = events.column("mentions").to_pylist()
        platforms = events.column("platform").to_pylist()
        known: dict[tuple[str, str], bool] = {}

        def forgotten(platform: str, identity: str) -> bool:
            if (platform, identity) not in known:
                known[(platform, identity)] = self.is_forgotten(platform, identity)
            return known[(platform, identity)]

        changed = False
        for row, listed in enumerate(mentions):
            if not listed:
                continue
            kept = [m for m in listed if not forgotten(platforms[row], m)]
            if len(kept) != len(listed):
                mentions[row] = kept or None
                changed = True
        if not changed:
            return events
        index = events.schema.get_field_index("mentions")
        field = events.schema.field(index)
        return events.set_column(index, field, pa.array(mentions, field.type))
