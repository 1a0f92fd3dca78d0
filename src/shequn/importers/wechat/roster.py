"""A group member list: PyWxDump's room list (``get_room_list``) saved as JSON.

xaoyaoo/PyWxDump ``pywxdump/db/dbMicro.py`` ``get_room_list`` returns, per chatroom id,
``{"wxid", "UserNameList": [wxid …], "DisplayNameList", "owner", "wxid2remark":
{wxid: group nickname}, "Announcement", …}``; tools save it as ``user_list.json`` /
``rooms.json``. Each member becomes one ``member_listed`` event (role ``owner`` or
``member``). The list has no join times, so ``ts`` is the time the list was taken: the
file's modification time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ijson

from shequn.importers.wechat.source import Entry, ExportSource


@dataclass(frozen=True)
class Listed:
    """One member of one room's list."""

    room: str
    wxid: str
    name: str | None
    role: str


def read_roster(source: ExportSource, entry: Entry) -> Iterator[Listed]:
    """The members of every room in a room-list JSON, streamed room by room."""
    with source.open_bytes(entry, counted=True) as fh:
        for room_id, room in ijson.kvitems(fh, ""):
            if not isinstance(room, dict):
                continue
            yield from _members(str(room.get("wxid") or room_id), room)


def _members(room_id: str, room: dict[str, Any]) -> Iterator[Listed]:
    wxids = room.get("UserNameList") or []
    if isinstance(wxids, str):
        wxids = wxids.split("^G")
    remarks = room.get("wxid2remark") or {}
    owner = room.get("owner") or ""
    for wxid in dict.fromkeys(str(w).strip() for w in wxids):
        if not wxid:
            continue
        name = remarks.get(wxid) if isinstance(remarks, dict) else None
        yield Listed(
            room_id, wxid, str(name) if name else None, "owner" if wxid == owner else "member"
        )
