"""The importers' contract: a source in, batches of events out, no store access.

An importer is a class with

``platform``
    the platform name it writes into every event.
``sniff(path) -> bool``
    cheap: does this file, folder or zip look like this platform's export?
``__init__(path)``
    opens the source; raises :class:`~shequn.errors.ImportFormatError` with one
    clear sentence when it is not an export of this platform.
``group_name``, ``fingerprint()``, ``media_counts()``
    the group the export is of (from its name or content), a content hash that
    identifies the export for resuming, media files shipped beside the chat by kind.
    An export of several groups (a Telegram account export, a Slack workspace) names
    the export as a whole in ``group_name``, writes each event's own ``group_id`` and
    keeps ``group_names`` (group id → display name) current while it streams; the
    import registers each group the first time one of its events is stored.
``notes() -> list[str]``
    after the batches: what was decided while reading (date order, language …).
``batches(settings) -> Iterator[Batch]``
    the whole export as :class:`Batch` es of events (``EVENT_SCHEMA``) and rejects.
    Each batch ends on a record boundary; ``position`` is the last source line (or
    record number) it covers, strictly increasing, so a resumed import can drop
    what is at or before the committed position. Batches must be the same for the
    same source and settings (deterministic), so that re-runs produce the same keys.

Optional, for exports that name members without ids (Telegram HTML): ``member_groups(
group_id)`` (the groups it wants to know about, None for all), ``learn_members(rows)``
(who the store's events in those groups name, as
:data:`~shequn.store.base.MemberRow` s, given before ``batches``) and
``identity_links()`` (after ``batches``: (identity, same person's identity) pairs the
import records as identity links). The importer still never touches the store;
``shequn.ingest`` reads and writes for it.

Third-party importers register in the ``shequn.importers`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

import pyarrow as pa

from shequn.store.base import Reject


@dataclass(frozen=True)
class ImportSettings:
    """What the operator said about an import."""

    community: str = "default"
    group: str | None = None
    timezone: str = "UTC"
    #: False when ``timezone`` is only a default (the machine's): a group imported
    #: before keeps the timezone it was imported in
    timezone_given: bool = True
    import_id: int = 0
    #: WhatsApp: force "dmy", "mdy" or "ymd" when a file's dates are ambiguous
    date_order: str | None = None
    #: who "you" is in the export (the exporter's own name), if known
    me: str | None = None
    #: commit after about this many source lines
    commit_every: int = 100_000
    #: replace names and phone numbers by keyed pseudonyms before storing
    pseudonymize: bool = False

    def option_items(self) -> dict[str, str | None]:
        """Settings that change the events produced (part of the resume identity)."""
        return {
            "group": self.group,
            "timezone": self.timezone,
            "date_order": self.date_order,
            "me": self.me,
            **({"pseudonymize": "yes"} if self.pseudonymize else {}),
        }


@dataclass
class Batch:
    """A slice of an export: its events, its unreadable records, and how far it reaches."""

    events: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    position: int = 0
    records_read: int = 0
    bytes_read: int = 0


class Importer(Protocol):
    """What every platform importer provides (see module docstring)."""

    platform: ClassVar[str]
    group_name: str
    total_bytes: int
    #: several-group exports: every group seen so far, id → display name
    group_names: dict[str, str]

    @classmethod
    def sniff(cls, path: Path) -> bool: ...

    # optional: ``refusal(path) -> str | None`` (a classmethod), asked when no importer
    # recognises a path — why a file that looks like this platform's is not read

    def fingerprint(self) -> str: ...

    def media_counts(self) -> dict[str, int]: ...

    def batches(self, settings: ImportSettings) -> Iterator[Batch]: ...

    def notes(self) -> list[str]:
        """What the operator should know about how the export was read (after batches)."""
        ...
