"""``rules.normalize`` equals NFKC of the text without its zero-width characters.

Its shortcut (full-width ASCII forms and the ideographic space replaced by table, then
CPython's NFKC only where the result is still not normal) is checked against plain
``unicodedata.normalize("NFKC", …)`` — the reference — over texts drawn from the
characters where the two could part: full-width forms next to combining marks that
compose with ASCII letters, compatibility characters, Hangul, CJK, zero-width marks.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.engines.rules import normalize

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
ALPHABET = (
    "aAeoz?!, 09"  # ASCII
    "ＡＥａｅｏｚ？！，０９～　"  # full-width forms, the ideographic space
    "\u0301\u0308\u0327\u0323\u0338"  # combining marks that compose with A, e, o …
    "ﬁ²½™℃ｶﾞ"  # compatibility characters (ligature, superscript, half-width kana)
    "가\u1100\u1161\u11a8"  # a Hangul syllable and conjoining jamo
    "中文加微信代购。、" + ZERO_WIDTH  # CJK and its own punctuation
)


def reference(text: str) -> str:
    for mark in ZERO_WIDTH:
        text = text.replace(mark, "")
    return unicodedata.normalize("NFKC", text)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=24))
def test_normalize_is_nfkc_without_zero_width(text: str) -> None:
    clean, low = normalize(text)
    assert clean == reference(text)
    assert low == reference(text).lower()


def test_full_width_forms_before_a_combining_mark_compose_as_nfkc_does() -> None:
    # "Ａ" + U+0301: NFKC gives "Á" (U+00C1); the table alone would give "A" + U+0301
    assert normalize("Ａ\u0301")[0] == "\u00c1"
    assert normalize("有人知道吗？")[0] == "有人知道吗?"
    assert normalize("签　到")[0] == "签 到"
    assert normalize("加\u200b微信")[0] == "加微信"
