"""WeChat's group system lines (Type 10000 / 10002) as facts about members.

The texts, Chinese and English client, as the WeChat bots that parse them document
them (wechaty ``puppet-padchat`` ``room-event-*-message-parser.ts`` and
``puppet-web`` ``firer.ts``; itchat-based recall detection)::

    "A"邀请"B、C"加入了群聊          A invited "B、C" to the group chat / A invited B, C to …
    "A"邀请"B"、"C"和"D"加入了群聊   (several quoted invitees)
    你邀请"B"加入了群聊              You've invited "B" to the group chat
    "A"邀请你加入了群聊[，群聊参与人还有：…]   A invited you to a group chat [with …]
    "A"邀请你和"B"加入了群聊         A invited you and B to the group chat
    "B"通过扫描"A"分享的二维码加入群聊  "B" joined the group chat via the QR Code shared by "A".
    "B"通过扫描你分享的二维码加入群聊   "B" joined group chat via the QR code you shared
    "B"通过"A"的邀请二维码加入群聊
    你将"B"移出了群聊 / "A"将"B"移出了群聊   You removed "B" from the group chat
    你被"A"移出群聊                   You were removed from the group chat by "A"
    "A"修改群名为“X”                  "A" changed the group name to "X"
    你修改群名为“X”                   You changed the group name to "X"
    "A" 撤回了一条消息 / 你撤回了一条消息   "A" recalled a message. / You recalled a message

WeChat writes no line when a member leaves by themself. Names may contain quotes and
``、``: splits are tried at every candidate position and the one naming known people
wins (:class:`~shequn.importers.wechat.names.NameBook`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from lxml import etree  # type: ignore[import-untyped]

from shequn.events import EventKind, JoinMethod
from shequn.importers.wechat.names import YOU, NameBook


@dataclass
class SystemFact:
    """What one system line says: ``actor`` did ``kind`` to ``members``."""

    kind: EventKind
    members: list[str]
    actor: str | None = None
    join_method: JoinMethod | None = None
    text: str | None = None
    language: str = "zh"
    #: names → wxids the line itself carries (10002 templates)
    ids: dict[str, str] = field(default_factory=dict)
    #: the recalled message's server id (10002 revokemsg)
    recalled: str | None = None


_EDIT_LINK: Final = re.compile(r"\s*<a href=\"weixin://revoke_edit_click\">.*?</a>\s*")
_CDATA: Final = re.compile(r"^<!\[CDATA\[(.*)\]\]>$", re.S)
_INVITED_YOU_ZH: Final = re.compile(
    r'^"(?P<a>.+?)"邀请你加入了群聊(?:，群聊参与人还有：.*)?$', re.S
)
_INVITED_YOU_AND_ZH: Final = re.compile(r'^"(?P<a>.+?)"邀请你和(?P<b>.+)加入了群聊$', re.S)
_YOU_INVITED_ZH: Final = re.compile(r"^你邀请(?P<b>.+)加入了群聊$", re.S)
_QR_YOU_ZH: Final = re.compile(r'^"(?P<b>.+)"通过扫描你分享的二维码加入了?群聊$', re.S)
_QR_BY_YOU_ZH: Final = re.compile(r'^你通过扫描"(?P<a>.+)"分享的二维码加入了?群聊$', re.S)
_QR_PLAIN_ZH: Final = re.compile(r'^"(?P<b>.+)"通过扫描二维码加入了?群聊$', re.S)
_REMOVED_BY_YOU_ZH: Final = re.compile(r'^你将"(?P<b>.+)"移出了群聊$', re.S)
_YOU_REMOVED_ZH: Final = re.compile(r'^你被"(?P<a>.+)"移出群聊$', re.S)
_RENAMED_BY_YOU_ZH: Final = re.compile(r'^你修改群名为[“"](?P<x>.*)[”"]$', re.S)
_RENAMED_ZH: Final = re.compile(r'^"(?P<a>.+?)"修改群名为[“"](?P<x>.*)[”"]$', re.S)
_RECALL_YOU_ZH: Final = re.compile(r"^你撤回了一条消息$")
_RECALL_ZH: Final = re.compile(r'^"(?P<a>.+)" ?撤回了一条消息$', re.S)
_JOINED_ZH: Final = re.compile(r'^"(?P<b>.+)"加入了群聊$', re.S)
_LEFT_ZH: Final = re.compile(r'^"(?P<b>.+)"退出了群聊$', re.S)

_YOU_INVITED_EN: Final = re.compile(
    r"^You(?:'ve)? invited (?P<b>.+) to (?:the|a) group chat$", re.S
)
_INVITED_YOU_AND_EN: Final = re.compile(
    r"^(?P<a>.+?) invited you and (?P<b>.+) to (?:the|a) group chat$", re.S
)
_INVITED_YOU_EN: Final = re.compile(
    r"^(?P<a>.+?) invited you to (?:a|the) group chat(?: with .*)?$"
)
_INVITED_EN: Final = re.compile(r"^(?P<a>.+?) invited (?P<b>.+) to (?:the|a) group chat$", re.S)
_QR_EN: Final = re.compile(
    r'^"(?P<b>.+)" joined the group chat via the QR Code shared by "(?P<a>.+)"$', re.S | re.I
)
_QR_YOU_EN: Final = re.compile(
    r'^" ?(?P<b>.+)" joined (?:the )?group chat via '
    r"(?:the QR code you shared|your shared QR Code)$",
    re.S | re.I,
)
_REMOVED_BY_YOU_EN: Final = re.compile(r'^You removed "(?P<b>.+)" from the group chat$', re.S)
_YOU_REMOVED_EN: Final = re.compile(r'^You were removed from the group chat by "(?P<a>.+)"$', re.S)
_RENAMED_BY_YOU_EN: Final = re.compile(r'^You changed the group name to "(?P<x>.*)"$', re.S)
_RENAMED_EN: Final = re.compile(r'^"?(?P<a>.+?)"? changed the group name to "(?P<x>.*)"$', re.S)
_RECALL_YOU_EN: Final = re.compile(r"^You recalled a message$")
_RECALL_EN: Final = re.compile(r'^"(?P<a>.+)" recalled a message$', re.S)


def clean_text(content: str) -> str:
    """A system line without the CDATA wrapper and the "重新编辑" (re-edit) link."""
    text = content.strip()
    m = _CDATA.match(text)
    if m:
        text = m.group(1)
    return _EDIT_LINK.sub("", text).strip()


def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        return name[1:-1].strip()
    return name


def _invitees_zh(book: NameBook, text: str) -> list[str]:
    """``"B、C"``, ``"B"、"C"和"D"`` or ``"B"``: the names in order."""
    text = text.strip()
    if text.startswith('"') and text.endswith('"'):
        inner = text[1:-1]
        if not book.knows(inner) and re.search(r'"(?:、|和|，|,)"', inner):
            return [n.strip() for n in re.split(r'"(?:、|和|，|,)"', inner) if n.strip()]
        return book.split(inner)
    return book.split(text, ("、", "和"))


def _invitees_en(book: NameBook, text: str) -> list[str]:
    text = text.strip()
    if text.startswith('"') and text.endswith('"') and '", "' not in text:
        return book.split(text[1:-1], ("、", ", "))
    pieces = re.split(r'"?(?:, | and |、)"?', text)
    return [_unquote(p) for p in pieces if _unquote(p)]


def _split_at(book: NameBook, text: str, marker: str, suffix: str) -> tuple[str, str] | None:
    """``"A"<marker><rest><suffix>``: A may contain quotes; known names win."""
    if not (text.startswith('"') and text.endswith(suffix)):
        return None
    body = text[1 : len(text) - len(suffix)]
    cuts = [m.start() for m in re.finditer(re.escape('"' + marker), body)]
    if not cuts:
        return None
    for cut in cuts:
        if book.knows(body[:cut]):
            return body[:cut], body[cut + 1 + len(marker) :]
    cut = cuts[0]
    return body[:cut], body[cut + 1 + len(marker) :]


Parser = Callable[[NameBook, str], SystemFact | None]


def _zh(book: NameBook, text: str) -> SystemFact | None:
    added, qr, removed = EventKind.MEMBER_JOINED, JoinMethod.QR_CODE, EventKind.MEMBER_REMOVED
    if m := _INVITED_YOU_ZH.match(text):
        return SystemFact(added, [YOU], m["a"], JoinMethod.ADDED)
    if m := _INVITED_YOU_AND_ZH.match(text):
        return SystemFact(added, [YOU, *_invitees_zh(book, m["b"])], m["a"], JoinMethod.ADDED)
    if m := _YOU_INVITED_ZH.match(text):
        return SystemFact(added, _invitees_zh(book, m["b"]), YOU, JoinMethod.ADDED)
    if m := _QR_YOU_ZH.match(text):
        return SystemFact(added, [m["b"]], YOU, qr)
    if m := _QR_BY_YOU_ZH.match(text):
        return SystemFact(added, [YOU], m["a"], qr)
    if m := _QR_PLAIN_ZH.match(text):
        return SystemFact(added, [m["b"]], None, qr)
    if split := _split_at(book, text, '通过扫描"', '"分享的二维码加入群聊'):
        return SystemFact(added, [split[0]], split[1], qr)
    if split := _split_at(book, text, '通过扫描"', '"分享的二维码加入了群聊'):
        return SystemFact(added, [split[0]], split[1], qr)
    if split := _split_at(book, text, '通过"', '"的邀请二维码加入群聊'):
        return SystemFact(added, [split[0]], split[1], qr)
    if split := _split_at(book, text, "邀请", "加入了群聊"):
        return SystemFact(added, _invitees_zh(book, split[1]), split[0], JoinMethod.ADDED)
    if m := _REMOVED_BY_YOU_ZH.match(text):
        return SystemFact(removed, [m["b"]], YOU)
    if m := _YOU_REMOVED_ZH.match(text):
        return SystemFact(removed, [YOU], m["a"])
    if split := _split_at(book, text, '将"', '"移出了群聊'):
        return SystemFact(removed, [split[1]], split[0])
    if m := _RENAMED_BY_YOU_ZH.match(text):
        return SystemFact(EventKind.GROUP_RENAMED, [YOU], None, text=m["x"])
    if m := _RENAMED_ZH.match(text):
        return SystemFact(EventKind.GROUP_RENAMED, [m["a"]], None, text=m["x"])
    if _RECALL_YOU_ZH.match(text):
        return SystemFact(EventKind.MESSAGE_DELETED, [YOU])
    if m := _RECALL_ZH.match(text):
        return SystemFact(EventKind.MESSAGE_DELETED, [m["a"]])
    if m := _JOINED_ZH.match(text):
        return SystemFact(added, _invitees_zh(book, f'"{m["b"]}"'), None, JoinMethod.UNKNOWN)
    if m := _LEFT_ZH.match(text):
        return SystemFact(EventKind.MEMBER_LEFT, [m["b"]])
    return None


def _en(book: NameBook, text: str) -> SystemFact | None:
    added, qr, removed = EventKind.MEMBER_JOINED, JoinMethod.QR_CODE, EventKind.MEMBER_REMOVED
    text = text.rstrip(".")
    fact: SystemFact | None = None
    if m := _YOU_INVITED_EN.match(text):
        fact = SystemFact(added, _invitees_en(book, m["b"]), YOU, JoinMethod.ADDED)
    elif m := _INVITED_YOU_AND_EN.match(text):
        names = [YOU, *_invitees_en(book, m["b"])]
        fact = SystemFact(added, names, _unquote(m["a"]), JoinMethod.ADDED)
    elif m := _INVITED_YOU_EN.match(text):
        fact = SystemFact(added, [YOU], _unquote(m["a"]), JoinMethod.ADDED)
    elif m := _QR_EN.match(text):
        fact = SystemFact(added, [m["b"].strip()], m["a"], qr)
    elif m := _QR_YOU_EN.match(text):
        fact = SystemFact(added, [m["b"].strip()], YOU, qr)
    elif m := _INVITED_EN.match(text):
        fact = SystemFact(added, _invitees_en(book, m["b"]), _unquote(m["a"]), JoinMethod.ADDED)
    elif m := _REMOVED_BY_YOU_EN.match(text):
        fact = SystemFact(removed, [m["b"]], YOU)
    elif m := _YOU_REMOVED_EN.match(text):
        fact = SystemFact(removed, [YOU], m["a"])
    elif m := _RENAMED_BY_YOU_EN.match(text):
        fact = SystemFact(EventKind.GROUP_RENAMED, [YOU], None, text=m["x"])
    elif m := _RENAMED_EN.match(text):
        fact = SystemFact(EventKind.GROUP_RENAMED, [m["a"]], None, text=m["x"])
    elif _RECALL_YOU_EN.match(text):
        fact = SystemFact(EventKind.MESSAGE_DELETED, [YOU])
    elif m := _RECALL_EN.match(text):
        fact = SystemFact(EventKind.MESSAGE_DELETED, [m["a"]])
    if fact is not None:
        fact.language = "en"
    return fact


def parse_system(book: NameBook, content: str) -> SystemFact | None:
    """The fact a system row states, or None for notices shequn has no event for."""
    text = clean_text(content)
    if text.startswith("<") and "sysmsg" in text[:200]:
        return _parse_sysmsg(book, text)
    return _zh(book, text) or _en(book, text)


def _parse_sysmsg(book: NameBook, xml: str) -> SystemFact | None:
    """Type 10002 ``<sysmsg>``: a recall (``revokemsg``) or a join template with wxids."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(recover=True))
    except etree.XMLSyntaxError:
        return None
    if root is None or root.tag != "sysmsg":
        return None
    if root.get("type") == "revokemsg":
        replace = root.findtext("revokemsg/replacemsg") or ""
        fact = _zh(book, clean_text(replace)) or _en(book, clean_text(replace))
        if fact is not None and fact.kind == EventKind.MESSAGE_DELETED:
            fact.recalled = (root.findtext("revokemsg/newmsgid") or "").strip() or None
        return fact
    if root.get("type") != "sysmsgtemplate":
        return None
    template = root.findtext("sysmsgtemplate/content_template/template") or ""
    ids: dict[str, str] = {}
    rendered = template
    for link in root.iterfind("sysmsgtemplate/content_template/link_list/link"):
        names: list[str] = []
        for member in link.iterfind("memberlist/member"):
            wxid = (member.findtext("username") or "").strip()
            nick = (member.findtext("nickname") or "").strip() or wxid
            names.append(nick)
            if wxid:
                ids[nick] = wxid
        separator = link.findtext("separator") or "、"
        rendered = rendered.replace(f"${link.get('name')}$", separator.join(names))
    fact = _zh(book, rendered) or _en(book, rendered)
    if fact is not None:
        fact.ids = ids
    return fact
