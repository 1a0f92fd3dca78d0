"""From recognised WhatsApp system lines to events.

The parser hands over the few lines that may be system lines; each is matched
against the language table (:mod:`.system_lines`), trying the export's language
first once it is known, and turned into one event per member it names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

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

_CANDIDATE_COLUMNS: Final = ["source_line", "ts_raw", "ts", "rest", "member_name", "body", "key"]


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
        self._group_names = {identity_of(n) for n in group_names if n}
        #: identities of names that contain ': ' (learnt from the whole file)
        self.colon_names = {identity_of(n) for n in colon_names}

    def read(self, candidates: pa.Table) -> tuple[list[dict[str, Any]], list[int]]:
        """Event rows for the candidates that are system lines, and their line numbers."""
        rows: list[dict[str, Any]] = []
        done: list[int] = []
        for row in candidates.select(_CANDIDATE_COLUMNS).to_pylist():
            author, body, rest = row["member_name"], row["body"], row["rest"]
            text = rest if self.layout == ANDROID or author is None else (body or "")
            text = text.lstrip(LRM)
            found = self._match(text) if len(text) <= _LONGEST_SYSTEM_LINE else None
            if found is not None and author is not None and not self._plausible(found):
                found = None
            if found is None and author is not None and not self._group_voice(author):
                continue  # an ordinary message after all
            line = {
                "ts": row["ts"],
                "ts_raw": row["ts_raw"],
                "source_line": int(row["source_line"]),
                "key": row["key"],
            }
            done.append(line["source_line"])
            if found is None:
                rows.append(self._row(line, EventKind.SYSTEM_NOTICE, None, text=text))
            else:
                rows.extend(self._expand(found, line))
        return _unique(rows), done

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
        order = list(system_lines.languages())
        if self.language in order:
            order.remove(self.language)
            order.insert(0, self.language)
        for lang in order:
            found = system_lines.match(text, lang)
            if found is not None:
                self.language = self.language or lang
                return found
        return None

    def _who(self, found: SystemMatch, role: str) -> tuple[str | None, str | None]:
        """(identity, written name) of the actor or member a system line names."""
        if found.line.you == role:
            name = self.me or YOU
            return identity_of(name), name
        written = found.fields.get(role)
        return (identity_of(written), written) if written is not None else (None, None)

    def _expand(self, found: SystemMatch, line: dict[str, Any]) -> list[dict[str, Any]]:
        event, fields = found.event, found.fields
        if event == SystemEvent.ADDED:
            actor_id, _ = self._who(found, "actor")
            if found.line.you == "member":
                targets = [self._who(found, "member")]
            else:
                names = system_lines.split_members(fields["members"], found.line.lang)
                targets = [(identity_of(n), n) for n in names]
            return [
                self._row(
                    line,
                    EventKind.MEMBER_JOINED,
                    member,
                    name=name,
                    by=actor_id,
                    join_method=JoinMethod.ADDED,
                    you=found.line.you == "member",
                )
                for member, name in targets
            ]
        if event == SystemEvent.NUMBER_CHANGED:
            old = fields.get("old") or fields.get("member")
            new = identity_of(fields["new"]) if fields.get("new") else None
            return [
                self._row(
                    line,
                    EventKind.MEMBER_NUMBER_CHANGED,
                    identity_of(old) if old else None,
                    name=old,
                    text=new,
                    extra={"new": new},
                )
            ]
        shape = SHAPES.get(event)
        if shape is None:
            return [self._row(line, EventKind.SYSTEM_NOTICE, None, extra={"system": event.value})]
        member, name = self._who(found, shape.who)
        by = self._who(found, shape.by)[0] if shape.by else None
        extra: dict[str, Any] | None = None
        if event == SystemEvent.SUBJECT_CHANGED:
            extra = {"old": fields.get("old")}
        elif event in (SystemEvent.ICON_CHANGED, SystemEvent.ICON_DELETED):
            extra = {"deleted": event == SystemEvent.ICON_DELETED}
        return [
            self._row(
                line,
                shape.kind,
                member,
                name=name,
                by=by,
                join_method=shape.join_method,
                text=fields.get(shape.text) if shape.text else None,
                extra=extra,
                you=found.line.you == shape.who,
            )
        ]

    def _row(
        self,
        line: dict[str, Any],
        kind: EventKind,
        member_id: str | None,
        *,
        name: str | None = None,
        by: str | None = None,
        text: str | None = None,
        join_method: JoinMethod | None = None,
        extra: dict[str, Any] | None = None,
        you: bool = False,
    ) -> dict[str, Any]:
        row = dict.fromkeys(EVENT_SCHEMA.names)
        row.update(
            key=natural_key(line["key"], kind.value, YOU if you else member_id),
            schema_version=SCHEMA_VERSION,
            kind=kind.value,
            platform="whatsapp",
            community=self.community,
            group_id=self.group_id,
            ts=line["ts"],
            ts_raw=line["ts_raw"],
            member_id=member_id,
            member_name=name,
            by_member_id=by,
            text=text,
            is_bot=False,
            join_method=join_method.value if join_method else None,
            extra=json.dumps(extra, ensure_ascii=False) if extra else None,
            import_id=self.import_id,
            source_line=line["source_line"],
        )
        return row


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per key ("added Bob, Carol and Bob" names Bob once as a fact)."""
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["key"], row)
    return list(unique.values())


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Event rows as an Arrow table with the event schema."""
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)
