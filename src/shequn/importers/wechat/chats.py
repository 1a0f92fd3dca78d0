"""Finding the chats in a source, and reading each one's rows in order.

A chat is one MemoTrace CSV, or the pages of one PyWxDump chat (with its
``users.json``). Each file's encoding is decided from its first bytes
(:mod:`.encoding`); rows are read with the csv module over a text stream, so quoted
multi-line contents are one row and memory stays flat.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

from shequn.importers.wechat.encoding import Encoding, detect
from shequn.importers.wechat.layouts import (
    MEMOTRACE,
    PYWXDUMP,
    PYWXDUMP_ME,
    Row,
    RowError,
    layout_of,
    memotrace_row,
    name_and_id,
    page_of,
    pywxdump_row,
)
from shequn.importers.wechat.names import NameBook
from shequn.importers.wechat.source import Entry, ExportSource
from shequn.importers.wechat.types import PYWXDUMP_TYPES

csv.field_size_limit(1 << 30)  # message XML can be long; the csv default is 128 KiB

#: the chatroom a recall names: ``<sysmsg type="revokemsg"><revokemsg><session>…@chatroom
#: </session>`` (Type 10002's ``StrContent``, as wechaty's puppet-padplus recall test shows
#: it); the tags are ASCII, so the bytes match in UTF-8 and GBK alike
_ROOM_IN_XML = re.compile(rb"<session>([\w.-]+@chatroom)</session>")
_SCAN_BLOCK = 8 << 20


@dataclass
class Chat:
    """One chat's files, its id (when the export shows it) and its name."""

    layout: str
    entries: list[Entry]
    name: str
    chat_id: str | None
    encodings: dict[str, Encoding] = field(default_factory=dict)
    users: Entry | None = None

    @property
    def group_id(self) -> str:
        return self.chat_id or self.name


@dataclass
class Found:
    """What a source holds: chats, roster files, and files that were neither."""

    chats: list[Chat]
    rosters: list[Entry]
    ignored: list[str]


def _header(source: ExportSource, entry: Entry) -> tuple[str | None, Encoding, list[str]]:
    head = source.head(entry)
    encoding = detect(head, complete=len(head) >= entry.size)
    text = head.decode(encoding.name if encoding.name != "utf-16" else "utf-16", "replace")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        return None, encoding, []
    first = rows[1] if len(rows) > 1 else []
    return layout_of(rows[0]), encoding, first


def room_in_system_xml(source: ExportSource, entry: Entry) -> str | None:
    """The chatroom id a WeChatMsg CSV names in its recall XML, if it names one.

    WeChatMsg writes ``TalkerId`` as the ``MSG`` table's numeric talker (``msg.py``:
    "和strtalker对应的"), and its folder / file names are the chat's remark, so this is the
    one place such a file holds the chatroom id. One scan of the raw bytes (no CSV
    parsing); several different ids (never seen) count as none.
    """
    found: set[bytes] = set()
    tail = b""
    with source.open_bytes(entry) as fh:
        while block := fh.read(_SCAN_BLOCK):
            data = tail + block
            found.update(m.group(1) for m in _ROOM_IN_XML.finditer(data))
            tail = data[-256:]
    return found.pop().decode("ascii") if len(found) == 1 else None


def _is_roster(source: ExportSource, entry: Entry) -> bool:
    head = source.head(entry, 64 << 10).decode("utf-8", "replace").lstrip("\ufeff")
    return head.lstrip().startswith("{") and "UserNameList" in head


def discover(source: ExportSource) -> Found:
    """The chats and rosters in a source, in a fixed order."""
    chats: list[Chat] = []
    pages: dict[tuple[str, str], list[tuple[int, Entry, Encoding]]] = {}
    users: dict[str, Entry] = {}
    rosters: list[Entry] = []
    ignored: list[str] = []
    for entry in source.entries:
        suffix = PurePosixPath(entry.rel).suffix.lower()
        if suffix == ".json":
            if entry.stem == "users":
                users[str(PurePosixPath(entry.rel).parent)] = entry
            elif _is_roster(source, entry):
                rosters.append(entry)
            continue
        if suffix != ".csv":
            continue
        layout, encoding, first = _header(source, entry)
        if layout == MEMOTRACE:
            name, chat_id = name_and_id(source.folder_of(entry))
            if chat_id is None:
                name, chat_id = name_and_id(entry.stem)
            if chat_id is None and len(first) > 1 and first[1].strip().endswith("@chatroom"):
                chat_id = first[1].strip()
            if chat_id is None:
                chat_id = room_in_system_xml(source, entry)
            chats.append(Chat(MEMOTRACE, [entry], name, chat_id, {entry.rel: encoding}))
        elif layout == PYWXDUMP:
            page = page_of(entry.stem)
            chat_id = page[0] if page else (first[5].strip() if len(first) > 5 else entry.stem)
            folder = str(PurePosixPath(entry.rel).parent)
            pages.setdefault((folder, chat_id), []).append(
                (page[1] if page else 0, entry, encoding)
            )
        else:
            ignored.append(entry.rel)
    for (folder, chat_id), files in sorted(pages.items()):
        files.sort(key=lambda f: (f[0], f[1].rel))
        chat = Chat(
            PYWXDUMP,
            [f[1] for f in files],
            chat_id,
            chat_id,
            {f[1].rel: f[2] for f in files},
            users.get(folder),
        )
        chats.append(chat)
    chats.sort(key=lambda c: c.entries[0].rel)
    return Found(chats, rosters, ignored)


@dataclass
class Read:
    """One row of a chat: where it is, and the row or why it could not be read."""

    entry: Entry
    number: int
    row: Row | None
    error: str | None = None
    raw: str = ""


def read_cells(
    source: ExportSource, chat: Chat, *, counted: bool = True
) -> Iterator[tuple[Entry, int, list[str] | str]]:
    """Every data row of the chat's files as cells (or why the CSV could not be read)."""
    for entry in chat.entries:
        with source.open_text(entry, chat.encodings[entry.rel], counted=counted) as text:
            reader = csv.reader(text)
            number = 0
            header = True
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except (csv.Error, UnicodeDecodeError) as exc:
                    number += 1
                    yield entry, number, f"unreadable CSV: {exc}"
                    if isinstance(exc, UnicodeDecodeError):
                        break
                    continue
                if header:
                    header = False
                    if layout_of(cells) is not None:
                        continue
                if not any(c.strip() for c in cells):
                    continue
                number += 1
                yield entry, number, cells


def read_rows(source: ExportSource, chat: Chat, tz: ZoneInfo) -> Iterator[Read]:
    """Every data row of the chat's files, in order (each file's header row skipped)."""
    memotrace = chat.layout == MEMOTRACE
    for entry, number, cells in read_cells(source, chat):
        if isinstance(cells, str):
            yield Read(entry, number, None, cells)
            continue
        try:
            row = memotrace_row(cells) if memotrace else pywxdump_row(cells, tz)
        except RowError as exc:
            yield Read(entry, number, None, str(exc), ",".join(cells)[:200])
            continue
        yield Read(entry, number, row)


@dataclass(frozen=True)
class _Seen:
    """The columns pass 1 needs, without parsing times."""

    system: bool
    is_sender: bool
    sender: str
    names: tuple[str, ...]
    talker: str
    content: str


def _seen(layout: str, cells: list[str]) -> _Seen | None:
    if layout == MEMOTRACE:
        if len(cells) != 12:
            return None
        names = tuple(n for n in (cells[10], cells[9]) if n)
        return _Seen(
            cells[2].strip().isdigit() and int(cells[2]) >= 10000,
            cells[4].strip() == "1",
            cells[11].strip(),
            names,
            cells[1].strip(),
            cells[7],
        )
    if len(cells) != 9:
        return None
    type_ = PYWXDUMP_TYPES.get(cells[2].strip(), (0, 0))[0]
    return _Seen(
        type_ >= 10000, cells[3].strip() == "1", cells[4].strip(), (), cells[5].strip(), cells[6]
    )


def survey(source: ExportSource, chat: Chat) -> tuple[NameBook, bool]:
    """Pass 1: every name written with a wxid, the exporter, and whether it is a group."""
    book = NameBook()
    if chat.users is not None:
        _read_users(source, chat.users, book)
    senders: set[str] = set()
    group_lines = False
    for _, _, cells in read_cells(source, chat, counted=False):
        row = None if isinstance(cells, str) else _seen(chat.layout, cells)
        if row is None:
            continue
        if row.system:
            group_lines = group_lines or "群聊" in row.content or "group chat" in row.content
            continue
        if row.is_sender and row.sender and row.sender != PYWXDUMP_ME:
            book.exporter = row.sender
        elif row.sender:
            senders.add(row.sender)
        if row.sender and row.sender != PYWXDUMP_ME:
            book.add(row.sender, *row.names)
        if row.talker.endswith("@chatroom") and chat.chat_id is None:
            chat.chat_id = row.talker
    book.senders = senders
    is_group = (
        chat.chat_id.endswith("@chatroom")
        if chat.chat_id is not None
        else len(senders) >= 2 or group_lines
    )
    return book, is_group


def _read_users(source: ExportSource, entry: Entry, book: NameBook) -> None:
    """PyWxDump's users.json: {wxid: {"nickname", "remark", …}} (or a list of wxids)."""
    with source.open_bytes(entry) as fh:
        raw = fh.read()
    try:
        data = json.loads(codecs.decode(raw, "utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return
    if isinstance(data, list):
        for wxid in data:
            if isinstance(wxid, str):
                book.add(wxid)
        return
    if not isinstance(data, dict):
        return
    for wxid, info in data.items():
        if not isinstance(info, dict):
            continue
        names = [info.get("nickname"), info.get("remark")]
        book.add(str(wxid), *(str(n) for n in names if n))
        book.display[str(wxid)] = str(info.get("remark") or info.get("nickname") or wxid)
