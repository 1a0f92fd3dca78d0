"""A Discord guild member list → one ``member_listed`` event per member.

DiscordChatExporter exports no member list. What people can get is the JSON Discord's
API returns for guild members, which any bot (or ``curl`` with a bot token) can save:

* ``GET /guilds/{guild.id}/members?limit=1000`` ("List Guild Members"): a JSON array of
  guild member objects ``{"user": {"id", "username", "global_name", "bot"}, "nick",
  "roles": [role ids], "joined_at", "premium_since", "pending", …}``;
* the gateway's ``GUILD_MEMBERS_CHUNK`` payload: ``{"guild_id", "members": [...]}``.

Neither says which guild an array is of; the guild comes from ``guild_id``, from the
channel files beside the list, from ``--group``, or from a snowflake in the file name.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from shequn.events import EventKind
from shequn.importers.columns import EventColumns, dump_extra
from shequn.importers.discord.rows import RecordError, parse_time
from shequn.importers.discord.source import ijson


def guild_id_of(fh: IO[bytes]) -> str | None:
    """The top-level ``guild_id`` of a members-chunk document (None for an array)."""
    for prefix, event, value in ijson.parse(fh):
        if prefix == "guild_id" and event in ("string", "number"):
            return str(value)
        if prefix == "" and event == "start_array":
            return None
    return None


def members(fh: IO[bytes], is_array: bool) -> Iterator[tuple[str, object]]:
    """(JSON path, member object) of every member, streamed."""
    path = "item" if is_array else "members.item"
    label = "" if is_array else "members"
    for i, member in enumerate(ijson.items(fh, path)):
        yield f"{label}[{i}]", member


def add_member(
    rows: EventColumns, group_id: str, member: object, line: int, listed_at: datetime, timezone: str
) -> None:
    """Append the ``member_listed`` event of one guild member object."""
    if not isinstance(member, dict):
        raise RecordError("not an object")
    user: Any = member.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str | int):
        raise RecordError("user.id: missing")
    uid = str(user["id"])
    joined = member.get("joined_at")
    ts, ts_raw = (listed_at, None) if joined is None else parse_time(joined, "joined_at", timezone)
    name = member.get("nick") or user.get("global_name") or user.get("username")
    extra: dict[str, Any] = {}
    roles = member.get("roles")
    if isinstance(roles, list):
        extra["roles"] = [str(r) for r in roles]
    if isinstance(user.get("username"), str):
        extra["username"] = user["username"]
    if member.get("pending") is True:
        extra["pending"] = True
    if joined is None:
        extra["joined_at"] = None
    rows.add(
        str(EventKind.MEMBER_LISTED),
        group_id,
        ts,
        line,
        key_parts=(uid, joined if isinstance(joined, str) else ""),
        ts_raw=ts_raw,
        member_id=uid,
        member_name=name if isinstance(name, str) else None,
        is_bot=user.get("bot") is True,
        extra=dump_extra(extra),
    )
