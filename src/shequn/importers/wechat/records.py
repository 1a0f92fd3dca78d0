"""One chat row → its events: a message, or the facts a system line states.

Messages: ``member_id`` is the sender's wxid (``Sender`` / ``talker``), ``platform_id``
the row's id (MemoTrace: ``localId``, which is only unique per device, so its key also
carries ``CreateTime``; PyWxDump: ``MsgSvrID``, WeChat's server id). System lines name
people; :class:`~shequn.importers.wechat.names.NameBook` turns names into wxids.
A recall replaces the recalled message's row in WeChat's database, so it is a
``message_deleted`` without the post it deleted.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, field
from typing import Any, Final, Unpack

from shequn.events import EventKind
from shequn.identity import identity_of
from shequn.importers.columns import EventColumns, EventFields
from shequn.importers.wechat.layouts import MEMOTRACE, PYWXDUMP_ME, Row
from shequn.importers.wechat.messages import QuoteIndex, appmsg_quote, mentions_in, split_quote
from shequn.importers.wechat.names import YOU, NameBook
from shequn.importers.wechat.system import SystemFact, clean_text, parse_system
from shequn.importers.wechat.types import (
    APP,
    TEXT,
    attachment_of,
    extra_of,
    is_system,
)

PLATFORM: Final = "wechat"

#: app messages whose text PyWxDump writes readably (links, pasted text)
_TEXT_APPS = frozenset({1, 4, 5})


def extra_json(extra: dict[str, Any] | None) -> str | None:
    """The ``extra`` column as WeChat imports have always written it: sorted keys, with
    spaces (unlike the compact :func:`~shequn.importers.columns.dump_extra`)."""
    return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None


@dataclass
class ChatEvents:
    """Turns one chat's rows into events in ``buffer``."""

    buffer: EventColumns
    book: NameBook
    group_id: str
    layout: str
    me: str | None = None
    quotes: QuoteIndex = field(default_factory=QuoteIndex)
    languages: set[str] = field(default_factory=set)
    unknown_system: int = 0

    def _key(self, row: Row) -> tuple[object, ...]:
        if self.layout == MEMOTRACE:
            return (row.platform_id, calendar.timegm(row.ts.timetuple()))
        return (row.platform_id,)

    def _emit(
        self, kind: str, row: Row, line: int, *more: str, **fields: Unpack[EventFields]
    ) -> None:
        """One event of ``row``: its time, its id and its key, plus ``more`` in the key."""
        fields.setdefault("ts_raw", row.ts_raw)
        fields.setdefault("platform_id", row.platform_id)
        key_parts = (*self._key(row), *more)
        self.buffer.add(kind, self.group_id, row.ts, line, key_parts=key_parts, **fields)

    def _exporter(self) -> str:
        if self.book.exporter:
            return self.book.exporter
        return identity_of(self.me) if self.me else PYWXDUMP_ME

    def add(self, row: Row, line: int) -> None:
        if is_system(row.type_):
            self._system(row, line)
        else:
            self._message(row, line)

    # -- messages ---------------------------------------------------------------------
    def _message(self, row: Row, line: int) -> None:
        sender = row.sender
        if self.layout != MEMOTRACE and (sender == PYWXDUMP_ME or (row.is_sender and not sender)):
            sender = self._exporter()
        if not sender:
            fallback = row.name or row.remark
            sender = identity_of(fallback) if fallback else ""
        name = row.name or row.remark or self.book.display.get(sender)
        text: str | None = None
        reply_to: str | None = None
        mentions: list[str] = []
        key = (row.type_, row.subtype)
        extra = extra_of(*key)
        if row.type_ == TEXT:
            text = row.content
            mentions = mentions_in(self.book, text)
        elif key == (APP, 57):
            if self.layout == MEMOTRACE:
                title, svrid = appmsg_quote(row.content)
                text = title
                if svrid:
                    extra["quoted"] = svrid
            else:
                quote = split_quote(self.book, row.content)
                if quote is not None:
                    text = quote.title
                    reply_to = self.quotes.find(quote)
                else:
                    text = row.content or None
        elif row.type_ == APP and row.subtype in _TEXT_APPS and self.layout != MEMOTRACE:
            text = row.content or None
        elif row.type_ == APP and row.content and not row.content.lstrip().startswith("<"):
            text = row.content if row.subtype in _TEXT_APPS else None
        if row.type_ not in (TEXT, APP, 3, 34, 43, 47) and row.type_name:
            extra["type_name"] = row.type_name
        attachment = attachment_of(*key)
        self._emit(
            EventKind.MESSAGE_POSTED,
            row,
            line,
            member_id=sender or None,
            member_name=name,
            text=text,
            reply_to=reply_to,
            mentions=mentions,
            attachment_kind=str(attachment) if attachment else None,
            extra=extra_json(extra),
        )
        if self.layout != MEMOTRACE and row.ts_raw:
            content = text if text is not None else row.content
            self.quotes.add(row.ts_raw, self.book.names_of(sender), row.platform_id, content)

    # -- system lines -----------------------------------------------------------------
    def _system(self, row: Row, line: int) -> None:
        fact = parse_system(self.book, row.content)
        if fact is None:
            self.unknown_system += 1
            self._emit(
                EventKind.SYSTEM_NOTICE,
                row,
                line,
                text=clean_text(row.content) or None,
                extra=extra_json({"type": row.type_, "subtype": row.subtype}),
            )
            return
        self.languages.add(fact.language)
        for member in fact.members:
            self._fact_row(row, line, fact, member)

    def _who(self, name: str, fact: SystemFact) -> str:
        if name == YOU:
            return self._exporter()
        return self.book.resolve(name, fact.ids)

    def _fact_row(self, row: Row, line: int, fact: SystemFact, name: str) -> None:
        member = self._who(name, fact)
        by = self._who(fact.actor, fact) if fact.actor is not None else None
        self._emit(
            fact.kind,
            row,
            line,
            member,
            member_id=member,
            member_name=None if name == YOU else name.strip(),
            by_member_id=by,
            text=fact.text,
            reply_to=fact.recalled,
            join_method=str(fact.join_method) if fact.join_method is not None else None,
        )
