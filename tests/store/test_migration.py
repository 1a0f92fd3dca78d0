"""A store written by an earlier shequn opens, gains the new columns, and keeps its events."""

from __future__ import annotations

import duckdb
import psycopg
import pytest

from shequn.store import open_store, sql


def version_1_ddl(list_type: str) -> list[str]:
    """The schema as store version 1 created it: events without ``topic_id``."""
    statements = []
    for statement in sql.ddl(list_type):
        if statement.startswith("ALTER TABLE"):
            continue
        statements.append(statement.replace(",\n            topic_id TEXT", ""))
    assert not any("topic_id" in s for s in statements)
    return statements


OLD_EVENT = (
    "INSERT INTO events (key, schema_version, kind, platform, community, group_id, ts, "
    "member_id, text, is_bot, import_id) VALUES ('k1', 1, 'message_posted', 'whatsapp', 'c', "
    "'g', TIMESTAMP '2024-01-01 10:00:00', 'Alice', 'old', false, 1)"
)


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_a_version_1_store_gains_topics(
    kind: str, request: pytest.FixtureRequest, tmp_path: object
) -> None:
    if kind == "duckdb":
        url = str(request.getfixturevalue("duckdb_path"))
        con = duckdb.connect(url)
        for statement in version_1_ddl("VARCHAR[]"):
            con.execute(statement)
        con.execute(OLD_EVENT)
        con.close()
    else:
        url = request.getfixturevalue("pg_url")
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in version_1_ddl("TEXT[]"):
                conn.execute(statement)
            conn.execute(OLD_EVENT)
    with open_store(url) as store:
        (event,) = store.events().to_pylist()
        assert event["text"] == "old" and event["topic_id"] is None
        assert store.stats()["messages"] == 1
        assert store.setting("missing") is None
