"""Write a :class:`~shequn.simulate.community.Community` as a Telegram Desktop export.

Variants (``options["variant"]``):

``json``     ``ChatExport_<date>/result.json`` — one chat, as "Export chat history" writes it
``html``     ``ChatExport_<date>/messages.html``, ``messages2.html`` … (1,000 messages a file)
``account``  ``DataExport_<date>/result.json`` — a full-account export whose ``chats.list``
             holds a personal chat (skipped by the importer) and the group

The group is a supergroup migrated from a basic group partway through (the basic
group's messages keep Telegram's shifted ids ``-1000000000 + n``, then
``migrate_to_supergroup`` / ``migrate_from_group``). On top of the community the writer
adds what is Telegram's own: user ids, a welcome bot (added at creation; greets every
link joiner with an inline "Rules" button), pins, reactions with their reactors
(``recent[]``; a few count-only), ``mention_name`` and ``link`` text entities, forwards
and edits. Deleted messages are not written (Telegram exports omit them); the
community's description changes have no Telegram service message and are not written.

Truth ``line`` = the record's 1-based position in the order the importer reads it
(``chats.list`` messages in order for ``account``; message blocks with an id ≥ 0 across
the HTML files in order). HTML exports write no user ids, no time on service messages
(the truth uses the time of the record before, as the importer does), no reaction times
(a reaction's truth time is its message's) and no edits; reactions, their reactors and
bot buttons are written as Telegram Desktop's ``HtmlWriter::Wrap::pushMessage`` does
(``export_output_html.cpp``).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shequn.errors import ConfigError
from shequn.events import AttachmentKind, EventKind, JoinMethod
from shequn.identity import identity_of
from shequn.simulate.community import (
    DAY,
    MEDIA_KINDS,
    ActionKind,
    Community,
    MessageKind,
)
from shequn.simulate.truth import ROW_SCHEMA, TruthWriter
from shequn.simulate.writer import ExportResult

VARIANTS: Final = ("json", "html", "account")
OLD_ID_SHIFT: Final = -1_000_000_000
MESSAGES_PER_FILE: Final = 1000
BOT_NAME: Final = "Welcome Bot"
FORWARD_SOURCE: Final = "Tech News Daily"
NOT_INCLUDED: Final = "(File not included. Change data exporting settings to download.)"
_URL: Final = re.compile(r"https?://\S+|www\.\S+")
_REACTION_EMOJI: Final = ("👍", "❤", "🔥", "🎉", "😁")

I64 = npt.NDArray[np.int64]

#: JSON media fields and HTML generic-media (class, title) per community media kind
_JSON_MEDIA: Final = {
    AttachmentKind.IMAGE: f'   "photo": "{NOT_INCLUDED}",\n   "width": 1280,\n   "height": 960,\n',
    AttachmentKind.STICKER: f'   "file": "{NOT_INCLUDED}",\n   "media_type": "sticker",\n'
    '   "sticker_emoji": "👍",\n',
    AttachmentKind.VIDEO: f'   "file": "{NOT_INCLUDED}",\n   "media_type": "video_file",\n'
    '   "mime_type": "video/mp4",\n   "duration_seconds": 12,\n',
    AttachmentKind.VOICE: f'   "file": "{NOT_INCLUDED}",\n   "media_type": "voice_message",\n'
    '   "mime_type": "audio/ogg",\n   "duration_seconds": 7,\n',
    AttachmentKind.GIF: f'   "file": "{NOT_INCLUDED}",\n   "media_type": "animation",\n'
    '   "mime_type": "video/mp4",\n',
    AttachmentKind.DOCUMENT: f'   "file": "{NOT_INCLUDED}",\n   "mime_type": "application/pdf",\n',
    AttachmentKind.CONTACT: '   "contact_information": {\n    "first_name": "Frank",\n'
    '    "last_name": "Miller",\n    "phone_number": "+49 170 1234567"\n   },\n',
}
_HTML_MEDIA: Final = {
    AttachmentKind.IMAGE: ("media_photo", "Photo", "1280x960, 120.5 KB"),
    AttachmentKind.STICKER: ("media_photo", "Sticker", "👍, 20.1 KB"),
    AttachmentKind.VIDEO: ("media_video", "Video file", "00:12, 1.2 MB"),
    AttachmentKind.VOICE: ("media_voice_message", "Voice message", "00:07, 12.0 KB"),
    AttachmentKind.GIF: ("media_video", "Animation", "210.3 KB"),
    AttachmentKind.DOCUMENT: ("media_file", "File", "80.2 KB"),
    AttachmentKind.CONTACT: ("media_contact", "Frank Miller", "+49 170 1234567"),
}


@dataclass
class _Rec:
    """A non-message record (service action or bot post) placed among the messages."""

    ts: int
    pos: int
    kind: str
    actor: int = -1
    members: tuple[int, ...] = ()
    title: str | None = None
    target: int = -1  # pinned message (written index)
    seq: int = 0
    line: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


def _dump(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _split_url(text: str) -> list[tuple[str, str]]:
    """(entity type, text) parts of a text: links marked as Telegram auto-detects them."""
    out: list[tuple[str, str]] = []
    at = 0
    for m in _URL.finditer(text):
        if m.start() > at:
            out.append(("plain", text[at : m.start()]))
        out.append(("link", m.group(0)))
        at = m.end()
    if at < len(text):
        out.append(("plain", text[at:]))
    return out


class TelegramWriter:
    """Renders one community as one Telegram Desktop export; call :meth:`write` once."""

    def __init__(self, community: Community, variant: str) -> None:
        if variant not in VARIANTS:
            raise ConfigError("variant", f"{variant!r} is not one of {', '.join(VARIANTS)}")
        self.c = community
        self.variant = variant
        self.html = variant == "html"
        c = community
        self.rng = np.random.default_rng(np.random.SeedSequence([c.config.seed, 0x7E1E]))
        n = c.n_members
        self.uid = (200_000_000 + self.rng.choice(800_000_000, size=n, replace=False)).astype(
            np.int64
        )
        self.bot_uid = 7_000_000_001
        self.chat_id = 1_500_000_000 + int(self.rng.integers(400_000_000))
        self.group = c.subjects[-1]
        self.names = c.names
        self.keep = c.msg_kind != MessageKind.DELETED
        self.written = np.flatnonzero(self.keep).astype(np.int64)
        #: written index of each community message (-1 for deleted ones)
        self.windex = np.cumsum(self.keep) - 1
        self.wts = c.msg_ts[self.written]
        self.n_written = len(self.written)
        self.mig = int(0.3 * self.n_written) if self.n_written >= 10 else -1
        self._records()
        self._lines()
        self._identities()

    # ----------------------------------------------------------------- records
    def _records(self) -> None:
        c, rng = self.c, self.rng
        recs: list[_Rec] = []
        adds_seen = 0
        for a in c.actions:
            if a.kind == ActionKind.CREATED:
                recs.append(_Rec(a.ts, 0, "create", a.actor or 0, (), a.subject))
                recs.append(_Rec(a.ts + 5, 0, "add_bot", a.actor or 0))
            elif a.kind == ActionKind.ADDED:
                adds_seen += 1
                recs.append(_Rec(a.ts, 0, "invite", a.actor if a.actor is not None else 0,
                                 a.members))  # fmt: skip
            elif a.kind == ActionKind.JOINED_LINK:
                recs.append(_Rec(a.ts, 0, "link", a.members[0]))
                recs.append(_Rec(a.ts + 2, 0, "welcome", a.members[0]))
            elif a.kind == ActionKind.LEFT:
                recs.append(_Rec(a.ts, 0, "left", a.members[0]))
            elif a.kind == ActionKind.REMOVED:
                recs.append(_Rec(a.ts, 0, "remove", a.actor or 0, a.members))
            elif a.kind == ActionKind.RENAMED:
                recs.append(_Rec(a.ts, 0, "title", a.actor or 0, (), a.subject))
            elif a.kind in (ActionKind.ICON_CHANGED, ActionKind.ICON_DELETED):
                kind = "photo" if a.kind == ActionKind.ICON_CHANGED else "photo_deleted"
                recs.append(_Rec(a.ts, 0, kind, a.actor or 0))
        # the first "added" after creation is folded into create_group's members list
        create = next(r for r in recs if r.kind == "create")
        first_add = next((r for r in recs if r.kind == "invite"), None)
        if first_add is not None and first_add.ts <= create.ts + 120:
            create.members = first_add.members
            recs.remove(first_add)
        managers = [int(m) for m in np.flatnonzero(c.role == c.role[c.creator])]
        if self.mig > 0:
            t = int(self.wts[self.mig - 1])
            recs.append(_Rec(t, self.mig, "migrate_to", c.creator))
            recs.append(_Rec(t, self.mig, "migrate_from", -2, (), c.subjects[0]))
        # pins: a few messages after the migration, pinned an hour later by a manager
        lo = max(self.mig, 0)
        if self.n_written - lo > 20:
            picks = np.sort(rng.choice(np.arange(lo, self.n_written), size=min(5, (self.n_written
                            - lo) // 20), replace=False))  # fmt: skip
            for w in picks:
                t = int(self.wts[w]) + 3600
                if t < c.end - 60:
                    actor = managers[int(rng.integers(len(managers)))]
                    recs.append(_Rec(t, 0, "pin", actor, target=int(w)))
        for i, r in enumerate(recs):
            r.seq = i
            if r.kind not in ("migrate_to", "migrate_from"):
                r.pos = int(np.searchsorted(self.wts, r.ts, side="left"))
        order = {"migrate_to": 0, "migrate_from": 1}
        recs.sort(key=lambda r: (r.pos, r.ts, order.get(r.kind, 2), r.seq))
        self.recs = recs
        self.rec_pos = np.asarray([r.pos for r in recs], dtype=np.int64)

    def _lines(self) -> None:
        """Lines of records and messages; the id of every line (shifted before migration)."""
        self.base = 3 if self.variant == "account" else 0
        for j, r in enumerate(self.recs):
            r.line = self.base + r.pos + j + 1
        self.mig_line = next((r.line for r in self.recs if r.kind == "migrate_to"), -1)

    def msg_lines(self, w: I64) -> I64:
        """Lines of written messages (written indices ``w``)."""
        out: I64 = self.base + w + 1 + np.searchsorted(self.rec_pos, w, side="right")
        return out

    def line_id(self, line: int) -> int:
        if self.mig_line > 0 and line <= self.mig_line:
            return OLD_ID_SHIFT + line
        return line - self.mig_line if self.mig_line > 0 else line

    def line_ids(self, lines: I64) -> I64:
        if self.mig_line <= 0:
            return lines
        out: I64 = np.where(lines <= self.mig_line, OLD_ID_SHIFT + lines, lines - self.mig_line)
        return out

    # --------------------------------------------------------------- identities
    def _identities(self) -> None:
        """Who the importer can give a user id: everyone the JSON writes with one."""
        c = self.c
        n = c.n_members
        has = np.zeros(n, dtype=np.bool_)
        counts = np.bincount(c.msg_author[self.written], minlength=n)
        has |= counts > 0
        acts = {"create", "invite", "remove", "title", "photo", "photo_deleted", "pin",
                "migrate_to", "link", "left"}  # fmt: skip
        for r in self.recs:
            if r.kind in acts and r.actor >= 0:
                has[r.actor] = True
        self.reactors = np.asarray(
            [int(m) for m in c.initial if int(m) != c.creator] or [c.creator], dtype=np.int64
        )
        has[self.reactors] = True
        if self.variant == "account":
            has[c.exporter] = True
            has[c.initial] = True  # in the account's contacts
        self.has_id = has
        if self.html:
            self.ids = [identity_of(name) for name in self.names]
        else:
            self.ids = [
                f"user{int(self.uid[m])}" if has[m] else identity_of(self.names[m])
                for m in range(n)
            ]
        self.bot_id = identity_of(BOT_NAME) if self.html else f"user{self.bot_uid}"
        self.group_actor = identity_of(self.group) if self.html else f"channel{self.chat_id}"

    # -------------------------------------------------------------------- time
    def local_iso(self, ts: int) -> str:
        when = datetime.combine(self.c.config.start, datetime.min.time()) + timedelta(seconds=ts)
        return when.strftime("%Y-%m-%dT%H:%M:%S")

    def utc_us(self, ts: int) -> int:
        return int(self.c.clock.to_utc_seconds(np.asarray([ts], np.int64))[0]) * 1_000_000

    def html_title(self, ts: int) -> str:
        when = datetime.combine(self.c.config.start, datetime.min.time()) + timedelta(seconds=ts)
        hour = min(ts // 3600, len(self.c.clock.offset) - 1)
        off = int(self.c.clock.offset[hour])
        sign = "+" if off >= 0 else "-"
        off = abs(off)
        return (
            when.strftime("%d.%m.%Y %H:%M:%S")
            + f" UTC{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"
        )

    # ------------------------------------------------------------------ output
    def write(self, out: Path, truth: TruthWriter) -> ExportResult:
        date = (self.c.config.start + timedelta(days=self.c.config.days - 1)).isoformat()
        folder = out / (f"DataExport_{date}" if self.variant == "account" else f"ChatExport_{date}")
        folder.mkdir(parents=True, exist_ok=True)
        self.counts = {"text": 0, "attachments": 0, "system_lines": len(self.recs), "lines": 0}
        self.replies_received = np.zeros(self.c.n_members, dtype=np.int64)
        if self.html:
            size, chat_file = self._write_html(folder, truth), "messages.html"
        else:
            path = folder / "result.json"
            with path.open("w", encoding="utf-8", newline="\n") as fh:
                size = self._write_json(fh, truth)
            chat_file = "result.json"
        self.counts["lines"] = self.base + self.n_written + len(self.recs)
        n = self.c.n_members
        return ExportResult(
            export_path=folder,
            group_name=self.group,
            exporter_name=self.names[self.c.exporter],
            member_ids=tuple(self.ids),
            member_all_ids=tuple((self.ids[m],) for m in range(n)),
            member_names=tuple((self.names[m],) for m in range(n)),
            export={
                "variant": self.variant,
                "file": folder.name,
                "chat_file": chat_file,
                "chat_id": self.chat_id,
                # the importer's group id: the Bot API id of a supergroup (-(10^12 + id)),
                # where JSON writes the chat's id; HTML writes none, only the name
                "group_id": self.group if self.html else str(-(10**12 + self.chat_id)),
                "bot": self.bot_id,
            },
            line_counts=dict(self.counts),
            replies_received=self.replies_received,
            resolution=1,
            text_bytes=size,
            chat_file=chat_file,
        )

    # ----------------------------------------------------------- the stream
    def _stream(self, truth: TruthWriter) -> Any:
        """Yield (line, kind, payload) in file order; writes truth rows per block."""
        c = self.c
        recs = self.recs
        j = 0
        last_dated: tuple[int, int] = (-1, 0)  # (line, local ts) of the last dated record
        blocks: list[int | None] = list(range(c.n_blocks)) if c.n_messages else [None]
        rows: list[dict[str, Any]] = []
        for b in blocks:
            if b is not None:
                block = c.block(b)
                keep = self.keep[block.start : block.start + len(block.ts)]
                idx = np.flatnonzero(keep)
                w = self.windex[block.start + idx]
            else:
                idx = np.zeros(0, np.int64)
                w = np.zeros(0, np.int64)
            lines = self.msg_lines(w)
            ids = self.line_ids(lines)
            last = b is None or b == c.n_blocks - 1
            # replies: written target lines; none across the migration
            tline = np.full(len(idx), -1, dtype=np.int64)
            if b is not None:
                tgt = block.reply_to[idx]
                tw = np.where(tgt >= 0, self.windex[np.maximum(tgt, 0)], -1)
                if self.mig > 0:
                    cross = (tw >= 0) & (tw < self.mig) & (w >= self.mig)
                    tw = np.where(cross, -1, tw)
                tline = np.where(tw >= 0, self.msg_lines(np.maximum(tw, 0)), -1)
                self.replies_received += np.bincount(
                    c.msg_author[self.written[tw[tw >= 0]]], minlength=c.n_members
                )
            rng = np.random.default_rng(np.random.SeedSequence([c.config.seed, 0x7E1F, b or 0]))
            k = len(idx)
            react = rng.random(k) < 0.06
            edited = rng.random(k) < 0.03
            fwd = rng.random(k) < 0.01
            for i in range(k):
                line = int(lines[i])
                while j < len(recs) and recs[j].line < line:
                    r = recs[j]
                    if r.kind == "welcome":
                        last_dated = (r.line, r.ts)
                    yield "rec", r, last_dated
                    rows.extend(r.rows)
                    j += 1
                gi = block.start + int(idx[i])
                kind = int(block.kind[idx[i]])
                author = int(block.author[idx[i]])
                ts = int(block.ts[idx[i]])
                body = int(block.body[idx[i]])
                mention = int(block.mention[idx[i]])
                media = MEDIA_KINDS[int(block.media[idx[i]])] if kind == MessageKind.MEDIA else None
                msg: dict[str, Any] = {
                    "line": line,
                    "id": int(ids[i]),
                    "ts": ts,
                    "author": author,
                    "body": body if kind == MessageKind.TEXT else -1,
                    "media": media,
                    "mention": mention,
                    "reply_line": int(tline[i]),
                    "reply_id": self.line_id(int(tline[i])) if tline[i] > 0 else 0,
                    "react": bool(react[i]) and kind == MessageKind.TEXT,
                    "edited": bool(edited[i]) and kind == MessageKind.TEXT,
                    "fwd": bool(fwd[i]) and kind == MessageKind.TEXT and mention < 0,
                    "rng": rng,
                    "gi": gi,
                }
                last_dated = (line, ts)
                yield "msg", msg, last_dated
                rows.extend(msg["rows"])
            if last:
                while j < len(recs):
                    r = recs[j]
                    if r.kind == "welcome":
                        last_dated = (r.line, r.ts)
                    yield "rec", r, last_dated
                    rows.extend(r.rows)
                    j += 1
            if rows:
                table = pa.Table.from_pylist(rows, schema=ROW_SCHEMA)
                truth.write(table.sort_by([("line", "ascending"), ("_order", "ascending")]))
                rows = []

    def _row(self, line: int, kind: str, ts_us: int, order: int, **cols: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "line": line,
            "kind": kind,
            "ts_utc": datetime(1970, 1, 1) + timedelta(microseconds=ts_us),
            "ts_raw": "",
            "member": None,
            "member_name": None,
            "by_member": None,
            "text": None,
            "attachment_kind": None,
            "join_method": None,
            "reply_to_line": None,
            "mentions": [],
            "platform_id": str(self.line_id(line)),
            "topic_id": None,
            "is_bot": False,
            "_order": order,
        }
        row.update(cols)
        return row

    # ------------------------------------------------------------------ content
    def _text_parts(self, msg: dict[str, Any]) -> tuple[list[tuple[str, str, int]], str, list[str]]:
        """Entity parts (type, text, user id), the full text and the mentioned ids."""
        body = self.c.pool.texts[msg["body"]]
        parts = [(t, s, 0) for t, s in _split_url(body)]
        mentions: list[str] = []
        m = msg["mention"]
        if m >= 0:
            parts = [("mention_name", self.names[m], int(self.uid[m])), ("plain", " ", 0), *parts]
            mentions = [self.ids[m]]
        merged: list[tuple[str, str, int]] = []
        for p in parts:
            if merged and p[0] == "plain" and merged[-1][0] == "plain":
                merged[-1] = ("plain", merged[-1][1] + p[1], 0)
            else:
                merged.append(p)
        return merged, "".join(p[1] for p in merged), mentions

    def _reactions(self, msg: dict[str, Any]) -> list[tuple[str, list[tuple[int, int]], int]]:
        """(emoji, [(reactor, local ts)], count) per reaction of a message."""
        rng = msg["rng"]
        author = msg["author"]
        pool = self.reactors[self.reactors != author]
        if len(pool) == 0:
            return []
        k = min(len(pool), 1 + int(rng.integers(3)))
        who = rng.choice(pool, size=k, replace=False)
        emoji = _REACTION_EMOJI[int(rng.integers(len(_REACTION_EMOJI)))]
        usable = self.c.clock.usable
        out: list[tuple[int, int]] = []
        for m in who:
            t = msg["ts"] + 5 + int(rng.integers(300))
            if t >= self.c.end or not usable[min(t // 3600, len(usable) - 1)]:
                t = msg["ts"]
            out.append((int(m), t))
        out.sort(key=lambda x: x[1])
        result = [(emoji, out, len(out))]
        if rng.random() < 0.1:
            result.append(("🤔", [], 3))
        return result

    # --------------------------------------------------------------------- JSON
    def _write_json(self, fh: IO[str], truth: TruthWriter) -> int:
        c = self.c
        size = 0

        def put(text: str) -> None:
            nonlocal size
            fh.write(text)
            size += len(text.encode("utf-8"))

        indent = ""
        if self.variant == "account":
            ex = c.exporter
            first, _, last = self.names[ex].partition(" ")
            contacts = ",\n".join(
                "   {\n"
                f'    "user_id": {int(self.uid[m])},\n'
                f'    "first_name": {_dump(self.names[m].partition(" ")[0])},\n'
                f'    "last_name": {_dump(self.names[m].partition(" ")[2])},\n'
                f'    "phone_number": {_dump(c.phones[m])},\n'
                f'    "date": "{self.local_iso(c.created_at)}",\n'
                f'    "date_unixtime": "{self.utc_us(c.created_at) // 1_000_000}"\n'
                "   }"
                for m in (int(x) for x in c.initial)
                if m != ex
            )
            put(
                "{\n"
                ' "about": "Here is the data you requested. Remember: Telegram is ad free, '
                "it doesn't collect or use your data for advertising purposes.\",\n"
                ' "personal_information": {\n'
                f'  "user_id": {int(self.uid[ex])},\n'
                f'  "first_name": {_dump(first)},\n'
                f'  "last_name": {_dump(last)},\n'
                f'  "phone_number": {_dump(c.phones[ex])},\n'
                '  "bio": ""\n'
                " },\n"
                ' "contacts": {\n'
                '  "about": "This is your contact list.",\n'
                '  "list": [\n' + contacts + "\n  ]\n },\n"
                ' "chats": {\n'
                '  "about": "This page lists all chats from this export.",\n'
                '  "list": [\n'
                "   {\n"
                f'    "name": {_dump(self.names[c.creator])},\n'
                '    "type": "personal_chat",\n'
                f'    "id": {int(self.uid[c.creator])},\n'
                '    "messages": [\n'
            )
            for k in range(3):
                t = c.created_at - 86_400 + 60 * k
                who = c.creator if k % 2 == 0 else ex
                put(
                    ("" if k == 0 else ",\n") + "     {\n"
                    f'      "id": {10 + k},\n      "type": "message",\n'
                    f'      "date": "{self.local_iso(t)}",\n'
                    f'      "date_unixtime": "{self.utc_us(t) // 1_000_000}",\n'
                    f'      "from": {_dump(self.names[who])},\n'
                    f'      "from_id": "user{int(self.uid[who])}",\n'
                    f'      "text": "see you in the group",\n'
                    '      "text_entities": [\n       {\n        "type": "plain",\n'
                    '        "text": "see you in the group"\n       }\n      ]\n'
                    "     }"
                )
            put("\n    ]\n   },\n   {\n")
            indent = "   "
            put(
                f'{indent} "name": {_dump(self.group)},\n{indent} "type": "private_supergroup",\n'
                f'{indent} "id": {self.chat_id},\n{indent} "messages": [\n'
            )
        else:
            put(
                f'{{\n "name": {_dump(self.group)},\n "type": "private_supergroup",\n'
                f' "id": {self.chat_id},\n "messages": [\n'
            )
        first_item = True
        for what, item, _ in self._stream(truth):
            text = self._json_record(item) if what == "rec" else self._json_message(item)
            if indent:
                text = text.replace("\n", "\n" + indent)
                text = indent + text
            put(text if first_item else ",\n" + text)
            first_item = False
        if self.variant == "account":
            put("\n    ]\n   }\n  ]\n }\n}\n")
        else:
            put("\n ]\n}\n")
        return size

    def _json_message(self, msg: dict[str, Any]) -> str:
        line, ts, author = msg["line"], msg["ts"], msg["author"]
        utc_us = self.utc_us(ts)
        out = [
            f'  {{\n   "id": {msg["id"]},\n   "type": "message",\n'
            f'   "date": "{self.local_iso(ts)}",\n   "date_unixtime": "{utc_us // 1_000_000}",\n'
        ]
        if msg["edited"]:
            t = ts + 90
            out.append(f'   "edited": "{self.local_iso(t)}",\n'
                       f'   "edited_unixtime": "{self.utc_us(t) // 1_000_000}",\n')  # fmt: skip
        out.append(
            f'   "from": {_dump(self.names[author])},\n'
            f'   "from_id": "user{int(self.uid[author])}",\n'
        )
        if msg["fwd"]:
            out.append(f'   "forwarded_from": "{FORWARD_SOURCE}",\n')
        if msg["reply_line"] > 0:
            out.append(f'   "reply_to_message_id": {msg["reply_id"]},\n')
        media = msg["media"]
        text_value: str
        text = None
        mentions: list[str] = []
        if media is not None:
            out.append(_JSON_MEDIA[media])
            text_value, entities = '""', "[]"
            self.counts["attachments"] += 1
        else:
            parts, text, mentions = self._text_parts(msg)
            self.counts["text"] += 1
            if len(parts) == 1 and parts[0][0] == "plain":
                text_value = _dump(parts[0][1])
            else:
                items = []
                for kind, s, uid in parts:
                    if kind == "plain":
                        items.append("    " + _dump(s))
                    elif kind == "mention_name":
                        items.append(f'    {{\n     "type": "mention_name",\n'
                                     f'     "text": {_dump(s)},\n'
                                     f'     "user_id": {uid}\n    }}')  # fmt: skip
                    else:
                        items.append(
                            f'    {{\n     "type": "{kind}",\n     "text": {_dump(s)}\n    }}'
                        )
                text_value = "[\n" + ",\n".join(items) + "\n   ]"
            ents = []
            for kind, s, uid in parts:
                extra = f',\n     "user_id": {uid}' if kind == "mention_name" else ""
                ents.append(
                    f'    {{\n     "type": "{kind}",\n     "text": {_dump(s)}{extra}\n    }}'
                )
            entities = "[\n" + ",\n".join(ents) + "\n   ]"
        out.append(f'   "text": {text_value},\n   "text_entities": {entities}')
        rows = [
            self._row(
                line,
                str(EventKind.MESSAGE_POSTED),
                utc_us,
                0,
                member=self.ids[author],
                member_name=self.names[author],
                text=text or None,
                attachment_kind=None if media is None else str(media),
                reply_to_line=msg["reply_line"] if msg["reply_line"] > 0 else None,
                mentions=mentions,
                ts_raw="",
            )
        ]
        if msg["react"]:
            reacts = self._reactions(msg)
            items = []
            order = 1
            for emoji, who, count in reacts:
                recent = ""
                if who:
                    recent = (
                        ',\n     "recent": [\n'
                        + ",\n".join(
                            f'      {{\n       "from": {_dump(self.names[m])},\n'
                            f'       "from_id": "user{int(self.uid[m])}",\n'
                            f'       "date": "{self.local_iso(t)}"\n      }}'
                            for m, t in who
                        )
                        + "\n     ]"
                    )
                items.append(f'    {{\n     "type": "emoji",\n     "count": {count},\n'
                             f'     "emoji": "{emoji}"{recent}\n    }}')  # fmt: skip
                if who:
                    for m, t in who:
                        rows.append(
                            self._row(
                                line,
                                str(EventKind.REACTION_ADDED),
                                self.utc_us(t),
                                order,
                                member=self.ids[m],
                                member_name=self.names[m],
                                reply_to_line=line,
                                ts_raw=self.local_iso(t),
                            )
                        )
                        order += 1
                else:
                    rows.append(self._row(line, str(EventKind.REACTION_ADDED), utc_us, order,
                                          reply_to_line=line, ts_raw=""))  # fmt: skip
                    order += 1
            out.append(',\n   "reactions": [\n' + ",\n".join(items) + "\n   ]")
        out.append("\n  }")
        msg["rows"] = rows
        return "".join(out)

    def _json_record(self, r: _Rec) -> str:
        c = self.c
        t = r.ts
        utc_us = self.utc_us(t)
        head = (
            f'  {{\n   "id": {self.line_id(r.line)},\n   "type": "{{type}}",\n'
            f'   "date": "{self.local_iso(t)}",\n   "date_unixtime": "{utc_us // 1_000_000}",\n'
        )

        def actor_fields(m: int) -> str:
            if m == -2:
                return (
                    f'   "actor": {_dump(self.group)},\n   "actor_id": "channel{self.chat_id}",\n'
                )
            return (
                f'   "actor": {_dump(self.names[m])},\n   "actor_id": "user{int(self.uid[m])}",\n'
            )

        tail = '   "text": "",\n   "text_entities": []\n  }'
        rows = self._rec_rows(r, utc_us)
        r.rows = rows
        if r.kind == "welcome":
            m = r.actor
            text = f"Welcome, {self.names[m]}! Please read the rules."
            return (
                head.replace("{type}", "message")
                + f'   "from": "{BOT_NAME}",\n   "from_id": "user{self.bot_uid}",\n'
                f'   "text": {_dump(text)},\n   "text_entities": [\n    {{\n     "type": "plain",\n'
                f'     "text": {_dump(text)}\n    }}\n   ],\n'
                '   "inline_bot_buttons": [\n    [\n     {\n      "type": "url",\n'
                '      "text": "Rules",\n      "data": "https://example.com/rules"\n'
                "     }\n    ]\n   ]\n  }"
            )
        body = head.replace("{type}", "service")
        if r.kind == "create":
            names = ",\n".join("    " + _dump(self.names[m]) for m in r.members)
            return (body + actor_fields(r.actor) + '   "action": "create_group",\n'
                    f'   "title": {_dump(r.title or "")},\n'
                    f'   "members": [\n{names}\n   ],\n' + tail)  # fmt: skip
        if r.kind in ("invite", "add_bot"):
            listed = [self.names[m] for m in r.members] if r.kind == "invite" else [BOT_NAME]
            names = ",\n".join("    " + _dump(n) for n in listed)
            return (body + actor_fields(r.actor) + '   "action": "invite_members",\n'
                    f'   "members": [\n{names}\n   ],\n' + tail)  # fmt: skip
        if r.kind == "link":
            return (body + actor_fields(r.actor) + '   "action": "join_group_by_link",\n'
                    f'   "inviter": {_dump(self.names[c.creator])},\n' + tail)  # fmt: skip
        if r.kind in ("left", "remove"):
            gone = r.actor if r.kind == "left" else r.members[0]
            return (body + actor_fields(r.actor) + '   "action": "remove_members",\n'
                    f'   "members": [\n    {_dump(self.names[gone])}\n   ],\n' + tail)  # fmt: skip
        if r.kind == "title":
            return (body + actor_fields(r.actor) + '   "action": "edit_group_title",\n'
                    f'   "title": {_dump(r.title or "")},\n' + tail)  # fmt: skip
        if r.kind == "photo":
            return (
                body + actor_fields(r.actor) + '   "action": "edit_group_photo",\n'
                f'   "photo": "{NOT_INCLUDED}",\n   "width": 640,\n   "height": 640,\n' + tail
            )
        if r.kind == "photo_deleted":
            return body + actor_fields(r.actor) + '   "action": "delete_group_photo",\n' + tail
        if r.kind == "pin":
            target = self.line_id(int(self.msg_lines(np.asarray([r.target]))[0]))
            return (body + actor_fields(r.actor) + '   "action": "pin_message",\n'
                    f'   "message_id": {target},\n' + tail)  # fmt: skip
        if r.kind == "migrate_to":
            return body + actor_fields(r.actor) + '   "action": "migrate_to_supergroup",\n' + tail
        return (body + actor_fields(-2) + '   "action": "migrate_from_group",\n'
                f'   "title": {_dump(r.title or "")},\n' + tail)  # fmt: skip

    def _rec_rows(self, r: _Rec, utc_us: int, raw: str = "") -> list[dict[str, Any]]:
        """Truth rows of a record (ts already decided by the caller)."""
        c = self.c
        line = r.line
        actor = self.ids[r.actor] if r.actor >= 0 else (self.group_actor if r.actor == -2 else None)
        aname = self.names[r.actor] if r.actor >= 0 else (self.group if r.actor == -2 else None)
        row = self._row
        joined = str(EventKind.MEMBER_JOINED)
        added = str(JoinMethod.ADDED)
        if r.kind == "welcome":
            text = f"Welcome, {self.names[r.actor]}! Please read the rules."
            return [
                row(
                    line,
                    str(EventKind.MESSAGE_POSTED),
                    utc_us,
                    0,
                    member=self.bot_id,
                    member_name=BOT_NAME,
                    text=text,
                    is_bot=True,
                    ts_raw=raw,
                )
            ]
        if r.kind == "create":
            out = [
                row(
                    line,
                    str(EventKind.GROUP_CREATED),
                    utc_us,
                    0,
                    member=actor,
                    member_name=aname,
                    text=r.title,
                    ts_raw=raw,
                )
            ]
            for i, m in enumerate(r.members):
                out.append(
                    row(
                        line,
                        joined,
                        utc_us,
                        i + 1,
                        member=self.ids[m],
                        member_name=self.names[m],
                        by_member=actor,
                        join_method=added,
                        ts_raw=raw,
                    )
                )
            return out
        if r.kind == "invite":
            return [
                row(
                    line,
                    joined,
                    utc_us,
                    i,
                    member=self.ids[m],
                    member_name=self.names[m],
                    by_member=actor,
                    join_method=added,
                    ts_raw=raw,
                )
                for i, m in enumerate(r.members)
            ]
        if r.kind == "add_bot":
            return [
                row(
                    line,
                    joined,
                    utc_us,
                    0,
                    member=self.bot_id,
                    member_name=BOT_NAME,
                    by_member=actor,
                    join_method=added,
                    ts_raw=raw,
                )
            ]
        if r.kind == "link":
            return [
                row(
                    line,
                    joined,
                    utc_us,
                    0,
                    member=actor,
                    member_name=aname,
                    join_method=str(JoinMethod.INVITE_LINK),
                    ts_raw=raw,
                )
            ]
        if r.kind == "left":
            return [
                row(
                    line,
                    str(EventKind.MEMBER_LEFT),
                    utc_us,
                    0,
                    member=actor,
                    member_name=aname,
                    ts_raw=raw,
                )
            ]
        if r.kind == "remove":
            m = r.members[0]
            return [
                row(
                    line,
                    str(EventKind.MEMBER_REMOVED),
                    utc_us,
                    0,
                    member=self.ids[m],
                    member_name=self.names[m],
                    by_member=actor,
                    ts_raw=raw,
                )
            ]
        if r.kind == "title":
            return [
                row(
                    line,
                    str(EventKind.GROUP_RENAMED),
                    utc_us,
                    0,
                    member=actor,
                    member_name=aname,
                    text=r.title,
                    ts_raw=raw,
                )
            ]
        if r.kind in ("photo", "photo_deleted"):
            return [
                row(
                    line,
                    str(EventKind.GROUP_ICON_CHANGED),
                    utc_us,
                    0,
                    member=actor,
                    member_name=aname,
                    ts_raw=raw,
                )
            ]
        if r.kind == "pin":
            target = int(self.msg_lines(np.asarray([r.target]))[0])
            return [
                row(
                    line,
                    str(EventKind.MESSAGE_PINNED),
                    utc_us,
                    0,
                    member=actor,
                    member_name=aname,
                    reply_to_line=target,
                    ts_raw=raw,
                )
            ]
        del c
        return [
            row(
                line,
                str(EventKind.SYSTEM_NOTICE),
                utc_us,
                0,
                member=actor,
                member_name=aname,
                ts_raw=raw,
            )
        ]

    # --------------------------------------------------------------------- HTML
    def _write_html(self, folder: Path, truth: TruthWriter) -> int:
        size = 0
        file_no = 0
        in_file = 0
        fh: IO[str] | None = None
        prev: tuple[int, int, int] | None = None  # (author, local ts, day) of a default message
        sep = 0
        last_day = -1
        first_ts = int(self.wts[0]) if self.n_written else 0

        def open_next() -> IO[str]:
            nonlocal file_no
            file_no += 1
            name = "messages.html" if file_no == 1 else f"messages{file_no}.html"
            f = (folder / name).open("w", encoding="utf-8", newline="\n")
            f.write(_HTML_HEAD.format(title=html.escape(self.group)))
            if file_no > 1:
                back = "messages.html" if file_no == 2 else f"messages{file_no - 1}.html"
                f.write(f'     <a class="pagination block_link" href="{back}">\n'
                        "      Previous messages\n     </a>\n")  # fmt: skip
            return f

        def close(f: IO[str], more: bool) -> None:
            if more:
                f.write('     <a class="pagination block_link" '
                        f'href="messages{file_no + 1}.html">\n'
                        "      Next messages\n     </a>\n")  # fmt: skip
            f.write(_HTML_TAIL)
            f.close()

        for what, item, last_dated in self._stream(truth):
            if fh is None or in_file == MESSAGES_PER_FILE:
                if fh is not None:
                    close(fh, True)
                fh = open_next()
                in_file = 0
                prev = None
            in_file += 1
            if what == "msg":
                ts = item["ts"]
                day = ts // DAY
            else:
                dated = last_dated[1] if last_dated[0] > 0 else first_ts
                ts = item.ts if item.kind == "welcome" else dated
                day = ts // DAY
            if day != last_day and (what == "msg" or item.kind == "welcome"):
                sep += 1
                when = datetime.combine(self.c.config.start, datetime.min.time()) + timedelta(
                    days=int(day)
                )
                text = f"{when.day} {when.strftime('%B')} {when.year}"
                block = (
                    f'     <div class="message service" id="message-{sep}">\n'
                    f'      <div class="body details">\n{text}\n      </div>\n     </div>\n'
                )
                fh.write(block)
                size += len(block.encode())
                last_day = day
                prev = None
            if what == "msg":
                block = self._html_message(item, prev)
                prev = (item["author"], item["ts"], int(day)) if not item["fwd"] else None
            else:
                block = self._html_record(item, ts)
                prev = (-3, item.ts, int(day)) if item.kind == "welcome" else None
            fh.write(block)
            size += len(block.encode())
        if fh is None:
            fh = open_next()
        close(fh, False)
        return size

    def _html_message(self, msg: dict[str, Any], prev: tuple[int, int, int] | None) -> str:
        line, ts, author = msg["line"], msg["ts"], msg["author"]
        day = ts // DAY
        joined = (
            prev is not None and prev[0] == author and prev[2] == day and abs(ts - prev[1]) <= 900
            and not msg["fwd"]
        )  # fmt: skip
        name = html.escape(self.names[author])
        cls = "message default clearfix" + (" joined" if joined else "")
        out = [f'     <div class="{cls}" id="message{msg["id"]}">\n']
        if not joined:
            initials = "".join(w[:1] for w in self.names[author].split()[:2])
            out.append('      <div class="pull_left userpic_wrap">\n'
                       f'       <div class="userpic userpic{author % 8 + 1}" '
                       'style="width: 42px; height: 42px">\n'
                       '        <div class="initials" style="line-height: 42px">\n'
                       f'{html.escape(initials)}\n'
                       "        </div>\n       </div>\n      </div>\n")  # fmt: skip
        out.append('      <div class="body">\n'
                   f'       <div class="pull_right date details" title="{self.html_title(ts)}">\n'
                   f"{self.local_iso(ts)[11:16]}\n       </div>\n")  # fmt: skip
        if not joined:
            out.append(f'       <div class="from_name">\n{name}\n       </div>\n')
        if msg["fwd"]:
            out.append('       <div class="pull_left forwarded userpic_wrap">\n'
                       '        <div class="userpic userpic3" style="width: 42px; height: 42px">\n'
                       '         <div class="initials" style="line-height: 42px">\n'
                       'T\n         </div>\n'
                       "        </div>\n       </div>\n"
                       '       <div class="forwarded body">\n'
                       f'        <div class="from_name">\n{FORWARD_SOURCE}<span class="details"> '
                       f"{self.html_title(ts - 3600)[:19]}</span>\n        </div>\n")  # fmt: skip
        if msg["reply_line"] > 0:
            rid = msg["reply_id"]
            out.append('       <div class="reply_to details">\n'
                       f'In reply to <a href="#go_to_message{rid}" '
                       f'onclick="return GoToMessage({rid})">'
                       "this message</a>\n       </div>\n")  # fmt: skip
        media = msg["media"]
        text = None
        mentions: list[str] = []
        if media is not None:
            cls_, title, status = _HTML_MEDIA[media]
            out.append('       <div class="media_wrap clearfix">\n'
                       f'        <div class="media clearfix pull_left {cls_}">\n'
                       '         <div class="fill pull_left">\n         </div>\n'
                       '         <div class="body">\n'
                       '          <div class="title bold">\n'
                       f'{html.escape(title)}\n          </div>\n'
                       '          <div class="description">\nNot included, change data exporting '
                       "settings to download.\n          </div>\n"
                       '          <div class="status details">\n'
                       f'{html.escape(status)}\n          </div>\n'
                       "         </div>\n        </div>\n       </div>\n")  # fmt: skip
            self.counts["attachments"] += 1
        else:
            parts, text, mentions = self._text_parts(msg)
            self.counts["text"] += 1
            rendered = []
            for kind, s, _ in parts:
                e = html.escape(s).replace("\n", "<br>")
                if kind == "link":
                    rendered.append(f'<a href="{e}">{e}</a>')
                elif kind == "mention_name":
                    rendered.append(f'<a href="" onclick="return ShowMentionName()">{e}</a>')
                else:
                    rendered.append(e)
            out.append(f'       <div class="text">\n{"".join(rendered)}\n       </div>\n')
        if msg["fwd"]:
            out.append("       </div>\n")
        utc_us = self.utc_us(ts)
        rows = [
            self._row(
                line,
                str(EventKind.MESSAGE_POSTED),
                utc_us,
                0,
                member=self.ids[author],
                member_name=self.names[author],
                text=text or None,
                attachment_kind=None if media is None else str(media),
                reply_to_line=msg["reply_line"] if msg["reply_line"] > 0 else None,
                mentions=mentions,
                ts_raw="",
            )
        ]
        if msg["react"]:
            out.append(self._html_reactions(msg, rows, utc_us))
        out.append("      </div>\n     </div>\n")
        msg["rows"] = rows
        return "".join(out)

    def _html_reactions(self, msg: dict[str, Any], rows: list[dict[str, Any]], utc_us: int) -> str:
        """``span.reactions`` as ``pushMessage`` writes it; truth rows at the message's time."""
        line = msg["line"]
        out = ['       <span class="reactions">\n']
        for emoji, who, count in self._reactions(msg):
            active = any(m == self.c.exporter for m, _ in who)
            out.append(f'        <span class="reaction{" active" if active else ""}">\n'
                       f'         <span class="emoji">\n{emoji}\n         </span>\n')  # fmt: skip
            if who:
                out.append('         <span class="userpics">\n')
                for m, _ in who:
                    name = self.names[m]
                    initials = "".join(w[:1] for w in name.split()[:2])
                    out.append(f'          <div class="userpic userpic{m % 8 + 1}" '
                               'style="width: 20px; height: 20px">\n'
                               '           <div class="initials" style="line-height: 20px" '
                               f'title="{html.escape(name)}">\n{html.escape(initials)}\n'
                               "           </div>\n          </div>\n")  # fmt: skip
                    rows.append(self._row(line, str(EventKind.REACTION_ADDED), utc_us, len(rows),
                                          member=self.ids[m], member_name=name,
                                          reply_to_line=line, ts_raw=""))  # fmt: skip
                out.append("         </span>\n")
            if not who or count > len(who):
                out.append(f'         <span class="count">\n{count}\n         </span>\n')
            if not who:
                rows.append(self._row(line, str(EventKind.REACTION_ADDED), utc_us, len(rows),
                                      reply_to_line=line, ts_raw=""))  # fmt: skip
            out.append("        </span>\n")
        out.append("       </span>\n")
        return "".join(out)

    def _html_record(self, r: _Rec, ts: int) -> str:
        c = self.c
        utc_us = self.utc_us(ts)
        r.rows = self._rec_rows(r, utc_us)
        esc = html.escape
        if r.kind == "welcome":
            text = esc(f"Welcome, {self.names[r.actor]}! Please read the rules.")
            return (
                '     <div class="message default clearfix" '
                f'id="message{self.line_id(r.line)}">\n'
                '      <div class="pull_left userpic_wrap">\n'
                '       <div class="userpic userpic4" style="width: 42px; height: 42px">\n'
                '        <div class="initials" style="line-height: 42px">\nWB\n        </div>\n'
                '       </div>\n      </div>\n      <div class="body">\n'
                '       <div class="pull_right date details" '
                f'title="{self.html_title(r.ts)}">\n'
                f"{self.local_iso(r.ts)[11:16]}\n       </div>\n"
                f'       <div class="from_name">\n{BOT_NAME}\n       </div>\n'
                f'       <div class="text">\n{text}\n       </div>\n'
                '       <table class="bot_buttons_table">\n        <tbody>\n         <tr>\n'
                '          <td class="bot_button_row">\n           <div class="bot_button">\n'
                '            <a href="https://example.com/rules">\n             <div>\nRules\n'
                "             </div>\n            </a>\n           </div>\n          </td>\n"
                "         </tr>\n        </tbody>\n       </table>\n      </div>\n     </div>\n"
            )
        actor = esc(self.names[r.actor]) if r.actor >= 0 else esc(self.group)

        def listed(ms: list[str]) -> str:
            return ms[0] if len(ms) == 1 else ", ".join(ms[:-1]) + " and " + ms[-1]

        if r.kind == "create":
            text = f"{actor} created group &laquo;{esc(r.title or '')}&raquo;"
            if r.members:
                text += " with members " + listed([esc(self.names[m]) for m in r.members])
        elif r.kind == "invite":
            text = f"{actor} invited " + listed([esc(self.names[m]) for m in r.members])
        elif r.kind == "add_bot":
            text = f"{actor} invited {BOT_NAME}"
        elif r.kind == "link":
            text = f"{actor} joined group by link from {esc(self.names[c.creator])}"
        elif r.kind == "left":
            text = f"{actor} removed {actor}"
        elif r.kind == "remove":
            text = f"{actor} removed {esc(self.names[r.members[0]])}"
        elif r.kind == "title":
            text = f"{actor} changed group title to &laquo;{esc(r.title or '')}&raquo;"
        elif r.kind == "photo":
            text = f"{actor} changed group photo"
        elif r.kind == "photo_deleted":
            text = f"{actor} removed group photo"
        elif r.kind == "pin":
            target = self.line_id(int(self.msg_lines(np.asarray([r.target]))[0]))
            text = (f'{actor} pinned <a href="#go_to_message{target}" '
                    f'onclick="return GoToMessage({target})">this message</a>')  # fmt: skip
        elif r.kind == "migrate_to":
            text = f"{actor} converted this group to a supergroup"
        else:
            text = (
                f"{esc(self.group)} converted a basic group to this supergroup "
                f"&laquo;{esc(r.title or '')}&raquo;"
            )
        return (
            f'     <div class="message service" id="message{self.line_id(r.line)}">\n'
            f'      <div class="body details">\n{text}\n      </div>\n     </div>\n'
        )


_HTML_HEAD: Final = """<!DOCTYPE html>
<html>

 <head>

  <meta charset="utf-8"/>
<title>Exported Data</title>
  <meta content="width=device-width, initial-scale=1.0" name="viewport"/>

  <link href="css/style.css" rel="stylesheet"/>

  <script src="js/script.js" type="text/javascript">

  </script>

 </head>

 <body onload="CheckLocation();">

  <div class="page_wrap">

   <div class="page_header">

    <div class="content">

     <div class="text bold">
{title}
     </div>

    </div>

   </div>

   <div class="page_body chat_page">

    <div class="history">

"""
_HTML_TAIL: Final = """
    </div>

   </div>

  </div>

 </body>

</html>
"""


class TelegramExportWriter:
    """The Telegram writer behind the writers' common contract (:mod:`.writer`)."""

    def __init__(self, community: Community, options: Mapping[str, Any]) -> None:
        self.variant = str(options.get("variant") or "json")
        if self.variant not in VARIANTS:
            raise ConfigError("variant", f"{self.variant!r} is not one of {', '.join(VARIANTS)}")
        self.community = community

    def write(self, out: Path, truth: TruthWriter) -> ExportResult:
        return TelegramWriter(self.community, self.variant).write(out, truth)
