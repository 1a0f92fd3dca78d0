"""The WeChat importer on small exports in the exporters' real layouts, one quirk at a time."""

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
from shequn.importers.wechat import WeChatImporter, chats
from shequn.importers.wechat.source import ExportSource
from shequn.ingest import run_import
from shequn.store import Store

FIXTURES = Path(__file__).parents[2] / "fixtures" / "wechat"
MAKERS = FIXTURES / "memotrace" / "Makers" / "Makers_utf8.csv"
GBK = FIXTURES / "gbk"
PYWX = FIXTURES / "pywxdump"
PRIVATE = FIXTURES / "private"


def parse(path: Path, **settings: Any) -> tuple[WeChatImporter, list[dict[str, Any]], list[Any]]:
    importer = WeChatImporter(path)
    rows: list[dict[str, Any]] = []
    rejects: list[Any] = []
    defaults = {"timezone": "Asia/Shanghai", "commit_every": 5}
    for batch in importer.batches(ImportSettings(**{**defaults, **settings})):
        rows.extend(batch.events.to_pylist())
        rejects.extend(batch.rejects)
    return importer, rows, rejects


def at(rows: list[dict[str, Any]], line: int) -> list[dict[str, Any]]:
    return [r for r in rows if r["source_line"] == line]


def test_memotrace_messages_keep_ids_times_and_types() -> None:
    importer, rows, _ = parse(MAKERS)
    # TalkerId is numeric (217); the chatroom id is the one a recall's XML names
    assert importer.group_name == "20001234567@chatroom"
    assert importer.group_names == {"20001234567@chatroom": "Makers"}
    welcome = at(rows, 2)[0]
    assert (welcome["member_id"], welcome["member_name"], welcome["platform_id"]) == (
        "wxid_alice01",
        "Alice",
        "1001",
    )
    assert welcome["ts"] == datetime(2024, 3, 1, 12, 0, 14)  # CreateTime, UTC
    assert welcome["ts_raw"] == "2024-03-01 20:00:14"  # StrTime as written
    assert welcome["key"] == natural_key(
        "wechat", "default", "20001234567@chatroom", "message_posted", "1001", 1709294414
    )
    kinds = [at(rows, line)[0]["attachment_kind"] for line in range(5, 11)]
    assert kinds == ["image", "voice", "video", "sticker", "location", "document"]
    assert json.loads(at(rows, 11)[0]["extra"]) == {"quote": True}
    assert json.loads(at(rows, 12)[0]["extra"]) == {"link": True}


def test_multiline_quoted_fields_and_hostile_text() -> None:
    _, rows, _ = parse(MAKERS)
    assert at(rows, 3)[0]["text"] == (
        'first line\nsecond, with "quotes"\n2024-03-01 20:00:00 not a new row'
    )
    last = max(rows, key=lambda r: r["source_line"])
    assert last["text"] == '=SUM(A1) <script>alert(1)</script>, "quoted", 你好'


def test_mentions_end_in_a_four_per_em_space() -> None:
    _, rows, _ = parse(MAKERS)
    mine = at(rows, 4)[0]
    assert (mine["member_id"], mine["mentions"]) == ("wxid_me01", ["wxid_alice01"])


def test_invitations_one_row_per_invitee_resolved_to_wxids() -> None:
    _, rows, _ = parse(MAKERS)
    me = at(rows, 1)[0]
    assert (me["member_id"], me["member_name"], me["by_member_id"], me["join_method"]) == (
        "wxid_me01",
        None,
        "wxid_alice01",
        "added",
    )
    several = [(r["member_id"], r["by_member_id"]) for r in at(rows, 13)]
    assert several == [("Dan", "wxid_alice01"), ("wxid_zh04", "wxid_alice01")]
    assert [r["member_id"] for r in at(rows, 15)] == ["Eve", "Frank", "Gina"]
    assert len({r["key"] for r in at(rows, 15)}) == 3
    quoted = at(rows, 16)[0]
    assert (quoted["member_id"], quoted["by_member_id"]) == ("wxid_q05", "wxid_me01")
    assert at(rows, 18)[0]["by_member_id"] == "wxid_q05"


def test_qr_joins_removals_recalls_and_renames() -> None:
    _, rows, _ = parse(MAKERS)
    qr = at(rows, 19)[0]
    assert (qr["member_id"], qr["by_member_id"], qr["join_method"]) == (
        "Hank",
        "wxid_alice01",
        "qr_code",
    )
    assert at(rows, 20)[0]["by_member_id"] == "wxid_me01"
    removed = [(r["kind"], r["member_id"], r["by_member_id"]) for r in at(rows, 21) + at(rows, 22)]
    assert removed == [
        ("member_removed", "Hank", "wxid_me01"),
        ("member_removed", "Ivy", "wxid_alice01"),
    ]
    assert (at(rows, 25)[0]["kind"], at(rows, 25)[0]["member_id"]) == ("message_deleted", "Sam")
    assert at(rows, 26)[0]["member_id"] == "wxid_me01"
    renamed = at(rows, 27)[0]
    assert (renamed["kind"], renamed["member_id"], renamed["text"]) == (
        "group_renamed",
        "wxid_alice01",
        "Makers 2",
    )
    notice = at(rows, 28)[0]
    assert (notice["kind"], notice["text"]) == ("system_notice", '"Bob" 拍了拍 "Alice"')


def test_sysmsg_xml_rows_give_wxids() -> None:
    _, rows, _ = parse(MAKERS)
    recall = at(rows, 29)[0]
    assert (recall["member_id"], recall["reply_to"]) == ("wxid_carol03", "7012345678901234567")
    assert [(r["member_id"], r["member_name"]) for r in at(rows, 30)] == [
        ("wxid_jo10", "Jo"),
        ("wxid_ken11", "Ken"),
    ]


def test_english_client_lines() -> None:
    importer, rows, _ = parse(MAKERS)
    assert at(rows, 32)[0]["text"] == "Makers EN"
    assert (at(rows, 33)[0]["member_id"], at(rows, 33)[0]["by_member_id"]) == ("Dan", "wxid_me01")
    assert at(rows, 34)[0]["join_method"] == "qr_code"
    assert "system lines in en/zh" in importer.notes()


def test_a_malformed_row_is_rejected_with_file_and_row_and_the_rest_imported() -> None:
    importer, rows, rejects = parse(MAKERS)
    assert len(rejects) == 1
    reject = rejects[0]
    assert (reject.source, reject.line) == ("Makers_utf8.csv", 31)
    assert "row 31: CreateTime 'not-a-time' is not an integer" in reject.reason
    assert at(rows, 31) == [] and at(rows, 32) != []
    assert any("Sam" in note for note in importer.notes())


def test_batches_end_on_records_and_positions_increase() -> None:
    importer = WeChatImporter(MAKERS)
    batches = list(importer.batches(ImportSettings(timezone="UTC", commit_every=4)))
    positions = [b.position for b in batches]
    assert positions == sorted(set(positions)) and positions[-1] == 35
    for batch in batches:
        lines = batch.events.column("source_line").to_pylist()
        assert max(lines) <= batch.position
    assert batches[-1].bytes_read == importer.total_bytes


def test_gbk_saved_by_excel_is_detected_and_noted() -> None:
    importer, rows, rejects = parse(GBK)
    assert rejects == []
    assert importer.group_name == "34567890@chatroom"
    assert importer.group_names == {"34567890@chatroom": "读书会"}
    assert at(rows, 2)[0]["text"] == "今天的分享很有收获，谢谢大家"
    assert at(rows, 3)[0]["text"] == "明天晚上八点直播，别忘了\n记得签到"
    assert [r["member_id"] for r in at(rows, 1)] == ["wxid_li22", "张敏"]
    assert at(rows, 6)[0]["text"] == "深圳读书会"
    assert any("guessed as GB18030/GBK" in note for note in importer.notes())


def test_utf8_with_bom_reads_without_a_note(tmp_path: Path) -> None:
    plain = tmp_path / "Makers_utf8.csv"
    plain.write_bytes(MAKERS.read_bytes()[3:])  # the same file without its BOM
    _, with_bom, _ = parse(MAKERS)
    importer, without, _ = parse(plain)
    strip = [{k: v for k, v in r.items() if k != "import_id"} for r in with_bom]
    assert strip == [{k: v for k, v in r.items() if k != "import_id"} for r in without]
    assert not any("encoding" in note for note in importer.notes())


def test_pywxdump_pages_users_quotes_and_roster() -> None:
    importer, rows, rejects = parse(PYWX, me="Rupert")
    assert importer.group_name == "25252525@chatroom"  # one chat (its room list adds none)
    assert set(importer.group_names) == {"25252525@chatroom"}
    posted = [r for r in rows if r["kind"] == "message_posted"]
    assert {r["group_id"] for r in rows} == {"25252525@chatroom"}
    hello = at(rows, 2)[0]
    assert (hello["platform_id"], hello["ts"], hello["ts_raw"]) == (
        "7002",
        datetime(2024, 3, 4, 12, 0, 5),
        "2024-03-04 20:00:05",
    )
    mine = at(rows, 3)[0]
    assert (mine["member_id"], mine["mentions"]) == ("Rupert", ["wxid_bob002"])
    assert at(rows, 4)[0]["member_name"] == "Bobby"  # the remark users.json holds
    quote = at(rows, 5)[0]
    assert (quote["text"], quote["reply_to"]) == ("agreed", "7002")
    assert at(rows, 6)[0]["text"].startswith("Reading list\n")
    assert at(rows, 9)[0]["member_id"] == "wxid_dan04"  # from the second page
    assert len(posted) == 8
    assert [(r.line, "MsgSvrID is empty" in r.reason) for r in rejects] == [(11, True)]
    listed = [r for r in rows if r["kind"] == "member_listed"]
    assert [(r["member_id"], json.loads(r["extra"])["role"]) for r in listed][:2] == [
        ("wxid_alice01", "owner"),
        ("wxid_bob002", "member"),
    ]
    assert listed[0]["member_name"] == "群主 Alice"
    assert listed[0]["ts"] == datetime(2024, 3, 4, 12, 1, 30)  # the chat's last message


def test_a_wechatmsg_csv_naming_no_chatroom_is_keyed_by_its_name(tmp_path: Path) -> None:
    """No id in the folder / file name, TalkerId numeric, no recall or pat XML: the name."""
    lines = MAKERS.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    kept = [line for line in lines if "<session>" not in line]
    assert len(kept) == len(lines) - 1
    copy = tmp_path / "Makers" / "Makers_utf8.csv"
    copy.parent.mkdir()
    copy.write_text("".join(kept), encoding="utf-8-sig")
    importer, rows, _ = parse(copy)
    assert importer.group_name == "Makers"
    assert {r["group_id"] for r in rows} == {"Makers"}


def test_the_chatroom_of_a_recall_is_found_across_read_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "Makers_utf8.csv"
    shutil.copy(MAKERS, copy)
    source = ExportSource(copy)
    at_tag = copy.read_bytes().index(b"<session>")
    for block in (at_tag + 3, at_tag + 20, 1 << 20):  # the tag cut by a block's end, or not
        monkeypatch.setattr(chats, "_SCAN_BLOCK", block)
        assert chats.room_in_system_xml(source, source.entries[0]) == "20001234567@chatroom"


def test_folder_of_chats_imports_the_groups_and_skips_private_chats(tmp_path: Path) -> None:
    folder = tmp_path / "聊天记录"
    for source in (MAKERS.parent, GBK / "读书会(34567890@chatroom)", PRIVATE / "老王"):
        shutil.copytree(source, folder / source.name)
    (folder / "Makers" / "image").mkdir()
    (folder / "Makers" / "image" / "a.jpg").write_bytes(b"\xff\xd8")
    importer, rows, _ = parse(folder)
    assert importer.group_name == "聊天记录"
    assert {r["group_id"] for r in rows} == {"20001234567@chatroom", "34567890@chatroom"}
    assert any("老王_utf8.csv: a private chat, skipped" in note for note in importer.notes())
    assert importer.media_counts() == {"image": 1}
    lines = [r["source_line"] for r in rows]
    assert lines == sorted(lines)


def test_zip_reads_like_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "wechat.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(PYWX.rglob("*")):
            if path.is_file():
                zf.write(path, f"export/{path.relative_to(PYWX).as_posix()}")
    assert WeChatImporter.sniff(archive)
    _, zipped, zip_rejects = parse(archive, me="Rupert")
    _, folder, _ = parse(PYWX, me="Rupert")
    drop = ("import_id", "ts")  # the roster's ts: the chat's last message in both
    assert [{k: v for k, v in r.items() if k not in drop} for r in zipped] == [
        {k: v for k, v in r.items() if k not in drop} for r in folder
    ]
    assert (
        zip_rejects[0].source
        == "wechat.zip:export/25252525@chatroom/25252525@chatroom_5000_10000.csv"
    )


def test_not_a_wechat_export(tmp_path: Path) -> None:
    other = tmp_path / "people.csv"
    other.write_text("name,email\nBob,bob@example.com\n", encoding="utf-8")
    assert not WeChatImporter.sniff(other)
    with pytest.raises(ImportFormatError, match="is not a WeChat export"):
        WeChatImporter(other)
    whatsapp = Path(__file__).parents[2] / "fixtures" / "whatsapp"
    assert not any(WeChatImporter.sniff(p) for p in whatsapp.rglob("*") if p.is_file())
    assert WeChatImporter.sniff(MAKERS) and WeChatImporter.sniff(PYWX)


def test_open_export_finds_wechat() -> None:
    assert open_export(MAKERS).platform == "wechat"
    assert open_export(GBK).platform == "wechat"


def test_import_into_both_stores_and_reimport_adds_nothing(store: Store) -> None:
    settings = ImportSettings(timezone="Asia/Shanghai")
    first = run_import(store, MAKERS, settings)
    assert first.record.rejected == 1
    stats = store.stats()
    assert stats["messages"] == 16
    assert stats["joins"] == 13 and stats["removals"] == 3 and stats["deleted_messages"] == 3
    again = run_import(store, MAKERS, settings)
    assert again.new_events == 0
    assert store.stats()["messages"] == 16
