"""Write a :class:`~shequn.simulate.community.Community` as a Slack workspace export.

Layout (Slack's "How to read Slack data exports"; message fields as in Slack's message
event docs and slackdump's ``export`` package)::

    <Workspace> Slack export Jan 1 2024 - Mar 30 2024/   (or the same name + .zip)
        channels.json  users.json  integration_logs.json
        <main-channel>/2024-01-01.json …   one JSON array of messages per local day
        random/2024-01-01.json …

Variants: ``folder`` (default), ``zip`` (the zip Slack ships, files at its root) and
``nousers`` (a folder without ``users.json``: names come from messages'
``user_profile``). The community's group is the main channel, named after its current
subject (renames are ``channel_name`` records); a small ``#random`` holds the founders.

What the writer adds to the community: user, channel, bot and file ids; Slack names
(``real_name``, an often empty ``display_name``); joins as ``channel_join`` (with
``inviter`` when someone was added; link joins and the creator have none), leaves and
removals as ``channel_leave`` (exports do not say who removed someone); description
and icon changes as ``channel_purpose``/``channel_topic``; replies as threads
(``thread_ts``, the parent's ``reply_count``/``replies``; 5 % broadcast to the
channel); reactions with their users; edits (``edited``); files (``files[]``, 15 % in
the old ``file`` + ``subtype: file_share`` form); pins (``pinned_item``); a bot posting
a daily digest. Deleted messages leave no trace in a Slack export, so they are not
written (they never have replies, so no tombstone would remain either).

Day files are split by the group's local date (Slack does not document the zone of the
split; the importer never depends on it, times come from ``ts``). Records are written
one per line with JSON's ``\\u`` escapes, as Slack escapes non-ASCII text; Slack also
indents, which no JSON reader sees.

Lines (``source_line``) are the order the importer reads: the main channel's records,
then ``#random``'s, then the roster (``members[]`` of each channel in channels.json).
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shequn.errors import ConfigError
from shequn.events import AttachmentKind, EventKind, JoinMethod
from shequn.simulate.community import (
    DAY,
    MEDIA_KINDS,
    ActionKind,
    Community,
    ExitKind,
    MessageBlock,
    MessageKind,
    Role,
)
from shequn.simulate.truth import ROW_SCHEMA, TruthWriter
from shequn.simulate.writer import ExportResult

I64 = npt.NDArray[np.int64]

VARIANTS: Final = ("folder", "zip", "nousers")
BOT_NAME: Final = "Digest Bot"
REACTION_SHARE: Final = 0.12
BROADCAST_SHARE: Final = 0.05
EDIT_SHARE: Final = 0.03
OLD_FILE_SHARE: Final = 0.15
DISPLAY_NAME_SHARE: Final = 0.6
EMOJI: Final = (
    "+1", "heart", "joy", "tada", "eyes", "pray", "fire", "white_check_mark", "100",
    "raised_hands", "clap", "rocket",
)  # fmt: skip
PURPOSES: Final = (
    "Where the makers meet: events, questions and show-and-tell",
    "Weekly meetups, shared notes and the reading list",
    "Ask anything. Be kind. No spam.",
)
TOPICS: Final = (
    "Next meetup: Saturday 8pm",
    "Check-in thread every morning ☀️",
    "Slides from the workshop are pinned",
    "Survey open until Friday",
)
#: media kind → (mimetype, filetype, pretty type, what the importer reads it as)
FILE_TYPES: Final = {
    AttachmentKind.IMAGE: ("image/jpeg", "jpg", "JPEG", AttachmentKind.IMAGE),
    AttachmentKind.STICKER: ("image/png", "png", "PNG", AttachmentKind.IMAGE),
    AttachmentKind.VIDEO: ("video/mp4", "mp4", "MPEG 4 Video", AttachmentKind.VIDEO),
    AttachmentKind.VOICE: ("audio/webm", "webm", "WebM", AttachmentKind.VOICE),
    AttachmentKind.GIF: ("image/gif", "gif", "GIF", AttachmentKind.GIF),
    AttachmentKind.DOCUMENT: ("application/pdf", "pdf", "PDF", AttachmentKind.DOCUMENT),
    AttachmentKind.CONTACT: ("text/vcard", "vcard", "vCard", AttachmentKind.CONTACT),
}
_ID_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_URL: Final = re.compile(r"(https?://[^\s<>]+|www\.[^\s<>]+)")


def slack_markup(text: str) -> str:
    """Text as Slack stores it: ``&``, ``<``, ``>`` escaped, links in angle brackets."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def link(m: re.Match[str]) -> str:
        url = m.group(1)
        return f"<{url}>" if url.startswith("http") else f"<http://{url}|{url}>"

    return _URL.sub(link, escaped)


def channel_slug(name: str) -> str:
    """A Slack channel name: lower case, words joined by hyphens, no symbols."""
    slug = re.sub(r"[^\w]+", "-", name.lower()).strip("-_")
    return slug[:80] or "channel"


@dataclass
class _Extra:
    """A record that is not one of the community's messages (joins, pins, bot posts …)."""

    t: int  # local seconds
    kind: str
    user: int = -1
    other: int = -1  # inviter, or the pinned message's global index
    text: str = ""
    old: str = ""


class _Truth:
    """Truth rows of one slice of the export, as columns."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {name: [] for name in ROW_SCHEMA.names}

    def add(
        self,
        line: int,
        kind: str,
        ts_us: int,
        member: str | None,
        name: str | None,
        order: int = 0,
        by: str | None = None,
        text: str | None = None,
        attachment: str | None = None,
        join: str | None = None,
        reply_line: int | None = None,
        mentions: list[str] | None = None,
        platform_id: str | None = None,
        topic: str | None = None,
        is_bot: bool = False,
    ) -> None:
        c = self.cols
        c["line"].append(line)
        c["kind"].append(kind)
        c["ts_utc"].append(ts_us)
        c["ts_raw"].append("")
        c["member"].append(member)
        c["member_name"].append(name)
        c["by_member"].append(by)
        c["text"].append(text)
        c["attachment_kind"].append(attachment)
        c["join_method"].append(join)
        c["reply_to_line"].append(reply_line)
        c["mentions"].append(mentions or [])
        c["platform_id"].append(platform_id)
        c["topic_id"].append(topic)
        c["is_bot"].append(is_bot)
        c["_order"].append(order)

    def flush(self, truth: TruthWriter) -> None:
        if not self.cols["line"]:
            return
        arrays = []
        for f in ROW_SCHEMA:
            values = self.cols[f.name]
            if f.name == "ts_utc":
                arrays.append(pa.array(values, pa.int64()).cast(f.type))
            else:
                arrays.append(pa.array(values, f.type))
        table = pa.Table.from_arrays(arrays, schema=ROW_SCHEMA)
        truth.write(table.sort_by([("line", "ascending"), ("_order", "ascending")]))
        self.cols = {name: [] for name in ROW_SCHEMA.names}


class _DayFiles:
    """Writes one channel's day files into a folder or a zip, one record at a time."""

    def __init__(self, sink: _Sink, folder: str) -> None:
        self.sink = sink
        self.folder = folder
        self.day: str | None = None
        self.fh: IO[bytes] | None = None
        self._ctx: Any = None
        self.first = True

    def write(self, day: str, record: dict[str, Any]) -> None:
        if day != self.day:
            self.close()
            self._ctx = self.sink.open(f"{self.folder}/{day}.json")
            self.fh = self._ctx.__enter__()
            self.fh.write(b"[\n")
            self.sink.bytes += 2
            self.day = day
            self.first = True
        assert self.fh is not None
        data = (b"" if self.first else b",\n") + json.dumps(record).encode()
        self.first = False
        self.fh.write(data)
        self.sink.bytes += len(data)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.write(b"\n]\n")
            self.sink.bytes += 3
            self._ctx.__exit__(None, None, None)
            self.fh = None
            self._ctx = None


class _Sink:
    """The export's files: a folder, or members of a zip."""

    def __init__(self, path: Path, zipped: bool, when: tuple[int, int, int, int, int, int]):
        self.path = path
        self.zipped = zipped
        self.when = when
        self.bytes = 0
        self._zip: zipfile.ZipFile | None = None

    def __enter__(self) -> _Sink:
        if self.zipped:
            self._zip = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED)
        else:
            self.path.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()

    @contextmanager
    def open(self, rel: str) -> Iterator[IO[bytes]]:
        if self._zip is not None:
            info = zipfile.ZipInfo(rel, date_time=self.when)
            info.compress_type = zipfile.ZIP_DEFLATED
            with self._zip.open(info, "w", force_zip64=True) as fh:
                yield fh
            return
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb", buffering=1 << 20) as fh:
            yield fh

    def dump(self, rel: str, value: Any) -> None:
        data = (json.dumps(value, indent=4) + "\n").encode()
        with self.open(rel) as fh:
            fh.write(data)
        self.bytes += len(data)


class SlackWriter:
    """Renders one community as one Slack export; call :meth:`write` once."""

    def __init__(self, community: Community, variant: str) -> None:
        self.c = c = community
        self.variant = variant
        self.rng = np.random.default_rng(np.random.SeedSequence([c.config.seed, 0x51AC]))
        n = c.n_members
        ids = self._ids(n + 6)
        self.team = "T" + ids[0][1:]
        self.uid = ["U" + i[1:] for i in ids[1 : n + 1]]
        self.main_id = "C" + ids[n + 1][1:]
        self.random_id = "C" + ids[n + 2][1:]
        self.bot_id = "B" + ids[n + 3][1:]
        self.app_id = "A" + ids[n + 4][1:]
        self.file_base = int(self.rng.integers(1 << 30))
        self.usernames: list[str] = []
        taken: set[str] = set()
        for m in range(n):
            base = re.sub(r"[^\w]+", ".", c.names[m].lower()).strip(".") or "member"
            name, k = base, 1
            while name in taken:
                k += 1
                name = f"{base}{k}"
            taken.add(name)
            self.usernames.append(name)
        has_display = self.rng.random(n) < DISPLAY_NAME_SHARE
        self.display = [
            c.names[m].split(" ")[0] if has_display[m] and " " in c.names[m] else ""
            for m in range(n)
        ]
        #: what Slack shows (and the importer reads): display name, else real name
        self.shown = [self.display[m] or c.names[m] for m in range(n)]
        self.profiles = [self._profile(m) for m in range(n)]
        self.workspace = c.subjects[-1]
        self.slugs = [channel_slug(s) for s in c.subjects]
        self.main_name = self.slugs[-1]
        self.slack_texts = [slack_markup(t) for t in c.pool.texts]
        self.epoch0 = c.clock.to_utc_seconds(np.asarray([0], np.int64))[0]
        self.replies_received = np.zeros(n, dtype=np.int64)
        self.counts = {"text": 0, "attachments": 0, "lines": 0, "system_lines": 0}
        self.latest_us = 0
        self._days: dict[int, str] = {}

    # -- setup ---------------------------------------------------------------------
    def _ids(self, k: int) -> list[str]:
        """``k`` distinct Slack-style ids ("X" + 10 of [0-9A-Z])."""
        out: list[str] = []
        seen: set[str] = set()
        while len(out) < k:
            digits = self.rng.integers(0, 36, size=10)
            value = "X" + "".join(_ID_ALPHABET[int(d)] for d in digits)
            if value not in seen:
                seen.add(value)
                out.append(value)
        return out

    def _profile(self, m: int) -> dict[str, Any]:
        name = self.c.names[m]
        return {
            "avatar_hash": f"g{m:011x}",
            "image_72": f"https://secure.gravatar.com/avatar/{m:032x}.jpg?s=72",
            "first_name": name.split(" ")[0],
            "real_name": name,
            "display_name": self.display[m],
            "team": self.team,
            "name": self.usernames[m],
            "is_restricted": False,
            "is_ultra_restricted": False,
        }

    def _ts(self, local_s: int, rec: int) -> tuple[str, int]:
        """Slack ``ts`` text and UTC microseconds of a record at a local time."""
        epoch = int(self.c.clock.to_utc_seconds(np.asarray([local_s], np.int64))[0])
        frac = rec % 1_000_000
        return f"{epoch}.{frac:06d}", epoch * 1_000_000 + frac

    def _day(self, local_s: int) -> str:
        day = int(local_s // DAY)
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = (self.c.config.start + timedelta(days=day)).isoformat()
        return text

    # -- main --------------------------------------------------------------------
    def write(self, out: Path, truth: TruthWriter) -> ExportResult:
        c = self.c
        end_day = c.config.start + timedelta(days=c.config.days - 1)
        name = f"{self.workspace} Slack export {_fmt(c.config.start)} - {_fmt(end_day)}"
        zipped = self.variant == "zip"
        path = out / (name + ".zip" if zipped else name)
        when = (end_day.year, end_day.month, end_day.day, 23, 59, 0)
        self._plan()
        with _Sink(path, zipped, when) as sink:
            self._write_index(sink)
            rows = _Truth()
            main = _DayFiles(sink, self.main_name)
            self._write_main(main, rows, truth)
            main.close()
            rand = _DayFiles(sink, "random")
            self._write_random(rand, rows)
            rand.close()
            self._write_roster(rows)
            rows.flush(truth)
            text_bytes = sink.bytes
        return ExportResult(
            export_path=path,
            group_name=self.workspace,
            exporter_name=self.shown[c.exporter],
            member_ids=tuple(self.uid),
            member_all_ids=tuple((u,) for u in self.uid),
            member_names=tuple((s,) for s in self.shown),
            export={
                "variant": self.variant,
                "zip": zipped,
                "users_json": self.variant != "nousers",
                "file": path.name,
                "workspace": self.workspace,
                "channels": [
                    {"id": self.main_id, "name": self.main_name},
                    {"id": self.random_id, "name": "random"},
                ],
                "day_files": f"split by local date in {c.config.timezone}",
            },
            line_counts=dict(self.counts),
            replies_received=self.replies_received,
            resolution=1,
            text_bytes=text_bytes,
            chat_file=self.main_name,
        )

    def _plan(self) -> None:
        """Everything that needs the whole message stream: threads, pins, record order."""
        c, rng = self.c, self.rng
        m = c.n_messages
        self.incl = c.msg_kind != MessageKind.DELETED
        extras = self._extras()
        #: pinned message → its text (the pinned_item record repeats it)
        self.pinned: dict[int, str] = {x.other: "" for x in extras if x.kind == "pin"}
        parent = np.full(m, -1, dtype=np.int64)
        for block in c.blocks():
            parent[block.start : block.start + len(block.ts)] = block.reply_to
            for i in self.pinned:
                k = i - block.start
                if 0 <= k < len(block.ts):
                    text = self.slack_texts[int(block.body[k])]
                    if block.mention[k] >= 0:
                        text = f"<@{self.uid[int(block.mention[k])]}> {text}"
                    self.pinned[i] = text
        root = np.where(parent >= 0, parent, np.arange(m, dtype=np.int64))
        while True:
            nxt = root[root]
            if np.array_equal(nxt, root):
                break
            root = nxt
        self.root = root
        is_reply = (parent >= 0) & self.incl
        replies = np.flatnonzero(is_reply)
        order = np.argsort(root[replies], kind="stable")
        self.reply_sorted = replies[order]
        self.reply_roots = root[self.reply_sorted]
        self.is_reply = is_reply
        del parent

        ts = np.asarray([e.t for e in extras], dtype=np.int64)
        order = np.argsort(ts, kind="stable")
        self.extras = [extras[int(i)] for i in order]
        ext_t = ts[order]
        self.ext_ins = np.searchsorted(c.msg_ts, ext_t, side="left").astype(np.int64)
        cum = np.concatenate([[0], np.cumsum(self.incl)]).astype(np.int64)
        self.ext_rec = cum[self.ext_ins] + np.arange(len(self.extras), dtype=np.int64)
        idx = np.arange(m, dtype=np.int64)
        self.msg_rec = cum[:-1] + np.searchsorted(self.ext_ins, idx, side="right")
        self.msg_epoch = c.clock.to_utc_seconds(c.msg_ts)
        self.main_records = int(self.incl.sum()) + len(self.extras)
        # thread roots that have replies: how many, by whom, the last one
        self.thread_start: dict[int, tuple[int, int]] = {}
        if len(self.reply_roots):
            uniq, first = np.unique(self.reply_roots, return_index=True)
            last = np.append(first[1:], len(self.reply_roots))
            for r, a, b in zip(uniq.tolist(), first.tolist(), last.tolist(), strict=True):
                self.thread_start[r] = (a, b)
        self.broadcast = rng.random(m) < BROADCAST_SHARE

    def _extras(self) -> list[_Extra]:
        c, rng = self.c, self.rng
        out: list[_Extra] = []
        subjects = {s: i for i, s in enumerate(c.subjects)}
        purpose_i = topic_i = 0
        for a in c.actions:
            if a.kind == ActionKind.CREATED:
                out.append(_Extra(a.ts, "join", a.actor if a.actor is not None else c.creator))
            elif a.kind == ActionKind.ADDED:
                for member in a.members:
                    out.append(_Extra(a.ts, "join", member, a.actor if a.actor is not None else -1))
            elif a.kind == ActionKind.JOINED_LINK:
                out.extend(_Extra(a.ts, "join", member) for member in a.members)
            elif a.kind in (ActionKind.LEFT, ActionKind.REMOVED):
                out.extend(_Extra(a.ts, "leave", member) for member in a.members)
            elif a.kind == ActionKind.RENAMED and a.actor is not None:
                new = self.slugs[subjects[a.subject or ""]]
                old = self.slugs[subjects[a.old_subject or ""]]
                out.append(_Extra(a.ts, "rename", a.actor, text=new, old=old))
            elif a.kind == ActionKind.DESCRIPTION_CHANGED and a.actor is not None:
                out.append(_Extra(a.ts, "purpose", a.actor, text=PURPOSES[purpose_i % 3]))
                purpose_i += 1
            elif (
                a.kind in (ActionKind.ICON_CHANGED, ActionKind.ICON_DELETED) and a.actor is not None
            ):
                out.append(_Extra(a.ts, "topic", a.actor, text=TOPICS[topic_i % len(TOPICS)]))
                topic_i += 1
        usable = c.clock.usable
        for day in range(c.config.days):
            t = day * DAY + 9 * 3600 + int(rng.integers(0, 600))
            if c.settled_at < t < c.end and usable[t // 3600]:
                out.append(
                    _Extra(t, "bot", text=f"Daily digest for {self._day(t)}: new posts and events")
                )
        managers = [int(x) for x in np.flatnonzero(c.role == list(Role).index(Role.MANAGER))]
        pinners = [c.exporter, *managers]
        candidates = np.flatnonzero(c.msg_kind == MessageKind.TEXT)
        if len(candidates):
            k = min(len(candidates), max(2, c.n_messages // 3000))
            for i in sorted(rng.choice(candidates, size=k, replace=False).tolist()):
                t = int(c.msg_ts[i]) + int(rng.integers(60, 6 * 3600))
                if t < c.end and usable[t // 3600]:
                    who = pinners[int(rng.integers(len(pinners)))]
                    if c.join_s[who] <= t < c.exit_s[who]:
                        out.append(_Extra(t, "pin", who, other=int(i)))
        return out

    # -- index files ----------------------------------------------------------------
    def _write_index(self, sink: _Sink) -> None:
        c = self.c
        created = int(self.msg_epoch_of(c.created_at))
        staying = [m for m in range(c.n_members) if c.exit_kind[m] == ExitKind.STAYS]
        self.main_members = staying
        self.random_members = [int(m) for m in c.initial]
        topic = {"value": "", "creator": "", "last_set": 0}
        channels = [
            {
                "id": self.main_id, "name": self.main_name, "created": created,
                "creator": self.uid[c.creator], "is_archived": False, "is_general": True,
                "members": [self.uid[m] for m in staying], "topic": topic,
                "purpose": {"value": PURPOSES[0], "creator": self.uid[c.creator],
                            "last_set": created},
            },
            {
                "id": self.random_id, "name": "random", "created": created + 60,
                "creator": self.uid[c.creator], "is_archived": False, "is_general": False,
                "members": [self.uid[m] for m in self.random_members], "topic": topic,
                "purpose": {"value": "", "creator": "", "last_set": 0},
            },
        ]  # fmt: skip
        sink.dump("channels.json", channels)
        sink.dump(
            "integration_logs.json",
            [
                {"user_id": self.uid[c.creator], "user_name": self.usernames[c.creator],
                 "date": str(created + 3600), "change_type": "added", "app_id": self.app_id,
                 "app_type": "app", "scope": "incoming-webhook,chat:write",
                 "channel": self.main_id}
            ],
        )  # fmt: skip
        if self.variant != "nousers":
            sink.dump("users.json", [self._user(m) for m in range(c.n_members)])

    def msg_epoch_of(self, local_s: int) -> int:
        return int(self.c.clock.to_utc_seconds(np.asarray([local_s], np.int64))[0])

    def _user(self, m: int) -> dict[str, Any]:
        c = self.c
        name = c.names[m]
        manager = c.role[m] == list(Role).index(Role.MANAGER)
        return {
            "id": self.uid[m], "team_id": self.team, "name": self.usernames[m],
            "deleted": bool(c.exit_kind[m] == ExitKind.REMOVED), "color": "9f69e7",
            "real_name": name, "tz": c.config.timezone, "tz_label": c.config.timezone,
            "tz_offset": int(c.clock.offset[0]),
            "profile": {
                "title": "", "phone": "", "skype": "", "real_name": name,
                "real_name_normalized": name, "display_name": self.display[m],
                "display_name_normalized": self.display[m], "fields": {},
                "status_text": "", "status_emoji": "", "status_expiration": 0,
                "avatar_hash": f"g{m:011x}", "first_name": name.split(" ")[0],
                "last_name": " ".join(name.split(" ")[1:]),
                "image_72": f"https://secure.gravatar.com/avatar/{m:032x}.jpg?s=72",
                "team": self.team,
            },
            "is_admin": bool(manager), "is_owner": m == c.creator,
            "is_primary_owner": m == c.creator, "is_restricted": False,
            "is_ultra_restricted": False, "is_bot": False, "is_app_user": False,
            "updated": self.msg_epoch_of(c.created_at), "is_email_confirmed": True,
            "who_can_share_contact_card": "EVERYONE",
        }  # fmt: skip

    # -- the main channel -------------------------------------------------------------
    def _msg_ts(self, i: int) -> tuple[str, int]:
        epoch = int(self.msg_epoch[i])
        frac = int(self.msg_rec[i]) % 1_000_000
        return f"{epoch}.{frac:06d}", epoch * 1_000_000 + frac

    def _write_main(self, files: _DayFiles, rows: _Truth, truth: TruthWriter) -> None:
        c = self.c
        e_next = 0
        n_ext = len(self.extras)
        for block in c.blocks():
            a, e = block.start, block.start + len(block.ts)
            last = e == c.n_messages
            rng = np.random.default_rng(np.random.SeedSequence([c.config.seed, 0x51AC, a]))
            reacts = rng.random(e - a) < REACTION_SHARE
            edits = rng.random(e - a) < EDIT_SHARE
            old_files = rng.random(e - a) < OLD_FILE_SHARE
            b = _Block(block, self, a, e)
            ext_ins = self.ext_ins
            for k in range(e - a):
                i = a + k
                while e_next < n_ext and ext_ins[e_next] <= i:
                    self._extra(files, rows, e_next)
                    e_next += 1
                if b.incl[k]:
                    self._message(files, rows, b, k, rng, bool(reacts[k]), bool(edits[k]),
                                  bool(old_files[k]))  # fmt: skip
            if last:
                while e_next < n_ext:
                    self._extra(files, rows, e_next)
                    e_next += 1
            rows.flush(truth)
        while e_next < n_ext:  # no messages at all
            self._extra(files, rows, e_next)
            e_next += 1

    def _message(
        self, files: _DayFiles, rows: _Truth, block: _Block, k: int,
        rng: np.random.Generator, react: bool, edit: bool, old_file: bool,
    ) -> None:  # fmt: skip
        c = self.c
        i = block.start + k
        m = block.author[k]
        uid = self.uid[m]
        epoch = block.epoch[k]
        frac = block.rec[k] % 1_000_000
        ts, ts_us = f"{epoch}.{frac:06d}", epoch * 1_000_000 + frac
        line = block.rec[k] + 1
        rec: dict[str, Any] = {"type": "message", "text": ""}
        text: str | None = None
        mentions: list[str] | None = None
        attachment: str | None = None
        if block.kind[k] == _TEXT:
            text = self.slack_texts[block.body[k]]
            if block.mention[k] >= 0:
                mentioned = self.uid[block.mention[k]]
                text = f"<@{mentioned}> {text}"
                mentions = [mentioned]
            rec["text"] = text
            self.counts["text"] += 1
        else:
            kind = MEDIA_KINDS[block.media[k]]
            mimetype, filetype, pretty, read_as = FILE_TYPES[kind]
            attachment = str(read_as)
            fid = "F" + _base36(self.file_base + i).rjust(10, "0")[-10:]
            fname = f"{kind.value}-{i}.{filetype}"
            file = {
                "id": fid, "created": epoch, "timestamp": epoch,
                "name": fname, "title": fname, "mimetype": mimetype, "filetype": filetype,
                "pretty_type": pretty, "user": uid, "mode": "hosted", "editable": False,
                "is_external": False, "size": 1000 + i % 90000,
                "url_private": f"https://files.slack.com/files-pri/{self.team}-{fid}/{fname}",
                "permalink": f"https://example.slack.com/files/{uid}/{fid}/{fname}",
            }  # fmt: skip
            if kind == AttachmentKind.VOICE:
                file["subtype"] = "slack_audio"
            self.counts["attachments"] += 1
            if old_file:
                rec["subtype"] = "file_share"
                rec["text"] = (
                    f"<@{uid}|{self.usernames[m]}> uploaded a file: <{file['permalink']}|{fname}>"
                )
                rec["file"] = file
                rec["upload"] = True
                rec["display_as_bot"] = False
            else:
                rec["files"] = [file]
                rec["upload"] = False
        rec["user"] = uid
        rec["ts"] = ts
        if "subtype" not in rec:
            rec["client_msg_id"] = _uuid(c.config.seed, i)
        rec["team"] = self.team
        rec["user_team"] = self.team
        rec["source_team"] = self.team
        rec["user_profile"] = self.profiles[m]
        if edit and text is not None:
            rec["edited"] = {"user": uid, "ts": f"{epoch + 90}.000000"}
        topic: str | None = None
        reply_line: int | None = None
        if block.is_reply[k]:
            r = block.root[k]
            root_ts = self._msg_ts(r)[0]
            topic = root_ts
            reply_line = int(self.msg_rec[r]) + 1
            rec["thread_ts"] = root_ts
            rec["parent_user_id"] = self.uid[int(c.msg_author[r])]
            self.replies_received[int(c.msg_author[r])] += 1
            if block.broadcast[k] and "subtype" not in rec:
                rec["subtype"] = "thread_broadcast"
                rec["root"] = {"type": "message", "user": rec["parent_user_id"],
                               "ts": root_ts, "thread_ts": root_ts}  # fmt: skip
        elif i in self.thread_start:
            a, b = self.thread_start[i]
            members = self.reply_sorted[a:b]
            replies = [
                {"user": self.uid[int(c.msg_author[j])], "ts": self._msg_ts(int(j))[0]}
                for j in members
            ]
            users = list(dict.fromkeys(r["user"] for r in replies))
            topic = ts
            rec["thread_ts"] = ts
            rec["reply_count"] = len(replies)
            rec["reply_users_count"] = len(users)
            rec["latest_reply"] = replies[-1]["ts"]
            rec["reply_users"] = users[:5]
            rec["replies"] = replies
            rec["is_locked"] = False
            rec["subscribed"] = False
        if i in self.pinned:
            rec["pinned_to"] = [self.main_id]
        rows.add(line, _POSTED, ts_us, uid, self.shown[m], text=text,
                 attachment=attachment, reply_line=reply_line, mentions=mentions,
                 platform_id=ts, topic=topic)  # fmt: skip
        if react:
            reactions = self._reactions(i, rng)
            if reactions:
                rec["reactions"] = reactions
                order = 1
                for reaction in reactions:
                    for reactor in reaction["users"]:
                        rows.add(line, _REACTION, ts_us, reactor,
                                 self.shown[self.uid_index[reactor]], order=order,
                                 reply_line=line, topic=topic)  # fmt: skip
                        order += 1
                    if reaction["count"] > len(reaction["users"]):
                        rows.add(line, str(EventKind.REACTION_ADDED), ts_us, None, None,
                                 order=order, reply_line=line, topic=topic)  # fmt: skip
                        order += 1
        self._record(files, block.local[k], rec, ts_us)

    def _reactions(self, i: int, rng: np.random.Generator) -> list[dict[str, Any]]:
        c = self.c
        lags = rng.integers(1, 17, size=6)
        people = list(dict.fromkeys(int(c.msg_author[i - lag]) for lag in lags if i - lag >= 0))
        if not people:
            return []
        # one or two emoji; a member reacts with one of them only (keeps the truth rows
        # of a message distinct by member), the first may count more than it lists
        emoji = rng.choice(len(EMOJI), size=2, replace=False)
        split = 1 + int(rng.integers(0, len(people)))
        groups = [people[:split], people[split:] if rng.random() < 0.3 else []]
        out = []
        for j, (e, take) in enumerate(zip(emoji, groups, strict=True)):
            if not take:
                continue
            users = [self.uid[p] for p in take]
            count = len(users)
            if j == 0 and rng.random() < 0.02:
                count += int(rng.integers(1, 40))  # more reactors than Slack lists
            out.append({"name": EMOJI[int(e)], "users": users, "count": count})
        return out

    def _extra(self, files: _DayFiles, rows: _Truth, j: int) -> None:
        c = self.c
        x = self.extras[j]
        rec_no = int(self.ext_rec[j])
        line = rec_no + 1
        ts, ts_us = self._ts(x.t, rec_no)
        self.counts["system_lines"] += x.kind != "bot"
        if x.kind == "bot":
            rec: dict[str, Any] = {
                "type": "message", "subtype": "bot_message", "text": x.text, "ts": ts,
                "username": "digest", "bot_id": self.bot_id,
                "bot_profile": {"id": self.bot_id, "deleted": False, "name": BOT_NAME,
                                "updated": int(self.epoch0), "app_id": self.app_id,
                                "icons": {"image_48": "https://example.com/digest_48.png"},
                                "team_id": self.team},
            }  # fmt: skip
            rows.add(line, str(EventKind.MESSAGE_POSTED), ts_us, self.bot_id, BOT_NAME,
                     text=x.text, platform_id=ts, is_bot=True)  # fmt: skip
            self._record(files, x.t, rec, ts_us)
            return
        uid = self.uid[x.user]
        rec = {"type": "message", "ts": ts, "user": uid}
        name = self.shown[x.user]
        if x.kind == "join":
            rec["subtype"] = "channel_join"
            rec["text"] = f"<@{uid}> has joined the channel"
            inviter = self.uid[x.other] if x.other >= 0 else None
            if inviter:
                rec["inviter"] = inviter
            method = JoinMethod.ADDED if inviter else JoinMethod.UNKNOWN
            rows.add(line, str(EventKind.MEMBER_JOINED), ts_us, uid, name, by=inviter,
                     join=str(method), platform_id=ts)  # fmt: skip
        elif x.kind == "leave":
            rec["subtype"] = "channel_leave"
            rec["text"] = f"<@{uid}> has left the channel"
            rows.add(line, str(EventKind.MEMBER_LEFT), ts_us, uid, name, platform_id=ts)
        elif x.kind == "purpose":
            rec["subtype"] = "channel_purpose"
            rec["text"] = f"<@{uid}> set the channel purpose: {slack_markup(x.text)}"
            rec["purpose"] = x.text
            rows.add(line, str(EventKind.GROUP_DESCRIPTION_CHANGED), ts_us, uid, name,
                     text=x.text, platform_id=ts)  # fmt: skip
        elif x.kind == "topic":
            rec["subtype"] = "channel_topic"
            rec["text"] = f"<@{uid}> set the channel topic: {slack_markup(x.text)}"
            rec["topic"] = x.text
            rows.add(line, str(EventKind.GROUP_SETTINGS_CHANGED), ts_us, uid, name,
                     text=x.text, platform_id=ts)  # fmt: skip
        elif x.kind == "rename":
            rec["subtype"] = "channel_name"
            rec["text"] = f'<@{uid}> has renamed the channel from "{x.old}" to "{x.text}"'
            rec["old_name"] = x.old
            rec["name"] = x.text
            rows.add(line, str(EventKind.GROUP_RENAMED), ts_us, uid, name, text=x.text,
                     platform_id=ts)  # fmt: skip
        elif x.kind == "pin":
            target = x.other
            target_ts = self._msg_ts(target)[0]
            author = int(c.msg_author[target])
            rec["subtype"] = "pinned_item"
            rec["text"] = f"<@{uid}> pinned a message to this channel."
            rec["item_type"] = "C"
            rec["item"] = {
                "type": "message", "channel": self.main_id, "created": int(ts_us // 1_000_000),
                "created_by": uid,
                "message": {"type": "message", "user": self.uid[author], "ts": target_ts,
                            "text": self.pinned[target]},
            }  # fmt: skip
            rows.add(line, str(EventKind.MESSAGE_PINNED), ts_us, uid, name, by=uid,
                     reply_line=int(self.msg_rec[target]) + 1, platform_id=ts)  # fmt: skip
        rec["user_profile"] = self.profiles[x.user]
        self._record(files, x.t, rec, ts_us)

    def _record(self, files: _DayFiles, local_s: int, rec: dict[str, Any], ts_us: int) -> None:
        files.write(self._day(local_s), rec)
        self.counts["lines"] += 1
        self.latest_us = max(self.latest_us, ts_us)

    # -- #random and the roster ---------------------------------------------------------
    def _write_random(self, files: _DayFiles, rows: _Truth) -> None:
        c = self.c
        rng = np.random.default_rng(np.random.SeedSequence([c.config.seed, 0x51AC, 0xA4D]))
        rec_no = self.main_records
        usable = c.clock.usable
        founders = self.random_members
        t0 = c.settled_at + 60
        while t0 < c.end and not usable[t0 // 3600]:
            t0 += 3600
        records: list[tuple[int, str, int, int]] = []  # (t, kind, member, inviter)
        records.append((t0, "join", c.creator, -1))
        for k, m in enumerate(f for f in founders if f != c.creator):
            records.append((t0 + 7 * (k + 1), "join", m, c.creator))
        lo = t0 + 3600
        n_msgs = min(2000, max(10, c.n_messages // 100)) if c.n_messages and lo < c.end else 0
        times = np.sort(rng.integers(lo, max(lo + 1, c.end), size=n_msgs))
        bodies = c.pool.sample(rng, n_msgs)
        authors = rng.choice(founders, size=n_msgs)
        for t, body, m in zip(times, bodies, authors, strict=True):
            if usable[int(t) // 3600] and int(t) > records[-1][0]:
                records.append((int(t), "post", int(m), int(body)))
        for t, kind, m, other in records:
            if t >= c.end:
                continue
            line = rec_no + 1
            ts, ts_us = self._ts(t, rec_no)
            uid = self.uid[m]
            if kind == "join":
                rec: dict[str, Any] = {
                    "type": "message",
                    "subtype": "channel_join",
                    "ts": ts,
                    "user": uid,
                    "text": f"<@{uid}> has joined the channel",
                }
                inviter = self.uid[other] if other >= 0 else None
                if inviter:
                    rec["inviter"] = inviter
                rows.add(line, str(EventKind.MEMBER_JOINED), ts_us, uid, self.shown[m],
                         by=inviter,
                         join=str(JoinMethod.ADDED if inviter else JoinMethod.UNKNOWN),
                         platform_id=ts)  # fmt: skip
                self.counts["system_lines"] += 1
            else:
                text = self.slack_texts[other]
                rec = {"type": "message", "text": text, "user": uid, "ts": ts,
                       "client_msg_id": _uuid(c.config.seed, 1 << 40 | rec_no),
                       "team": self.team}  # fmt: skip
                rows.add(line, str(EventKind.MESSAGE_POSTED), ts_us, uid, self.shown[m],
                         text=text, platform_id=ts)  # fmt: skip
                self.counts["text"] += 1
            rec["user_profile"] = self.profiles[m]
            self._record(files, t, rec, ts_us)
            rec_no += 1
        self.records = rec_no

    def _write_roster(self, rows: _Truth) -> None:
        line = self.records
        for members in (self.main_members, self.random_members):
            for m in members:
                line += 1
                rows.add(line, str(EventKind.MEMBER_LISTED), self.latest_us, self.uid[m],
                         self.shown[m])  # fmt: skip

    @property
    def uid_index(self) -> dict[str, int]:
        if not hasattr(self, "_uid_index"):
            self._uid_index = {u: m for m, u in enumerate(self.uid)}
        return self._uid_index


_TEXT: Final = int(MessageKind.TEXT)
_POSTED: Final = str(EventKind.MESSAGE_POSTED)
_REACTION: Final = str(EventKind.REACTION_ADDED)


class _Block:
    """One community block as Python lists (numpy scalars are slow one at a time)."""

    def __init__(self, block: MessageBlock, w: SlackWriter, a: int, e: int) -> None:
        self.start = a
        self.kind: list[int] = block.kind.tolist()
        self.author: list[int] = block.author.tolist()
        self.body: list[int] = block.body.tolist()
        self.media: list[int] = block.media.tolist()
        self.mention: list[int] = block.mention.tolist()
        self.local: list[int] = block.ts.tolist()
        self.incl: list[bool] = w.incl[a:e].tolist()
        self.rec: list[int] = w.msg_rec[a:e].tolist()
        self.epoch: list[int] = w.msg_epoch[a:e].tolist()
        self.is_reply: list[bool] = w.is_reply[a:e].tolist()
        self.root: list[int] = w.root[a:e].tolist()
        self.broadcast: list[bool] = w.broadcast[a:e].tolist()


def _fmt(day: date) -> str:
    """Slack's date in export names: "Jan 5 2024"."""
    return datetime(day.year, day.month, day.day).strftime("%b ") + f"{day.day} {day.year}"


def _base36(value: int) -> str:
    digits = []
    while True:
        value, r = divmod(value, 36)
        digits.append(_ID_ALPHABET[r])
        if value == 0:
            return "".join(reversed(digits))


def _uuid(seed: int, i: int) -> str:
    """A deterministic client_msg_id (UUID-shaped) for message ``i``."""
    h = f"{(seed * 0x9E3779B97F4A7C15 + i * 0xBF58476D1CE4E5B9) & ((1 << 128) - 1):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


class SlackExportWriter:
    """The Slack writer behind the writers' common contract (:mod:`.writer`)."""

    def __init__(self, community: Community, options: Mapping[str, Any]) -> None:
        variant = str(options.get("variant") or "folder")
        if options.get("zip") and variant == "folder":
            variant = "zip"
        if variant not in VARIANTS:
            raise ConfigError("variant", f"{variant!r} is not one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.community = community

    def write(self, out: Path, truth: TruthWriter) -> ExportResult:
        return SlackWriter(self.community, self.variant).write(out, truth)
