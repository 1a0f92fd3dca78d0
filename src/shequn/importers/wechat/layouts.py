"""The two CSV layouts shequn reads, and how a row of each becomes a :class:`Row`.

``memotrace``
    LC044/WeChatMsg (MemoTrace / 留痕) ``app/util/exporter/exporter_csv.py``: columns
    ``localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,
    Remark,NickName,Sender`` — the first nine straight from the ``MSG`` table
    (``TalkerId`` is the table's numeric talker id; some tools write the chatroom id
    there), ``CreateTime`` epoch seconds, ``StrTime`` the exporter's local time
    ``%Y-%m-%d %H:%M:%S``, then the sender's remark, nickname and wxid (the exporter's
    own for ``IsSender`` 1, empty for system rows). Written ``utf-8-sig``.
``pywxdump``
    xaoyaoo/PyWxDump ``pywxdump/api/export/exportCSV.py``: pages
    ``<chat>_<from>_<to>.csv`` with ``id,MsgSvrID,type_name,is_sender,talker,room_name,
    msg,src,CreateTime`` (``type_name`` from its ``type_converter`` table, ``talker`` the
    sender's wxid — "我" or the exporter's wxid when the exporter sent it —,
    ``room_name`` the chatroom id, ``CreateTime`` local ``%Y-%m-%d %H:%M:%S``), plus
    ``users.json`` (wxid → nickname, remark …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from shequn.importers.wechat.types import PYWXDUMP_TYPES

MEMOTRACE: Final = "memotrace"
PYWXDUMP: Final = "pywxdump"

MEMOTRACE_COLUMNS: Final = (
    "localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status",
    "StrContent", "StrTime", "Remark", "NickName", "Sender",
)  # fmt: skip
PYWXDUMP_COLUMNS: Final = (
    "id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src",
    "CreateTime",
)  # fmt: skip
#: PyWxDump writes "我" for the exporter when it was not told the exporter's wxid
PYWXDUMP_ME: Final = "我"
_LOCAL_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
#: "<name>(<id>)" folder / file names (MemoTrace 2); "<id>_<from>_<to>" pages (PyWxDump)
_NAME_WITH_ID: Final = re.compile(r"^(?P<name>.*?)\s*[(（](?P<id>[^()（）]+)[)）]$")
_PAGE: Final = re.compile(r"^(?P<id>.+)_(?P<start>\d+)_(?P<end>\d+)$")


class RowError(ValueError):
    """A row that cannot be read; the message names the column and the value."""


@dataclass
class Row:
    """One CSV row in layout-neutral form."""

    platform_id: str
    type_: int
    subtype: int
    is_sender: bool
    ts: datetime
    ts_raw: str | None
    content: str
    sender: str
    name: str | None
    remark: str | None
    talker: str
    type_name: str | None = None


def layout_of(header: list[str]) -> str | None:
    """Which layout a header row is, if either."""
    cells = tuple(c.strip().lstrip("\ufeff") for c in header)
    if cells[: len(MEMOTRACE_COLUMNS)] == MEMOTRACE_COLUMNS:
        return MEMOTRACE
    if cells[: len(PYWXDUMP_COLUMNS)] == PYWXDUMP_COLUMNS:
        return PYWXDUMP
    return None


def name_and_id(stem: str) -> tuple[str, str | None]:
    """``群名(123@chatroom)`` → ("群名", "123@chatroom"); ``群名_utf8`` → ("群名", None)."""
    m = _NAME_WITH_ID.match(stem)
    if m and m["name"]:
        return m["name"], m["id"]
    if stem.endswith("_utf8"):
        stem = stem[: -len("_utf8")]
    return stem, None


def page_of(stem: str) -> tuple[str, int] | None:
    """PyWxDump's page files: ``<chat>_<from>_<to>`` → (chat, from)."""
    m = _PAGE.match(stem)
    return (m["id"], int(m["start"])) if m else None


def _int(value: str, column: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise RowError(f"{column} {value[:40]!r} is not an integer") from None


def memotrace_row(cells: list[str]) -> Row:
    """A MemoTrace/WeChatMsg row (12 columns)."""
    if len(cells) != len(MEMOTRACE_COLUMNS):
        raise RowError(f"{len(cells)} columns where the header has {len(MEMOTRACE_COLUMNS)}")
    local_id, talker, type_, sub, is_sender, created, _status, content, str_time = cells[:9]
    remark, nick, sender = cells[9:]
    epoch = _int(created, "CreateTime")
    try:
        ts = datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise RowError(f"CreateTime {created!r} is not a time") from None
    return Row(
        platform_id=str(_int(local_id, "localId")),
        type_=_int(type_, "Type"),
        subtype=_int(sub or "0", "SubType"),
        is_sender=_int(is_sender or "0", "IsSender") == 1,
        ts=ts,
        ts_raw=str_time or None,
        content=content,
        sender=sender.strip(),
        name=nick or None,
        remark=remark or None,
        talker=talker.strip(),
    )


def pywxdump_row(cells: list[str], tz: ZoneInfo) -> Row:
    """A PyWxDump row (9 columns); its local ``CreateTime`` is read in ``tz``."""
    if len(cells) != len(PYWXDUMP_COLUMNS):
        raise RowError(f"{len(cells)} columns where the header has {len(PYWXDUMP_COLUMNS)}")
    _id, svr_id, type_name, is_sender, talker, room, msg, _src, created = cells
    try:
        local = datetime.strptime(created.strip(), _LOCAL_FORMAT)
    except ValueError:
        raise RowError(
            f"CreateTime {created[:40]!r} is not a time like 2024-01-31 21:05:09"
        ) from None
    ts = local.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
    type_, sub = PYWXDUMP_TYPES.get(type_name.strip(), (0, 0))
    if not svr_id.strip():
        raise RowError("MsgSvrID is empty")
    return Row(
        platform_id=svr_id.strip(),
        type_=type_,
        subtype=sub,
        is_sender=_int(is_sender or "0", "is_sender") == 1,
        ts=ts,
        ts_raw=created.strip(),
        content=msg,
        sender=talker.strip(),
        name=None,
        remark=None,
        talker=room.strip(),
        type_name=type_name.strip() or None,
    )
