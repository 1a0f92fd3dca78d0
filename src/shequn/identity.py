"""Member identities: the one place that decides when two written names are one person.

Exports write the same member in several ways: wrapped in bidi marks
(``\\u202a+49 170 1234567\\u202c``), with WhatsApp's ``~ `` push-name prefix, with
zero-width joiners and non-breaking spaces. None of these are part of the name.
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
_INVISIBLE_RE: Final = re.compile(INVISIBLE_CLASS)
_SPACES_RE: Final = re.compile(r"[\s\u00a0\u202f\u2007]+")
_PHONE_RE: Final = re.compile(r"^\+?[\d\s().\-]{6,}$")

# The same rules as SQL (DuckDB / RE2 syntax), for vectorised importers.
SQL_INVISIBLE_PATTERN: Final = INVISIBLE_CLASS
SQL_SPACES_PATTERN: Final = r"[\s\x{00a0}\x{202f}\x{2007}]+"


def clean_name(written: str) -> str:
    """The display name without invisible marks, ``~`` prefix and odd spaces."""
    name = _INVISIBLE_RE.sub("", written)
    name = _SPACES_RE.sub(" ", name).strip()
    if name.startswith("~"):
        name = name[1:].lstrip()
    return name


def is_phone_number(name: str) -> bool:
    """True for names that are phone numbers (WhatsApp shows unsaved contacts so)."""
    return bool(_PHONE_RE.match(name)) and sum(c.isdigit() for c in name) >= 6


def identity_of(written: str) -> str:
    """The stable identity for a written name: digits for phone numbers, else the clean name."""
    name = clean_name(written)
    if is_phone_number(name):
        return "+" + "".join(c for c in name if c.isdigit())
    return name
