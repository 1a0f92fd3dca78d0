"""Finding a Telegram Desktop export where the user put it: a file, a folder or a zip.

Telegram Desktop writes one chat as ``result.json`` (JSON) or ``messages.html``,
``messages2.html`` … (HTML, the default; at most 1,000 messages a file), with media in
sub-folders (``photos/``, ``files/``, ``voice_messages/`` …). A full-account export
writes one ``result.json`` whose ``chats.list[]`` holds every chat. Users often zip the
folder, so every form is read in place, without unpacking.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

from shequn.errors import ImportFormatError

_HTML_NAME: Final = re.compile(r"(?:^|/)messages(\d*)\.html$")
#: a participants list beside the export (see roster.py)
_ROSTER_NAME: Final = re.compile(r"(?:^|/)[^/]*(?:participants|members)[^/]*\.(csv|json)$", re.I)
#: media sub-folders Telegram Desktop writes, by attachment kind
_MEDIA_FOLDERS: Final = {
    "photos": "image",
    "video_files": "video",
    "round_video_messages": "video",
    "voice_messages": "voice",
    "stickers": "sticker",
    "files": "document",
    "audio_files": "audio",
    "animations": "gif",
    "contacts": "contact",
}


def _html_order(name: str) -> int:
    m = _HTML_NAME.search(name)
    return int(m.group(1) or 1) if m else 0


class ExportSource:
    """The files of one export: its ``result.json`` or its ``messages*.html``, media, roster."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip_path: Path | None = None
        names: list[str]
        if not path.exists():
            raise ImportFormatError("no such file or folder", platform="telegram", path=path)
        if path.is_dir():
            names = sorted(
                str(p.relative_to(path)).replace("\\", "/") for p in path.rglob("*") if p.is_file()
            )
        elif zipfile.is_zipfile(path):
            self.zip_path = path
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
        else:
            names = [path.name]
        self.names = names
        jsons = [n for n in names if n.rsplit("/", 1)[-1] == "result.json"]
        htmls = sorted((n for n in names if _HTML_NAME.search(n)), key=_html_order)
        if path.is_file() and self.zip_path is None:
            self.kind = "html" if _HTML_NAME.search(path.name) else "json"
            self.files = [path.name]
        elif jsons:
            self.kind = "json"
            self.files = [min(jsons, key=lambda n: n.count("/"))]
        elif htmls:
            top = min(n.count("/") for n in htmls)
            self.kind = "html"
            self.files = [n for n in htmls if n.count("/") == top]
        else:
            self.kind = "none"
            self.files = []
        self.rosters = [n for n in names if _ROSTER_NAME.search(n)]
        self.total_bytes = sum(self.size(n) for n in self.files)

    def display(self, name: str) -> str:
        """How a file of the export is named in rejects and notes."""
        if self.zip_path is not None:
            return f"{self.zip_path}!{name}"
        if self.path.is_dir():
            return str(self.path / name)
        return str(self.path)

    def size(self, name: str) -> int:
        if self.zip_path is not None:
            with zipfile.ZipFile(self.zip_path) as archive:
                return archive.getinfo(name).file_size
        if self.path.is_dir():
            return (self.path / name).stat().st_size
        return self.path.stat().st_size

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """A binary stream of one file of the export (never read whole)."""
        if self.zip_path is not None:
            with zipfile.ZipFile(self.zip_path) as archive, archive.open(name) as fh:
                yield fh  # type: ignore[misc]
        elif self.path.is_dir():
            with (self.path / name).open("rb") as fh:
                yield fh
        else:
            with self.path.open("rb") as fh:
                yield fh

    def head(self, name: str, size: int = 64 << 10) -> bytes:
        with self.open(name) as fh:
            return fh.read(size)

    def fingerprint(self) -> str:
        """sha256 over the chat files' bytes: the same export as folder or zip is one export."""
        digest = hashlib.sha256()
        for name in self.files:
            with self.open(name) as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
        return digest.hexdigest()

    def media_counts(self) -> dict[str, int]:
        """Media files shipped in the export's folders, by attachment kind."""
        counts: Counter[str] = Counter()
        for name in self.names:
            parts = name.split("/")
            for part in parts[:-1]:
                kind = _MEDIA_FOLDERS.get(part)
                if kind is not None and not parts[-1].endswith("_thumb.jpg"):
                    counts[kind] += 1
                    break
        return dict(sorted(counts.items()))
