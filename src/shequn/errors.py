"""Every error shequn raises on purpose, rooted at :class:`ShequnError`.

    ShequnError
    ├── ImportFormatError      the source is not an export shequn can read (one clear sentence)
    ├── StoreError             the store cannot be opened or written
    │   └── StoreURLError      a --store value that names no supported store
    ├── ImportNotFound         `imports undo ID` names no import
    ├── ConfigError            a bad option value (timezone, date order …)
    └── PlaybookError          a playbook that does not validate (file, line, field)

Only ``cli.py`` (and later ``api/``) turns these into exit codes or HTTP statuses.
"""

from __future__ import annotations

from pathlib import Path


class ShequnError(Exception):
    """Base of all errors shequn raises deliberately."""


class ImportFormatError(ShequnError):
    """The file is not an export in a format the named platform writes."""

    def __init__(
        self,
        message: str,
        *,
        platform: str | None = None,
        path: Path | str | None = None,
        line: int | None = None,
    ) -> None:
        self.platform = platform
        self.path = str(path) if path is not None else None
        self.line = line
        where = self.path or ""
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class ImportStopped(ShequnError):
    """An import stopped by a failure underneath the importer (the embedded engine out of
    memory, a DuckDB error): what it committed stays, and the same command resumes."""


class StoreError(ShequnError):
    """The store cannot be opened, migrated or written."""


class StoreURLError(StoreError):
    """A --store value that is neither a file path nor a postgresql:// URL."""


class ImportNotFound(ShequnError):
    """No import with that id in the ledger."""

    def __init__(self, import_id: int) -> None:
        self.import_id = import_id
        super().__init__(f"no import with id {import_id} (see `shequn imports`)")


class ConfigError(ShequnError):
    """An option or setting has a value shequn cannot use."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class PlaybookError(ShequnError):
    """A playbook file that cannot be used: every problem with its file, line and field."""

    def __init__(self, path: str, problems: list[tuple[int | None, str, str]]) -> None:
        #: (line or None, field path like ``rules[2].penalty``, message)
        self.path = path
        self.problems = problems
        lines = []
        for line, field, message in problems:
            where = f"{path}:{line}" if line else path
            lines.append(f"{where} {field}: {message}" if field else f"{where}: {message}")
        super().__init__("\n".join(lines))
