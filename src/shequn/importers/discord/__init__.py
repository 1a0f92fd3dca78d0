"""Discord: DiscordChatExporter JSON exports (a file, a folder or a zip) and member lists.

Each channel file is streamed with ijson (``messages.item``), so memory stays flat in
the export's size. Reading order, which is also the ``source_line`` order: channel
files by name, then thread files by name (so a thread's ``ThreadCreated`` message in its
parent is read before the thread itself), then member lists. In each channel file the
header (guild and channel) is record 1 and ``messages[i]`` is record ``i + 2``; lines
count on across files. A guild is one group (``group_id`` = guild id); its channels and
threads are topics. A DM or group DM is a group of its own (``group_id`` = channel id).
See ``docs/importers/discord.md`` for every field.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, ClassVar, Final, cast

from shequn.errors import ImportFormatError
from shequn.events import EventKind
from shequn.importers.base import Batch, ImportSettings
from shequn.importers.columns import EventColumns, dump_extra
from shequn.importers.discord import roster
from shequn.importers.discord.messages import ChannelContext, add_message
from shequn.importers.discord.rows import PLATFORM, RecordError, snowflake_time
from shequn.importers.discord.source import (
    CHANNEL,
    HEAD_BYTES,
    ROSTER,
    ChannelHeader,
    CountingReader,
    Entry,
    ExportSource,
    channel_header,
    classify,
    ijson,
    read_header,
)
from shequn.store.base import Reject

__all__ = ["DiscordImporter"]

_SNOWFLAKE_IN_NAME: Final = re.compile(r"(?<!\d)(\d{15,21})(?!\d)")
_FIELD_FIRST: Final = re.compile(r"^[A-Za-z_][\w.\[\]]*: ")
_RAW_CHARS: Final = 300
_SNIFF_FILES: Final = 5


def _where(label: str, error: RecordError) -> str:
    """``messages[3].timestamp: …`` from the record's path and the error's field."""
    text = str(error)
    return f"{label}.{text}" if _FIELD_FIRST.match(text) else f"{label}: {text}"


def _raw(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)[:_RAW_CHARS]


class DiscordImporter:
    """Reads a DiscordChatExporter export of one or more channels (and member lists)."""

    platform: ClassVar[str] = "discord"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.source = ExportSource(self.path)
        if not self.source.entries:
            raise ImportFormatError(
                "is not a DiscordChatExporter JSON export: no JSON file in it starts with "
                'the exporter\'s "guild" and "channel" objects, nor is one a Discord guild '
                "member list",
                platform="discord",
                path=self.path,
            )
        self.total_bytes = self.source.total_bytes
        self.headers: dict[str, ChannelHeader | None] = {}
        self._header_errors: dict[str, str] = {}
        for entry in self.source.entries:
            if entry.kind == CHANNEL:
                self.headers[entry.name] = self._read_header(entry)
        self.order = sorted(self.source.entries, key=self._rank)
        self.group_names: dict[str, str] = {}
        for header in self.headers.values():
            if header is not None:
                self.group_names.setdefault(header.group_id, header.group_name)
        self._roster_guilds = {
            e.name: self._roster_guild(e) for e in self.source.entries if e.kind == ROSTER
        }
        self.group_name = self._export_name()
        self._count_only_reactions = 0
        self._stats: Counter[str] = Counter()

    # -- the contract's small parts ---------------------------------------------------
    @classmethod
    def sniff(cls, path: Path) -> bool:
        """A DCE channel file, a folder/zip holding one, or a guild member list file."""
        path = Path(path)
        try:
            if path.is_dir():
                checked = 0
                for p in sorted(path.rglob("*.json")):
                    if any(part.endswith("_Files") for part in p.relative_to(path).parts[:-1]):
                        continue
                    with p.open("rb") as fh:
                        if classify(fh.read(HEAD_BYTES)) == CHANNEL:
                            return True
                    checked += 1
                    if checked >= _SNIFF_FILES:
                        return False
                return False
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    names = sorted(
                        n
                        for n in archive.namelist()
                        if n.lower().endswith(".json") and "_Files/" not in n
                    )
                    for name in names[:_SNIFF_FILES]:
                        with archive.open(name) as fh:
                            if classify(fh.read(HEAD_BYTES)) == CHANNEL:
                                return True
                return False
            with path.open("rb") as fh:
                return classify(fh.read(HEAD_BYTES)) is not None
        except (OSError, zipfile.BadZipFile, ValueError):
            return False

    def fingerprint(self) -> str:
        return self.source.fingerprint()

    def media_counts(self) -> dict[str, int]:
        return dict(sorted(self.source.media.items()))

    def notes(self) -> list[str]:
        s = self._stats
        notes = [
            f"read {s['channels']} channel files ({s['threads']} threads, {s['direct']} DMs) "
            f"and {s['rosters']} member lists"
        ]
        notes += [f"skipped {n}: not a DiscordChatExporter file" for n in self.source.skipped]
        if self._count_only_reactions:
            notes.append(
                f"{self._count_only_reactions} reactions list no reactors (older "
                "DiscordChatExporter): stored as one row per emoji with the count in extra"
            )
        return notes

    # -- reading order and groups -----------------------------------------------------
    def _read_header(self, entry: Entry) -> ChannelHeader | None:
        try:
            with self.source.open(entry.name) as fh:
                header = channel_header(read_header(fh))
        except ijson.JSONError as exc:
            self._header_errors[entry.name] = f"invalid JSON before messages: {exc}"
            return None
        if header is None:
            self._header_errors[entry.name] = "guild.id / channel.id: missing"
        return header

    def _rank(self, entry: Entry) -> tuple[int, str]:
        if entry.kind == ROSTER:
            return 2, entry.name
        header = self.headers.get(entry.name)
        return (1 if header is not None and header.is_thread else 0), entry.name

    def _roster_guild(self, entry: Entry) -> str | None:
        """The guild a member list is of: its ``guild_id``, the channel files' one guild,
        or a snowflake in its file name."""
        with self.source.open(entry.name) as fh:
            try:
                found = roster.guild_id_of(fh)
            except ijson.JSONError:
                found = None
        if found:
            return found
        guilds = {h.guild_id for h in self.headers.values() if h is not None and not h.is_direct}
        if len(guilds) == 1:
            return guilds.pop()
        match = _SNOWFLAKE_IN_NAME.search(entry.name.rsplit("/", 1)[-1])
        return match.group(1) if match else None

    def _export_name(self) -> str:
        if len(self.group_names) == 1:
            return next(iter(self.group_names.values()))
        headers = [h for h in self.headers.values() if h is not None]
        if headers and all(h.is_direct for h in headers):
            return "Direct Messages"
        if not headers:
            guilds = [g for g in self._roster_guilds.values() if g]
            if len(set(guilds)) == 1:
                return guilds[0]
        return self.path.stem if self.path.is_file() else self.path.name

    # -- the events -------------------------------------------------------------------
    def batches(self, settings: ImportSettings) -> Iterator[Batch]:
        state = _Progress(EventColumns(PLATFORM, settings.community, settings.import_id))
        seen_topics: set[tuple[str, str]] = set()
        channels = {h.channel_id: h for h in self.headers.values() if h is not None}
        for entry in self.order:
            display = self.source.display(entry.name)
            with self.source.open(entry.name) as raw:
                reader = CountingReader(raw)
                if entry.kind == CHANNEL:
                    records = self._channel(
                        state, entry, display, reader, settings, seen_topics, channels
                    )
                else:
                    records = self._roster(state, entry, display, reader, settings)
                for _ in records:
                    if state.records >= settings.commit_every:
                        yield state.batch(reader.count)
                state.done_bytes += entry.size
        if state.records or state.rejects or len(state.rows):
            yield state.batch(0)

    def _channel(
        self,
        state: _Progress,
        entry: Entry,
        display: str,
        reader: CountingReader,
        settings: ImportSettings,
        seen_topics: set[tuple[str, str]],
        channels: dict[str, ChannelHeader],
    ) -> Iterator[None]:
        """The header record, then one record per message; yields after each record."""
        line = state.next_line()
        header = self.headers.get(entry.name)
        if header is None:
            reason = self._header_errors.get(entry.name, "guild / channel: missing")
            state.rejects.append(Reject(display, line, reason))
            yield None
            return
        self._stats["channels"] += 1
        self._stats["threads"] += header.is_thread
        self._stats["direct"] += header.is_direct
        ctx = ChannelContext(header, settings.timezone, seen_topics, channels)
        self._topic(ctx, line, display, state)
        yield None
        i = -1
        try:
            for i, message in enumerate(ijson.items(reader, "messages.item")):
                add = partial(add_message, state.rows, ctx, message, index=i)
                if state.record(display, f"messages[{i}]", message, add):
                    self._count_only_reactions += _count_only(message)
                yield None
        except ijson.JSONError as exc:
            state.reject(display, f"messages[{i + 1}]: invalid JSON, file left here: {exc}")
            yield None

    def _topic(self, ctx: ChannelContext, line: int, display: str, state: _Progress) -> None:
        """topic_created for a guild channel or thread not seen before (DMs have none)."""
        h = ctx.header
        if h.is_direct or (h.group_id, h.channel_id) in ctx.seen_topics:
            return
        try:
            created = snowflake_time(h.channel_id)
        except ValueError:
            state.rejects.append(Reject(display, line, "channel.id: not a snowflake", h.channel_id))
            return
        ctx.seen_topics.add((h.group_id, h.channel_id))
        if h.is_thread:
            extra = {"type": h.channel_type, "parent_id": h.category_id, "parent": h.category}
        else:
            extra = {"type": h.channel_type, "category_id": h.category_id, "category": h.category}
        state.rows.add(
            str(EventKind.TOPIC_CREATED),
            h.group_id,
            created,
            line,
            key_parts=(h.channel_id,),
            platform_id=h.channel_id,
            text=h.channel_name,
            extra=dump_extra({k: v for k, v in extra.items() if v is not None}),
            topic_id=h.channel_id,
        )

    def _roster(
        self,
        state: _Progress,
        entry: Entry,
        display: str,
        reader: CountingReader,
        settings: ImportSettings,
    ) -> Iterator[None]:
        self._stats["rosters"] += 1
        group_id = self._roster_guilds.get(entry.name) or settings.group or self.group_name
        listed_at = self._listed_at(entry)
        head = reader.read(HEAD_BYTES)
        is_array = head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")
        stream = cast(IO[bytes], _Rewound(head, reader))
        label = "[]" if is_array else "members[]"
        try:
            for where, member in roster.members(stream, is_array):
                add = partial(
                    roster.add_member, state.rows, group_id, member,
                    listed_at=listed_at, timezone=settings.timezone,
                )  # fmt: skip
                state.record(display, where, member, add)
                yield None
        except ijson.JSONError as exc:
            state.reject(display, f"{label}: invalid JSON: {exc}")
            yield None

    def _listed_at(self, entry: Entry) -> datetime:
        """When a member list was taken, for members without ``joined_at``: the file's time."""
        if self.source.is_zip:
            with zipfile.ZipFile(self.path) as archive:
                return datetime(*archive.getinfo(entry.name).date_time)
        target = self.path / entry.name if self.path.is_dir() else self.path
        return datetime.fromtimestamp(target.stat().st_mtime, UTC).replace(tzinfo=None)


def _count_only(message: object) -> int:
    """Reactions of a message that list no reactors."""
    if not isinstance(message, dict) or not isinstance(message.get("reactions"), list):
        return 0
    return sum(1 for r in message["reactions"] if isinstance(r, dict) and not r.get("users"))


class _Progress:
    """Line numbering, events, rejects and counters of the batch being filled."""

    def __init__(self, rows: EventColumns) -> None:
        self.rows = rows
        self.line = 0
        self.records = 0
        self.done_bytes = 0
        self.rejects: list[Reject] = []

    def next_line(self) -> int:
        self.line += 1
        self.records += 1
        return self.line

    def record(self, display: str, where: str, value: object, add: Callable[[int], None]) -> bool:
        """Number the next record and ``add(line)`` its events.

        A record is stored whole or not at all: on a :class:`RecordError` its events so
        far are dropped and a reject names the field instead (False).
        """
        line = self.next_line()
        n = len(self.rows)
        try:
            add(line)
        except RecordError as exc:
            self.rows.truncate(n)
            self.rejects.append(Reject(display, line, _where(where, exc), _raw(value)))
            return False
        return True

    def reject(self, display: str, reason: str) -> None:
        """A record that is only a reject (the file cannot be read past it)."""
        self.rejects.append(Reject(display, self.next_line(), reason))

    def batch(self, in_file: int) -> Batch:
        out = Batch(
            events=self.rows.table(),
            rejects=self.rejects,
            position=self.line,
            records_read=self.records,
            bytes_read=self.done_bytes + in_file,
        )
        self.rejects = []
        self.records = 0
        return out


class _Rewound:
    """A stream that gives back bytes already read from its start, then the rest."""

    def __init__(self, head: bytes, rest: CountingReader) -> None:
        self.head = head
        self.rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.rest.read(size)
        if size < 0:
            out, self.head = self.head, b""
            return out + self.rest.read()
        out, self.head = self.head[:size], self.head[size:]
        return out
