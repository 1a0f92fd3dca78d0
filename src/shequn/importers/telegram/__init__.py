"""Telegram Desktop exports: JSON (one chat, or a whole account) and HTML.

``result.json`` is streamed with ijson after one regex survey of its bytes
(:mod:`.survey`: names ↔ ids, and the chats of an account export);
``messages*.html`` files are parsed one at a time with lxml (:mod:`.htmlfile`).
A participants list beside the export (:mod:`.roster`) adds ``member_listed`` events.
What the store already knows of a group's members (:meth:`TelegramImporter.learn_members`)
makes a person one member across the group's JSON and HTML exports (:mod:`.people`).
See ``docs/importers/telegram.md`` for every field's mapping.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from shequn.errors import ImportFormatError
from shequn.events import EventKind
from shequn.importers.base import Batch, ImportSettings
from shequn.importers.columns import EventColumns
from shequn.importers.telegram.clock import Clock
from shequn.importers.telegram.htmlfile import HtmlExport
from shequn.importers.telegram.jsonfile import JsonExport, read_head
from shequn.importers.telegram.people import KnownGroup, People, known_groups
from shequn.importers.telegram.records import PLATFORM
from shequn.importers.telegram.roster import Participant, read_roster
from shequn.importers.telegram.source import ExportSource
from shequn.store.base import MemberRow

__all__ = ["TelegramImporter"]

_HTML_MARKERS = (b"<title>Exported Data</title>", b'class="page_header"')


def _looks_html(head: bytes) -> bool:
    return any(marker in head for marker in _HTML_MARKERS) and b'class="history"' in head


class TelegramImporter:
    """Reads one Telegram Desktop export (file, folder or zip)."""

    platform: ClassVar[str] = "telegram"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.source = ExportSource(self.path)
        self.group_names: dict[str, str] = {}
        self._notes: list[str] = []
        self._json: JsonExport | None = None
        self._html: HtmlExport | None = None
        self._known: dict[str, KnownGroup] = {}
        #: True when the export names its group by title only (HTML: no chat id), so that
        #: ``shequn.ingest`` may store it in the group a JSON export of the chat went to
        self.group_by_title = False
        #: a JSON export's chat title, so that ``shequn.ingest`` may store it in the group
        #: HTML exports of the chat went to (keyed by that title) when its id is new
        self.group_title: str | None = None
        not_telegram = ImportFormatError(
            "is not a Telegram Desktop export: no result.json with a chat or account, "
            "and no messages.html written by Telegram Desktop",
            platform="telegram",
            path=self.path,
        )
        if self.source.kind == "json":
            head = read_head(self.source.head(self.source.files[0]))
            if head is None:
                raise not_telegram
            self._json = JsonExport(self.source, head)
            self.group_name = "Telegram account export" if head.account else self._json.group_key
            self.account = head.account
            self.group_title = None if head.account else head.name
        elif self.source.kind == "html":
            if not _looks_html(self.source.head(self.source.files[0], 16 << 10)):
                raise not_telegram
            self._html = HtmlExport(self.source)
            self.group_name = self._html.group_name
            self.account = False
            self.group_by_title = True
        else:
            raise not_telegram
        self.total_bytes = self.source.total_bytes

    @classmethod
    def sniff(cls, path: Path) -> bool:
        try:
            source = ExportSource(Path(path))
            if not source.files:
                return False
            head = source.head(source.files[0], 16 << 10)
        except (ImportFormatError, OSError, KeyError):
            return False
        if source.kind == "json":
            return read_head(head) is not None
        return source.kind == "html" and _looks_html(head)

    @classmethod
    def refusal(cls, path: Path) -> str | None:
        """Why a JSON file with Telegram's message fields but not its header is not read:
        without the chat's type and id (or an account export's header) the group and
        the import's keys cannot be told apart, so guessing would merge or split them."""
        try:
            source = ExportSource(Path(path))
            if source.kind != "json" or not source.files:
                return None
            head = source.head(source.files[0], 16 << 10)
        except (ImportFormatError, OSError, KeyError):
            return None
        if b'"date_unixtime"' not in head and b'"text_entities"' not in head:
            return None
        return (
            "looks like Telegram messages without the header Telegram Desktop writes "
            '(a chat\'s "name", "type" and "id" before its "messages", or an account '
            'export\'s "about" and "chats"): export the chat again from Telegram Desktop '
            "(Export chat history, format JSON) and import its result.json"
        )

    def fingerprint(self) -> str:
        return self.source.fingerprint()

    def media_counts(self) -> dict[str, int]:
        return self.source.media_counts()

    def notes(self) -> list[str]:
        return list(self._notes)

    def learn_members(
        self, rows: Iterable[MemberRow], links: Mapping[str, str] | None = None
    ) -> None:
        """What the store holds of this platform's members (its events' members with their
        names, actors with their messages) and its identity links. Read before
        :meth:`batches`; see :mod:`.people`."""
        self._known = known_groups(rows, links)

    def member_groups(self, group: str) -> list[str] | None:
        """The groups :meth:`learn_members` needs, for an import into ``group``: that
        group and the chat's title (an HTML import's group); None for an account export."""
        if self.account:
            return None
        title = self.group_title
        return [group] if title is None or title == group else [group, title]

    def identity_links(self) -> list[tuple[str, str]]:
        """(name identity, user id) pairs found to be one person, after :meth:`batches`.

        The name identities are those earlier imports keyed members by (HTML exports),
        and those the store's events resolved to an id; the import records each as an
        identity link so the two are one member and later imports keep the decision.
        A name the groups of an account export find to be different ids is not linked.
        """
        found: dict[str, set[str]] = {}
        for people in self._people():
            for named, member in (*people.decided.items(), *people.links.items()):
                found.setdefault(named, set()).add(member)
        # links are platform-wide: a name two groups (of an account export) find to be
        # two ids is no one in particular, and linking it would merge one group's
        # name-keyed events into the other group's person
        return sorted((named, ids.pop()) for named, ids in found.items() if len(ids) == 1)

    def _people(self) -> list[People]:
        if self._json is not None:
            return list(self._json.people.values())
        assert self._html is not None
        return [self._html.people]

    def batches(self, settings: ImportSettings) -> Iterator[Batch]:
        self._notes = []
        roster = self._roster(settings)
        last_line = 0
        last_ts = 0
        group = settings.group or self.group_name
        if self._json is not None:
            found = self._json.run_survey({p.name: p.member_id for p in roster})
            self._json.known = self._known
            inner = self._json.batches(settings)
        else:
            assert self._html is not None
            self._html.known = self._known
            inner = self._html.batches(settings)
        for batch in inner:
            self.group_names = dict(
                self._json.group_names if self._json is not None else self._html.group_names  # type: ignore[union-attr]
            )
            last_line = batch.position
            if batch.events.num_rows:
                latest = pc.max(batch.events.column("ts").cast(pa.int64())).as_py()
                last_ts = max(last_ts, latest or 0)
            yield batch
        if roster and self.account:
            self._notes.append("participants list ignored: an account export holds several groups")
        elif roster:
            yield self._roster_batch(roster, settings, group, last_line, last_ts)
        if self._json is not None:
            j = self._json
            if j.head.account:
                self._notes.append(
                    f"account export: {len(j.group_names)} group chats imported"
                    + (f"; skipped {', '.join(j.skipped)}" if j.skipped else "")
                )
                if settings.group and settings.group != self.group_name:
                    self._notes.append("--group is ignored for account exports")
            if found.ambiguous:
                self._notes.append(
                    f"{len(found.ambiguous)} display names belong to several user ids; "
                    "invited/removed members with those names were matched to the first"
                )
            if j.unsupported:
                self._notes.append(f"{j.unsupported} unsupported messages skipped")
            if not j.head.account and group in j.group_names and group != j.group_names[group]:
                self._notes.append(f"group {group} is the chat {j.group_names[group]!r}")
            title = j.head.name
            if not j.head.account and group == title and group != self.group_name:
                self._notes.append(
                    f"chat {self.group_name} stored in group {title!r}, where the store holds "
                    "its HTML exports (they have no chat id, so they are keyed by its title)"
                )
            if not j.head.account and title in self._known and group != title:
                self._notes.append(
                    f"the store holds HTML imports of {title!r} in group {title!r} (HTML has no "
                    f"chat id), this export went to group {group}: import it with --group "
                    f"{title!r} to add it to them, or undo them and import them again with "
                    f"--group {group}"
                )
            linked = len({named for people in self._people() for named in people.links})
            if linked:
                self._notes.append(_linked_names_note(linked))
        elif self._html is not None:
            self._notes.extend(_html_member_notes(self._html.people))
            if group != self.group_name:
                self._notes.append(
                    f"HTML export of {self.group_name!r} (no chat id) stored in group {group}"
                )
            if self._html.unknown_services:
                self._notes.append(
                    f"{self._html.unknown_services} service messages not understood "
                    "(kept as system_notice)"
                )

    def _roster(self, settings: ImportSettings) -> list[Participant]:
        people: list[Participant] = []
        clock = Clock(settings.timezone)
        for name in self.source.rosters:
            with self.source.open(name) as fh:
                data = fh.read()
            try:
                people.extend(read_roster(data, clock))
            except (ValueError, json.JSONDecodeError) as exc:
                self._notes.append(f"participants list {name} not read: {exc}")
        return people

    def _roster_batch(
        self,
        roster: list[Participant],
        settings: ImportSettings,
        group: str,
        last_line: int,
        last_ts: int,
    ) -> Batch:
        out = EventColumns(PLATFORM, settings.community, settings.import_id)
        kind = str(EventKind.MEMBER_LISTED)
        line = last_line
        for person in roster:
            line += 1
            extra = {"role": person.role or "member"}
            if person.username:
                extra["username"] = person.username
            out.add(
                kind,
                group,
                person.joined_us if person.joined_us is not None else last_ts,
                line,
                key_parts=(None, person.member_id),
                member_id=person.member_id,
                member_name=person.name or None,
                is_bot=person.is_bot,
                extra=json.dumps(extra, ensure_ascii=False),
            )
        self._notes.append(f"participants list: {len(roster)} members listed")
        return Batch(out.table(), [], line, len(roster), self.total_bytes)


def _html_member_notes(people: People) -> list[str]:
    """What the operator should know about the members of an HTML export."""
    resolved, unresolved = len(people.resolved), len(people.unresolved)
    if not resolved and not unresolved:
        return ["HTML export: members are keyed by display name (no user ids)"]
    notes = [
        f"HTML export: {resolved} names resolved to user ids from earlier JSON imports, "
        f"{unresolved} ambiguous left as names, {len(people.unknown)} not known by id kept as names"
    ]
    if people.links:
        notes.append(_linked_names_note(len(people.links)))
    return notes


def _linked_names_note(linked: int) -> str:
    """The one wording of the note, whichever format's import made the links."""
    return f"{linked} display names of earlier HTML imports linked to their user ids"
