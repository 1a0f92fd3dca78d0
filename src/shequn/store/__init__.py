"""Stores: where the event log lives. ``open_store`` picks one from a path or URL."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from shequn.errors import StoreURLError
from shequn.store.base import GroupInfo, ImportRecord, ImportSpec, Reject, Store, Window

__all__ = [
    "GroupInfo",
    "ImportRecord",
    "ImportSpec",
    "Reject",
    "Store",
    "Window",
    "default_store_path",
    "is_server_url",
    "open_store",
    "store_target",
]


def default_store_path() -> Path:
    """The embedded store's file in the platform's user data directory."""
    return Path(platformdirs.user_data_dir("shequn", appauthor=False)) / "shequn.duckdb"


def store_target(location: str | os.PathLike[str] | None = None) -> str:
    """Where a store is: ``location``, else ``SHEQUN_STORE``, else :func:`default_store_path`."""
    target = str(location) if location is not None else os.environ.get("SHEQUN_STORE")
    return target or str(default_store_path())


def is_server_url(target: str) -> bool:
    """True for a PostgreSQL URL (a server), false for an embedded file."""
    return target.startswith(("postgresql://", "postgres://"))


def open_store(location: str | os.PathLike[str] | None = None) -> Store:
    """Open the store at ``location``: a postgresql:// URL, a file path, or the default.

    Without a location, ``SHEQUN_STORE`` is used, then :func:`default_store_path`.
    """
    target = store_target(location)
    if is_server_url(target):
        from shequn.store.postgres_store import PostgresStore

        return PostgresStore(target)
    if "://" in target:
        raise StoreURLError(
            f"--store {target!r}: use a file path (embedded DuckDB) or a postgresql:// URL"
        )
    from shequn.store.duckdb_store import DuckDBStore

    return DuckDBStore(target)
