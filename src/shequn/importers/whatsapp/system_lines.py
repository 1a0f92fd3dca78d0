"""Every WhatsApp system string shequn understands, in one table, with its source.

WhatsApp writes group events ("Alice added Bob") as lines without an author, in the
language of the exporting phone. Each :class:`SystemLine` is a *template*; the parser
compiles it into an anchored regular expression and the simulator renders it, so the
importer reads exactly what the simulator writes and both follow the same table.

Template placeholders
---------------------
``{actor}``    the member who did it (adder, remover, renamer, creator)
``{member}``   the one member it happened to (joiner, leaver, removed, security code)
``{members}``  one or more members joined by the language's list separators
``{old}`` / ``{new}``  old and new subject or phone number
``{subject}``  a group subject (name)

Lines spoken by or about the exporter use the language's ``you`` words, e.g.
"You added Bob" / "Alice added you"; they are separate templates because
languages inflect them differently ("Du hast Bob hinzugefügt").

iOS writes system lines as ``[date, time] Group name: \\u200eAlice added Bob``; the
parser strips that author and the mark before matching, so one template serves both
layouts unless the wording differs (then ``layouts`` says which).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Final

from shequn.events import AttachmentKind


class SystemEvent(StrEnum):
    """The group events WhatsApp writes as system lines."""

    GROUP_CREATED = "group_created"
    JOINED_VIA_LINK = "joined_via_link"
    ADDED = "added"
    REMOVED = "removed"
    LEFT = "left"
    SUBJECT_CHANGED = "subject_changed"
    DESCRIPTION_CHANGED = "description_changed"
    ICON_CHANGED = "icon_changed"
    ICON_DELETED = "icon_deleted"
    NUMBER_CHANGED = "number_changed"
    SECURITY_CODE_CHANGED = "security_code_changed"
    ENCRYPTION_NOTICE = "encryption_notice"


ANDROID: Final = "android"
IOS: Final = "ios"
BOTH: Final = frozenset({ANDROID, IOS})


@dataclass(frozen=True)
class SystemLine:
    """One system string: its language, meaning, wording and where we learnt it."""

    lang: str
    event: SystemEvent
    template: str
    source: str
    layouts: frozenset[str] = BOTH
    #: who the line's ``You`` refers to: "actor" ("You added Bob") or "member" ("Alice added you")
    you: str | None = None


@dataclass(frozen=True)
class Language:
    """Words a language uses outside system templates."""

    code: str
    name: str
    #: how WhatsApp joins a list of names: "Alice" + comma + "Bob" + last + "Carol"
    list_comma: str
    list_last: str
    #: what an omitted-media line says, per layout, mapped to its kind
    media_omitted: Mapping[str, AttachmentKind]
    #: texts that replace a deleted message
    deleted: tuple[str, ...]
    #: suffix after a file name when media is included: "IMG-1.jpg (file attached)"
    file_attached: str
    #: the marker newer exports append to edited messages
    edited_marker: str | None = None
    source: str = ""
    #: other separators seen in the wild, accepted when reading
    list_also: tuple[str, ...] = ()
    extra_words: Mapping[str, str] = field(default_factory=dict)


_WA_FAQ = "WhatsApp Android/iOS export observed in public analyzer test data"

LANGUAGES: Final[dict[str, Language]] = {
    "en": Language(
        code="en",
        name="English",
        list_comma=", ",
        list_last=" and ",
        list_also=(", and ",),
        media_omitted={
            "<Media omitted>": AttachmentKind.MEDIA,
            "image omitted": AttachmentKind.IMAGE,
            "video omitted": AttachmentKind.VIDEO,
            "audio omitted": AttachmentKind.VOICE,
            "sticker omitted": AttachmentKind.STICKER,
            "GIF omitted": AttachmentKind.GIF,
            "document omitted": AttachmentKind.DOCUMENT,
            "Contact card omitted": AttachmentKind.CONTACT,
        },
        deleted=("This message was deleted", "You deleted this message"),
        file_attached="(file attached)",
        edited_marker="<This message was edited>",
        source=_WA_FAQ,
    ),
}

SYSTEM_LINES: Final[tuple[SystemLine, ...]] = (
    SystemLine("en", SystemEvent.GROUP_CREATED, '{actor} created group "{subject}"', _WA_FAQ),
    SystemLine("en", SystemEvent.GROUP_CREATED, 'You created group "{subject}"', _WA_FAQ,
               you="actor"),
    SystemLine("en", SystemEvent.JOINED_VIA_LINK,
               "{member} joined using this group's invite link", _WA_FAQ),
    SystemLine("en", SystemEvent.JOINED_VIA_LINK,
               "You joined using this group's invite link", _WA_FAQ, you="member"),
    SystemLine("en", SystemEvent.ADDED, "{actor} added you", _WA_FAQ, you="member"),
    SystemLine("en", SystemEvent.ADDED, "You added {members}", _WA_FAQ, you="actor"),
    SystemLine("en", SystemEvent.ADDED, "{actor} added {members}", _WA_FAQ),
    SystemLine("en", SystemEvent.REMOVED, "{actor} removed you", _WA_FAQ, you="member"),
    SystemLine("en", SystemEvent.REMOVED, "You removed {member}", _WA_FAQ, you="actor"),
    SystemLine("en", SystemEvent.REMOVED, "{actor} removed {member}", _WA_FAQ),
    SystemLine("en", SystemEvent.LEFT, "You left", _WA_FAQ, you="member"),
    SystemLine("en", SystemEvent.LEFT, "{member} left", _WA_FAQ),
    SystemLine("en", SystemEvent.SUBJECT_CHANGED,
               'You changed the subject from "{old}" to "{new}"', _WA_FAQ, you="actor"),
    SystemLine("en", SystemEvent.SUBJECT_CHANGED,
               '{actor} changed the subject from "{old}" to "{new}"', _WA_FAQ),
    SystemLine("en", SystemEvent.DESCRIPTION_CHANGED,
               "You changed the group description", _WA_FAQ, you="actor"),
    SystemLine("en", SystemEvent.DESCRIPTION_CHANGED,
               "{actor} changed the group description", _WA_FAQ),
    SystemLine("en", SystemEvent.ICON_CHANGED,
               "You changed this group's icon", _WA_FAQ, you="actor"),
    SystemLine("en", SystemEvent.ICON_CHANGED, "{actor} changed this group's icon", _WA_FAQ),
    SystemLine("en", SystemEvent.ICON_DELETED,
               "You deleted this group's icon", _WA_FAQ, you="actor"),
    SystemLine("en", SystemEvent.ICON_DELETED, "{actor} deleted this group's icon", _WA_FAQ),
    SystemLine("en", SystemEvent.NUMBER_CHANGED, "{old} changed to {new}", _WA_FAQ),
    SystemLine("en", SystemEvent.NUMBER_CHANGED,
               "{member} changed their phone number to a new number. "
               "Tap to message or add the new number.", _WA_FAQ),
    SystemLine("en", SystemEvent.SECURITY_CODE_CHANGED,
               "{member}'s security code changed. Tap for more info.", _WA_FAQ),
    SystemLine("en", SystemEvent.ENCRYPTION_NOTICE,
               "Messages and calls are end-to-end encrypted. No one outside of this chat, "
               "not even WhatsApp, can read or listen to them. Tap to learn more.", _WA_FAQ),
)

_PLACEHOLDER = re.compile(r"\{(actor|member|members|old|new|subject)\}")


@dataclass(frozen=True)
class SystemMatch:
    """A system line recognised: which table row matched and what it named."""

    line: SystemLine
    fields: Mapping[str, str]

    @property
    def event(self) -> SystemEvent:
        return self.line.event


def template_regex(template: str) -> str:
    """Anchored regex for a template: literal text escaped, placeholders captured."""
    out: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>.+?)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return "^" + "".join(out) + "$"


@cache
def _compiled(lang: str) -> tuple[tuple[SystemLine, re.Pattern[str]], ...]:
    return tuple(
        (line, re.compile(template_regex(line.template), re.DOTALL))
        for line in SYSTEM_LINES
        if line.lang == lang
    )


def languages() -> tuple[str, ...]:
    """Language codes the table covers."""
    return tuple(LANGUAGES)


def lines_for(lang: str) -> Iterator[SystemLine]:
    """The table rows of one language, in matching order (most specific first)."""
    return (line for line in SYSTEM_LINES if line.lang == lang)


def match(text: str, lang: str) -> SystemMatch | None:
    """The first table row of ``lang`` whose template matches the whole ``text``."""
    for line, pattern in _compiled(lang):
        m = pattern.match(text)
        if m is not None:
            return SystemMatch(line, {k: v for k, v in m.groupdict().items() if v is not None})
    return None


def split_members(names: str, lang: str) -> list[str]:
    """Split "Alice, Bob and Carol" into its names using the language's separators."""
    language = LANGUAGES[lang]
    separators = sorted({*language.list_also, language.list_last, language.list_comma},
                        key=len, reverse=True)
    parts = [names]
    for sep in separators:
        parts = [piece for part in parts for piece in part.split(sep)]
    return [p for p in (part.strip() for part in parts) if p]


def join_members(names: list[str], lang: str) -> str:
    """Inverse of :func:`split_members`: the way WhatsApp writes a list of names."""
    language = LANGUAGES[lang]
    if len(names) == 1:
        return names[0]
    return language.list_comma.join(names[:-1]) + language.list_last + names[-1]


def render(lang: str, event: SystemEvent, *, you: str | None = None, **fields: str) -> str:
    """Write a system line as WhatsApp would (used by the simulator and fixtures).

    ``you`` selects the row where the exporter is the "actor" or the "member".
    """
    for line in lines_for(lang):
        if line.event != event or line.you != you:
            continue
        names = set(_PLACEHOLDER.findall(line.template))
        if names == set(fields):
            return line.template.format(**fields)
    raise KeyError(f"no {lang} template for {event} with fields {sorted(fields)} you={you}")
