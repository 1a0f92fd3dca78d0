"""Every quirk real WhatsApp exports have appears in every simulated export (grep the file)."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path

import pytest
from simhelp import SYSTEM_KINDS, Sim, missing_quirks, simulate

from shequn.importers.whatsapp.system_lines import LANGUAGES, SystemEvent, match, render
from shequn.simulate.content import HOSTILE

EN = LANGUAGES["en"]

ALL_SYSTEM_KINDS = set(SYSTEM_KINDS)


def _authors(sim: Sim) -> Counter[str]:
    """Author field of every message line (the text between the header and ': ')."""
    header = sim.header()
    out: Counter[str] = Counter()
    for line in sim.lines:
        m = header.match(line)
        if m and ": " in line[m.end() :]:
            out[line[m.end() :].split(": ", 1)[0]] += 1
    return out


def test_first_lines_are_encryption_notice_then_creation(android: Sim) -> None:
    assert android.lines[0].endswith(" - " + render("en", SystemEvent.ENCRYPTION_NOTICE))
    assert re.search(r' - .+ created group ".+"$', android.lines[1])
    assert android.lines[2].endswith(" added you")
    assert [r["kind"] for r in android.rows[:3]] == [
        "system_notice",
        "group_created",
        "member_joined",
    ]


def test_multiline_messages_and_date_like_continuations(android: Sim) -> None:
    header = android.header()
    continuation = [line for line in android.lines if not header.match(line)]
    assert len(continuation) > 50
    assert "12/31 was fun" in continuation
    assert any(re.match(r"^\d{1,4}/\d{1,2}", line) for line in continuation)
    multi = [r for r in android.posted if r["text"] and "\n" in r["text"]]
    assert len(multi) > 50


def test_media_attachments_and_deleted_lines(android: Sim) -> None:
    text = android.text
    assert text.count(": <Media omitted>\n") == android.truth["counts"]["media_omitted"] > 0
    attached = re.findall(
        r": ((?:IMG|VID|PTT|STK|DOC)-\d{8}-WA\d{4}\.\w+) \(file attached\)\n", text
    )
    assert len(attached) == android.truth["counts"]["attachments"] >= 3
    assert text.count(": This message was deleted\n") >= 1
    exporter = android.truth["exporter"]["name"]
    assert f" - {exporter}: You deleted this message\n" in text
    assert set(EN.deleted) == {"This message was deleted", "You deleted this message"}


def test_every_system_event_kind_appears(android: Sim) -> None:
    kinds = {r["kind"] for r in android.rows}
    assert kinds >= ALL_SYSTEM_KINDS
    text = android.text
    for phrase in (
        " added you\n",
        " - You added ",
        " - You removed ",
        " - You changed ",
        " joined using this group's invite link\n",
        " left\n",
        "'s security code changed. Tap for more info.\n",
        " changed their phone number to a new number. Tap to message or add the new number.\n",
        "changed this group's icon\n",
        "deleted this group's icon\n",
        "changed the group description\n",
        'changed the subject from "',
    ):
        assert phrase in text, phrase
    assert re.search(r" - \u202a\+[^\u202c]+\u202c changed to \u202a\+[^\u202c]+\u202c\n", text)
    added_many = re.search(r" - .+ added .+, .+ and .+\n", text)
    assert added_many


def test_every_system_line_parses_with_the_table(android: Sim) -> None:
    """The importer's table reads back every system line, as the event truth says."""
    header = android.header()
    expected = {
        "system_notice": {"encryption_notice"},
        "group_created": {"group_created"},
        "member_joined": {"added", "joined_via_link"},
        "member_left": {"left"},
        "member_removed": {"removed"},
        "group_renamed": {"subject_changed"},
        "group_description_changed": {"description_changed"},
        "group_icon_changed": {"icon_changed", "icon_deleted"},
        "member_number_changed": {"number_changed"},
        "security_notice": {"security_code_changed"},
    }
    seen = 0
    for r in android.rows:
        if r["kind"] in expected:
            line = android.lines[r["line"] - 1]
            body = line[header.match(line).end() :]  # type: ignore[union-attr]
            found = match(body, "en")
            assert found is not None, line
            assert str(found.event) in expected[r["kind"]], line
            seen += 1
    assert seen >= android.truth["counts"]["system_lines"]


def test_tricky_author_names(android: Sim) -> None:
    authors = _authors(android)
    assert authors["Dr"] > 0  # "Dr: Who: …" splits wrongly at the first ": "
    assert "Dr: Who: " in android.text
    assert any(a.startswith("\u202a+") and a.endswith("\u202c") for a in authors)
    assert authors["~ Maria"] > 0 and authors["Maria"] > 0
    tilde = [a for a in authors if a.startswith("~ ") and a != "~ Maria"]
    # other "~ " members are written both ways too, inconsistently
    assert any(authors[a[2:]] > 0 for a in tilde)
    maria = next(m for m in android.truth["members"] if m["id"] == "Maria")
    assert set(maria["names"]) == {"~ Maria", "Maria"} and maria["ids"] == ["Maria"]


def test_out_of_order_timestamps(android: Sim) -> None:
    stamps = [(r["line"], r["ts_utc"]) for r in android.rows if r["kind"] != "message_deleted"]
    backwards = [b for a, b in itertools.pairwise(stamps) if b[1] < a[1]]
    # the creation line is older than the encryption notice above it, like real exports
    assert len(backwards) >= 3
    assert android.truth["counts"]["out_of_order"] >= 3


@pytest.mark.parametrize(
    "snippet",
    [
        "🎉",
        "👨\u200d👩\u200d👧",
        "谢谢",
        "https://",
        "<script>alert(1)</script>",
        *HOSTILE[1:3],
    ],
)
def test_content_mix(android: Sim, snippet: str) -> None:
    assert snippet in android.text


def test_mentions_of_other_members(android: Sim) -> None:
    names = {n for m in android.truth["members"] for n in m["names"]}
    mentioned = re.findall(r": @([^\n]+?) ", android.text)
    assert len(mentioned) > 100
    assert any(f"~ {name}" in names or name in names for name in mentioned)


def test_identical_messages_same_minute_same_author(android: Sim) -> None:
    pairs = [
        (a, b)
        for a, b in zip(android.lines, android.lines[1:], strict=False)
        if a == b and a.endswith(": ok")
    ]
    assert len(pairs) >= 2


def test_narrow_no_break_space_before_am_pm_on_android(tmp_path: Path) -> None:
    sim = simulate(tmp_path, members=30, messages=2_500, days=20, seed=3, clock="12h")
    assert re.match(r"^\d{2}/\d{2}/\d{2}, \d{1,2}:\d{2}\u202f[AP]M - ", sim.lines[0])
    assert " AM - " not in sim.text and " PM - " not in sim.text


def test_both_layouts_have_every_quirk(android: Sim, ios: Sim) -> None:
    assert missing_quirks(android) == []
    assert missing_quirks(ios) == []


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("layout", ["android", "ios"])
def test_small_exports_have_every_quirk(tmp_path: Path, seed: int, layout: str) -> None:
    """The guarantee's floor: 20 members, 2000 messages, a week."""
    sim = simulate(tmp_path, members=20, messages=2_000, days=7, seed=seed, layout=layout)
    assert missing_quirks(sim) == []
