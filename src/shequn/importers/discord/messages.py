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
from shequn.importers.discord.rows import RecordError, Rows, parse_time
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


def add_message(rows: Rows, ctx: ChannelContext, message: object, line: int, index: int) -> None:
    """Append the events of ``messages[index]`` (raises RecordError naming the field)."""
    if not isinstance(message, dict):
        raise RecordError("not an object")
    mid = message.get("id")
    if not isinstance(mid, str | int) or not str(mid).isdigit():
        raise RecordError("id: missing or not a snowflake")
    mid = str(mid)
    kind = message.get("type")
    if not isinstance(kind, str | int):
        raise RecordError("type: missing")
    kind = str(kind)
    ts, ts_raw = parse_time(message.get("timestamp"), "timestamp", ctx.timezone)
    author = User.parse(message.get("author"), "author")
    handler = _HANDLERS.get(kind, _system_notice)
    if kind in POST_TYPES:
        handler = _posted
    handler(rows, ctx, message, mid, kind, ts, ts_raw, author, line)


Handler = Callable[
    [Rows, ChannelContext, dict[str, Any], str, str, datetime, "str | None", User, int], None
]


def _posted(
    rows: Rows,
    ctx: ChannelContext,
    m: dict[str, Any],
    mid: str,
    kind: str,
    ts: datetime,
    ts_raw: str | None,
    author: User,
    line: int,
) -> None:
    extra: dict[str, Any] = {}
    if m.get("timestampEdited"):
        edited, _ = parse_time(m.get("timestampEdited"), "timestampEdited", ctx.timezone)
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
    if kind not in ("Default", "Reply"):
        extra["type"] = kind
    content = m.get("content")
    text = content if isinstance(content, str) and content != "" else None
    attachment = kinds[0] if kinds else ("sticker" if stickers else None)
    rows.add(
        str(EventKind.MESSAGE_POSTED),
        ctx.group_id,
        ts,
        line,
        key_parts=(mid,),
        ts_raw=ts_raw,
        platform_id=mid,
        member_id=author.id,
        member_name=author.name,
        text=text,
        reply_to=_ref(m),
        mentions=[u.id for u in _mentions(m)],
        attachment_kind=attachment,
        is_bot=author.is_bot,
        extra=extra,
        topic_id=ctx.topic_id,
    )
    reactions = m.get("reactions")
    if isinstance(reactions, list):
        for j, reaction in enumerate(reactions):
            _reaction(rows, ctx, reaction, j, mid, ts, ts_raw, line)


def _reaction(
    rows: Rows,
    ctx: ChannelContext,
    reaction: object,
    j: int,
    mid: str,
    ts: datetime,
    ts_raw: str | None,
    line: int,
) -> None:
    """One row per listed reactor; one row (member null, the count in extra) when DCE
    wrote only a count (versions before reactors were exported)."""
    field = f"reactions[{j}]"
    if not isinstance(reaction, dict) or not isinstance(reaction.get("emoji"), dict):
        raise RecordError(f"{field}.emoji: missing")
    key, name = _emoji_key(reaction["emoji"])
    count = reaction.get("count")
    users = reaction.get("users")
    common = {"emoji": name, "emoji_id": key if key != name else None}
    if isinstance(users, list) and users:
        for k, raw in enumerate(users):
            user = User.parse(raw, f"{field}.users[{k}]")
            rows.add(
                str(EventKind.REACTION_ADDED),
                ctx.group_id,
                ts,
                line,
                key_parts=(mid, key, user.id),
                ts_raw=ts_raw,
                platform_id=mid,
                member_id=user.id,
                member_name=user.name,
                reply_to=mid,
                is_bot=user.is_bot,
                extra={k2: v for k2, v in common.items() if v is not None},
                topic_id=ctx.topic_id,
            )
        return
    extra = {**{k2: v for k2, v in common.items() if v is not None}, "count": count}
    rows.add(
        str(EventKind.REACTION_ADDED),
        ctx.group_id,
        ts,
        line,
        key_parts=(mid, key, ""),
        ts_raw=ts_raw,
        platform_id=mid,
        reply_to=mid,
        extra=extra,
        topic_id=ctx.topic_id,
    )


def _member_join(
    rows: Rows,
    ctx: ChannelContext,
    m: dict[str, Any],
    mid: str,
    kind: str,
    ts: datetime,
    ts_raw: str | None,
    author: User,
    line: int,
) -> None:
    """GuildMemberJoin: Discord does not say how (invite, discovery, vanity URL …)."""
    rows.add(
        str(EventKind.MEMBER_JOINED),
        ctx.group_id,
        ts,
        line,
        key_parts=(mid, author.id),
        ts_raw=ts_raw,
        platform_id=mid,
        member_id=author.id,
        member_name=author.name,
        is_bot=author.is_bot,
        join_method=str(JoinMethod.UNKNOWN),
        topic_id=ctx.topic_id,
    )


def _recipient(
    rows: Rows,
    ctx: ChannelContext,
    m: dict[str, Any],
    mid: str,
    kind: str,
    ts: datetime,
    ts_raw: str | None,
    author: User,
    line: int,
) -> None:
    """RecipientAdd / RecipientRemove: the member added or removed is ``mentions[0]``."""
    mentioned = _mentions(m)
    if not mentioned:
        _system_notice(rows, ctx, m, mid, kind, ts, ts_raw, author, line)
        return
    who = mentioned[0]
    if kind == "RecipientAdd":
        event, by, how = EventKind.MEMBER_JOINED, author.id, str(JoinMethod.ADDED)
    elif who.id == author.id:
        event, by, how = EventKind.MEMBER_LEFT, None, None
    else:
        event, by, how = EventKind.MEMBER_REMOVED, author.id, None
    rows.add(
        str(event),
        ctx.group_id,
        ts,
        line,
        key_parts=(mid, who.id),
        ts_raw=ts_raw,
        platform_id=mid,
        member_id=who.id,
        member_name=who.name,
        by_member_id=by,
        is_bot=who.is_bot,
        join_method=how,
        topic_id=ctx.topic_id,
    )


def _pinned(
    rows: Rows,
    ctx: ChannelContext,
    m: dict[str, Any],
    mid: str,
    kind: str,
    ts: datetime,
    ts_raw: str | None,
    author: User,
    line: int,
) -> None:
    """ChannelPinnedMessage: the author pinned the message its ``reference`` names."""
    rows.add(
        str(EventKind.MESSAGE_PINNED),
        ctx.group_id,
        ts,
        line,
        key_parts=(mid,),
        ts_raw=ts_raw,
        platform_id=mid,
        member_id=author.id,
        member_name=author.name,
        by_member_id=author.id,
        reply_to=_ref(m),
        is_bot=author.is_bot,
        topic_id=ctx.topic_id,
    )


def _thread_created(
    rows: Rows,
    ctx: ChannelContext,
    m: dict[str, Any],
    mid: str,
    kind: str,
    ts: datetime,
    ts_raw: str | None,
    author: User,
    line: int,
) -> None:
    """ThreadCreated: a topic_created for the thread ``reference.channelId`` names."""
    thread = _ref(m, "channelId")
    if thread is None or thread == ctx.header.channel_id:
        _system_notice(rows, ctx, m, mid, kind, ts, ts_raw, author, line)
        return
    if (ctx.group_id, thread) in ctx.seen_topics:
        return
    ctx.seen_topics.add((ctx.group_id, thread))
    known = ctx.channels.get(thread)
    content = m.get("content")
    name = known.channel_name if known else None
    if name is None and isinstance(content, str) and content not in ("", _THREAD_FALLBACK):
        name = content  # DCE before 2.40 wrote the thread's name as the content
    extra = {
        "type": known.channel_type if known else "thread",
        "parent_id": ctx.header.channel_id,
        "parent": ctx.header.channel_name,
        "message_id": mid,
    }
    rows.add(
        str(EventKind.TOPIC_CREATED),
        ctx.group_id,
        ts,
        line,
        key_parts=(thread,),
        ts_raw=ts_raw,
        platform_id=thread,
        member_id=author.id,
        member_name=author.name,
        text=name,
        is_bot=author.is_bot,
        extra=extra,
        topic_id=thread,
    )


def _renamed(
    rows: Rows,
    ctx: ChannelContext,
    m: dict[str, Any],
    mid: str,
    kind: str,
    ts: datetime,
    ts_raw: str | None,
    author: User,
    line: int,
) -> None:
    """ChannelNameChange: a group DM's rename is the group's; a thread's is its topic's."""
    content = m.get("content") if isinstance(m.get("content"), str) else ""
    assert isinstance(content, str)
    if content.startswith(_RENAME_PREFIX):
        rest = content[len(_RENAME_PREFIX) :]
        new = rest[2:] if rest.startswith(": ") else None
    else:
        new = content or None  # older DCE: the new name itself
    if ctx.header.is_direct:
        event, extra = EventKind.GROUP_RENAMED, None
    else:
        event, extra = EventKind.SYSTEM_NOTICE, {"action": "topic_renamed", "name": new}
    rows.add(
        str(event),
        ctx.group_id,
        ts,
        line,
        key_parts=(mid,),
        ts_raw=ts_raw,
        platform_id=mid,
        member_id=author.id,
        member_name=author.name,
        text=new,
        is_bot=author.is_bot,
        extra=extra,
        topic_id=ctx.topic_id,
    )


def _icon(
    rows: Rows,
    ctx: ChannelContext,
    m: dict[str, Any],
    mid: str,
    kind: str,
    ts: datetime,
    ts_raw: str | None,
    author: User,
    line: int,
) -> None:
    if not ctx.header.is_direct:
        _system_notice(rows, ctx, m, mid, kind, ts, ts_raw, author, line)
        return
    rows.add(
        str(EventKind.GROUP_ICON_CHANGED),
        ctx.group_id,
        ts,
        line,
        key_parts=(mid,),
        ts_raw=ts_raw,
        platform_id=mid,
        member_id=author.id,
        member_name=author.name,
        is_bot=author.is_bot,
        topic_id=ctx.topic_id,
    )


def _system_notice(
    rows: Rows,
    ctx: ChannelContext,
    m: dict[str, Any],
    mid: str,
    kind: str,
    ts: datetime,
    ts_raw: str | None,
    author: User,
    line: int,
) -> None:
    """Calls and every kind shequn has no event for: kept, never counted as a message."""
    extra: dict[str, Any] = {"type": kind}
    if kind == "Call" and isinstance(m.get("callEndedTimestamp"), str):
        ended, _ = parse_time(m["callEndedTimestamp"], "callEndedTimestamp", ctx.timezone)
        extra["ended_at"] = ended.isoformat() + "Z"
    content = m.get("content")
    rows.add(
        str(EventKind.SYSTEM_NOTICE),
        ctx.group_id,
        ts,
        line,
        key_parts=(mid,),
        ts_raw=ts_raw,
        platform_id=mid,
        member_id=author.id,
        member_name=author.name,
        text=content if isinstance(content, str) and content else None,
        is_bot=author.is_bot,
        extra=extra,
        topic_id=ctx.topic_id,
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
