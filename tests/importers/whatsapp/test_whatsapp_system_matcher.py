"""The one-regex system-line matcher finds what a loop over the table rows finds.

``match_first`` narrows the rows by the text's literal ends and tries the rest as one
alternation; the reference here is the plain loop it replaced: every row of each
language in turn, its anchored template regex, first match wins.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.importers.whatsapp.system_lines import (
    LANGUAGES,
    SYSTEM_LINES,
    SystemLine,
    SystemMatch,
    join_members,
    languages,
    lines_for,
    match,
    match_first,
    template_regex,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "whatsapp"
PLACEHOLDER = re.compile(r"\{(actor|member|members|old|new|subject)\}")


@cache
def _compiled(lang: str) -> tuple[tuple[SystemLine, re.Pattern[str]], ...]:
    return tuple(
        (line, re.compile(template_regex(line.template), re.DOTALL)) for line in lines_for(lang)
    )


def reference(text: str, langs: tuple[str, ...]) -> SystemMatch | None:
    """The loop over the table rows, language by language (the old matcher)."""
    for lang in langs:
        for line, pattern in _compiled(lang):
            m = pattern.match(text)
            if m is not None:
                return SystemMatch(line, {k: v for k, v in m.groupdict().items() if v is not None})
    return None


def orders() -> list[tuple[str, ...]]:
    """The table order and a few languages first (how the importer tries them)."""
    base = languages()
    return [base, *((first, *(x for x in base if x != first)) for first in ("de", "it", "zh"))]


def rendered() -> list[str]:
    """Every row written out with plain, tricky and empty-ish names, and variations."""
    names = ["Alice", "李雷", "+1 555 0100", "Dr: Who", "Bob left", "a added b"]
    texts: list[str] = []
    for line in SYSTEM_LINES:
        members = [join_members(names[:n], line.lang) for n in (1, 2, 3)]
        for i, name in enumerate(names):
            fields = {p: name for p in PLACEHOLDER.findall(line.template)}
            if "members" in fields:
                fields["members"] = members[i % 3]
            text = line.template.format(**fields)
            texts += [text, text + "\n", text + "\n\n", "x" + text, text + ".", text[:-1]]
            texts += [text + " " + text, text.replace(name, "")]
    return texts


def fixture_texts() -> list[str]:
    """Every line of every WhatsApp fixture, whole and after its 'date - ' prefix."""
    texts: list[str] = []
    for path in sorted(FIXTURES.rglob("*.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            texts.append(line)
            for sep in (" - ", "] "):
                if sep in line:
                    rest = line.split(sep, 1)[1]
                    texts += [rest, rest.lstrip("\u200e"), rest.split(": ", 1)[-1]]
    return texts


@pytest.mark.parametrize("langs", orders(), ids=lambda o: o[0])
def test_every_rendered_row_and_variation(langs: tuple[str, ...]) -> None:
    texts = rendered()
    assert len(texts) > 10_000, len(texts)
    for text in texts:
        assert match_first(text, langs) == reference(text, langs), text


@pytest.mark.parametrize("langs", orders(), ids=lambda o: o[0])
def test_every_fixture_line(langs: tuple[str, ...]) -> None:
    texts = fixture_texts()
    assert len(texts) > 500
    for text in texts:
        assert match_first(text, langs) == reference(text, langs), text


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_one_language_is_the_per_language_loop(lang: str) -> None:
    for text in rendered():
        assert match(text, lang) == reference(text, (lang,)), text


def _pieces() -> list[str]:
    """Literal pieces of every template, names and separators to build texts from."""
    pieces = {p for line in SYSTEM_LINES for p in PLACEHOLDER.split(line.template)[::2] if p}
    return [*sorted(pieces), "Alice", "Bob", ", ", " and ", "\n", ": ", "“", "”", "x"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_pieces()), min_size=1, max_size=5), st.sampled_from(orders()))
def test_texts_built_from_template_pieces(parts: list[str], langs: tuple[str, ...]) -> None:
    """Concatenated template fragments: the narrowing must never drop the row that wins."""
    text = "".join(parts)
    assert match_first(text, langs) == reference(text, langs), text
