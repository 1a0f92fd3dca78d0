"""The lexicon's pre-filter (two searches before the exact checks) never changes a finding.

Reference: the same lexicon with the pre-filter switched off, which looks every word
and pattern up exactly, as before the pre-filter existed; and, independently, plain
``re.search`` of each pattern for whether a pattern finding is there at all.
"""

from __future__ import annotations

import re
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.engines.rules import (
    _FOLD_SAFE,
    Lexicon,
    WordsMatcher,
    _any_of,
    _fewest_needles,
    normalize,
    required_text,
)
from shequn.playbook.model import WordsRule

PENALTY = [{"at": 1, "action": "warn"}]
RULES = [
    WordsRule(id="a", kind="banned_words", words=["ad", "free crypto", "加微信"], penalty=PENALTY),
    WordsRule(
        id="b",
        kind="banned_words",
        words=["scam", "$$$", "代购"],
        patterns=[r"(?i)whats?app\s*\+?\d{6,}", r"buy\s+now"],
        penalty=PENALTY,
    ),
    WordsRule(
        id="c", kind="banned_words", patterns=[r"(?i)buy\s+now", r"(\w)\1{4}"], penalty=PENALTY
    ),
]
FRAGMENTS = [
    "ad",
    "read",
    "free",
    "crypto",
    "free crypto",
    "Free  Crypto",
    "scam",
    "scams",
    "$$$",
    "加",
    "微信",
    "加微信",
    "代购",
    "WhatsApp +8613800000000",
    "whatsapp 12345",
    "buy now",
    "BUY  NOW",
    "aaaaa",
    "zz",
    " ",
    ".",
    "ｆｒｅｅ",
    "\u200b",
]


def _lexicon() -> Lexicon:
    return Lexicon([(i, WordsMatcher(rule)) for i, rule in enumerate(RULES)])


def _exact(rules: list[WordsRule]) -> Lexicon:
    """The lexicon of ``rules`` without its pre-filter: every lookup done exactly (built
    again, not copied from the other: a compiled Lexicon cannot be copied)."""
    exact = Lexicon([(i, WordsMatcher(rule)) for i, rule in enumerate(rules)])
    exact.any_word = None
    exact.any_pattern = None
    return exact


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=8))
def test_prefilter_finds_what_the_exact_lookup_finds(parts: list[str]) -> None:
    lexicon = _lexicon()
    clean, low = normalize(" ".join(parts))
    found = lexicon.find(clean, low)
    assert found == _exact(RULES).find(clean, low)
    pattern_hit = any(re.search(p, clean) for rule in RULES for p in rule.patterns)
    if pattern_hit:
        assert any("banned pattern" in what or "banned word" in what for what in found.values())


def test_a_clean_message_finds_nothing_and_a_hit_is_quoted() -> None:
    lexicon = _lexicon()
    assert lexicon.find(*normalize("I read the ad-free manual? no: reading")) == {
        0: "the banned word “ad”"
    }
    assert lexicon.find(*normalize("good morning everyone")) == {}
    found = lexicon.find(*normalize("BUY NOW cheap"))
    assert set(found) == {2}  # rule b's buy\s+now is case-sensitive
    assert found[2].startswith("“BUY NOW”, which matches the banned pattern (?i)buy")
    assert set(lexicon.find(*normalize("buy now cheap"))) == {1, 2}


def test_patterns_that_cannot_share_one_regex_are_searched_one_by_one() -> None:
    assert _any_of([r"(\w)\1{4}", "abc"]) is None  # a back-reference would be renumbered
    assert _any_of([r"(?a)\w+", "abc"]) is None  # a global flag that cannot be scoped
    assert _any_of([r"(?P<x>a)", r"(?P<x>b)"]) is None  # one group name twice
    combined = _any_of([r"(?i)buy\s+now", "abc"])
    assert combined is not None
    assert combined.search("BUY now") and combined.search("xabcx")
    assert combined.search("ABC") is None  # the (?i) stays with its own pattern


# -- the patterns' required text (Lexicon.pattern_hints) ---------------------------------

#: rules whose every pattern has a required text, so the hints are used
HINTED = [
    RULES[0],
    WordsRule(
        id="d",
        kind="banned_words",
        words=["scam"],
        patterns=[r"(?i)whats?app\s*\+?\d{6,}", r"(?i)buy\s+now", r"Free(?i:\s+CRYPTO)"],
        penalty=PENALTY,
    ),
]
HINT_FRAGMENTS = [*FRAGMENTS, "WHATSAPP 123456789", "Free crypto", "free CRYPTO", "ｂｕｙ now"]


def test_required_text_is_what_every_match_contains() -> None:
    assert required_text(r"(?i)buy\s+now\s+0") == "buy"
    assert required_text(r"(?i)whats?app\s*\+?\d{6,}") == "what"
    assert required_text(r"(?:foo(bar))baz") == "foobarbaz"
    assert required_text("Sk") is None  # s and k also match ſ and K (Kelvin)
    assert required_text("a|b") is None and required_text(r"(\w)\1{4}") is None
    lexicon = Lexicon([(i, WordsMatcher(rule)) for i, rule in enumerate(HINTED)])
    assert lexicon.pattern_hints == ("what", "buy", "crypto")
    assert _lexicon().pattern_hints is None  # (\w)\1{4} has none: no hints at all


def test_fold_safe_characters_match_no_other_character_case_insensitively() -> None:
    safe = re.compile("(?i)[" + re.escape("".join(sorted(_FOLD_SAFE))) + "]")
    others = [chr(c) for c in range(0x80, sys.maxunicode + 1) if safe.fullmatch(chr(c))]
    assert others == []
    assert {c for c in "iksIKS" if c not in _FOLD_SAFE} == set("iksIKS")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(HINT_FRAGMENTS), max_size=8))
def test_pattern_hints_find_what_the_exact_lookup_finds(parts: list[str]) -> None:
    lexicon = Lexicon([(i, WordsMatcher(rule)) for i, rule in enumerate(HINTED)])
    clean, low = normalize(" ".join(parts))
    found = lexicon.find(clean, low)
    assert found == _exact(HINTED).find(clean, low)
    # independently: rule d finds something wherever one of its patterns matches, and
    # a pattern finding only there
    hit = any(re.search(p, clean) for p in HINTED[1].patterns)
    assert not hit or 1 in found
    assert hit or "banned pattern" not in found.get(1, "")


# -- the words' beginnings (Lexicon.word_anchors) ----------------------------------------


def test_word_anchors_are_each_words_beginning_without_repeats() -> None:
    assert _lexicon().word_anchors == ("$$", "ad", "fr", "sc", "代购", "加微")
    assert _fewest_needles(["buy", "what", "buy", "whatsapp", "ab", "b"]) == ("what", "b")
    many = WordsRule(
        id="m", kind="banned_words", words=[f"{c}word" for c in "abcdefghij"], penalty=PENALTY
    )
    lexicon = Lexicon([(0, WordsMatcher(many))])
    assert lexicon.word_anchors is None  # ten beginnings: the regex alone
    assert lexicon.find(*normalize("a jword here")) == {0: "the banned word “jword”"}


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="adfrscm$加微信代购 eoy", max_size=20))
def test_a_text_holding_a_word_holds_its_anchor(text: str) -> None:
    lexicon = _lexicon()
    anchors = lexicon.word_anchors
    assert anchors is not None
    low = normalize(text)[1]
    words = ["ad", "free crypto", "加微信", "scam", "$$$", "代购"]
    if any(word in low for word in words):  # independently: the plain substring test
        assert any(anchor in low for anchor in anchors)
    assert lexicon.find(*normalize(text)) == _exact(RULES).find(*normalize(text))
