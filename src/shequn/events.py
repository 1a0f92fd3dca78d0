"""The event model: one typed, versioned record for every fact shequn knows.

Everything that happens in a community is stored as an immutable event (DESIGN.md §1).
Importers and live connectors both produce *columnar batches* of events with
:data:`EVENT_SCHEMA` — per-event Python objects are far too slow for
million-message exports — and the store never needs to know where a batch came from.

One row is one fact about one member: "Alice added Bob and Carol" is two
``member_joined`` rows (member Bob / Carol, ``by_member_id`` Alice).

Column meanings
---------------
key             natural idempotency key (32 hex chars, md5 of :func:`natural_key` parts);
                storing the same fact twice stores it once
schema_version  :data:`SCHEMA_VERSION` of the producer
kind            an :class:`EventKind` value
platform        ``whatsapp``, ``telegram``, ``discord``, ``slack``, ``wechat``, …
community       the operator's community that owns the group
group_id        the group's identity on its platform (WhatsApp: the group's name)
ts              UTC timestamp, microseconds
ts_raw          the timestamp exactly as written in an export without ids (WhatsApp)
platform_id     the platform's own id for the event or message, where it has one
member_id       platform identity of the member the event is about (author, joiner, reactor…)
member_name     display name as written in the source
by_member_id    who did it to them: inviter/adder, remover, approver, pinner
text            message text (newlines kept), new name, poll question, survey answer
reply_to        platform id (or key) of the message replied to / reacted to / pinned
mentions        platform identities mentioned
attachment_kind an :class:`AttachmentKind` value, or null for plain text
forwarded_from  source of a forwarded message
is_bot          written by a bot
join_method     a :class:`JoinMethod` value for joins
invite_link     the invite link's id or name used to join
amount/currency an order's value
extra           JSON object with kind-specific details (poll options, decisions, actions)
import_id       the import (ledger row) that stored the event; 0 for live connectors
source_line     1-based line (or record) number in the source, for reports and round-trips
topic_id        the topic inside the group: a Discord channel or thread, a Telegram forum
                topic; null where the platform has none (added in schema version 2)
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Final

import pyarrow as pa

SCHEMA_VERSION: Final = 2


class EventKind(StrEnum):
    """What happened. Values are stored; never rename one."""

    MESSAGE_POSTED = "message_posted"
    MESSAGE_EDITED = "message_edited"
    MESSAGE_DELETED = "message_deleted"
    MEMBER_JOINED = "member_joined"
    MEMBER_LEFT = "member_left"
    MEMBER_REMOVED = "member_removed"
    MEMBER_RENAMED = "member_renamed"
    MEMBER_NUMBER_CHANGED = "member_number_changed"
    #: a member list (roster) says the member is in the group; ``ts`` is when they joined
    #: if the roster says so, else when the roster was taken
    MEMBER_LISTED = "member_listed"
    REACTION_ADDED = "reaction_added"
    MESSAGE_PINNED = "message_pinned"
    GROUP_CREATED = "group_created"
    GROUP_RENAMED = "group_renamed"
    GROUP_DESCRIPTION_CHANGED = "group_description_changed"
    GROUP_ICON_CHANGED = "group_icon_changed"
    GROUP_SETTINGS_CHANGED = "group_settings_changed"
    TOPIC_CREATED = "topic_created"
    POLL_CREATED = "poll_created"
    JOIN_REQUESTED = "join_requested"
    JOIN_DECIDED = "join_decided"
    CHECK_IN = "check_in"
    SURVEY_ANSWERED = "survey_answered"
    ORDER_PLACED = "order_placed"
    ACTION_TAKEN = "action_taken"
    SECURITY_NOTICE = "security_notice"
    SYSTEM_NOTICE = "system_notice"


class JoinMethod(StrEnum):
    """How a member came into a group."""

    INVITE_LINK = "invite_link"
    ADDED = "added"
    REQUEST_APPROVED = "request_approved"
    QR_CODE = "qr_code"
    COMMUNITY = "community"  # joined from the group's community (WhatsApp)
    UNKNOWN = "unknown"


class AttachmentKind(StrEnum):
    """Kinds of media a message can carry; exports often only say 'media omitted'."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    DOCUMENT = "document"
    STICKER = "sticker"
    GIF = "gif"
    CONTACT = "contact"
    LOCATION = "location"
    POLL = "poll"
    MEDIA = "media"  # the export hides which kind ("<Media omitted>")


EVENT_SCHEMA: Final = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("schema_version", pa.int16(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("platform", pa.string(), nullable=False),
        pa.field("community", pa.string(), nullable=False),
        pa.field("group_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us"), nullable=False),
        pa.field("ts_raw", pa.string()),
        pa.field("platform_id", pa.string()),
        pa.field("member_id", pa.string()),
        pa.field("member_name", pa.string()),
        pa.field("by_member_id", pa.string()),
        pa.field("text", pa.string()),
        pa.field("reply_to", pa.string()),
        pa.field("mentions", pa.list_(pa.string())),
        pa.field("attachment_kind", pa.string()),
        pa.field("forwarded_from", pa.string()),
        pa.field("is_bot", pa.bool_(), nullable=False),
        pa.field("join_method", pa.string()),
        pa.field("invite_link", pa.string()),
        pa.field("amount", pa.float64()),
        pa.field("currency", pa.string()),
        pa.field("extra", pa.string()),
        pa.field("import_id", pa.int64(), nullable=False),
        pa.field("source_line", pa.int64()),
        pa.field("topic_id", pa.string()),
    ]
)

EVENT_COLUMNS: Final = tuple(EVENT_SCHEMA.names)

KEY_SEPARATOR: Final = "\x1f"


def natural_key(*parts: object) -> str:
    """Idempotency key from the parts that identify a fact on its platform.

    Platforms with ids use (platform, group, kind, platform id). WhatsApp has no ids,
    so its importer uses (platform, community, group, timestamp as written, author
    identity, text), and (that key, n) for the n-th repeat; the bulk path computes the
    same md5 in SQL and ``tests/importers/whatsapp`` checks the two agree.
    """
    joined = KEY_SEPARATOR.join("" if p is None else str(p) for p in parts)
    return hashlib.md5(joined.encode("utf-8")).hexdigest()
