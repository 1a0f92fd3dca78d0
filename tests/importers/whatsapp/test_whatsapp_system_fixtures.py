"""Every language × system-event fixture, through the whole importer.

``expected.json`` beside each language's fixtures says which system lines each file
holds (written with the table, checked against real exports where sources exist);
here the importer must turn them into the right events: kind, who, by whom, how.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shequn.identity import identity_of
from shequn.importers.base import ImportSettings
from shequn.importers.whatsapp import WhatsAppImporter

SYSTEM = Path(__file__).parents[2] / "fixtures" / "whatsapp" / "system"
ME = "Exporter Self"

KINDS = {
    "added": "member_joined",
    "joined_via_link": "member_joined",
    "joined_from_community": "member_joined",
    "removed": "member_removed",
    "left": "member_left",
    "group_created": "group_created",
    "subject_changed": "group_renamed",
    "description_changed": "group_description_changed",
    "icon_changed": "group_icon_changed",
    "icon_deleted": "group_icon_changed",
    "number_changed": "member_number_changed",
    "security_code_changed": "security_notice",
    "encryption_notice": "system_notice",
}
METHODS = {"added": "added", "joined_via_link": "invite_link", "joined_from_community": "community"}


def cases() -> list[tuple[str, str]]:
    return [
        (lang.name, name)
        for lang in sorted(SYSTEM.iterdir())
        if lang.is_dir()
        for name in sorted(json.loads((lang / "expected.json").read_text("utf-8")))
    ]


def expected_events(spec: dict[str, Any]) -> list[tuple[str, str | None, str | None, str | None]]:
    """(kind, member, by, join method) the importer must produce for one system line."""
    event, you = spec["event"], spec.get("you")
    me = identity_of(ME)
    actor = me if you == "actor" else identity_of(spec["actor"]) if spec.get("actor") else None
    kind, method = KINDS[event], METHODS.get(event)
    if event == "added":
        members = [me] if you == "member" else [identity_of(m) for m in spec["members"]]
        return [(kind, m, actor, method) for m in members]
    if event == "number_changed":
        old = spec.get("old") or spec.get("member")
        return [(kind, identity_of(old), None, None)]
    if event == "encryption_notice":
        return [(kind, None, None, None)]
    if event in ("joined_via_link", "joined_from_community", "left", "security_code_changed"):
        member = me if you == "member" else identity_of(spec["member"])
        return [(kind, member, None, method)]
    if event == "removed":
        member = me if you == "member" else identity_of(spec["member"])
        return [(kind, member, actor, None)]
    return [(kind, actor, None, None)]


@pytest.mark.parametrize(("lang", "name"), cases(), ids=lambda v: str(v))
def test_fixture_imports_as_its_events(lang: str, name: str) -> None:
    specs = json.loads((SYSTEM / lang / "expected.json").read_text("utf-8"))[name]
    importer = WhatsAppImporter(SYSTEM / lang / name)
    events: list[dict[str, Any]] = []
    for batch in importer.batches(ImportSettings(timezone="UTC", me=ME)):
        assert batch.rejects == []
        events.extend(batch.events.to_pylist())
    system = sorted(
        (e for e in events if e["kind"] != "message_posted"),
        key=lambda e: (e["source_line"], e["key"]),
    )
    got = [(e["kind"], e["member_id"], e["by_member_id"], e["join_method"]) for e in system]
    want = [event for spec in specs for event in expected_events(spec)]
    assert sorted(got, key=str) == sorted(want, key=str)
    assert importer.language == lang
    messages = [e for e in events if e["kind"] == "message_posted"]
    assert len(messages) == 1  # the ordinary line each fixture starts with
