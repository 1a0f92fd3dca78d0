"""The three things every SQL store part needs from its dialect: run, fetch, transact."""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any


class SqlHooks:
    """Implemented by DuckDBStore and PostgresStore; used by SqlStore and its mixins."""

    @abstractmethod
    def _execute(self, query: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def _fetchall(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[None]: ...
