"""One DiscordChatExporter message object → its events.

DCE writes every message with its ``type`` as the name of its ``MessageKind``
(``Default``, ``Reply``, ``RecipientAdd``, ``RecipientRemove``, ``Call``,
``ChannelNameChange``, ``ChannelIconChange``, ``ChannelPinnedMessage``,
``GuildMemberJoin``, ``ThreadCreated``) or, for a kind its enum lacks, the number
(``"20"`` for a slash-command reply). System messages carry DCE's fallback text as
``content`` ("Added X to the group.", "Changed the channel name: X", …); the facts are
read from ``author``, ``mentions`` and ``reference``, never from that text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from shequn.events import EventKind, JoinMethod
from shequn.importers.columns import EventColumns, dump_extra
from shequn.importers.discord.rows import RecordError, parse_time
from shequn.importers.discord.source import ChannelHeader, attachment_kind

#: types that are posts by a member or a bot (20/23: replies to slash and context commands)
POST_TYPES: Final = frozenset(
    {"Default", "Reply", "20", "23", "ChatInputCommand", "ContextMenuCommand"}
)
_RENAME_PREFIX: Final = "Changed the channel name"
_THREAD_FALLBACK: Final = "Started a thread."


@dataclass(frozen=True)
class User:
    """An ``author`` / ``mentions[]`` / ``reactions[].users[]`` object, as read."""

    id: str
    name: str | None
    is_bot: bool

    @classmethod
    def parse(cls, value: object, field: str) -> User:
        if not isinstance(value, dict):
            raise RecordError(f"{field}: missing or not an object")
        uid = value.get("id")
        if not isinstance(uid, str | int) or str(uid) == "":
            raise RecordError(f"{field}.id: missing")
        name = value.get("nickname") or value.get("name")
        return cls(str(uid), name if isinstance(name, str) else None, value.get("isBot") is True)


@dataclass
class ChannelContext:
    """Where the messages of one file go: group, topic, and the export-wide topic memory."""

    header: ChannelHeader
    timezone: str
    #: (group, channel id) of every topic a topic_created was written for
    seen_topics: set[tuple[str, str]]
    #: channel id → header, for every channel file in the export
    channels: dict[str, ChannelHeader]

    @property
    def group_id(self) -> str:
        return self.header.group_id

    @property
    def topic_id(self) -> str | None:
        return None if self.header.is_direct else self.header.channel_id


def _ref(message: dict[str, Any], field: str = "messageId") -> str | None:
    ref = message.get("reference")
    if isinstance(ref, dict):
        value = ref.get(field)
        if isinstance(value, str | int) and str(value) != "":
            return str(value)
    return None


def _list(message: dict[str, Any], field: str) -> list[Any]:
    value = message.get(field)
    return value if isinstance(value, list) else []


def _mentions(message: dict[str, Any]) -> list[User]:
    found = message.get("mentions")
    if not isinstance(found, list):
        return []
    return [User.parse(u, f"mentions[{i}]") for i, u in enumerate(found)]


def _emoji_key(emoji: dict[str, Any]) -> tuple[str, str | None]:
    """(key, name): custom emoji by id, standard emoji by the character itself."""
    name = emoji.get("name") if isinstance(emoji.get("name"), str) else None
    eid = emoji.get("id")
    if isinstance(eid, str | int) and str(eid) not in ("", "0"):
        return str(eid), name
    return name or "?", name


def add_message(
    rows: EventColumns, ctx: ChannelContext, message: object, line: int, index: int
) -> None:
    """Append the events of ``messages[index]`` (raises RecordError naming the field)."""
    if not isinstance(message, dict):
        raise RecordError("not an object")
    mid = message.get("id")
    if not isinstance(mid, str | int) or not str(mid).isdigit():
        raise RecordError("id: missing or not a snowflake")
    kind = message.get("type")
    if not isinstance(kind, str | int):
        raise RecordError("type: missing")
    kind = str(kind)
    ts, ts_raw = parse_time(message.get("timestamp"), "timestamp", ctx.timezone)
    author = User.parse(message.get("author"), "author")
    handler = _posted if kind in POST_TYPES else _HANDLERS.get(kind, _system_notice)
    handler(_Message(rows, ctx, message, str(mid), kind, ts, ts_raw, author, line))


@dataclass(frozen=True, slots=True)
class _Message:
    """One message being read: where its events go and what they all share."""

    rows: EventColumns
    ctx: ChannelContext
    data: dict[str, Any]
    id: str
    type: str
    ts: datetime
    ts_raw: str | None
    author: User
    line: int

    def add(
        self,
        kind: EventKind,
        who: User | None,
        *,
        key_parts: tuple[object, ...] | None = None,
        platform_id: str | None = None,
        by_member_id: str | None = None,
        text: str | None = None,
        reply_to: str | None = None,
        mentions: list[str] | None = None,
        attachment_kind: str | None = None,
        join_method: str | None = None,
        extra: dict[str, Any] | None = None,
        topic_id: str | None = None,
    ) -> None:
        """One event of this message about ``who``, at its time and in its topic.

        Keyed on the message id and written with it as ``platform_id`` unless told
        otherwise: every event a message states is one fact of that message.
        """
        self.rows.add(
            str(kind),
            self.ctx.group_id,
            self.ts,
            self.line,
            key_parts=(self.id,) if key_parts is None else key_parts,
            ts_raw=self.ts_raw,
            platform_id=self.id if platform_id is None else platform_id,
            member_id=None if who is None else who.id,
            member_name=None if who is None else who.name,
            by_member_id=by_member_id,
            text=text,
            reply_to=reply_to,
            mentions=mentions,
            attachment_kind=attachment_kind,
            is_bot=who is not None and who.is_bot,
            join_method=join_method,
            extra=dump_extra(extra),
            topic_id=self.ctx.topic_id if topic_id is None else topic_id,
        )


Handler = Callable[[_Message], None]


def _posted(msg: _Message) -> None:
    m = msg.data
    extra: dict[str, Any] = {}
    if m.get("timestampEdited"):
        edited, _ = parse_time(m.get("timestampEdited"), "timestampEdited", msg.ctx.timezone)
        extra["edited"] = True
        extra["edited_at"] = edited.isoformat() + "Z"
    if m.get("isPinned") is True:
        extra["pinned"] = True
    files = _list(m, "attachments")
    kinds = [
        attachment_kind(a["fileName"])
        for a in files
        if isinstance(a, dict) and isinstance(a.get("fileName"), str)
    ]
    stickers = _list(m, "stickers")
    if len(kinds) > 1:
        extra["attachments"] = kinds
    if stickers:
        extra["stickers"] = [s.get("name") for s in stickers if isinstance(s, dict)]
    embeds = _list(m, "embeds")
    if embeds:
        extra["embeds"] = len(embeds)
    interaction = m.get("interaction")
    if isinstance(interaction, dict):
        user = interaction.get("user")
        extra["interaction"] = {
            "name": interaction.get("name"),
            "user_id": user.get("id") if isinstance(user, dict) else None,
        }
    if msg.type not in ("Default", "Reply"):
        extra["type"] = msg.type
    content = m.get("content")
    msg.add(
        EventKind.MESSAGE_POSTED,
        msg.author,
        text=content if isinstance(content, str) and content != "" else None,
        reply_to=_ref(m),
        mentions=[u.id for u in _mentions(m)],
        attachment_kind=kinds[0] if kinds else ("sticker" if stickers else None),
        extra=extra,
    )
    reactions = m.get("reactions")
    if isinstance(reactions, list):
        for j, reaction in enumerate(reactions):
            _reaction(msg, reaction, j)


def _reaction(msg: _Message, reaction: object, j: int) -> None:
    """One row per listed reactor; one row (member null, the count in extra) when DCE
    wrote only a count (versions before reactors were exported)."""
    field = f"reactions[{j}]"
    if not isinstance(reaction, dict) or not isinstance(reaction.get("emoji"), dict):
        raise RecordError(f"{field}.emoji: missing")
    key, name = _emoji_key(reaction["emoji"])
    users = reaction.get("users")
    named = {"emoji": name, "emoji_id": key if key != name else None}
    common = {k: v for k, v in named.items() if v is not None}
    if isinstance(users, list) and users:
        for k, raw in enumerate(users):
            user = User.parse(raw, f"{field}.users[{k}]")
            msg.add(
                EventKind.REACTION_ADDED,
                user,
                key_parts=(msg.id, key, user.id),
                reply_to=msg.id,
                extra=common,
            )
        return
    msg.add(
        EventKind.REACTION_ADDED,
        None,
        key_parts=(msg.id, key, ""),
        reply_to=msg.id,
        extra={**common, "count": reaction.get("count")},
    )


def _member_join(msg: _Message) -> None:
    """GuildMemberJoin: Discord does not say how (invite, discovery, vanity URL …)."""
    msg.add(
        EventKind.MEMBER_JOINED,
        msg.author,
        key_parts=(msg.id, msg.author.id),
        join_method=str(JoinMethod.UNKNOWN),
    )


def _recipient(msg: _Message) -> None:
    """RecipientAdd / RecipientRemove: the member added or removed is ``mentions[0]``."""
    mentioned = _mentions(msg.data)
    if not mentioned:
        _system_notice(msg)
        return
    who, author = mentioned[0], msg.author
    if msg.type == "RecipientAdd":
        event, by, how = EventKind.MEMBER_JOINED, author.id, str(JoinMethod.ADDED)
    elif who.id == author.id:
        event, by, how = EventKind.MEMBER_LEFT, None, None
    else:
        event, by, how = EventKind.MEMBER_REMOVED, author.id, None
    msg.add(event, who, key_parts=(msg.id, who.id), by_member_id=by, join_method=how)


def _pinned(msg: _Message) -> None:
    """ChannelPinnedMessage: the author pinned the message its ``reference`` names."""
    msg.add(
        EventKind.MESSAGE_PINNED, msg.author, by_member_id=msg.author.id, reply_to=_ref(msg.data)
    )


def _thread_created(msg: _Message) -> None:
    """ThreadCreated: a topic_created for the thread ``reference.channelId`` names."""
    ctx = msg.ctx
    thread = _ref(msg.data, "channelId")
    if thread is None or thread == ctx.header.channel_id:
        _system_notice(msg)
        return
    if (ctx.group_id, thread) in ctx.seen_topics:
        return
    ctx.seen_topics.add((ctx.group_id, thread))
    known = ctx.channels.get(thread)
    content = msg.data.get("content")
    name = known.channel_name if known else None
    if name is None and isinstance(content, str) and content not in ("", _THREAD_FALLBACK):
        name = content  # DCE before 2.40 wrote the thread's name as the content
    extra = {
        "type": known.channel_type if known else "thread",
        "parent_id": ctx.header.channel_id,
        "parent": ctx.header.channel_name,
        "message_id": msg.id,
    }
    msg.add(
        EventKind.TOPIC_CREATED,
        msg.author,
        key_parts=(thread,),
        platform_id=thread,
        text=name,
        extra=extra,
        topic_id=thread,
    )


def _renamed(msg: _Message) -> None:
    """ChannelNameChange: a group DM's rename is the group's; a thread's is its topic's."""
    content = msg.data.get("content") if isinstance(msg.data.get("content"), str) else ""
    assert isinstance(content, str)
    if content.startswith(_RENAME_PREFIX):
        rest = content[len(_RENAME_PREFIX) :]
        new = rest[2:] if rest.startswith(": ") else None
    else:
        new = content or None  # older DCE: the new name itself
    if msg.ctx.header.is_direct:
        event, extra = EventKind.GROUP_RENAMED, None
    else:
        event, extra = EventKind.SYSTEM_NOTICE, {"action": "topic_renamed", "name": new}
    msg.add(event, msg.author, text=new, extra=extra)


def _icon(msg: _Message) -> None:
    if not msg.ctx.header.is_direct:
        _system_notice(msg)
        return
    msg.add(EventKind.GROUP_ICON_CHANGED, msg.author)


def _system_notice(msg: _Message) -> None:
    """Calls and every kind shequn has no event for: kept, never counted as a message."""
    m = msg.data
    extra: dict[str, Any] = {"type": msg.type}
    if msg.type == "Call" and isinstance(m.get("callEndedTimestamp"), str):
        ended, _ = parse_time(m["callEndedTimestamp"], "callEndedTimestamp", msg.ctx.timezone)
        extra["ended_at"] = ended.isoformat() + "Z"
    content = m.get("content")
    msg.add(
        EventKind.SYSTEM_NOTICE,
        msg.author,
        text=content if isinstance(content, str) and content else None,
        extra=extra,
    )


_HANDLERS: Final[dict[str, Handler]] = {
    "GuildMemberJoin": _member_join,
    "RecipientAdd": _recipient,
    "RecipientRemove": _recipient,
    "ChannelPinnedMessage": _pinned,
    "ThreadCreated": _thread_created,
    "ChannelNameChange": _renamed,
    "ChannelIconChange": _icon,
}
