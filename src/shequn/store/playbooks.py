"""Playbook versions in the store: every applied playbook kept, the latest is current."""

from __future__ import annotations

import contextlib
import hashlib
from abc import abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shequn.store.base import PlaybookVersion


class PlaybookOperations:
    """``apply`` and ``history`` of playbooks; mixed into SqlStore."""

    @abstractmethod
    def _execute(self, query: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def _fetchall(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[None]: ...

    def save_playbook(self, community: str, text: str, source: str) -> tuple[PlaybookVersion, bool]:
        """Store ``text`` as the community's next version unless it equals the current one.

        Returns the current version and whether it is new.
        """
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with self._transaction():
            current = self.playbooks(community)
            if current and current[-1].sha256 == digest:
                return current[-1], False
            version = (current[-1].version + 1) if current else 1
            applied = datetime.now(UTC).replace(tzinfo=None)
            self._execute(
                "INSERT INTO playbooks (community, version, applied_at, sha256, source, text) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [community, version, applied, digest, source, text],
            )
        return PlaybookVersion(community, version, applied, digest, source, text), True

    def playbooks(self, community: str) -> list[PlaybookVersion]:
        """Every applied version of the community's playbook, oldest first."""
        rows = self._fetchall(
            "SELECT community, version, applied_at, sha256, source, text FROM playbooks "
            "WHERE community = ? ORDER BY version",
            [community],
        )
        return [PlaybookVersion(*row) for row in rows]
