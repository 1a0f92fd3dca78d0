"""Each layout option (iOS, 12h, ymd, CRLF, BOM, zip, time zones, languages) and determinism."""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from simhelp import Sim, simulate

from shequn.errors import ConfigError
from shequn.importers.whatsapp.system_lines import LANGUAGES, languages, match
from shequn.simulate import simulate_export
from shequn.simulate.community import BLOCK_SIZE

SMALL = {"members": 40, "messages": 2_500, "days": 30, "seed": 11}


def test_ios_layout(ios: Sim) -> None:
    group = ios.summary.group_name
    assert ios.summary.export_path.name == f"WhatsApp Chat - {group}.zip"
    assert ios.summary.chat_file == "_chat.txt"
    assert re.match(r"^\[1/1/24, \d{1,2}:\d{2}:\d{2} [AP]M\] ", ios.lines[0])
    # system lines: the group's name as author and a mark before the text
    assert ios.lines[0].split("] ", 1)[1].startswith(f"{group}: \u200eMessages and calls")
    assert all(line.startswith("[") or line.startswith("\u200e[") for line in ios.lines[:20])
    media = [line for line in ios.lines if line.startswith("\u200e[")]
    assert any(line.endswith(": \u200eimage omitted") for line in media)
    assert any(line.endswith(": \u200eThis message was deleted") for line in media)
    assert ios.truth["counts"]["media_omitted"] + ios.truth["counts"]["attachments"] <= len(media)
    kinds = {r["attachment_kind"] for r in ios.posted} - {None}
    assert {"image", "sticker", "video", "voice"} <= kinds


def test_ios_zip_holds_the_attached_files(ios: Sim) -> None:
    attached = re.findall(r": \u200e<attached: ([^>]+)>", ios.text)
    assert len(attached) == ios.truth["counts"]["attachments"] >= 3
    assert all(
        re.match(r"^\d{8}-(PHOTO|VIDEO|AUDIO|STICKER|DOCUMENT)-[\d-]{19}\.\w+$", a)
        for a in attached
    )
    with zipfile.ZipFile(ios.summary.export_path) as zf:
        names = zf.namelist()
    assert names[0] == "_chat.txt"
    assert sorted(names[1:]) == sorted(attached) == sorted(ios.summary.media_files)


def test_android_zip(tmp_path: Path) -> None:
    sim = simulate(tmp_path, **SMALL, zip=True)
    path = sim.summary.export_path
    assert path.name == f"WhatsApp Chat with {sim.summary.group_name}.zip"
    attached = re.findall(r": (\S+) \(file attached\)", sim.text)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert names[0] == f"WhatsApp Chat with {sim.summary.group_name}.txt"
    assert sorted(names[1:]) == sorted(attached)
    assert all(re.match(r"^(IMG|VID|PTT|STK|DOC)-\d{8}-WA\d{4}\.\w+$", a) for a in attached)


def test_ymd_dates(tmp_path: Path) -> None:
    sim = simulate(tmp_path, **SMALL, date_order="ymd")
    assert sim.lines[0].startswith("2024/01/01, ")
    assert all(r["ts_raw"].startswith("2024/") for r in sim.rows)


def test_mdy_dates_are_not_zero_padded(ios: Sim) -> None:
    assert any(r["ts_raw"].startswith("1/5/24, ") for r in ios.rows)


def test_crlf_line_endings(tmp_path: Path) -> None:
    sim = simulate(tmp_path, **SMALL, crlf=True)
    assert sim.raw.count(b"\n") == sim.raw.count(b"\r\n") == sim.truth["counts"]["lines"]
    multi = [r["text"] for r in sim.posted if r["text"] and "\n" in r["text"]]
    assert multi and all("\r" not in t for t in multi)


def test_bom(tmp_path: Path) -> None:
    sim = simulate(tmp_path, **SMALL, bom=True)
    assert sim.raw.startswith(b"\xef\xbb\xbf")
    assert sim.raw.count("\ufeff".encode()) == 1
    assert sim.header().match(sim.lines[0])


@pytest.mark.parametrize(
    ("timezone", "start"),
    [
        ("Europe/Berlin", "2024-03-20"),
        ("America/New_York", "2024-10-25"),
        ("Asia/Kolkata", "2024-01-01"),
    ],
)
def test_local_times_have_one_utc_instant(tmp_path: Path, timezone: str, start: str) -> None:
    sim = simulate(tmp_path, **SMALL, timezone=timezone, start=start)
    tz = ZoneInfo(timezone)
    for r in sim.rows:
        local = datetime.strptime(r["ts_raw"], "%d/%m/%y, %H:%M")
        assert tz.utcoffset(local.replace(fold=0)) == tz.utcoffset(local.replace(fold=1))
        utc = local.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
        assert utc == r["ts_utc"], r


@pytest.mark.parametrize("lang", languages())
def test_every_language_writes_lines_its_table_reads(tmp_path: Path, lang: str) -> None:
    sim = simulate(tmp_path, **SMALL, language=lang)
    header = sim.header()
    for r in sim.rows:
        if r["kind"] in ("message_posted", "message_deleted"):
            continue
        line = sim.lines[r["line"] - 1]
        found = match(line[header.match(line).end() :], lang)  # type: ignore[union-attr]
        assert found is not None, line
    language = LANGUAGES[lang]
    assert any(text in sim.text for text in language.media_omitted)
    assert language.deleted[0] in sim.text


def test_blocks_join_seamlessly(tmp_path: Path) -> None:
    """More messages than one block: lines and reply targets stay right across the seam."""
    sim = simulate(tmp_path, members=200, messages=BLOCK_SIZE + 5_000, days=60, seed=5)
    by_line = {r["line"]: r for r in sim.posted}
    assert len(by_line) == BLOCK_SIZE + 5_000
    header = sim.header()
    assert sum(1 for line in sim.lines if header.match(line)) == len({r["line"] for r in sim.rows})
    for r in sim.posted:
        if r["reply_to_line"] is not None:
            assert by_line[r["reply_to_line"]]["line"] < r["line"]
    lines = sorted(by_line)
    seam = lines[BLOCK_SIZE - 3 : BLOCK_SIZE + 3]
    for n in seam:
        assert sim.lines[n - 1].startswith(by_line[n]["ts_raw"] + " - " + by_line[n]["member_name"])


def test_a_group_without_messages(tmp_path: Path) -> None:
    sim = simulate(tmp_path, members=10, messages=0, days=1, seed=1)
    assert sim.truth["counts"]["messages"] == 0
    assert sim.truth["counts"]["joins"] == 9
    assert len(sim.lines) == sim.truth["counts"]["system_lines"] == sim.summary.lines
    assert str(sim.summary).endswith(f"({sim.summary.events} events)")


def test_same_seed_same_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = {**SMALL, "layout": "ios", "zip": True}
    a = simulate_export(out=tmp_path / "a", **options)  # type: ignore[arg-type]
    b = simulate_export(out=tmp_path / "b", **options)  # type: ignore[arg-type]
    for x, y in zip(a.paths, b.paths, strict=True):
        assert x.name == y.name
        assert x.read_bytes() == y.read_bytes(), x.name
    c = simulate_export(out=tmp_path / "c", **{**options, "seed": 12})  # type: ignore[arg-type]
    assert c.events_path.read_bytes() != a.events_path.read_bytes()
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("format", "myspace"),
        ("layout", "windows"),
        ("clock", "25h"),
        ("date_order", "dym"),
        ("language", "xx"),
        ("timezone", "Mars/Olympus"),
        ("start", "yesterday"),
        ("members", 3),
        ("days", 0),
    ],
)
def test_bad_options_name_the_field(tmp_path: Path, option: str, value: object) -> None:
    with pytest.raises(ConfigError) as err:
        simulate_export(out=tmp_path, **{**SMALL, option: value})  # type: ignore[arg-type]
    assert err.value.field == option


def test_a_language_missing_a_line_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_line(lang: str, event: object, **fields: str) -> str:
        raise KeyError(f"no {lang} template for {event}")

    monkeypatch.setattr("shequn.simulate.whatsapp.render", no_line)
    with pytest.raises(ConfigError) as err:
        simulate_export(out=tmp_path, **SMALL)  # type: ignore[arg-type]
    assert err.value.field == "language"
