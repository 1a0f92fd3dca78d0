"""The store interface: the one contract both the embedded and the server store keep.

A store holds the event log, the import ledger, the groups and identity links.
It is written only through :meth:`Store.write_batch`, which stores one importer batch
and advances the import's ledger row *in the same transaction*: a crash or SIGKILL
leaves the ledger pointing exactly at what was committed, so a re-run resumes there.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Reject:
    """A source record that could not be read: where it is and why."""

    source: str
    line: int
    reason: str
    raw: str = ""


@dataclass(frozen=True)
class ImportSpec:
    """What an import is: the same spec on a re-run resumes the same ledger row."""

    community: str
    platform: str
    group_id: str
    source: str
    fingerprint: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def options_json(self) -> str:
        return json.dumps(dict(self.options), sort_keys=True, ensure_ascii=False)


@dataclass
class ImportRecord:
    """One row of the import ledger."""

    import_id: int
    community: str
    platform: str
    group_id: str
    source: str
    fingerprint: str
    options: str
    status: str  # running | complete | failed | undone
    started_at: datetime
    finished_at: datetime | None
    position: int  # last source line whose events are committed
    records_read: int
    events_stored: int
    duplicates: int
    rejected: int
    media: str  # JSON object: attachment kind -> count of media files in the archive
    message: str | None = None
    resumed: bool = False


@dataclass(frozen=True)
class GroupInfo:
    """A group the store holds, with its timezone and event counts."""

    community: str
    platform: str
    group_id: str
    name: str
    timezone: str
    events: int = 0
    messages: int = 0
    first: datetime | None = None
    last: datetime | None = None


@dataclass(frozen=True)
class Window:
    """Filters every read command takes."""

    community: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def default_key(platform: str, identity: str) -> str:
    """The member key of an identity nobody linked."""
    return f"{platform}:{identity}"


@dataclass(frozen=True)
class IdentityInfo:
    """One platform identity as the store knows it."""

    platform: str
    identity: str
    member_key: str
    names: tuple[str, ...]
    events: int
    messages: int
    first: datetime | None
    last: datetime | None
    #: every group (platform/group) the identity appears in
    groups: tuple[str, ...] = field(default=())


#: (group id, member id, member name, None) for each member an event names, and
#: (group id, actor id, None, platform id) for each actor (``by_member_id``), whose name
#: events do not keep
MemberRow = tuple[str, str, str | None, str | None]


@dataclass(frozen=True)
class PlaybookVersion:
    """One applied version of a community's playbook."""

    community: str
    version: int
    applied_at: datetime
    sha256: str
    source: str
    text: str


class Store(ABC):
    """Where events live. Implementations: DuckDBStore (embedded), PostgresStore."""

    url: str

    # -- imports ---------------------------------------------------------------
    @abstractmethod
    def begin_import(self, spec: ImportSpec) -> ImportRecord:
        """Open a ledger row, or return the unfinished one with the same spec (resume)."""

    @abstractmethod
    def write_batch(
        self,
        import_id: int,
        events: pa.Table,
        rejects: Sequence[Reject],
        position: int,
        records_read: int,
    ) -> int:
        """Store new events (dropping known keys), record rejects, advance the ledger.

        All in one transaction. Returns how many events were new.
        """

    @abstractmethod
    def finish_import(
        self,
        import_id: int,
        status: str,
        *,
        media: Mapping[str, int] | None = None,
        message: str | None = None,
    ) -> ImportRecord:
        """Mark the import complete or failed."""

    @abstractmethod
    def imports(self, community: str | None = None) -> list[ImportRecord]:
        """The ledger, oldest first."""

    @abstractmethod
    def get_import(self, import_id: int) -> ImportRecord:
        """One ledger row; raises ImportNotFound."""

    @abstractmethod
    def undo_import(self, import_id: int) -> int:
        """Delete the events an import stored; returns how many. The ledger row stays."""

    @abstractmethod
    def rejects(self, import_id: int) -> list[Reject]:
        """The records an import could not read."""

    # -- groups and identities ----------------------------------------------------
    @abstractmethod
    def upsert_group(
        self, community: str, platform: str, group_id: str, name: str, timezone: str
    ) -> None:
        """Create the group or update its name and timezone."""

    @abstractmethod
    def groups(self, window: Window | None = None) -> list[GroupInfo]:
        """Groups with their event counts."""

    @abstractmethod
    def link_identities(self, platform: str, identity: str, member_key: str) -> None:
        """Say that a platform identity belongs to member ``member_key``."""

    @abstractmethod
    def member_key(self, platform: str, identity: str) -> str:
        """The member an identity belongs to (its own key when not linked)."""

    @abstractmethod
    def identities(self, community: str | None = None) -> list[IdentityInfo]:
        """Every identity that events mention, with names, counts and member key."""

    @abstractmethod
    def link_members(self, a: tuple[str, str], b: tuple[str, str]) -> str:
        """Merge (platform, identity) ``b``'s member into ``a``'s; returns the key."""

    @abstractmethod
    def unlink_member(self, platform: str, identity: str) -> bool:
        """Separate one identity from its member; False if it was alone."""

    @abstractmethod
    def member_names(
        self, community: str, platform: str, groups: Sequence[str] | None = None
    ) -> list[MemberRow]:
        """Who the platform's events name (in ``groups`` only, unless None): see
        :data:`MemberRow`."""

    @abstractmethod
    def identity_links(self, platform: str) -> dict[str, str]:
        """Identity → member key of every linked identity of ``platform``."""

    @abstractmethod
    def link_import_identities(
        self, import_id: int, platform: str, pairs: Sequence[tuple[str, str]]
    ) -> int:
        """Link identities an import found to be one person (undone with the import)."""

    @abstractmethod
    def forgotten(self) -> dict[tuple[str, str], str]:
        """(platform, identity fingerprint) → token, for every forgotten identity."""

    @abstractmethod
    def forget_identities(
        self, identities: Sequence[tuple[str, str, str]], names: Sequence[str], token: str
    ) -> dict[str, int]:
        """Erase identities' content and names, keeping anonymous counts (see SqlStore)."""

    # -- playbooks -------------------------------------------------------------
    @abstractmethod
    def save_playbook(self, community: str, text: str, source: str) -> tuple[PlaybookVersion, bool]:
        """Keep ``text`` as the community's next playbook version (unless unchanged)."""

    @abstractmethod
    def playbooks(self, community: str) -> list[PlaybookVersion]:
        """Every applied version, oldest first; the last is current."""

    # -- settings --------------------------------------------------------------
    @abstractmethod
    def setting(self, name: str) -> str | None:
        """A store-wide setting, None if never set."""

    @abstractmethod
    def set_setting(self, name: str, value: str) -> None:
        """Set a store-wide setting."""

    # -- reading ---------------------------------------------------------------
    @abstractmethod
    def stats(self, window: Window | None = None) -> dict[str, Any]:
        """The ``shequn stats --json`` object (see README for names and meanings)."""

    @abstractmethod
    def events(self, window: Window | None = None, kinds: Sequence[str] | None = None) -> pa.Table:
        """Events as Arrow, ordered by time then source line (for tests and exports)."""

    @abstractmethod
    def table(self, name: str) -> pa.Table:
        """A whole table (``events``, ``identity_links``, ``groups``) as Arrow, for export."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
