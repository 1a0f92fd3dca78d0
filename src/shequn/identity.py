"""Member identities: the one place that decides when two written names are one person.

Exports write the same member in several ways: wrapped in bidi marks
(``\\u202a+49 170 1234567\\u202c``), with WhatsApp's ``~`` push-name prefix, with
zero-width joiners and non-breaking spaces. None of these are part of the name.

The rules exist twice, as Python (:func:`identity_of`) and as SQL
(:func:`identity_sql`, for importers that work in bulk); a property test keeps the two
equal, so every character class here is spelt out instead of relying on ``\\s``/``\\d``,
which mean different things in Python and in RE2.
"""

from __future__ import annotations

import re
from typing import Final

# Bidi controls, zero-width characters and the BOM: never part of a name.
INVISIBLE_MARKS: Final = (
    "\u200b\u200c\u200d\u200e\u200f"  # zero-width space/non-joiner/joiner, LRM, RLM
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
    "\u2060\ufeff"  # word joiner, BOM
)
INVISIBLE_CLASS: Final = "[" + INVISIBLE_MARKS + "]"
WHITESPACE_CLASS: Final = (
    "[\t\n\x0b\x0c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
PHONE_PATTERN: Final = "^[+]?[0-9 ().-]{6,}$"

_INVISIBLE_RE: Final = re.compile(INVISIBLE_CLASS)
_SPACES_RE: Final = re.compile(WHITESPACE_CLASS + "+")
_PHONE_RE: Final = re.compile(PHONE_PATTERN)
_NOT_DIGIT_RE: Final = re.compile("[^0-9]")


def clean_name(written: str) -> str:
    """The display name without invisible marks, ``~`` prefix and odd spaces.

    Most names are printable ASCII with single spaces: no mark to drop, no run of
    spaces to collapse, so the two substitutions (most of the cost) are skipped.
    """
    if written.isascii() and written.isprintable() and "  " not in written:
        name = written.strip(" ")
    else:
        name = _visible(written)
    if name.startswith("~"):
        name = name[1:].lstrip(" ")
    return name


def _visible(written: str) -> str:
    """``written`` without invisible marks, each run of spaces one space, trimmed."""
    return _SPACES_RE.sub(" ", _INVISIBLE_RE.sub("", written)).strip(" ")


def is_phone_number(name: str) -> bool:
    """True for names that are phone numbers (WhatsApp shows unsaved contacts so)."""
    return bool(_PHONE_RE.match(name)) and len(_NOT_DIGIT_RE.sub("", name)) >= 6


def identity_of(written: str) -> str:
    """The stable identity for a written name: ``+digits`` for phone numbers, else the name."""
    name = clean_name(written)
    if is_phone_number(name):
        return "+" + _NOT_DIGIT_RE.sub("", name)
    return name


def clean_name_sql(expr: str) -> str:
    """DuckDB SQL computing :func:`clean_name` of the string expression ``expr``."""
    collapsed = (
        f"trim(regexp_replace(regexp_replace({expr}, '{INVISIBLE_CLASS}', '', 'g'), "
        f"'{WHITESPACE_CLASS}+', ' ', 'g'), ' ')"
    )
    return (
        f"(CASE WHEN starts_with({collapsed}, '~') "
        f"THEN ltrim(substr({collapsed}, 2), ' ') ELSE {collapsed} END)"
    )


def identity_sql(expr: str) -> str:
    """DuckDB SQL computing :func:`identity_of` of the string expression ``expr``."""
    name = clean_name_sql(expr)
    digits = f"regexp_replace({name}, '[^0-9]', '', 'g')"
    return (
        f"(CASE WHEN regexp_matches({name}, '{PHONE_PATTERN}') AND length({digits}) >= 6 "
        f"THEN '+' || {digits} ELSE {name} END)"
    )
