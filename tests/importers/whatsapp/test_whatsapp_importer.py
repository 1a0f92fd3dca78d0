"""The WhatsApp importer on small exports in the real layouts, one quirk at a time."""

from __future__ import annotations

import gc
import json
import weakref
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shequn.errors import ImportFormatError
from shequn.events import natural_key
from shequn.importers.base import ImportSettings
from shequn.importers.whatsapp import WhatsAppImporter

QUIRKS = Path(__file__).parents[2] / "fixtures" / "whatsapp" / "quirks"
MAKERS = QUIRKS / "WhatsApp Chat with Makers.txt"


def parse(path: Path, **settings: Any) -> tuple[WhatsAppImporter, list[dict[str, Any]], list[Any]]:
    importer = WhatsAppImporter(path)
    rows: list[dict[str, Any]] = []
    rejects: list[Any] = []
    for batch in importer.batches(ImportSettings(**{"timezone": "UTC", **settings})):
        rows.extend(batch.events.to_pylist())
        rejects.extend(batch.rejects)
    rows.sort(key=lambda r: (r["source_line"], r["kind"], r["member_id"] or ""))
    return importer, rows, rejects


def by_line(rows: list[dict[str, Any]], line: int) -> list[dict[str, Any]]:
    return [r for r in rows if r["source_line"] == line]


def test_android_layout_messages_and_system_lines() -> None:
    importer, rows, rejects = parse(MAKERS)
    assert (importer.layout, importer.date_order, importer.group_name) == (
        "android",
        "dmy",
        "Makers",
    )
    assert rejects == []
    kinds = [(r["source_line"], r["kind"]) for r in rows]
    assert kinds[:3] == [(1, "system_notice"), (2, "group_created"), (3, "member_joined")]
    added = by_line(rows, 3)
    assert [(r["member_id"], r["by_member_id"], r["join_method"]) for r in added] == [
        ("Bob", "Alice", "added"),
        ("Carol", "Alice", "added"),
        ("Dave", "Alice", "added"),
    ]
    assert by_line(rows, 21)[0]["join_method"] == "invite_link"
    removed = by_line(rows, 22)[0]
    assert (removed["kind"], removed["member_id"], removed["by_member_id"]) == (
        "member_removed",
        "Dave",
        "Alice",
    )
    assert by_line(rows, 23)[0]["kind"] == "member_left"
    renamed = by_line(rows, 24)[0]
    assert (renamed["kind"], renamed["text"], json.loads(renamed["extra"])) == (
        "group_renamed",
        "Makers",
        {"old": "Makers: old"},
    )
    assert by_line(rows, 25)[0]["kind"] == "group_description_changed"
    assert by_line(rows, 26)[0]["kind"] == "group_icon_changed"
    number = by_line(rows, 27)[0]
    assert (number["member_id"], json.loads(number["extra"])) == (
        "+491701234567",
        {"new": "+491707654321"},
    )
    assert by_line(rows, 28)[0]["kind"] == "security_notice"


def test_multiline_messages_keep_newlines_and_fake_dates() -> None:
    _, rows, _ = parse(MAKERS)
    carol = by_line(rows, 7)[0]
    assert carol["text"] == "first line\nsecond line\n12/31 was fun: really"
    assert by_line(rows, 8) == [] and by_line(rows, 9) == []


def test_names_with_colons_bidi_marks_tilde_and_phone_numbers() -> None:
    _, rows, _ = parse(MAKERS)
    doctor = by_line(rows, 10)[0]
    assert (doctor["member_id"], doctor["text"]) == ("Dr: Who", "I am the doctor")
    phone = by_line(rows, 12)[0]
    assert (phone["member_id"], phone["member_name"]) == (
        "+491701234567",
        "\u202a+49 170 1234567\u202c",
    )
    assert by_line(rows, 13)[0]["member_id"] == by_line(rows, 14)[0]["member_id"] == "Maria"
    assert by_line(rows, 13)[0]["member_name"] == "~ Maria"


def test_media_attachments_deleted_and_edited() -> None:
    _, rows, _ = parse(MAKERS)
    media = by_line(rows, 15)[0]
    assert (media["kind"], media["attachment_kind"], media["text"]) == (
        "message_posted",
        "media",
        None,
    )
    deleted = by_line(rows, 16)
    assert [r["kind"] for r in deleted] == ["message_deleted", "message_posted"]
    assert deleted[0]["reply_to"] == deleted[1]["key"]
    attached = by_line(rows, 17)[0]
    assert (attached["attachment_kind"], attached["text"]) == ("image", "look at this")
    edited = by_line(rows, 19)
    assert [r["kind"] for r in edited] == ["message_edited", "message_posted"]
    assert edited[1]["text"] == "fixed typo"


def test_hostile_text_is_kept_verbatim_with_mentions() -> None:
    _, rows, _ = parse(MAKERS)
    last = by_line(rows, 30)[0]
    assert last["text"] == "@Alice <script>alert(1)</script> 你好"
    assert last["mentions"] == ["Alice"]


def test_out_of_order_timestamps_are_kept_as_written() -> None:
    _, rows, _ = parse(MAKERS)
    late = by_line(rows, 20)[0]
    assert late["ts"] == datetime(2023, 12, 31, 21, 5)
    assert late["ts"] < by_line(rows, 19)[0]["ts"]


def test_identical_messages_in_one_minute_are_two_events() -> None:
    _, rows, _ = parse(MAKERS)
    oks = by_line(rows, 5) + by_line(rows, 6)
    assert [r["text"] for r in oks] == ["ok", "ok"]
    assert oks[0]["key"] != oks[1]["key"]
    # the documented natural key: group, stamp as written, author, text; repeats add n
    first = natural_key("whatsapp", "default", "Makers", "31/12/23, 21:02", "Bob", "ok")
    assert oks[0]["key"] == first
    assert oks[1]["key"] == natural_key(first, 1)


def test_timezone_converts_to_utc_but_keys_do_not_change() -> None:
    _, utc_rows, _ = parse(MAKERS)
    _, sh_rows, _ = parse(MAKERS, timezone="Asia/Shanghai")
    assert [r["key"] for r in utc_rows] == [r["key"] for r in sh_rows]
    assert sh_rows[5]["ts"] == datetime(2023, 12, 31, 13, 2)  # 21:02 in UTC+8


def test_crlf_and_bom_read_like_the_plain_file() -> None:
    _, plain, _ = parse(MAKERS)
    _, crlf, _ = parse(QUIRKS / "crlf_bom.txt", group="Makers")
    strip = [{k: v for k, v in r.items() if k != "import_id"} for r in plain]
    assert strip == [{k: v for k, v in r.items() if k != "import_id"} for r in crlf]


def test_ios_zip_layout_with_system_lines_media_and_counts() -> None:
    importer, rows, rejects = parse(QUIRKS / "WhatsApp Chat - Makers.zip")
    assert (importer.layout, importer.group_name, rejects) == ("ios", "Makers", [])
    assert rows[0]["kind"] == "system_notice"  # group-name author + U+200E
    assert [r["attachment_kind"] for r in rows if r["source_line"] in (3, 4)] == ["image", "image"]
    assert by_line(rows, 5)[0]["member_id"] == "Dr: Who"
    assert by_line(rows, 5)[0]["text"] == "mehrere\nZeilen"
    assert importer.media_counts() == {"image": 1, "video": 1, "voice": 1}
    assert rows[1]["ts"] == datetime(2023, 12, 31, 21, 0, 2)


def test_twelve_hour_clock_with_narrow_space() -> None:
    importer, rows, _ = parse(QUIRKS / "android_12h_mdy.txt")
    assert importer.date_order == "mdy"
    assert [r["ts"] for r in rows] == [
        datetime(2023, 12, 31, 21, 5),
        datetime(2024, 1, 1, 0, 10),
        datetime(2024, 1, 1, 12, 10),
    ]
    assert rows[0]["ts_raw"] == "12/31/23, 9:05\u202fPM"


def test_year_first_dates() -> None:
    importer, rows, _ = parse(QUIRKS / "android_ymd.txt")
    assert importer.date_order == "ymd"
    assert rows[0]["ts"] == datetime(2023, 12, 31, 21, 5)


def test_ambiguous_dates_are_decided_by_time_order_of_the_whole_file() -> None:
    importer, rows, _ = parse(QUIRKS / "ambiguous.txt")
    assert importer.date_order == "mdy"
    assert "ambiguous" in importer.date_note
    assert [r["ts"].month for r in rows] == [1, 1, 1, 2, 2]


def test_date_order_option_decides_only_ambiguous_files() -> None:
    importer, _, _ = parse(QUIRKS / "ambiguous.txt", date_order="dmy")
    assert importer.date_order == "dmy"
    importer, _, _ = parse(MAKERS, date_order="mdy")
    assert importer.date_order == "dmy"  # day 31 proves day-first


def test_malformed_lines_are_reported_and_good_lines_kept() -> None:
    _, rows, rejects = parse(QUIRKS / "malformed.txt")
    assert [r["text"] for r in rows] == ["good one", "good two"]
    assert [(r.line, r.reason.split(" ")[0]) for r in rejects] == [
        (1, "text"),
        (3, "invalid"),
        (4, "invalid"),
    ]
    assert all(r.source.endswith("malformed.txt") for r in rejects)


@pytest.mark.parametrize(
    "content",
    [
        "just some notes\nnothing to see\n",
        '{"name": "Telegram", "messages": []}',
        "",
    ],
)
def test_a_file_that_is_not_an_export_gets_one_sentence(tmp_path: Path, content: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(content)
    with pytest.raises(ImportFormatError) as info:
        WhatsAppImporter(path)
    message = str(info.value)
    assert "notes.txt" in message and "not a WhatsApp chat export" in message
    assert "\n" not in message


def test_chunked_parse_equals_whole_parse() -> None:
    _, whole, _ = parse(MAKERS)
    _, chunked, _ = parse(MAKERS, commit_every=3)
    assert [r["key"] for r in whole] == [r["key"] for r in chunked]
    assert whole == chunked


REVIEW = Path(__file__).parents[2] / "fixtures" / "whatsapp" / "review"


def test_messages_that_read_like_system_lines_stay_messages() -> None:
    _, rows, _ = parse(REVIEW / "WhatsApp Chat with Lookalikes.txt")
    kinds = {r["source_line"]: r["kind"] for r in rows}
    assert [kinds[line] for line in (3, 4, 5, 6)] == ["message_posted"] * 4
    assert by_line(rows, 3)[0]["member_id"] == "Tom"
    assert by_line(rows, 5)[0]["text"] == "sorry, Sam left"
    # a real system line naming a member whose name has ': ' (known from their posts)
    added = sorted(r["member_id"] for r in by_line(rows, 2))
    assert added == ["Bob", "Dr: Who"]  # "Bob" twice on one line is one fact
    assert by_line(rows, 9)[0]["kind"] == "group_renamed"


def test_me_does_not_change_keys() -> None:
    _, without, _ = parse(REVIEW / "WhatsApp Chat with Lookalikes.txt")
    _, with_me, _ = parse(REVIEW / "WhatsApp Chat with Lookalikes.txt", me="Zed")
    assert [r["key"] for r in without] == [r["key"] for r in with_me]
    assert by_line(with_me, 10)[0]["member_id"] == "Zed"


def test_repeats_far_apart_are_numbered_whatever_the_chunk_size() -> None:
    _, whole, _ = parse(REVIEW / "WhatsApp Chat with Repeats.txt")
    _, small, _ = parse(REVIEW / "WhatsApp Chat with Repeats.txt", commit_every=2)
    assert len(whole) == len(small) == 10
    assert len({r["key"] for r in small}) == 10
    assert [r["key"] for r in whole] == [r["key"] for r in small]


def test_old_mac_line_ends() -> None:
    _, rows, _ = parse(REVIEW / "WhatsApp Chat with OldMac.txt")
    assert [(r["member_id"], r["text"]) for r in rows] == [
        ("Ann", "one"),
        ("Bob", "two\ncontinued"),
    ]


def test_nul_bytes_are_dropped() -> None:
    _, rows, _ = parse(REVIEW / "WhatsApp Chat with Nul.txt")
    assert [r["text"] for r in rows] == ["nulhere", "fine"]


def test_an_archive_with_several_chats_is_refused_with_their_names() -> None:
    with pytest.raises(ImportFormatError) as info:
        WhatsAppImporter(REVIEW / "two chats.zip")
    assert "2 chats" in str(info.value) and "WhatsApp Chat with A.txt" in str(info.value)


def test_notes_say_how_the_file_was_read() -> None:
    twelve, _, _ = parse(QUIRKS / "android_12h_mdy.txt")
    assert twelve.notes() == ["month-first: the second date field exceeds 12; 12-hour clock"]
    plain, _, _ = parse(MAKERS)
    assert plain.notes() == [
        "day-first: the first date field exceeds 12",
        "system lines in language 'en'",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "WhatsApp Chat with Makers.txt",
        "crlf_bom.txt",
        "android_12h_mdy.txt",
        "android_ymd.txt",
        "ambiguous.txt",
        "malformed.txt",
        "ios_de.txt",
    ],
)
def test_survey_by_duckdb_reads_what_the_arrow_path_reads(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = WhatsAppImporter(QUIRKS / name)
    assert fast.chat.plain_file() is not None
    fast_names = fast._survey(ImportSettings(timezone="UTC"))
    slow = WhatsAppImporter(QUIRKS / name)
    monkeypatch.setattr(slow.chat, "plain_file", lambda: None)
    slow_names = slow._survey(ImportSettings(timezone="UTC"))
    assert fast_names.sort_by("prefix").equals(slow_names.sort_by("prefix"))
    assert (fast.date_order, fast.date_note) == (slow.date_order, slow.date_note)


def test_files_with_control_bytes_take_the_arrow_path() -> None:
    assert WhatsAppImporter(REVIEW / "WhatsApp Chat with Nul.txt").chat.plain_file() is None
    assert WhatsAppImporter(REVIEW / "WhatsApp Chat with OldMac.txt").chat.plain_file() is None
    assert WhatsAppImporter(QUIRKS / "WhatsApp Chat - Makers.zip").chat.plain_file() is None


def test_colon_names_do_not_depend_on_how_a_zip_is_cut(tmp_path: Path) -> None:
    """A zip is surveyed chunk by chunk (``--commit-every`` lines): "Dr: Who" posting one
    message per chunk is still one member saying different things, as in one piece."""
    lines = []
    for day in range(1, 7):
        lines.append(f"0{day}/02/24, 10:00 - Ana: morning {day}\n")
        lines.append(f"0{day}/02/24, 10:01 - Dr: Who: visit number {day}\n")
    chat = tmp_path / "WhatsApp Chat - Clinic.zip"
    with zipfile.ZipFile(chat, "w") as archive:
        archive.writestr("WhatsApp Chat with Clinic.txt", "".join(lines))
    whole = [(r["member_id"], r["text"]) for r in parse(chat, commit_every=100)[1]]
    for size in (2, 3, 5):
        cut = [(r["member_id"], r["text"]) for r in parse(chat, commit_every=size)[1]]
        assert cut == whole, size
    assert ("Dr: Who", "visit number 4") in whole


def test_a_text_with_a_colon_is_not_taken_for_a_colon_name(tmp_path: Path) -> None:
    """A member who only ever posts one text with ': ' keeps their own name."""
    chat = tmp_path / "WhatsApp Chat with Links.txt"
    chat.write_text(
        "01/02/24, 10:00 - Lucas Tanaka 3: Here is the link: https://example.com/a\n"
        "01/02/24, 10:05 - Bob: Slides: https://docs.example.org/s/1\n"
        "02/02/24, 11:00 - Lucas Tanaka 3: Here is the link: https://example.com/a\n"
        "02/02/24, 11:05 - Bob: Slides: https://docs.example.org/s/1\n"
        "03/02/24, 12:00 - Dr: Who: first visit\n"
        "03/02/24, 12:01 - Dr: Who: second visit\n",
        encoding="utf-8",
    )
    _, rows, _ = parse(chat)
    authors = [(r["member_id"], r["text"]) for r in rows]
    assert authors == [
        ("Lucas Tanaka 3", "Here is the link: https://example.com/a"),
        ("Bob", "Slides: https://docs.example.org/s/1"),
        ("Lucas Tanaka 3", "Here is the link: https://example.com/a"),
        ("Bob", "Slides: https://docs.example.org/s/1"),
        ("Dr: Who", "first visit"),
        ("Dr: Who", "second visit"),
    ]


def test_a_system_line_with_an_invalid_date_is_a_reject_not_an_event(tmp_path: Path) -> None:
    export = tmp_path / "WhatsApp Chat with Dates.txt"
    export.write_text(
        "14/03/2024, 10:00 - Ann: hello\n"
        "31/02/2024, 10:01 - Bob joined using this group's invite link\n"
        "14/03/2024, 10:02 - Carl joined using this group's invite link\n"
        "14/03/2024, 10:03 - Ann: welcome\n",
        encoding="utf-8",
    )
    _, rows, rejects = parse(export)
    assert [(r["source_line"], r["kind"], r["member_id"]) for r in rows] == [
        (1, "message_posted", "Ann"),
        (3, "member_joined", "Carl"),
        (4, "message_posted", "Ann"),
    ]
    assert [(r.line, r.reason.split(" ")[0]) for r in rejects] == [(2, "invalid")]


def test_a_yielded_batch_is_not_held_while_the_next_chunk_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The import's peak counts every batch still referenced: once the store lets go of
    one, the importer must not keep it (nor the chunk's lines) through the next parse."""
    from shequn.importers.whatsapp import parser as parser_module

    previous: list[weakref.ref[Any]] = []
    held: list[bool] = []
    parse = parser_module.ChunkParser.parse

    def checking_parse(self: Any, msgs: Any) -> Any:
        gc.collect()
        held.extend(ref() is not None for ref in previous)
        return parse(self, msgs)

    monkeypatch.setattr(parser_module.ChunkParser, "parse", checking_parse)
    batches = WhatsAppImporter(MAKERS).batches(ImportSettings(timezone="UTC", commit_every=3))
    for _ in range(3):
        batch = next(batches)
        previous[:] = [weakref.ref(batch.events)]
        del batch
    batches.close()
    assert held == [False, False]


def test_pasted_pages_import_whole(tmp_path: Path) -> None:
    """300 messages of 60 KB each (under WhatsApp's 65,536 characters) among short
    ones ran the chunk query out of its 64 MB; every one is stored, every byte kept,
    and multi-line pages keep their newlines."""
    page = "lorem ipsum dolor sit amet, " * 2_100
    chat = tmp_path / "WhatsApp Chat with Pages.txt"
    expected: list[str] = []
    with chat.open("w", encoding="utf-8") as out:
        for i in range(3_000):
            hour, minute = divmod(i, 60)
            text = f"{i}: {page}\nsecond line {i}" if i % 10 == 0 else f"hello {i}"
            expected.append(text)
            out.write(f"12/31/23, {hour % 24:02d}:{minute:02d} - Member {i % 50}: {text}\n")
    _, rows, rejects = parse(chat)
    assert rejects == []
    assert [r["text"] for r in rows] == expected


def test_marks_behind_leading_lrms_and_mentions_need_a_word(tmp_path: Path) -> None:
    lrm = "\u200e"
    lines = [
        f"31/12/23, 21:00 - Ann: {lrm * 12}This message was deleted",  # longer than any
        "31/12/23, 21:01 - Ann: This message was deleted, or was it?",
        f"31/12/23, 21:02 - Ann: {lrm}<attached: 00000042-PHOTO-2023-12-31.jpg>",
        "31/12/23, 21:03 - Ann: <attached: 00000043-VIDEO-2023-12-31.mp4>",
        f"31/12/23, 21:04 - Ann: {lrm * 40}<Media omitted>",  # too long to be media
        "31/12/23, 21:05 - Ann: write to bo@example and @ nobody",
        "31/12/23, 21:06 - Ann: @ @@ @-",
    ]
    export = tmp_path / "WhatsApp Chat with Marks.txt"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, rows, _ = parse(export)
    posted = {r["source_line"]: r for r in rows if r["kind"] == "message_posted"}
    assert [r["source_line"] for r in rows if r["kind"] == "message_deleted"] == [1]
    assert posted[2]["text"] == lines[1].split(": ", 1)[1]
    assert [posted[n]["attachment_kind"] for n in (3, 4, 5)] == ["image", "video", None]
    assert posted[5]["text"] == f"{lrm * 40}<Media omitted>"
    assert [posted[n]["mentions"] for n in (6, 7)] == [["example"], None]
