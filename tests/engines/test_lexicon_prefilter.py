"""The lexicon's pre-filter (two searches before the exact checks) never changes a finding.

Reference: the same lexicon with the pre-filter switched off, which looks every word
and pattern up exactly, as before the pre-filter existed; and, independently, plain
``re.search`` of each pattern for whether a pattern finding is there at all.
"""

from __future__ import annotations

import copy
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.engines.rules import Lexicon, WordsMatcher, _any_of, normalize
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


def _exact(lexicon: Lexicon) -> Lexicon:
    """The same lexicon without its pre-filter: every lookup done exactly."""
    exact = copy.copy(lexicon)
    exact.any_word = None
    exact.any_pattern = None
    return exact


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=8))
def test_prefilter_finds_what_the_exact_lookup_finds(parts: list[str]) -> None:
    lexicon = _lexicon()
    clean, low = normalize(" ".join(parts))
    found = lexicon.find(clean, low)
    assert found == _exact(lexicon).find(clean, low)
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
