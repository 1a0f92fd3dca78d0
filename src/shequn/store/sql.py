"""SQL shared by both stores: schema, ledger statements and the stats query.

Written in the common subset of DuckDB and PostgreSQL so each query exists once;
``?`` placeholders are rewritten to ``%s`` for psycopg by the PostgreSQL store.
"""

from __future__ import annotations

from typing import Any, Final

from shequn.store.base import Window

STORE_SCHEMA_VERSION: Final = 2


def ddl(list_type: str, text_type: str = "TEXT", key_storage: str = "") -> list[str]:
    """CREATE statements; ``list_type`` is the dialect's array of text, ``key_storage``
    what the dialect appends to the events' ``key`` column (how it is stored)."""
    return [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE SEQUENCE IF NOT EXISTS import_ids START 1",
        """CREATE TABLE IF NOT EXISTS imports (
            import_id BIGINT PRIMARY KEY,
            community TEXT NOT NULL,
            platform TEXT NOT NULL,
            group_id TEXT NOT NULL,
            source TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            options TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            position BIGINT NOT NULL DEFAULT 0,
            records_read BIGINT NOT NULL DEFAULT 0,
            events_stored BIGINT NOT NULL DEFAULT 0,
            duplicates BIGINT NOT NULL DEFAULT 0,
            rejected BIGINT NOT NULL DEFAULT 0,
            media TEXT NOT NULL DEFAULT '{}',
            message TEXT
        )""",
        f"""CREATE TABLE IF NOT EXISTS events (
            key {text_type} NOT NULL{key_storage},
            schema_version SMALLINT NOT NULL,
            kind TEXT NOT NULL,
            platform TEXT NOT NULL,
            community TEXT NOT NULL,
            group_id TEXT NOT NULL,
            ts TIMESTAMP NOT NULL,
            ts_raw TEXT,
            platform_id TEXT,
            member_id TEXT,
            member_name TEXT,
            by_member_id TEXT,
            text TEXT,
            reply_to TEXT,
            mentions {list_type},
            attachment_kind TEXT,
            forwarded_from TEXT,
            is_bot BOOLEAN NOT NULL,
            join_method TEXT,
            invite_link TEXT,
            amount DOUBLE PRECISION,
            currency TEXT,
            extra TEXT,
            import_id BIGINT NOT NULL,
            source_line BIGINT,
            topic_id TEXT
        )""",
        # version 1 stores had no topics
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS topic_id TEXT",
        """CREATE TABLE IF NOT EXISTS rejects (
            import_id BIGINT NOT NULL,
            source TEXT NOT NULL,
            line BIGINT NOT NULL,
            reason TEXT NOT NULL,
            raw TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS groups (
            community TEXT NOT NULL,
            platform TEXT NOT NULL,
            group_id TEXT NOT NULL,
            name TEXT NOT NULL,
            timezone TEXT NOT NULL,
            PRIMARY KEY (community, platform, group_id)
        )""",
        """CREATE TABLE IF NOT EXISTS playbooks (
            community TEXT NOT NULL,
            version INTEGER NOT NULL,
            applied_at TIMESTAMP NOT NULL,
            sha256 TEXT NOT NULL,
            source TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (community, version)
        )""",
        """CREATE TABLE IF NOT EXISTS forgotten (
            platform TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            token TEXT NOT NULL,
            forgotten_at TIMESTAMP NOT NULL,
            PRIMARY KEY (platform, fingerprint)
        )""",
        """CREATE TABLE IF NOT EXISTS identity_links (
            platform TEXT NOT NULL,
            identity TEXT NOT NULL,
            member_key TEXT NOT NULL,
            import_id BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (platform, identity)
        )""",
    ]


IMPORT_COLUMNS: Final = (
    "import_id, community, platform, group_id, source, fingerprint, options, status, "
    "started_at, finished_at, position, records_read, events_stored, duplicates, rejected, "
    "media, message"
)


def window_filter(window: Window, alias: str = "e") -> tuple[str, list[Any]]:
    """WHERE clause (starting with TRUE) and parameters for a read window."""
    clauses = ["TRUE"]
    params: list[Any] = []
    if window.community is not None:
        clauses.append(f"{alias}.community = ?")
        params.append(window.community)
    if window.since is not None:
        clauses.append(f"{alias}.ts >= ?")
        params.append(window.since)
    if window.until is not None:
        clauses.append(f"{alias}.ts < ?")
        params.append(window.until)
    return " AND ".join(clauses), params


# A member is a platform identity, unless linked to a member key (number changes, links).
MEMBER_EXPR: Final = "COALESCE(l.member_key, p.platform || ':' || p.identity)"


def _identities_cte(where: str) -> str:
    """Every (platform, identity) an event in the window names as member or actor."""
    return f"""
        WITH p AS (
            SELECT e.platform, e.member_id AS identity FROM events e
            WHERE {where} AND e.member_id IS NOT NULL
            UNION
            SELECT e.platform, e.by_member_id FROM events e
            WHERE {where} AND e.by_member_id IS NOT NULL
        )"""


_LINKED: Final = (
    "FROM p LEFT JOIN identity_links l ON l.platform = p.platform AND l.identity = p.identity"
)


def members_sql(where: str) -> str:
    """Distinct members per platform touched by events in the window."""
    return f"""{_identities_cte(where)}
        SELECT p.platform, COUNT(DISTINCT {MEMBER_EXPR}) {_LINKED}
        GROUP BY p.platform
    """


def members_total_sql(where: str) -> str:
    """Distinct members over all platforms (one person linked across platforms is one)."""
    return f"""{_identities_cte(where)}
        SELECT COUNT(DISTINCT {MEMBER_EXPR}) {_LINKED}
    """


def identities_sql() -> str:
    """Every identity in a community (parameters: the community four times)."""
    scope = "(e.community = CAST(? AS TEXT) OR CAST(? AS TEXT) IS NULL)"
    return f"""
        WITH p AS (
            SELECT e.platform, e.member_id AS identity, e.member_name AS name, e.kind,
                   e.ts, e.group_id
            FROM events e WHERE {scope} AND e.member_id IS NOT NULL
            UNION ALL
            SELECT e.platform, e.by_member_id, NULL, 'acted', e.ts, e.group_id
            FROM events e WHERE {scope} AND e.by_member_id IS NOT NULL
        )
        SELECT p.platform, p.identity, MAX(l.member_key),
               string_agg(DISTINCT p.name, chr(31)), COUNT(*),
               SUM(CASE WHEN p.kind = 'message_posted' THEN 1 ELSE 0 END),
               MIN(p.ts), MAX(p.ts),
               string_agg(DISTINCT p.platform || '/' || p.group_id, chr(31))
        FROM p LEFT JOIN identity_links l ON l.platform = p.platform AND l.identity = p.identity
        GROUP BY p.platform, p.identity
        ORDER BY p.platform, p.identity
    """


def counts_sql(where: str) -> str:
    """Per-platform event counts for ``stats``."""
    return f"""
        SELECT e.platform,
            COUNT(DISTINCT e.community || chr(31) || e.group_id),
            SUM(CASE WHEN e.kind = 'message_posted' THEN 1 ELSE 0 END),
            SUM(CASE WHEN e.kind = 'message_posted' AND e.is_bot THEN 1 ELSE 0 END),
            SUM(CASE WHEN e.kind = 'message_deleted' THEN 1 ELSE 0 END),
            SUM(CASE WHEN e.kind = 'member_joined' THEN 1 ELSE 0 END),
            SUM(CASE WHEN e.kind = 'member_left' THEN 1 ELSE 0 END),
            SUM(CASE WHEN e.kind = 'member_removed' THEN 1 ELSE 0 END),
            SUM(CASE WHEN e.kind = 'reaction_added' THEN 1 ELSE 0 END),
            MIN(e.ts), MAX(e.ts)
        FROM events e WHERE {where}
        GROUP BY e.platform
        ORDER BY e.platform
    """


def groups_sql(where: str) -> str:
    """Groups with counts inside the window (groups without events still listed)."""
    return f"""
        SELECT g.community, g.platform, g.group_id, g.name, g.timezone,
            COUNT(e.key),
            SUM(CASE WHEN e.kind = 'message_posted' THEN 1 ELSE 0 END),
            MIN(e.ts), MAX(e.ts)
        FROM groups g
        LEFT JOIN events e ON e.community = g.community AND e.platform = g.platform
            AND e.group_id = g.group_id AND {where}
        WHERE g.community = CAST(? AS TEXT) OR CAST(? AS TEXT) IS NULL
        GROUP BY g.community, g.platform, g.group_id, g.name, g.timezone
        ORDER BY g.community, g.platform, g.group_id
    """
