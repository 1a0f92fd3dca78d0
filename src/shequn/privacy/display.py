"""Showing identities to people: phone numbers stay hidden unless asked for."""

from __future__ import annotations

import re
from typing import Final

from shequn.identity import is_phone_number

#: a phone number inside free text: a leading + or at least nine digits — but not a
#: date and time ("2024-01-31 21:05", "31.01.2024 21"), which has as many digits
PHONE_IN_TEXT: Final = re.compile(
    r"(?<![\w+])"
    r"(?!\d{4}-\d\d-\d\d\b|\d\d?[.-]\d\d?[.-]\d{2,4}\b)"
    r"(?:\+\d[\d ().-]{5,}\d|\d(?:[ .-]?\d){8,})(?!\w)"
)


def mask_phone(identity: str) -> str:
    """``+4917012345678`` → ``+49•••••••••78``: enough to tell numbers apart, no more."""
    digits = [i for i, ch in enumerate(identity) if ch.isdigit()]
    if len(digits) < 6:
        return identity
    keep = set(digits[:2] + digits[-2:])
    return "".join("•" if i in digits and i not in keep else ch for i, ch in enumerate(identity))


def shown(identity: str | None, *, show_phones: bool = False) -> str:
    """An identity or name as printed: phone numbers masked unless ``show_phones``."""
    if identity is None:
        return ""
    if show_phones:
        return identity
    if is_phone_number(identity):
        return mask_phone(identity)
    return PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), identity)
