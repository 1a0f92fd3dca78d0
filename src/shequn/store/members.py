"""Members across identities: links, settings and forgetting, for both stores.

A member is a platform identity (``platform:identity``) unless ``identity_links`` maps
the identity to a member key that other identities share: a WhatsApp number change, or
an operator's ``members link`` of two exports' names or of one person on two
platforms. Everything here is written once over the SqlStore dialect hooks.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime

from shequn.store import sql
from shequn.store.base import IdentityInfo, MemberRow, default_key
from shequn.store.hooks import SqlHooks


class MemberOperations(SqlHooks):
    """Identity links, the store's settings and forgetting; mixed into SqlStore."""

    @abstractmethod
    def _remove_from_mentions_sql(self) -> str:
        """SQL for ``mentions`` without the element given as the one parameter."""

    @abstractmethod
    def _mentions_has_sql(self) -> str:
        """SQL true when ``mentions`` holds the element given as the one parameter."""

    # -- settings ------------------------------------------------------------------
    def setting(self, name: str) -> str | None:
        """A store-wide setting (e.g. the pseudonym key), None if never set."""
        rows = self._fetchall("SELECT value FROM meta WHERE key = ?", [f"setting:{name}"])
        return str(rows[0][0]) if rows else None

    def set_setting(self, name: str, value: str) -> None:
        with self._transaction():
            self._execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [f"setting:{name}", value],
            )

    # -- identities ----------------------------------------------------------------
    def member_key(self, platform: str, identity: str) -> str:
        rows = self._fetchall(
            "SELECT member_key FROM identity_links WHERE platform = ? AND identity = ?",
            [platform, identity],
        )
        return str(rows[0][0]) if rows else default_key(platform, identity)

    def identities(self, community: str | None = None) -> list[IdentityInfo]:
        """Every identity that events mention (as member or actor), with its names."""
        rows = self._fetchall(sql.identities_sql(), [community] * 4)
        return [
            IdentityInfo(
                platform=r[0],
                identity=r[1],
                member_key=r[2] or default_key(r[0], r[1]),
                names=tuple(sorted(n for n in (r[3] or "").split("\x1f") if n)),
                events=int(r[4]),
                messages=int(r[5] or 0),
                first=r[6],
                last=r[7],
                groups=tuple(sorted(g for g in (r[8] or "").split("\x1f") if g)),
            )
            for r in rows
        ]

    def link_members(self, a: tuple[str, str], b: tuple[str, str]) -> str:
        """Make ``b`` (and whoever is already ``b``'s member) the same member as ``a``."""
        with self._transaction():
            key_a = self.member_key(*a)
            key_b = self.member_key(*b)
            if key_a == key_b:
                return key_a
            self._link_row(a[0], a[1], key_a)
            for platform, identity in self._fetchall(
                "SELECT platform, identity FROM identity_links WHERE member_key = ?", [key_b]
            ):
                self._link_row(platform, identity, key_a)
            self._link_row(b[0], b[1], key_a)
        return key_a

    def unlink_member(self, platform: str, identity: str) -> bool:
        """Make one identity its own member again; False if it was not linked to anyone."""
        with self._transaction():
            key = self.member_key(platform, identity)
            others = [
                (p, i)
                for p, i in self._fetchall(
                    "SELECT platform, identity FROM identity_links WHERE member_key = ? "
                    "ORDER BY platform, identity",
                    [key],
                )
                if (p, i) != (platform, identity)
            ]
            if not others:
                return False
            self._execute(
                "DELETE FROM identity_links WHERE platform = ? AND identity = ?",
                [platform, identity],
            )
            if key == default_key(platform, identity):
                # the rest of the member must not keep this identity's own key
                successor = default_key(*others[0])
                self._execute(
                    "UPDATE identity_links SET member_key = ? WHERE member_key = ?",
                    [successor, key],
                )
        return True

    def member_names(
        self, community: str, platform: str, groups: Sequence[str] | None = None
    ) -> list[MemberRow]:
        """Each member (with its name) and each actor (with the message it acted in) the
        platform's events in a community name, in ``groups`` only unless None.

        What an importer that names members without ids (Telegram HTML) needs to know
        who a name is in a group the store already holds.
        """
        scope = "community = ? AND platform = ?"
        params: list[str] = [community, platform]
        if groups is not None:
            if not groups:
                return []
            scope += f" AND group_id IN ({', '.join(['?'] * len(groups))})"
            params += list(groups)
        rows = self._fetchall(
            "SELECT group_id, member_id, member_name, CAST(NULL AS TEXT) FROM events "
            f"WHERE {scope} AND member_id IS NOT NULL AND member_name IS NOT NULL "
            "UNION "
            "SELECT group_id, by_member_id, CAST(NULL AS TEXT), platform_id FROM events "
            f"WHERE {scope} AND by_member_id IS NOT NULL",
            params + params,
        )
        return [(str(r[0]), str(r[1]), r[2], r[3]) for r in rows]

    def identity_links(self, platform: str) -> dict[str, str]:
        """Identity → member key of every linked identity of ``platform``: an importer
        reads the decisions earlier imports (and the operator) made, so it keeps them."""
        rows = self._fetchall(
            "SELECT identity, member_key FROM identity_links WHERE platform = ?", [platform]
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def link_import_identities(
        self, import_id: int, platform: str, pairs: Sequence[tuple[str, str]]
    ) -> int:
        """Link each (identity, same person's identity) an import found; returns how many.

        An identity that is linked already (by the operator or an earlier import), or whose
        own key other identities are linked to, keeps its member. The links belong to the
        import, so undoing it removes them. Read and written in two statements (an import
        may find thousands).
        """
        with self._transaction():
            linked = self.identity_links(platform)
            taken = set(linked.values())
            rows: list[tuple[str, str, str, int]] = []
            for identity, same in pairs:
                if identity == same or identity in linked:
                    continue
                if default_key(platform, identity) in taken:
                    continue
                key = linked.get(same) or default_key(platform, same)
                linked[identity] = key
                rows.append((platform, identity, key, import_id))
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                self._execute(
                    "INSERT INTO identity_links (platform, identity, member_key, import_id) "
                    "VALUES " + ", ".join(["(?, ?, ?, ?)"] * len(chunk)),
                    [value for row in chunk for value in row],
                )
        return len(rows)

    def _link_row(self, platform: str, identity: str, member_key: str) -> None:
        self._execute(
            "INSERT INTO identity_links (platform, identity, member_key, import_id) "
            "VALUES (?, ?, ?, 0) ON CONFLICT (platform, identity) DO UPDATE "
            "SET member_key = excluded.member_key, import_id = 0",
            [platform, identity, member_key],
        )

    # -- forgetting ----------------------------------------------------------------
    def forgotten(self) -> dict[tuple[str, str], str]:
        """(platform, identity fingerprint) → the anonymous token that replaced it."""
        rows = self._fetchall("SELECT platform, fingerprint, token FROM forgotten")
        return {(r[0], r[1]): r[2] for r in rows}

    def forget_identities(
        self, identities: Sequence[tuple[str, str, str]], names: Sequence[str], token: str
    ) -> dict[str, int]:
        """Erase what identities said and who they were; keep anonymous counts.

        ``identities`` are (platform, identity, fingerprint). Their events stay (so
        messages, joins and member counts do not change) under ``token``, with text,
        names, mentions and details removed; other members' mentions of them, their
        identity links and the raw lines that hold their identity or one of their
        ``names`` (three characters or more) go. The fingerprints are kept
        so a later import of an old export forgets them again.
        """
        counts = {"events": 0, "mentions": 0, "rejects": 0}
        with self._transaction():
            for platform, identity, fingerprint in identities:
                counts["events"] += int(
                    self._fetchall(
                        "SELECT COUNT(*) FROM events WHERE platform = ? "
                        "AND (member_id = ? OR by_member_id = ?)",
                        [platform, identity, identity],
                    )[0][0]
                )
                self._execute(
                    "UPDATE events SET member_id = ?, member_name = NULL, text = NULL, "
                    "mentions = NULL, extra = NULL, forwarded_from = NULL, ts_raw = NULL "
                    "WHERE platform = ? AND member_id = ?",
                    [token, platform, identity],
                )
                self._execute(
                    "UPDATE events SET by_member_id = ? WHERE platform = ? AND by_member_id = ?",
                    [token, platform, identity],
                )
                has = self._mentions_has_sql()
                counts["mentions"] += int(
                    self._fetchall(
                        f"SELECT COUNT(*) FROM events WHERE platform = ? AND {has}",
                        [platform, identity],
                    )[0][0]
                )
                self._execute(
                    f"UPDATE events SET mentions = {self._remove_from_mentions_sql()} "
                    f"WHERE platform = ? AND {has}",
                    [identity, platform, identity],
                )
                self._execute(
                    "UPDATE events SET text = NULL WHERE platform = ? AND kind = ? AND text = ?",
                    [platform, "member_number_changed", identity],
                )
                self._execute(
                    "DELETE FROM identity_links WHERE platform = ? AND identity = ?",
                    [platform, identity],
                )
                self._execute(
                    "INSERT INTO forgotten (platform, fingerprint, token, forgotten_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (platform, fingerprint) DO NOTHING",
                    [platform, fingerprint, token, datetime.now(UTC).replace(tzinfo=None)],
                )
            for needle in {i for _, i, _ in identities} | {n for n in names if len(n) >= 3}:
                counts["rejects"] += int(
                    self._fetchall(
                        "SELECT COUNT(*) FROM rejects WHERE strpos(raw, ?) > 0", [needle]
                    )[0][0]
                )
                self._execute("DELETE FROM rejects WHERE strpos(raw, ?) > 0", [needle])
        return counts
