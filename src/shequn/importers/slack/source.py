"""Opening a Slack workspace export as a folder or as the ``.zip`` Slack ships.

Slack's export ("How to read Slack data exports") holds index files at its root —
``channels.json`` (public channels), ``groups.json`` (private channels), ``mpims.json``
(group DMs), ``dms.json`` (DMs), ``users.json`` (or ``org_users.json`` on Enterprise
Grid), ``integration_logs.json`` — and one folder per conversation (named after the
channel; DMs after their id) with one JSON array of messages per day,
``2024-01-05.json``. A zip re-made from the unpacked folder has one extra top folder;
that is accepted too. Nothing here parses messages: it lists the export's files, opens
them as byte streams and streams JSON arrays with ijson, so memory stays flat.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final

import ijson

from shequn.errors import ImportFormatError

INDEX_FILES: Final = ("channels.json", "groups.json", "mpims.json", "dms.json")
USERS_FILES: Final = ("users.json", "org_users.json")
OTHER_ROOT_FILES: Final = ("integration_logs.json", "canvases.json", "content_flags.json")
DAY_FILE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
#: Slack names its zip "<Workspace> Slack export <Mon D YYYY> - <Mon D YYYY>.zip"
_EXPORT_NAME: Final = re.compile(r"^(?P<name>.+?) Slack export\b", re.IGNORECASE)
_JUNK: Final = re.compile(r"(^|/)(__MACOSX/|\._|\.DS_Store$)")

_MEDIA_EXT: Final = (
    (re.compile(r"\.gif$", re.I), "gif"),
    (re.compile(r"\.(jpe?g|png|webp|heic|bmp|svg)$", re.I), "image"),
    (re.compile(r"\.(mp4|mov|webm|mkv|avi)$", re.I), "video"),
    (re.compile(r"\.(mp3|m4a|wav|ogg|opus|aac|flac)$", re.I), "audio"),
    (re.compile(r"\.(vcf)$", re.I), "contact"),
)
_NOT_MEDIA: Final = frozenset({".json", ".parquet", ".duckdb", ".wal"})


def media_kind(filename: str) -> str:
    """The attachment kind of a file shipped inside an export (document when unknown)."""
    for pattern, kind in _MEDIA_EXT:
        if pattern.search(filename):
            return kind
    return "document"


def workspace_name(path: Path) -> str:
    """The workspace's name from the export's file or folder name, or the name itself."""
    stem = path.stem if path.suffix.lower() == ".zip" else path.name
    m = _EXPORT_NAME.match(stem)
    return m.group("name").strip() if m else stem


class ExportTree:
    """The files of one export, folder or zip, by their path relative to the export root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_file() and path.name == "channels.json":
            path = path.parent
        self.root = path
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        self.sizes: dict[str, int] = {}
        self._crcs: dict[str, int] = {}
        if path.is_dir():
            self.is_zip = False
            self._list_folder(path)
        elif path.is_file() and zipfile.is_zipfile(path):
            self.is_zip = True
            self._list_zip(path)
        else:
            raise ImportFormatError(
                "is not a Slack workspace export: give the export's folder or its .zip",
                platform="slack",
                path=self.path,
            )
        if "channels.json" not in self.sizes:
            raise ImportFormatError(
                "is not a Slack workspace export: it has no channels.json at its root",
                platform="slack",
                path=self.path,
            )

    # -- listing ----------------------------------------------------------------
    def _list_folder(self, root: Path) -> None:
        if not (root / "channels.json").is_file():
            inner = [p for p in _subdirs(root) if (p / "channels.json").is_file()]
            if len(inner) == 1:
                root = inner[0]
        self.root = root
        for entry in sorted(os.scandir(root), key=lambda e: e.name):
            if entry.is_file():
                self.sizes[entry.name] = entry.stat().st_size
            elif entry.is_dir() and not _JUNK.search(entry.name + "/"):
                for dirpath, dirnames, filenames in os.walk(entry.path):
                    dirnames.sort()
                    for name in sorted(filenames):
                        full = os.path.join(dirpath, name)
                        rel = os.path.relpath(full, root).replace(os.sep, "/")
                        if not _JUNK.search(rel):
                            self.sizes[rel] = os.path.getsize(full)

    def _list_zip(self, path: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            infos = [
                i for i in archive.infolist() if not i.is_dir() and not _JUNK.search(i.filename)
            ]
        names = {i.filename for i in infos}
        prefix = ""
        if "channels.json" not in names:
            tops = [n for n in names if n.count("/") == 1 and n.endswith("/channels.json")]
            if len(tops) == 1:
                prefix = tops[0][: -len("channels.json")]
        self._prefix = prefix
        for info in infos:
            if info.filename.startswith(prefix):
                rel = info.filename[len(prefix) :]
                self.sizes[rel] = info.file_size
                self._crcs[rel] = info.CRC

    # -- reading ----------------------------------------------------------------
    def display(self, rel: str) -> str:
        """How a file is named in messages and rejects: its path inside the export."""
        return rel

    def has(self, rel: str) -> bool:
        return rel in self.sizes

    @contextmanager
    def session(self) -> Iterator[None]:
        """Keep a zip open while many of its members are read (one central-directory parse)."""
        if not self.is_zip or self._zip is not None:
            yield
            return
        self._zip = zipfile.ZipFile(self.path)
        try:
            yield
        finally:
            self._zip.close()
            self._zip = None

    @contextmanager
    def open(self, rel: str) -> Iterator[IO[bytes]]:
        if not self.is_zip:
            with (self.root / rel).open("rb") as fh:
                yield fh
            return
        if self._zip is not None:
            with self._zip.open(self._prefix + rel) as fh:
                yield fh
            return
        with zipfile.ZipFile(self.path) as archive, archive.open(self._prefix + rel) as fh:
            yield fh

    def folders(self) -> dict[str, list[str]]:
        """Conversation folders → their JSON files (day files first, by name)."""
        found: dict[str, list[str]] = {}
        for rel in self.sizes:
            folder, sep, name = rel.partition("/")
            if sep and "/" not in name and name.endswith(".json"):
                found.setdefault(folder, []).append(rel)
        return {k: sorted(v) for k, v in sorted(found.items())}

    def media_counts(self) -> dict[str, int]:
        """Files shipped beside the JSON (slackdump's ``attachments``/``__uploads``) by kind."""
        counts: Counter[str] = Counter()
        for rel in self.sizes:
            if "/" in rel and Path(rel).suffix.lower() not in _NOT_MEDIA:
                counts[media_kind(rel)] += 1
        return dict(sorted(counts.items()))

    def fingerprint(self) -> str:
        """sha256 over (path, size, CRC-32) of every JSON file: a folder and the zip it was
        made from give the same fingerprint, and a zip needs no decompression for it."""
        digest = hashlib.sha256()
        for rel in sorted(r for r in self.sizes if r.endswith(".json")):
            digest.update(f"{rel}\0{self.sizes[rel]}\0{self._crc(rel)}\n".encode())
        return digest.hexdigest()

    def _crc(self, rel: str) -> int:
        if rel in self._crcs:
            return self._crcs[rel]
        crc = 0
        with self.open(rel) as fh:
            while block := fh.read(1 << 20):
                crc = zlib.crc32(block, crc)
        self._crcs[rel] = crc
        return crc


def _subdirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not _JUNK.search(p.name + "/"))


def starts_with_array(fh: IO[bytes]) -> bool | None:
    """True if the stream's JSON is an array, False if it is something else, None if empty.

    Reads only a peek; the stream is left where it was (ijson reads it afterwards).
    """
    peek = getattr(fh, "peek", None)
    head: bytes = peek(64) if peek is not None else b""
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return None
    return head.startswith(b"[")


def items(fh: IO[bytes]) -> Iterator[Any]:
    """The elements of the JSON array in ``fh``, one at a time (numbers as int/float)."""
    yield from ijson.items(fh, "item", use_float=True)


def json_errors() -> tuple[type[Exception], ...]:
    """What ijson raises on malformed or truncated JSON (and undecodable bytes)."""
    return (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError, ValueError)


def sniff(path: Path) -> bool:
    """Cheap: does ``path`` look like a Slack export (index files plus day folders)?"""
    try:
        if path.is_file() and path.name == "channels.json":
            path = path.parent
        if path.is_dir():
            root = path
            if not (root / "channels.json").is_file():
                inner = [p for p in _subdirs(root) if (p / "channels.json").is_file()]
                if len(inner) != 1:
                    return False
                root = inner[0]
            with (root / "channels.json").open("rb") as fh:
                if not starts_with_array(fh):
                    return False
            if any((root / n).is_file() for n in (*USERS_FILES, "integration_logs.json")):
                return True
            return any(DAY_FILE.match(f.name) for d in _subdirs(root)[:200] for f in d.iterdir())
        if path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
            prefix = ""
            if "channels.json" not in names:
                tops = [n for n in names if n.count("/") == 1 and n.endswith("/channels.json")]
                if len(tops) != 1:
                    return False
                prefix = tops[0][: -len("channels.json")]
            markers = {prefix + n for n in (*USERS_FILES, "integration_logs.json")}
            if names & markers:
                return True
            return any(n.startswith(prefix) and DAY_FILE.match(n.rsplit("/", 1)[-1]) for n in names)
    except (OSError, zipfile.BadZipFile):
        return False
    return False
