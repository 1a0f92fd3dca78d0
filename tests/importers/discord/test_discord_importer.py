"""The Discord importer on small exports in DiscordChatExporter's layout, one quirk at a time."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shequn.errors import ImportFormatError
from shequn.events import natural_key
from shequn.importers import open_export
from shequn.importers.base import ImportSettings
from shequn.importers.discord import DiscordImporter
from shequn.ingest import run_import
from shequn.store import Store
from shequn.store.base import Reject

FIXTURES = Path(__file__).parents[2] / "fixtures" / "discord"
GUILD = FIXTURES / "guild"
GENERAL = GUILD / "Makers Guild - Text Channels - general [1190000000000000010].json"
THREAD = GUILD / "Makers Guild - general - Release planning [1191000000000000599].json"
DM = FIXTURES / "dm" / "Direct Messages - Group - friends [1191500000000000001].json"
MALFORMED = FIXTURES / "malformed [1190000000000000011].json"
GUILD_ID = "1190000000000000001"
ALICE, BOB, BOT = "200000000000000001", "200000000000000002", "400000000000000001"


def parse(
    path: Path, commit_every: int = 100_000, **settings: Any
) -> tuple[DiscordImporter, list[dict[str, Any]], list[Reject]]:
    importer = DiscordImporter(path)
    rows: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    for batch in importer.batches(ImportSettings(commit_every=commit_every, **settings)):
        rows.extend(batch.events.to_pylist())
        rejects.extend(batch.rejects)
    return importer, rows, rejects


def at(rows: list[dict[str, Any]], line: int) -> list[dict[str, Any]]:
    return [r for r in rows if r["source_line"] == line]


def extra(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(row["extra"]) if row["extra"] else {}


def test_guild_channel_messages_replies_mentions_and_topics() -> None:
    importer, rows, rejects = parse(GENERAL)
    assert rejects == []
    assert (importer.group_name, importer.group_names) == (
        "Makers Guild",
        {GUILD_ID: "Makers Guild"},
    )
    assert {r["group_id"] for r in rows} == {GUILD_ID}
    topic = at(rows, 1)[0]
    assert (topic["kind"], topic["text"], topic["topic_id"], topic["member_id"]) == (
        "topic_created", "general", "1190000000000000010", None,
    )  # fmt: skip
    assert topic["ts"] == datetime(2023, 12, 28, 18, 35, 9, 130000)  # the channel id's time
    assert extra(topic) == {"type": "GuildTextChat", "category": "Text Channels",
                            "category_id": "1190000000000000005"}  # fmt: skip
    join = at(rows, 2)[0]
    assert (join["kind"], join["member_id"], join["member_name"], join["join_method"]) == (
        "member_joined", BOB, "Bob B.", "unknown",
    )  # fmt: skip
    assert join["ts"] == datetime(2024, 1, 1, 1, 0, 0, 123000)  # +08:00 → UTC
    assert join["ts_raw"] is None
    reply = at(rows, 4)[0]
    assert reply["reply_to"] == "1191000000000000200"
    assert reply["mentions"] == [ALICE]
    assert reply["text"] == "@Alice thanks! <script>alert(1)</script> 你好"
    assert reply["ts"] == datetime(2024, 1, 1, 1, 6, 0, 123456)  # 7 fraction digits
    assert (reply["attachment_kind"], extra(reply)["attachments"]) == ("image", ["image", "voice"])


def test_edits_pins_and_reactions_with_reactors() -> None:
    _, rows, _ = parse(GENERAL)
    welcome = at(rows, 3)
    posted = next(r for r in welcome if r["kind"] == "message_posted")
    assert posted["text"] == "Welcome everyone!\nRules are in #rules"
    assert extra(posted) == {"edited": True, "edited_at": "2024-01-01T01:07:30Z", "pinned": True}
    reactions = [
        (r["member_id"], r["is_bot"], extra(r)) for r in welcome if r["kind"] == "reaction_added"
    ]
    assert reactions == [
        (BOB, False, {"emoji": "👍"}),
        (BOT, True, {"emoji": "👍"}),
        (BOB, False, {"emoji": "maker", "emoji_id": "500000000000000001"}),
    ]
    assert all(r["reply_to"] == "1191000000000000200" for r in welcome[1:])
    keys = {r["key"] for r in welcome}
    assert natural_key("discord", "default", GUILD_ID, "reaction_added", "1191000000000000200",
                       "500000000000000001", BOB) in keys  # fmt: skip
    pin = at(rows, 6)[0]
    assert (pin["kind"], pin["member_id"], pin["by_member_id"], pin["reply_to"]) == (
        "message_pinned", ALICE, ALICE, "1191000000000000200",
    )  # fmt: skip


def test_stickers_thread_creation_and_slash_command_bots() -> None:
    _, rows, _ = parse(GENERAL)
    sticker = at(rows, 5)[0]
    assert (sticker["text"], sticker["attachment_kind"], extra(sticker)) == (
        None, "sticker", {"stickers": ["Laugh"]},
    )  # fmt: skip
    thread = at(rows, 7)[0]
    assert (thread["kind"], thread["member_id"], thread["topic_id"], thread["platform_id"]) == (
        "topic_created", ALICE, "1191000000000000599", "1191000000000000599",
    )  # fmt: skip
    assert thread["text"] is None  # new DCE writes "Started a thread."; no thread file here
    bot = at(rows, 8)[0]
    assert (bot["kind"], bot["member_id"], bot["is_bot"]) == ("message_posted", BOT, True)
    assert extra(bot) == {"embeds": 1, "type": "20",
                          "interaction": {"name": "rank", "user_id": BOB}}  # fmt: skip


def test_folder_reads_channels_before_threads_and_the_member_list_last() -> None:
    importer, rows, rejects = parse(GUILD)
    assert rejects == []
    assert importer.media_counts() == {"image": 1, "voice": 1}
    assert [e.name for e in importer.order] == [GENERAL.name, THREAD.name, "members.json"]
    topics = [r for r in rows if r["kind"] == "topic_created"]
    # the thread's topic comes from ThreadCreated (with its creator and its file's name),
    # and the thread file's own header adds no second one
    assert [(t["topic_id"], t["member_id"], t["text"]) for t in topics] == [
        ("1190000000000000010", None, "general"),
        ("1191000000000000599", ALICE, "Release planning v2"),
    ]
    assert extra(topics[1])["parent_id"] == "1190000000000000010"
    header_line = 9  # general: header + 7 messages; the thread's header is line 9
    assert at(rows, header_line) == []
    first = at(rows, 10)[0]
    assert (first["topic_id"], first["text"]) == ("1191000000000000599", "First in the thread")
    rename = at(rows, 11)[0]
    assert (rename["kind"], rename["text"], extra(rename)) == (
        "system_notice", "Release planning v2",
        {"action": "topic_renamed", "name": "Release planning v2"},
    )  # fmt: skip
    listed = [r for r in rows if r["kind"] == "member_listed"]
    assert [(r["source_line"], r["member_id"], r["member_name"], r["is_bot"]) for r in listed] == [
        (12, ALICE, "Alice", False),
        (13, BOB, "Bob B.", False),
        (14, BOT, "modbot", True),  # no nick, no global name: the username
    ]
    assert {r["group_id"] for r in listed} == {GUILD_ID}  # the folder's one guild
    assert listed[0]["ts"] == datetime(2023, 12, 28, 18, 40)
    assert extra(listed[0]) == {"roles": ["300000000000000001"], "username": "alice"}


def test_zip_of_the_folder_reads_the_same(tmp_path: Path) -> None:
    archive = tmp_path / "Makers Guild.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(GUILD.rglob("*")):
            if p.is_file():
                zf.write(p, "export/" + p.relative_to(GUILD).as_posix())
    assert DiscordImporter.sniff(archive)
    importer, zipped, rejects = parse(archive)
    _, plain, _ = parse(GUILD)
    assert rejects == [] and importer.media_counts() == {"image": 1, "voice": 1}
    assert [
        {k: v for k, v in r.items() if k != "ts"} for r in zipped if r["kind"] != "member_listed"
    ] == [{k: v for k, v in r.items() if k != "ts"} for r in plain if r["kind"] != "member_listed"]
    assert importer.fingerprint() != DiscordImporter(GUILD).fingerprint()  # names differ


def test_group_dm_is_its_own_group_with_recipients_and_renames() -> None:
    importer, rows, rejects = parse(DM)
    assert rejects == [] and importer.group_names == {"1191500000000000001": "friends"}
    assert {r["group_id"] for r in rows} == {"1191500000000000001"}
    assert {r["topic_id"] for r in rows} == {None}
    kinds = [(r["source_line"], r["kind"], r["member_id"], r["by_member_id"]) for r in rows]
    assert kinds == [
        (2, "member_joined", "200000000000000003", ALICE),
        (3, "group_renamed", "200000000000000003", None),
        (4, "message_posted", "200000000000000003", None),
        (4, "reaction_added", None, None),
        (5, "system_notice", ALICE, None),
        (6, "member_left", "200000000000000003", None),
        (7, "member_removed", "200000000000000004", ALICE),
        (8, "group_icon_changed", ALICE, None),
    ]
    assert rows[0]["join_method"] == "added" and rows[1]["text"] == "friends"
    assert rows[0]["ts"] == datetime(2024, 1, 2, 15, 0)  # -05:00 → UTC
    assert rows[2]["attachment_kind"] == "document"
    assert extra(rows[3]) == {"emoji": "❤", "count": 2}  # an older export: count only
    assert extra(rows[4]) == {"type": "Call", "ended_at": "2024-01-02T16:42:00Z"}
    assert any("count in extra" in n for n in importer.notes())


def test_member_list_chunk_and_array_forms() -> None:
    importer, rows, rejects = parse(FIXTURES / "roster" / "members-chunk.json")
    assert rejects == [] and importer.group_name == GUILD_ID
    assert [(r["member_id"], r["member_name"], r["group_id"]) for r in rows] == [
        (ALICE, "Alice (admin)", GUILD_ID),
        ("200000000000000005", "erin", GUILD_ID),
    ]
    assert extra(rows[1]) == {"roles": [], "username": "erin", "pending": True}
    # an API array says no guild: --group names it; bad members are rejected, not fatal
    _, rows, rejects = parse(FIXTURES / "roster" / "List Guild Members.json", group="g1")
    assert [(r["member_id"], r["group_id"]) for r in rows] == [(ALICE, "g1")]
    assert [(r.line, r.reason) for r in rejects] == [
        (2, "[1].joined_at: 'not a date' is not an ISO 8601 time"),
        (3, "[2].user.id: missing"),
    ]


def test_malformed_records_are_rejected_with_their_path_and_the_rest_kept() -> None:
    _, rows, rejects = parse(MALFORMED)
    assert [r["text"] for r in rows if r["kind"] == "message_posted"] == ["good one", "good two"]
    assert [(r.source, r.line, r.reason.split(":")[0]) for r in rejects] == [
        (MALFORMED.name, 3, "messages[1].id"),
        (MALFORMED.name, 4, "messages[2].timestamp"),
        (MALFORMED.name, 5, "messages[3].author"),
        (MALFORMED.name, 6, "messages[4].reactions[0].emoji"),
        (MALFORMED.name, 8, "messages[6]"),
    ]
    assert "invalid JSON" in rejects[-1].reason
    assert '"no id"' in rejects[0].raw
    assert not [r for r in rows if r["source_line"] == 6]  # the half-read record left nothing


def test_batches_end_on_records_with_increasing_positions() -> None:
    importer = DiscordImporter(GUILD)
    batches = list(importer.batches(ImportSettings(commit_every=3)))
    positions = [b.position for b in batches]
    assert positions == sorted(set(positions)) and positions[-1] == 14
    for b in batches:
        lines = b.events.column("source_line").to_pylist()
        assert all(line <= b.position for line in lines)
    assert batches[-1].bytes_read == importer.total_bytes


@pytest.mark.parametrize("name", ["wrong/result.json", "wrong/general-2024-01-01.json"])
def test_other_platforms_files_are_not_claimed(name: str) -> None:
    path = FIXTURES / name
    assert not DiscordImporter.sniff(path)
    with pytest.raises(ImportFormatError, match="is not a DiscordChatExporter JSON export"):
        DiscordImporter(path)
    with pytest.raises(ImportFormatError):
        open_export(path, "discord")


def test_sniff_recognises_files_folders_and_member_lists() -> None:
    assert DiscordImporter.sniff(GENERAL) and DiscordImporter.sniff(GUILD)
    assert DiscordImporter.sniff(FIXTURES / "roster" / "members-chunk.json")
    assert not DiscordImporter.sniff(FIXTURES / "wrong")
    assert isinstance(open_export(DM), DiscordImporter)


def test_import_into_both_stores_then_reimport_stores_nothing_new(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(GUILD, folder)
    shutil.copy(DM, folder / DM.name)
    first = run_import(store, folder, ImportSettings(community="m"))
    stats = store.stats()
    assert stats["messages"] == 6 and stats["bot_messages"] == 1
    assert stats["joins"] == 2 and stats["leaves"] == 1 and stats["removals"] == 1
    assert stats["reactions"] == 4 and stats["groups"] == 2
    assert first.new_events == sum(1 for _ in store.events().to_pylist())
    groups = {(g.group_id, g.name) for g in store.groups() if g.events}
    assert groups == {(GUILD_ID, "Makers Guild"), ("1191500000000000001", "friends")}
    # an overlapping export (one channel again, on its own) adds nothing
    assert run_import(store, GENERAL, ImportSettings(community="m")).new_events == 0
    assert run_import(store, folder, ImportSettings(community="m")).new_events == 0
    assert store.stats()["messages"] == 6
