"""Actions into the log: each one an ``action_taken`` event, stored like an import.

A run that records actions opens a row in the import ledger (platform ``shequn``,
source ``shequn run``) and writes its actions through :meth:`Store.write_batch`, so
they are committed with the ledger in one transaction, ``shequn imports`` lists the
run, and ``shequn imports undo ID`` takes its actions back out. Every action's key is
the natural key the runner gave it, so recording the same action again adds nothing.

An action's row: ``kind`` ``action_taken``; ``platform``/``group_id`` from the action's
group; ``member_id`` the member's identity on that platform; ``text`` the explanation;
``extra`` JSON ``{"action", "engine", "rule", "details", "cause"}``; ``ts`` the action's
time; ``source_line`` its position in the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pyarrow as pa

from shequn.engines.runner import LEDGER_PLATFORM, Taken
from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, EventKind
from shequn.store.base import ImportSpec, Store

#: actions stored per write_batch
BATCH_ROWS = 50_000


def identity_of(
    member: str | None, platform: str, reverse: dict[tuple[str, str], str]
) -> str | None:
    """The platform identity behind a member key (linked keys resolved back)."""
    if member is None:
        return None
    found = reverse.get((platform, member))
    if found is not None:
        return found
    prefix = f"{platform}:"
    return member[len(prefix) :] if member.startswith(prefix) else member


def reverse_links(links: dict[str, str]) -> dict[tuple[str, str], str]:
    """(platform, member key) → identity: the first identity (sorted) of each member."""
    reverse: dict[tuple[str, str], str] = {}
    for default, member in sorted(links.items()):
        platform, _, identity = default.partition(":")
        reverse.setdefault((platform, member), identity)
    return reverse


def action_rows(
    community: str,
    taken: Sequence[Taken],
    links: dict[str, str],
    import_id: int,
    first_line: int = 1,
) -> pa.Table:
    """The ``action_taken`` rows (EVENT_SCHEMA) of ``taken``."""
    reverse = reverse_links(links)
    columns: dict[str, list[object]] = {name: [] for name in EVENT_SCHEMA.names}
    for offset, item in enumerate(taken):
        action = item.action
        platform, _, group_id = action.group.partition("/")
        row = {
            "key": item.key,
            "schema_version": SCHEMA_VERSION,
            "kind": EventKind.ACTION_TAKEN.value,
            "platform": platform,
            "community": community,
            "group_id": group_id,
            "ts": datetime.fromtimestamp(action.ts, UTC).replace(tzinfo=None),
            "member_id": identity_of(action.member, platform, reverse),
            "text": action.explanation,
            "is_bot": False,
            "extra": item.extra,
            "import_id": import_id,
            "source_line": first_line + offset,
        }
        for name, values in columns.items():
            values.append(row.get(name))
    return pa.table(columns, schema=EVENT_SCHEMA)


def record_actions(
    store: Store,
    community: str,
    taken: Sequence[Taken],
    links: dict[str, str],
    *,
    version: int,
    cursor_from: int | None,
    cursor_to: int,
) -> tuple[int, int | None]:
    """Store ``taken`` as one ledger row's events; returns (new events, import id).

    Nothing to store opens no ledger row. The same run (same cursor range and playbook
    version) resumes its ledger row if a crash left it unfinished.
    """
    if not taken:
        return 0, None
    spec = ImportSpec(
        community=community,
        platform=LEDGER_PLATFORM,
        group_id="engines",
        source="shequn run",
        fingerprint=f"run:{community}:v{version}:{cursor_from}:{cursor_to}",
        options={"playbook_version": version, "cursor_from": cursor_from, "cursor_to": cursor_to},
    )
    record = store.begin_import(spec)
    stored = 0
    try:
        for start in range(0, len(taken), BATCH_ROWS):
            chunk = taken[start : start + BATCH_ROWS]
            rows = action_rows(community, chunk, links, record.import_id, start + 1)
            stored += store.write_batch(record.import_id, rows, [], start + len(chunk), len(chunk))
    except BaseException as exc:
        store.finish_import(record.import_id, "failed", message=str(exc)[:500])
        raise
    store.finish_import(record.import_id, "complete")
    return stored, record.import_id
