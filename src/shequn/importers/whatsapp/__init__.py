"""WhatsApp chat exports (Android and iOS; ``.txt``, ``.zip`` or a folder).

Two passes over the text, both streamed in chunks: the first decides the layout's
date order from the whole file and learns author names that contain ': '; the second
turns the chunks into events (:mod:`.parser`). Memory stays flat: a chunk of lines,
the occurrence counts of the previous chunk and per-author statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shequn.duckdb_config import connect
from shequn.errors import ImportFormatError
from shequn.importers.base import Batch, ImportSettings
from shequn.importers.whatsapp.layout import HEADER_PREFIXES, DateEvidence, sniff_layout
from shequn.importers.whatsapp.parser import ChunkParser
from shequn.importers.whatsapp.source import ChatFile
from shequn.importers.whatsapp.sql import sql_str
from shequn.importers.whatsapp.survey import (
    ColonNames,
    evidence_from,
    evidence_sql,
    read_survey,
    survey_sql,
)
from shequn.pipeline import read_ahead
from shequn.store.base import Reject

__all__ = ["WhatsAppImporter"]

_MIN_HEADER_SHARE = 0.2


class WhatsAppImporter:
    """Reads one WhatsApp group export."""

    platform: ClassVar[str] = "whatsapp"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.chat = ChatFile(self.path)
        self.group_name = self.chat.group_name
        self.group_names: dict[str, str] = {}
        self.total_bytes = self.chat.total_bytes
        head = self.chat.head()
        layout, hits = sniff_layout(head)
        nonblank = sum(1 for line in head.split("\n")[:2000] if line.strip())
        if layout is None or hits == 0 or hits < _MIN_HEADER_SHARE * min(nonblank, 2000):
            raise ImportFormatError(
                "is not a WhatsApp chat export: its lines do not start with WhatsApp's "
                "'date, time - name: text' or '[date, time] name: text' timestamps",
                platform="whatsapp",
                path=self.chat.display,
            )
        self.layout = layout
        self._prefix = HEADER_PREFIXES[layout]
        self.date_order: str | None = None
        self.date_note = ""
        self.language: str | None = None

    @classmethod
    def sniff(cls, path: Path) -> bool:
        try:
            chat = ChatFile(Path(path))
            layout, hits = sniff_layout(chat.head(64 << 10))
        except (ImportFormatError, OSError, UnicodeError):
            return False
        return layout is not None and hits > 0

    def fingerprint(self) -> str:
        return self.chat.fingerprint()

    def media_counts(self) -> dict[str, int]:
        return self.chat.media_counts()

    def notes(self) -> list[str]:
        notes = [self.date_note] if self.date_note else []
        if self.language:
            notes.append(f"system lines in language '{self.language}'")
        return notes

    # -- chunking ---------------------------------------------------------------
    def _chunks(self, commit_every: int) -> Iterator[Chunk]:
        """Chunks of about ``commit_every`` lines that start on a header and end before one."""
        pending: list[pa.Array] = []
        pending_rows = 0
        first_line = 1
        for block, consumed in self.chat.line_blocks():
            pending.append(block)
            pending_rows += len(block)
            del block
            while pending_rows >= commit_every:
                lines = pa.concat_arrays(pending)
                headers = self._header_rows(lines)
                cut_at = headers[(headers > 0) & (headers <= commit_every)]
                if len(cut_at) == 0:
                    later = headers[headers > commit_every]
                    if len(later) == 0:
                        pending = [lines]
                        break  # one long message so far: read on
                    cut = int(later[0])
                else:
                    cut = int(cut_at[-1])
                chunk = Chunk(lines.slice(0, cut), headers[headers < cut], first_line, consumed)
                # the rest is copied out (usually less than a block), so that the chunk's
                # lines are freed as soon as its consumer lets go of them, not when the
                # next chunk is cut
                rest = pa.concat_arrays([lines.slice(cut)])
                del lines
                first_line += cut
                pending, pending_rows = [rest], len(rest)
                del rest
                yield chunk
                del chunk
        if pending:
            lines = pa.concat_arrays(pending)
            end = len(lines)
            while end > 0 and not lines[end - 1].as_py():
                end -= 1
            if end:
                lines = lines.slice(0, end)
                yield Chunk(lines, self._header_rows(lines), first_line, self.total_bytes)

    def _header_rows(self, lines: pa.Array) -> np.ndarray:
        mask = pc.match_substring_regex(lines, self._prefix)
        return np.flatnonzero(mask.to_numpy(zero_copy_only=False))

    # -- the two passes -----------------------------------------------------------
    def _survey(self, settings: ImportSettings) -> pa.Table:
        """Pass 1: the date order from the whole file, and names that contain ': '."""
        evidence = DateEvidence()
        colons = ColonNames()
        con = connect()
        con.execute("SET memory_limit = '160MB'")  # the CSV reader wants ~30 MB buffers
        con.execute("SET allocator_flush_threshold = '16MB'")
        if not self._survey_in_duckdb(con, evidence, colons):
            for number, chunk in enumerate(read_ahead(self._chunks(settings.commit_every))):
                con.register("msgs", chunk.header_lines())
                found, names = read_survey(con.execute(survey_sql(self.layout)).fetchall())
                if number == 0:
                    found.twelve_hour = self._clock(con)
                evidence.add(found)
                colons.add(names)
        if evidence.ambiguous():
            # only now is the time order worth a second look at every date
            evidence = DateEvidence()
            ev_sql = evidence_sql(self.layout, time_order=True)
            for chunk in self._chunks(settings.commit_every):
                con.register("msgs", chunk.header_lines())
                evidence.add(evidence_from(con.execute(ev_sql).fetchall()[0]))
        con.close()
        if evidence.lines == 0:
            raise ImportFormatError(
                "is not a WhatsApp chat export: no message headers found",
                platform="whatsapp",
                path=self.chat.display,
            )
        self.date_order, self.date_note = evidence.decide(settings.date_order)
        if evidence.twelve_hour:
            self.date_note += "; 12-hour clock"
        return colons.table()

    def _clock(self, con: duckdb.DuckDBPyConnection) -> int:
        """Stamps in ``msgs`` with AM/PM words: the clock is one per file, its first
        lines tell."""
        return evidence_from(
            con.execute(evidence_sql(self.layout, clock=True)).fetchall()[0]
        ).twelve_hour

    def _survey_in_duckdb(
        self, con: duckdb.DuckDBPyConnection, evidence: DateEvidence, colons: ColonNames
    ) -> bool:
        """The same survey, read by DuckDB's parallel CSV reader straight from the file.

        Only for a plain UTF-8 file on disk (no zip, no control bytes), where it reads
        exactly the header lines the Arrow path would; False when it does not apply.
        """
        path = self.chat.plain_file()
        if path is None:
            return False
        lines = (
            f"read_csv({sql_str(str(path))}, columns = {{'line': 'VARCHAR'}}, "
            "delim = '\x01', quote = '', escape = '', header = false, auto_detect = false, "
            "strict_mode = false, null_padding = true)"
        )
        headers = (
            f"SELECT 0 AS line_no, line FROM {lines} WHERE regexp_matches(line, "
            f"{sql_str(HEADER_PREFIXES[self.layout])})"
        )
        try:
            con.execute(f"CREATE OR REPLACE TEMP VIEW msgs AS {headers}")
            found, names = read_survey(con.execute(survey_sql(self.layout)).fetchall())
            con.execute(f"CREATE OR REPLACE TEMP VIEW msgs AS {headers} LIMIT 5000")
            found.twelve_hour = self._clock(con)
        except duckdb.Error:
            return False
        finally:
            con.execute("DROP VIEW IF EXISTS msgs")
        evidence.add(found)
        colons.add(names)
        return True

    def batches(self, settings: ImportSettings) -> Iterator[Batch]:
        colon_names = self._survey(settings)
        assert self.date_order is not None
        parser = ChunkParser(
            layout=self.layout,
            date_order=self.date_order,
            group_id=settings.group or self.group_name,
            community=settings.community,
            timezone=settings.timezone,
            import_id=settings.import_id,
            source=self.chat.display,
            colon_names=colon_names,
            me=settings.me,
            group_name=self.group_name,
        )
        for chunk in self._chunks(settings.commit_every):
            orphans = chunk.orphans(self.chat.display)
            position = chunk.first_line + len(chunk.lines) - 1
            records_read = len(chunk.headers) + len(orphans)
            consumed = chunk.consumed
            msgs = chunk.messages()
            del chunk  # its lines are in msgs now: not held through the parse
            events, rejects = parser.parse(msgs)
            del msgs
            batch = Batch(
                events=events,
                rejects=sorted(orphans + rejects, key=lambda r: r.line),
                position=position,
                records_read=records_read,
                bytes_read=consumed,
            )
            # nothing of this batch stays referenced here while the next chunk is parsed
            # (the store may be done with it): one batch less in the import's peak
            del events, rejects
            yield batch
            del batch
        self.language = parser.system.language


@dataclass
class Chunk:
    """Lines of an export that start on a message header (except before the first one)."""

    lines: pa.Array
    headers: np.ndarray  # row numbers of the header lines
    first_line: int
    consumed: int

    def _line_numbers(self, rows: np.ndarray) -> pa.Array:
        return pa.array(rows.astype(np.int64) + self.first_line)

    def header_lines(self) -> pa.Table:
        """The header lines alone (enough for the survey)."""
        rows = pa.array(self.headers.astype(np.int64))
        return pa.table(
            {"line_no": self._line_numbers(self.headers), "line": self.lines.take(rows)}
        )

    def messages(self) -> pa.Table:
        """One row per message: its header line joined with its continuation lines."""
        headers = self.headers
        texts = self.lines.take(pa.array(headers.astype(np.int64)))
        total = len(self.lines)
        if len(headers) and len(headers) < total - int(headers[0]):
            # continuation lines are rare: join them in Python, everything else stays Arrow
            is_header = np.zeros(total, dtype=bool)
            is_header[headers] = True
            continuation = np.flatnonzero(~is_header)
            continuation = continuation[continuation > headers[0]]
            owners = np.searchsorted(headers, continuation, side="right") - 1
            joined: dict[int, list[str]] = {}
            extra = self.lines.take(pa.array(continuation.astype(np.int64))).to_pylist()
            for owner, text in zip(owners.tolist(), extra, strict=True):
                joined.setdefault(owner, []).append(text)
            owner_rows = sorted(joined)
            firsts = texts.take(pa.array(owner_rows, pa.int64())).to_pylist()
            replacement = [
                "\n".join([first, *joined[row]])
                for row, first in zip(owner_rows, firsts, strict=True)
            ]
            mask = np.zeros(len(headers), dtype=bool)
            mask[owner_rows] = True
            texts = pc.replace_with_mask(texts, pa.array(mask), pa.array(replacement, pa.string()))
        return pa.table({"line_no": self._line_numbers(headers), "line": texts})

    def orphans(self, source: str) -> list[Reject]:
        """Lines before the first header of the file: nothing they could belong to."""
        first_header = int(self.headers[0]) if len(self.headers) else len(self.lines)
        if first_header == 0:
            return []
        lines = self.lines.slice(0, first_header).to_pylist()
        return [
            Reject(source, self.first_line + i, "text before the first message header", text[:200])
            for i, text in enumerate(lines)
            if text and text.strip()
        ]
