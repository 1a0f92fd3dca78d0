"""What every ``shequn`` command shares: consoles, options, error handling, the store."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from shequn.errors import ConfigError, PlaybookError, ShequnError
from shequn.safe_text import printable
from shequn.store import Window

# every error on one line however long the path in it.
out = Console(
    highlight=False, emoji=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200
)
err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)

STORE_HELP = (
    "DuckDB file path or postgresql:// URL (default: $SHEQUN_STORE, else your user data dir)."
)
# Only the top-level option reads SHEQUN_STORE, so an explicit --store anywhere beats it.
RootStoreOption = Annotated[
    str | None, typer.Option("--store", envvar="SHEQUN_STORE", help=STORE_HELP)
]
StoreOption = Annotated[str | None, typer.Option("--store", help=STORE_HELP)]
CommunityOption = Annotated[
    str | None, typer.Option("--community", help="Only this community (default: all).")
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="From this UTC date/time (ISO 8601).")
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Before this UTC date/time (ISO 8601).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ShowPhonesOption = Annotated[
    bool, typer.Option("--show-phones", help="Show phone numbers in full (masked by default).")
]


def fail(message: str) -> typer.Exit:
    message = printable(re.sub(r"\s*\n\s*", " ", message.strip()))
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(1)


def cell(text: str) -> str:
    """Text from the chats as a rich table cell: control characters written out, markup
    shown as typed."""
    return escape(printable(text))


@contextmanager
def errors() -> Iterator[None]:
    """Library errors become one line on stderr (one per problem) and exit code 1."""
    try:
        yield
    except PlaybookError as exc:
        for line in str(exc).splitlines()[:-1]:
            err.print(f"[bold red]error:[/] {escape(line)}", markup=True, highlight=False)
        raise fail(escape(str(exc).splitlines()[-1])) from None
    except ShequnError as exc:
        raise fail(escape(str(exc))) from None


def parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(option, f"{value!r} is not an ISO 8601 date or time") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def window(community: str | None, since: str | None, until: str | None) -> Window:
    return Window(community, parse_time(since, "--since"), parse_time(until, "--until"))


def store_location(ctx: Any, store: str | None) -> str | None:
    """The command's own --store, else the nearest enclosing one (`shequn --store S …`,
    `shequn imports --store S show 1`), else None (SHEQUN_STORE, then the default)."""
    if store is not None:
        return store
    parent: Any = ctx
    while parent is not None:
        if parent.obj and parent.obj.get("store"):
            return str(parent.obj["store"])
        parent = parent.parent
    return None
