"""WhatsApp chat exports (Android and iOS; ``.txt``, ``.zip`` or a folder).

Two passes over the text, both streamed in chunks: the first decides the layout's
date order from the whole file and learns author names that contain ': '; the second
turns the chunks into events (:mod:`.parser`). Memory stays flat: a chunk of lines,
the occurrence counts of the previous chunk and per-author statistics.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import duckdb
import pyarrow as pa

from shequn.errors import ImportFormatError
from shequn.importers.base import Batch, ImportSettings
from shequn.importers.whatsapp.layout import HEADERS, DateEvidence, sniff_layout
from shequn.importers.whatsapp.parser import (
    ChunkParser,
    ColonNames,
    colon_sql,
    evidence_from,
    evidence_sql,
)
from shequn.importers.whatsapp.source import ChatFile

__all__ = ["WhatsAppImporter"]

_MIN_HEADER_SHARE = 0.2


class WhatsAppImporter:
    """Reads one WhatsApp group export."""

    platform: ClassVar[str] = "whatsapp"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.chat = ChatFile(self.path)
        self.group_name = self.chat.group_name
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
        self._header = re.compile(HEADERS[layout])
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

    # -- chunking ---------------------------------------------------------------
    def _chunks(self, commit_every: int) -> Iterator[tuple[pa.Table, int]]:
        """Aligned chunks: each starts on a header line and ends before one."""
        pending: list[str] = []
        first_line = 1
        for lines, consumed in self.chat.lines():
            pending.extend(lines)
            while len(pending) >= commit_every:
                cut = self._last_header(pending, commit_every)
                if cut <= 0:
                    break
                yield _table(pending[:cut], first_line), consumed
                first_line += cut
                pending = pending[cut:]
        if pending:
            while pending and pending[-1] == "":
                pending.pop()
            if pending:
                yield _table(pending, first_line), self.total_bytes

    def _last_header(self, lines: list[str], limit: int) -> int:
        """Index of the last header line at or before ``limit`` (0 if none but the first)."""
        for i in range(min(limit, len(lines) - 1), 0, -1):
            if self._header.match(lines[i].rstrip("\r")):
                return i
        return 0

    # -- the two passes -----------------------------------------------------------
    def _survey(self, settings: ImportSettings) -> dict[str, str]:
        evidence = DateEvidence()
        colons = ColonNames()
        con = duckdb.connect()
        ev_sql, col_sql = evidence_sql(self.layout), colon_sql(self.layout)
        for chunk, _ in self._chunks(settings.commit_every):
            con.register("chunk", chunk)
            row = con.execute(ev_sql).fetchall()[0]
            if row:
                evidence.add(evidence_from(row))
            colons.add(con.execute(col_sql).fetchall())
        con.close()
        if evidence.lines == 0:
            raise ImportFormatError(
                "is not a WhatsApp chat export: no message headers found",
                platform="whatsapp",
                path=self.chat.display,
            )
        self.date_order, self.date_note = evidence.decide(settings.date_order)
        return colons.names()

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
        for chunk, consumed in self._chunks(settings.commit_every):
            events, rejects, records = parser.parse(chunk)
            last_line = chunk.column("line_no")[-1].as_py()
            yield Batch(
                events=events,
                rejects=rejects,
                position=int(last_line),
                records_read=records,
                bytes_read=consumed,
            )
        self.language = parser.language


def _table(lines: list[str], first_line: int) -> pa.Table:
    return pa.table(
        {
            "line_no": pa.array(range(first_line, first_line + len(lines)), pa.int64()),
            "line": pa.array(lines, pa.string()),
        }
    )
