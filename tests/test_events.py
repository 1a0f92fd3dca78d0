"""The event model: schema, natural keys and the public names."""

from __future__ import annotations

import hashlib
from types import ModuleType

import shequn
from shequn.events import EVENT_SCHEMA, KEY_SEPARATOR, EventKind, JoinMethod, natural_key


def test_natural_key_is_md5_of_the_parts_joined() -> None:
    expected = hashlib.md5(KEY_SEPARATOR.join(["g", "1", ""]).encode()).hexdigest()
    assert natural_key("g", 1, None) == expected
    assert natural_key("a", "b") != natural_key("b", "a")


def test_schema_carries_what_every_event_needs() -> None:
    required = {
        "key",
        "kind",
        "platform",
        "community",
        "group_id",
        "ts",
        "import_id",
        "schema_version",
        "is_bot",
    }
    for name in required:
        assert not EVENT_SCHEMA.field(name).nullable, name
    assert {
        "member_id",
        "by_member_id",
        "platform_id",
        "ts_raw",
        "source_line",
        "join_method",
        "invite_link",
        "amount",
        "currency",
        "mentions",
        "attachment_kind",
        "forwarded_from",
        "reply_to",
        "extra",
    } <= set(EVENT_SCHEMA.names)


def test_kinds_cover_the_model_the_later_capabilities_need() -> None:
    kinds = {k.value for k in EventKind}
    assert {
        "message_posted",
        "message_edited",
        "message_deleted",
        "member_joined",
        "member_left",
        "member_removed",
        "member_renamed",
        "reaction_added",
        "message_pinned",
        "group_created",
        "group_renamed",
        "topic_created",
        "poll_created",
        "join_requested",
        "join_decided",
        "check_in",
        "survey_answered",
        "order_placed",
        "action_taken",
    } <= kinds
    assert {m.value for m in JoinMethod} >= {
        "invite_link",
        "added",
        "request_approved",
        "qr_code",
        "unknown",
    }


def test_public_names_are_exactly_all() -> None:
    # submodules appear as attributes once something imported them; they are not API names
    exported = {
        name
        for name in dir(shequn)
        if not name.startswith("_") and not isinstance(getattr(shequn, name), ModuleType)
    }
    assert exported == set(shequn.__all__) - {"__version__"}
