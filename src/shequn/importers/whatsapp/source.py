"""Opening a WhatsApp export as the apps share it: a ``.txt``, a ``.zip`` or a folder.

Android shares ``WhatsApp Chat with <Group>.txt`` (or a ``.zip`` with media beside it);
iOS shares ``WhatsApp Chat - <Group>.zip`` holding ``_chat.txt`` and the media.
The chat text is read in blocks and split into lines without loading the whole file.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shequn.errors import ImportFormatError

T = TypeVar("T")

BLOCK_BYTES: Final = 4 << 20

# "WhatsApp Chat with X", localized variants, and the iOS "WhatsApp Chat - X".
_NAME_PATTERNS: Final = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^WhatsApp Chat (?:with|mit|con|com|avec|dengan) (?P<name>.+)$",
        r"^WhatsApp[- ]Chat mit (?P<name>.+)$",
        r"^(?:Chat de WhatsApp con|Conversa do WhatsApp com|Discussion WhatsApp avec|"
        r"Chat WhatsApp con|Chat WhatsApp dengan|Чат WhatsApp с|WhatsApp Чат с) (?P<name>.+)$",
        r"^WhatsApp Chat - (?P<name>.+)$",
        r"^与(?P<name>.+)的 ?WhatsApp ?(?:聊天|对话)$",
        r"^WhatsApp ?(?:聊天|对话)[ -]+(?P<name>.+)$",
    )
)

# Media file names in Android (IMG-20240101-WA0001.jpg) and iOS (00000012-PHOTO-….jpg) zips.
_MEDIA_KINDS: Final = (
    (re.compile(r"^(IMG-|.*-PHOTO-)", re.I), "image"),
    (re.compile(r"^(VID-|.*-VIDEO-)", re.I), "video"),
    (re.compile(r"^(PTT-|.*-AUDIO-)", re.I), "voice"),
    (re.compile(r"^(AUD-)", re.I), "audio"),
    (re.compile(r"^(STK-|.*-STICKER-)", re.I), "sticker"),
    (re.compile(r"^(.*-GIF-)", re.I), "gif"),
    (re.compile(r"\.(vcf)$", re.I), "contact"),
    (re.compile(r"\.(jpe?g|png|webp|heic)$", re.I), "image"),
    (re.compile(r"\.(mp4|mov|3gp)$", re.I), "video"),
    (re.compile(r"\.(opus|ogg|m4a|mp3|aac)$", re.I), "audio"),
)


# Files a folder may hold beside an export that are not the export's media.
_NOT_MEDIA: Final = frozenset({".json", ".parquet", ".duckdb", ".wal"})


def media_kind(filename: str) -> str:
    """The attachment kind a media file name stands for (document when unknown)."""
    base = filename.rsplit("/", 1)[-1]
    for pattern, kind in _MEDIA_KINDS:
        if pattern.search(base):
            return kind
    return "document"


def group_name_from(path: Path) -> str:
    """The group's name from an export's file name, or the file stem."""
    stem = path.stem if path.is_file() or path.suffix else path.name
    for pattern in _NAME_PATTERNS:
        m = pattern.match(stem)
        if m:
            return m.group("name").strip()
    return stem


class ChatFile:
    """The chat text of an export, wherever it lies, readable more than once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.display = str(path)
        self._member: str | None = None
        self._media: Counter[str] = Counter()
        if not path.exists():
            raise ImportFormatError("no such file or folder", platform="whatsapp", path=path)
        if path.is_dir():
            text_files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".txt")
            if not text_files:
                raise ImportFormatError(
                    "folder holds no WhatsApp chat .txt file", platform="whatsapp", path=path
                )
            self.text_path: Path | None = _pick_chat(text_files, key=lambda p: p.name, where=path)
            self.group_name = (
                group_name_from(path)
                if self.text_path.name == "_chat.txt"
                else group_name_from(self.text_path)
            )
            for other in path.iterdir():
                if other != self.text_path and other.is_file() and other.suffix not in _NOT_MEDIA:
                    self._media[media_kind(other.name)] += 1
        elif zipfile.is_zipfile(path):
            self.text_path = None
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
                texts = [n for n in names if n.lower().endswith(".txt")]
                if not texts:
                    raise ImportFormatError(
                        "zip holds no WhatsApp chat .txt file", platform="whatsapp", path=path
                    )
                member = _pick_chat(texts, key=lambda n: n.rsplit("/", 1)[-1], where=path)
                self._member = member
                for name in names:
                    if name != self._member:
                        self._media[media_kind(name)] += 1
            self.display = f"{path}!{self._member}"
            inner = Path(member)
            self.group_name = (
                group_name_from(path) if inner.name == "_chat.txt" else group_name_from(inner)
            )
        else:
            self.text_path = path
            self.group_name = group_name_from(path)
        self.total_bytes = self._size()

    def _size(self) -> int:
        if self.text_path is not None:
            return self.text_path.stat().st_size
        with zipfile.ZipFile(self.path) as archive:
            return archive.getinfo(self._member or "").file_size

    @contextmanager
    def open_binary(self) -> Iterator[BinaryIO]:
        if self.text_path is not None:
            with self.text_path.open("rb") as fh:
                yield fh
        else:
            with zipfile.ZipFile(self.path) as archive, archive.open(self._member or "") as fh:
                yield fh  # type: ignore[misc]

    def media_counts(self) -> dict[str, int]:
        return dict(sorted(self._media.items()))

    def fingerprint(self) -> str:
        """sha256 of the chat text: the same chat in a .txt or a .zip is one export."""
        digest = hashlib.sha256()
        plain = True
        with self.open_binary() as fh:
            while block := fh.read(BLOCK_BYTES):
                digest.update(block)
                plain = plain and b"\x00" not in block and b"\x01" not in block
        self._plain = plain
        return digest.hexdigest()

    def plain_file(self) -> Path | None:
        """The chat as a file on disk that a CSV reader can take line by line: UTF-8 with
        LF or CRLF line ends and no NUL or U+0001 (the reader's column separator), else
        None."""
        if self.text_path is None:
            return None
        if getattr(self, "_plain", None) is None:
            self.fingerprint()
        if not self._plain:
            return None
        with self.text_path.open("rb") as fh:
            start = fh.read(1 << 16)
        if b"\n" not in start and b"\r" in start:
            return None  # old Mac line ends
        try:
            start.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(start) - 4:  # not just a character cut at the block end
                return None
        return self.text_path

    def head(self, max_bytes: int = 256 << 10) -> str:
        """The start of the text (decoded), for sniffing."""
        with self.open_binary() as fh:
            data = fh.read(max_bytes)
        return data.decode("utf-8-sig", errors="replace")

    def line_blocks(self) -> Iterator[tuple[pa.Array, int]]:
        """Blocks of complete lines as Arrow strings (``\\r`` removed), with bytes read.

        The bytes go to Arrow without a copy and are split there, so no Python object is
        made per line. Invalid UTF-8 is replaced by U+FFFD rather than failing the import.
        """
        tail = b""
        consumed = 0
        cr_only = False
        with self.open_binary() as fh:
            while block := fh.read(BLOCK_BYTES):
                if consumed == 0:
                    if block.startswith(codecs.BOM_UTF8):
                        block = block[len(codecs.BOM_UTF8) :]
                    # old Mac line ends: '\r' alone ends a line
                    cr_only = b"\r" in block and b"\n" not in block
                consumed += len(block)
                if cr_only:
                    block = block.replace(b"\r", b"\n")
                data = tail + block if tail else block
                cut = data.rfind(b"\n")
                if cut < 0:
                    tail = data
                    continue
                tail = data[cut + 1 :]
                lines = _split_lines(data[:cut])
                # the block's bytes are not kept while the lines are parsed
                del block, data
                yield lines, consumed
                del lines
            if tail:
                yield _split_lines(tail), consumed


def _split_lines(data: bytes) -> pa.Array:
    if b"\x00" in data:  # NUL is never chat text, and PostgreSQL refuses it in text
        data = data.replace(b"\x00", b"")
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    lines = pc.split_pattern(whole, b"\n").flatten()
    try:
        text = lines.cast(pa.large_string())
    except pa.ArrowInvalid:
        repaired = [line.decode("utf-8", errors="replace") for line in lines.to_pylist()]
        text = pa.array(repaired, pa.large_string())
    if b"\r" in data:
        text = pc.utf8_rtrim(text, characters="\r")
    return text.cast(pa.string())


def _pick_chat(candidates: list[T], key: Callable[[T], str], where: Path) -> T:
    """The one chat text: ``_chat.txt`` or ``WhatsApp Chat…txt``, else the only ``.txt``.

    An archive or folder with several chats is refused with their names, rather than
    importing one of them silently.
    """
    chats = [
        c for c in candidates if key(c) == "_chat.txt" or key(c).lower().startswith("whatsapp")
    ]
    if len(chats) == 1 or (not chats and len(candidates) == 1):
        return (chats or candidates)[0]
    names = sorted(key(c) for c in (chats or candidates))
    raise ImportFormatError(
        f"holds {len(names)} chats ({', '.join(names[:5])}{', …' if len(names) > 5 else ''}); "
        "import them one at a time",
        platform="whatsapp",
        path=where,
    )
