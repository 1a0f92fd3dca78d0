"""From recognised WhatsApp system lines to events.

The parser hands over the few lines that may be system lines; each is matched
against the language table (:mod:`.system_lines`), trying the export's language
first once it is known, and turned into one event per member it names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

import numpy as np
import pyarrow as pa

from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, EventKind, JoinMethod, natural_key
from shequn.identity import identity_of
from shequn.importers.whatsapp import system_lines
from shequn.importers.whatsapp.layout import ANDROID
from shequn.importers.whatsapp.sql import LRM
from shequn.importers.whatsapp.system_lines import SystemEvent, SystemMatch


class Shape(NamedTuple):
    """How one kind of system line becomes an event."""

    kind: EventKind
    who: str  # the placeholder naming the member the event is about
    by: str | None = None  # the placeholder naming who did it
    join_method: JoinMethod | None = None
    text: str | None = None  # the placeholder whose value is the event's text


SHAPES: Final[dict[SystemEvent, Shape]] = {
    SystemEvent.JOINED_VIA_LINK: Shape(
        EventKind.MEMBER_JOINED, "member", join_method=JoinMethod.INVITE_LINK
    ),
    SystemEvent.JOINED_FROM_COMMUNITY: Shape(
        EventKind.MEMBER_JOINED, "member", join_method=JoinMethod.COMMUNITY
    ),
    SystemEvent.REMOVED: Shape(EventKind.MEMBER_REMOVED, "member", by="actor"),
    SystemEvent.LEFT: Shape(EventKind.MEMBER_LEFT, "member"),
    SystemEvent.GROUP_CREATED: Shape(EventKind.GROUP_CREATED, "actor", text="subject"),
    SystemEvent.SUBJECT_CHANGED: Shape(EventKind.GROUP_RENAMED, "actor", text="new"),
    SystemEvent.DESCRIPTION_CHANGED: Shape(EventKind.GROUP_DESCRIPTION_CHANGED, "actor"),
    SystemEvent.ICON_CHANGED: Shape(EventKind.GROUP_ICON_CHANGED, "actor"),
    SystemEvent.ICON_DELETED: Shape(EventKind.GROUP_ICON_CHANGED, "actor"),
    SystemEvent.SECURITY_CODE_CHANGED: Shape(EventKind.SECURITY_NOTICE, "member"),
}

#: who "you" is when --me does not say; also the key part for "you", so that keys do
#: not depend on --me
YOU: Final = "you"
#: longer lines are never system lines (the longest template is ~200 characters)
_LONGEST_SYSTEM_LINE: Final = 1000

_CANDIDATE_COLUMNS: Final = ["source_line", "rest", "member_name", "body", "key"]
#: identities kept per reader (names repeat: one adder adds many)
_IDENTITIES_KEPT: Final = 20_000


class SystemLineReader:
    """Turns system-line candidates of one export into event rows."""

    def __init__(
        self,
        *,
        layout: str,
        community: str,
        group_id: str,
        import_id: int,
        me: str | None,
        group_names: Iterable[str],
        language: str | None = None,
        colon_names: Iterable[str] = (),
    ) -> None:
        self.layout = layout
        self.community = community
        self.group_id = group_id
        self.import_id = import_id
        self.me = me
        self.language = language
        self._order = _language_order(language)
        self._group_names = {identity_of(n) for n in group_names if n}
        #: identities of names that contain ': ' (learnt from the whole file)
        self.colon_names = {identity_of(n) for n in colon_names}
        self._identities: dict[str, str] = {}

    def read(self, candidates: pa.Table) -> tuple[pa.Table, list[int]]:
        """Events of the candidates that are system lines, and their line numbers.

        One row per key ("added Bob, Carol and Bob" names Bob once as a fact), the
        first of each key in line order.
        """
        rows = _Rows()
        done: list[int] = []
        lines = candidates.select(_CANDIDATE_COLUMNS).to_pydict()
        for at, (source_line, rest, author, body, key) in enumerate(
            zip(*lines.values(), strict=True)
        ):
            text = rest if self.layout == ANDROID or author is None else (body or "")
            text = text.lstrip(LRM)
            found = self._match(text) if len(text) <= _LONGEST_SYSTEM_LINE else None
            if found is not None and author is not None and not self._plausible(found):
                found = None
            if found is None and author is not None and not self._group_voice(author):
                continue  # an ordinary message after all
            done.append(source_line)
            if found is None:
                rows.add(at, key, EventKind.SYSTEM_NOTICE, None, text=text)
            else:
                self._expand(found, rows, at, key)
        return rows.table(candidates, self), done

    def _plausible(self, found: SystemMatch) -> bool:
        """A line with an author-like 'X: ' prefix is a system line only if its ': ' is
        inside a quoted subject or a known name with ': ' — else "Tom: Thanks, Mark
        added me" would read as a join."""
        for name, value in found.fields.items():
            if ": " not in value:
                continue
            if name in ("subject", "old", "new"):
                return True
            names = (
                system_lines.split_members(value, found.line.lang) if name == "members" else [value]
            )
            return any(": " in n and identity_of(n) in self.colon_names for n in names)
        return True  # the ': ' belongs to the template itself

    def _group_voice(self, author: str) -> bool:
        """iOS writes system lines as if the group (its current name) had said them."""
        return self.layout != ANDROID and identity_of(author) in self._group_names

    def _match(self, text: str) -> SystemMatch | None:
        """The export's language first once it is known, then the others in table order."""
        found = system_lines.match_first(text, self._order)
        if found is not None and not self.language:
            self.language = found.line.lang
            self._order = _language_order(self.language)
        return found

    def _identity(self, written: str) -> str:
        """:func:`identity_of`, remembered (bounded): adders and leavers repeat."""
        identity = self._identities.get(written)
        if identity is None:
            identity = identity_of(written)
            if len(self._identities) < _IDENTITIES_KEPT:
                self._identities[written] = identity
        return identity

    def _who(self, found: SystemMatch, role: str) -> tuple[str | None, str | None]:
        """(identity, written name) of the actor or member a system line names."""
        if found.line.you == role:
            name = self.me or YOU
            return self._identity(name), name
        written = found.fields.get(role)
        return (self._identity(written), written) if written is not None else (None, None)

    def _expand(self, found: SystemMatch, rows: _Rows, at: int, key: str) -> None:
        """Add the events one recognised line (candidate ``at``, key ``key``) makes."""
        event, fields = found.event, found.fields
        if event == SystemEvent.ADDED:
            actor_id, _ = self._who(found, "actor")
            you = found.line.you == "member"
            if you:
                targets = [self._who(found, "member")]
            else:
                names = system_lines.split_members(fields["members"], found.line.lang)
                targets = [(self._identity(n), n) for n in names]
            for member, name in targets:
                rows.add(
                    at,
                    key,
                    EventKind.MEMBER_JOINED,
                    member,
                    name=name,
                    by=actor_id,
                    join_method=JoinMethod.ADDED,
                    you=you,
                )
            return
        if event == SystemEvent.NUMBER_CHANGED:
            old = fields.get("old") or fields.get("member")
            new = self._identity(fields["new"]) if fields.get("new") else None
            rows.add(
                at,
                key,
                EventKind.MEMBER_NUMBER_CHANGED,
                self._identity(old) if old else None,
                name=old,
                text=new,
                extra={"new": new},
            )
            return
        shape = SHAPES.get(event)
        if shape is None:
            rows.add(at, key, EventKind.SYSTEM_NOTICE, None, extra={"system": event.value})
            return
        member, name = self._who(found, shape.who)
        by = self._who(found, shape.by)[0] if shape.by else None
        extra: dict[str, Any] | None = None
        if event == SystemEvent.SUBJECT_CHANGED:
            extra = {"old": fields.get("old")}
        elif event in (SystemEvent.ICON_CHANGED, SystemEvent.ICON_DELETED):
            extra = {"deleted": event == SystemEvent.ICON_DELETED}
        rows.add(
            at,
            key,
            shape.kind,
            member,
            name=name,
            by=by,
            join_method=shape.join_method,
            text=fields.get(shape.text) if shape.text else None,
            extra=extra,
            you=found.line.you == shape.who,
        )


class _Rows:
    """The events of one chunk's system lines, column by column, one per key."""

    def __init__(self) -> None:
        #: the candidate row each event comes from (its time, stamp and line number)
        self.at: list[int] = []
        self.keys: dict[str, None] = {}
        self.kind: list[str] = []
        self.member_id: list[str | None] = []
        self.member_name: list[str | None] = []
        self.by_member_id: list[str | None] = []
        self.text: list[str | None] = []
        self.join_method: list[str | None] = []
        self.extra: list[str | None] = []

    def add(
        self,
        at: int,
        line_key: str,
        kind: EventKind,
        member_id: str | None,
        *,
        name: str | None = None,
        by: str | None = None,
        text: str | None = None,
        join_method: JoinMethod | None = None,
        extra: dict[str, Any] | None = None,
        you: bool = False,
    ) -> None:
        """One event of candidate ``at``, unless an earlier one has its key."""
        key = natural_key(line_key, kind.value, YOU if you else member_id)
        if key in self.keys:
            return
        self.keys[key] = None
        self.at.append(at)
        self.kind.append(kind.value)
        self.member_id.append(member_id)
        self.member_name.append(name)
        self.by_member_id.append(by)
        self.text.append(text)
        self.join_method.append(join_method.value if join_method else None)
        self.extra.append(json.dumps(extra, ensure_ascii=False) if extra else None)

    def table(self, candidates: pa.Table, reader: SystemLineReader) -> pa.Table:
        """The events as a table with the event schema."""
        n = len(self.at)
        at = pa.array(self.at, pa.int64())
        string = pa.string()
        columns: dict[str, pa.Array | pa.ChunkedArray] = {
            "key": pa.array(list(self.keys), string),
            "schema_version": pa.array(np.full(n, SCHEMA_VERSION, dtype=np.int16)),
            "kind": pa.array(self.kind, string),
            "platform": pa.array(["whatsapp"] * n, string),
            "community": pa.array([reader.community] * n, string),
            "group_id": pa.array([reader.group_id] * n, string),
            "ts": candidates.column("ts").take(at),
            "ts_raw": candidates.column("ts_raw").take(at),
            "member_id": pa.array(self.member_id, string),
            "member_name": pa.array(self.member_name, string),
            "by_member_id": pa.array(self.by_member_id, string),
            "text": pa.array(self.text, string),
            "is_bot": pa.array(np.zeros(n, dtype=bool)),
            "join_method": pa.array(self.join_method, string),
            "extra": pa.array(self.extra, string),
            "import_id": pa.array(np.full(n, reader.import_id, dtype=np.int64)),
            "source_line": candidates.column("source_line").take(at),
        }
        return pa.table(
            [columns.get(f.name, pa.nulls(n, f.type)) for f in EVENT_SCHEMA], schema=EVENT_SCHEMA
        )


def _language_order(first: str | None) -> tuple[str, ...]:
    """The table's languages, ``first`` (when it is one of them) moved to the front."""
    order = system_lines.languages()
    if first not in order:
        return order
    return (first, *(lang for lang in order if lang != first))
