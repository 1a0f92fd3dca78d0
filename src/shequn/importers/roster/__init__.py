"""Member lists in shequn's generic roster CSV: the people an export cannot show.

Chat exports only show members who wrote or whose join is visible; lurkers — most of
a real group — appear only in a member list. Any list can be brought in this shape::

    platform,group,member_id,name,joined_at,role
    telegram,-1001234567890,user42,Alice,2024-01-05T09:30:00+08:00,admin
    whatsapp,Makers,+8613800000000,Bob,,

``platform``, ``group`` and ``member_id`` are required and must be the ids the
platform's importer uses (so the listed member is the same member as in the chat);
``name``, ``joined_at`` (ISO 8601; without an offset it is read in ``--timezone``)
and ``role`` may be empty; further columns are ignored. Each row becomes one
``member_listed`` event; ``ts`` is ``joined_at``, or the file's modification time
when the list does not say. Rows are keyed by (platform, community, group, member),
so importing a newer list of the same group adds only the new members.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Final
from zoneinfo import ZoneInfo

import pyarrow as pa

from shequn.errors import ImportFormatError
from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, EventKind, natural_key
from shequn.importers.base import Batch, ImportSettings
from shequn.store.base import Reject

REQUIRED: Final = ("platform", "group", "member_id")
COLUMNS: Final = ("platform", "group", "member_id", "name", "joined_at", "role")


class RosterImporter:
    """Reads a roster CSV (UTF-8, a BOM allowed) into ``member_listed`` events."""

    platform: ClassVar[str] = "roster"

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if not path.is_file() or path.suffix.lower() != ".csv":
            return False
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8-sig", errors="replace")
        header = next(csv.reader(io.StringIO(head)), [])
        return set(REQUIRED) <= {h.strip().lower() for h in header}

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.sniff(self.path):
            raise ImportFormatError(
                "is not a roster CSV (a header with " + ",".join(COLUMNS) + " is needed)",
                path=self.path,
            )
        self.group_name = self.path.stem
        self.group_names: dict[str, str] = {}
        self.total_bytes = self.path.stat().st_size
        self._taken_at = datetime.fromtimestamp(self.path.stat().st_mtime, UTC).replace(tzinfo=None)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def media_counts(self) -> dict[str, int]:
        return {}

    def notes(self) -> list[str]:
        return []

    def batches(self, settings: ImportSettings) -> Iterator[Batch]:
        zone = ZoneInfo(settings.timezone)
        rows: list[dict[str, object]] = []
        rejects: list[Reject] = []
        line, yielded = 1, False
        with self.path.open("rb") as binary:
            counted = _CountingReader(binary)
            text = io.TextIOWrapper(io.BufferedReader(counted), encoding="utf-8-sig", newline="")
            reader = csv.DictReader(text)
            reader.fieldnames = [(h or "").strip().lower() for h in reader.fieldnames or []]
            for record in reader:
                line = reader.line_num
                event, problem = self._event(record, settings, zone, line)
                if problem:
                    rejects.append(Reject(self.path.name, line, problem, _raw(record)))
                elif event:
                    rows.append(event)
                if len(rows) + len(rejects) >= settings.commit_every:
                    yield self._batch(rows, rejects, line, counted.consumed)
                    rows, rejects, yielded = [], [], True
        if rows or rejects or not yielded:
            yield self._batch(rows, rejects, line, self.total_bytes)

    def _event(
        self, record: dict[str, str | None], settings: ImportSettings, zone: ZoneInfo, line: int
    ) -> tuple[dict[str, object] | None, str | None]:
        values = {name: (record.get(name) or "").strip() for name in COLUMNS}
        for name in REQUIRED:
            if not values[name]:
                return None, f"column {name!r} is empty"
        ts = self._taken_at
        if values["joined_at"]:
            try:
                ts = _utc(values["joined_at"], zone)
            except ValueError:
                return None, f"joined_at {values['joined_at']!r} is not an ISO 8601 time"
        platform, group, member = values["platform"], values["group"], values["member_id"]
        return {
            "key": natural_key(
                platform, settings.community, group, EventKind.MEMBER_LISTED.value, member
            ),
            "schema_version": SCHEMA_VERSION,
            "kind": EventKind.MEMBER_LISTED.value,
            "platform": platform,
            "community": settings.community,
            "group_id": group,
            "ts": ts,
            "member_id": member,
            "member_name": values["name"] or None,
            "is_bot": False,
            "extra": json.dumps({"role": values["role"]}) if values["role"] else None,
            "import_id": settings.import_id,
            "source_line": line,
        }, None

    def _batch(
        self, rows: list[dict[str, object]], rejects: list[Reject], line: int, offset: int
    ) -> Batch:
        return Batch(
            events=pa.Table.from_pylist(rows, schema=EVENT_SCHEMA),
            rejects=rejects,
            position=line,
            records_read=len(rows) + len(rejects),
            bytes_read=offset,
        )


class _CountingReader(io.RawIOBase):
    """A binary reader that counts the bytes handed on (for the progress bar)."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)


def _utc(text: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 time as naive UTC; without an offset it is local time in ``zone``."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).replace(tzinfo=None)


def _raw(record: dict[str, str | None]) -> str:
    return ",".join((record.get(name) or "") for name in COLUMNS)
