"""One ``result.json`` message object → its events (posts, reactions, service actions).

Field names follow Telegram Desktop's writer (``export_output_json.cpp``): ``id``,
``type`` (``message`` | ``service`` | ``unsupported``), ``date``/``date_unixtime``,
``from``/``from_id``, ``actor``/``actor_id`` + ``action`` for service messages,
``reply_to_message_id``, ``forwarded_from``, ``via_bot``, ``edited``/``edited_unixtime``,
``text`` (a string, or an array of strings and ``{type, text, …}`` entities),
``photo``/``file``+``media_type``/``contact_information``/``location_information``/
``poll``, ``inline_bot_buttons`` and ``reactions[]`` with ``recent[]`` reactors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final, Unpack

from shequn.events import AttachmentKind, EventKind, JoinMethod
from shequn.importers.columns import EventColumns, EventFields
from shequn.importers.telegram.clock import Clock
from shequn.importers.telegram.people import People

PLATFORM: Final = "telegram"

POSTED: Final = str(EventKind.MESSAGE_POSTED)
REACTION: Final = str(EventKind.REACTION_ADDED)
JOINED: Final = str(EventKind.MEMBER_JOINED)
LEFT: Final = str(EventKind.MEMBER_LEFT)
REMOVED: Final = str(EventKind.MEMBER_REMOVED)
PINNED: Final = str(EventKind.MESSAGE_PINNED)
CREATED: Final = str(EventKind.GROUP_CREATED)
RENAMED: Final = str(EventKind.GROUP_RENAMED)
ICON: Final = str(EventKind.GROUP_ICON_CHANGED)
TOPIC: Final = str(EventKind.TOPIC_CREATED)
NOTICE: Final = str(EventKind.SYSTEM_NOTICE)

#: ``file`` messages by ``media_type``; a file without one is a document
MEDIA_TYPES: Final = {
    "sticker": str(AttachmentKind.STICKER),
    "voice_message": str(AttachmentKind.VOICE),
    "video_message": str(AttachmentKind.VIDEO),
    "video_file": str(AttachmentKind.VIDEO),
    "animation": str(AttachmentKind.GIF),
    "audio_file": str(AttachmentKind.AUDIO),
}
_IMAGE: Final = str(AttachmentKind.IMAGE)
_DOCUMENT: Final = str(AttachmentKind.DOCUMENT)
_CONTACT: Final = str(AttachmentKind.CONTACT)
_LOCATION: Final = str(AttachmentKind.LOCATION)
_POLL: Final = str(AttachmentKind.POLL)
_MEDIA: Final = str(AttachmentKind.MEDIA)


class BadRecord(ValueError):
    """A message object the importer cannot read; ``where`` names the field."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        super().__init__(f"{where}: {reason}")


@dataclass
class ChatState:
    """What one chat's messages need from earlier ones (forum topics, known bots) and who
    its members are (:class:`~.people.People`)."""

    group_id: str
    people: People = field(default_factory=People)
    topics: set[int] = field(default_factory=set)
    #: message id → forum topic id, only for messages inside a topic
    topic_of: dict[int, int] = field(default_factory=dict)
    bots: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Record:
    """One message object being read: what all of its events share.

    Not frozen: one is made per message, and a frozen dataclass's ``__init__`` sets each
    field through ``object.__setattr__`` (≈ 5× the cost, seconds per million messages).
    """

    msg: dict[str, Any]
    mid: int
    ts: int
    ts_raw: str | None
    line: int
    where: str
    chat: ChatState
    topic: str | None


@dataclass(frozen=True, slots=True)
class ServiceEvents:
    """The events one service message states: one group, time, message id and line."""

    out: EventColumns
    group: str
    ts: int
    pid: str
    line: int
    actor: str | None
    actor_name: str | None
    ts_raw: str | None = None
    topic: str | None = None

    def add(self, kind: str, more: str = "", **fields: Unpack[EventFields]) -> None:
        """One event, about the actor unless ``fields`` name a member.

        ``more`` tells apart the events of one message (the member each is about); the
        key leaves it out when empty, as keys always have.
        """
        fields.setdefault("member_id", self.actor)
        fields.setdefault("member_name", self.actor_name)
        fields.setdefault("platform_id", self.pid)
        fields.setdefault("ts_raw", self.ts_raw)
        fields.setdefault("topic_id", self.topic)
        key_parts = (self.pid, more) if more else (self.pid,)
        self.out.add(kind, self.group, self.ts, self.line, key_parts=key_parts, **fields)


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def peer_id(value: Any) -> str | None:
    """``user123`` / ``channel5`` as written; very old exports write a bare number."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return f"user{value}"
    return str(value)


def flatten_text(value: Any) -> tuple[str, list[str], list[str]]:
    """``text`` as a string, the mentioned ids or @names, and the links it carries."""
    if isinstance(value, str):
        return value, [], []
    if not isinstance(value, list):
        raise TypeError("text is neither a string nor an array")
    parts: list[str] = []
    mentions: list[str] = []
    links: list[str] = []
    for part in value:
        if isinstance(part, str):
            parts.append(part)
            continue
        text = part.get("text", "")
        if not isinstance(text, str):
            raise TypeError("a text entity's text is not a string")
        parts.append(text)
        kind = part.get("type")
        if kind == "mention_name" and part.get("user_id") is not None:
            mentions.append(f"user{part['user_id']}")
        elif kind == "mention":
            mentions.append(text)
        elif kind == "link":
            links.append(text)
        elif kind == "text_link" and part.get("href"):
            links.append(str(part["href"]))
    return "".join(parts), mentions, links


def attachment_of(msg: dict[str, Any]) -> str | None:
    """The attachment kind of a message, from the fields Telegram writes for its media."""
    if "photo" in msg:
        return _IMAGE
    if "file" in msg or "media_type" in msg:
        return MEDIA_TYPES.get(msg.get("media_type") or "", _DOCUMENT)
    if "contact_information" in msg:
        return _CONTACT
    if "location_information" in msg or "place_name" in msg:
        return _LOCATION
    if "poll" in msg:
        return _POLL
    if "game_title" in msg or "invoice_information" in msg or "paid_stars_amount" in msg:
        return _MEDIA
    return None


class RecordReader:
    """Turns message objects into events appended to an :class:`EventColumns`."""

    def __init__(self, out: EventColumns, clock: Clock) -> None:
        self.out = out
        self.clock = clock
        self.unsupported = 0

    # -- time --------------------------------------------------------------------
    def when(self, msg: dict[str, Any], where: str) -> tuple[int, str | None]:
        raw = msg.get("date_unixtime")
        if raw is not None:
            try:
                return int(raw) * 1_000_000, None
            except (TypeError, ValueError):
                raise BadRecord(f"{where}.date_unixtime", "not an integer") from None
        date = msg.get("date")
        if not isinstance(date, str):
            raise BadRecord(f"{where}.date", "missing")
        try:
            return self.clock.local_iso(date), date
        except ValueError:
            raise BadRecord(f"{where}.date", f"not a date: {date!r}") from None

    # -- one record ----------------------------------------------------------------
    def read(self, msg: Any, line: int, where: str, chat: ChatState) -> None:
        """Append the events of one message object; raises :class:`BadRecord`."""
        if not isinstance(msg, dict):
            raise BadRecord(where, "not an object")
        mid = msg.get("id")
        if not isinstance(mid, int) or isinstance(mid, bool):
            raise BadRecord(f"{where}.id", "not an integer")
        kind = msg.get("type")
        if kind == "unsupported":
            self.unsupported += 1
            return
        ts, ts_raw = self.when(msg, where)
        reply = msg.get("reply_to_message_id")
        if reply is not None and not isinstance(reply, int):
            raise BadRecord(f"{where}.reply_to_message_id", "not an integer")
        topic, reply = self._topic(mid, reply, chat)
        record = _Record(msg, mid, ts, ts_raw, line, where, chat, topic)
        if kind == "service":
            self._service(record)
        elif kind == "message":
            self._message(record, reply)
        else:
            raise BadRecord(f"{where}.type", f"unknown message type {kind!r}")

    def _topic(self, mid: int, reply: int | None, chat: ChatState) -> tuple[str | None, str | None]:
        """Forum topic of a message and its real reply target.

        Inside a forum topic Telegram sets ``reply_to_message_id`` to the topic's
        ``topic_created`` message when the post replies to nothing else; a reply to a
        post in a topic is in that topic too.
        """
        if reply is None:
            return None, None
        if not chat.topics:
            return None, str(reply)
        if reply in chat.topics:
            chat.topic_of[mid] = reply
            return str(reply), None
        topic = chat.topic_of.get(reply)
        if topic is None:
            return None, str(reply)
        chat.topic_of[mid] = topic
        return str(topic), str(reply)

    def _message(self, record: _Record, reply: str | None) -> None:
        msg, where, chat = record.msg, record.where, record.chat
        sender = msg.get("from_id")
        name = msg.get("from")
        people = chat.people
        member = peer_id(sender) if sender is not None else people.member(name)
        people.key(member, name)  # a post is keyed by its id; this only learns who they are
        try:
            text, mentions, links = flatten_text(msg.get("text", ""))
        except (TypeError, AttributeError) as exc:
            raise BadRecord(f"{where}.text", str(exc)) from None
        attachment = attachment_of(msg)
        extra: dict[str, Any] = {}
        poll = msg.get("poll")
        if attachment == _POLL and isinstance(poll, dict):
            text = text or str(poll.get("question") or "")
            extra["options"] = [a.get("text") for a in poll.get("answers") or []]
        via = msg.get("via_bot")
        bot = False
        if via is not None:
            extra["via_bot"] = via
        elif "inline_bot_buttons" in msg and member is not None:
            chat.bots.add(member)
            bot = True
        if not bot and member in chat.bots:
            bot = True
        if "edited" in msg or "edited_unixtime" in msg:
            extra["edited"] = True
            edited = msg.get("edited_unixtime")
            if edited is not None:
                extra["edited_unixtime"] = int(edited)
        if links:
            extra["links"] = links
        if attachment == _MEDIA and msg.get("media_type"):
            extra["media_type"] = msg["media_type"]
        pid = str(record.mid)
        self.out.add(
            POSTED,
            chat.group_id,
            record.ts,
            record.line,
            key_parts=(pid,),
            platform_id=pid,
            member_id=member,
            member_name=name,
            text=text or None,
            reply_to=reply,
            mentions=mentions,
            attachment_kind=attachment,
            forwarded_from=msg.get("forwarded_from"),
            is_bot=bot,
            extra=_dumps(extra) if extra else None,
            topic_id=record.topic,
            ts_raw=record.ts_raw,
        )
        reactions = msg.get("reactions")
        if reactions:
            self._reactions(record, reactions, pid)

    def _reactions(self, record: _Record, reactions: Any, pid: str) -> None:
        where, group, topic, line = record.where, record.chat.group_id, record.topic, record.line
        people = record.chat.people
        if not isinstance(reactions, list):
            raise BadRecord(f"{where}.reactions", "not an array")
        for r, reaction in enumerate(reactions):
            if not isinstance(reaction, dict):
                raise BadRecord(f"{where}.reactions[{r}]", "not an object")
            emoji = reaction.get("emoji") or reaction.get("document_id") or reaction.get("type")
            emoji = str(emoji)
            recent = reaction.get("recent")
            if not recent:
                count = reaction.get("count")
                self.out.add(
                    REACTION,
                    group,
                    record.ts,
                    line,
                    key_parts=(pid, "", emoji),
                    platform_id=pid,
                    reply_to=pid,
                    extra=_dumps({"emoji": emoji, "count": count}),
                    topic_id=topic,
                    ts_raw=record.ts_raw,
                )
                continue
            for k, who in enumerate(recent):
                date = who.get("date") if isinstance(who, dict) else None
                if not isinstance(date, str):
                    raise BadRecord(f"{where}.reactions[{r}].recent[{k}].date", "missing")
                try:
                    when = self.clock.local_iso(date)
                except ValueError:
                    raise BadRecord(
                        f"{where}.reactions[{r}].recent[{k}].date", f"not a date: {date!r}"
                    ) from None
                name = who.get("from")
                member = peer_id(who.get("from_id")) or people.member(name)
                self.out.add(
                    REACTION,
                    group,
                    when,
                    line,
                    key_parts=(pid, people.key(member, name), emoji),
                    platform_id=pid,
                    member_id=member,
                    member_name=name,
                    reply_to=pid,
                    extra=_dumps({"emoji": emoji}),
                    topic_id=topic,
                    ts_raw=date,
                )

    def _service(self, record: _Record) -> None:
        msg, where, chat = record.msg, record.where, record.chat
        action = msg.get("action")
        actor_name = msg.get("actor")
        actor_id = msg.get("actor_id")
        people = chat.people
        actor = peer_id(actor_id) if actor_id is not None else people.member(actor_name)
        actor_key = people.key(actor, actor_name)
        events = ServiceEvents(
            self.out, chat.group_id, record.ts, str(record.mid), record.line, actor, actor_name,
            record.ts_raw, record.topic,
        )  # fmt: skip
        add = events.add
        if action in ("create_group", "invite_members"):
            members = msg.get("members") or []
            if not isinstance(members, list):
                raise BadRecord(f"{where}.members", "not an array")
            if action == "create_group":
                add(CREATED, text=msg.get("title"))
            for i, name in enumerate(members):
                member = people.member(name)
                if action == "create_group" and member == actor:
                    continue
                own = member is not None and member == actor
                more = people.key(member, name)
                add(JOINED, more if more is not None else f"#{i}", member_id=member,
                    member_name=name, by_member_id=None if own else actor,
                    join_method=str(JoinMethod.UNKNOWN if own else JoinMethod.ADDED))  # fmt: skip
        elif action == "join_group_by_link":
            inviter = msg.get("inviter")
            extra = {"inviter": inviter, "inviter_id": people.member(inviter)} if inviter else None
            add(JOINED, actor_key or "", join_method=str(JoinMethod.INVITE_LINK),
                extra=_dumps(extra) if extra else None)  # fmt: skip
        elif action == "join_group_by_request":
            add(JOINED, actor_key or "", join_method=str(JoinMethod.REQUEST_APPROVED))
        elif action == "remove_members":
            members = msg.get("members") or []
            if not isinstance(members, list):
                raise BadRecord(f"{where}.members", "not an array")
            for i, name in enumerate(members):
                member = people.member(name)
                more = people.key(member, name)
                if member is not None and (member == actor or name == actor_name):
                    add(LEFT, more or "", member_id=member, member_name=name)
                else:
                    add(REMOVED, more if more is not None else f"#{i}", member_id=member,
                        member_name=name, by_member_id=actor)  # fmt: skip
        elif action == "pin_message":
            target = msg.get("message_id")
            add(PINNED, reply_to=None if target is None else str(target))
        elif action == "edit_group_title":
            add(RENAMED, text=msg.get("title"))
        elif action in ("edit_group_photo", "delete_group_photo"):
            add(ICON, extra=_dumps({"action": action}))
        elif action == "topic_created":
            chat.topics.add(record.mid)
            add(TOPIC, text=msg.get("title"), topic_id=events.pid)
        else:
            extra = {"action": action}
            for key in ("title", "new_title"):
                if msg.get(key):
                    extra[key] = msg[key]
            add(NOTICE, extra=_dumps(extra))
