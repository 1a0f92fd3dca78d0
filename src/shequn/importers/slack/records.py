"""Turning one Slack message record (an element of a day file) into event rows.

Every record of a day file is a ``"type": "message"``; its ``subtype`` says what it is
(Slack's "message event subtypes"):

posts       no subtype, ``thread_broadcast``, ``file_share``, ``me_message``,
            ``bot_message``, ``slackbot_response`` → ``message_posted`` (+ reactions)
members     ``channel_join``/``group_join`` → ``member_joined`` (``inviter`` → added by),
            ``channel_leave``/``group_leave`` → ``member_left``
channel     ``channel_purpose`` → description, ``channel_topic``/``channel_archive``/
            ``channel_unarchive`` → settings, ``channel_name`` → renamed
pins        ``pinned_item`` → ``message_pinned``
deletions   ``tombstone`` (a deleted thread parent), ``message_deleted`` → ``message_deleted``;
            ``message_changed`` → ``message_edited``
anything else (bot_add, reminder_add, huddle_thread, hidden records …) → ``system_notice``.

A record that cannot be read raises :class:`BadRecord` naming the field; the caller
turns it into a reject and reads on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from shequn.events import AttachmentKind, EventKind, JoinMethod
from shequn.importers.columns import EventColumns, dump_extra

PLATFORM: Final = "slack"

POSTS: Final = frozenset(
    {"thread_broadcast", "reply_broadcast", "file_share", "me_message", "bot_message",
     "slackbot_response"}
)  # fmt: skip
JOINS: Final = frozenset({"channel_join", "group_join"})
LEAVES: Final = frozenset({"channel_leave", "group_leave"})
PURPOSES: Final = frozenset({"channel_purpose", "group_purpose"})
TOPICS: Final = frozenset({"channel_topic", "group_topic"})
RENAMES: Final = frozenset({"channel_name", "group_name"})
ARCHIVES: Final = {
    "channel_archive": "archived",
    "group_archive": "archived",
    "channel_unarchive": "unarchived",
    "group_unarchive": "unarchived",
}

_TS: Final = re.compile(r"^(\d{1,12})(?:\.(\d{1,6}))?$")
_MENTION: Final = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_UPLOAD_NOTICE: Final = re.compile(r"^<@[^>]+> (?:uploaded|shared|commented on) ")
_PERMALINK: Final = re.compile(r"/p(\d{10})(\d{6})(?:\b|$)")

_FILETYPES: Final = {
    **dict.fromkeys(("jpg", "jpeg", "png", "heic", "webp", "bmp", "svg", "tiff"), "image"),
    "gif": "gif",
    **dict.fromkeys(("mp4", "mov", "webm", "mkv", "avi", "m4v"), "video"),
    **dict.fromkeys(("mp3", "m4a", "wav", "ogg", "aac", "flac", "opus"), "audio"),
    "vcard": "contact",
}


class BadRecord(Exception):
    """A record this importer cannot read: ``field`` is the JSON path inside the record."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def parse_ts(value: Any) -> int | None:
    """Microseconds since the epoch of a Slack ``ts`` ("1704441600.000200"), else None."""
    if not isinstance(value, str):
        return None
    m = _TS.match(value)
    if m is None:
        return None
    frac = m.group(2) or ""
    return int(m.group(1)) * 1_000_000 + int(frac.ljust(6, "0"))


def mentions_in(text: str | None) -> list[str] | None:
    """User ids mentioned with Slack's ``<@U123>`` / ``<@U123|name>`` markup, in order."""
    if not text or "<@" not in text:
        return None
    found = list(dict.fromkeys(_MENTION.findall(text)))
    return found or None


def attachment_kind(file: dict[str, Any]) -> str:
    """The attachment kind of one entry of ``files[]`` (from mimetype, then filetype)."""
    if file.get("subtype") == "slack_audio":  # a recorded audio clip
        return str(AttachmentKind.VOICE)
    mimetype = str(file.get("mimetype") or "").lower()
    filetype = str(file.get("filetype") or "").lower()
    if mimetype == "image/gif" or filetype == "gif":
        return str(AttachmentKind.GIF)
    for prefix, kind in (("image/", "image"), ("video/", "video"), ("audio/", "audio")):
        if mimetype.startswith(prefix):
            return kind
    if mimetype in ("text/vcard", "text/x-vcard") or filetype == "vcard":
        return str(AttachmentKind.CONTACT)
    if filetype in _FILETYPES:
        return _FILETYPES[filetype]
    if not mimetype and not filetype:  # deleted ("tombstone") or hidden_by_limit files
        return str(AttachmentKind.MEDIA)
    return str(AttachmentKind.DOCUMENT)


#: ``users.json`` flags → role, the first flag set wins (an owner is an admin too)
_ROLES: Final = (
    ("is_primary_owner", "primary_owner"),
    ("is_owner", "owner"),
    ("is_admin", "admin"),
    ("is_bot", "bot"),
    ("is_ultra_restricted", "single_channel_guest"),
    ("is_restricted", "guest"),
)


@dataclass
class UserInfo:
    """What ``users.json`` says about one member."""

    name: str | None
    real_name: str | None
    username: str | None
    is_bot: bool
    deleted: bool
    role: str


def user_info(user: dict[str, Any]) -> UserInfo:
    """One ``users.json`` entry, reduced to what events carry."""
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    real = _text(profile.get("real_name")) or _text(user.get("real_name"))
    display = _text(profile.get("display_name")) or real or _text(user.get("name"))
    role = next((role for flag, role in _ROLES if user.get(flag)), "member")
    return UserInfo(
        name=display,
        real_name=real,
        username=_text(user.get("name")),
        is_bot=bool(user.get("is_bot")),
        deleted=bool(user.get("deleted")),
        role=role,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class Names:
    """Display names: ``users.json`` first, else the last ``user_profile`` a record carried."""

    users: dict[str, UserInfo] = field(default_factory=dict)
    learned: dict[str, str] = field(default_factory=dict)

    def current(self, user_id: str | None) -> str | None:
        """The name now (reactions, inviters, the roster): users.json, else learned."""
        if user_id is None:
            return None
        info = self.users.get(user_id)
        if info is not None and info.name:
            return info.name
        return self.learned.get(user_id)

    def listed(self, user_id: str | None) -> str | None:
        """Only what users.json says (rows whose record writes no name)."""
        info = self.users.get(user_id) if user_id is not None else None
        return info.name if info is not None else None

    def of_record(self, rec: dict[str, Any], user_id: str | None) -> str | None:
        """The name the record itself writes (``user_profile``), else users.json."""
        profile = rec.get("user_profile")
        if isinstance(profile, dict):
            name = (
                _text(profile.get("display_name"))
                or _text(profile.get("real_name"))
                or _text(profile.get("name"))
            )
            if name is not None:
                if user_id is not None:
                    self.learned[user_id] = name
                return name
        return self.listed(user_id)

    def is_bot(self, user_id: str | None) -> bool:
        info = self.users.get(user_id) if user_id is not None else None
        return info is not None and info.is_bot


@dataclass
class Row:
    """One event before keys and constant columns are added."""

    kind: str
    ts: int
    platform_id: str | None
    member_id: str | None
    member_name: str | None = None
    by_member_id: str | None = None
    text: str | None = None
    reply_to: str | None = None
    mentions: list[str] | None = None
    attachment_kind: str | None = None
    is_bot: bool = False
    join_method: str | None = None
    extra: str | None = None
    topic_id: str | None = None
    more: tuple[str | None, ...] = ()


class RecordReader:
    """Reads message records of one export; keeps the names it learns on the way."""

    def __init__(self, names: Names) -> None:
        self.names = names

    def read(self, rec: Any) -> list[Row]:
        """The rows of one day-file record; raises BadRecord."""
        if not isinstance(rec, dict):
            raise BadRecord("", "not a JSON object")
        rtype = rec.get("type", "message")
        if rtype != "message":
            raise BadRecord("type", f"{rtype!r} is not a message record")
        ts = parse_ts(rec.get("ts"))
        if ts is None:
            raise BadRecord("ts", f"{rec.get('ts')!r} is not a Slack timestamp")
        platform_id: str = rec["ts"]
        subtype = rec.get("subtype") or ""
        if not isinstance(subtype, str):
            raise BadRecord("subtype", "not a string")
        user = rec.get("user")
        if user is not None and not isinstance(user, str):
            raise BadRecord("user", "not a string")
        if subtype == "tombstone":
            return [
                Row(str(EventKind.MESSAGE_DELETED), ts, platform_id, None,
                    reply_to=platform_id, topic_id=_thread(rec))
            ]  # fmt: skip
        if subtype == "message_deleted":
            prev = rec.get("previous_message")
            who = prev.get("user") if isinstance(prev, dict) else None
            deleted = rec.get("deleted_ts")
            who = who if isinstance(who, str) else None
            return [
                Row(str(EventKind.MESSAGE_DELETED), ts, platform_id, who, self.names.current(who),
                    reply_to=deleted if isinstance(deleted, str) else None)
            ]  # fmt: skip
        if subtype == "message_changed":
            return [self._changed(rec, ts, platform_id)]
        if rec.get("hidden") and subtype not in POSTS:
            return [self._notice(rec, ts, platform_id, user, subtype)]
        if not subtype or subtype in POSTS:
            return self._post(rec, ts, platform_id, user, subtype)
        if user is None:
            raise BadRecord("user", "missing")
        name = self.names.of_record(rec, user)
        if subtype in JOINS:
            inviter = rec.get("inviter")
            if inviter is not None and not isinstance(inviter, str):
                raise BadRecord("inviter", "not a string")
            method = JoinMethod.ADDED if inviter else JoinMethod.UNKNOWN
            return [
                Row(str(EventKind.MEMBER_JOINED), ts, platform_id, user, name,
                    by_member_id=inviter or None, join_method=str(method))
            ]  # fmt: skip
        if subtype in LEAVES:
            return [Row(str(EventKind.MEMBER_LEFT), ts, platform_id, user, name)]
        if subtype in PURPOSES:
            value = rec.get("purpose", rec.get("text"))
            return [
                Row(str(EventKind.GROUP_DESCRIPTION_CHANGED), ts, platform_id, user, name,
                    text=_text(value))
            ]  # fmt: skip
        if subtype in TOPICS:
            value = rec.get("topic", rec.get("text"))
            return [
                Row(str(EventKind.GROUP_SETTINGS_CHANGED), ts, platform_id, user, name,
                    text=_text(value), extra=dump_extra({"setting": "topic"}))
            ]  # fmt: skip
        if subtype in RENAMES:
            return [
                Row(str(EventKind.GROUP_RENAMED), ts, platform_id, user, name,
                    text=_text(rec.get("name")), extra=dump_extra({"old": rec.get("old_name")}))
            ]  # fmt: skip
        if subtype in ARCHIVES:
            return [
                Row(str(EventKind.GROUP_SETTINGS_CHANGED), ts, platform_id, user, name,
                    extra=dump_extra({"setting": ARCHIVES[subtype]}))
            ]  # fmt: skip
        if subtype == "pinned_item":
            item_type = rec.get("item_type")
            shown = {"item_type": item_type} if item_type not in (None, "C") else {}
            return [
                Row(str(EventKind.MESSAGE_PINNED), ts, platform_id, user, name,
                    by_member_id=user, reply_to=pinned_ts(rec), extra=dump_extra(shown))
            ]  # fmt: skip
        return [self._notice(rec, ts, platform_id, user, subtype)]

    # -- kinds ------------------------------------------------------------------
    def _post(
        self, rec: dict[str, Any], ts: int, platform_id: str, user: str | None, subtype: str
    ) -> list[Row]:
        bot_id = rec.get("bot_id")
        if bot_id is not None and not isinstance(bot_id, str):
            raise BadRecord("bot_id", "not a string")
        extra: dict[str, Any] = {}
        if bot_id:
            member: str = bot_id
            profile = rec.get("bot_profile")
            name = (
                (_text(profile.get("name")) if isinstance(profile, dict) else None)
                or _text(rec.get("username"))
                or self.names.listed(user)
            )
            is_bot = True
            if user and user != bot_id:
                extra["user"] = user
        elif user:
            member = user
            name = self.names.of_record(rec, user)
            is_bot = subtype == "bot_message" or self.names.is_bot(user)
        else:
            raise BadRecord("user", "missing (a post needs a user or a bot_id)")
        files = _files(rec)
        text = rec.get("text")
        if text is not None and not isinstance(text, str):
            raise BadRecord("text", "not a string")
        if "file" in rec and text and _UPLOAD_NOTICE.match(text):
            # old exports: the text is Slack's upload notice; the poster's words are the
            # file's initial comment
            comment = files[0].get("initial_comment") if files else None
            text = comment.get("comment") if isinstance(comment, dict) else None
        kind = attachment_kind(files[0]) if files else None
        if len(files) > 1:
            extra["files"] = len(files)
        if isinstance(rec.get("edited"), dict):
            extra["edited"] = True
        if subtype in ("thread_broadcast", "reply_broadcast"):
            extra["broadcast"] = True
        thread = _thread(rec)
        reply_to = thread if thread is not None and thread != platform_id else None
        post = Row(
            str(EventKind.MESSAGE_POSTED), ts, platform_id, member, name,
            text=_text(text), reply_to=reply_to, mentions=mentions_in(_text(text)),
            attachment_kind=kind, is_bot=is_bot, extra=dump_extra(extra), topic_id=thread,
        )  # fmt: skip
        return [post, *self._reactions(rec, ts, platform_id, thread)]

    def _reactions(
        self, rec: dict[str, Any], ts: int, platform_id: str, thread: str | None
    ) -> list[Row]:
        reactions = rec.get("reactions")
        if reactions is None:
            return []
        if not isinstance(reactions, list):
            raise BadRecord("reactions", "not a list")
        rows: list[Row] = []
        for i, reaction in enumerate(reactions):
            where = f"reactions[{i}]"
            if not isinstance(reaction, dict) or not isinstance(reaction.get("name"), str):
                raise BadRecord(where, "not a reaction with a name")
            emoji: str = reaction["name"]
            users = reaction.get("users", [])
            if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
                raise BadRecord(f"{where}.users", "not a list of user ids")
            count = reaction.get("count", len(users))
            if not isinstance(count, int) or isinstance(count, bool):
                raise BadRecord(f"{where}.count", "not an integer")
            for reactor in dict.fromkeys(users):
                rows.append(
                    Row(str(EventKind.REACTION_ADDED), ts, None, reactor,
                        self.names.current(reactor), reply_to=platform_id,
                        is_bot=self.names.is_bot(reactor), extra=dump_extra({"emoji": emoji}),
                        topic_id=thread, more=(platform_id, reactor, emoji))
                )  # fmt: skip
            unlisted = count - len(set(users))
            if unlisted > 0:  # Slack lists only the first reactors of a popular emoji
                rows.append(
                    Row(str(EventKind.REACTION_ADDED), ts, None, None, reply_to=platform_id,
                        extra=dump_extra({"emoji": emoji, "unlisted": unlisted}),
                        topic_id=thread, more=(platform_id, None, emoji))
                )  # fmt: skip
        return rows

    def _changed(self, rec: dict[str, Any], ts: int, platform_id: str) -> Row:
        message = rec.get("message")
        if not isinstance(message, dict):
            raise BadRecord("message", "missing (message_changed without the new message)")
        who = message.get("user")
        text = message.get("text")
        target = message.get("ts")
        return Row(
            str(EventKind.MESSAGE_EDITED), ts, platform_id,
            who if isinstance(who, str) else None,
            self.names.listed(who) if isinstance(who, str) else None,
            text=_text(text), reply_to=target if isinstance(target, str) else None,
        )  # fmt: skip

    def _notice(
        self, rec: dict[str, Any], ts: int, platform_id: str, user: str | None, subtype: str
    ) -> Row:
        name = self.names.of_record(rec, user) if user else None
        extra: dict[str, Any] = {"subtype": subtype or None}
        if rec.get("hidden"):
            extra["hidden"] = True
        return Row(
            str(EventKind.SYSTEM_NOTICE), ts, platform_id, user, name,
            text=_text(rec.get("text")),
            is_bot=self.names.is_bot(user) if user else bool(rec.get("bot_id")),
            extra=dump_extra(extra),
        )  # fmt: skip


def _thread(rec: dict[str, Any]) -> str | None:
    thread = rec.get("thread_ts")
    if thread is None:
        return None
    if parse_ts(thread) is None:
        raise BadRecord("thread_ts", f"{thread!r} is not a Slack timestamp")
    return str(thread)


def _files(rec: dict[str, Any]) -> list[dict[str, Any]]:
    files = rec.get("files")
    if files is None:
        single = rec.get("file")  # exports before 2019: one "file" with subtype file_share
        files = [single] if single is not None else []
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise BadRecord("files", "not a list of file objects")
    return files


def pinned_ts(rec: dict[str, Any]) -> str | None:
    """The ts of the message a ``pinned_item`` record pins, where the record says it."""
    item = rec.get("item")
    if isinstance(item, dict):
        message = item.get("message")
        if isinstance(message, dict) and parse_ts(message.get("ts")) is not None:
            return str(message["ts"])
        if parse_ts(item.get("ts")) is not None:
            return str(item["ts"])
    attachments = rec.get("attachments")
    for att in attachments if isinstance(attachments, list) else []:
        if not isinstance(att, dict):
            continue
        if parse_ts(att.get("ts")) is not None:
            return str(att["ts"])
        for url_field in ("from_url", "original_url"):
            url = att.get(url_field)
            m = _PERMALINK.search(url) if isinstance(url, str) else None
            if m:
                return f"{m.group(1)}.{m.group(2)}"
    return None


def add_row(events: EventColumns, row: Row, group_id: str, line: int) -> None:
    """Append one row to a batch.

    A row without a platform id (a reaction, a roster entry) is keyed on its member too,
    unless ``row.more`` says what tells it apart.
    """
    more = row.more or ((row.member_id,) if row.platform_id is None else ())
    events.add(
        row.kind,
        group_id,
        row.ts,
        line,
        key_parts=(row.platform_id, *more),
        platform_id=row.platform_id,
        member_id=row.member_id,
        member_name=row.member_name,
        by_member_id=row.by_member_id,
        text=row.text,
        reply_to=row.reply_to,
        mentions=row.mentions,
        attachment_kind=row.attachment_kind,
        is_bot=row.is_bot,
        join_method=row.join_method,
        extra=row.extra,
        topic_id=row.topic_id,
    )
