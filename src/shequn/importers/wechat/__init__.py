"""WeChat group chats as the open-source exporters write them (CSV, folder or zip).

Two layouts (:mod:`.layouts`): the WeChatMsg / MemoTrace CSV and PyWxDump's CSV pages;
plus PyWxDump's room-list JSON as a member roster (:mod:`.roster`). Every chat is read
twice, streamed: pass 1 learns which wxid each written name belongs to (system lines
name people, :mod:`.names`), pass 2 turns rows into events (:mod:`.records`). Files
re-saved by Excel in GBK / GB18030 are detected (:mod:`.encoding`).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

from shequn.errors import ImportFormatError
from shequn.events import EventKind
from shequn.importers.base import Batch, ImportSettings
from shequn.importers.columns import EventColumns
from shequn.importers.wechat.chats import Chat, discover, read_rows, survey
from shequn.importers.wechat.encoding import detect
from shequn.importers.wechat.layouts import layout_of
from shequn.importers.wechat.records import PLATFORM, ChatEvents, extra_json
from shequn.importers.wechat.roster import read_roster
from shequn.importers.wechat.source import Entry, ExportSource
from shequn.store.base import Reject

__all__ = ["WeChatImporter"]

_SNIFF_FILES = 20


class WeChatImporter:
    """Reads the WeChat group chats (and member lists) in a file, folder or zip."""

    platform: ClassVar[str] = "wechat"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.source = ExportSource(self.path)
        found = discover(self.source)
        if not found.chats and not found.rosters:
            raise ImportFormatError(
                "is not a WeChat export: no CSV with the WeChatMsg/MemoTrace header "
                "(localId,TalkerId,Type,…,Sender) or PyWxDump's (id,MsgSvrID,type_name,…), "
                "and no PyWxDump room list",
                platform="wechat",
                path=self.path,
            )
        self.chats: list[Chat] = found.chats
        self.rosters: list[Entry] = found.rosters
        single = len(self.chats) == 1
        self.group_name = self.chats[0].group_id if single else self.path.stem
        self.group_names: dict[str, str] = {}
        files = [e for c in self.chats for e in c.entries] + self.rosters
        self.total_bytes = sum(e.size for e in files)
        self._files = files + [c.users for c in self.chats if c.users is not None]
        self._notes: list[str] = []

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """A CSV (or a folder / zip holding one) whose header is an exporter's."""
        path = Path(path)
        heads: list[bytes] = []
        try:
            if path.is_dir():
                for csv_path in sorted(path.rglob("*.csv"))[:_SNIFF_FILES]:
                    with csv_path.open("rb") as fh:
                        heads.append(fh.read(4096))
            elif zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as zf:
                    names = sorted(n for n in zf.namelist() if n.lower().endswith(".csv"))
                    for name in names[:_SNIFF_FILES]:
                        with zf.open(name) as fh:
                            heads.append(fh.read(4096))
            elif path.suffix.lower() == ".csv":
                with path.open("rb") as fh:
                    heads.append(fh.read(4096))
        except (OSError, zipfile.BadZipFile):
            return False
        return any(_has_header(head) for head in heads)

    def fingerprint(self) -> str:
        return self.source.fingerprint(self._files)

    def media_counts(self) -> dict[str, int]:
        return self.source.media_counts()

    def notes(self) -> list[str]:
        return list(self._notes)

    def batches(self, settings: ImportSettings) -> Iterator[Batch]:
        tz = ZoneInfo(settings.timezone)
        buffer = EventColumns(PLATFORM, settings.community, settings.import_id)
        self._notes = []
        override = settings.group if settings.group and settings.group != self.group_name else None
        if override and len(self.chats) > 1:
            self._notes.append(f"--group {override!r} ignored: the export holds several chats")
            override = None
        line = 0
        records = 0
        rejects: list[Reject] = []
        last_ts: dict[str, object] = {}
        for chat in self.chats:
            book, is_group = survey(self.source, chat)
            if not is_group and len(self.chats) > 1:
                self._notes.append(f"{chat.entries[0].rel}: a private chat, skipped")
                continue
            self._encoding_notes(chat)
            group_id = override or chat.group_id
            self.group_names[group_id] = chat.name
            events = ChatEvents(buffer, book, group_id, chat.layout, settings.me)
            for read in read_rows(self.source, chat, tz):
                line += 1
                records += 1
                if read.row is None:
                    where = self.source.where(read.entry)
                    reason = f"{where}: row {read.number}: {read.error}"
                    rejects.append(Reject(where, line, reason, read.raw))
                else:
                    events.add(read.row, line)
                    last_ts[group_id] = read.row.ts
                if records >= settings.commit_every:
                    yield self._batch(buffer, rejects, line, records)
                    records, rejects = 0, []
            self._chat_notes(chat, group_id, events)
        for entry in self.rosters:
            taken = self.source.mtime(entry)
            snapshot = self.source.content_hash(entry)
            for listed in read_roster(self.source, entry):
                line += 1
                records += 1
                buffer.add(
                    EventKind.MEMBER_LISTED,
                    listed.room,
                    last_ts.get(listed.room, taken),  # type: ignore[arg-type]
                    line,
                    key_parts=(snapshot, listed.wxid),
                    member_id=listed.wxid,
                    member_name=listed.name,
                    extra=extra_json({"role": listed.role}),
                )
                self.group_names.setdefault(listed.room, listed.room)
                if records >= settings.commit_every:
                    yield self._batch(buffer, rejects, line, records)
                    records, rejects = 0, []
        if records or len(buffer):
            yield self._batch(buffer, rejects, line, records)

    def _batch(self, buffer: EventColumns, rejects: list[Reject], line: int, records: int) -> Batch:
        return Batch(
            events=buffer.table(),
            rejects=list(rejects),
            position=line,
            records_read=records,
            bytes_read=min(self.source.read.value, self.total_bytes),
        )

    def _encoding_notes(self, chat: Chat) -> None:
        for entry in chat.entries:
            encoding = chat.encodings[entry.rel]
            if encoding.guessed:
                self._notes.append(f"{entry.rel}: encoding guessed as {encoding.label}")
            elif encoding.name not in ("utf-8", "utf-8-sig"):
                self._notes.append(f"{entry.rel}: read as {encoding.label}")

    def _chat_notes(self, chat: Chat, group_id: str, events: ChatEvents) -> None:
        if group_id != chat.name:
            self._notes.append(f"group {group_id} is {chat.name!r}")
        ambiguous = events.book.ambiguous()
        if ambiguous:
            shown = ", ".join(ambiguous[:5])
            self._notes.append(
                f"{len(ambiguous)} names belong to several wxids and stay names in system "
                f"lines: {shown}"
            )
        if events.languages:
            self._notes.append("system lines in " + "/".join(sorted(events.languages)))


def _has_header(head: bytes) -> bool:
    encoding = detect(head)
    text = head.decode(encoding.name, "replace").lstrip("\ufeff")
    first = next(csv.reader(io.StringIO(text)), [])
    return layout_of(first) is not None
