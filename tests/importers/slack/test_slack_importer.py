"""The Slack importer on a small hand-written export in Slack's real layout, one quirk at a time."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from shequn.errors import ImportFormatError
from shequn.events import natural_key
from shequn.importers import open_export
from shequn.importers.base import ImportSettings
from shequn.importers.slack import SlackImporter
from shequn.ingest import run_import
from shequn.store import Store

FIXTURES = Path(__file__).parents[2] / "fixtures" / "slack"
MAKERS = FIXTURES / "Makers Slack export Jan 5 2024 - Jan 6 2024"
BROKEN = FIXTURES / "broken"
WHATSAPP = Path(__file__).parents[2] / "fixtures" / "whatsapp" / "quirks"

A, B, C, D = "U01ALICE00", "U02BOB0000", "U03CAROL00", "U04DAVE000"
PARENT = "1704445500.000600"


def parse(path: Path, **settings: Any) -> tuple[SlackImporter, list[dict[str, Any]], list[Any]]:
    importer = SlackImporter(path)
    rows: list[dict[str, Any]] = []
    rejects: list[Any] = []
    for batch in importer.batches(ImportSettings(**settings)):
        rows.extend(batch.events.to_pylist())
        rejects.extend(batch.rejects)
    return importer, rows, rejects


def by_line(rows: list[dict[str, Any]], line: int) -> list[dict[str, Any]]:
    return [r for r in rows if r["source_line"] == line]


@pytest.fixture(scope="module")
def makers() -> tuple[SlackImporter, list[dict[str, Any]], list[Any]]:
    return parse(MAKERS)


def zip_of(folder: Path, target: Path, top: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, top + file.relative_to(folder).as_posix())
    return target


def test_workspace_channels_and_reading_order(makers: Any) -> None:
    importer, rows, rejects = makers
    assert rejects == []
    assert importer.group_name == "Makers"
    assert importer.group_names == {
        "C01GENERAL": "general",
        "C02RANDOM0": "random",
        "G01CORE000": "core-team",
        "G02MPIM000": "mpdm-alice--bob--carol-1",
        "D01DM00000": "DM alice, Bob Builder",
    }
    lines = [r["source_line"] for r in rows]
    assert lines == sorted(lines) and lines[0] == 1 and lines[-1] == 45
    groups = [r["group_id"] for r in rows if r["kind"] != "member_listed"]
    # general's two day files, then random, the private channel, the group DM, the DM
    assert list(dict.fromkeys(groups)) == [
        "C01GENERAL", "C02RANDOM0", "G01CORE000", "G02MPIM000", "D01DM00000",
    ]  # fmt: skip
    assert {r["platform"] for r in rows} == {"slack"}
    assert all(r["ts_raw"] is None for r in rows)


def test_joins_with_and_without_inviter_and_leaves(makers: Any) -> None:
    _, rows, _ = makers
    joins = [(r["member_id"], r["by_member_id"], r["join_method"]) for r in rows
             if r["kind"] == "member_joined"]  # fmt: skip
    assert joins[:3] == [(A, None, "unknown"), (B, A, "added"), (C, None, "unknown")]
    assert (D, B, "added") in joins
    left = [r for r in rows if r["kind"] == "member_left"]
    assert [(r["member_id"], r["member_name"]) for r in left] == [(C, "carol 🌸")]
    # the ts is the epoch string, in UTC
    assert str(by_line(rows, 1)[0]["ts"]) == "2024-01-05 09:00:00.000100"
    assert by_line(rows, 1)[0]["platform_id"] == "1704445200.000100"


def test_channel_purpose_topic_rename_archive(makers: Any) -> None:
    _, rows, _ = makers
    purpose = by_line(rows, 4)[0]
    assert (purpose["kind"], purpose["text"]) == ("group_description_changed", "Makers meet here")
    topic = by_line(rows, 5)[0]
    assert (topic["kind"], topic["text"], json.loads(topic["extra"])) == (
        "group_settings_changed",
        "Meetup Saturday 8pm",
        {"setting": "topic"},
    )
    renamed = by_line(rows, 17)[0]
    assert (renamed["kind"], renamed["text"], json.loads(renamed["extra"])) == (
        "group_renamed",
        "general",
        {"old": "makers"},
    )
    archived = by_line(rows, 28)[0]
    assert json.loads(archived["extra"]) == {"setting": "archived"}


def test_thread_parent_mentions_markup_and_reactions(makers: Any) -> None:
    _, rows, _ = makers
    posted, *reactions = by_line(rows, 6)
    assert posted["kind"] == "message_posted" and posted["platform_id"] == PARENT
    assert posted["text"].startswith("Hello <@U02BOB0000> and <@U03CAROL00|carol>! &lt;script&gt;")
    assert "\nsecond line" in posted["text"]
    assert posted["mentions"] == [B, C]
    assert (posted["reply_to"], posted["topic_id"]) == (None, PARENT)
    assert posted["member_name"] == "alice"  # display name from user_profile
    got = [(r["member_id"], json.loads(r["extra"]), r["reply_to"]) for r in reactions]
    assert got == [
        (B, {"emoji": "+1"}, PARENT),
        (C, {"emoji": "+1"}, PARENT),
        (B, {"emoji": "tada"}, PARENT),
        (None, {"emoji": "tada", "unlisted": 2}, PARENT),  # count 3, one user listed
    ]
    keys = {r["key"] for r in reactions}
    assert len(keys) == 4
    assert natural_key("slack", "default", "C01GENERAL", "reaction_added", None, PARENT, B,
                       "tada") in keys  # fmt: skip


def test_replies_count_once_and_point_at_the_parent(makers: Any) -> None:
    _, rows, _ = makers
    posts = [r for r in rows if r["kind"] == "message_posted"]
    # the parent's replies[] adds nothing: 7, 9 are the two replies, each once
    assert len(posts) == len({(r["group_id"], r["platform_id"]) for r in posts}) == 15
    reply = by_line(rows, 7)[0]
    assert (reply["reply_to"], reply["topic_id"], json.loads(reply["extra"])) == (
        PARENT,
        PARENT,
        {"edited": True},
    )
    broadcast = by_line(rows, 9)[0]
    assert (broadcast["reply_to"], json.loads(broadcast["extra"])) == (PARENT, {"broadcast": True})


def test_files_old_file_share_voice_gif(makers: Any) -> None:
    _, rows, _ = makers
    image = by_line(rows, 8)[0]
    assert (image["attachment_kind"], image["text"]) == ("image", None)
    old = by_line(rows, 12)[0]
    assert (old["attachment_kind"], old["text"], old["mentions"]) == (
        "document",
        "Here are the slides",
        None,
    )
    assert by_line(rows, 18)[0]["attachment_kind"] == "voice"
    gif = by_line(rows, 19)[0]
    assert (gif["attachment_kind"], gif["text"], json.loads(gif["extra"])) == (
        "gif",
        "lol",
        {"files": 2},
    )


def test_bots_have_the_bot_id(makers: Any) -> None:
    _, rows, _ = makers
    legacy = by_line(rows, 10)[0]
    assert (legacy["member_id"], legacy["member_name"], legacy["is_bot"]) == (
        "B01DIGEST0",
        "Digest Bot",
        True,
    )
    app = by_line(rows, 11)[0]
    assert (app["member_id"], app["is_bot"], json.loads(app["extra"])) == (
        "B01DIGEST0",
        True,
        {"user": "U05DIGEST0"},
    )
    assert not any(r["is_bot"] for r in rows if r["member_id"] in (A, B, C, D))


def test_pins_tombstones_edits_deletions_and_notices(makers: Any) -> None:
    _, rows, _ = makers
    pin_item, pin_link = by_line(rows, 13)[0], by_line(rows, 14)[0]
    assert (pin_item["kind"], pin_item["member_id"], pin_item["by_member_id"]) == (
        "message_pinned",
        A,
        A,
    )
    assert pin_item["reply_to"] == PARENT  # from item.message.ts
    assert pin_link["reply_to"] == "1704445620.000800"  # from the attachment's permalink
    tomb = by_line(rows, 15)
    assert [(r["kind"], r["member_id"], r["reply_to"]) for r in tomb] == [
        ("message_deleted", None, "1704535200.000300")
    ]
    assert by_line(rows, 16)[0]["reply_to"] == "1704535200.000300"
    edited = by_line(rows, 20)[0]
    assert (edited["kind"], edited["member_id"], edited["text"], edited["reply_to"]) == (
        "message_edited",
        B,
        "Thanks!!",
        "1704445560.000700",
    )
    deleted = by_line(rows, 21)[0]
    assert (deleted["kind"], deleted["member_id"], deleted["reply_to"]) == (
        "message_deleted",
        C,
        "1704537450.000000",
    )
    notice = by_line(rows, 22)[0]
    assert (notice["kind"], notice["is_bot"], json.loads(notice["extra"])) == (
        "system_notice",
        False,
        {"subtype": "bot_add"},
    )
    assert by_line(rows, 25)[0]["text"] == "waves"  # me_message is a post


def test_roster_lists_each_channels_members(makers: Any) -> None:
    _, rows, _ = makers
    listed = [r for r in rows if r["kind"] == "member_listed"]
    assert [(r["group_id"], r["member_id"]) for r in listed[:4]] == [
        ("C01GENERAL", A), ("C01GENERAL", B), ("C01GENERAL", D), ("C01GENERAL", "U05DIGEST0"),
    ]  # fmt: skip
    assert len(listed) == 13
    roles = {r["member_id"]: json.loads(r["extra"]) for r in listed[:4]}
    assert roles[A]["role"] == "primary_owner" and roles[B]["role"] == "admin"
    assert roles[D] == {"deleted": True, "real_name": "Dave Gone", "role": "member",
                        "username": "dave"}  # fmt: skip
    assert roles["U05DIGEST0"]["role"] == "bot"
    assert [r["is_bot"] for r in listed[:4]] == [False, False, False, True]
    # the roster is taken at the export's latest message
    assert {str(r["ts"]) for r in listed} == {"2024-01-06 10:53:20.000300"}


def test_without_users_json_names_come_from_user_profile(tmp_path: Path) -> None:
    copy = shutil.copytree(MAKERS, tmp_path / "Makers Slack export")
    (copy / "users.json").unlink()
    importer, rows, rejects = parse(copy)
    assert rejects == []
    assert any("no users.json" in note for note in importer.notes())
    assert by_line(rows, 6)[0]["member_name"] == "alice"
    # no users.json: a reaction's name is the one learnt from an earlier user_profile
    assert [r["member_name"] for r in by_line(rows, 6)[1:3]] == ["Bob Builder", "carol 🌸"]
    listed = {r["member_id"]: r for r in rows if r["kind"] == "member_listed"}
    assert listed[D]["member_name"] == "Dave Gone"
    assert json.loads(listed[D]["extra"]) == {"role": None}
    assert listed["U05DIGEST0"]["member_name"] is None


@pytest.mark.parametrize("top", ["", "Makers Slack export Jan 5 2024 - Jan 6 2024/"])
def test_zip_and_folder_read_the_same(tmp_path: Path, makers: Any, top: str) -> None:
    archive = zip_of(MAKERS, tmp_path / "Makers Slack export Jan 5 2024 - Jan 6 2024.zip", top)
    assert SlackImporter.sniff(archive)
    importer, rows, rejects = parse(archive)
    folder_importer, folder_rows, _ = makers
    assert rejects == [] and rows == folder_rows
    assert importer.group_name == "Makers"
    assert importer.fingerprint() == folder_importer.fingerprint()


def test_malformed_records_are_rejected_with_their_path(tmp_path: Path) -> None:
    importer, rows, rejects = parse(BROKEN)
    reasons = [(r.line, r.source, r.reason) for r in rejects]
    assert reasons[:3] == [
        (2, "general/2024-01-05.json",
         "general/2024-01-05.json[1].ts: None is not a Slack timestamp"),
        (3, "general/2024-01-05.json", "general/2024-01-05.json[2]: not a JSON object"),
        (4, "general/2024-01-05.json",
         "general/2024-01-05.json[3].reactions[0].users: not a list of user ids"),
    ]  # fmt: skip
    assert reasons[3][:2] == (7, "general/2024-01-06.json")
    assert "not valid JSON after 1 messages" in reasons[3][2]
    assert reasons[4] == (8, "general/2024-01-07.json",
                          "general/2024-01-07.json: not a JSON array of messages")  # fmt: skip
    assert [r[2] for r in reasons[5:]] == [
        "channels.json[0].members[1]: not a user id",
        "channels.json[1]: no conversation id",
    ]
    texts = [r["text"] for r in rows if r["kind"] == "message_posted"]
    assert texts == ["first", "last good one", "before the cut", "in a folder no index lists"]
    assert importer.group_names["stray"] == "stray"
    assert any("stray" in note for note in importer.notes())


def test_batches_end_on_records_and_positions_increase() -> None:
    importer = SlackImporter(MAKERS)
    batches = list(importer.batches(ImportSettings(commit_every=4)))
    positions = [b.position for b in batches]
    assert positions == sorted(set(positions)) and positions[-1] == 45
    assert sum(b.records_read for b in batches) == 45
    for batch in batches:
        lines = batch.events.column("source_line").to_pylist()
        assert max(lines) <= batch.position
    assert [b.bytes_read for b in batches] == sorted(b.bytes_read for b in batches)
    assert batches[-1].bytes_read == importer.total_bytes


@pytest.mark.parametrize(
    "path",
    [WHATSAPP / "WhatsApp Chat with Makers.txt", WHATSAPP / "WhatsApp Chat - Makers.zip", WHATSAPP],
    ids=["whatsapp-txt", "whatsapp-zip", "whatsapp-folder"],
)
def test_other_exports_are_not_slack(path: Path) -> None:
    assert not SlackImporter.sniff(path)
    with pytest.raises(ImportFormatError, match="not a Slack workspace export"):
        SlackImporter(path)


def test_a_channels_json_that_is_no_array_is_refused(tmp_path: Path) -> None:
    (tmp_path / "channels.json").write_text('{"channels": []}', encoding="utf-8")
    (tmp_path / "users.json").write_text("[]", encoding="utf-8")
    assert not SlackImporter.sniff(tmp_path)
    with pytest.raises(ImportFormatError, match=r"channels\.json is not a JSON array"):
        SlackImporter(tmp_path)


def test_open_export_recognises_slack(tmp_path: Path) -> None:
    assert isinstance(open_export(MAKERS), SlackImporter)
    assert isinstance(open_export(MAKERS / "channels.json"), SlackImporter)
    assert type(open_export(WHATSAPP / "WhatsApp Chat with Makers.txt")).__name__ != "SlackImporter"


def test_run_import_stores_once_and_registers_every_channel(store: Store) -> None:
    settings = ImportSettings(community="makers", timezone="UTC")
    first = run_import(store, MAKERS, settings)
    assert first.platform == "slack" and first.group_id == "Makers"
    stats = store.stats()
    assert stats["messages"] == 15 and stats["bot_messages"] == 2
    assert stats["joins"] == 6 and stats["leaves"] == 1 and stats["reactions"] == 4
    assert stats["deleted_messages"] == 2 and stats["rejected_records"] == 0
    names = {g.group_id: g.name for g in store.groups()}
    assert names["C01GENERAL"] == "general" and names["D01DM00000"] == "DM alice, Bob Builder"
    again = run_import(store, MAKERS, settings)
    assert again.new_events == 0
    assert store.stats()["messages"] == 15


def test_run_import_counts_rejects(store: Store) -> None:
    result = run_import(store, BROKEN, ImportSettings(community="x", timezone="UTC"))
    assert result.record.rejected == 7
    assert store.stats()["messages"] == 4
    assert [r.line for r in store.rejects(result.record.import_id)] == [2, 3, 4, 7, 8, 11, 12]
