"""The Telegram importer on small hand-written exports in Telegram Desktop's layouts."""

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
from shequn.importers.telegram import TelegramImporter
from shequn.importers.whatsapp import WhatsAppImporter
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import Store

FIXTURES = Path(__file__).parents[2] / "fixtures" / "telegram"
FORUM = FIXTURES / "forum_group"


def parse(path: Path, **settings: Any) -> tuple[TelegramImporter, list[dict[str, Any]], list[Any]]:
    importer = TelegramImporter(path)
    rows: list[dict[str, Any]] = []
    rejects: list[Any] = []
    for batch in importer.batches(ImportSettings(**{"timezone": "Europe/Berlin", **settings})):
        rows.extend(batch.events.to_pylist())
        rejects.extend(batch.rejects)
    return importer, rows, rejects


def at(rows: list[dict[str, Any]], pid: str, kind: str | None = None) -> list[dict[str, Any]]:
    return [r for r in rows if r["platform_id"] == pid and (kind is None or r["kind"] == kind)]


# -- JSON: one chat --------------------------------------------------------------------------
def test_service_actions_become_one_event_per_member() -> None:
    importer, rows, _ = parse(FORUM)
    # the group is the chat's Bot API id (private_supergroup 1987654321), its name beside it
    assert importer.group_name == "-1001987654321"
    assert importer.group_names == {"-1001987654321": "Makers Forum"}
    created = at(rows, "-999999990")
    assert [(r["kind"], r["member_id"], r["by_member_id"]) for r in created] == [
        ("group_created", "user1001", None),
        ("member_joined", "user1002", "user1001"),  # the creator is not "added" by themself
    ]
    invited = at(rows, "-999999989")
    # names resolve to the ids the export writes elsewhere; a deleted account stays unnamed
    assert [(r["member_id"], r["join_method"]) for r in invited] == [
        ("user1003", "added"),
        ("user1004", "added"),
        (None, "added"),
    ]
    link = at(rows, "2")[0]
    assert (link["member_id"], link["join_method"]) == ("user1005", "invite_link")
    assert json.loads(link["extra"]) == {"inviter": "Alice Smith", "inviter_id": "user1001"}
    removed, left = at(rows, "12")[0], at(rows, "13")[0]
    assert (removed["kind"], removed["member_id"], removed["by_member_id"]) == (
        "member_removed",
        "user1004",
        "user1001",
    )
    assert (left["kind"], left["member_id"], left["by_member_id"]) == (
        "member_left",
        "user1003",
        None,
    )
    pinned = at(rows, "7")[0]
    assert (pinned["kind"], pinned["reply_to"], pinned["member_id"]) == (
        "message_pinned",
        "5",
        "user1001",
    )
    renamed = at(rows, "14")[0]
    assert (renamed["kind"], renamed["text"]) == ("group_renamed", "Makers Forum")


def test_migration_keeps_one_group_and_shifted_ids() -> None:
    _, rows, _ = parse(FORUM)
    # basic-group messages (shifted ids) and supergroup ones: one group, the supergroup's id
    assert {r["group_id"] for r in rows} == {"-1001987654321"}
    assert {r["platform_id"].startswith("-99") for r in rows} == {True, False}
    notices = [json.loads(r["extra"])["action"] for r in rows if r["kind"] == "system_notice"]
    assert notices == ["migrate_to_supergroup", "migrate_from_group"]
    # a supergroup post replying to a basic-group post keeps the shifted id
    assert at(rows, "3", "message_posted")[0]["reply_to"] == "-999999988"


def test_entity_text_mentions_links_edits_and_reactions() -> None:
    _, rows, _ = parse(FORUM)
    post = at(rows, "3", "message_posted")[0]
    assert post["text"] == "Bob Jones see https://example.com/a and @erin_g!"
    assert post["mentions"] == ["user1002", "@erin_g"]
    extra = json.loads(post["extra"])
    assert extra == {
        "edited": True,
        "edited_unixtime": 1705054020,
        "links": ["https://example.com/a"],
    }
    reactions = at(rows, "3", "reaction_added")
    assert [(r["member_id"], json.loads(r["extra"])) for r in reactions] == [
        ("user1002", {"emoji": "👍"}),
        ("user1004", {"emoji": "👍"}),
        (None, {"emoji": "🔥", "count": 5}),  # only a count: one row, no reactor
    ]
    # a reactor's time is local text (no unixtime): read in the settings' timezone
    assert reactions[0]["ts"] == datetime(2024, 1, 12, 9, 6)
    assert reactions[0]["ts_raw"] == "2024-01-12T10:06:00"
    assert all(r["reply_to"] == "3" for r in reactions)
    assert len({r["key"] for r in reactions}) == 3


def test_forum_topics_media_bots_forwards_and_polls() -> None:
    _, rows, _ = parse(FORUM)
    topic = at(rows, "4")[0]
    assert (topic["kind"], topic["topic_id"], topic["text"]) == ("topic_created", "4", "Hardware")
    photo = at(rows, "5")[0]
    # replying to the topic's root only says "in this topic"
    assert (photo["topic_id"], photo["reply_to"], photo["attachment_kind"]) == ("4", None, "image")
    voice = at(rows, "6")[0]
    assert (voice["topic_id"], voice["reply_to"], voice["attachment_kind"]) == ("4", "5", "voice")
    assert voice["text"] is None
    bot = at(rows, "8")[0]
    assert bot["is_bot"] is True  # inline keyboards come only from bots
    gif = at(rows, "9")[0]
    assert (gif["attachment_kind"], gif["forwarded_from"], gif["is_bot"]) == (
        "gif",
        "Tech News",
        False,
    )
    assert json.loads(gif["extra"]) == {"via_bot": "@gif"}
    poll = at(rows, "10")[0]
    assert (poll["attachment_kind"], poll["text"]) == ("poll", "Next meetup?")
    assert json.loads(poll["extra"]) == {"options": ["Friday", "Saturday"]}
    contact = at(rows, "15")[0]
    assert contact["attachment_kind"] == "contact"


def test_utc_from_unixtime_local_date_only_when_it_is_missing() -> None:
    _, rows, _ = parse(FORUM)
    post = at(rows, "3", "message_posted")[0]
    assert (post["ts"], post["ts_raw"]) == (datetime(2024, 1, 12, 10, 5), None)
    contact = at(rows, "15")[0]  # no date_unixtime: the local date in Europe/Berlin
    assert (contact["ts"], contact["ts_raw"]) == (
        datetime(2024, 1, 12, 9, 23),
        "2024-01-12T10:23:00",
    )


def test_malformed_record_is_rejected_with_its_path_and_the_rest_imported() -> None:
    importer, rows, rejects = parse(FORUM)
    assert [(r.line, r.reason) for r in rejects] == [
        (15, "messages[14].date_unixtime: not an integer")
    ]
    assert rejects[0].source.endswith("result.json")
    assert at(rows, "11") == []
    assert at(rows, "15")  # records after it are read
    assert importer.notes() == [
        "1 unsupported messages skipped",
        "group -1001987654321 is the chat 'Makers Forum'",
    ]


def test_keys_are_natural_and_positions_increase() -> None:
    importer = TelegramImporter(FORUM)
    positions = []
    rows = []
    for batch in importer.batches(ImportSettings(timezone="UTC", commit_every=4)):
        positions.append(batch.position)
        rows.extend(batch.events.to_pylist())
    assert positions == sorted(set(positions)) and positions[-1] == 20
    post = at(rows, "3", "message_posted")[0]
    assert post["key"] == natural_key(
        "telegram", "default", "-1001987654321", "message_posted", "3"
    )
    assert len({r["key"] for r in rows}) == len(rows)


def test_old_export_with_local_dates_and_numeric_ids() -> None:
    _, rows, rejects = parse(FIXTURES / "old_export", timezone="Asia/Shanghai")
    assert rejects == []
    joined = next(r for r in rows if r["kind"] == "member_joined")
    post = next(r for r in rows if r["kind"] == "message_posted")
    assert (joined["member_id"], joined["by_member_id"]) == ("user1002", "user1001")
    assert (post["member_id"], post["ts"], post["ts_raw"]) == (
        "user1002",
        datetime(2020, 6, 1, 12, 5),
        "2020-06-01T20:05:00",
    )
    assert json.loads(post["extra"]) == {"edited": True}


# -- JSON: a whole account -------------------------------------------------------------------
def test_account_export_imports_each_group_and_skips_personal_chats() -> None:
    importer, rows, rejects = parse(FIXTURES / "account")
    assert rejects == []
    assert importer.group_name == "Telegram account export"
    groups = {r["group_id"] for r in rows}
    # same name, two chats: a basic group (-id) and a supergroup (-100…id)
    assert groups == {"-3001", "-1000000003002"}
    assert importer.group_names == {"-3001": "Book Club", "-1000000003002": "Book Club"}
    assert not [r for r in rows if r["text"] in ("private hello", "breaking", "bye")]
    # lines count every message of chats.list, skipped ones too
    assert sorted({r["source_line"] for r in rows}) == [3, 4, 5]
    joined = [r for r in rows if r["kind"] == "member_joined"]
    # a member who never writes is known by id from the account's contacts
    assert [r["member_id"] for r in joined] == ["user1002", "user1006"]
    note = importer.notes()[0]
    assert "2 group chats imported" in note and "1 personal_chat" in note
    assert "1 private_channel" in note and "1 left chats" in note


def test_account_export_through_the_store_registers_every_group(store: Store) -> None:
    result = run_import(store, FIXTURES / "account", ImportSettings(timezone="UTC"))
    names = {g.group_id: g.name for g in store.groups() if g.events}
    assert names == {"-3001": "Book Club", "-1000000003002": "Book Club"}
    assert result.new_events == 5


# -- group identity --------------------------------------------------------------------------
def test_a_renamed_chat_stays_one_group_and_its_next_export_adds_nothing(
    store: Store, tmp_path: Path
) -> None:
    run_import(store, FORUM, ImportSettings(timezone="UTC"))
    later = tmp_path / "ChatExport_later"
    later.mkdir()
    text = (FORUM / "result.json").read_text(encoding="utf-8")
    head, rest = text.split("\n", 2)[:2], text.split("\n", 2)[2]
    assert rest.startswith(' "type": "private_supergroup"')
    (later / "result.json").write_text(
        head[0] + '\n "name": "Makers Forum 2024",\n' + rest, encoding="utf-8"
    )
    second = run_import(store, later, ImportSettings(timezone="UTC"))
    # same chat id, new name: one group, named as the latest export says; nothing twice
    assert [(g.group_id, g.name) for g in store.groups() if g.events] == [
        ("-1001987654321", "Makers Forum 2024")
    ]
    assert second.new_events == 0 and second.record.duplicates > 0


def test_an_html_export_joins_the_json_export_of_the_same_chat(
    store: Store, tmp_path: Path
) -> None:
    options: dict[str, Any] = {"format": "telegram", "members": 30, "messages": 600,
                               "days": 10, "seed": 5}  # fmt: skip
    from_json = simulate_export(variant="json", out=tmp_path / "j", **options)
    from_html = simulate_export(variant="html", out=tmp_path / "h", **options)
    truth = json.loads(from_json.truth_path.read_text(encoding="utf-8"))
    settings = ImportSettings(timezone=truth["timezone"])
    run_import(store, from_json.export_path, settings)
    second = run_import(store, from_html.export_path, settings)
    group = truth["export"]["group_id"]
    assert group.startswith("-100")
    # the HTML export has no chat id: it goes to the one group of its title
    assert second.group_id == group
    assert [(g.group_id, g.name) for g in store.groups() if g.events] == [
        (group, truth["group"]["name"])
    ]
    assert any("(no chat id) stored in group " + group in n for n in second.notes)
    # every message once: JSON and HTML give a message the same key
    assert store.stats()["messages"] == truth["counts"]["messages"]


def test_an_html_export_keeps_its_title_when_its_group_is_not_clear(store: Store) -> None:
    title = "Makers & Friends"
    store.upsert_group("default", "telegram", "-1001", title, "UTC")
    store.upsert_group("default", "telegram", "-1002", title, "UTC")
    first = run_import(store, FIXTURES / "html_chat", ImportSettings(timezone="UTC"))
    assert first.group_id == title  # two chats of that name: neither is chosen
    store.upsert_group("default", "telegram", "-1002", "Another group", "UTC")
    again = run_import(store, FIXTURES / "html_chat", ImportSettings(timezone="UTC"))
    # a group keyed by the title holds earlier HTML imports: re-imports stay there
    assert again.group_id == title and again.new_events == 0
    chosen = run_import(
        store, FIXTURES / "html_chat", ImportSettings(timezone="UTC", group="-1001")
    )
    assert chosen.group_id == "-1001" and chosen.new_events > 0


# -- HTML ----------------------------------------------------------------------------------
def test_html_export_reads_files_in_order_with_names_as_members() -> None:
    importer, rows, rejects = parse(FIXTURES / "html_chat")
    assert importer.group_name == "Makers & Friends"
    assert [(r.line, r.reason) for r in rejects] == [(16, "message11: no date title")]
    lines = [r["source_line"] for r in rows]
    assert lines == sorted(lines) and max(lines) == 15
    created = [r for r in rows if r["platform_id"] == "-999999990"]
    assert [(r["kind"], r["member_id"]) for r in created] == [
        ("group_created", "Alice Smith"),
        ("member_joined", "Bob Jones"),
    ]
    invited = [r["member_id"] for r in rows if r["platform_id"] == "-999999989"]
    assert invited == ["Carol White", "Dan Brown", "Erin Green"]
    # service blocks have no time: the time of the message before (or after, at the start)
    assert created[0]["ts"] == datetime(2024, 1, 12, 8, 2)
    link = at(rows, "2")[0]
    assert (link["join_method"], link["ts"]) == ("invite_link", datetime(2024, 1, 12, 8, 3))


def test_html_messages_text_replies_media_forwards_and_mentions() -> None:
    _, rows, _ = parse(FIXTURES / "html_chat")
    first = at(rows, "-999999988")[0]
    assert (first["member_id"], first["member_name"], first["text"]) == (
        "Bob Jones",
        "Bob Jones",
        "hello\ntwo lines <script>",
    )
    assert (first["ts"], first["ts_raw"]) == (datetime(2024, 1, 12, 8, 2), None)
    joined = at(rows, "-999999987")[0]  # a "joined" block has no from_name: same sender
    assert (joined["member_id"], joined["reply_to"], joined["attachment_kind"], joined["text"]) == (
        "Bob Jones",
        "-999999988",
        "image",
        "my bench",
    )
    carol = at(rows, "3")[0]
    assert carol["member_id"] == "Carol White"
    assert carol["text"] == "Bob Jones see https://example.com/a and @erin_g!"
    assert carol["mentions"] == ["Bob Jones", "@erin_g"]
    assert json.loads(carol["extra"]) == {"via_bot": "@gif", "links": ["https://example.com/a"]}
    fwd = at(rows, "4")[0]
    assert (fwd["member_id"], fwd["forwarded_from"], fwd["attachment_kind"]) == (
        "Dan Brown",
        "Tech News",
        "voice",
    )
    poll = at(rows, "5")[0]
    assert (poll["attachment_kind"], poll["text"]) == ("poll", "Next meetup?")
    assert json.loads(poll["extra"]) == {"options": ["Friday", "Saturday"]}
    assert at(rows, "7")[0]["attachment_kind"] == "sticker"


def test_html_service_blocks() -> None:
    _, rows, _ = parse(FIXTURES / "html_chat")
    pin = at(rows, "6")[0]
    assert (pin["kind"], pin["reply_to"], pin["member_id"]) == (
        "message_pinned",
        "3",
        "Alice Smith",
    )
    assert at(rows, "8")[0]["kind"] == "member_removed"
    left = at(rows, "9")[0]
    assert (left["kind"], left["member_id"], left["by_member_id"]) == (
        "member_left",
        "Carol White",
        None,
    )
    assert at(rows, "10")[0]["text"] == "Makers & Friends"
    migrations = [json.loads(r["extra"])["action"] for r in rows if r["kind"] == "system_notice"]
    assert migrations == ["migrate_to_supergroup", "migrate_from_group"]


def test_html_without_utc_offset_is_local_time() -> None:
    _, rows, _ = parse(FIXTURES / "html_old", timezone="Asia/Shanghai")
    assert (rows[0]["ts"], rows[0]["ts_raw"]) == (
        datetime(2020, 6, 1, 12, 5),
        "01.06.2020 20:05:00",
    )


def test_html_reactions_with_reactors_and_counts() -> None:
    """``span.reactions`` as ``HtmlWriter::Wrap::pushMessage`` writes it (fixture README)."""
    _, rows, rejects = parse(FIXTURES / "html_reactions")
    got = [
        (r["member_id"], r["member_name"], json.loads(r["extra"]), r["reply_to"])
        for r in at(rows, "101", "reaction_added")
    ]
    assert got == [
        ("Bob Jones", "Bob Jones", {"emoji": "👍"}, "101"),
        ("Me Exporter", "Me Exporter", {"emoji": "👍"}, "101"),
        # one listed reactor of three: the reactor is read, the count is not (as in JSON)
        ("Carol White", "Carol White", {"emoji": "🔥"}, "101"),
        (None, None, {"emoji": "❤", "count": 12}, "101"),
        # a custom emoji is the file it links (JSON's document_id)
        ("Dan Brown", "Dan Brown", {"emoji": "stickers/AnimatedSticker.tgs"}, "101"),
        (None, None, {"emoji": "custom_emoji", "count": 2}, "101"),
        # a paid reaction by a deleted account (no name in the userpic's title)
        (None, None, {"emoji": "paid"}, "101"),
    ]
    post = at(rows, "101", "message_posted")[0]
    reactions = at(rows, "101", "reaction_added")
    # no reaction time in HTML: the message's; keys are those JSON gives the same reaction
    assert {r["ts"] for r in reactions} == {post["ts"]}
    assert reactions[0]["key"] == natural_key(
        "telegram", "default", "Makers Lab", "reaction_added", "101", "Bob Jones", "👍"
    )
    assert len({r["key"] for r in reactions}) == len(reactions)
    # a count that is not a number rejects the whole block, with its id
    assert [r.reason for r in rejects] == ["message106: reaction count 'many' is not a number"]
    assert not at(rows, "106")


def test_html_bot_buttons_mark_a_bot_and_its_later_posts() -> None:
    _, rows, _ = parse(FIXTURES / "html_reactions")
    bot = {r["platform_id"]: r["is_bot"] for r in rows if r["kind"] == "message_posted"}
    # 102 has a bot_buttons_table, 103 is the same sender's joined follow-up without one;
    # 104 is a member's post made with an inline bot (buttons, but "via @pollbot")
    assert bot == {"101": False, "102": True, "103": True, "104": False, "105": False}
    assert json.loads(at(rows, "104")[0]["extra"]) == {"via_bot": "@pollbot"}
    # HTML writes no edit time: an edited message is an ordinary post
    assert at(rows, "105")[0]["extra"] is None


def test_json_and_html_exports_of_one_chat_share_message_keys() -> None:
    _, from_json, _ = parse(FORUM)
    _, from_html, _ = parse(FIXTURES / "html_chat", group="-1001987654321")
    json_keys = {r["platform_id"]: r["key"] for r in from_json if r["kind"] == "message_posted"}
    html_keys = {r["platform_id"]: r["key"] for r in from_html if r["kind"] == "message_posted"}
    shared = set(json_keys) & set(html_keys)
    assert shared >= {"-999999988", "3", "5"}
    assert all(json_keys[p] == html_keys[p] for p in shared)


# -- forms, rosters, wrong files ---------------------------------------------------------------
def _zip(folder: Path, target: Path, inner: str = "ChatExport_2024-01-12") -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, f"{inner}/{p.relative_to(folder)}")
    return target


@pytest.mark.parametrize("form", ["file", "folder", "zip"])
def test_json_file_folder_and_zip_read_alike(tmp_path: Path, form: str) -> None:
    path = {
        "file": FORUM / "result.json",
        "folder": FORUM,
        "zip": _zip(FORUM, tmp_path / "export.zip"),
    }[form]
    assert TelegramImporter.sniff(path)
    importer = open_export(path)
    assert importer.platform == "telegram"
    _, rows, _ = parse(path)
    _, expected, _ = parse(FORUM)
    strip = [{k: v for k, v in r.items()} for r in rows]
    assert strip == expected
    assert importer.fingerprint() == TelegramImporter(FORUM).fingerprint()


def test_html_zip_and_media_counts(tmp_path: Path) -> None:
    path = _zip(FIXTURES / "html_chat", tmp_path / "html.zip")
    importer, rows, _ = parse(path)
    assert len(rows) == len(parse(FIXTURES / "html_chat")[1])
    assert importer.media_counts() == {"image": 1}


def test_participants_list_beside_the_export_lists_members(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(FORUM, folder)
    shutil.copy(FIXTURES / "participants.csv", folder / "participants.csv")
    importer, rows, _ = parse(folder)
    listed = [r for r in rows if r["kind"] == "member_listed"]
    assert [(r["member_id"], r["member_name"], json.loads(r["extra"])) for r in listed] == [
        ("user1001", "Alice Smith", {"role": "member", "username": "alice"}),
        ("user1006", "Quiet Quinn", {"role": "member"}),
    ]
    assert [r["source_line"] for r in listed] == [21, 22]
    assert listed[0]["ts"] == datetime(2024, 1, 12, 10, 22)  # the export's last event
    assert "participants list: 2 members listed" in importer.notes()


def test_wrong_files_are_refused_in_one_sentence(tmp_path: Path) -> None:
    whatsapp = FIXTURES.parent / "whatsapp" / "quirks" / "WhatsApp Chat with Makers.txt"
    assert not TelegramImporter.sniff(whatsapp)
    discord = tmp_path / "result.json"
    discord.write_text('{"guild": {"id": "1"}, "channel": {}, "messages": []}', encoding="utf-8")
    assert not TelegramImporter.sniff(discord)
    with pytest.raises(ImportFormatError, match="is not a Telegram Desktop export"):
        TelegramImporter(discord)
    assert not WhatsAppImporter.sniff(FORUM)
    broken = tmp_path / "broken" / "result.json"
    broken.parent.mkdir()
    text = (FORUM / "result.json").read_text(encoding="utf-8")
    broken.write_text(text[: len(text) // 2] + "}{", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="is not valid JSON after message"):
        parse(broken.parent)


@pytest.mark.parametrize("batch", [False, True])
def test_messages_without_telegrams_header_are_refused_saying_what_is_missing(
    tmp_path: Path, batch: bool
) -> None:
    """The chat's messages as Telegram Desktop writes them, the header cut off (as in
    chat-miner's test files, `shared/format-samples/chat-miner/telegram`): the refusal
    says what is missing and what to do, not only that the file is unknown."""
    messages = json.loads((FORUM / "result.json").read_text(encoding="utf-8"))["messages"]
    cut: dict[str, Any] = {"messages": messages}
    if batch:
        cut = {"chats": {"list": [{"name": "Makers", **cut}]}}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(cut, ensure_ascii=False, indent=1), encoding="utf-8")
    assert not TelegramImporter.sniff(path)
    with pytest.raises(ImportFormatError) as refused:
        open_export(path)
    said = str(refused.value)
    assert str(path) in said
    assert 'without the header Telegram Desktop writes (a chat\'s "name", "type" and "id"' in said
    assert "export the chat again from Telegram Desktop" in said
    # a JSON file that is not Telegram's at all keeps the general sentence
    other = tmp_path / "other.json"
    other.write_text('{"messages": [{"time": 1, "text": "hi"}]}', encoding="utf-8")
    with pytest.raises(ImportFormatError, match="is not a chat export shequn recognises"):
        open_export(other)


def test_run_import_on_both_stores_then_reimport_stores_nothing(store: Store) -> None:
    first = run_import(store, FORUM, ImportSettings(timezone="Europe/Berlin"))
    stats = store.stats()
    assert stats["messages"] == 8
    assert stats["rejected_records"] == 1
    again = run_import(store, FORUM / "result.json", ImportSettings(timezone="Europe/Berlin"))
    assert again.new_events == 0
    assert first.new_events == 24  # every event of the fixture, counted by hand


def test_shequn_groups_shows_the_name_of_a_group_keyed_by_its_id(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shequn.cli import app

    db = str(tmp_path / "s.duckdb")
    runner = CliRunner()
    imported = runner.invoke(app, ["--store", db, "import", str(FORUM), "--timezone", "UTC"])
    assert imported.exit_code == 0, imported.output
    shown = runner.invoke(app, ["--store", db, "groups"])
    assert shown.exit_code == 0, shown.output
    header = next(line for line in shown.stdout.splitlines() if "community" in line)
    assert [c.strip() for c in header.split("┃")[1:5]] == ["community", "platform", "group", "name"]
    row = next(line for line in shown.stdout.splitlines() if "-1001987654321" in line)
    assert "Makers Forum" in row
