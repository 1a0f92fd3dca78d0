"""Participants lists: the members of a group as tools that call Telegram's API list them.

Telegram Desktop exports no member list (a full-account export has ``contacts`` — the
user's address book — which says nothing about a group). Lists come from scripts on
Telethon/Pyrogram; two shapes are read:

* CSV with a header naming a user id column (``user id``, ``user_id`` or ``id``) and a
  name (``name``, or ``first_name`` + ``last_name``), optionally ``username``,
  ``status``/``role`` and a join date (``date``, ``joined``, ``joined_date``) — the
  layout of the widespread Telethon "members scraper" scripts
  (``username,user id,access hash,name,group,group id``);
* JSON: an array of user objects as Telethon's ``to_dict()`` writes them (``id``,
  ``first_name``, ``last_name``, ``username``, ``bot``, and optionally
  ``participant: {"_": "ChannelParticipantAdmin", "date": …}``).

Each row becomes one ``member_listed`` event (ts = the join date if listed, else the
time of the export's last message).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any, Final

from shequn.importers.telegram.clock import Clock

_ID_COLUMNS: Final = ("user id", "user_id", "id", "userid")
_DATE_COLUMNS: Final = ("date", "joined", "joined_date", "join_date")
_ROLES: Final = {
    "ChannelParticipantCreator": "creator",
    "ChatParticipantCreator": "creator",
    "ChannelParticipantAdmin": "admin",
    "ChatParticipantAdmin": "admin",
    "ChannelParticipant": "member",
    "ChatParticipant": "member",
    "ChannelParticipantSelf": "member",
}


@dataclass(frozen=True)
class Participant:
    member_id: str
    name: str
    role: str | None
    joined_us: int | None
    username: str | None
    is_bot: bool


def _user_id(value: Any) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    if text.startswith("user"):
        return text
    return f"user{int(text)}" if text.lstrip("-").isdigit() else None


def _when(value: Any, clock: Clock) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return int(value) * 1_000_000
    text = str(value).strip()
    if text.isdigit():
        return int(text) * 1_000_000
    return clock.local_iso(text.replace("Z", "+00:00").replace(" ", "T", 1))


def read_roster(data: bytes, clock: Clock) -> list[Participant]:
    """Participants in a CSV or JSON list (ValueError when it is neither)."""
    text = data.decode("utf-8-sig")
    if text.lstrip().startswith("["):
        return [_from_json(row, clock) for row in json.loads(text) if isinstance(row, dict)]
    rows = csv.DictReader(io.StringIO(text))
    header = {(h or "").strip().lower(): h for h in rows.fieldnames or []}
    id_col = next((header[c] for c in _ID_COLUMNS if c in header), None)
    if id_col is None:
        raise ValueError("no user id column (user id, user_id or id)")
    out: list[Participant] = []
    for row in rows:
        member = _user_id(row.get(id_col))
        if member is None:
            continue
        name = (row.get(header.get("name", ""), "") or "").strip()
        if not name:
            first = row.get(header.get("first_name", ""), "") or ""
            last = row.get(header.get("last_name", ""), "") or ""
            name = f"{first} {last}".strip()
        role_col = header.get("role") or header.get("status")
        date_col = next((header[c] for c in _DATE_COLUMNS if c in header), None)
        out.append(
            Participant(
                member_id=member,
                name=name,
                role=(row.get(role_col) or None) if role_col else None,
                joined_us=_when(row.get(date_col), clock) if date_col else None,
                username=(row.get(header.get("username", "")) or None),
                is_bot=str(row.get(header.get("bot", ""), "")).lower() in ("true", "1", "yes"),
            )
        )
    return out


def _from_json(row: dict[str, Any], clock: Clock) -> Participant:
    member = _user_id(row.get("id") or row.get("user_id"))
    if member is None:
        raise ValueError("a participant has no id")
    name = row.get("name") or f"{row.get('first_name') or ''} {row.get('last_name') or ''}".strip()
    part = row.get("participant") if isinstance(row.get("participant"), dict) else {}
    assert isinstance(part, dict)
    role = _ROLES.get(str(part.get("_", ""))) or row.get("role")
    joined = part.get("date") or row.get("date") or row.get("joined")
    return Participant(
        member_id=member,
        name=str(name),
        role=role,
        joined_us=_when(joined, clock),
        username=row.get("username"),
        is_bot=bool(row.get("bot")),
    )
