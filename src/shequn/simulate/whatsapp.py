"""Write a :class:`~shequn.simulate.community.Community` as a WhatsApp chat export.

Layouts, exactly as the apps write them::

    android  31/12/23, 21:05 - Name: text          (12h: 12/31/23, 9:05\u202fPM - …)
             31/12/23, 21:05 - Alice added Bob      system lines have no author
    ios      [31/12/23, 21:05:09] Name: text
             \u200e[31/12/23, 21:05:09] Name: \u200eimage omitted
             [31/12/23, 21:05:09] Group: \u200eAlice added Bob

System lines come from :mod:`shequn.importers.whatsapp.system_lines` (``render``), the
same table the importer parses with. On top of the community the writer adds what is
WhatsApp's own: written name forms (phone numbers in bidi marks, ``~ `` push names used
inconsistently, a number change), the encryption notice, security-code notices, a few
clock-skewed (out-of-order) timestamps, attachments and the file/zip layout.

Messages are rendered one community block at a time with Arrow string kernels
(``take`` from small dictionaries, then ``binary_join_element_wise``), so ten million
messages never exist as Python strings at once.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shequn.errors import ConfigError
from shequn.events import AttachmentKind, EventKind, JoinMethod
from shequn.identity import identity_of
from shequn.importers.whatsapp.system_lines import (
    LANGUAGES,
    SystemEvent,
    join_members,
    render,
)
from shequn.simulate.community import (
    COLON_NAME,
    DAY,
    MEDIA_KINDS,
    TILDE_NAME,
    ActionKind,
    Community,
    GroupAction,
    MessageBlock,
    MessageKind,
)
from shequn.simulate.truth import ROW_SCHEMA, TruthWriter
from shequn.simulate.writer import ExportResult

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

LRM: Final = "\u200e"
NNBSP: Final = "\u202f"
LAYOUTS: Final = ("android", "ios")
CLOCKS: Final = ("24h", "12h")
DATE_ORDERS: Final = ("dmy", "mdy", "ymd")
#: date separator per language (default "/")
DATE_SEPARATORS: Final = {
    "de": ".", "ru": ".", "tr": ".", "fi": ".", "nb": ".", "da": ".", "pl": ".", "cs": ".",
    "uk": ".", "nl": "-",
}  # fmt: skip

#: attachment types the writer includes: (kind, Android prefix, iOS word, extension)
ATTACHMENT_TYPES: Final = (
    (AttachmentKind.IMAGE, "IMG", "PHOTO", "jpg"),
    (AttachmentKind.VIDEO, "VID", "VIDEO", "mp4"),
    (AttachmentKind.VOICE, "PTT", "AUDIO", "opus"),
    (AttachmentKind.STICKER, "STK", "STICKER", "webp"),
    (AttachmentKind.DOCUMENT, "DOC", "DOCUMENT", "pdf"),
)
_TINY_FILES: Final = {
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9",
    "mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    "opus": b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead",
    "webp": b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00"
    b"\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00",
    "pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
}
#: share of members whose name the exporter's phone shows as a phone number / as "~ push name"
PHONE_SHARE: Final = 0.12
TILDE_SHARE: Final = 0.10


@dataclass(frozen=True)
class WhatsAppOptions:
    """How the export looks; :meth:`validate` raises :class:`ConfigError` on a bad value."""

    layout: str = "android"
    clock: str = "24h"
    date_order: str = "dmy"
    language: str = "en"
    crlf: bool = False
    bom: bool = False
    zip: bool = False

    def validate(self) -> None:
        for name, value, allowed in (
            ("layout", self.layout, LAYOUTS),
            ("clock", self.clock, CLOCKS),
            ("date_order", self.date_order, DATE_ORDERS),
            ("language", self.language, tuple(LANGUAGES)),
        ):
            if value not in allowed:
                raise ConfigError(name, f"{value!r} is not one of {', '.join(allowed)}")

    @property
    def eol(self) -> str:
        return "\r\n" if self.crlf else "\n"


@dataclass(frozen=True)
class WhatsAppResult:
    """What the writer produced and counted."""

    export_path: Path
    chat_file: str
    media_files: tuple[str, ...]
    group_name: str
    exporter_name: str
    #: per member: primary identity, every identity written, every name form written
    member_ids: tuple[str, ...]
    member_all_ids: tuple[tuple[str, ...], ...]
    member_names: tuple[tuple[str, ...], ...]
    lines: int
    system_lines: int
    text_bytes: int
    line_counts: dict[str, int] = field(default_factory=dict)
    replies_received: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass
class _Record:
    """One system line: when, where among the messages, its text and its truth rows."""

    ts: int
    text: str
    rows: list[tuple[str, str | None, str | None, str | None, str | None, str | None]]
    pos: int = 0


class _Names:
    """Written name forms: a flat list of variants, each member owning a run of them."""

    def __init__(self) -> None:
        self.variants: list[str] = []
        self.identities: list[str] = []
        self.start: list[int] = []
        self.count: list[int] = []

    def add(self, forms: list[str]) -> None:
        self.start.append(len(self.variants))
        self.count.append(len(forms))
        self.variants.extend(forms)
        self.identities.extend(identity_of(f) for f in forms)


class WhatsAppWriter:
    """Renders one community in one layout; call :meth:`write` once."""

    def __init__(self, community: Community, options: WhatsAppOptions) -> None:
        options.validate()
        self.c = community
        self.o = options
        self.lang = LANGUAGES[options.language]
        self.ios = options.layout == "ios"
        self.group = community.subjects[-1]
        self.rng = np.random.default_rng(np.random.SeedSequence([community.config.seed, 0x3A70]))
        self._setup_names()
        self._setup_overrides()
        self._setup_attachments()
        self._setup_dictionaries()
        self._records = self._system_records()
        self.line_counts: dict[str, int] = {}
        self.replies_received = np.zeros(community.n_members, dtype=np.int64)

    # ------------------------------------------------------------------ names
    def _setup_names(self) -> None:
        c, rng = self.c, self.rng
        n = c.n_members
        counts = c.message_counts
        special = {c.creator, c.exporter}
        colon = [m for m in range(n) if c.names[m] == COLON_NAME]
        tilde_seed = [m for m in range(n) if c.names[m] == TILDE_NAME]
        special.update(colon + tilde_seed)
        phone = rng.random(n) < PHONE_SHARE
        tilde = (rng.random(n) < TILDE_SHARE) & ~phone
        phone[list(special)] = False
        tilde[[c.creator, c.exporter, *colon]] = False
        tilde[tilde_seed] = True
        # one founder whose every line shows a phone number
        founders = [int(m) for m in c.initial if int(m) not in special and counts[m] >= 3]
        if founders:
            phone[founders[0]] = True
            tilde[founders[0]] = False
            special.add(founders[0])
        # one member whose number changes mid-way: old number before, new number after
        self.switch_member = -1
        self.switch_at = -1
        pool = np.asarray([m for m in range(n) if m not in special and counts[m] >= 4], np.int64)
        for m in rng.permutation(pool)[:8]:
            where = np.flatnonzero(c.msg_author == m)
            j = len(where) // 2
            if c.msg_ts[where[j - 1]] < c.msg_ts[where[j]]:
                self.switch_member, self.switch_at = int(m), int(c.msg_ts[where[j]])
                phone[m], tilde[m] = True, False
                break
        names = _Names()
        taken = {identity_of(p) for p in c.phones}
        for m in range(n):
            if phone[m]:
                forms = [f"\u202a{c.phones[m]}\u202c"]
                if m == self.switch_member:
                    forms.append(f"\u202a{self._new_number(taken)}\u202c")
            elif tilde[m]:
                forms = [f"~ {c.names[m]}", c.names[m]]
            else:
                forms = [c.names[m]]
            names.add(forms)
        self.names = names
        self.var_start = np.asarray(names.start, dtype=np.int32)
        self.var_count = np.asarray(names.count, dtype=np.int32)
        self.is_phone = phone
        owner: dict[str, int] = {}
        for m in range(n):
            for v in range(names.start[m], names.start[m] + names.count[m]):
                if owner.setdefault(names.identities[v], m) != m:
                    raise RuntimeError(f"two members share identity {names.identities[v]!r}")
        # forced forms: both "ok" lines of a pair alike; "~ Maria" writes both forms early on
        self.forced_variant: dict[int, int] = {}
        for k in c.duplicate_pairs:
            a = int(c.msg_author[k])
            self.forced_variant[int(k)] = self.forced_variant[int(k) + 1] = names.start[a]
        for m in tilde_seed:
            mine = [int(k) for k in np.flatnonzero(c.msg_author == m)[:10]]
            first = [k for k in mine if k not in self.forced_variant][:2]
            for i, k in enumerate(first):
                self.forced_variant[k] = names.start[m] + i
        self.usage = np.zeros(len(names.variants), dtype=np.int64)

    def _new_number(self, taken: set[str]) -> str:
        while True:
            d = f"{int(self.rng.integers(10_000_000)):07d}"
            number = f"+49 151 {d[:3]} {d[3:]}"
            if identity_of(number) not in taken:
                taken.add(identity_of(number))
                return number

    def _name_at(self, m: int, ts: int) -> int:
        """Variant index for member ``m`` in a system line at ``ts``."""
        start, count = self.names.start[m], self.names.count[m]
        if m == self.switch_member:
            v = start + int(ts >= self.switch_at)
        else:
            v = start + int(self.rng.integers(count))
        self.usage[v] += 1
        return v

    # ---------------------------------------------------------- message quirks
    def _setup_overrides(self) -> None:
        """A few clock-skewed messages written earlier than the line before them."""
        c, rng = self.c, self.rng
        m = c.n_messages
        self.ooo: dict[int, int] = {}
        self.ooo_pos = np.zeros(0, dtype=np.int64)
        self.ooo_ts = np.zeros(0, dtype=np.int64)
        if m < 200:
            return
        avoid = set(self.forced_variant) | {int(k) for k in c.forced_pos}
        target = min(500, max(3, m // 20_000))
        active_from = np.maximum(c.join_s, c.settled_at)
        for _ in range(200 * target):
            if len(self.ooo) == target:
                break
            k = int(rng.integers(1, m))
            if k in avoid or k - 1 in self.ooo or k + 1 in self.ooo:
                continue
            prev, here = int(c.msg_ts[k - 1]), int(c.msg_ts[k])
            who = int(c.msg_author[k])
            if here - prev >= 60 or prev % 3600 < 240 or who == self.switch_member:
                continue
            new = (prev // 60) * 60 - 60 * int(rng.integers(1, 3)) + int(rng.integers(60))
            if new < active_from[who]:
                continue
            self.ooo[k] = new
        self.ooo_pos = np.asarray(sorted(self.ooo), dtype=np.int64)
        self.ooo_ts = np.asarray([self.ooo[int(k)] for k in self.ooo_pos], dtype=np.int64)

    def _setup_attachments(self) -> None:
        """A few media messages are written as attached files (their files go in the zip)."""
        c, rng = self.c, self.rng
        media = np.flatnonzero(c.msg_kind == MessageKind.MEDIA)
        media = media[~np.isin(media, np.asarray(list(self.ooo), dtype=np.int64))]
        want = min(len(media), max(3, min(100, c.n_messages // 1000)))
        chosen = np.sort(rng.choice(media, size=want, replace=False)) if want else media[:0]
        self.att_pos = chosen.astype(np.int64)
        self.att_kind: list[AttachmentKind] = []
        self.att_text: list[str] = []
        self.att_files: list[str] = []
        per_day: dict[str, int] = {}
        for k in chosen:
            kind, prefix, word, ext = ATTACHMENT_TYPES[int(rng.integers(len(ATTACHMENT_TYPES)))]
            when = c.clock.local(int(c.msg_ts[k]))
            if self.ios:
                stamp = when.strftime("%Y-%m-%d-%H-%M-%S")
                name = f"{int(k) + 1:08d}-{word}-{stamp}.{ext}"
                text = f"{LRM}<attached: {name}>"
            else:
                day = when.strftime("%Y%m%d")
                seq = per_day.get(day, 0)
                per_day[day] = seq + 1
                name = f"{prefix}-{day}-WA{seq:04d}.{ext}"
                text = f"{name} {self.lang.file_attached}"
            self.att_kind.append(kind)
            self.att_text.append(text)
            self.att_files.append(name)

    # ------------------------------------------------------------ dictionaries
    def _setup_dictionaries(self) -> None:
        c, o = self.c, self.o
        eol = o.eol
        pool = c.pool.texts
        omitted = dict(self.lang.media_omitted)
        hidden = [t for t, k in omitted.items() if k == AttachmentKind.MEDIA] or list(omitted)
        by_kind = {k: t for t, k in omitted.items() if k != AttachmentKind.MEDIA}
        media_texts: list[str] = []
        media_kinds: list[str] = []
        for kind in MEDIA_KINDS:
            if self.ios:
                # a kind the language has no word for is written as its nearest kind
                text = by_kind.get(kind) or by_kind.get(AttachmentKind.IMAGE) or hidden[0]
                media_texts.append(LRM + text)
                media_kinds.append(str(omitted[text]))
            else:
                media_texts.append(hidden[0])
                media_kinds.append(str(omitted[hidden[0]]))
        deleted = list(self.lang.deleted)
        del_other, del_you = deleted[0], deleted[-1]
        if self.ios:
            del_other, del_you = LRM + del_other, LRM + del_you
        self.media_base = len(pool)
        self.deleted_base = self.media_base + len(media_texts)
        self.att_base = self.deleted_base + 2
        bodies = [t.replace("\n", eol) for t in pool] + media_texts + [del_other, del_you]
        self.bodies = pa.array(bodies + self.att_text, pa.string())
        self.pool_lf = pa.array(list(pool), pa.string())
        kinds = sorted({*media_kinds, *(str(k) for k in self.att_kind)})
        self.kind_names = pa.array(kinds, pa.string())
        kind_index = {k: i for i, k in enumerate(kinds)}
        self.media_kind_idx = np.asarray([kind_index[k] for k in media_kinds], dtype=np.int32)
        self.att_kind_idx = np.asarray([kind_index[str(k)] for k in self.att_kind], np.int32)

        self.dates = [self._date_text(d) for d in range(c.config.days + 1)]
        self.times = self._time_texts()
        self.date_arr = pa.array(self.dates, pa.string())
        self.time_arr = pa.array(self.times, pa.string())
        self.variant_arr = pa.array(self.names.variants, pa.string())
        self.identity_arr = pa.array(self.names.identities, pa.string())
        primary = [self.names.identities[s] for s in self.names.start]
        self.primary_ids = primary
        mention_words = [
            "@" + (pid[1:] if self.is_phone[m] else c.names[m]) for m, pid in enumerate(primary)
        ]
        self.mention_arr = pa.array([w + " " for w in mention_words] + [""], pa.string())
        self.mention_ids = pa.array(primary, pa.string())
        self.prefix_arr = pa.array(["", LRM], pa.string())

    def _date_text(self, day: int) -> str:
        d = self.c.config.start + timedelta(days=day)
        sep = DATE_SEPARATORS.get(self.o.language, "/")
        if self.o.date_order == "dmy":
            return f"{d.day:02d}{sep}{d.month:02d}{sep}{d.year % 100:02d}"
        if self.o.date_order == "mdy":
            return f"{d.month}{sep}{d.day}{sep}{d.year % 100:02d}"
        return f"{d.year:04d}{sep}{d.month:02d}{sep}{d.day:02d}"

    def _time_texts(self) -> list[str]:
        twelve = self.o.clock == "12h"
        space = " " if self.ios else NNBSP
        out: list[str] = []
        step = 1 if self.ios else 60
        for s in range(0, DAY, step):
            h, mi, se = s // 3600, s // 60 % 60, s % 60
            hh = f"{(h % 12) or 12}" if twelve else f"{h:02d}"
            text = f"{hh}:{mi:02d}:{se:02d}" if self.ios else f"{hh}:{mi:02d}"
            if twelve:
                text += space + ("AM" if h < 12 else "PM")
            out.append(text)
        return out

    # ----------------------------------------------------------- system lines
    def _system_records(self) -> list[_Record]:
        c, lang = self.c, self.o.language
        ex = c.exporter
        recs: list[_Record] = []
        actions = list(c.actions)
        exporter_added = next(
            a.ts for a in actions if a.kind == ActionKind.ADDED and ex in a.members
        )
        notice = _render(lang, SystemEvent.ENCRYPTION_NOTICE)
        recs.append(_Record(exporter_added, notice, [(EventKind.SYSTEM_NOTICE, None, None,
                                                       None, None, None)]))  # fmt: skip
        timed: list[_Record] = [self._action_record(a) for a in actions]
        timed.extend(self._whatsapp_notices())
        timed.sort(key=lambda r: r.ts)
        positions = np.searchsorted(c.msg_ts, np.asarray([r.ts for r in timed], np.int64))
        for r, p in zip(timed, positions, strict=True):
            r.pos = int(p)
        return recs + timed

    def _who(self, m: int, ts: int) -> tuple[str, str]:
        v = self._name_at(m, ts)
        return self.names.variants[v], self.names.identities[v]

    def _action_record(self, a: GroupAction) -> _Record:
        lang, ex = self.o.language, self.c.exporter
        you_actor = a.actor == ex
        actor_name, actor_id = ("", self.primary_ids[ex])
        if a.actor is not None and not you_actor:
            actor_name, actor_id = self._who(a.actor, a.ts)
        kw: dict[str, str] = {} if you_actor else {"actor": actor_name}
        you = "actor" if you_actor else None
        if a.kind == ActionKind.CREATED:
            text = _render(lang, SystemEvent.GROUP_CREATED, you=you, subject=a.subject or "", **kw)
            return _Record(a.ts, text, [(EventKind.GROUP_CREATED, actor_id, actor_name or None,
                                         None, a.subject, None)])  # fmt: skip
        if a.kind in (ActionKind.ADDED, ActionKind.JOINED_LINK):
            how = JoinMethod.ADDED if a.kind == ActionKind.ADDED else JoinMethod.INVITE_LINK
            by = actor_id if a.kind == ActionKind.ADDED else None
            if ex in a.members:
                if a.kind == ActionKind.ADDED:
                    text = _render(lang, SystemEvent.ADDED, you="member", **kw)
                else:
                    text = _render(lang, SystemEvent.JOINED_VIA_LINK, you="member")
                return _Record(a.ts, text, [(EventKind.MEMBER_JOINED, self.primary_ids[ex],
                                             None, by, None, how)])  # fmt: skip
            who = [self._who(m, a.ts) for m in a.members]
            rows = [(EventKind.MEMBER_JOINED, i, w, by, None, str(how)) for w, i in who]
            if a.kind == ActionKind.JOINED_LINK:
                text = _render(lang, SystemEvent.JOINED_VIA_LINK, member=who[0][0])
            else:
                listed = join_members([w for w, _ in who], lang)
                text = _render(lang, SystemEvent.ADDED, you=you, members=listed, **kw)
            return _Record(a.ts, text, list(rows))
        if a.kind in (ActionKind.LEFT, ActionKind.REMOVED):
            w, i = self._who(a.members[0], a.ts)
            if a.kind == ActionKind.LEFT:
                text = _render(lang, SystemEvent.LEFT, member=w)
                return _Record(a.ts, text, [(EventKind.MEMBER_LEFT, i, w, None, None, None)])
            text = _render(lang, SystemEvent.REMOVED, you=you, member=w, **kw)
            return _Record(a.ts, text, [(EventKind.MEMBER_REMOVED, i, w, actor_id, None, None)])
        if a.kind == ActionKind.RENAMED:
            text = _render(lang, SystemEvent.SUBJECT_CHANGED, you=you, old=a.old_subject or "",
                          new=a.subject or "", **kw)  # fmt: skip
            return _Record(a.ts, text, [(EventKind.GROUP_RENAMED, actor_id, actor_name or None,
                                         None, a.subject, None)])  # fmt: skip
        event, kind = {
            ActionKind.DESCRIPTION_CHANGED: (
                SystemEvent.DESCRIPTION_CHANGED,
                EventKind.GROUP_DESCRIPTION_CHANGED,
            ),
            ActionKind.ICON_CHANGED: (SystemEvent.ICON_CHANGED, EventKind.GROUP_ICON_CHANGED),
            ActionKind.ICON_DELETED: (SystemEvent.ICON_DELETED, EventKind.GROUP_ICON_CHANGED),
        }[a.kind]
        text = _render(lang, event, you=you, **kw)
        return _Record(a.ts, text, [(kind, actor_id, actor_name or None, None, None, None)])

    def _whatsapp_notices(self) -> list[_Record]:
        """Security-code changes and phone-number changes (WhatsApp's own system lines)."""
        c, rng, lang = self.c, self.rng, self.o.language
        out: list[_Record] = []
        if c.n_messages == 0:
            return out
        if self.switch_member >= 0:
            m, t = self.switch_member, self.switch_at
            old, new = self.names.start[m], self.names.start[m] + 1
            self.usage[[old, new]] += 1
            text = _render(lang, SystemEvent.NUMBER_CHANGED, old=self.names.variants[old],
                          new=self.names.variants[new])  # fmt: skip
            out.append(_Record(t, text, [(EventKind.MEMBER_NUMBER_CHANGED,
                                          self.names.identities[old], self.names.variants[old],
                                          None, self.names.identities[new], None)]))  # fmt: skip
        picks = rng.integers(c.n_messages, size=min(200, max(3, c.n_members // 50)) + 1)
        for i, k in enumerate(picks):
            m, t = int(c.msg_author[k]), int(c.msg_ts[k])
            if m == c.exporter or m == self.switch_member:
                continue
            w, ident = self._who(m, t)
            if i == 0:
                text = _render(lang, SystemEvent.NUMBER_CHANGED, member=w)
                row = (EventKind.MEMBER_NUMBER_CHANGED, ident, w, None, None, None)
            else:
                text = _render(lang, SystemEvent.SECURITY_CODE_CHANGED, member=w)
                row = (EventKind.SECURITY_NOTICE, ident, w, None, None, None)
            out.append(_Record(t, text, [row]))
        return out

    def _record_line(self, r: _Record) -> tuple[str, str]:
        """(full line, timestamp text) of a system record."""
        ts = r.ts if self.ios else r.ts - r.ts % 60
        date = self.dates[ts // DAY]
        tod = ts % DAY
        raw = f"{date}, {self.times[tod if self.ios else tod // 60]}"
        if self.ios:
            return f"[{raw}] {self.group}: {LRM}{r.text}{self.o.eol}", raw
        return f"{raw} - {r.text}{self.o.eol}", raw

    # ------------------------------------------------------------------ output
    @property
    def chat_file(self) -> str:
        return "_chat.txt" if self.ios else f"WhatsApp Chat with {self.group}.txt"

    @property
    def export_name(self) -> str:
        if self.ios:
            return f"WhatsApp Chat - {self.group}.zip"
        return f"WhatsApp Chat with {self.group}" + (".zip" if self.o.zip else ".txt")

    def write(self, out: Path, truth: TruthWriter) -> WhatsAppResult:
        """Write the export into ``out`` and every event into ``truth``."""
        path = out / self.export_name
        zipped = self.ios or self.o.zip
        media = tuple(self.att_files) if self.o.zip else ()
        with _open_text(path, self.chat_file, zipped, self._zip_time()) as fh:
            if self.o.bom:
                fh.write("\ufeff".encode())
            lines, sys_lines, size = self._write_lines(fh, truth)
        if zipped and media:
            with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
                for name in media:
                    info = zipfile.ZipInfo(name, date_time=self._zip_time())
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, _TINY_FILES[name.rsplit(".", 1)[1]])
        written_ids: list[tuple[str, ...]] = []
        written_names: list[tuple[str, ...]] = []
        for m in range(self.c.n_members):
            run = range(self.names.start[m], self.names.start[m] + self.names.count[m])
            used = [v for v in run if self.usage[v] > 0]
            written_names.append(tuple(self.names.variants[v] for v in used))
            written_ids.append(tuple(dict.fromkeys(self.names.identities[v] for v in used)))
        return WhatsAppResult(
            export_path=path,
            chat_file=self.chat_file,
            media_files=media,
            group_name=self.group,
            exporter_name=self.c.names[self.c.exporter],
            member_ids=tuple(self.primary_ids),
            member_all_ids=tuple(written_ids),
            member_names=tuple(written_names),
            lines=lines,
            system_lines=sys_lines,
            text_bytes=size,
            line_counts=dict(self.line_counts),
            replies_received=self.replies_received,
        )

    def _zip_time(self) -> tuple[int, int, int, int, int, int]:
        end = self.c.clock.local(self.c.end - 60)
        return (max(1980, end.year), end.month, end.day, end.hour, end.minute, 0)

    def _write_lines(self, fh: IO[bytes], truth: TruthWriter) -> tuple[int, int, int]:
        records = self._records
        rec_pos = np.asarray([r.pos for r in records], dtype=np.int64)
        self.line_counts = {"media_omitted": 0, "attachments": 0, "deleted": 0, "text": 0}
        self.replies_received = np.zeros(self.c.n_members, dtype=np.int64)
        line = 1
        size = 0
        done = 0
        prev_start, prev_lines = 0, np.zeros(0, dtype=np.int64)
        # with no messages at all, one empty pass still writes the system lines
        chunks: Iterator[MessageBlock | None] = (
            iter(self.c.blocks()) if self.c.n_messages else iter([None])
        )
        for block in chunks:
            a, n = (block.start, len(block.ts)) if block is not None else (0, 0)
            last = a + n == self.c.n_messages
            upto = len(records) if last else int(np.searchsorted(rec_pos, a + n, side="left"))
            recs = records[done:upto]
            local = rec_pos[done:upto] - a
            done = upto
            if block is not None:
                data, offsets, nlines, msg_rows = self._render_block(block)
            else:
                data, offsets, nlines, msg_rows = _EMPTY
            csum = np.concatenate([[0], np.cumsum(nlines)]).astype(np.int64)
            msg_line = line + csum[:-1] + np.searchsorted(local, np.arange(n), side="right")
            rec_line = line + csum[local] + np.arange(len(recs))
            line += int(csum[-1]) + len(recs)
            cursor = int(offsets[0])
            rec_rows: list[dict[str, Any]] = []
            for r, p, ln in zip(recs, local, rec_line, strict=True):
                end = int(offsets[int(p)])
                fh.write(data[cursor:end])
                size += end - cursor
                text, raw = self._record_line(r)
                encoded = text.encode()
                fh.write(encoded)
                size += len(encoded)
                cursor = end
                rec_rows.extend(self._record_rows(r, int(ln), raw))
            fh.write(data[cursor : int(offsets[-1])])
            size += int(offsets[-1]) - cursor
            tables = []
            if block is not None:
                reply = block.reply_to
                reply_line = np.full(n, -1, dtype=np.int64)
                here = reply >= a
                reply_line[here] = msg_line[reply[here] - a]
                there = (reply >= 0) & ~here
                reply_line[there] = prev_lines[reply[there] - prev_start]
                self.replies_received += np.bincount(
                    self.c.msg_author[reply[reply >= 0]], minlength=self.c.n_members
                )
                tables.extend(self._message_tables(block, msg_rows, msg_line, reply_line))
                prev_start, prev_lines = a, msg_line
            if rec_rows:
                tables.append(pa.Table.from_pylist(rec_rows, schema=ROW_SCHEMA))
            if tables:
                truth.write(_sorted(pa.concat_tables(tables)))
        self.line_counts.update(
            lines=line - 1, system_lines=len(records), out_of_order=len(self.ooo)
        )
        return line - 1, len(records), size

    def _record_rows(self, r: _Record, line: int, raw: str) -> list[dict[str, Any]]:
        ts = self.c.clock.to_utc_seconds(np.asarray([r.ts if self.ios else r.ts - r.ts % 60]))
        when = datetime(1970, 1, 1) + timedelta(seconds=int(ts[0]))
        return [
            {
                "line": line,
                "kind": str(kind),
                "ts_utc": when,
                "ts_raw": raw,
                "member": member,
                "member_name": name,
                "by_member": by,
                "text": text,
                "attachment_kind": None,
                "join_method": None if how is None else str(how),
                "reply_to_line": None,
                "mentions": [],
                "platform_id": None,
                "topic_id": None,
                "is_bot": False,
                "_order": i,
            }
            for i, (kind, member, name, by, text, how) in enumerate(r.rows)
        ]

    # ------------------------------------------------------------- messages
    def _render_block(self, block: MessageBlock) -> tuple[memoryview, I64, I64, dict[str, Any]]:
        """Render one block; returns text bytes, line offsets, lines per message, columns."""
        c = self.c
        a, n = block.start, len(block.ts)
        rng = np.random.default_rng(np.random.SeedSequence([c.config.seed, 0x3A7, a]))
        author = block.author
        variant = self.var_start[author] + (rng.random(n) * self.var_count[author]).astype(np.int32)
        if self.switch_member >= 0:
            sw = author == self.switch_member
            variant[sw] = self.var_start[author[sw]] + (block.ts[sw] >= self.switch_at)
        ts = block.ts.copy()
        lo, hi = np.searchsorted(self.ooo_pos, [a, a + n])
        ts[self.ooo_pos[lo:hi] - a] = self.ooo_ts[lo:hi]
        if not self.ios:
            ts -= ts % 60
        for k, v in self.forced_variant.items():
            if a <= k < a + n:
                variant[k - a] = v
        self.usage += np.bincount(variant, minlength=len(self.usage))

        kind = block.kind
        is_text = kind == MessageKind.TEXT
        is_media = kind == MessageKind.MEDIA
        is_deleted = kind == MessageKind.DELETED
        body = np.where(is_text, block.body, 0).astype(np.int32)
        body[is_media] = self.media_base + block.media[is_media].astype(np.int32)
        body[is_deleted] = self.deleted_base + (author[is_deleted] == c.exporter)
        att_lo, att_hi = np.searchsorted(self.att_pos, [a, a + n])
        att_local = self.att_pos[att_lo:att_hi] - a
        body[att_local] = self.att_base + np.arange(att_lo, att_hi)
        is_att = np.zeros(n, dtype=np.bool_)
        is_att[att_local] = True
        is_omitted = is_media & ~is_att
        self.line_counts["media_omitted"] += int(is_omitted.sum())
        self.line_counts["attachments"] += int(is_att.sum())
        self.line_counts["deleted"] += int(is_deleted.sum())
        self.line_counts["text"] += int(is_text.sum())

        mention = np.where(block.mention >= 0, block.mention, c.n_members)
        day = pa.array(ts // DAY)
        tod = pa.array(ts % DAY if self.ios else ts % DAY // 60)
        date_col = self.date_arr.take(day)
        time_col = self.time_arr.take(tod)
        name_col = self.variant_arr.take(pa.array(variant))
        mention_col = self.mention_arr.take(pa.array(mention))
        body_col = self.bodies.take(pa.array(body))
        eol = self.o.eol
        if self.ios:
            prefix = self.prefix_arr.take(pa.array((~is_text).astype(np.int8)))
            lines = pc.binary_join_element_wise(
                prefix, "[", date_col, ", ", time_col, "] ", name_col, ": ", mention_col,
                body_col, eol, "",
            )  # fmt: skip
        else:
            lines = pc.binary_join_element_wise(
                date_col, ", ", time_col, " - ", name_col, ": ", mention_col, body_col, eol, ""
            )
        nlines = np.ones(n, dtype=np.int64)
        nlines[is_text] += c.pool.newlines[block.body[is_text]]
        bufs = lines.buffers()
        offsets = np.frombuffer(bufs[1], dtype=np.int32)[lines.offset : lines.offset + n + 1]
        data = memoryview(bufs[2]) if bufs[2] is not None else memoryview(b"")

        utc = c.clock.to_utc_seconds(ts) * 1_000_000
        text = pc.binary_join_element_wise(
            self.mention_arr.take(pa.array(mention)),
            self.pool_lf.take(pa.array(np.where(is_text, block.body, 0))),
            "",
        )
        kind_idx = np.where(is_att, 0, self.media_kind_idx[np.maximum(block.media, 0)])
        att_index = np.zeros(n, dtype=np.int64)
        att_index[att_local] = np.arange(att_lo, att_hi) - att_lo
        att_kinds = self.att_kind_idx[np.arange(att_lo, att_hi)] if att_hi > att_lo else None
        if att_kinds is not None:
            kind_idx[att_local] = att_kinds
        columns = {
            "ts_utc": pa.array(utc, type=pa.timestamp("us")),
            "ts_raw": pc.binary_join_element_wise(date_col, ", ", time_col, ""),
            "member": self.identity_arr.take(pa.array(variant)),
            "member_name": name_col,
            "text": pc.if_else(pa.array(is_text), text, pa.scalar(None, pa.string())),
            "attachment_kind": self.kind_names.take(pa.array(kind_idx, mask=~(is_media | is_att))),
            "is_deleted": is_deleted,
            "mention": block.mention,
        }
        return data, offsets.astype(np.int64), nlines, columns

    def _message_tables(
        self,
        block: MessageBlock,
        cols: dict[str, Any],
        msg_line: I64,
        reply_line: I64,
    ) -> list[pa.Table]:
        n = len(block.ts)
        mention: I32 = cols["mention"]
        has = mention >= 0
        offsets = np.concatenate([[0], np.cumsum(has)]).astype(np.int32)
        mentions = pa.ListArray.from_arrays(
            pa.array(offsets), self.mention_ids.take(pa.array(mention[has]))
        )
        nulls = pa.nulls(n, pa.string())
        posted = pa.table(
            {
                "line": pa.array(msg_line, pa.int64()),
                "kind": pa.array([str(EventKind.MESSAGE_POSTED)] * n, pa.string()),
                "ts_utc": cols["ts_utc"],
                "ts_raw": cols["ts_raw"],
                "member": cols["member"],
                "member_name": cols["member_name"],
                "by_member": nulls,
                "text": cols["text"],
                "attachment_kind": cols["attachment_kind"],
                "join_method": nulls,
                "reply_to_line": pa.array(reply_line, pa.int64(), mask=reply_line < 0),
                "mentions": mentions,
                "platform_id": nulls,
                "topic_id": nulls,
                "is_bot": pa.array(np.zeros(n, dtype=np.bool_)),
                "_order": pa.array(np.zeros(n, dtype=np.int64)),
            },
            schema=ROW_SCHEMA,
        )
        deleted = posted.filter(pa.array(cols["is_deleted"]))
        k = deleted.num_rows
        if k:
            for name, values in (
                ("kind", pa.array([str(EventKind.MESSAGE_DELETED)] * k, pa.string())),
                ("_order", pa.array(np.ones(k, dtype=np.int64))),
                ("mentions", pa.array([[]] * k, pa.list_(pa.string()))),
                ("reply_to_line", pa.nulls(k, pa.int64())),
            ):
                i = ROW_SCHEMA.get_field_index(name)
                deleted = deleted.set_column(i, ROW_SCHEMA.field(i), values)
        return [posted, deleted]


def _render(lang: str, event: SystemEvent, *, you: str | None = None, **fields: str) -> str:
    """``system_lines.render``; a language whose table lacks the line is a ConfigError."""
    try:
        return render(lang, event, you=you, **fields)
    except KeyError as exc:
        raise ConfigError("language", f"cannot write a {lang!r} export: {exc.args[0]}") from exc


_EMPTY: Final[tuple[memoryview, I64, I64, dict[str, Any]]] = (
    memoryview(b""),
    np.zeros(1, np.int64),
    np.zeros(0, np.int64),
    {},
)


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("line", "ascending"), ("_order", "ascending")])


@contextmanager
def _open_text(
    path: Path, inner: str, zipped: bool, when: tuple[int, int, int, int, int, int]
) -> Iterator[IO[bytes]]:
    """A binary stream for the chat text: a plain file, or a member of a new zip."""
    if not zipped:
        with path.open("wb", buffering=1 << 20) as fh:
            yield fh
        return
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(inner, date_time=when)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            yield fh


class WhatsAppExportWriter:
    """The WhatsApp writer behind the writers' common contract (:mod:`.writer`)."""

    def __init__(self, community: Community, options: Mapping[str, Any]) -> None:
        known = {f.name for f in fields(WhatsAppOptions)}
        self.options = WhatsAppOptions(**{k: v for k, v in options.items() if k in known})
        self.options.validate()
        self.community = community

    def write(self, out: Path, truth: TruthWriter) -> ExportResult:
        o = self.options
        result = WhatsAppWriter(self.community, o).write(out, truth)
        return ExportResult(
            export_path=result.export_path,
            group_name=result.group_name,
            exporter_name=result.exporter_name,
            member_ids=result.member_ids,
            member_all_ids=result.member_all_ids,
            member_names=result.member_names,
            export={
                "layout": o.layout,
                "clock": o.clock,
                "date_order": o.date_order,
                "language": o.language,
                "crlf": o.crlf,
                "bom": o.bom,
                "zip": o.zip,
                "file": result.export_path.name,
                "chat_file": result.chat_file,
                "media_files": list(result.media_files),
            },
            line_counts=result.line_counts,
            replies_received=result.replies_received,
            resolution=1 if o.layout == "ios" else 60,
            text_bytes=result.text_bytes,
            chat_file=result.chat_file,
            media_files=result.media_files,
        )
