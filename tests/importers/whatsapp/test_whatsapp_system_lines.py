"""The WhatsApp system-line table: coverage, self-consistency and real-layout fixtures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shequn.importers.whatsapp.system_lines import (
    ANDROID,
    IOS,
    LANGUAGES,
    SYSTEM_LINES,
    SystemEvent,
    SystemLine,
    join_members,
    languages,
    lines_for,
    match,
    render,
    split_members,
    template_regex,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "whatsapp" / "system"

#: the Android "date, time - " prefix each language's fixtures use
ANDROID_PREFIX = {
    "en": r"\d{1,2}/\d{1,2}/\d{2}, \d{1,2}:\d{2} - ",
    "de": r"\d{2}\.\d{2}\.\d{2}, \d{2}:\d{2} - ",
    "es": r"\d{1,2}/\d{1,2}/\d{2}, \d{1,2}:\d{2} - ",
    "pt": r"\d{2}/\d{2}/\d{4} \d{2}:\d{2} - ",
    "fr": r"\d{2}/\d{2}/\d{4} \d{2}:\d{2} - ",
    "it": r"\d{2}/\d{2}/\d{2}, \d{2}:\d{2} - ",
    "id": r"\d{2}/\d{2}/\d{4} \d{2}\.\d{2} - ",
    "ru": r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} - ",
    "zh": r"\d{4}/\d{2}/\d{2} \d{2}:\d{2} - ",
}

#: sample names per language (Chinese names have no spaces around them in lines)
SAMPLE_NAMES = {
    "zh": ("李雷", "韩梅梅", ["韩梅梅", "王芳", "张伟"]),
    "ru": ("Алиса", "Борис", ["Борис", "Вера", "Денис"]),
}
DEFAULT_NAMES = ("Alice", "Bob", ["Bob", "Carol", "Dave"])
PLACEHOLDER = re.compile(r"\{(actor|member|members|old|new|subject)\}")


def placeholders(line: SystemLine) -> set[str]:
    return set(PLACEHOLDER.findall(line.template))


def sample_fields(line: SystemLine, members: list[str] | None = None) -> dict[str, str]:
    actor, member, default_members = SAMPLE_NAMES.get(line.lang, DEFAULT_NAMES)
    values = {
        "actor": actor,
        "member": member,
        "members": join_members(members or default_members, line.lang),
        "old": "Old name",
        "new": "New name",
        "subject": "Trip 2024",
    }
    if line.event == SystemEvent.NUMBER_CHANGED:
        values["old"], values["new"] = "+1 555 0100", "+1 555 0199"
    return {k: v for k, v in values.items() if k in placeholders(line)}


def row_id(line: SystemLine) -> str:
    return f"{line.lang}:{line.event.value}:{line.template[:40]}"


# -- coverage ------------------------------------------------------------------------------


def test_languages_are_the_nine_required() -> None:
    assert set(languages()) == {"en", "de", "es", "pt", "fr", "it", "id", "ru", "zh"}
    assert {line.lang for line in SYSTEM_LINES} == set(LANGUAGES)


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_every_event_has_an_android_row(lang: str) -> None:
    covered = {line.event for line in lines_for(lang) if ANDROID in line.layouts}
    assert covered == set(SystemEvent), sorted(set(SystemEvent) - covered)


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_core_you_forms_exist(lang: str) -> None:
    """Added/removed/left/created/joined all have their exporter ("you") wording."""
    have = {(line.event, line.you) for line in lines_for(lang)}
    for wanted in [
        (SystemEvent.ADDED, "member"),
        (SystemEvent.ADDED, "actor"),
        (SystemEvent.REMOVED, "member"),
        (SystemEvent.REMOVED, "actor"),
        (SystemEvent.LEFT, "member"),
        (SystemEvent.GROUP_CREATED, "actor"),
        (SystemEvent.JOINED_VIA_LINK, "member"),
    ]:
        assert wanted in have, wanted


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_both_number_change_forms(lang: str) -> None:
    forms = {
        frozenset(placeholders(line))
        for line in lines_for(lang)
        if line.event == SystemEvent.NUMBER_CHANGED
    }
    assert frozenset({"old", "new"}) in forms
    assert frozenset({"member"}) in forms


# -- table hygiene -------------------------------------------------------------------------


@pytest.mark.parametrize("line", SYSTEM_LINES, ids=row_id)
def test_every_row_is_well_formed(line: SystemLine) -> None:
    assert line.source.strip(), "every row names its source"
    if line.source.startswith(("unverified", "inferred")):
        reason = line.source.split(":", 1)[1]
        assert reason.strip(), "unverified/inferred rows say why"
    assert line.lang in LANGUAGES
    assert line.layouts and line.layouts <= {ANDROID, IOS, "web"}
    assert line.you in (None, "actor", "member")
    # a "you" row never also names the role it speaks for
    if line.you is not None:
        assert line.you not in placeholders(line)
    assert line.template == line.template.strip()
    re.compile(template_regex(line.template))


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_no_duplicate_templates(lang: str) -> None:
    templates = [line.template for line in lines_for(lang)]
    assert len(templates) == len(set(templates))


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_language_words_have_sources(lang: str) -> None:
    language = LANGUAGES[lang]
    assert language.code == lang
    assert language.source.strip()
    assert language.media_omitted and language.deleted and language.file_attached
    assert language.file_attached.startswith("(") and language.file_attached.endswith(")")
    for key in ("list", "media_omitted", "deleted", "file_attached", "edited_marker"):
        assert language.field_sources.get(key, "").strip(), key
    # the Android "<Media omitted>" form is there
    assert any(text.startswith("<") for text in language.media_omitted)


# -- render / match round trip -------------------------------------------------------------


@pytest.mark.parametrize("line", SYSTEM_LINES, ids=row_id)
def test_every_row_matches_itself(line: SystemLine) -> None:
    """Rendered with sample names, no earlier row of the language swallows the line."""
    variants: list[list[str] | None] = [None]
    if "members" in placeholders(line):
        _, _, names = SAMPLE_NAMES.get(line.lang, DEFAULT_NAMES)
        variants = [names[:1], names[:2], names]
    for members in variants:
        fields = sample_fields(line, members)
        text = line.template.format(**fields)
        found = match(text, line.lang)
        assert found is not None, text
        assert found.line == line, (text, found.line.template)
        assert dict(found.fields) == fields
        if members is not None:
            assert split_members(found.fields["members"], line.lang) == members


@pytest.mark.parametrize("line", SYSTEM_LINES, ids=row_id)
def test_render_gives_a_line_of_the_same_kind(line: SystemLine) -> None:
    fields = sample_fields(line)
    text = render(line.lang, line.event, you=line.you, **fields)
    found = match(text, line.lang)
    assert found is not None
    assert (found.event, found.line.you) == (line.event, line.you)
    assert dict(found.fields) == fields


def test_render_unknown_combination_raises() -> None:
    with pytest.raises(KeyError):
        render("en", SystemEvent.LEFT, you="actor")


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_ordinary_messages_are_not_system_lines(lang: str) -> None:
    for text in ("Alice: hello", "Bob: see you later", "ok", "😂😂"):
        assert match(text, lang) is None


# -- member lists --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_split_join_round_trip(lang: str) -> None:
    _, _, names = SAMPLE_NAMES.get(lang, DEFAULT_NAMES)
    pool = [*names, "Eve", "+1 555 0100"]
    for n in range(1, len(pool) + 1):
        group = pool[:n]
        written = join_members(group, lang)
        assert split_members(written, lang) == group
    assert LANGUAGES[lang].list_last in join_members(pool, lang)


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_split_accepts_the_other_separators(lang: str) -> None:
    language = LANGUAGES[lang]
    for sep in language.list_also:
        assert split_members(f"Bob, Carol{sep}Dave", lang) == ["Bob", "Carol", "Dave"]


def test_english_oxford_comma_and_two_names() -> None:
    assert split_members("Bob, Carol, and Dave", "en") == ["Bob", "Carol", "Dave"]
    assert join_members(["Bob", "Carol"], "en") == "Bob and Carol"
    assert join_members(["韩梅梅", "王芳", "张伟"], "zh") == "韩梅梅、王芳和张伟"
    assert split_members("Ben, Clara und David", "de") == ["Ben", "Clara", "David"]


# -- fixtures in the real Android layout ---------------------------------------------------


def fixture_cases() -> list[tuple[str, str]]:
    return [(lang, f"{event.value}.txt") for lang in sorted(LANGUAGES) for event in SystemEvent]


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_one_fixture_per_event(lang: str) -> None:
    folder = FIXTURES / lang
    files = {p.name for p in folder.glob("*.txt")}
    assert files == {f"{event.value}.txt" for event in SystemEvent}
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert set(expected) == files


@pytest.mark.parametrize(("lang", "name"), fixture_cases())
def test_fixture_lines_match_expected_events(lang: str, name: str) -> None:
    path = FIXTURES / lang / name
    raw = path.read_bytes()
    assert b"\r" not in raw, "fixtures use LF line ends"
    lines = raw.decode("utf-8").splitlines()
    expected = json.loads((FIXTURES / lang / "expected.json").read_text(encoding="utf-8"))[name]
    prefix = re.compile(ANDROID_PREFIX[lang])

    texts = []
    for line in lines:
        head = prefix.match(line)
        assert head is not None, f"{name}: not an Android {lang} line: {line!r}"
        texts.append(line[head.end() :])

    message, *system = texts
    assert ": " in message and match(message, lang) is None, "first line is a message"
    assert len(system) == len(expected)
    for text, want in zip(system, expected, strict=True):
        found = match(text, lang)
        assert found is not None, text
        got: dict[str, object] = {"event": found.event.value, "you": found.line.you}
        for key, value in found.fields.items():
            got[key] = split_members(value, lang) if key == "members" else value
        assert got == want, text


def test_multi_member_added_line_in_every_language() -> None:
    for lang in LANGUAGES:
        expected = json.loads((FIXTURES / lang / "expected.json").read_text(encoding="utf-8"))
        assert any(
            len(entry.get("members", [])) >= 3 and entry["you"] is None
            for entry in expected["added.txt"]
        ), lang
