"""Shared fixtures: a fresh store of each kind, and the fixture folder.

The store suite runs against both the embedded DuckDB file and a real PostgreSQL
server (``SHEQUN_TEST_POSTGRES``, default the local one that ``make test`` ensures).
Each PostgreSQL test gets its own schema, dropped afterwards. There is no skip: if the
server is missing the PostgreSQL tests fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from shequn.store import Store, open_store

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_URL = os.environ.get(
    "SHEQUN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/shequn_test"
)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def duckdb_path(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture(params=["duckdb", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The location of an empty store of each kind."""
    if request.param == "duckdb":
        return str(tmp_path / "store.duckdb")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened
