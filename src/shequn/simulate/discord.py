"""Write a :class:`~shequn.simulate.community.Community` as a DiscordChatExporter export.

The community becomes one guild (its current subject is the guild's name), exported the
way DiscordChatExporter (DCE) writes JSON (``JsonMessageWriter.cs``): one document per
channel, ``{"guild", "channel", "dateRange", "exportedAt", "messages": [...],
"messageCount"}``, named ``<Guild> - <Category> - <channel> [<id>].json``.

Variants (``--variant``):

``folder`` (default)
    a folder with ``#general``, ``#off-topic``, ``#help`` and the thread
    ``Weekly meetup`` under ``#general``;
``zip``
    the same files in a zip;
``file``
    only ``#general``: every message is there, and its ``ThreadCreated`` message names a
    thread that was not exported.

What the writer adds to the community, as Discord has it: snowflake ids (from the
time), user ids and usernames, a bot (``Shequn Helper``) answering ``/rank`` slash
commands (type ``"20"`` with ``interaction``), reactions with their reactors, edits
(``timestampEdited``), attachments and stickers, pins (``ChannelPinnedMessage``), a
thread (``ThreadCreated``) and ``GuildMemberJoin`` messages in ``#general`` for everyone
but the owner. What Discord exports cannot show is not written and not in the truth:
leaves and removals (no system message), renames, descriptions and icons of the guild,
deleted messages, and how a member joined (every join is ``unknown``).

Lines (``truth_events.parquet``) follow the importer's reading order: channel files by
name, then the thread file; in each file the header is one record, then one per message.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from shequn.errors import ConfigError
from shequn.events import AttachmentKind, EventKind, JoinMethod
from shequn.simulate.community import MEDIA_KINDS, Community, MessageBlock, MessageKind
from shequn.simulate.truth import ROW_SCHEMA, TruthWriter
from shequn.simulate.writer import ExportResult

I64 = npt.NDArray[np.int64]

VARIANTS: Final = ("folder", "zip", "file")
DISCORD_EPOCH_MS: Final = 1_420_070_400_000
_EPOCH: Final = datetime(1970, 1, 1)
BOT_NAME: Final = "Shequn Helper"
THREAD_NAME: Final = "Weekly meetup"
#: (name, category, share of messages that start a conversation there)
CHANNELS: Final = (
    ("general", "Text Channels", 0.50),
    ("off-topic", "Text Channels", 0.25),
    ("help", "Support", 0.15),
)
THREAD_SHARE: Final = 0.10
BOT_SHARE: Final = 0.01
REACTION_SHARE: Final = 0.10
EDIT_SHARE: Final = 0.04
EMOJIS: Final = (
    ("👍", None),
    ("❤️", None),
    ("😂", None),
    ("🎉", None),
    ("shequn", "1100000000000000001"),
)
#: attachment kind → (file name pattern, kind the importer reads from the extension)
FILES: Final = {
    AttachmentKind.IMAGE: ("IMG_{k}.jpg", "image"),
    AttachmentKind.VIDEO: ("clip_{k}.mp4", "video"),
    AttachmentKind.VOICE: ("voice-message.ogg", "voice"),
    AttachmentKind.GIF: ("funny_{k}.gif", "gif"),
    AttachmentKind.DOCUMENT: ("notes_{k}.pdf", "document"),
    AttachmentKind.CONTACT: ("contact_{k}.vcf", "contact"),
}
_BAD_FILE_CHARS: Final = str.maketrans({c: "_" for c in '\\/:*?"<>|'})


def _snowflake(utc_ms: int, low: int) -> int:
    return ((utc_ms - DISCORD_EPOCH_MS) << 22) | (low & 0x3FFFFF)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class _Channel:
    index: int
    id: str
    name: str
    type: str
    category_id: str
    category: str
    is_thread: bool
    file_name: str = ""
    first_line: int = 0
    records: int = 0
    written: int = 0
    messages: int = 0
    #: system records (ts, order, json maker args) waiting for their time
    pending: list[_System] = field(default_factory=list)
    cursor: int = 0


@dataclass
class _System:
    ts: int  # local seconds
    kind: str  # GuildMemberJoin | ThreadCreated | ChannelPinnedMessage
    actor: int
    k: int  # sequence number for the id
    target: int = -1  # pinned message index


class DiscordExportWriter:
    """Renders one community as a DCE export; :meth:`write` once."""

    def __init__(self, community: Community, options: Mapping[str, Any]) -> None:
        variant = str(options.get("variant") or "folder")
        if variant not in VARIANTS:
            raise ConfigError("variant", f"{variant!r} is not one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.c = community
        self.rng = np.random.default_rng(np.random.SeedSequence([community.config.seed, 0xD15C]))
        self.guild = community.subjects[-1]
        self._setup_clock()
        self._setup_users()
        self._setup_channels()

    # ------------------------------------------------------------------ setup
    def _setup_clock(self) -> None:
        c = self.c
        self.start = np.datetime64(c.config.start.isoformat(), "s")

    def _utc_ms(self, local_s: int, extra_ms: int = 0) -> int:
        utc = int(self.c.clock.to_utc_seconds(np.asarray([local_s], np.int64))[0])
        return utc * 1000 + extra_ms

    def _stamp(self, local_s: int, ms: int) -> str:
        """DCE's timestamp: local time with milliseconds and the UTC offset."""
        c = self.c
        hour = min(local_s // 3600, len(c.clock.offset) - 1)
        off = int(c.clock.offset[hour])
        local = datetime.combine(c.config.start, datetime.min.time()) + timedelta(seconds=local_s)
        sign = "+" if off >= 0 else "-"
        hh, mm = divmod(abs(off) // 60, 60)
        return f"{local:%Y-%m-%dT%H:%M:%S}.{ms:03d}{sign}{hh:02d}:{mm:02d}"

    def _setup_users(self) -> None:
        c, rng = self.c, self.rng
        n = c.n_members
        lo = (datetime(2016, 1, 1) - _EPOCH).days * 86_400_000
        start_ms = (datetime.combine(c.config.start, datetime.min.time()) - _EPOCH).days
        hi = max(lo + 1, start_ms * 86_400_000 - 86_400_000)
        created = np.sort(rng.integers(lo, hi, size=n + 1))
        ids: list[str] = []
        for m in range(n + 1):
            ids.append(str(_snowflake(int(created[m]), m)))
        self.user_ids = ids[:n]
        self.bot_id = ids[n]
        self.usernames = [self._username(c.names[m], m) for m in range(n)]
        self.author_json = [
            self._user_json(self.user_ids[m], self.usernames[m], c.names[m], False)
            for m in range(n)
        ]
        self.reactor_json = [
            self._user_json(self.user_ids[m], self.usernames[m], c.names[m], False, roles=False)
            for m in range(n)
        ]
        self.bot_json = self._user_json(self.bot_id, "shequnhelper", BOT_NAME, True)

    @staticmethod
    def _username(name: str, m: int) -> str:
        base = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())
        return f"{base or 'user'}{m}"

    @staticmethod
    def _user_json(uid: str, username: str, nick: str, bot: bool, roles: bool = True) -> str:
        fields: dict[str, Any] = {
            "id": uid,
            "name": username,
            "discriminator": "0000",
            "nickname": nick,
        }
        if roles:
            fields["color"] = None
        fields["isBot"] = bot
        if roles:
            fields["roles"] = []
        fields["avatarUrl"] = "https://cdn.discordapp.com/embed/avatars/0.png"
        return _dumps(fields)

    def _setup_channels(self) -> None:
        c = self.c
        made = self._utc_ms(c.created_at)
        self.guild_id = str(_snowflake(made, 0))
        cat_ids = {
            "Text Channels": str(_snowflake(made + 1000, 1)),
            "Support": str(_snowflake(made + 1000, 2)),
        }
        self.channels: list[_Channel] = []
        for i, (name, cat, _) in enumerate(CHANNELS[: 1 if self.variant == "file" else 3]):
            cid = str(_snowflake(made + 2000 + i, 3 + i))
            self.channels.append(_Channel(i, cid, name, "GuildTextChat", cat_ids[cat], cat, False))
        # the thread: started by the owner in #general, a third into the history
        n = c.n_messages
        self.thread_at = int(c.msg_ts[n // 3]) if n else c.settled_at + 3600
        thread_id = str(_snowflake(self._utc_ms(self.thread_at) + 1, 7))
        self.thread = _Channel(
            len(self.channels), thread_id, THREAD_NAME, "GuildPublicThread",
            self.channels[0].id, "general", True,
        )  # fmt: skip
        if self.variant != "file":
            self.channels.append(self.thread)
        for ch in self.channels:
            parent = ch.category
            ch.file_name = f"{self.guild} - {parent} - {ch.name} [{ch.id}].json".translate(
                _BAD_FILE_CHARS
            )

    # ----------------------------------------------------------------- pass 1
    def _plan(self) -> None:
        """Channel of every message, bot answers, pins and the system records; lines."""
        c, rng = self.c, self.rng
        n = c.n_messages
        n_main = len(CHANNELS) if self.variant != "file" else 1
        shares = np.asarray([s for _, _, s in CHANNELS[:n_main]], np.float64)
        shares /= shares.sum()
        channel = np.zeros(n, dtype=np.int8)
        written = c.msg_kind != MessageKind.DELETED
        has_thread = self.variant != "file"
        for block in c.blocks():
            a, m = block.start, len(block.ts)
            pick = rng.choice(n_main, size=m, p=shares).astype(np.int8)
            if has_thread:
                to_thread = (rng.random(m) < THREAD_SHARE) & (block.ts >= self.thread_at)
                pick[to_thread] = self.thread.index
            channel[a : a + m] = pick
            for i in np.flatnonzero(block.reply_to >= 0):
                channel[a + i] = channel[block.reply_to[i]]
        self.channel_of = channel
        self.bot_after = np.flatnonzero(
            written & (c.msg_kind == MessageKind.TEXT) & (rng.random(n) < BOT_SHARE)
        ).astype(np.int64)
        # system records
        seq = n + 1
        creator = c.creator
        joins = [m for m in np.argsort(c.join_s, kind="stable") if int(m) != creator]
        general = self.channels[0]
        for m in joins:
            general.pending.append(_System(int(c.join_s[m]), "GuildMemberJoin", int(m), seq))
            seq += 1
        general.pending.append(_System(self.thread_at, "ThreadCreated", creator, seq))
        seq += 1
        candidates = np.flatnonzero(written)
        n_pins = min(len(candidates), max(2, n // 2000)) if n else 0
        pins: I64 = (
            np.sort(rng.choice(candidates, size=n_pins, replace=False))
            if n_pins
            else candidates[:0]
        )
        managers = [m for m in range(c.n_members) if int(c.join_s[m]) <= c.settled_at]
        for k in pins:
            at = min(int(c.msg_ts[k]) + int(rng.integers(600, 7200)), c.end - 1)
            who = managers[int(rng.integers(len(managers)))]
            ch = self.channels[int(channel[k])]
            ch.pending.append(_System(at, "ChannelPinnedMessage", who, seq, int(k)))
            seq += 1
        self.pinned = {int(k) for k in pins}
        self.bot_seq = seq
        for ch in self.channels:
            ch.pending.sort(key=lambda s: (s.ts, s.k))
            ch.messages = int(np.count_nonzero((channel == ch.index) & written))
            bots = int(np.count_nonzero(channel[self.bot_after] == ch.index))
            ch.records = ch.messages + bots + len(ch.pending)
        line = 1
        order = sorted((ch for ch in self.channels if not ch.is_thread), key=lambda x: x.file_name)
        order += sorted((ch for ch in self.channels if ch.is_thread), key=lambda x: x.file_name)
        for ch in order:
            ch.first_line = line
            line += 1 + ch.records
        self.order = order
        self.total_lines = line - 1

    # ----------------------------------------------------------------- ids
    def _message_ms(self, k: int) -> int:
        return (k * 7919) % 500

    def _message_id(self, k: int) -> str:
        ts = int(self.c.msg_ts[k])
        return str(_snowflake(self._utc_ms(ts, self._message_ms(k)), k))

    # ----------------------------------------------------------------- write
    def write(self, out: Path, truth: TruthWriter) -> ExportResult:
        self._plan()
        c = self.c
        folder = out / f"{self.guild} (DiscordChatExporter)".translate(_BAD_FILE_CHARS)
        if self.variant == "zip":
            folder = out / ".discord-zip-staging"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        staging = out / ".discord-truth-staging"
        staging.mkdir(exist_ok=True)
        handles: dict[int, IO[str]] = {}
        self._truth_parts: dict[int, pq.ParquetWriter] = {}
        self._rows: dict[int, list[dict[str, Any]]] = {}
        self.text_bytes = 0
        self.counts = {"text": 0, "attachments": 0, "media_omitted": 0}
        self.replies_received = np.zeros(c.n_members, dtype=np.int64)
        #: line of each message a later reply or pin may name (recent ones and pinned ones)
        self.line_of: dict[int, int] = {}
        for ch in self.channels:
            fh = (folder / ch.file_name).open("w", encoding="utf-8", newline="\n")
            handles[ch.index] = fh
            fh.write(self._preamble(ch))
            self._truth_parts[ch.index] = pq.ParquetWriter(
                str(staging / f"{ch.index}.parquet"), ROW_SCHEMA
            )
            self._rows[ch.index] = []
        for block in c.blocks():
            self._write_block(block, handles)
            self._flush_rows()
        for ch in self.channels:
            self._flush_system(ch, handles[ch.index], None)
        self._flush_rows()
        for ch in self.channels:
            if ch.written != ch.records:
                raise RuntimeError(f"{ch.name}: planned {ch.records} records, wrote {ch.written}")
            end = handles[ch.index]
            end.write(f'\n  ],\n  "messageCount": {ch.records}\n}}\n')
            end.close()
            self._truth_parts[ch.index].close()
            self.text_bytes += (folder / ch.file_name).stat().st_size
        self._write_truth(truth, staging)
        shutil.rmtree(staging)
        export_path, media = self._package(out, folder)
        return ExportResult(
            export_path=export_path,
            group_name=self.guild,
            exporter_name=c.names[c.exporter],
            member_ids=tuple(self.user_ids),
            member_all_ids=tuple((u,) for u in self.user_ids),
            member_names=tuple((name,) for name in c.names),
            export={
                "variant": self.variant,
                "guild_id": self.guild_id,
                "files": [ch.file_name for ch in self.order],
                "bot": {"id": self.bot_id, "name": BOT_NAME},
                "file": export_path.name,
            },
            line_counts={
                **self.counts,
                "lines": self.total_lines,
                "system_lines": sum(len(ch.pending) for ch in self.channels),
            },
            replies_received=self.replies_received,
            resolution=1,
            text_bytes=self.text_bytes,
            chat_file=self.order[0].file_name,
            media_files=media,
        )

    def _package(self, out: Path, folder: Path) -> tuple[Path, tuple[str, ...]]:
        if self.variant == "folder":
            return folder, ()
        if self.variant == "file":
            target = out / self.channels[0].file_name
            if target.exists():
                target.unlink()
            (folder / self.channels[0].file_name).rename(target)
            shutil.rmtree(folder)
            return target, ()
        target = out / f"{self.guild}.zip".translate(_BAD_FILE_CHARS)
        end = self.c.clock.local(self.c.end - 60)
        when = (max(1980, end.year), end.month, end.day, end.hour, end.minute, 0)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for ch in sorted(self.channels, key=lambda x: x.file_name):
                info = zipfile.ZipInfo(ch.file_name, date_time=when)
                info.compress_type = zipfile.ZIP_DEFLATED
                with (
                    (folder / ch.file_name).open("rb") as src,
                    zf.open(info, "w", force_zip64=True) as dst,
                ):
                    shutil.copyfileobj(src, dst, 1 << 20)
        shutil.rmtree(folder)
        return target, ()

    def _preamble(self, ch: _Channel) -> str:
        exported = self._stamp(self.c.end - 60, 0)
        guild = {
            "id": self.guild_id,
            "name": self.guild,
            "iconUrl": "https://cdn.discordapp.com/embed/avatars/0.png",
        }
        channel = {
            "id": ch.id,
            "type": ch.type,
            "categoryId": ch.category_id,
            "category": ch.category,
            "name": ch.name,
            "topic": None,
        }
        head = json.dumps({"guild": guild, "channel": channel}, ensure_ascii=False, indent=2)
        return (
            head[:-2]
            + ',\n  "dateRange": {\n    "after": null,\n    "before": null\n  },\n'
            + f'  "exportedAt": "{exported}",\n  "messages": [\n'
        )

    # ---------------------------------------------------------------- records
    def _emit(self, ch: _Channel, fh: IO[str], text: str) -> int:
        """Write one message object; returns its line."""
        if ch.written:
            fh.write(",\n")
        fh.write("    " + text)
        line = ch.first_line + 1 + ch.written
        ch.written += 1
        return line

    def _flush_system(self, ch: _Channel, fh: IO[str], until: int | None) -> None:
        while ch.cursor < len(ch.pending) and (until is None or ch.pending[ch.cursor].ts <= until):
            self._system(ch, fh, ch.pending[ch.cursor])
            ch.cursor += 1

    def _row(self, ch: _Channel, **values: Any) -> None:
        row: dict[str, Any] = {
            "ts_raw": "",
            "member": None,
            "member_name": None,
            "by_member": None,
            "text": None,
            "attachment_kind": None,
            "join_method": None,
            "reply_to_line": None,
            "mentions": [],
            "platform_id": None,
            "topic_id": ch.id,
            "is_bot": False,
            "_order": 0,
        }
        row.update(values)
        self._rows[ch.index].append(row)

    def _flush_rows(self) -> None:
        for index, rows in self._rows.items():
            if rows:
                self._truth_parts[index].write_table(pa.Table.from_pylist(rows, schema=ROW_SCHEMA))
                rows.clear()

    def _system(self, ch: _Channel, fh: IO[str], s: _System) -> None:
        c = self.c
        ms = (s.k * 131) % 1000
        utc_ms = self._utc_ms(s.ts, ms)
        mid = str(_snowflake(utc_ms, s.k))
        stamp = self._stamp(s.ts, ms)
        when = _EPOCH + timedelta(milliseconds=utc_ms)
        reference = ""
        if s.kind == "GuildMemberJoin":
            content = "Joined the server."
        elif s.kind == "ThreadCreated":
            content = "Started a thread."
            ref = {"messageId": None, "channelId": self.thread.id, "guildId": self.guild_id}
            reference = ',"reference":' + _dumps(ref)
        else:
            content = "Pinned a message."
            ref = {
                "messageId": self._message_id(s.target),
                "channelId": ch.id,
                "guildId": self.guild_id,
            }
            reference = ',"reference":' + _dumps(ref)
        text = (
            f'{{"id":"{mid}","type":"{s.kind}","timestamp":"{stamp}","timestampEdited":null,'
            f'"callEndedTimestamp":null,"isPinned":false,"content":"{content}",'
            f'"author":{self.author_json[s.actor]},"attachments":[],"embeds":[],"stickers":[],'
            f'"reactions":[],"mentions":[]{reference}}}'
        )
        line = self._emit(ch, fh, text)
        who = self.user_ids[s.actor]
        name = c.names[s.actor]
        if s.kind == "GuildMemberJoin":
            self._row(ch, line=line, kind=str(EventKind.MEMBER_JOINED), ts_utc=when, ts_raw=stamp,
                      member=who, member_name=name, join_method=str(JoinMethod.UNKNOWN),
                      platform_id=mid)  # fmt: skip
        elif s.kind == "ThreadCreated":
            exported = self.variant != "file"
            self._row(ch, line=line, kind=str(EventKind.TOPIC_CREATED), ts_utc=when,
                      ts_raw=stamp, member=who, member_name=name,
                      text=THREAD_NAME if exported else None, platform_id=self.thread.id,
                      topic_id=self.thread.id)  # fmt: skip
        else:
            self._row(ch, line=line, kind=str(EventKind.MESSAGE_PINNED), ts_utc=when,
                      ts_raw=stamp, member=who, member_name=name, by_member=who,
                      reply_to_line=self.line_of[s.target], platform_id=mid)  # fmt: skip

    def _write_block(self, block: MessageBlock, handles: dict[int, IO[str]]) -> None:
        c = self.c
        a, n = block.start, len(block.ts)
        rng = np.random.default_rng(np.random.SeedSequence([c.config.seed, 0xD15C, a]))
        utc = c.clock.to_utc_seconds(block.ts)
        hour = np.minimum(block.ts // 3600, len(c.clock.offset) - 1)
        offsets = c.clock.offset[hour]
        local_txt = np.datetime_as_string(self.start + block.ts.astype("timedelta64[s]"), unit="s")
        reactions = rng.random(n) < REACTION_SHARE
        edits = rng.random(n) < EDIT_SHARE
        bots = set(self.bot_after[(self.bot_after >= a) & (self.bot_after < a + n)].tolist())
        pool = c.pool.texts
        for i in range(n):
            k = a + i
            kind = int(block.kind[i])
            if kind == MessageKind.DELETED:
                continue
            ch = self.channels[int(self.channel_of[k])]
            fh = handles[ch.index]
            ts = int(block.ts[i])
            self._flush_system(ch, fh, ts)
            author = int(block.author[i])
            ms = self._message_ms(k)
            utc_ms = int(utc[i]) * 1000 + ms
            mid = str(_snowflake(utc_ms, k))
            off = int(offsets[i])
            sign = "+" if off >= 0 else "-"
            hh, mm = divmod(abs(off) // 60, 60)
            stamp = f"{local_txt[i]}.{ms:03d}{sign}{hh:02d}:{mm:02d}"
            when = _EPOCH + timedelta(milliseconds=utc_ms)
            target = int(block.reply_to[i])
            mention = int(block.mention[i])
            text: str | None = None
            attachments = "[]"
            stickers = "[]"
            att_kind: str | None = None
            if kind == MessageKind.TEXT:
                body = pool[int(block.body[i])]
                text = (f"@{c.names[mention]} " if mention >= 0 else "") + body
                self.counts["text"] += 1
            else:
                media = MEDIA_KINDS[int(block.media[i])]
                self.counts["attachments"] += 1
                if media == AttachmentKind.STICKER:
                    stickers = _dumps([{
                        "id": "1100000000000000100", "name": "Wave", "format": "Png",
                        "sourceUrl": "https://media.discordapp.net/stickers/1100000000000000100.png",
                    }])  # fmt: skip
                    att_kind = "sticker"
                else:
                    pattern, att_kind = FILES[media]
                    file_name = pattern.format(k=k)
                    attachments = _dumps([{
                        "id": str(_snowflake(utc_ms, k + 1)),
                        "url": f"https://cdn.discordapp.com/attachments/{ch.id}/{mid}/{file_name}",
                        "fileName": file_name,
                        "fileSizeBytes": 1000 + (k * 37) % 500_000,
                    }])  # fmt: skip
            edited = "null"
            if edits[i] and text is not None:
                edited = '"' + self._stamp(ts + 30 + (k % 3000), ms) + '"'
            mentions = (
                f"[{self.author_json[mention]}]" if text is not None and mention >= 0 else "[]"
            )
            reference = ""
            if target >= 0:
                ref = {"messageId": self._message_id(target), "channelId": ch.id,
                       "guildId": self.guild_id}  # fmt: skip
                reference = ',"reference":' + _dumps(ref)
                self.replies_received[int(c.msg_author[target])] += 1
            reactors: list[tuple[int, str]] = []
            react_json = "[]"
            if reactions[i]:
                react_json, reactors = self._reactions(rng, ts)
            content = _dumps(text or "")
            obj = (
                f'{{"id":"{mid}","type":"{"Reply" if target >= 0 else "Default"}",'
                f'"timestamp":"{stamp}","timestampEdited":{edited},"callEndedTimestamp":null,'
                f'"isPinned":{"true" if k in self.pinned else "false"},"content":{content},'
                f'"author":{self.author_json[author]},"attachments":{attachments},"embeds":[],'
                f'"stickers":{stickers},"reactions":{react_json},"mentions":{mentions}'
                f"{reference}}}"
            )
            line = self._emit(ch, fh, obj)
            self.line_of[k] = line
            self._row(ch, line=line, kind=str(EventKind.MESSAGE_POSTED), ts_utc=when,
                      ts_raw=stamp, member=self.user_ids[author], member_name=c.names[author],
                      text=text, attachment_kind=att_kind,
                      reply_to_line=self.line_of.get(target) if target >= 0 else None,
                      mentions=[self.user_ids[mention]] if text is not None and mention >= 0
                      else [], platform_id=mid)  # fmt: skip
            for j, (m, _emoji) in enumerate(reactors):
                self._row(ch, line=line, kind=str(EventKind.REACTION_ADDED), ts_utc=when,
                          ts_raw=stamp, member=self.user_ids[m], member_name=c.names[m],
                          reply_to_line=line, platform_id=mid, _order=1 + j)  # fmt: skip
            if k in bots:
                self._bot(ch, fh, k, author, ts, utc_ms, stamp)
        self._forget(a + n)

    def _forget(self, upto: int) -> None:
        """Keep line numbers only for messages a later reply or pin can still name."""
        keep_from = upto - 2 * 64
        pinned = self.pinned
        self.line_of = {k: v for k, v in self.line_of.items() if k >= keep_from or k in pinned}

    def _bot(
        self, ch: _Channel, fh: IO[str], k: int, author: int, ts: int, utc_ms: int, stamp: str
    ) -> None:
        c = self.c
        seq = self.bot_seq + k
        ms = 500 + k % 400
        bot_ms = utc_ms - utc_ms % 1000 + ms
        mid = str(_snowflake(bot_ms, seq))
        bot_stamp = stamp[:20] + f"{ms:03d}" + stamp[23:]
        level = 1 + (k * 13) % 40
        text = f"@{c.names[author]} you are level {level} 🎉"
        interaction = {"id": str(_snowflake(bot_ms - 200, seq)), "name": "rank"}
        obj = (
            f'{{"id":"{mid}","type":"20","timestamp":"{bot_stamp}","timestampEdited":null,'
            f'"callEndedTimestamp":null,"isPinned":false,"content":{_dumps(text)},'
            f'"author":{self.bot_json},"attachments":[],"embeds":[],"stickers":[],'
            f'"reactions":[],"mentions":[{self.author_json[author]}],'
            f'"interaction":{_dumps(interaction)[:-1]},"user":{self.author_json[author]}}}}}'
        )
        line = self._emit(ch, fh, obj)
        self._row(ch, line=line, kind=str(EventKind.MESSAGE_POSTED),
                  ts_utc=_EPOCH + timedelta(milliseconds=bot_ms), ts_raw=bot_stamp,
                  member=self.bot_id, member_name=BOT_NAME, text=text,
                  mentions=[self.user_ids[author]], platform_id=mid, is_bot=True)  # fmt: skip

    def _reactions(self, rng: np.random.Generator, ts: int) -> tuple[str, list[tuple[int, str]]]:
        """1–2 emoji, each with 1–4 distinct members present at ``ts`` as reactors."""
        c = self.c
        taken: set[int] = set()
        out: list[dict[str, Any]] = []
        reactors: list[tuple[int, str]] = []
        for e in rng.choice(len(EMOJIS), size=int(rng.integers(1, 3)), replace=False):
            name, eid = EMOJIS[int(e)]
            users: list[int] = []
            for _ in range(int(rng.integers(1, 5))):
                for _try in range(20):
                    m = int(rng.integers(c.n_members))
                    if m not in taken and c.join_s[m] <= ts < c.exit_s[m]:
                        taken.add(m)
                        users.append(m)
                        break
            if not users:
                continue
            emoji = {
                "id": eid or "",
                "name": name,
                "code": name,
                "isAnimated": False,
                "imageUrl": f"https://cdn.discordapp.com/emojis/{eid}.png" if eid else "",
            }
            out.append({"emoji": emoji, "count": len(users), "users": users})
            reactors.extend((m, name) for m in users)
        parts = []
        for r in out:
            users_json = ",".join(self.reactor_json[m] for m in r["users"])
            parts.append(
                f'{{"emoji":{_dumps(r["emoji"])},"count":{r["count"]},"users":[{users_json}]}}'
            )
        return "[" + ",".join(parts) + "]", reactors

    # ----------------------------------------------------------------- truth
    def _write_truth(self, truth: TruthWriter, staging: Path) -> None:
        """Every channel's rows in reading order, after its header's topic_created row."""
        for ch in self.order:
            if not ch.is_thread:
                created = _EPOCH + timedelta(milliseconds=(int(ch.id) >> 22) + DISCORD_EPOCH_MS)
                head = {
                    "line": ch.first_line, "kind": str(EventKind.TOPIC_CREATED),
                    "ts_utc": created, "ts_raw": created.isoformat(), "member": None,
                    "member_name": None, "by_member": None, "text": ch.name,
                    "attachment_kind": None, "join_method": None, "reply_to_line": None,
                    "mentions": [], "platform_id": ch.id, "topic_id": ch.id, "is_bot": False,
                    "_order": 0,
                }  # fmt: skip
                truth.write(pa.Table.from_pylist([head], schema=ROW_SCHEMA))
            part = pq.ParquetFile(str(staging / f"{ch.index}.parquet"))
            for batch in part.iter_batches(batch_size=1 << 16):
                truth.write(pa.Table.from_batches([batch], schema=ROW_SCHEMA))


__all__ = ["VARIANTS", "DiscordExportWriter"]
