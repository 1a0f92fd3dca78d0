"""Opening a Discord export: one JSON file, a folder of them, or a zip of them.

DiscordChatExporter (DCE) writes one JSON document per channel,
``<Guild> - <Parent> - <channel> [<id>].json`` (``[part N]`` when partitioned), and
downloaded media into ``<file>_Files/`` beside it. A guild exported at once is a folder
(or the zip people make of it). A guild member list (:mod:`.roster`) may lie beside them.

Every JSON file is classified from its first bytes (:func:`classify`), so nothing is
parsed twice in full: channel files by their ``"guild"``/``"channel"`` header, member
lists by a leading ``[`` with ``"joined_at"`` or a ``"guild_id"``/``"members"`` object.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import IO, Any, Final

from shequn.errors import ImportFormatError

#: ijson ships no type information; imported as Any so strict mypy needs no override
ijson: Any = import_module("ijson")

HEAD_BYTES: Final = 8 << 10
HASH_BLOCK: Final = 4 << 20

CHANNEL: Final = "channel"
ROSTER: Final = "roster"

_CHANNEL_HEAD = re.compile(rb'^\s*\{\s*"guild"\s*:\s*\{.*"channel"\s*:\s*\{', re.S)
_ROSTER_ARRAY = re.compile(rb"^\s*\[\s*\{")
_ROSTER_CHUNK = re.compile(rb'^\s*\{.*"members"\s*:\s*\[', re.S)
#: a guild member object: a nested user object and the time they joined
_MEMBER_KEYS = (re.compile(rb'"user"\s*:\s*\{'), re.compile(rb'"joined_at"\s*:'))

#: media file extensions → attachment kind (DCE keeps the original file names)
EXTENSION_KINDS: Final = {
    **dict.fromkeys(("png", "jpg", "jpeg", "webp", "bmp", "heic", "heif", "avif"), "image"),
    "gif": "gif",
    **dict.fromkeys(("mp4", "mov", "webm", "mkv", "avi", "m4v"), "video"),
    **dict.fromkeys(("mp3", "wav", "flac", "m4a", "aac", "opus", "ogg", "oga"), "audio"),
    **dict.fromkeys(("vcf",), "contact"),
}


def attachment_kind(file_name: str) -> str:
    """The attachment kind of a file name: Discord voice messages are ``voice-message.ogg``."""
    base = file_name.rsplit("/", 1)[-1].lower()
    if base.startswith("voice-message") and base.endswith((".ogg", ".oga", ".opus")):
        return "voice"
    ext = base.rsplit(".", 1)[-1] if "." in base else ""
    return EXTENSION_KINDS.get(ext, "document")


def classify(head: bytes) -> str | None:
    """``channel``, ``roster`` or None for the first bytes of a JSON file."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    if _CHANNEL_HEAD.match(head):
        return CHANNEL
    member_like = all(p.search(head) for p in _MEMBER_KEYS)
    if member_like and (_ROSTER_ARRAY.match(head) or _ROSTER_CHUNK.match(head)):
        return ROSTER
    return None


@dataclass(frozen=True)
class Entry:
    """One JSON document of the export: where it is, how big, what it is."""

    name: str  # path inside the folder or zip (the file name for a single file)
    size: int
    kind: str


@dataclass(frozen=True)
class ChannelHeader:
    """The ``guild`` and ``channel`` objects at the top of a DCE file."""

    guild_id: str
    guild_name: str
    channel_id: str
    channel_type: str
    channel_name: str
    category_id: str | None
    category: str | None

    @property
    def is_direct(self) -> bool:
        """DMs and group DMs: DCE writes them under the pseudo-guild ``0``."""
        return self.channel_type.startswith("Direct") or self.guild_id == "0"

    @property
    def is_thread(self) -> bool:
        return self.channel_type.endswith("Thread")

    @property
    def group_id(self) -> str:
        return self.channel_id if self.is_direct else self.guild_id

    @property
    def group_name(self) -> str:
        return self.channel_name if self.is_direct else self.guild_name


class ExportSource:
    """The JSON documents of an export, in reading order, readable more than once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.media: Counter[str] = Counter()
        self.skipped: list[str] = []
        if not path.exists():
            raise ImportFormatError("no such file or folder", platform="discord", path=path)
        self.is_zip = path.is_file() and zipfile.is_zipfile(path)
        self.entries = self._entries()
        self.total_bytes = sum(e.size for e in self.entries)

    # -- listing -----------------------------------------------------------------
    def _entries(self) -> list[Entry]:
        found: list[Entry] = []
        for name, size in self._json_files():
            with self.open(name) as fh:
                head = fh.read(HEAD_BYTES)
            kind = classify(head)
            if kind is None:
                self.skipped.append(name)
            else:
                found.append(Entry(name, size, kind))
        return found

    def _json_files(self) -> list[tuple[str, int]]:
        """(name, size) of every JSON file, sorted by name; media counted on the way."""
        files: list[tuple[str, int]] = []
        if self.path.is_dir():
            for p in sorted(self.path.rglob("*")):
                if not p.is_file():
                    continue
                rel = p.relative_to(self.path).as_posix()
                self._sort(rel, p.stat().st_size, files)
        elif self.is_zip:
            with zipfile.ZipFile(self.path) as archive:
                for info in sorted(archive.infolist(), key=lambda i: i.filename):
                    if not info.is_dir():
                        self._sort(info.filename, info.file_size, files)
        else:
            files.append((self.path.name, self.path.stat().st_size))
        return files

    def _sort(self, name: str, size: int, files: list[tuple[str, int]]) -> None:
        in_assets = any(part.endswith("_Files") for part in name.split("/")[:-1])
        if in_assets:
            self.media[attachment_kind(name)] += 1
        elif name.lower().endswith(".json"):
            files.append((name, size))

    # -- reading -----------------------------------------------------------------
    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """A binary stream of one document."""
        if self.path.is_dir():
            with (self.path / name).open("rb") as fh:
                yield fh
        elif self.is_zip:
            with zipfile.ZipFile(self.path) as archive, archive.open(name) as fh:
                yield fh
        else:
            with self.path.open("rb") as fh:
                yield fh

    def display(self, name: str) -> str:
        """How a document is named in rejects and errors."""
        if self.path.is_dir():
            return name
        if self.is_zip:
            return f"{self.path.name}!{name}"
        return self.path.name

    def fingerprint(self) -> str:
        """sha256 over every document's name and bytes, in reading order."""
        digest = hashlib.sha256()
        for entry in self.entries:
            digest.update(entry.name.encode("utf-8") + b"\x00")
            with self.open(entry.name) as fh:
                while block := fh.read(HASH_BLOCK):
                    digest.update(block)
        return digest.hexdigest()


class CountingReader:
    """A binary stream that counts the bytes read through it (for progress)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data


def read_header(fh: IO[bytes]) -> dict[str, Any]:
    """The top-level values before ``messages`` (guild, channel, dateRange …), streamed."""
    found: dict[str, Any] = {}
    key: str | None = None
    builder: Any = None
    depth = 0
    for prefix, event, value in ijson.parse(fh):
        if builder is not None:
            builder.event(event, value)
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            if depth == 0:
                assert key is not None
                found[key] = builder.value
                builder = None
            continue
        if prefix == "" and event == "map_key":
            if value == "messages":
                break
            key = value
        elif prefix == key and key is not None:
            if event in ("start_map", "start_array"):
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
                depth = 1
            else:
                found[key] = value
    return found


def channel_header(header: dict[str, Any]) -> ChannelHeader | None:
    """The guild and channel a DCE file is of, or None when they are missing."""
    guild, channel = header.get("guild"), header.get("channel")
    if not isinstance(guild, dict) or not isinstance(channel, dict):
        return None
    gid, cid = guild.get("id"), channel.get("id")
    if not isinstance(gid, str) or not isinstance(cid, str) or not gid or not cid:
        return None

    def text(obj: dict[str, Any], key: str) -> str | None:
        v = obj.get(key)
        return v if isinstance(v, str) and v != "" else None

    return ChannelHeader(
        guild_id=gid,
        guild_name=text(guild, "name") or gid,
        channel_id=cid,
        channel_type=text(channel, "type") or "GuildTextChat",
        channel_name=text(channel, "name") or cid,
        category_id=text(channel, "categoryId"),
        category=text(channel, "category"),
    )
