"""Finding members by what operators type, and suggesting identities that are one person.

Operators name members as ``platform:identity`` (``telegram:user42``,
``whatsapp:+49 170 1234567``), as a bare identity, or by a display name; a reference
that matches several identities is refused with the candidates, never guessed.

Suggestions are only suggestions: two identities that share a phone number (last nine
digits, so ``+86 138 …`` and ``138 …`` agree) or a handle (a display name or username
without case, spaces, dots, dashes, underscores or a leading ``@``, four characters or
more, shared by at most :data:`MAX_HANDLE_CROWD` identities — "Wei" in a big group is
not evidence). ``shequn members link`` applies one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from shequn.errors import ConfigError
from shequn.identity import clean_name, identity_of, is_phone_number
from shequn.privacy.display import shown
from shequn.store.base import IdentityInfo

MAX_HANDLE_CROWD: Final = 3
_NOT_HANDLE: Final = re.compile(r"[\s._\-@~]+")


def resolve(identities: list[IdentityInfo], reference: str) -> IdentityInfo:
    """The one identity ``reference`` names; ConfigError naming the candidates otherwise."""
    platforms = {i.platform for i in identities}
    platform, sep, rest = reference.partition(":")
    scoped = [i for i in identities if sep and platform in platforms and i.platform == platform]
    wanted = rest if scoped else reference
    pool = scoped or identities
    for match in (
        lambda i: i.identity == wanted,
        lambda i: i.identity == identity_of(wanted),
        lambda i: wanted in i.names or clean_name(wanted) in i.names,
    ):
        found = [i for i in pool if match(i)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            listed = ", ".join(f"{i.platform}:{shown(i.identity)}" for i in found[:8])
            raise ConfigError(
                "MEMBER",
                f"{reference!r} matches {len(found)} identities ({listed}); "
                "name one as platform:identity",
            )
    raise ConfigError("MEMBER", f"no member {reference!r} in the store (see `shequn members`)")


@dataclass(frozen=True)
class Suggestion:
    """Two identities that look like one person, and why."""

    a: IdentityInfo
    b: IdentityInfo
    reasons: tuple[str, ...]


def suggest_links(identities: list[IdentityInfo]) -> list[Suggestion]:
    """Pairs of identities of different members that share a phone number or a handle."""
    reasons: dict[tuple[int, int], list[str]] = defaultdict(list)
    for label, groups in (
        ("same phone number", _by_phone(identities)),
        ("same handle", _by_handle(identities)),
    ):
        for value, members in groups.items():
            if label == "same handle" and len(members) > MAX_HANDLE_CROWD:
                continue
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    a, b = identities[members[x]], identities[members[y]]
                    if a.member_key == b.member_key:
                        continue
                    why = (
                        f"{label} {shown(value)}"
                        if label == "same phone number"
                        else (f"{label} {value!r}")
                    )
                    if why not in reasons[(members[x], members[y])]:
                        reasons[(members[x], members[y])].append(why)
    return [
        Suggestion(identities[x], identities[y], tuple(why))
        for (x, y), why in sorted(reasons.items())
    ]


def _by_phone(identities: list[IdentityInfo]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for n, info in enumerate(identities):
        for value in _phones(info):
            if n not in groups[value]:
                groups[value].append(n)
    return {k: v for k, v in groups.items() if len(v) > 1}


def _phones(info: IdentityInfo) -> Iterable[str]:
    for value in (info.identity, *info.names):
        if is_phone_number(value):
            digits = identity_of(value).removeprefix("+")  # a phone identity is +digits
            if len(digits) >= 8:
                yield "…" + digits[-9:]


def _by_handle(identities: list[IdentityInfo]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for n, info in enumerate(identities):
        for value in (info.identity, *info.names):
            if is_phone_number(value):
                continue
            handle = _NOT_HANDLE.sub("", clean_name(value)).casefold()
            if len(handle) >= 4 and n not in groups[handle]:
                groups[handle].append(n)
    return {k: v for k, v in groups.items() if len(v) > 1}
