"""What a message row says beyond its type: mentions and quoted (replied-to) messages.

WeChat writes an @mention as ``@name`` followed by U+2005 (four-per-em space).
PyWxDump writes a quote reply (49/57) as ``title\\n\\n[引用](time)name:content``, the
quoted message's time, sender name and text but not its id: :class:`QuoteIndex`
finds the quoted message among the recent ones by that time and name.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from lxml import etree  # type: ignore[import-untyped]

from shequn.importers.wechat.names import NameBook

MENTION_END: Final = "\u2005"
_MENTION: Final = re.compile(r"@([^@\u2005\n]{1,64}?)\u2005")
_EVERYONE: Final = frozenset({"所有人", "All", "all", "全体成员"})
_QUOTE_MARK: Final = "\n\n[引用]("
#: recent messages kept for finding quoted ones
QUOTE_WINDOW: Final = 50_000


def mentions_in(book: NameBook, text: str) -> list[str]:
    """Identities @mentioned in a text (not "@所有人")."""
    if "@" not in text:
        return []
    found = [book.resolve(m) for m in _MENTION.findall(text) if m.strip() not in _EVERYONE]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Quote:
    """A PyWxDump quote reply: the reply's own text and what it quotes."""

    title: str
    time: str
    name: str
    content: str


def split_quote(book: NameBook, msg: str) -> Quote | None:
    """``title\\n\\n[引用](time)name:content`` → its parts (names may hold ':')."""
    at = msg.rfind(_QUOTE_MARK)
    if at < 0:
        return None
    rest = msg[at + len(_QUOTE_MARK) :]
    close = rest.find(")")
    if close < 0:
        return None
    time, who = rest[:close], rest[close + 1 :]
    cuts = [i for i, ch in enumerate(who) if ch == ":"]
    if not cuts:
        return Quote(msg[:at], time, who, "")
    cut = next((i for i in cuts if book.knows(who[:i])), cuts[0])
    return Quote(msg[:at], time, who[:cut], who[cut + 1 :])


def appmsg_quote(content: str) -> tuple[str | None, str | None]:
    """A 49/57 row whose content is the ``<msg><appmsg>`` XML: (title, quoted svrid)."""
    if "<appmsg" not in content:
        return None, None
    try:
        root = etree.fromstring(content.encode("utf-8"), etree.XMLParser(recover=True))
    except etree.XMLSyntaxError:
        return None, None
    if root is None:
        return None, None
    title = root.findtext(".//appmsg/title")
    svrid = root.findtext(".//appmsg/refermsg/svrid")
    return title, (svrid.strip() if svrid else None)


class QuoteIndex:
    """Recent messages by (time as written, sender name) → their ids, oldest dropped."""

    def __init__(self, limit: int = QUOTE_WINDOW) -> None:
        self.limit = limit
        self._seen: OrderedDict[tuple[str, str], list[tuple[str, str]]] = OrderedDict()

    def add(self, time: str, names: list[str], platform_id: str, content: str) -> None:
        for name in names:
            key = (time, name)
            self._seen.setdefault(key, []).append((platform_id, content))
            self._seen.move_to_end(key)
        while len(self._seen) > self.limit:
            self._seen.popitem(last=False)

    def find(self, quote: Quote) -> str | None:
        """The quoted message's id: the one with the same text, else the latest."""
        found = self._seen.get((quote.time, quote.name.strip()))
        if not found:
            return None
        for platform_id, content in reversed(found):
            if content == quote.content:
                return platform_id
        return found[-1][0]
