"""Write a :class:`~shequn.simulate.community.Community` as a WeChat group export.

Variants (``--variant``), in the layouts the exporters write (see
``docs/importers/wechat.md``)::

    memotrace      <group>(<id>@chatroom)/<group>.csv   UTF-8 (MemoTrace 2 folder naming)
    memotrace-bom  <group>/<group>_utf8.csv             utf-8-sig (WeChatMsg exporter_csv.py)
    memotrace-gbk  <group>(<id>@chatroom)/<group>.csv   re-saved by Excel in GBK ("?" for
                                                        what GBK cannot hold: emoji, U+2005)
    pywxdump       <id>@chatroom/<id>@chatroom_0_5000.csv … pages + users.json

What the writer adds to the community: wxids, nicknames and the exporter's remarks for
some members, the chatroom id, message ids (``localId`` / ``MsgSvrID``), WeChat message
types (text 1, image 3, voice 34, contact 42, video 43, sticker 47, file 49/6, link
49/5, quote 49/57), @mentions ending in U+2005, and the system lines: invitations
(several invitees in one line), QR-code joins (the community's link joins, shown with
the member whose QR code was scanned), removals, renames and recalls. WeChat shows no
line when a member leaves, nor for description or icon changes: those leave no trace.

Truth ``line`` is the CSV data row (1-based, header excluded, counting on across
PyWxDump's pages). A member's identity is their wxid if the export shows any message of
theirs (recalled ones are gone), else ``identity_of`` of the name the system lines use.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import pyarrow as pa

from shequn.errors import ConfigError
from shequn.events import AttachmentKind, EventKind, JoinMethod
from shequn.identity import identity_of
from shequn.simulate.community import (
    MEDIA_KINDS,
    ActionKind,
    Community,
    GroupAction,
    MessageBlock,
    MessageKind,
)
from shequn.simulate.truth import ROW_SCHEMA, TruthWriter
from shequn.simulate.writer import ExportResult

VARIANTS: Final = ("memotrace", "memotrace-bom", "memotrace-gbk", "pywxdump")
MEMOTRACE_HEADER: Final = [
    "localId",
    "TalkerId",
    "Type",
    "SubType",
    "IsSender",
    "CreateTime",
    "Status",
    "StrContent",
    "StrTime",
    "Remark",
    "NickName",
    "Sender",
]
PYWXDUMP_HEADER: Final = [
    "id",
    "MsgSvrID",
    "type_name",
    "is_sender",
    "talker",
    "room_name",
    "msg",
    "src",
    "CreateTime",
]
PAGE_SIZE: Final = 5000
MENTION_END: Final = "\u2005"
#: share of replies written as a WeChat quote (49/57); the rest are plain texts
QUOTE_SHARE: Final = 0.3
#: share of texts written as a link card (49/5)
LINK_SHARE: Final = 0.02
#: share of members the exporter has a remark (contact note) for
REMARK_SHARE: Final = 0.15
_REMARK_TAGS: Final = ("同事", "school", "读书会", "跑团", "neighbour", "客户")
_LOCAL: Final = "%Y-%m-%d %H:%M:%S"
#: the exporter's own recall as WeChat stores it: with a "re-edit" link
_SELF_RECALL: Final = (
    '<![CDATA[你撤回了一条消息 <a href="weixin://revoke_edit_click">重新编辑</a>]]>'
)

#: community media kind → (Type, SubType, PyWxDump type_name, attachment kind written)
_MEDIA: Final = {
    AttachmentKind.IMAGE: (3, 0, "图片", AttachmentKind.IMAGE),
    AttachmentKind.STICKER: (47, 0, "动画表情", AttachmentKind.STICKER),
    AttachmentKind.VIDEO: (43, 0, "视频", AttachmentKind.VIDEO),
    AttachmentKind.VOICE: (34, 0, "语音", AttachmentKind.VOICE),
    AttachmentKind.GIF: (47, 0, "动画表情", AttachmentKind.STICKER),
    AttachmentKind.DOCUMENT: (49, 6, "文件", AttachmentKind.DOCUMENT),
    AttachmentKind.CONTACT: (42, 0, "推荐公众号", AttachmentKind.CONTACT),
}
#: MemoTrace StrContent per Type (the MSG table's XML; 49 rows keep theirs compressed)
_MEMO_CONTENT: Final = {
    3: '<?xml version="1.0"?>\n<msg>\n\t<img aeskey="{k}" length="{n}" md5="{k}" />\n</msg>\n',
    47: '<msg><emoji fromusername="{w}" type="2" md5="{k}" len="{n}" /></msg>',
    43: '<?xml version="1.0"?>\n<msg>\n\t<videomsg length="{n}" playlength="8" />\n</msg>\n',
    34: '<msg><voicemsg endflag="1" length="{n}" voicelength="3000" /></msg>',
    42: '<?xml version="1.0"?>\n<msg username="gh_{k}" nickname="Makers Weekly" certflag="0" />',
    49: "",
}
_PYWX_CONTENT: Final = {
    3: "图片",
    47: "表情",
    43: "视频",
    34: "语音时长：3.00秒",
    42: '<?xml version="1.0"?>\n<msg username="gh_{k}" nickname="Makers Weekly" certflag="0" />',
    49: "{k}.pdf",
}


@dataclass(frozen=True)
class _Member:
    wxid: str
    nickname: str
    remark: str | None


class WeChatWriter:
    """Renders one community as one variant; call :meth:`write` once."""

    def __init__(self, community: Community, variant: str) -> None:
        if variant not in VARIANTS:
            raise ConfigError("variant", f"{variant!r} is not one of {', '.join(VARIANTS)}")
        self.c = community
        self.variant = variant
        self.pywx = variant == "pywxdump"
        self.gbk = variant == "memotrace-gbk"
        self.rng = np.random.default_rng(np.random.SeedSequence([community.config.seed, 0x3EC4A7]))
        self._setup_members()
        self.group = community.subjects[-1]
        self.room = f"{int(self.rng.integers(10**10, 10**11))}@chatroom"
        self.talker_id = int(self.rng.integers(100, 999))
        self.next_id = int(self.rng.integers(1, 5000))
        self.next_svr = int(self.rng.integers(10**18, 5 * 10**18))
        self.line = 0
        self.counts = {
            "text": 0,
            "media": 0,
            "quotes": 0,
            "links": 0,
            "recalls": 0,
            "system_lines": 0,
        }
        self.replies_received = np.zeros(community.n_members, dtype=np.int64)
        self.used_names: list[set[str]] = [set() for _ in range(community.n_members)]

    # ------------------------------------------------------------------ members
    def _setup_members(self) -> None:
        c, rng = self.c, self.rng
        n = c.n_members
        alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
        seen: set[str] = set()
        members = []
        has_remark = rng.random(n) < REMARK_SHARE
        has_remark[c.exporter] = False
        for m in range(n):
            while True:
                wxid = "wxid_" + "".join(alphabet[rng.integers(0, 36, 14)])
                if wxid not in seen:
                    seen.add(wxid)
                    break
            nick = self.w(c.names[m])
            tag = _REMARK_TAGS[int(rng.integers(len(_REMARK_TAGS)))]
            members.append(_Member(wxid, nick, self.w(f"{nick} {tag}") if has_remark[m] else None))
        self.members = members
        posts = c.msg_author[c.msg_kind != MessageKind.DELETED]
        self.posted = np.bincount(posts, minlength=n) > 0
        self.ids = [
            members[m].wxid if self.posted[m] else identity_of(members[m].nickname)
            for m in range(n)
        ]

    def w(self, text: str) -> str:
        """A text as the file holds it (GBK cannot hold emoji and U+2005: Excel writes ?)."""
        if not self.gbk:
            return text
        return text.encode("gbk", "replace").decode("gbk")

    def display(self, m: int) -> str:
        """The name a member's messages carry (PyWxDump: the remark where there is one)."""
        member = self.members[m]
        if self.pywx and member.remark:
            return member.remark
        return member.nickname

    def sys_name(self, m: int) -> str:
        """The name a system line shows: the remark or the nickname (posters only)."""
        member = self.members[m]
        name = member.nickname
        if member.remark and self.posted[m] and self.rng.random() < 0.5:
            name = member.remark
        self.used_names[m].add(name)
        return name

    # ------------------------------------------------------------------ rows
    def _local(self, local_s: int) -> tuple[int, str]:
        epoch = int(self.c.clock.to_utc_seconds(np.asarray([local_s], dtype=np.int64))[0])
        return epoch, self.c.clock.local(local_s).strftime(_LOCAL)

    def _ids(self) -> str:
        if self.pywx:
            self.next_svr += int(self.rng.integers(1, 10**12))
            return str(self.next_svr)
        self.next_id += 1
        return str(self.next_id)

    def _row(
        self,
        local_s: int,
        type_: int,
        sub: int,
        type_name: str,
        sender: int | None,
        content: str,
    ) -> tuple[list[Any], str, int, str]:
        """One CSV row; returns it with its id, epoch and local time text."""
        epoch, text_time = self._local(local_s)
        pid = self._ids()
        is_sender = int(sender == self.c.exporter)
        content = self.w(content)
        self.line += 1
        if self.pywx:
            talker = self.members[sender].wxid if sender is not None else "未知"
            row: list[Any] = [
                self.line,
                pid,
                type_name,
                is_sender,
                talker,
                self.room,
                content,
                "",
                text_time,
            ]
        else:
            if sender is None:
                names = ["", "", ""]
            else:
                mem = self.members[sender]
                names = [mem.remark or mem.nickname, mem.nickname, mem.wxid]
            row = [pid, self.talker_id, type_, sub, is_sender, epoch, 2, content, text_time, *names]
        return row, pid, epoch, text_time

    def _truth(
        self,
        kind: EventKind,
        epoch: int,
        ts_raw: str,
        pid: str,
        member: str | None,
        member_name: str | None,
        order: int = 0,
        **more: Any,
    ) -> dict[str, Any]:
        return {
            "line": self.line,
            "kind": str(kind),
            "ts_utc": datetime(1970, 1, 1) + timedelta(seconds=epoch),
            "ts_raw": ts_raw,
            "member": member,
            "member_name": member_name,
            "by_member": more.get("by"),
            "text": more.get("text"),
            "attachment_kind": more.get("attachment"),
            "join_method": more.get("join_method"),
            "reply_to_line": more.get("reply_to_line"),
            "mentions": more.get("mentions", []),
            "platform_id": pid,
            "topic_id": None,
            "is_bot": False,
            "_order": order,
        }

    # ------------------------------------------------------------------ system lines
    def _action_rows(self, action: GroupAction) -> tuple[list[Any], list[dict[str, Any]]] | None:
        c, you = self.c, self.c.exporter
        kind = action.kind
        if kind in (
            ActionKind.CREATED,
            ActionKind.LEFT,
            ActionKind.DESCRIPTION_CHANGED,
            ActionKind.ICON_CHANGED,
            ActionKind.ICON_DELETED,
        ):
            return None
        actor = action.actor
        names: dict[int, str | None] = {}
        if kind == ActionKind.ADDED:
            assert actor is not None
            others = [m for m in action.members if m != you]
            for m in others:
                names[m] = self.sys_name(m)
            listed = "、".join(names[m] or "" for m in others)
            actor_name = None if actor == you else self.sys_name(actor)
            if you in action.members:
                text = (
                    f'"{actor_name}"邀请你加入了群聊'
                    if not others
                    else (f'"{actor_name}"邀请你和"{listed}"加入了群聊')
                )
                names[you] = None
            elif actor == you:
                text = f'你邀请"{listed}"加入了群聊'
            else:
                text = f'"{actor_name}"邀请"{listed}"加入了群聊'
            order = [you] if you in action.members else []
            members = order + others
            by, how = self.ids[actor], JoinMethod.ADDED
        elif kind == ActionKind.JOINED_LINK:
            (m,) = action.members
            parent = int(c.referred_by[m])
            names[m] = self.sys_name(m)
            if parent == you:
                text = f'"{names[m]}"通过扫描你分享的二维码加入群聊'
            else:
                text = f'"{names[m]}"通过扫描"{self.sys_name(parent)}"分享的二维码加入群聊'
            members, by, how = [m], self.ids[parent], JoinMethod.QR_CODE
        elif kind == ActionKind.REMOVED:
            assert actor is not None
            (m,) = action.members
            names[m] = self.sys_name(m)
            if actor == you:
                text = f'你将"{names[m]}"移出了群聊'
            else:
                text = f'"{self.sys_name(actor)}"将"{names[m]}"移出了群聊'
            members, by, how = [m], self.ids[actor], None
        else:  # renamed
            assert actor is not None and action.subject is not None
            subject = self.w(action.subject)
            if actor == you:
                text, name = f"你修改群名为“{subject}”", None
            else:
                name = self.sys_name(actor)
                text = f'"{name}"修改群名为“{subject}”'
            row, pid, epoch, raw = self._row(action.ts, 10000, 0, "系统通知", None, text)
            truth = self._truth(
                EventKind.GROUP_RENAMED, epoch, raw, pid, self.ids[actor], name, text=subject
            )
            return row, [truth]
        row, pid, epoch, raw = self._row(action.ts, 10000, 0, "系统通知", None, text)
        event = EventKind.MEMBER_JOINED if how is not None else EventKind.MEMBER_REMOVED
        truths = [
            self._truth(
                event,
                epoch,
                raw,
                pid,
                self.ids[m],
                names[m],
                i,
                by=by,
                join_method=str(how) if how is not None else None,
            )
            for i, m in enumerate(members)
        ]
        return row, truths

    # ------------------------------------------------------------------ messages
    def _message_rows(
        self, block: MessageBlock, info: dict[int, tuple[int, str, str, str, int]]
    ) -> Iterator[tuple[list[Any], list[dict[str, Any]]]]:
        """Rows of one block; ``info`` keeps (line, id, time, content, author) per message."""
        c = self.c
        rng = np.random.default_rng(np.random.SeedSequence([c.config.seed, 0x3EC4, block.start]))
        n = len(block.ts)
        quote_draw = rng.random(n)
        link_draw = rng.random(n)
        keys = rng.integers(1 << 30, 1 << 31, n)
        pool = c.pool.texts
        for i in range(n):
            k = block.start + i
            author = int(block.author[i])
            kind = int(block.kind[i])
            local_s = int(block.ts[i])
            mem = self.members[author]
            yield from self._actions_before(local_s)
            if kind == MessageKind.DELETED:
                you = author == c.exporter
                name = None if you else self.sys_name(author)
                line_text = _SELF_RECALL if you else f'"{name}" 撤回了一条消息'
                row, pid, epoch, raw = self._row(local_s, 10000, 0, "系统通知", None, line_text)
                if you and not self.pywx:
                    row[4], row[9:] = 1, [mem.remark or mem.nickname, mem.nickname, mem.wxid]
                self.counts["recalls"] += 1
                yield (
                    row,
                    [
                        self._truth(
                            EventKind.MESSAGE_DELETED, epoch, raw, pid, self.ids[author], name
                        )
                    ],
                )
                continue
            if kind == MessageKind.MEDIA:
                media = MEDIA_KINDS[int(block.media[i])]
                type_, sub, type_name, written = _MEDIA[media]
                template = _PYWX_CONTENT[type_] if self.pywx else _MEMO_CONTENT[type_]
                content = template.format(
                    k=f"{int(keys[i]):08x}", n=int(keys[i]) % 90000, w=mem.wxid
                )
                row, pid, epoch, raw = self._row(local_s, type_, sub, type_name, author, content)
                self.counts["media"] += 1
                info[k] = (self.line, pid, raw, content, author)
                yield (
                    row,
                    [
                        self._truth(
                            EventKind.MESSAGE_POSTED,
                            epoch,
                            raw,
                            pid,
                            self.ids[author],
                            self.display(author),
                            attachment=str(written),
                        )
                    ],
                )
                continue
            body = self.w(pool[int(block.body[i])])
            target = int(block.reply_to[i])
            quotable = target >= 0 and target in info and self._quotable(target)
            if quotable and quote_draw[i] < QUOTE_SHARE:
                t_line, _, t_time, t_content, t_author = info[target]
                if self.pywx:
                    content = (
                        f"{body}\n\n[引用]({t_time}){self.members[t_author].nickname}:{t_content}"
                    )
                    text: str | None = body
                else:
                    content, text = "", None
                row, pid, epoch, raw = self._row(local_s, 49, 57, "引用回复", author, content)
                self.counts["quotes"] += 1
                self.replies_received[t_author] += 1
                info[k] = (self.line, pid, raw, body, author)
                yield (
                    row,
                    [
                        self._truth(
                            EventKind.MESSAGE_POSTED,
                            epoch,
                            raw,
                            pid,
                            self.ids[author],
                            self.display(author),
                            text=text,
                            reply_to_line=t_line,
                        )
                    ],
                )
                continue
            if link_draw[i] < LINK_SHARE:
                url = f"https://mp.weixin.qq.com/s/{int(keys[i]):08x}"
                title = body.split("\n", 1)[0]
                content = f'{title}\n\n\n<a href="{url}">点击查看详情</a>' if self.pywx else ""
                row, pid, epoch, raw = self._row(
                    local_s, 49, 5, "(分享)卡片式链接", author, content
                )
                self.counts["links"] += 1
                info[k] = (self.line, pid, raw, content, author)
                yield (
                    row,
                    [
                        self._truth(
                            EventKind.MESSAGE_POSTED,
                            epoch,
                            raw,
                            pid,
                            self.ids[author],
                            self.display(author),
                            text=content or None,
                        )
                    ],
                )
                continue
            mention = int(block.mention[i])
            mentions: list[str] = []
            if mention >= 0:
                body = self.w(f"@{self.members[mention].nickname}{MENTION_END}") + body
                if not self.gbk:
                    mentions = [self.ids[mention]]
            row, pid, epoch, raw = self._row(local_s, 1, 0, "文本", author, body)
            self.counts["text"] += 1
            info[k] = (self.line, pid, raw, body, author)
            yield (
                row,
                [
                    self._truth(
                        EventKind.MESSAGE_POSTED,
                        epoch,
                        raw,
                        pid,
                        self.ids[author],
                        self.display(author),
                        text=body,
                        mentions=mentions,
                    )
                ],
            )

    def _quotable(self, target: int) -> bool:
        """A quote names its target by time and sender: skip targets that share both."""
        c = self.c
        if c.msg_kind[target] != MessageKind.TEXT:
            return False
        for other in (target - 1, target + 1):
            if (
                0 <= other < c.n_messages
                and c.msg_ts[other] == c.msg_ts[target]
                and (c.msg_author[other] == c.msg_author[target])
            ):
                return False
        return True

    # ------------------------------------------------------------------ files
    def _actions_before(
        self, until: int | None
    ) -> Iterator[tuple[list[Any], list[dict[str, Any]]]]:
        """System lines of the actions before local time ``until`` (all if None)."""
        actions = self.c.actions
        while self._done < len(actions) and (until is None or actions[self._done].ts < until):
            out = self._action_rows(actions[self._done])
            self._done += 1
            if out is not None:
                self.counts["system_lines"] += 1
                yield out

    def _rows(self) -> Iterator[tuple[list[Any], list[dict[str, Any]]]]:
        """Every row in time order: messages with the system lines among them."""
        self._done = 0
        info: dict[int, tuple[int, str, str, str, int]] = {}
        for block in self.c.blocks():
            yield from self._message_rows(block, info)
            end = block.start + len(block.ts)
            for old in [key for key in info if key < end - 64]:
                del info[old]
        yield from self._actions_before(None)

    def write(self, out: Path, truth: TruthWriter) -> ExportResult:
        if self.pywx:
            folder = out / self.room
            chat_file = f"{self.room}_0_{PAGE_SIZE}.csv"
        elif self.variant == "memotrace-bom":
            folder = out / self.group
            chat_file = f"{self.group}_utf8.csv"
        else:
            folder = out / f"{self.group}({self.room})"
            chat_file = f"{self.group}.csv"
        folder.mkdir(parents=True, exist_ok=True)
        size = 0
        pending: list[dict[str, Any]] = []
        writer: Any = None
        handle: IO[str] | None = None
        page = -1
        try:
            for row, truths in self._rows():
                want = (self.line - 1) // PAGE_SIZE if self.pywx else 0
                if want != page:
                    if handle is not None:
                        size += handle.tell()
                        handle.close()
                    page = want
                    handle, writer = self._open(folder, page, chat_file)
                writer.writerow(row)
                pending.extend(truths)
                if len(pending) >= 50_000:
                    truth.write(pa.Table.from_pylist(pending, schema=ROW_SCHEMA))
                    pending = []
            if handle is None:
                handle, writer = self._open(folder, 0, chat_file)
        finally:
            if handle is not None:
                size += handle.tell()
                handle.close()
        if pending:
            truth.write(pa.Table.from_pylist(pending, schema=ROW_SCHEMA))
        if self.pywx:
            self._write_users(folder)
        return self._result(folder, chat_file, size)

    def _open(self, folder: Path, page: int, chat_file: str) -> tuple[IO[str], Any]:
        if self.pywx:
            name = f"{self.room}_{page * PAGE_SIZE}_{(page + 1) * PAGE_SIZE}.csv"
            encoding, header = "utf-8", PYWXDUMP_HEADER
        else:
            name = chat_file
            encoding = {"memotrace-bom": "utf-8-sig", "memotrace-gbk": "gbk"}.get(
                self.variant, "utf-8"
            )
            header = MEMOTRACE_HEADER
        newline = "\r\n" if self.gbk else "\n"
        handle = (folder / name).open("w", encoding=encoding, newline="")
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerow(header)
        return handle, writer

    def _write_users(self, folder: Path) -> None:
        users: dict[str, dict[str, Any]] = {
            m.wxid: {
                "wxid": m.wxid,
                "nickname": m.nickname,
                "remark": m.remark or "",
                "account": "",
                "describe": "",
                "headImgUrl": "",
                "ExtraBuf": None,
                "LabelIDList": [],
            }
            for i, m in enumerate(self.members)
            if self.posted[i]
        }
        (folder / "users.json").write_text(
            json.dumps(users, ensure_ascii=False, indent=4), encoding="utf-8"
        )

    def _result(self, folder: Path, chat_file: str, size: int) -> ExportResult:
        c = self.c
        names = []
        for m in range(c.n_members):
            written = {self.members[m].nickname, *self.used_names[m]}
            if self.posted[m] and self.pywx:
                written.add(self.display(m))
            names.append(tuple(sorted(written)))
        return ExportResult(
            export_path=folder,
            group_name=self.group,
            exporter_name=self.members[c.exporter].nickname,
            member_ids=tuple(self.ids),
            member_all_ids=tuple((i,) for i in self.ids),
            member_names=tuple(names),
            export={
                "variant": self.variant,
                "chatroom": self.room,
                "folder": folder.name,
                "chat_file": chat_file,
                "encoding": {"memotrace-bom": "utf-8-sig", "memotrace-gbk": "gbk"}.get(
                    self.variant, "utf-8"
                ),
            },
            line_counts={
                "text": self.counts["text"],
                "attachments": self.counts["media"],
                "system_lines": self.counts["system_lines"] + self.counts["recalls"],
                "lines": self.line,
            },
            replies_received=self.replies_received,
            resolution=1,
            text_bytes=size,
            chat_file=chat_file,
        )


class WeChatExportWriter:
    """The WeChat writer behind the writers' common contract (:mod:`.writer`)."""

    def __init__(self, community: Community, options: Mapping[str, Any]) -> None:
        self.variant = str(options.get("variant") or "memotrace")
        if self.variant not in VARIANTS:
            raise ConfigError("variant", f"{self.variant!r} is not one of {', '.join(VARIANTS)}")
        self.community = community

    def write(self, out: Path, truth: TruthWriter) -> ExportResult:
        return WeChatWriter(self.community, self.variant).write(out, truth)
