"""A fast first look at ``result.json``: who is who, and where each chat's messages are.

The JSON names invited and removed members only by display name (``"members":
["Bob"]``), while messages carry stable ids (``"from_id": "user123"``). One regex
scan over the raw bytes (no JSON objects are built) collects every name ↔ id pair the
export writes — senders, actors, reactors, ``mention_name`` entities and the
account's contacts — so that a joiner's event carries the id their later messages
carry. For full-account exports the same scan counts the messages of each chat in
``chats.list[]`` (Telegram writes ``"type": "message"|"service"|"unsupported"`` exactly
once per message object, and never inside a string, where quotes are escaped), so the
main pass can stream all messages with one C-level ``ijson.items`` and still know
which chat each belongs to.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from shequn.identity import identity_of

_STR: Final = rb'"(?:[^"\\]|\\.)*"'
#: each pattern starts with a literal, so the regex engine skips ahead with a fast search
_FROM: Final = re.compile(
    rb'"(?:from|actor)":\s*(' + _STR + rb'),\s*"(?:from|actor)_id":\s*"?([a-z]*\d+)"?'
)
_MENTION: Final = re.compile(
    rb'"type":\s*"mention_name",\s*"text":\s*(' + _STR + rb'),\s*"user_id":\s*(\d+)'
)
_CONTACT: Final = re.compile(
    rb'"user_id":\s*(\d+),\s*"first_name":\s*(' + _STR + rb'),\s*"last_name":\s*(' + _STR + rb")"
)
_MESSAGE: Final = re.compile(rb'"type":\s*"(?:message|service|unsupported)"')
_CHAT: Final = re.compile(rb'"type":\s*"([a-z_]+)",\s*"id":\s*(-?\d+),\s*"messages":\s*\[')
_CHAT_NAME: Final = re.compile(rb'"name":\s*(' + _STR + rb"|null),\s*$")
_TOP: Final = re.compile(rb'\n "(left_chats|chats)":\s*\{')
_BLOCK: Final = 8 << 20
_KEEP_LINES: Final = 6


@dataclass
class ChatHeader:
    """One chat of a full-account export, in file order."""

    name: str | None
    type: str
    id: str
    messages: int = 0
    left: bool = False


@dataclass
class Survey:
    """What the scan found."""

    names: dict[str, str] = field(default_factory=dict)
    #: names written with two different ids (first one wins; reported in notes)
    ambiguous: set[str] = field(default_factory=set)
    chats: list[ChatHeader] = field(default_factory=list)
    _identities: frozenset[str] | None = field(default=None, init=False, repr=False)

    def learn(self, name: str, ident: str) -> None:
        known = self.names.setdefault(name, ident)
        if known != ident:
            self.ambiguous.add(name)

    def ambiguous_identities(self) -> frozenset[str]:
        """The name identities written with two ids. Names that differ only in what
        :func:`~shequn.identity.identity_of` drops ("Bob  Jones", "Bob Jones") are one
        identity, and keys and links use the identity, so they are compared by it."""
        if self._identities is None:
            found = {identity_of(name) for name in self.ambiguous}
            first: dict[str, str] = {}
            for name, ident in self.names.items():
                named = identity_of(name)
                if first.setdefault(named, ident) != ident:
                    found.add(named)
            self._identities = frozenset(found)
        return self._identities


def _text(raw: bytes) -> str | None:
    value = json.loads(raw)
    return value if isinstance(value, str) else None


def survey(fh: BinaryIO, *, account: bool) -> Survey:
    """Scan a ``result.json`` stream once (memory: one block and the name table)."""
    found = Survey()
    seen: set[tuple[bytes, bytes]] = set()
    pending = b""
    in_left = False
    while True:
        block = fh.read(_BLOCK)
        data = pending + block
        end = len(data)
        if block:
            last = data.rfind(b"\n")
            if last < 0:
                pending = data
                continue
            # a match spans a few lines: keep the last complete lines for the next round
            # and take here only matches that start before them
            end = last
            for _ in range(_KEEP_LINES):
                end = data.rfind(b"\n", 0, end) if end > 0 else -1
            end = max(end, 0)
        for m in _FROM.finditer(data):
            if m.start() >= end and block:
                break
            pair = (m.group(1), m.group(2))
            if pair not in seen:
                seen.add(pair)
                name, ident = _text(pair[0]), pair[1].decode()
                if name:
                    found.learn(name, ident if not ident[0].isdigit() else "user" + ident)
        for m in _MENTION.finditer(data):
            if m.start() >= end and block:
                break
            pair = (m.group(1), m.group(2))
            if pair not in seen:
                seen.add(pair)
                name = _text(pair[0])
                if name:
                    found.learn(name, "user" + pair[1].decode())
        for m in _CONTACT.finditer(data):
            if m.start() >= end and block:
                break
            first, last_name = _text(m.group(2)) or "", _text(m.group(3)) or ""
            full = f"{first} {last_name}".strip()
            if full:
                found.learn(full, "user" + m.group(1).decode())
        if account:
            in_left = _account_block(data, end if block else len(data), found, in_left)
        if not block:
            break
        pending = data[end:]
    return found


def _account_block(data: bytes, end: int, found: Survey, in_left: bool) -> bool:
    """Chat headers, top-level lists and message counts in ``data[:end]``, in file order."""
    marks: list[tuple[int, int, re.Match[bytes]]] = []
    for m in _CHAT.finditer(data, 0, end):
        marks.append((m.start(), 1, m))
    for m in _TOP.finditer(data, 0, end):
        marks.append((m.start(), 0, m))
    marks.sort(key=lambda x: x[0])
    starts = [m.start() for m in _MESSAGE.finditer(data, 0, end)]
    at = 0
    for pos, what, m in marks:
        i = bisect.bisect_left(starts, pos, at)
        if found.chats:
            found.chats[-1].messages += i - at
        at = i
        if what == 0:
            in_left = m.group(1) == b"left_chats"
            continue
        line_start = data.rfind(b"\n", 0, data.rfind(b"\n", 0, pos)) + 1
        name_match = _CHAT_NAME.search(data, line_start, pos)
        raw_name = name_match.group(1) if name_match else None
        found.chats.append(
            ChatHeader(
                name=_text(raw_name) if raw_name and raw_name != b"null" else None,
                type=m.group(1).decode(),
                id=m.group(2).decode(),
                left=in_left,
            )
        )
    if found.chats:
        found.chats[-1].messages += len(starts) - at
    return in_left
