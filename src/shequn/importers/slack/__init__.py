"""Slack workspace exports (the folder or the ``.zip`` Slack ships, or slackdump's).

Every conversation is a group of its own (``group_id`` = the channel id, its name in
``group_names``); the workspace is the export as a whole (``group_name``). Reading
order, which ``source_line`` numbers: the conversations of ``channels.json``,
``groups.json``, ``mpims.json`` and ``dms.json`` in file order (then folders no index
lists, by name), each conversation's day files by name, each day's messages in array
order; after the last message, the roster: one record per member of each
conversation's ``members[]``, in the same conversation order. See
``docs/importers/slack.md`` for the mapping of every field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from shequn.errors import ImportFormatError
from shequn.events import EventKind
from shequn.importers.base import Batch, ImportSettings
from shequn.importers.columns import EventColumns, dump_extra
from shequn.importers.slack.records import (
    PLATFORM,
    BadRecord,
    Names,
    RecordReader,
    Row,
    add_row,
    user_info,
)
from shequn.importers.slack.source import (
    INDEX_FILES,
    USERS_FILES,
    ExportTree,
    items,
    json_errors,
    sniff,
    starts_with_array,
    workspace_name,
)
from shequn.store.base import Reject

__all__ = ["SlackImporter"]

_RAW_CHARS = 400


@dataclass(frozen=True)
class Conversation:
    """One channel, private channel, group DM or DM, and its day files."""

    id: str
    name: str
    index: str | None
    files: tuple[str, ...]


class SlackImporter:
    """Reads one Slack workspace export."""

    platform: ClassVar[str] = "slack"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.tree = ExportTree(self.path)
        self.group_name = workspace_name(self.path)
        self.group_names: dict[str, str] = {}
        self.total_bytes = sum(
            size for rel, size in self.tree.sizes.items() if rel.endswith(".json")
        )
        self._notes: list[str] = []
        self.names = Names()
        self._read_users()
        self.conversations = self._read_conversations()

    @classmethod
    def sniff(cls, path: Path) -> bool:
        return sniff(Path(path))

    def fingerprint(self) -> str:
        return self.tree.fingerprint()

    def media_counts(self) -> dict[str, int]:
        return self.tree.media_counts()

    def notes(self) -> list[str]:
        return list(self._notes)

    # -- the index files -----------------------------------------------------------
    def _read_users(self) -> None:
        source = next((f for f in USERS_FILES if self.tree.has(f)), None)
        if source is None:
            self._notes.append("no users.json: names come from each message's user_profile")
            return
        bad = 0
        try:
            with self.tree.open(source) as fh:
                if not starts_with_array(fh):
                    raise ValueError("not a JSON array")
                for user in items(fh):
                    if isinstance(user, dict) and isinstance(user.get("id"), str):
                        self.names.users[user["id"]] = user_info(user)
                    else:
                        bad += 1
        except json_errors() as exc:
            self._notes.append(f"{source} unreadable ({exc}); names come from messages")
        if bad:
            self._notes.append(f"{source}: {bad} entries without an id were skipped")

    def _index_items(self, name: str) -> Iterator[tuple[int, Any]]:
        """(position, entry) of an index file's array; raises ImportFormatError on bad JSON."""
        with self.tree.open(name) as fh:
            shape = starts_with_array(fh)
            if shape is None:
                return
            if not shape:
                raise ImportFormatError(
                    f"{name} is not a JSON array of conversations", platform="slack", path=self.path
                )
            try:
                yield from enumerate(items(fh))
            except json_errors() as exc:
                raise ImportFormatError(
                    f"{name} is not valid JSON ({exc})", platform="slack", path=self.path
                ) from exc

    def _read_conversations(self) -> list[Conversation]:
        folders = self.tree.folders()
        claimed: set[str] = set()
        found: list[Conversation] = []
        for index in INDEX_FILES:
            if not self.tree.has(index):
                continue
            for _, entry in self._index_items(index):
                if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                    continue
                cid: str = entry["id"]
                name = entry.get("name") if isinstance(entry.get("name"), str) else None
                folder = next((f for f in (name, cid) if f is not None and f in folders), None)
                if folder is not None:
                    claimed.add(folder)
                display = (name or self._dm_name(entry)) if index == "dms.json" else (name or cid)
                found.append(
                    Conversation(cid, display or cid, index, tuple(folders.get(folder or "", ())))
                )
                self.group_names[cid] = display or cid
        for folder, files in folders.items():
            if folder not in claimed:
                found.append(Conversation(folder, folder, None, tuple(files)))
                self.group_names[folder] = folder
                self._notes.append(f"folder {folder!r} is in no index file; read as its own group")
        return found

    def _dm_name(self, entry: dict[str, Any]) -> str:
        members = entry.get("members") if isinstance(entry.get("members"), list) else []
        assert isinstance(members, list)
        names = [self.names.current(m) or m for m in members if isinstance(m, str)]
        return "DM " + ", ".join(names) if names else str(entry["id"])

    # -- the batches --------------------------------------------------------------
    def batches(self, settings: ImportSettings) -> Iterator[Batch]:
        events = EventColumns(PLATFORM, settings.community, settings.import_id)
        out = _Out(events, settings.commit_every)
        out.bytes_read = sum(
            self.tree.sizes[f] for f in (*INDEX_FILES, *USERS_FILES) if self.tree.has(f)
        )
        reader = RecordReader(self.names)
        latest: int | None = None
        days = 0
        with self.tree.session():
            for conv in self.conversations:
                for rel in conv.files:
                    days += 1
                    for line, rows in self._day_file(rel, reader, out):
                        for row in rows:
                            add_row(out.events, row, conv.id, line)
                            latest = row.ts if latest is None else max(latest, row.ts)
                        yield from out.record_done(line)
                    out.bytes_read += self.tree.sizes[rel]
            out.bytes_read = self.total_bytes  # the roster re-reads the index files
            yield from self._roster(out, latest)
        yield from out.flush()
        self._notes.insert(
            0, f"{len(self.conversations)} conversations, {days} day files, {out.line} records"
        )

    def _day_file(
        self, rel: str, reader: RecordReader, out: _Out
    ) -> Iterator[tuple[int, list[Row]]]:
        """(line, rows) of each record of one day file; unreadable records become rejects."""
        with self.tree.open(rel) as fh:
            shape = starts_with_array(fh)
            if not shape:
                line = out.next_line()
                what = "empty file" if shape is None else "not a JSON array of messages"
                out.reject(rel, line, f"{rel}: {what}", "")
                yield line, []
                return
            position = -1
            try:
                for position, rec in enumerate(items(fh)):
                    line = out.next_line()
                    try:
                        rows = reader.read(rec)
                    except BadRecord as bad:
                        path = f"{rel}[{position}]" + (f".{bad.field}" if bad.field else "")
                        out.reject(rel, line, f"{path}: {bad.reason}", _raw(rec))
                        rows = []
                    yield line, rows
            except json_errors() as exc:
                line = out.next_line()
                detail = (
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                )
                out.reject(
                    rel, line, f"{rel}: not valid JSON after {position + 1} messages ({detail})", ""
                )
                yield line, []

    def _roster(self, out: _Out, latest: int | None) -> Iterator[Batch]:
        """member_listed for each member of each conversation, as the index files list them."""
        for index in INDEX_FILES:
            if not self.tree.has(index):
                continue
            for position, entry in self._index_items(index):
                if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                    line = out.next_line()
                    out.reject(index, line, f"{index}[{position}]: no conversation id", _raw(entry))
                    yield from out.record_done(line)
                    continue
                members = entry.get("members", [])
                if not isinstance(members, list):
                    line = out.next_line()
                    out.reject(
                        index, line, f"{index}[{position}].members: not a list", _raw(members)
                    )
                    yield from out.record_done(line)
                    continue
                created = entry.get("created")
                when = latest
                if when is None:
                    when = created * 1_000_000 if isinstance(created, int) else 0
                for k, member in enumerate(members):
                    line = out.next_line()
                    if not isinstance(member, str):
                        out.reject(
                            index,
                            line,
                            f"{index}[{position}].members[{k}]: not a user id",
                            _raw(member),
                        )
                    else:
                        add_row(out.events, self._listed(member, when), entry["id"], line)
                    yield from out.record_done(line)

    def _listed(self, member: str, when: int) -> Row:
        info = self.names.users.get(member)
        extra: dict[str, Any] = {"role": info.role if info else None}
        if info is not None:
            if info.real_name:
                extra["real_name"] = info.real_name
            if info.username:
                extra["username"] = info.username
            if info.deleted:
                extra["deleted"] = True
        return Row(
            str(EventKind.MEMBER_LISTED),
            when,
            None,
            member,
            self.names.current(member),
            is_bot=info is not None and info.is_bot,
            extra=dump_extra(extra),
        )


class _Out:
    """Batch bookkeeping: lines handed out, events and rejects since the last batch."""

    def __init__(self, events: EventColumns, commit_every: int) -> None:
        self.events = events
        self.commit_every = max(1, commit_every)
        self.rejects: list[Reject] = []
        self.line = 0
        self.records = 0
        self.bytes_read = 0

    def next_line(self) -> int:
        self.line += 1
        return self.line

    def reject(self, source: str, line: int, reason: str, raw: str) -> None:
        self.rejects.append(Reject(source, line, reason, raw))

    def record_done(self, line: int) -> Iterator[Batch]:
        """Count a finished record; a batch once ``commit_every`` records are pending."""
        self.records += 1
        if self.records >= self.commit_every:
            yield from self.flush()

    def flush(self) -> Iterator[Batch]:
        if self.records == 0:
            return
        yield Batch(
            events=self.events.table(),
            rejects=self.rejects,
            position=self.line,
            records_read=self.records,
            bytes_read=self.bytes_read,
        )
        self.rejects = []
        self.records = 0


def _raw(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:_RAW_CHARS]
