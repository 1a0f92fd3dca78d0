"""Playbook versions in the store: every applied playbook kept, the latest is current."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from shequn.store.base import PlaybookVersion
from shequn.store.hooks import SqlHooks


class PlaybookOperations(SqlHooks):
    """``apply`` and ``history`` of playbooks; mixed into SqlStore."""

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
