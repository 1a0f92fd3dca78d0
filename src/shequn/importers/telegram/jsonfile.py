"""Streaming ``result.json``: one chat's export or a whole account's, through ijson.

Messages are built one at a time by ijson's C backend (``ijson.items`` on
``messages.item`` or ``chats.list.item.messages.item``), so memory stays flat however
long the chat. Which chat an account export's message belongs to comes from the
survey's per-chat message counts (:mod:`.survey`).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

import ijson

from shequn.errors import ImportFormatError
from shequn.importers.base import Batch, ImportSettings
from shequn.importers.columns import EventColumns
from shequn.importers.telegram.clock import Clock
from shequn.importers.telegram.people import KnownGroup, People
from shequn.importers.telegram.records import PLATFORM, BadRecord, ChatState, RecordReader
from shequn.importers.telegram.source import ExportSource
from shequn.importers.telegram.survey import ChatHeader, Survey, survey
from shequn.store.base import Reject

#: chat types that are groups (imported); the rest (personal chats, bots, channels) are not
GROUP_TYPES: Final = frozenset({"private_group", "private_supergroup", "public_supergroup"})
#: chat types whose Bot API id is ``-100…`` (Telegram "channels": supergroups and channels)
_CHANNEL_TYPES: Final = frozenset(
    {"private_supergroup", "public_supergroup", "private_channel", "public_channel"}
)
#: the Bot API writes a channel's id as -(10^12 + id), a basic group's as -id
_CHANNEL_SHIFT: Final = 1_000_000_000_000


def chat_key(chat_type: str | None, chat_id: str | None) -> str | None:
    """The group id of a chat: the id the Bot API gives it (``chat.id``), from the export's
    bare ``id`` and ``type``.

    A supergroup or channel ``1987654321`` is ``-1001987654321``, a basic group ``3001`` is
    ``-3001``, a personal chat is the user's id. The id stays when the chat is renamed, and
    a live connector (Bot API) will see the same id, so imported and live events of a group
    share one ``group_id``. None when the export writes no id.
    """
    if chat_id is None or not chat_id.lstrip("-").isdigit():
        return None
    bare = abs(int(chat_id))
    if chat_type in _CHANNEL_TYPES:
        return str(-(_CHANNEL_SHIFT + bare))
    if chat_type == "private_group":
        return str(-bare)
    return str(bare)


_CHAT_HEAD: Final = re.compile(
    rb'^\s*\{\s*"name":\s*("(?:[^"\\]|\\.)*"|null),\s*"type":\s*"([a-z_]+)",\s*"id":\s*(-?\d+)'
)
_ACCOUNT_HEAD: Final = re.compile(rb'^\s*\{\s*"about":')


@dataclass(frozen=True)
class JsonHead:
    """What the first bytes of ``result.json`` say."""

    account: bool
    name: str | None = None
    type: str | None = None
    id: str | None = None


def read_head(head: bytes) -> JsonHead | None:
    """Single chat (``{"name", "type", "id", "messages"``) or account (``{"about"``)."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    m = _CHAT_HEAD.match(head)
    if m is not None:
        name = json.loads(m.group(1))
        return JsonHead(False, name if isinstance(name, str) else None, m.group(2).decode(),
                        m.group(3).decode())  # fmt: skip
    if _ACCOUNT_HEAD.match(head) and (b'"chats"' in head or b'"personal_information"' in head):
        return JsonHead(True)
    return None


class _Counting:
    """A read-only stream that counts the bytes read (for progress)."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.read_bytes += len(data)
        return data


class JsonExport:
    """Reads one ``result.json``."""

    def __init__(self, source: ExportSource, head: JsonHead) -> None:
        self.source = source
        self.name = source.files[0]
        self.display = source.display(self.name)
        self.head = head
        self.survey: Survey | None = None
        self.skipped: list[str] = []
        self.unsupported = 0
        self.group_names: dict[str, str] = {}
        #: what the store holds of each group's members (set by the importer before reading)
        self.known: dict[str, KnownGroup] = {}
        #: who the members of each group read are (links and resolutions, for the notes)
        self.people: dict[str, People] = {}
        #: a single chat's group: its Bot API id, else (no id written) its name
        self.group_key = chat_key(head.type, head.id) or head.name or "Telegram chat"

    def run_survey(self, extra_names: dict[str, str]) -> Survey:
        with self.source.open(self.name) as fh:
            found = survey(fh, account=self.head.account)
        for name, ident in extra_names.items():
            found.names.setdefault(name, ident)
        self.survey = found
        return found

    def _plan(self, found: Survey, settings: ImportSettings) -> list[tuple[ChatHeader, str | None]]:
        """Each chat of an account export with the group id it is stored under (None: skip)."""
        plan: list[tuple[ChatHeader, str | None]] = []
        for chat in (c for c in found.chats if not c.left):
            if chat.type not in GROUP_TYPES:
                plan.append((chat, None))
                continue
            plan.append((chat, chat_key(chat.type, chat.id) or f"chat {chat.id}"))
        skipped: dict[str, int] = {}
        for chat, chosen in plan:
            if chosen is None:
                skipped[chat.type] = skipped.get(chat.type, 0) + 1
        self.skipped = [f"{n} {t}" for t, n in sorted(skipped.items())]
        left = sum(1 for c in found.chats if c.left)
        if left:
            self.skipped.append(f"{left} left chats")
        return plan

    def batches(self, settings: ImportSettings) -> Iterator[Batch]:
        found = self.survey or self.run_survey({})
        clock = Clock(settings.timezone)
        out = EventColumns(PLATFORM, settings.community, settings.import_id)
        rejects: list[Reject] = []
        reader = RecordReader(out, clock)
        self.people = {}
        every = max(1, settings.commit_every)
        with self.source.open(self.name) as raw:
            fh = _Counting(raw)
            if self.head.account:
                plan = self._plan(found, settings)
                items = ijson.items(fh, "chats.list.item.messages.item", use_float=True)
                chats = self._account_chats(plan, found)
            else:
                group = settings.group or self.group_key
                self.group_names = {group: self.head.name or group}
                items = ijson.items(fh, "messages.item", use_float=True)
                state = ChatState(group, self._people(group, found))
                chats = ((state, "messages", k) for k in itertools.count())
            line = 0
            read = 0
            try:
                for msg in items:
                    line += 1
                    state_or_none, prefix, index = next(chats)
                    if state_or_none is not None:
                        read += 1
                        where = f"{prefix}[{index}]"
                        try:
                            reader.read(msg, line, where, state_or_none)
                        except BadRecord as exc:
                            rejects.append(Reject(self.display, line, str(exc), _raw(msg)))
                    if line % every == 0:
                        yield Batch(out.table(), rejects, line, read, fh.read_bytes)
                        rejects = []
                        read = 0
            except ijson.JSONError as exc:
                raise ImportFormatError(
                    f"is not valid JSON after message {line}: {exc}",
                    platform="telegram",
                    path=self.display,
                ) from None
            except StopIteration:
                raise ImportFormatError(
                    "has more messages than its chats list announces; cannot tell which chat "
                    "they belong to",
                    platform="telegram",
                    path=self.display,
                ) from None
            if len(out) or rejects or line % every:
                yield Batch(out.table(), rejects, max(line, 1), read, self.source.total_bytes)
        self.unsupported = reader.unsupported

    def _people(self, group: str, found: Survey) -> People:
        """Who the members of ``group`` are: the export's names and ids, then the store's."""
        people = self.people.get(group)
        if people is None:
            people = People(self.known.get(group), found.names, found.ambiguous_identities())
            self.people[group] = people
        return people

    def _account_chats(
        self, plan: list[tuple[ChatHeader, str | None]], found: Survey
    ) -> Iterator[tuple[ChatState | None, str, int]]:
        """For each message of ``chats.list`` in order: its chat's state (None: skipped)."""
        for c, (chat, group) in enumerate(plan):
            state = None if group is None else ChatState(group, self._people(group, found))
            if group is not None:
                self.group_names[group] = chat.name or group
            prefix = f"chats.list[{c}].messages"
            for k in range(chat.messages):
                yield state, prefix, k


def _raw(msg: Any) -> str:
    try:
        text = json.dumps(msg, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(msg)
    return text[:500]
