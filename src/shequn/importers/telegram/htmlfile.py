"""Reading Telegram Desktop's HTML export: ``messages.html``, ``messages2.html`` …

Layout (``export_output_html.cpp``): a ``div.history`` of ``div.message`` blocks.
``message default`` blocks have a ``div.pull_right.date.details`` whose ``title`` is
``dd.MM.yyyy hh:mm:ss UTC±hh:mm`` (older exports: no offset), a ``div.from_name``
(absent on ``joined`` follow-ups by the same sender), optionally a
``div.reply_to`` linking ``GoToMessage(id)``, a ``div.forwarded.body`` with the original
sender's ``from_name``, a ``div.media_wrap``, a ``div.text`` (``<br>`` for line
breaks), a bot's ``table.bot_buttons_table`` and a ``span.reactions`` (``HtmlWriter::Wrap::
pushMessage``: per reaction a ``span.reaction`` with its ``span.emoji``, the recent
reactors' userpics in ``span.userpics`` — each a ``div.initials`` whose ``title`` is the
reactor's name — and a ``span.count`` when the reactors are not all listed). No edit time
is written. ``message service`` blocks carry one English sentence ("Alice invited Bob and
Carol") and no time; date separators are service blocks with negative ids.

HTML has no user ids: a member is ``identity_of(display name)``, unless the store's
earlier imports of the group tell which id the name is (:mod:`.people`). Each file
holds at most 1,000 messages and is parsed whole with lxml, one file at a time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

import lxml.html  # type: ignore[import-untyped]
from lxml import etree

from shequn.errors import ImportFormatError
from shequn.events import AttachmentKind, JoinMethod
from shequn.importers.base import Batch, ImportSettings
from shequn.importers.columns import EventColumns
from shequn.importers.telegram.clock import Clock
from shequn.importers.telegram.people import KnownGroup, People
from shequn.importers.telegram.records import (
    CREATED,
    ICON,
    JOINED,
    LEFT,
    NOTICE,
    PINNED,
    PLATFORM,
    POSTED,
    REACTION,
    REMOVED,
    RENAMED,
    TOPIC,
    ServiceEvents,
)
from shequn.importers.telegram.source import ExportSource
from shequn.store.base import Reject

#: date separators are service blocks numbered -1, -2 …; messages of a group migrated to
#: a supergroup keep ids shifted by -1,000,000,000
_DATE_SEPARATOR_IDS: Final = -100_000_000
_HISTORY: Final = etree.XPath('//div[@class="history"]')
_GO_TO: Final = re.compile(r"GoToMessage\((-?\d+)\)|go_to_message(-?\d+)")
_BR: Final = "\ue000"  # a private-use character stands for <br> while text is joined
_SERVICE: Final = (
    (
        "create",
        re.compile(
            r"^(?P<actor>.+?) created group «(?P<title>.*)»(?: with members (?P<list>.+))?$"
        ),
    ),
    ("title", re.compile(r"^(?P<actor>.+?) changed group title to «(?P<title>.*)»$")),
    ("photo", re.compile(r"^(?P<actor>.+?) (?:changed|removed) group photo$")),
    ("link", re.compile(r"^(?P<actor>.+?) joined group by link from (?P<inviter>.+)$")),
    ("request", re.compile(r"^(?P<actor>.+?) joined group by request$")),
    ("invite", re.compile(r"^(?P<actor>.+?) invited (?P<list>.+)$")),
    ("left", re.compile(r"^(?P<actor>.+?) left the group$")),
    ("remove", re.compile(r"^(?P<actor>.+?) removed (?P<member>.+)$")),
    ("pin", re.compile(r"^(?P<actor>.+?) pinned (?P<what>.+)$")),
    ("topic", re.compile(r"^(?P<actor>.+?) created topic «(?P<title>.*)»$")),
    ("migrate_to", re.compile(r"^(?P<actor>.+?) converted this group to a supergroup$")),
    (
        "migrate_from",
        re.compile(r"^(?P<actor>.+?) converted a basic group to this supergroup «(?P<title>.*)»$"),
    ),
)
#: generic media blocks: class → kind, and titles that refine ``media_photo``/``media_video``
_MEDIA_CLASSES: Final = {
    "photo_wrap": AttachmentKind.IMAGE,
    "sticker_wrap": AttachmentKind.STICKER,
    "animated_wrap": AttachmentKind.GIF,
    "video_file_wrap": AttachmentKind.VIDEO,
    "media_voice_message": AttachmentKind.VOICE,
    "media_audio_file": AttachmentKind.AUDIO,
    "media_file": AttachmentKind.DOCUMENT,
    "media_contact": AttachmentKind.CONTACT,
    "media_location": AttachmentKind.LOCATION,
    "media_live_location": AttachmentKind.LOCATION,
    "media_venue": AttachmentKind.LOCATION,
    "media_poll": AttachmentKind.POLL,
    "media_game": AttachmentKind.MEDIA,
    "media_invoice": AttachmentKind.MEDIA,
}
_TITLES: Final = {
    "Sticker": AttachmentKind.STICKER,
    "Animation": AttachmentKind.GIF,
    "Voice message": AttachmentKind.VOICE,
}


def split_names(listed: str) -> list[str]:
    """``A, B and C`` → ``[A, B, C]`` (Telegram's SerializeList)."""
    head, sep, last = listed.rpartition(" and ")
    if not sep:
        return [listed]
    return [*head.split(", "), last]


def _classes(el: etree._Element) -> list[str]:
    return (el.get("class") or "").split()


def _text(el: etree._Element) -> str:
    """Text of a block with ``<br>`` as line breaks and the writer's indentation dropped."""
    for br in el.iter("br"):
        br.tail = _BR + (br.tail or "")
    return "".join(el.itertext()).strip(" \n\t").replace(_BR, "\n")


def _message_id(el: etree._Element | None) -> int | None:
    if el is None:
        return None
    for a in el.iter("a"):
        m = _GO_TO.search((a.get("onclick") or "") + " " + (a.get("href") or ""))
        if m:
            return int(m.group(1) or m.group(2))
    return None


@dataclass
class _Pending:
    """A service record waiting for a time (HTML writes none for them)."""

    line: int
    pid: str
    text: str
    el: etree._Element


@dataclass
class HtmlState:
    group_id: str
    people: People = field(default_factory=People)
    last_author: tuple[str | None, str | None] = (None, None)
    last_ts: int | None = None
    topics: set[int] = field(default_factory=set)
    topic_of: dict[int, int] = field(default_factory=dict)
    services_unread: int = 0
    #: senders seen posting with inline bot buttons (their later posts are a bot's too)
    bots: set[str] = field(default_factory=set)


class HtmlExport:
    """Reads the ``messages*.html`` files of one chat, in order."""

    def __init__(self, source: ExportSource) -> None:
        self.source = source
        self.group_name = self._title()
        self.group_names: dict[str, str] = {}
        self.unknown_services = 0
        #: what the store holds of each group's members (set by the importer before reading)
        self.known: dict[str, KnownGroup] = {}
        #: who the members read are (links and resolutions, for the notes)
        self.people = People()

    def _title(self) -> str:
        head = self.source.head(self.source.files[0], 16 << 10).decode("utf-8", "replace")
        m = re.search(r'class="page_header".*?class="text bold">\s*(.*?)\s*</div>', head, re.S)
        if m is None:
            return "Telegram chat"
        return "".join(lxml.html.fromstring(f"<p>{m.group(1)}</p>").itertext()).strip()

    def batches(self, settings: ImportSettings) -> Iterator[Batch]:
        clock = Clock(settings.timezone)
        out = EventColumns(PLATFORM, settings.community, settings.import_id)
        rejects: list[Reject] = []
        group = settings.group or self.group_name
        self.group_names = {group: self.group_name}
        self.people = People(self.known.get(group))
        state = HtmlState(group, self.people)
        line = 0
        done = 0
        every = max(1, settings.commit_every)
        read = 0
        pending: list[_Pending] = []
        names = self.source.files
        with ThreadPoolExecutor(max_workers=1) as pool:
            # libxml2 parses without the GIL: the next file is parsed while this one is read
            ahead = pool.submit(self._parse, names[0]) if names else None
            for number, name in enumerate(names):
                display = self.source.display(name)
                assert ahead is not None
                root = ahead.result()
                ahead = (
                    pool.submit(self._parse, names[number + 1]) if number + 1 < len(names) else None
                )
                done += self.source.size(name)
                histories = _HISTORY(root)
                for div in histories[0] if histories else root.iter("div"):
                    if div.tag != "div":
                        continue
                    classes = _classes(div)
                    if "message" not in classes:
                        continue
                    raw_id = (div.get("id") or "").removeprefix("message")
                    try:
                        mid = int(raw_id)
                    except ValueError:
                        continue
                    if _DATE_SEPARATOR_IDS < mid < 0:
                        continue  # a date separator (a migrated group's ids are below -10^8)
                    line += 1
                    read += 1
                    if "service" in classes:
                        body = [el for el in div if (el.get("class") or "").startswith("body")]
                        text = _text(body[0]) if body else ""
                        service = _Pending(line, str(mid), text, div)
                        if state.last_ts is None:
                            pending.append(service)
                        else:
                            self._service(service, state.last_ts, state, out)
                    else:
                        if pending:
                            first_ts = _peek_ts(div, clock)
                            if first_ts is not None:
                                for p in pending:
                                    self._service(p, first_ts, state, out)
                                pending = []
                        try:
                            self._message(div, mid, line, clock, state, out)
                        except ValueError as exc:
                            rejects.append(Reject(display, line, f"message{mid}: {exc}", _raw(div)))
                    if line % every == 0 and not pending:
                        yield Batch(out.table(), rejects, line, read, done)
                        rejects = []
                        read = 0
        for p in pending:
            self._service(p, state.last_ts if state.last_ts is not None else 0, state, out)
        if len(out) or rejects or read:
            yield Batch(out.table(), rejects, max(line, 1), read, self.source.total_bytes)

    def _parse(self, name: str) -> etree._Element:
        with self.source.open(name) as fh:
            data = fh.read()  # one file holds at most 1,000 messages
            try:
                # parsing from bytes releases the GIL (a file object would call back into Python)
                return etree.fromstring(data, etree.HTMLParser(encoding="utf-8"))
            except Exception as exc:  # lxml raises several types for broken files
                raise ImportFormatError(
                    f"is not a readable HTML file: {exc}",
                    platform="telegram",
                    path=self.source.display(name),
                ) from None

    # -- messages ---------------------------------------------------------------------
    def _message(
        self,
        div: etree._Element,
        mid: int,
        line: int,
        clock: Clock,
        state: HtmlState,
        out: EventColumns,
    ) -> None:
        # one walk over the block's elements (find_class runs an XPath per call: too slow)
        date_el = own_name = fwd_body = fwd_name = reply_el = media_el = text_el = None
        reactions_el = None
        bot = False
        for el in div.iter():
            cls = el.get("class")
            if not cls:
                continue
            if cls == "text":
                if text_el is None:
                    text_el = el
            elif cls == "from_name":
                if fwd_body is not None and el.getparent() is fwd_body:
                    fwd_name = el
                elif own_name is None:
                    own_name = el
            elif cls.startswith("pull_right date"):
                date_el = el
            elif cls == "forwarded body":
                fwd_body = el
            elif cls.startswith("reply_to"):
                reply_el = el
            elif cls.startswith("media_wrap"):
                if media_el is None:
                    media_el = el
            elif "bot_button" in cls:
                bot = True
            elif cls == "reactions" and reactions_el is None:
                reactions_el = el
        title = date_el.get("title") if date_el is not None else None
        if not title:
            raise ValueError("no date title")
        ts, ts_raw = clock.html_title(title)
        forwarded_from = None
        via = None
        author_name: str | None
        people = state.people
        if own_name is not None:
            author_name = " ".join("".join(own_name.itertext()).split())
            if " via @" in author_name:
                author_name, _, via = author_name.partition(" via @")
            author = people.member(author_name)
            people.key(author, author_name)  # a post is keyed by its id; this learns who it is
            state.last_author = (author, author_name)
        else:
            author, author_name = state.last_author
        if fwd_body is not None:
            forwarded_from = ""
            if fwd_name is not None:
                # the original sender's name, before the <span> with the original date
                forwarded_from = " ".join((fwd_name.text or "").split()).partition(" via @")[0]
        reply = _message_id(reply_el)
        topic: str | None = None
        reply_to: str | None = None if reply is None else str(reply)
        if reply is not None and state.topics:
            if reply in state.topics:
                state.topic_of[mid] = reply
                topic, reply_to = str(reply), None
            elif reply in state.topic_of:
                state.topic_of[mid] = state.topic_of[reply]
                topic = str(state.topic_of[reply])
        attachment, extra, poll_text = _media(media_el)
        text = None
        mentions: list[str] = []
        links: list[str] = []
        if text_el is not None:
            for a in text_el.iter("a"):
                label = "".join(a.itertext())
                href = a.get("href") or ""
                if (a.get("onclick") or "").startswith("return ShowMentionName"):
                    mentions.append(people.member(label) or label)
                elif label.startswith("@") and href.endswith(label[1:]):
                    mentions.append(label)
                elif href.startswith(("http://", "https://")):
                    links.append(href)
            text = _text(text_el) or None
        if poll_text and not text:
            text = poll_text
        if via:
            extra["via_bot"] = "@" + via
            bot = False  # a member's post made with an inline bot, as in JSON
        elif bot and author is not None:
            state.bots.add(author)
        if not bot and author in state.bots:
            bot = True
        reactions = _reactions(reactions_el) if reactions_el is not None else []
        if links:
            extra["links"] = links
        out.add(
            POSTED,
            state.group_id,
            ts,
            line,
            key_parts=(str(mid),),
            platform_id=str(mid),
            member_id=author,
            member_name=author_name,
            text=text,
            reply_to=reply_to,
            mentions=mentions,
            attachment_kind=attachment,
            forwarded_from=forwarded_from,
            is_bot=bot,
            extra=json.dumps(extra, ensure_ascii=False) if extra else None,
            topic_id=topic,
            ts_raw=ts_raw,
        )
        pid = str(mid)
        for k, (emoji, name, count) in enumerate(reactions):
            if count is not None:
                # listed without reactors: one row per emoji, as JSON's count-only reactions
                key: tuple[object, ...] = (pid, "", emoji)
                member = None
                more = json.dumps({"emoji": emoji, "count": count}, ensure_ascii=False,
                                  separators=(",", ":"))  # fmt: skip
            else:
                member = people.member(name)
                more_key = people.key(member, name)
                key = (pid, more_key if more_key is not None else f"#{k}", emoji)
                more = json.dumps({"emoji": emoji}, ensure_ascii=False, separators=(",", ":"))
            # HTML writes no reaction time: the message's is used
            out.add(REACTION, state.group_id, ts, line, key_parts=key, platform_id=pid,
                    member_id=member, member_name=name or None, reply_to=pid, extra=more,
                    topic_id=topic, ts_raw=ts_raw)  # fmt: skip
        state.last_ts = ts

    # -- service blocks -----------------------------------------------------------------
    def _service(self, p: _Pending, ts: int, state: HtmlState, out: EventColumns) -> None:
        group = state.group_id
        kind = ""
        m = None
        for kind, pattern in _SERVICE:  # noqa: B007 - the matching kind is used below
            m = pattern.match(p.text)
            if m is not None:
                break
        if m is None:
            self.unknown_services += 1
            unknown = ServiceEvents(out, group, ts, p.pid, p.line, None, None)
            unknown.add(NOTICE, extra=json.dumps({"text": p.text}, ensure_ascii=False))
            return
        people = state.people
        actor_name = m.group("actor")
        actor = people.member(actor_name)
        actor_key = people.key(actor, actor_name) or ""
        people.acted(p.pid, actor)
        add = ServiceEvents(out, group, ts, p.pid, p.line, actor, actor_name).add
        if kind == "create":
            add(CREATED, text=m.group("title"))
            listed = m.group("list")
            for name in split_names(listed) if listed else []:
                member = people.member(name)
                if member != actor:
                    add(JOINED, people.key(member, name) or "", member_id=member,
                        member_name=name, by_member_id=actor,
                        join_method=str(JoinMethod.ADDED))  # fmt: skip
        elif kind == "invite":
            for name in split_names(m.group("list")):
                member = people.member(name)
                own = member == actor
                add(JOINED, people.key(member, name) or "", member_id=member, member_name=name,
                    by_member_id=None if own else actor,
                    join_method=str(JoinMethod.UNKNOWN if own else JoinMethod.ADDED))  # fmt: skip
        elif kind == "link":
            inviter = m.group("inviter")
            add(JOINED, actor_key, join_method=str(JoinMethod.INVITE_LINK),
                extra=json.dumps({"inviter": inviter, "inviter_id": people.member(inviter)},
                                 ensure_ascii=False))  # fmt: skip
        elif kind == "request":
            add(JOINED, actor_key, join_method=str(JoinMethod.REQUEST_APPROVED))
        elif kind in ("left", "remove"):
            name = actor_name if kind == "left" else m.group("member")
            member = people.member(name)
            if member == actor:
                add(LEFT, actor_key)
            else:
                more = people.key(member, name) or ""
                add(REMOVED, more, member_id=member, member_name=name, by_member_id=actor)
        elif kind == "pin":
            target = _message_id(p.el)
            add(PINNED, reply_to=None if target is None else str(target))
        elif kind == "title":
            add(RENAMED, text=m.group("title"))
        elif kind == "photo":
            add(ICON)
        elif kind == "topic":
            state.topics.add(int(p.pid))
            add(TOPIC, text=m.group("title"), topic_id=p.pid)
        else:
            extra: dict[str, Any] = {"action": "migrate_to_supergroup"}
            if kind == "migrate_from":
                extra = {"action": "migrate_from_group", "title": m.group("title")}
            add(NOTICE, extra=json.dumps(extra, ensure_ascii=False))


def _reactions(span: etree._Element) -> list[tuple[str, str | None, int | None]]:
    """(emoji, reactor name, None) per listed reactor, or (emoji, None, count) per reaction
    listed without reactors; raises ValueError for a count that is not a number.

    Emoji: the character; a custom emoji is the file its link points to (JSON's
    ``document_id``; ``custom_emoji`` when it was not downloaded); a paid reaction is
    ``paid`` (JSON's ``type``).
    """
    out: list[tuple[str, str | None, int | None]] = []
    for reaction in span:
        classes = _classes(reaction)
        if "reaction" not in classes:
            continue
        emoji = "paid" if "paid" in classes else ""
        names: list[str | None] = []
        count: int | None = None
        for part in reaction:
            kind = _classes(part)
            if "emoji" in kind and not emoji:
                link = next(part.iter("a"), None)
                if link is not None:
                    emoji = re.sub(r"^(\.\./)+", "", (link.get("href") or "").strip())
                    emoji = emoji or "custom_emoji"
                else:
                    emoji = "".join(part.itertext()).strip()
            elif "userpics" in kind:
                for el in part.iter("div"):
                    if "initials" in _classes(el):
                        title = el.get("title")
                        names.append(" ".join(title.split()) if title else None)
            elif "count" in kind:
                raw = "".join(part.itertext()).strip()
                if not raw.isdigit():
                    raise ValueError(f"reaction count {raw!r} is not a number")
                count = int(raw)
        if names:
            out.extend((emoji, name, None) for name in names)
        else:
            out.append((emoji, None, count))
    return out


def _media(wrap: etree._Element | None) -> tuple[str | None, dict[str, Any], str | None]:
    """Attachment kind, extra details and a poll question of a ``media_wrap`` block."""
    if wrap is None:
        return None, {}, None
    generic: str | None = None
    title = ""
    question: str | None = None
    options: list[str] = []
    for el in wrap.iter():
        classes = (el.get("class") or "").split()
        if not classes:
            continue
        if classes[0] == "title":
            title = " ".join("".join(el.itertext()).split())
        elif classes[0] == "question":
            question = " ".join("".join(el.itertext()).split())
        elif classes[0] == "answer":
            options.append((el.text or "").strip().removeprefix("- "))
        for c in classes:
            if generic is None and (c in _MEDIA_CLASSES or c in ("media_photo", "media_video")):
                generic = c
    if generic is None:
        return str(AttachmentKind.MEDIA), {}, None
    if generic == "media_poll":
        return str(AttachmentKind.POLL), {"options": options}, question
    kind = _MEDIA_CLASSES.get(generic)
    if kind is None:
        kind = _TITLES.get(title) or (
            AttachmentKind.IMAGE if generic == "media_photo" else AttachmentKind.VIDEO
        )
    return str(kind), {}, None


def _peek_ts(div: etree._Element, clock: Clock) -> int | None:
    """The time of a message block, or None when it has no readable one."""
    for el in div.iter("div"):
        if (el.get("class") or "").startswith("pull_right date"):
            try:
                return clock.html_title(el.get("title") or "")[0]
            except ValueError:
                return None
    return None


def _raw(div: etree._Element) -> str:
    return str(etree.tostring(div, encoding="unicode"))[:500]
