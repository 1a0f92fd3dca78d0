"""Turning chunks of WhatsApp export lines into events, in bulk.

Every chunk is an Arrow table ``(line_no, line)`` that starts on a message header.
One DuckDB query per chunk recognises headers, joins continuation lines into their
message, parses local timestamps in the decided date order, splits author from text,
classifies media, deleted and edited messages and computes idempotency keys — no
Python loop touches ordinary messages. Only system-line *candidates* (a few percent)
are matched in Python against the language table of :mod:`system_lines`.

Idempotency key of a WhatsApp record: ``natural_key("whatsapp", community, group,
timestamp as written, author identity, text)`` for the first occurrence of that
(timestamp, author, text) in the file, and ``natural_key(first key, n)`` for its n-th
repeat. Occurrence counts
carry from chunk to chunk, so identical "ok"s in one minute stay distinct while a
re-export that overlaps stores each once. Events derived from one record (the N
members of "added A, B", a deletion) extend its key with their kind and member.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shequn.duckdb_config import connect, long_string_megabytes, memory_room
from shequn.events import EVENT_SCHEMA, KEY_SEPARATOR, SCHEMA_VERSION, EventKind, natural_key
from shequn.identity import clean_name, identity_of, identity_sql
from shequn.importers.whatsapp import system_lines
from shequn.importers.whatsapp.layout import (
    ANDROID,
    STAMP_PARTS,
    normalise_ampm_sql,
    plain_stamp_format,
)
from shequn.importers.whatsapp.sql import LEAD_CHARS, LRM, escape_re, sql_str
from shequn.importers.whatsapp.system_events import SystemLineReader
from shequn.store.base import Reject

SEP: Final = KEY_SEPARATOR
#: what the message events and the events derived from them are made of: the query's
#: helper columns (the whole line, the body of candidates, hashes) stop at the filters
_MESSAGE_COLUMNS: Final = [
    "key",
    "ts",
    "ts_raw",
    "member_id",
    "member_name",
    "text",
    "mentions",
    "attachment_kind",
    "extra",
    "source_line",
    "is_deleted",
    "is_edited",
]
#: the event columns, which the message columns other than the flags are
_EVENT_NAMES: Final = frozenset(EVENT_SCHEMA.names)
#: microseconds in an hour
_HOUR_US: Final = 3_600_000_000
#: how long identical (stamp, author, text) keep counting across chunks
CARRY_SECONDS: Final = 2 * 86_400
#: the chunk query's memory (MB): a chunk of ordinary lines needs a fraction of it
CHUNK_MEMORY_MB: Final = 64
#: lines this long or longer (bytes) are pasted pages: the query holds several copies of
#: each (the line, its text, the split pieces) in blocks of their own, and 300 lines of
#: 60 KB — each under WhatsApp's 65,536 characters — ran the 64 MB query out of memory.
#: A chunk with such lines gets :data:`LONG_LINE_ROOM` times their bytes on top.
LONG_LINE_BYTES: Final = 4096
LONG_LINE_ROOM: Final = 8
#: the mentions column as the query's lists were typed (DuckDB names the item "l")
_MENTIONS: Final = pa.list_(pa.field("l", pa.string()))
_QUOTES: Final = '["“”„«»「」『』]'
#: an iOS attachment line, ``<attached: 00000042-PHOTO-….jpg>``: the file's name
_SHARED_FILE: Final = "^<[^<>:]+: ([^<>]+)>(?:\\n|$)"


class ChunkParser:
    """Parses aligned chunks of one export; holds what carries between chunks."""

    def __init__(
        self,
        *,
        layout: str,
        date_order: str,
        group_id: str,
        community: str,
        timezone: str,
        import_id: int,
        source: str,
        colon_names: pa.Table,
        me: str | None = None,
        language: str | None = None,
        group_name: str | None = None,
    ) -> None:
        self.layout = layout
        self.date_order = date_order
        self.group_id = group_id
        self.community = community
        self.timezone = timezone
        self.import_id = import_id
        self.source = source
        self.system = SystemLineReader(
            layout=layout,
            community=community,
            group_id=group_id,
            import_id=import_id,
            me=me,
            group_names=(group_id, group_name or ""),
            colon_names=[n for n in colon_names.column("fullname").to_pylist() if n],
            language=language,
        )
        self.con = connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET allocator_flush_threshold = '16MB'")
        self.con.execute("SET allocator_bulk_deallocation_flush_threshold = '64MB'")
        self.con.execute(f"SET memory_limit = '{CHUNK_MEMORY_MB}MB'")
        self.con.execute("SET preserve_insertion_order = true")
        self.con.register("colon_names", colon_names)
        # exact strings (as WhatsApp writes them) and their lower case (as some tools do)
        media_rows = sorted(
            {
                (variant, kind.value)
                for lang in system_lines.LANGUAGES.values()
                for text, kind in lang.media_omitted.items()
                for variant in (text, text.lower())
            }
        )
        self._media_max = max(len(text) for text, _ in media_rows)
        self.con.register(
            "media_strings",
            pa.table(
                {
                    "text": pa.array([t for t, _ in media_rows], pa.string()),
                    "kind": pa.array([k for _, k in media_rows], pa.string()),
                }
            ),
        )
        self._deleted = sorted(
            {d for lang in system_lines.LANGUAGES.values() for d in lang.deleted}
        )
        self._attached = sorted({lang.file_attached for lang in system_lines.LANGUAGES.values()})
        self._edited = sorted(
            {lang.edited_marker for lang in system_lines.LANGUAGES.values() if lang.edited_marker}
        )
        #: local times in ``timezone`` to UTC, an hour at a time
        self._utc = UtcClock(self.con, timezone)
        #: the chunk query, made at the first chunk (:meth:`_records`)
        self._relation: duckdb.DuckDBPyRelation | None = None
        #: the strptime format of the file's stamps (:func:`plain_stamp_format` of the first
        #: chunk's first stamp; None: every stamp is split)
        self.stamp_format: str | None = None
        self._format_decided = False
        #: key hashes seen lately (sorted), their next occurrence number and last-seen time
        self._carry = Carry.empty()
        #: names of the members seen writing so far, for resolving @mentions
        self._mention_names: set[str] = set()
        #: those names by their first three characters: their lengths (longest first)
        #: and the names themselves
        self._mention_index: dict[str, tuple[list[int], set[str]]] = {}
        #: author names as written, already cleaned into ``_mention_names``
        self._authors_seen: set[str] = set()
        #: identity of each mentioned name or number as written (they repeat a lot)
        self._mention_identities: dict[str, str] = {}

    # -- the bulk query ---------------------------------------------------------------
    def _date_fields(self) -> tuple[str, str, str]:
        return {
            "dmy": ("dp.c", "dp.b", "dp.a"),
            "mdy": ("dp.c", "dp.a", "dp.b"),
            "ymd": ("dp.a", "dp.b", "dp.c"),
        }[self.date_order]

    def _records_sql(self) -> str:
        """One query: every message of the chunk, parsed, classified and keyed."""
        y, mo, d = self._date_fields()
        android = self.layout == ANDROID
        # whether the author segment has quote marks: looked up per author (``au``) where
        # the author is that segment, tested where a name with ': ' took its place
        quote_candidate = (
            f"OR rare OR CASE WHEN author = p1 THEN quoted "
            f"ELSE regexp_matches(p1, {sql_str(_QUOTES)}) END"
            if android
            else ""
        )
        system_candidate = (
            f"cpos = 0 OR (fullname IS NOT NULL AND NOT starts_with(rest, fullname || ': ')) "
            f"{quote_candidate}"
            if android
            else f"starts_with(body, '{LRM}') AND media_kind IS NULL "
            f"AND NOT regexp_matches(body, '^{LRM}?<[^<>:]+: [^<>]+>')"
        )
        deleted = ", ".join(sql_str(s) for s in self._deleted) or "''"
        # a body longer than every deletion string is one only after leading LRMs: the
        # rest are not trimmed (a copy of every body) nor looked up
        deleted_chars = max((len(s) for s in self._deleted), default=0)
        attached = "|".join(escape_re(s) for s in self._attached)
        edited_re = "|".join(escape_re(s) for s in self._edited) or "$^"
        edited_test = " OR ".join(f"ends_with(body, {sql_str(m)})" for m in self._edited)
        # the group's identity in the store: platform, community and group name
        scope = sql_str(SEP.join(("whatsapp", self.community, self.group_id)))
        clean = f"ltrim(body, '{LRM}')"
        file_kind = " ".join(
            f"WHEN regexp_matches(file, {sql_str(pattern)}) THEN '{kind}'"
            for pattern, kind in _FILE_KINDS
        )
        # stamps the file's plain format reads (year 2000 on: what "23" means to it and
        # to the split below agree) skip the split; the rest are split and assembled
        read = (
            f"try_strptime(stamp, {sql_str(self.stamp_format)})"
            if self.stamp_format
            else "NULL::TIMESTAMP"
        )
        return f"""
        WITH a AS ({split_sql(self.layout)}
        ), a2 AS (
            SELECT *, {read} AS read FROM a
        ), b AS (
            SELECT line_no, stamp, rest, strpos(rest, ': ') AS cpos,
                   CASE WHEN year(read) >= 2000 THEN read END AS fast,
                   CASE WHEN read IS NULL OR year(read) < 2000 THEN
                        regexp_extract(stamp, {sql_str(STAMP_PARTS[self.layout])},
                                       ['a', 'b', 'c', 'pre', 'h', 'mi', 's', 'post']) END AS dp
            FROM a2
        ), c AS (
            SELECT line_no, stamp, rest, cpos, fast,
                   CASE WHEN cpos > 0 THEN substr(rest, 1, cpos - 1) END AS p1,
                   CASE WHEN length({y}) <= 2 THEN 2000 + TRY_CAST({y} AS INT)
                        ELSE TRY_CAST({y} AS INT) END AS yy,
                   TRY_CAST({mo} AS INT) AS mm, TRY_CAST({d} AS INT) AS dd,
                   TRY_CAST(dp.h AS INT) AS hh0, TRY_CAST(dp.mi AS INT) AS mi,
                   coalesce(TRY_CAST(dp.s AS INT), 0) AS ss,
                   CASE WHEN dp IS NULL OR (dp.pre = '' AND dp.post = '') THEN ''
                        ELSE {normalise_ampm_sql("dp.pre || dp.post")} END AS ap
            FROM b
        ), d AS (
            SELECT c.*, cn.fullname, coalesce(cn.rare, false) AS rare,
                   CASE WHEN ap = 'pm' AND hh0 < 12 THEN hh0 + 12
                        WHEN ap = 'am' AND hh0 = 12 THEN 0 ELSE hh0 END AS hh
            FROM c LEFT JOIN colon_names cn ON cn.prefix = c.p1
        ), e AS (
            SELECT line_no, stamp, rest, cpos, p1, fullname, rare,
                   coalesce(fast, CASE WHEN hh < 24 AND mi < 60 AND ss < 60
                        THEN try(make_timestamp(yy, mm, dd, hh, mi, ss::DOUBLE)) END) AS ts_local,
                   CASE WHEN fullname IS NOT NULL AND starts_with(rest, fullname || ': ')
                        THEN fullname ELSE p1 END AS author,
                   CASE WHEN fullname IS NOT NULL AND starts_with(rest, fullname || ': ')
                        THEN substr(rest, length(fullname) + 3)
                        WHEN cpos > 0 THEN substr(rest, cpos + 2) END AS body
            FROM d
        ), au AS (
            SELECT author, {identity_sql("author")} AS author_id,
                   regexp_matches(author, {sql_str(_QUOTES)}) AS quoted
            FROM (SELECT DISTINCT author FROM e WHERE author IS NOT NULL)
        ), f AS (
            SELECT e.*, coalesce(au.author_id, '') AS author_id, au.quoted,
                   ms.kind AS media_kind,
                   coalesce(e.body, e.rest) AS said
            FROM e LEFT JOIN au ON au.author = e.author
            LEFT JOIN media_strings ms
                ON ms.text = (CASE WHEN length(e.body) <= {self._media_max + 1}
                                   THEN ltrim(e.body, '{LRM}') END)
        ), g AS (
            SELECT f.*, hash(stamp, author_id, said) AS h,
                   coalesce({system_candidate}, false) AS candidate,
                   coalesce(CASE WHEN length(body) <= {deleted_chars} OR starts_with(body, '{LRM}')
                                 THEN list_contains([{deleted}], {clean}) END, false) AS is_deleted,
                   coalesce({edited_test or "false"}, false) AS is_edited,
                   CASE WHEN contains(body, ' (')
                        THEN nullif(regexp_extract({clean},
                                    '^([^\\n]+?) (?:{attached})(?:\\n|$)', 1), '')
                        WHEN starts_with(body, '<')
                        THEN nullif(regexp_extract(body, '{_SHARED_FILE}', 1), '')
                        WHEN starts_with(body, '{LRM}') THEN CASE WHEN starts_with({clean}, '<')
                            THEN nullif(regexp_extract({clean}, '{_SHARED_FILE}', 1), '') END
                   END AS file
            FROM f
        ), m AS (
            SELECT *,
                   CASE WHEN stamp IS NOT NULL AND said IS NOT NULL
                        THEN md5(concat({scope}, '{SEP}', stamp, '{SEP}', author_id, '{SEP}', said))
                   END AS key,
                   CASE WHEN media_kind IS NOT NULL THEN media_kind
                        WHEN file IS NOT NULL THEN CASE {file_kind} ELSE 'document' END
                   END AS attachment_kind,
                   CASE WHEN media_kind IS NOT NULL OR is_deleted THEN NULL
                        WHEN file IS NOT NULL THEN nullif(regexp_extract(body, '\\n(.*)$', 1), '')
                        WHEN is_edited THEN regexp_replace(body, ' ?(?:{edited_re})$', '')
                        ELSE body END AS text_out
            FROM g
        )
        SELECT key, ts_local AS ts,
               stamp AS ts_raw, author_id AS member_id, author AS member_name,
               text_out AS text,
               coalesce(CASE WHEN contains(text_out, '@') THEN
                   regexp_matches(text_out, '@[\\p{{L}}\\p{{N}}_+]') END, false) AS mentions,
               attachment_kind,
               CASE WHEN is_deleted THEN '{{"deleted": true}}'
                    WHEN is_edited THEN '{{"edited": true}}' END AS extra,
               line_no AS source_line,
               CASE WHEN author IS NULL OR candidate OR ts_local IS NULL THEN rest END AS rest,
               CASE WHEN candidate THEN body END AS body,
               author IS NULL OR candidate AS candidate, is_deleted, is_edited,
               h
        FROM m
        """

    def _records(self) -> duckdb.DuckDBPyRelation:
        """The chunk query, made once and run on each chunk registered as ``msgs``.

        Its text is the same for every chunk (the stamp format is decided at the first);
        running the made relation again reads the newly registered ``msgs`` and skips the
        client's parsing and binding of the long text (≈ 14 ms of CPU a chunk).
        """
        if self._relation is not None:
            return self._relation
        relation = self.con.sql(self._records_sql())
        if self._format_decided:
            self._relation = relation
        return relation

    # -- one chunk ----------------------------------------------------------------
    def parse(self, msgs: pa.Table) -> tuple[pa.Table, list[Reject]]:
        """Events and rejects for one chunk of merged message lines ``(line_no, line)``."""
        if not self._format_decided and msgs.num_rows:
            first = first_stamp(msgs.column("line")[0].as_py(), self.layout)
            self.stamp_format = plain_stamp_format(first, self.date_order)
            self._format_decided = True
        self.con.register("msgs", msgs)
        extra = LONG_LINE_ROOM * long_string_megabytes(msgs.column("line"), LONG_LINE_BYTES)
        with memory_room(self.con, CHUNK_MEMORY_MB, extra):
            rec = self._records().to_arrow_table()
        self.con.unregister("msgs")
        ts = rec.schema.get_field_index("ts")
        rec = rec.set_column(ts, "ts", self._utc(rec.column(ts)))
        rec = self._number_occurrences(rec)
        parsed = pc.is_valid(rec.column("ts"))
        unparsed = rec.column("ts").null_count > 0
        rejects = self._rejects(rec.filter(pc.invert(parsed))) if unparsed else []
        candidates = rec.column("candidate")
        if unparsed:
            candidates = pc.and_(candidates, parsed)
        system_events, system_done = self.system.read(rec.filter(candidates))
        rec = _messages_only(rec.select(_MESSAGE_COLUMNS), parsed, system_done)
        rec = self._resolve_mentions(rec)
        parts = [self._message_events(rec)]
        deleted = rec.filter(rec.column("is_deleted"))
        if deleted.num_rows:
            parts.append(self._derived_events(deleted, EventKind.MESSAGE_DELETED, "deleted"))
        edited = rec.filter(rec.column("is_edited"))
        if edited.num_rows:
            parts.append(self._derived_events(edited, EventKind.MESSAGE_EDITED, "edited"))
        if system_events.num_rows:
            parts.append(system_events)
        return pa.concat_tables(parts), rejects

    def _resolve_mentions(self, rec: pa.Table) -> pa.Table:
        """``@Name Surname`` and ``@4917…`` as identities, not as the first word after @.

        A mention is the longest name of a member seen writing so far in this export
        (names hold spaces, colons and emoji, so no pattern can find where they end);
        ``@`` and digits is a phone number; anything else keeps the word after ``@``.
        """
        authors = set(pc.unique(rec.column("member_name").drop_null()).to_pylist())
        new_authors = authors - self._authors_seen
        self._authors_seen |= new_authors
        fresh = {clean_name(a) for a in new_authors} - self._mention_names - {""}
        if fresh:
            self._mention_names |= fresh
            for name in fresh:
                lengths, names = self._mention_index.setdefault(name[:3], ([], set()))
                names.add(name)
                if len(name) not in lengths:
                    lengths.append(len(name))
                    lengths.sort(reverse=True)
        # the query marks the texts with an @ before a letter, digit, _ or +
        at = rec.schema.get_field_index("mentions")
        where = pc.indices_nonzero(rec.column(at))
        if len(where) == 0:
            return rec.set_column(at, "mentions", pa.nulls(rec.num_rows, _MENTIONS))
        texts = rec.column("text").take(where).to_pylist()
        index, identities = self._mention_index, self._mention_identities
        resolved = [_mentioned(text or "", index, identities) or None for text in texts]
        # row i takes entry 0 (null) or its resolved list: one vectorised take
        pick = np.zeros(rec.num_rows, dtype=np.int64)
        pick[where.to_numpy()] = np.arange(1, len(resolved) + 1)
        column = pa.array([None, *resolved], _MENTIONS).take(pa.array(pick))
        return rec.set_column(at, "mentions", column)

    def _number_occurrences(self, rec: pa.Table) -> pa.Table:
        """Number repeats of one (stamp, author, text) in file order and rekey them.

        The first occurrence keeps the key the query computed; the n-th repeat (n ≥ 1)
        gets ``natural_key(first key, n)``. Counts continue into later chunks for every
        key seen within :data:`CARRY_SECONDS` of the newest message, so numbering does not
        depend on where chunks end (a repeat written out of order by more than that
        would restart at 0 and be taken for the first).
        """
        n = rec.num_rows
        if n == 0:
            return rec.append_column("occ", pa.array([], pa.int64()))
        hashes = rec.column("h").to_numpy()
        order = np.lexsort((rec.column("source_line").to_numpy(), hashes))
        ordered = hashes[order]
        starts = np.empty(n, dtype=bool)
        starts[0] = True
        starts[1:] = ordered[1:] != ordered[:-1]
        positions = np.arange(n)
        rank = positions - np.maximum.accumulate(np.where(starts, positions, 0))
        rank = rank + self._carry.earlier(ordered[starts])[np.cumsum(starts) - 1]
        ends = np.empty(n, dtype=bool)
        ends[-1] = True
        ends[:-1] = starts[1:]
        seconds = pc.fill_null(rec.column("ts").cast(pa.int64()), 0).to_numpy() // 1_000_000
        self._carry = self._carry.merge(
            ordered[ends], rank[ends] + 1, seconds[order][ends], int(seconds.max()) - CARRY_SECONDS
        )
        occurrence = np.empty(n, dtype=np.int64)
        occurrence[order] = rank
        rec = rec.append_column("occ", pa.array(occurrence))
        repeats = np.flatnonzero(occurrence > 0)
        if len(repeats):
            firsts = rec.column("key").take(pa.array(repeats)).to_pylist()
            rekeyed = [
                natural_key(first, int(occurrence[i]))
                for first, i in zip(firsts, repeats.tolist(), strict=True)
            ]
            mask = np.zeros(n, dtype=bool)
            mask[repeats] = True
            keys = pc.replace_with_mask(
                rec.column("key").combine_chunks(), pa.array(mask), pa.array(rekeyed, pa.string())
            )
            rec = rec.set_column(rec.schema.get_field_index("key"), "key", keys)
        return rec

    def _message_events(
        self, rec: pa.Table, kind: EventKind = EventKind.MESSAGE_POSTED
    ) -> pa.Table:
        n = rec.num_rows
        # the message columns that are event columns pass as they are (not the flags)
        columns = {name: rec.column(name) for name in _MESSAGE_COLUMNS if name in _EVENT_NAMES}
        columns.update(
            schema_version=pa.array(np.full(n, SCHEMA_VERSION, dtype=np.int16)),
            kind=_constant(kind.value, n),
            platform=_constant("whatsapp", n),
            community=_constant(self.community, n),
            group_id=_constant(self.group_id, n),
            is_bot=pa.array(np.zeros(n, dtype=bool)),
            import_id=pa.array(np.full(n, self.import_id, dtype=np.int64)),
        )
        return pa.table(
            [columns.get(f.name, pa.nulls(n, f.type)) for f in EVENT_SCHEMA], schema=EVENT_SCHEMA
        )

    def _derived_events(self, rec: pa.Table, kind: EventKind, suffix: str) -> pa.Table:
        """The deletion or edit a message line also records, pointing at the message."""
        keys = rec.column("key").to_pylist()
        events = self._message_events(rec, kind)
        replace = {
            "key": pa.array([natural_key(k, suffix) for k in keys], pa.string()),
            "reply_to": pa.array(keys, pa.string()),
            "extra": pa.nulls(rec.num_rows, pa.string()),
        }
        if kind == EventKind.MESSAGE_DELETED:
            for name in ("text", "mentions", "attachment_kind"):
                replace[name] = pa.nulls(rec.num_rows, EVENT_SCHEMA.field(name).type)
        for name, column in replace.items():
            events = events.set_column(events.schema.get_field_index(name), name, column)
        return events.cast(EVENT_SCHEMA)

    def _rejects(self, bad: pa.Table) -> list[Reject]:
        return [
            Reject(
                self.source,
                int(row["source_line"]),
                f"invalid date or time {row['ts_raw']!r} (dates read as {self.date_order})",
                (row["rest"] or "")[:200],
            )
            for row in bad.select(["source_line", "ts_raw", "rest"]).to_pylist()
        ]


_MENTION_PHONE: Final = re.compile(r"\+?[0-9]{6,15}(?![0-9])")
_MENTION_WORD: Final = re.compile(r"[\w+]+")
_MENTION_CACHE: Final = 200_000


def _mentioned(
    text: str, index: dict[str, tuple[list[int], set[str]]], identities: dict[str, str]
) -> list[str]:
    """Identities @mentioned in one message text, in order, each once.

    The longest known name right after ``@`` wins ("Dr: Who" over "Dr"); names are
    looked up by their first characters and then by length, so a mention costs a set
    lookup per distinct length of those names, not a comparison per member.
    ``identities`` caches each written name's identity (bounded).
    """
    found: list[str] = []
    at = text.find("@")
    while at >= 0:
        start = at + 1
        who = _known_name(text, start, index)
        if who is None:
            match = _MENTION_PHONE.match(text, start) or _MENTION_WORD.match(text, start)
            who = match.group(0) if match is not None else None
        if who is not None:
            identity = identities.get(who)
            if identity is None:
                bare = who.lstrip("+")
                identity = identity_of("+" + bare if bare.isdigit() else who)
                if len(identities) < _MENTION_CACHE:
                    identities[who] = identity
            if identity and identity not in found:
                found.append(identity)
        at = text.find("@", start)
    return found


def _known_name(text: str, start: int, index: dict[str, tuple[list[int], set[str]]]) -> str | None:
    """The longest name of ``index`` written at ``start`` (one name of each length can be)."""
    for size in (3, 2, 1):
        bucket = index.get(text[start : start + size])
        if bucket is None:
            continue
        lengths, names = bucket
        for length in lengths:
            if length < size:
                break
            written = text[start : start + length]
            if len(written) == length and written in names:
                return written
    return None


def first_stamp(line: str, layout: str) -> str:
    """The stamp of one header line, cut as :func:`split_sql` cuts it."""
    if layout == ANDROID:
        return line[: line.find(" - ")].lstrip(LEAD_CHARS)
    opened = line.find("[") + 1
    return line[opened : line.find("] ")]


def split_sql(layout: str) -> str:
    """SQL selecting (line_no, stamp, rest) from ``msgs``, the merged message lines."""
    if layout == ANDROID:
        return (
            "SELECT line_no, ltrim(substr(line, 1, strpos(line, ' - ') - 1), "
            f"{sql_str(LEAD_CHARS)}) AS stamp, "
            "substr(line, strpos(line, ' - ') + 3) AS rest FROM msgs"
        )
    return (
        "SELECT line_no, substr(line, strpos(line, '[') + 1, "
        "strpos(line, '] ') - strpos(line, '[') - 1) AS stamp, "
        "substr(line, strpos(line, '] ') + 2) AS rest FROM msgs"
    )


class UtcClock:
    """Local wall times of one timezone as UTC, exactly as DuckDB's ``timezone()`` reads
    them, converting one time per local hour instead of every time.

    A zone's offset from UTC changes only at its transitions, so in a local hour whose
    first and last microsecond have the same offset every time has it, and a time is
    shifted by its hour's offset (integer arithmetic). An hour whose ends differ holds a
    transition (a DST change, a time skipped or written twice, an old zone's odd
    offset): its times are converted by ``timezone()`` one by one. Exports run forward
    in time, so one chunk touches a few hundred hours; their offsets are kept.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, timezone: str) -> None:
        self._con = con
        self._convert = f"epoch_us(timezone({sql_str(timezone)}, t)::TIMESTAMP)"
        #: each local hour's offset (µs, local minus UTC); None for an hour with a transition
        self._offsets: dict[int, int | None] = {}

    def __call__(self, local: pa.ChunkedArray) -> pa.Array:
        """``local`` (timestamps without zone, nulls kept) as UTC timestamps."""
        values = pc.fill_null(local.cast(pa.int64()), 0).to_numpy()
        if len(values) == 0:
            return pa.array(values, pa.int64()).cast(local.type)
        hours = values // _HOUR_US
        # times run in order: the hours change between runs of equal ones
        starts = np.flatnonzero(np.concatenate(([True], hours[1:] != hours[:-1])))
        run_hours = hours[starts].tolist()
        self._learn(run_hours)
        offsets = self._offsets
        run_offsets = np.array([offsets[h] or 0 for h in run_hours], dtype=np.int64)
        utc = values - np.repeat(run_offsets, np.diff(np.append(starts, len(values))))
        odd = [i for i, h in enumerate(run_hours) if offsets[h] is None]
        if odd:
            rows = np.isin(hours, np.array([run_hours[i] for i in odd], dtype=np.int64))
            utc[rows] = self._exact(values[rows])
        valid = pc.is_valid(local).to_numpy(zero_copy_only=False)
        mask = None if valid.all() else ~valid
        return pa.array(utc, pa.int64(), mask=mask).cast(local.type)

    def _learn(self, hours: list[int]) -> None:
        """The offsets of the ``hours`` not seen yet, from both ends of each."""
        new = np.unique(np.array([h for h in hours if h not in self._offsets], dtype=np.int64))
        if len(new) == 0:
            return
        first = new * _HOUR_US
        last = first + (_HOUR_US - 1)
        ends = self._exact(np.concatenate((first, last)))
        offsets = first - ends[: len(new)]
        steady = last - ends[len(new) :] == offsets
        for hour, offset, same in zip(new.tolist(), offsets.tolist(), steady.tolist(), strict=True):
            self._offsets[hour] = offset if same else None

    def _exact(self, local: np.ndarray) -> np.ndarray:
        """``timezone()`` of each local time (µs since the epoch), in order."""
        times = pa.table({"t": pa.array(local, pa.int64()).cast(pa.timestamp("us"))})
        self._con.register("shequn_local_times", times)
        try:
            found = self._con.execute(
                f"SELECT {self._convert} AS u FROM shequn_local_times"
            ).fetchnumpy()["u"]
        finally:
            self._con.unregister("shequn_local_times")
        return np.asarray(found, dtype=np.int64)


@dataclass(frozen=True)
class Carry:
    """Occurrence counts that continue into later chunks, as sorted numpy arrays."""

    hashes: np.ndarray  # uint64, sorted
    counts: np.ndarray  # int64: the next occurrence number of each hash
    seen: np.ndarray  # int64: last seen, UTC epoch seconds

    @classmethod
    def empty(cls) -> Carry:
        return cls(np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64))

    def earlier(self, hashes: np.ndarray) -> np.ndarray:
        """How many times each hash occurred before (0 for hashes not carried)."""
        if len(self.hashes) == 0:
            return np.zeros(len(hashes), np.int64)
        at = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        return np.where(self.hashes[at] == hashes, self.counts[at], 0)

    def merge(
        self, hashes: np.ndarray, counts: np.ndarray, seen: np.ndarray, horizon: int
    ) -> Carry:
        """This chunk's counts over the carried ones, dropping what is older than horizon."""
        keep = ~np.isin(self.hashes, hashes, assume_unique=True) & (self.seen >= horizon)
        all_hashes = np.concatenate([self.hashes[keep], hashes])
        order = np.argsort(all_hashes, kind="stable")
        return Carry(
            all_hashes[order],
            np.concatenate([self.counts[keep], counts])[order],
            np.concatenate([self.seen[keep], seen])[order],
        )


_FILE_KINDS: Final = (
    ("(?i)^(IMG-|.*-PHOTO-)|[.](jpe?g|png|heic)$", "image"),
    ("(?i)^(VID-|.*-VIDEO-)|[.](mp4|mov|3gp)$", "video"),
    ("(?i)^(PTT-|.*-AUDIO-)|[.]opus$", "voice"),
    ("(?i)^AUD-|[.](m4a|mp3|aac|ogg)$", "audio"),
    ("(?i)^STK-|-STICKER-|[.]webp$", "sticker"),
    ("(?i)-GIF-", "gif"),
    ("(?i)[.]vcf$", "contact"),
)


def _messages_only(rec: pa.Table, parsed: pa.ChunkedArray, system_lines: list[int]) -> pa.Table:
    """The rows of ``rec`` that are messages: a parsed timestamp and not a system line.

    One copy, even when every row is kept: the batch then holds Arrow's buffers, not
    the query result's, which die here (returning ``rec`` itself raised the import's
    peak RSS by ~4 MB in 4 of 5 runs).
    """
    keep = parsed
    if system_lines:
        done = pa.array(system_lines, pa.int64())
        keep = pc.and_(keep, pc.invert(pc.is_in(rec.column("source_line"), done)))
    return rec.filter(keep)


def _constant(value: str, n: int) -> pa.Array:
    """A string column holding one value, without building n Python objects."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([value], pa.string())
    ).dictionary_decode()
