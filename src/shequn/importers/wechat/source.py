"""Opening a WeChat export: one CSV, a folder of chats, or a zip of either.

Exporters write one folder per chat (WeChatMsg: ``<name>/<name>_utf8.csv`` with
``image/``, ``voice/``, ``emoji/`` … beside it; MemoTrace 2: ``<name>(<id>)/<name>.csv``;
PyWxDump: ``<id>/<id>_0_5000.csv`` pages plus ``users.json``). A source lists its files
in a fixed (sorted) order and opens each as a byte stream that counts what was read,
for progress, without unpacking a zip to disk.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Final

from shequn.importers.wechat.encoding import SAMPLE_BYTES, Encoding

#: media folders the exporters write beside a chat → attachment kind
MEDIA_FOLDERS: Final = {
    "image": "image",
    "emoji": "sticker",
    "video": "video",
    "voice": "voice",
    "audio": "voice",
    "file": "document",
    "music": "audio",
}
_SKIP_FOLDERS: Final = frozenset({"avatar", "icon", "__MACOSX"})


@dataclass(frozen=True)
class Entry:
    """One file of the export: its path inside the source and its (uncompressed) size."""

    rel: str
    size: int

    @property
    def parts(self) -> tuple[str, ...]:
        return PurePosixPath(self.rel).parts

    @property
    def stem(self) -> str:
        return PurePosixPath(self.rel).stem

    @property
    def parent(self) -> str:
        parent = PurePosixPath(self.rel).parent
        return "" if str(parent) == "." else parent.name


class ReadCounter:
    """Bytes read so far from every stream opened by a source."""

    def __init__(self) -> None:
        self.value = 0


class _Counting(io.RawIOBase):
    """A raw stream that adds what it reads to a counter."""

    def __init__(self, inner: IO[bytes], counter: ReadCounter) -> None:
        self.inner = inner
        self.counter = counter

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.counter.value += n
        return n


class ExportSource:
    """A file, folder or zip, listed once; every file opened as a counted stream."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.is_zip = path.is_file() and zipfile.is_zipfile(path)
        self.read = ReadCounter()
        self.entries = self._list()

    @property
    def display(self) -> str:
        return self.path.name

    def folder_of(self, entry: Entry) -> str:
        """The name of the folder holding a file (the source's own folder at the top)."""
        if entry.parent:
            return entry.parent
        if self.is_zip:
            return ""
        return self.path.name if self.path.is_dir() else self.path.parent.name

    def where(self, entry: Entry) -> str:
        """How reports name a file: ``chat.csv`` or ``export.zip:群/群.csv``."""
        if self.path.is_file() and not self.is_zip:
            return self.path.name
        return f"{self.path.name}:{entry.rel}" if self.is_zip else entry.rel

    def _list(self) -> list[Entry]:
        if self.is_zip:
            with zipfile.ZipFile(self.path) as zf:
                found = [Entry(i.filename, i.file_size) for i in zf.infolist() if not i.is_dir()]
        elif self.path.is_dir():
            found = [
                Entry(p.relative_to(self.path).as_posix(), p.stat().st_size)
                for p in self.path.rglob("*")
                if p.is_file()
            ]
        else:
            found = [Entry(self.path.name, self.path.stat().st_size)]
        found = [e for e in found if not _SKIP_FOLDERS.intersection(e.parts)]
        return sorted(found, key=lambda e: e.rel)

    @contextmanager
    def open_bytes(self, entry: Entry, *, counted: bool = False) -> Iterator[IO[bytes]]:
        """The file's bytes; ``counted`` adds what is read to :attr:`read`."""
        with self._raw(entry) as raw:
            if counted:
                yield io.BufferedReader(_Counting(raw, self.read), 1 << 20)
            else:
                yield raw

    @contextmanager
    def _raw(self, entry: Entry) -> Iterator[IO[bytes]]:
        if self.is_zip:
            with zipfile.ZipFile(self.path) as zf, zf.open(entry.rel) as fh:
                yield fh
        elif self.path.is_dir():
            with (self.path / entry.rel).open("rb") as fh:
                yield fh
        else:
            with self.path.open("rb") as fh:
                yield fh

    @contextmanager
    def open_text(
        self, entry: Entry, encoding: Encoding, *, counted: bool = True
    ) -> Iterator[IO[str]]:
        """The file as text for the csv module (newlines inside quoted fields kept)."""
        with self.open_bytes(entry, counted=counted) as fh:
            text = io.TextIOWrapper(fh, encoding=encoding.name, errors=encoding.errors, newline="")
            try:
                yield text
            finally:
                text.detach()

    def mtime(self, entry: Entry) -> datetime:
        """When the file was last written (UTC, naive): a roster's "taken at"."""
        if self.is_zip:
            with zipfile.ZipFile(self.path) as zf:
                return datetime(*zf.getinfo(entry.rel).date_time)
        path = self.path / entry.rel if self.path.is_dir() else self.path
        return datetime.fromtimestamp(int(path.stat().st_mtime), UTC).replace(tzinfo=None)

    def head(self, entry: Entry, size: int = SAMPLE_BYTES) -> bytes:
        with self.open_bytes(entry) as fh:
            return fh.read(size)

    def fingerprint(self, entries: list[Entry]) -> str:
        """A hash of the chat files' names and bytes: the same export, the same hash."""
        digest = hashlib.sha256()
        for entry in entries:
            digest.update(entry.rel.encode("utf-8") + b"\0")
            with self.open_bytes(entry) as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
        return digest.hexdigest()

    def content_hash(self, entry: Entry) -> str:
        """A hash of one file's bytes alone: the same list keys the same wherever it lies."""
        digest = hashlib.sha256()
        with self.open_bytes(entry) as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        return digest.hexdigest()[:32]

    def media_counts(self) -> dict[str, int]:
        """Files in the exporters' media folders, by attachment kind."""
        counts: Counter[str] = Counter()
        for entry in self.entries:
            for part in entry.parts[:-1]:
                kind = MEDIA_FOLDERS.get(part.lower())
                if kind is not None:
                    counts[kind] += 1
                    break
        return dict(sorted(counts.items()))
