"""The first pass over a WhatsApp export: what only the whole file can decide.

The date order (see :mod:`.layout`) and author names that contain ': ' are read
from every header line before any event is made; the pass touches only the start
of each line, so it costs a fraction of the parse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from shequn.importers.whatsapp.layout import ANDROID, DateEvidence
from shequn.importers.whatsapp.sql import LEAD_CHARS, sql_str


@dataclass
class ColonNames:
    """What the text before the first ': ' of each line says across the whole file.

    * Author names that themselves contain ': ' ("Dr: Who: hello"): a first segment
      whose lines *all* continue with the same second segment (at least twice) is one
      name, "Dr" always followed by "Who".
    * Segments seen once only are rare "authors": a system line whose names contain
      ': ' ("Alice added Dr: Who") looks like a message from "Alice added Dr", so such
      lines are checked against the system-line table too.
    """

    stats: dict[str, list[Any]] = field(default_factory=dict)

    def add(
        self, rows: Sequence[tuple[str, int, int, str | None, str | None, str | None, str | None]]
    ) -> None:
        """Merge one chunk's rows: (prefix, lines, lines with a second segment, least and
        greatest second segment, least and greatest text after it). Extremes, not a
        per-chunk "varied" flag, so what a prefix says is judged across the whole file
        however it is cut into chunks (a zip is surveyed chunk by chunk)."""
        for prefix, total, with_second, lo, hi, third_lo, third_hi in rows:
            seen = self.stats.get(prefix)
            if seen is None:
                self.stats[prefix] = [total, with_second, lo, hi, third_lo, third_hi]
                continue
            seen[0] += total
            seen[1] += with_second
            seen[2] = _least(seen[2], lo)
            seen[3] = _greatest(seen[3], hi)
            seen[4] = _least(seen[4], third_lo)
            seen[5] = _greatest(seen[5], third_hi)

    def names(self) -> dict[str, str]:
        """prefix -> full name.

        Besides always being followed by the same second segment, a name says different
        things after it (one text posted twice — "Bob: Slides: https://…" — is not the
        member "Bob: Slides") and is short (at most three words: "Here is the link"
        is a sentence, not a name).
        """
        out = {}
        for prefix, (total, with_second, lo, hi, third_lo, third_hi) in self.stats.items():
            varied = third_lo is not None and third_lo != third_hi
            if (
                with_second >= 2
                and lo == hi
                and lo
                and with_second >= 0.9 * total
                and varied
                and len(lo.split()) <= 3
            ):
                out[prefix] = f"{prefix}: {lo}"
        return out

    def table(self) -> pa.Table:
        """prefix, full name (or null), rare: what the parser joins each line with."""
        names = self.names()
        rows = [
            (p, names.get(p), s[0] == 1) for p, s in self.stats.items() if p in names or s[0] == 1
        ]
        return pa.table(
            {
                "prefix": pa.array([r[0] for r in rows], pa.string()),
                "fullname": pa.array([r[1] for r in rows], pa.string()),
                "rare": pa.array([r[2] for r in rows], pa.bool_()),
            }
        )


def _least(a: str | None, b: str | None) -> str | None:
    """The smaller of two optional strings (None: not seen), as SQL's min compares."""
    return b if a is None or (b is not None and b < a) else a


def _greatest(a: str | None, b: str | None) -> str | None:
    return b if a is None or (b is not None and b > a) else a


def _stamp_and_head(layout: str, head_chars: int = 120) -> str:
    """SQL selecting (line_no, stamp, head) from header lines, head = start of the rest."""
    if layout == ANDROID:
        return (
            "SELECT line_no, substr(line, 1, strpos(line, ' - ') - 1) AS stamp, "
            f"substr(line, strpos(line, ' - ') + 3, {head_chars}) AS head FROM msgs"
        )
    return (
        "SELECT line_no, substr(line, strpos(line, '[') + 1, "
        "strpos(line, '] ') - strpos(line, '[') - 1) AS stamp, "
        f"substr(line, strpos(line, '] ') + 2, {head_chars}) AS head FROM msgs"
    )


def evidence_sql(layout: str, time_order: bool = False, clock: bool = False) -> str:
    """The date questions :func:`survey_sql` leaves out, for one chunk.

    ``time_order`` adds how often the dates run backwards under each reading, which
    only an ambiguous file needs (it costs a window over every line); ``clock`` counts
    stamps with a word beside the time (AM/PM, 下午), asked of the first lines only.
    """
    date = "'^([0-9]{1,4})[./-]([0-9]{1,2})[./-]([0-9]{1,4})', ['a', 'b', 'c']"
    third = "TRY_CAST(dp.c AS BIGINT)"
    ampm = "regexp_matches(stamp, '[^0-9 ,./:\\-\\x{202f}\\x{a0}]')" if clock else "false"
    backwards = "count_if(back_dmy), count_if(back_mdy)" if time_order else "0, 0"
    lags = (
        ", c * 10000 + b * 100 + a < lag(c * 10000 + b * 100 + a) OVER w AS back_dmy"
        ", c * 10000 + a * 100 + b < lag(c * 10000 + a * 100 + b) OVER w AS back_mdy"
        if time_order
        else ""
    )
    return f"""
        WITH s AS ({_stamp_and_head(layout)}
        ), d AS (
            SELECT line_no, regexp_extract(ltrim(stamp, {sql_str(LEAD_CHARS)}), {date}) AS dp,
                   {ampm} AS ampm
            FROM s
        ), n AS (
            SELECT line_no, ampm, length(dp.a) = 4 AS year_first,
                   TRY_CAST(dp.a AS BIGINT) AS a, TRY_CAST(dp.b AS BIGINT) AS b,
                   {third} AS c
            FROM d WHERE dp.a <> ''
        ), o AS (
            SELECT *{lags} FROM n WINDOW w AS (ORDER BY line_no)
        )
        SELECT count(*), count_if(year_first), count_if(a > 12 AND NOT year_first),
               count_if(b > 12 AND NOT year_first), {backwards}, count_if(ampm)
        FROM o
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


def survey_sql(layout: str) -> str:
    """Date evidence and colon-name statistics in one scan of ``msgs``.

    One row per first segment (for :class:`ColonNames`) plus one
    total row (``total`` true) with the date counts of :func:`evidence_sql`.
    The date fields are read once per distinct start of a stamp (the 8 characters
    the date pattern can reach; a year has a few hundred), not once per line: the
    pattern's capture groups cost more than the rest of the scan. Each position is
    found once (the text after the first ': ' is cut once and searched once), and the
    start of the stamp is read straight from the line: every line here matched the
    header pattern, whose stamp has at least 10 characters after its leading marks.
    """
    return f"""
        WITH s AS ({_date_head_and_head(layout)}
        ), d AS (
            SELECT date_head, head, strpos(head, ': ') AS p FROM s
        ), t AS (
            SELECT date_head,
                   CASE WHEN p > 0 THEN substr(head, 1, p - 1) END AS prefix,
                   CASE WHEN p > 0 THEN substr(head, p + 2) END AS tail
            FROM d
        ), q AS (
            SELECT date_head, prefix, tail, strpos(tail, ': ') AS q FROM t
        ), e AS (
            SELECT date_head, prefix,
                   CASE WHEN q > 0 THEN substr(tail, 1, q - 1) END AS second,
                   CASE WHEN q > 0 THEN substr(tail, q + 2) END AS third
            FROM q
        ), g AS (
            SELECT GROUPING(prefix) AS by_date, prefix, date_head, count(*) AS n,
                   count(second) AS seconds, min(second) AS lo, max(second) AS hi,
                   min(third) AS third_lo, max(third) AS third_hi
            FROM e GROUP BY GROUPING SETS ((prefix), (date_head))
        ), dates AS (
            SELECT n, regexp_extract(date_head, '^([0-9]{{1,4}})[./-]([0-9]{{1,2}})[./-]',
                                     ['a', 'b']) AS dp
            FROM g WHERE by_date = 1
        ), f AS (
            SELECT n, dp.a <> '' AS dated, length(dp.a) = 4 AS year_first,
                   TRY_CAST(dp.a AS BIGINT) AS a, TRY_CAST(dp.b AS BIGINT) AS b
            FROM dates
        )
        SELECT false AS total, prefix, n, seconds, lo, hi, 0, 0, 0, 0, third_lo, third_hi
        FROM g WHERE by_date = 0
        UNION ALL
        SELECT true, NULL, NULL, NULL, NULL, NULL,
               coalesce(sum(n) FILTER (dated), 0),
               coalesce(sum(n) FILTER (dated AND year_first), 0),
               coalesce(sum(n) FILTER (dated AND NOT year_first AND a > 12), 0),
               coalesce(sum(n) FILTER (dated AND NOT year_first AND b > 12), 0),
               NULL, NULL
        FROM f
    """


def _date_head_and_head(layout: str, head_chars: int = 120) -> str:
    """SQL selecting (date_head, head) from header lines: the first 8 characters of the
    stamp without its leading marks, and the start of the rest."""
    if layout == ANDROID:
        return (
            f"SELECT left(ltrim(line, {sql_str(LEAD_CHARS)}), 8) AS date_head, "
            f"substr(line, strpos(line, ' - ') + 3, {head_chars}) AS head FROM msgs"
        )
    return (
        "SELECT substr(line, strpos(line, '[') + 1, 8) AS date_head, "
        f"substr(line, strpos(line, '] ') + 2, {head_chars}) AS head FROM msgs"
    )


def read_survey(rows: list[tuple[Any, ...]]) -> tuple[DateEvidence, list[tuple[Any, ...]]]:
    """Split the rows of :func:`survey_sql` into date evidence and colon statistics."""
    evidence = DateEvidence()
    colon_rows = []
    for row in rows:
        if row[0]:
            evidence = DateEvidence(
                lines=int(row[6] or 0),
                year_first=int(row[7] or 0),
                first_over_12=int(row[8] or 0),
                second_over_12=int(row[9] or 0),
            )
        elif row[1] is not None:
            colon_rows.append((*row[1:6], row[10], row[11]))
    return evidence, colon_rows
