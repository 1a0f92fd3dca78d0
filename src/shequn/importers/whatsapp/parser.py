"""Turning chunks of WhatsApp export lines into events, in bulk.

Every chunk is an Arrow table ``(line_no, line)`` that starts on a message header.
One DuckDB query per chunk recognises headers, joins continuation lines into their
message, parses local timestamps in the decided date order, splits author from text,
classifies media, deleted and edited messages and computes idempotency keys — no
Python loop touches ordinary messages. Only system-line *candidates* (a few percent)
are matched in Python against the language table of :mod:`system_lines`.

Idempotency key of a WhatsApp record: md5 of group, timestamp as written, author
identity, md5 of the text, and the occurrence number of that (timestamp, author, text)
in the file. Occurrence counts carry from chunk to chunk, so identical "ok"s in one
minute stay distinct while a re-export that overlaps stores each once. Events derived
from one record (the N members of "added A, B") extend its key with kind and member.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import duckdb
import pyarrow as pa

from shequn.events import EVENT_SCHEMA, KEY_SEPARATOR, SCHEMA_VERSION, EventKind, JoinMethod
from shequn.identity import identity_of, identity_sql
from shequn.importers.whatsapp import system_lines
from shequn.importers.whatsapp.layout import (
    ANDROID,
    DATE_PARTS,
    HEADERS,
    DateEvidence,
    normalise_ampm_sql,
)
from shequn.importers.whatsapp.system_lines import SystemEvent, SystemMatch
from shequn.store.base import Reject

SEP: Final = KEY_SEPARATOR
_QUOTES: Final = '["“”„«»「」『』]'
_TIME_PARTS: Final = r"^([0-9]{1,2})[:.]([0-9]{2})(?:[:.]([0-9]{2}))?$"
_LRM: Final = "\u200e"


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class ColonNames:
    """Author names that themselves contain ': ' ("Dr: Who: hello").

    Across the file, a first segment whose messages *all* continue with the same
    second segment (at least twice) is one name: "Dr" always followed by "Who".
    """

    stats: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, rows: Sequence[tuple[str, int, int, str | None, str | None]]) -> None:
        for prefix, total, with_second, lo, hi in rows:
            seen = self.stats.get(prefix)
            if seen is None:
                self.stats[prefix] = [total, with_second, lo, hi]
                continue
            seen[0] += total
            seen[1] += with_second
            seen[2] = lo if seen[2] is None or (lo is not None and lo < seen[2]) else seen[2]
            seen[3] = hi if seen[3] is None or (hi is not None and hi > seen[3]) else seen[3]

    def names(self) -> dict[str, str]:
        """prefix -> full name."""
        out = {}
        for prefix, (total, with_second, lo, hi) in self.stats.items():
            if with_second >= 2 and lo == hi and lo and with_second >= 0.9 * total:
                out[prefix] = f"{prefix}: {lo}"
        return out


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
        colon_names: dict[str, str],
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
        self.me = me
        self.language = language
        self._group_names = {identity_of(n) for n in (group_id, group_name) if n}
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET preserve_insertion_order = true")
        self.con.register(
            "colon_names",
            pa.table(
                {
                    "prefix": pa.array(list(colon_names), pa.string()),
                    "fullname": pa.array(list(colon_names.values()), pa.string()),
                }
            ),
        )
        media_rows = [
            (text, kind.value)
            for lang in system_lines.LANGUAGES.values()
            for text, kind in lang.media_omitted.items()
        ]
        self.con.register(
            "media_strings",
            pa.table(
                {
                    "text": pa.array([t.lower() for t, _ in media_rows], pa.string()),
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
        self._carry = pa.table(
            {
                "ts_raw": pa.array([], pa.string()),
                "author_id": pa.array([], pa.string()),
                "body_hash": pa.array([], pa.string()),
                "n": pa.array([], pa.int64()),
            }
        )

    # -- the bulk query ---------------------------------------------------------------
    def _date_fields(self) -> tuple[str, str, str]:
        return {
            "dmy": ("dp.c", "dp.b", "dp.a"),
            "mdy": ("dp.c", "dp.a", "dp.b"),
            "ymd": ("dp.a", "dp.b", "dp.c"),
        }[self.date_order]

    def _records_sql(self) -> str:
        y, mo, d = self._date_fields()
        header = _sql_str(HEADERS[self.layout])
        android = self.layout == ANDROID
        quote_candidate = (
            f"OR regexp_matches(coalesce(p1, ''), {_sql_str(_QUOTES)})" if android else ""
        )
        system_candidate = (
            f"cpos = 0 OR (fullname IS NOT NULL AND NOT starts_with(rest, fullname || ': ')) "
            f"{quote_candidate}"
            if android
            else f"starts_with(body, '{_LRM}') AND ms.kind IS NULL "
            f"AND NOT regexp_matches(body, '^{_LRM}?<[^<>:]+: [^<>]+>')"
        )
        return f"""
        WITH h AS (
            SELECT line_no, rtrim(line, chr(13)) AS line,
                   regexp_extract(rtrim(line, chr(13)), {header},
                                  ['stamp', 'date', 'pre', 'time', 'post', 'rest']) AS m
            FROM chunk
        ), g AS (
            SELECT line_no, line, m, m.stamp <> '' AS is_header,
                   sum(CASE WHEN m.stamp <> '' THEN 1 ELSE 0 END)
                       OVER (ORDER BY line_no ROWS UNBOUNDED PRECEDING) AS msg
            FROM h
        ), msgs AS (
            SELECT msg, min(line_no) AS line_no,
                   max(CASE WHEN is_header THEN m.stamp END) AS stamp,
                   max(CASE WHEN is_header THEN m.date END) AS date,
                   max(CASE WHEN is_header THEN m.pre || m.post END) AS ampm,
                   max(CASE WHEN is_header THEN m.time END) AS time,
                   string_agg(CASE WHEN is_header THEN m.rest ELSE line END, chr(10)
                              ORDER BY line_no) AS rest,
                   count(*) AS nlines
            FROM g WHERE msg > 0 GROUP BY msg
        ), p AS (
            SELECT *, regexp_extract(date, {_sql_str(DATE_PARTS)}, ['a', 'b', 'c']) AS dp,
                   regexp_extract(time, {_sql_str(_TIME_PARTS)}, ['h', 'mi', 's']) AS tp,
                   {normalise_ampm_sql("ampm")} AS ap
            FROM msgs
        ), t AS (
            SELECT *,
                   CASE WHEN length({y}) <= 2 THEN 2000 + CAST({y} AS INT)
                        ELSE CAST({y} AS INT) END AS yy,
                   CAST({mo} AS INT) AS mm, CAST({d} AS INT) AS dd,
                   CAST(tp.h AS INT) AS hh0, CAST(tp.mi AS INT) AS mi,
                   CAST(CASE WHEN tp.s = '' THEN '0' ELSE tp.s END AS INT) AS ss
            FROM p
        ), u AS (
            SELECT *,
                   CASE WHEN ap = 'pm' AND hh0 < 12 THEN hh0 + 12
                        WHEN ap = 'am' AND hh0 = 12 THEN 0 ELSE hh0 END AS hh,
                   strpos(rest, ': ') AS cpos
            FROM t
        ), v AS (
            SELECT u.*,
                   CASE WHEN hh < 24 AND mi < 60 AND ss < 60
                        THEN try(make_timestamp(yy, mm, dd, hh, mi, ss::DOUBLE)) END AS ts_local,
                   CASE WHEN cpos > 0 THEN substr(rest, 1, cpos - 1) END AS p1
            FROM u
        ), w AS (
            SELECT v.*, cn.fullname,
                   CASE WHEN cn.fullname IS NOT NULL AND starts_with(rest, cn.fullname || ': ')
                        THEN cn.fullname WHEN cpos > 0 THEN p1 END AS author,
                   CASE WHEN cn.fullname IS NOT NULL AND starts_with(rest, cn.fullname || ': ')
                        THEN substr(rest, length(cn.fullname) + 3)
                        WHEN cpos > 0 THEN substr(rest, cpos + 2) END AS body
            FROM v LEFT JOIN colon_names cn ON cn.prefix = v.p1
        ), x AS (
            SELECT w.*, ms.kind AS media_kind,
                   {identity_sql("coalesce(author, chr(0))")} AS author_id,
                   md5(CASE WHEN author IS NULL THEN rest ELSE body END) AS body_hash,
                   ({system_candidate}) AS candidate
            FROM w LEFT JOIN media_strings ms ON ms.text = lower(ltrim(w.body, '{_LRM}'))
        )
        SELECT x.*,
               timezone({_sql_str(self.timezone)}, ts_local)::TIMESTAMP AS ts,
               row_number() OVER (PARTITION BY x.stamp, x.author_id, x.body_hash
                                  ORDER BY x.line_no)
                   - 1 + coalesce(c.n, 0) AS occ
        FROM x LEFT JOIN carry c
            ON c.ts_raw = x.stamp AND c.author_id = x.author_id AND c.body_hash = x.body_hash
        """

    def _messages_sql(self) -> str:
        deleted = ", ".join(_sql_str(s) for s in self._deleted) or "''"
        attached = "|".join(_escape_re(s) for s in self._attached)
        edited = "|".join(_escape_re(s) for s in self._edited) or "$^"
        gid = _sql_str(self.group_id)
        clean_body = f"ltrim(body, '{_LRM}')"
        return f"""
        WITH m AS (
            SELECT r.*,
                   md5({gid} || '{SEP}' || stamp || '{SEP}' || author_id || '{SEP}' || body_hash
                       || '{SEP}' || occ::VARCHAR) AS key,
                   {clean_body} IN ({deleted}) AS is_deleted,
                   regexp_matches({clean_body}, ' ?(?:{edited})$') AS is_edited,
                   regexp_extract({clean_body}, '^([^\\n]+?) (?:{attached})(?:\\n|$)', 1)
                       AS android_file,
                   regexp_extract({clean_body}, '^<[^<>:]+: ([^<>]+)>(?:\\n|$)', 1) AS ios_file
            FROM records r
            WHERE ts IS NOT NULL AND author IS NOT NULL
              AND r.line_no NOT IN (SELECT line_no FROM system_done)
        ), n AS (
            SELECT *,
                   CASE WHEN media_kind IS NOT NULL THEN media_kind
                        WHEN android_file <> '' OR ios_file <> '' THEN
                            CASE WHEN regexp_matches(android_file || ios_file,
                                        '(?i)^(IMG-|.*-PHOTO-)|[.](jpe?g|png|webp|heic)$')
                                     THEN 'image'
                                 WHEN regexp_matches(android_file || ios_file,
                                        '(?i)^(VID-|.*-VIDEO-)|[.](mp4|mov|3gp)$') THEN 'video'
                                 WHEN regexp_matches(android_file || ios_file,
                                        '(?i)^(PTT-|.*-AUDIO-)|[.]opus$') THEN 'voice'
                                 WHEN regexp_matches(android_file || ios_file,
                                        '(?i)^AUD-|[.](m4a|mp3|aac|ogg)$') THEN 'audio'
                                 WHEN regexp_matches(android_file || ios_file,
                                        '(?i)^STK-|-STICKER-|[.]webp$') THEN 'sticker'
                                 WHEN regexp_matches(android_file || ios_file, '(?i)-GIF-')
                                     THEN 'gif'
                                 WHEN regexp_matches(android_file || ios_file, '(?i)[.]vcf$')
                                     THEN 'contact'
                                 ELSE 'document' END
                   END AS attachment_kind,
                   CASE WHEN media_kind IS NOT NULL OR is_deleted THEN NULL
                        WHEN android_file <> '' OR ios_file <> '' THEN
                            nullif(regexp_extract(body, '\\n(.*)$', 1), '')
                        WHEN is_edited THEN regexp_replace(body, ' ?(?:{edited})$', '')
                        ELSE body END AS text_out
            FROM m
        )
        SELECT key, CAST({SCHEMA_VERSION} AS SMALLINT) AS schema_version,
               'message_posted' AS kind, 'whatsapp' AS platform,
               {_sql_str(self.community)} AS community, {gid} AS group_id, ts,
               stamp AS ts_raw, NULL AS platform_id, author_id AS member_id,
               author AS member_name, NULL AS by_member_id, text_out AS text, NULL AS reply_to,
               CASE WHEN text_out IS NULL THEN NULL ELSE
                   nullif(regexp_extract_all(text_out, '@([\\p{{L}}\\p{{N}}_+]+)', 1), [])
               END AS mentions,
               attachment_kind, NULL AS forwarded_from, false AS is_bot, NULL AS join_method,
               NULL AS invite_link, NULL::DOUBLE AS amount, NULL AS currency,
               CASE WHEN is_deleted THEN '{{"deleted": true}}'
                    WHEN is_edited THEN '{{"edited": true}}' END AS extra,
               {self.import_id}::BIGINT AS import_id, line_no AS source_line
        FROM n
        UNION ALL
        SELECT md5(key || '{SEP}deleted'), {SCHEMA_VERSION}, 'message_deleted', 'whatsapp',
               {_sql_str(self.community)}, {gid}, ts, stamp, NULL, author_id, author, NULL,
               NULL, key, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL,
               {self.import_id}, line_no
        FROM n WHERE is_deleted
        UNION ALL
        SELECT md5(key || '{SEP}edited'), {SCHEMA_VERSION}, 'message_edited', 'whatsapp',
               {_sql_str(self.community)}, {gid}, ts, stamp, NULL, author_id, author, NULL,
               text_out, key, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL,
               {self.import_id}, line_no
        FROM n WHERE is_edited
        """

    # -- one chunk ----------------------------------------------------------------
    def parse(self, chunk: pa.Table) -> tuple[pa.Table, list[Reject], int]:
        """Events and rejects for one aligned chunk, and how many records it held."""
        self.con.register("chunk", chunk)
        self.con.register("carry", self._carry)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE records AS {self._records_sql()}")
        rejects = self._rejects(chunk)
        system_rows, system_done = self._system_events()
        self.con.register("system_done", pa.table({"line_no": pa.array(system_done, pa.int64())}))
        messages = self.con.sql(self._messages_sql()).to_arrow_table()
        self._carry = self.con.sql(
            "SELECT stamp AS ts_raw, author_id, body_hash, max(occ) + 1 AS n FROM records "
            "WHERE stamp IS NOT NULL GROUP BY ALL"
        ).to_arrow_table()
        records = self.con.execute("SELECT count(*) FROM records").fetchall()[0]
        events = messages.cast(EVENT_SCHEMA)
        if system_rows:
            events = pa.concat_tables([events, _rows_to_table(system_rows)])
        return events, rejects, int(records[0]) if records else 0

    def _rejects(self, chunk: pa.Table) -> list[Reject]:
        rows = self.con.execute(
            "SELECT line_no, rest, stamp, date FROM records WHERE ts IS NULL"
        ).fetchall()
        out = [
            Reject(
                self.source,
                int(line),
                f"invalid date or time {stamp!r} (dates read as {self.date_order})",
                (rest or "")[:200],
            )
            for line, rest, stamp, _ in rows
        ]
        orphan = self.con.execute(
            f"SELECT line_no, line FROM chunk WHERE line_no < (SELECT coalesce(min(line_no), "
            f"9223372036854775807) FROM records) AND trim(rtrim(line, chr(13))) <> '' "
            f"AND NOT regexp_matches(line, {_sql_str(HEADERS[self.layout])})"
        ).fetchall()
        out.extend(
            Reject(self.source, int(line), "text before the first message header", text[:200])
            for line, text in orphan
        )
        return sorted(out, key=lambda r: r.line)

    def _system_events(self) -> tuple[list[dict[str, Any]], list[int]]:
        """Match system-line candidates against the language table."""
        candidates = self.con.execute(
            "SELECT line_no, stamp, ts, rest, author, body, occ, author_id, body_hash "
            "FROM records WHERE ts IS NOT NULL AND (candidate OR author IS NULL) "
            "ORDER BY line_no"
        ).fetchall()
        rows: list[dict[str, Any]] = []
        done: list[int] = []
        for line_no, stamp, ts, rest, author, body, occ, author_id, body_hash in candidates:
            text = rest if self.layout == ANDROID or author is None else (body or "")
            text = text.lstrip(_LRM)
            found = self._match(text)
            if found is None and author is not None and not self._group_voice(author):
                continue  # an ordinary message after all
            done.append(int(line_no))
            base_key = _md5(self.group_id, stamp, author_id, body_hash, occ)
            common = {"ts": ts, "ts_raw": stamp, "source_line": int(line_no)}
            if found is None:
                rows.append(self._row(base_key, EventKind.SYSTEM_NOTICE, None, common, text=text))
                continue
            rows.extend(self._expand(found, base_key, common))
        return rows, done

    def _group_voice(self, author: str) -> bool:
        """iOS writes system lines as if the group (its current name) had said them."""
        return self.layout != ANDROID and identity_of(author) in self._group_names

    def _match(self, text: str) -> SystemMatch | None:
        order = list(system_lines.languages())
        if self.language in order:
            order.remove(self.language)
            order.insert(0, self.language)
        for lang in order:
            found = system_lines.match(text, lang)
            if found is not None:
                if self.language is None:
                    self.language = lang
                return found
        return None

    def _who(self, found: SystemMatch, role: str) -> tuple[str | None, str | None]:
        """(identity, written name) of the actor or member a system line names."""
        if found.line.you == role:
            name = self.me or "you"
            return identity_of(name), name
        written = found.fields.get(role)
        if written is None:
            return None, None
        return identity_of(written), written

    def _expand(
        self, found: SystemMatch, base_key: str, common: dict[str, Any]
    ) -> list[dict[str, Any]]:
        event = found.event
        actor_id, actor_name = self._who(found, "actor")
        member_id, member_name = self._who(found, "member")
        lang = found.line.lang
        rows: list[dict[str, Any]] = []
        if event == SystemEvent.ADDED:
            if found.line.you == "member":
                targets = [(member_id, member_name)]
            else:
                names = system_lines.split_members(found.fields["members"], lang)
                targets = [(identity_of(n), n) for n in names]
            for target_id, target_name in targets:
                rows.append(
                    self._row(
                        base_key,
                        EventKind.MEMBER_JOINED,
                        target_id,
                        common,
                        name=target_name,
                        by=actor_id,
                        join_method=JoinMethod.ADDED,
                    )
                )
        elif event == SystemEvent.JOINED_VIA_LINK:
            rows.append(
                self._row(
                    base_key,
                    EventKind.MEMBER_JOINED,
                    member_id,
                    common,
                    name=member_name,
                    join_method=JoinMethod.INVITE_LINK,
                )
            )
        elif event == SystemEvent.REMOVED:
            rows.append(
                self._row(
                    base_key,
                    EventKind.MEMBER_REMOVED,
                    member_id,
                    common,
                    name=member_name,
                    by=actor_id,
                )
            )
        elif event == SystemEvent.LEFT:
            rows.append(
                self._row(base_key, EventKind.MEMBER_LEFT, member_id, common, name=member_name)
            )
        elif event == SystemEvent.GROUP_CREATED:
            rows.append(
                self._row(
                    base_key,
                    EventKind.GROUP_CREATED,
                    actor_id,
                    common,
                    name=actor_name,
                    text=found.fields.get("subject"),
                )
            )
        elif event == SystemEvent.SUBJECT_CHANGED:
            rows.append(
                self._row(
                    base_key,
                    EventKind.GROUP_RENAMED,
                    actor_id,
                    common,
                    name=actor_name,
                    text=found.fields.get("new"),
                    extra={"old": found.fields.get("old")},
                )
            )
        elif event == SystemEvent.DESCRIPTION_CHANGED:
            rows.append(
                self._row(
                    base_key, EventKind.GROUP_DESCRIPTION_CHANGED, actor_id, common, name=actor_name
                )
            )
        elif event in (SystemEvent.ICON_CHANGED, SystemEvent.ICON_DELETED):
            rows.append(
                self._row(
                    base_key,
                    EventKind.GROUP_ICON_CHANGED,
                    actor_id,
                    common,
                    name=actor_name,
                    extra={"deleted": event == SystemEvent.ICON_DELETED},
                )
            )
        elif event == SystemEvent.NUMBER_CHANGED:
            old = found.fields.get("old") or found.fields.get("member")
            new = found.fields.get("new")
            rows.append(
                self._row(
                    base_key,
                    EventKind.MEMBER_NUMBER_CHANGED,
                    identity_of(old) if old else None,
                    common,
                    name=old,
                    extra={"new": identity_of(new) if new else None},
                )
            )
        elif event == SystemEvent.SECURITY_CODE_CHANGED:
            rows.append(
                self._row(base_key, EventKind.SECURITY_NOTICE, member_id, common, name=member_name)
            )
        else:
            rows.append(
                self._row(
                    base_key, EventKind.SYSTEM_NOTICE, None, common, extra={"system": event.value}
                )
            )
        return rows

    def _row(
        self,
        base_key: str,
        kind: EventKind,
        member_id: str | None,
        common: dict[str, Any],
        *,
        name: str | None = None,
        by: str | None = None,
        text: str | None = None,
        join_method: JoinMethod | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "key": _md5(base_key, kind.value, member_id),
            "schema_version": SCHEMA_VERSION,
            "kind": kind.value,
            "platform": "whatsapp",
            "community": self.community,
            "group_id": self.group_id,
            "ts": common["ts"],
            "ts_raw": common["ts_raw"],
            "platform_id": None,
            "member_id": member_id,
            "member_name": name,
            "by_member_id": by,
            "text": text,
            "reply_to": None,
            "mentions": None,
            "attachment_kind": None,
            "forwarded_from": None,
            "is_bot": False,
            "join_method": join_method.value if join_method else None,
            "invite_link": None,
            "amount": None,
            "currency": None,
            "extra": json.dumps(extra, ensure_ascii=False) if extra else None,
            "import_id": self.import_id,
            "source_line": common["source_line"],
        }


def _md5(*parts: object) -> str:
    from shequn.events import natural_key

    return natural_key(*parts)


def _escape_re(text: str) -> str:
    out = []
    for ch in text:
        out.append("\\" + ch if ch in r".^$*+?()[]{}|\-" else ch)
    return "".join(out).replace("'", "''")


def _rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def evidence_sql(layout: str) -> str:
    """Pass 1 over a chunk: date-order evidence and colon-name statistics."""
    header = _sql_str(HEADERS[layout])
    return f"""
        WITH h AS (
            SELECT line_no, regexp_extract(rtrim(line, chr(13)), {header},
                       ['stamp', 'date', 'pre', 'time', 'post', 'rest']) AS m
            FROM chunk
        ), d AS (
            SELECT line_no, m.rest AS rest, m.pre || m.post AS ampm,
                   regexp_extract(m.date, {_sql_str(DATE_PARTS)}, ['a', 'b', 'c']) AS dp
            FROM h WHERE m.stamp <> ''
        ), n AS (
            SELECT line_no, rest, ampm, length(dp.a) = 4 AS year_first,
                   CAST(dp.a AS BIGINT) AS a, CAST(dp.b AS BIGINT) AS b,
                   CAST(dp.c AS BIGINT) AS c
            FROM d
        ), o AS (
            SELECT *, c * 10000 + b * 100 + a AS as_dmy, c * 10000 + a * 100 + b AS as_mdy
            FROM n
        ), l AS (
            SELECT *, lag(as_dmy) OVER (ORDER BY line_no) AS prev_dmy,
                   lag(as_mdy) OVER (ORDER BY line_no) AS prev_mdy
            FROM o
        )
        SELECT count(*), count_if(year_first), count_if(a > 12 AND NOT year_first),
               count_if(b > 12 AND NOT year_first),
               count_if(as_dmy < prev_dmy), count_if(as_mdy < prev_mdy),
               count_if(ampm <> '')
        FROM l
    """


def colon_sql(layout: str) -> str:
    """Pass 1: for each first segment before ': ', the second segments that follow it."""
    header = _sql_str(HEADERS[layout])
    return f"""
        WITH h AS (
            SELECT regexp_extract(rtrim(line, chr(13)), {header}, 6) AS rest FROM chunk
        ), s AS (
            SELECT rest, strpos(rest, ': ') AS p FROM h WHERE rest <> ''
        ), t AS (
            SELECT substr(rest, 1, p - 1) AS prefix, substr(rest, p + 2) AS after FROM s
            WHERE p > 0
        ), u AS (
            SELECT prefix, CASE WHEN strpos(after, ': ') > 0
                                THEN substr(after, 1, strpos(after, ': ') - 1) END AS second
            FROM t
        )
        SELECT prefix, count(*), count(second), min(second), max(second) FROM u
        WHERE strpos(prefix, ': ') = 0 GROUP BY prefix
        HAVING count(second) > 0
    """


def evidence_from(row: tuple[Any, ...]) -> DateEvidence:
    """DateEvidence from one row of :func:`evidence_sql`."""
    return DateEvidence(
        lines=int(row[0] or 0),
        year_first=int(row[1] or 0),
        first_over_12=int(row[2] or 0),
        second_over_12=int(row[3] or 0),
        backwards_dmy=int(row[4] or 0),
        backwards_mdy=int(row[5] or 0),
        twelve_hour=int(row[6] or 0),
    )
