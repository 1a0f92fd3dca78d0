"""Running an import: importer batches into the store, with a ledger that survives kills.

Each batch is written in one transaction together with the ledger's ``position`` (the
last source line committed). A re-run of the same import (same file content, group,
community and options) finds the unfinished ledger row and skips every event at or
before that position, so nothing is stored twice even if the batch boundaries moved.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shequn.errors import ConfigError, ImportStopped
from shequn.importers import open_export
from shequn.importers.base import Batch, Importer, ImportSettings
from shequn.pipeline import read_ahead
from shequn.privacy.forgetting import ForgottenFilter
from shequn.privacy.keys import privacy_key
from shequn.privacy.pseudonyms import WITHHELD, Pseudonymizer
from shequn.store.base import GroupInfo, ImportRecord, ImportSpec, Store, Window

ProgressCallback = Callable[[int, int], None]
CommitCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportResult:
    """What an import did, for the CLI to print."""

    record: ImportRecord
    platform: str
    group_id: str
    notes: tuple[str, ...]
    new_events: int
    #: the committed line an interrupted earlier run had reached (0: a fresh import)
    resumed_from: int = 0
    #: the timezone the export was read in
    timezone: str = "UTC"
    #: (platform, group id) of every group this run stored events of
    groups: tuple[tuple[str, str], ...] = ()


def run_import(
    store: Store,
    path: Path,
    settings: ImportSettings,
    *,
    platform: str | None = None,
    progress: ProgressCallback | None = None,
    on_commit: CommitCallback | None = None,
) -> ImportResult:
    """Import one export into ``store``; resumes an unfinished import of the same export."""
    if settings.date_order not in (None, "dmy", "mdy", "ymd"):
        raise ConfigError("--date-order", f"{settings.date_order!r} is not one of dmy, mdy, ymd")
    importer = open_export(Path(path), platform)
    stored = _stored_groups(store, settings.community)
    group_id = settings.group or _titled_group(importer, stored) or importer.group_name
    known = stored.get((importer.platform, group_id))
    settings = _group_timezone(settings, known)
    _same_timezone(settings, known)
    _known_members(store, importer, settings, stored, group_id)
    spec = ImportSpec(
        community=settings.community,
        platform=importer.platform,
        group_id=group_id,
        source=str(path),
        fingerprint=importer.fingerprint(),
        options=settings.option_items(),
    )
    with _system_allocator():
        return _run(store, importer, spec, settings, progress, on_commit)


def _stored_groups(store: Store, community: str) -> dict[tuple[str, str], GroupInfo]:
    """The community's groups by (platform, group id), in one query."""
    return {(g.platform, g.group_id): g for g in store.groups(Window(community=community))}


def _titled_group(importer: Importer, stored: dict[tuple[str, str], GroupInfo]) -> str | None:
    """The stored group an export belongs to when its own key would split one chat in two.

    * An importer with ``group_by_title`` set (Telegram HTML: no chat id) is stored in the
      one group of its platform whose display name is its title (where a JSON export of
      the same chat went, keyed by the chat id) — unless a group keyed by the title
      itself exists (an earlier import of such an export) or several groups have that
      name.
    * An importer keyed by an id that also names a ``group_title`` (a Telegram JSON
      export of one chat) goes to the group keyed by that title when no group has its
      id yet: the chat's HTML exports (or JSON imports from before chats were keyed by
      id) came first, and are the same chat.
    """
    platform = importer.platform
    if not getattr(importer, "group_by_title", False):
        title = getattr(importer, "group_title", None)
        if title and (platform, importer.group_name) not in stored and (platform, title) in stored:
            return str(title)
        return None
    title = importer.group_name
    if (platform, title) in stored:
        return None
    named = [g.group_id for (p, _), g in stored.items() if p == platform and g.name == title]
    return named[0] if len(named) == 1 else None


def _known_members(
    store: Store,
    importer: Importer,
    settings: ImportSettings,
    stored: dict[tuple[str, str], GroupInfo],
    group_id: str,
) -> None:
    """Tell an importer that can use it what the store holds of its platform's members.

    An importer with ``learn_members`` (Telegram: HTML exports write names, JSON ids)
    resolves names to ids with it, for the groups its ``member_groups(group_id)`` names
    (None: every group), and keeps the decisions earlier imports recorded as identity
    links (the platform's links are handed over too). Skipped when the platform has no
    group in the community yet, and for pseudonymised imports (the store would hold
    pseudonyms).
    """
    learn = getattr(importer, "learn_members", None)
    if learn is None or settings.pseudonymize:
        return
    if any(platform == importer.platform for platform, _ in stored):
        member_groups = getattr(importer, "member_groups", None)
        groups = member_groups(group_id) if member_groups is not None else None
        rows = store.member_names(settings.community, importer.platform, groups)
        learn(rows, store.identity_links(importer.platform))


def _group_timezone(settings: ImportSettings, known: GroupInfo | None) -> ImportSettings:
    """Without --timezone, a group imported before is read in the timezone it had."""
    if settings.timezone_given or known is None or not known.events:
        return settings
    return replace(settings, timezone=known.timezone)


def _same_timezone(settings: ImportSettings, known: GroupInfo | None) -> None:
    """Refuse to mix local times: a group's events all read its exports in one timezone."""
    if known is None or not known.events or known.timezone == settings.timezone:
        return
    raise ConfigError(
        "--timezone",
        f"group {known.group_id!r} of community {settings.community!r} was imported in "
        f"{known.timezone}; importing it in {settings.timezone} would mix local times "
        f"(pass --timezone {known.timezone}, or undo its imports first)",
    )


@contextmanager
def _system_allocator() -> Iterator[None]:
    """Imports allocate and free big Arrow buffers per batch; the system allocator returns
    them to the OS at once, where Arrow's default pool keeps them (peak memory -20 %)."""
    _return_big_blocks_to_the_os()
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _return_big_blocks_to_the_os() -> None:
    """Ask glibc to map big blocks separately and trim freed memory promptly.

    By default glibc raises its mmap threshold as big blocks are freed, so the batch
    buffers of an import pile up in the heap and the peak RSS grows; fixed 1 MB
    thresholds keep the peak near what is live (-10 % on a 1M-message import).
    A no-op where glibc is not the C library.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 1 << 20)
    mallopt(m_trim_threshold, 1 << 20)


def _run(
    store: Store,
    importer: Importer,
    spec: ImportSpec,
    settings: ImportSettings,
    progress: ProgressCallback | None,
    on_commit: CommitCallback | None,
) -> ImportResult:
    group_id = spec.group_id
    record = store.begin_import(spec)
    settings = replace(settings, import_id=record.import_id, group=group_id)
    committed = record.position
    new_events = 0
    registered: set[tuple[str, str]] = set()
    try:
        # what the store was told to forget, read once for the batches and the links
        forgotten = ForgottenFilter.for_store(store)
        protect = _privacy(store, settings, forgotten)
        for batch in read_ahead(importer.batches(settings)):
            if progress is not None:
                progress(batch.bytes_read, importer.total_bytes)
            if batch.position <= committed:
                continue
            batch = protect(_after(batch, committed))
            registered |= _register_groups(store, importer, settings, batch, registered)
            new_events += store.write_batch(
                record.import_id, batch.events, batch.rejects, batch.position, batch.records_read
            )
            committed = batch.position
            # not held while the next batch is parsed
            del batch
            if on_commit is not None:
                on_commit(committed, new_events)
        # a failure anywhere between begin and finish must end the import (a DuckDB store
        # gives its buffer pool back; the ledger does not show it running)
        links = getattr(importer, "identity_links", None)
        if links is not None:
            found = _not_forgotten(forgotten, importer.platform, links())
            store.link_import_identities(record.import_id, importer.platform, found)
        notes = tuple(importer.notes())
        media = importer.media_counts()
    except BaseException as exc:
        store.finish_import(record.import_id, "failed", message=f"{type(exc).__name__}: {exc}")
        if isinstance(exc, duckdb.Error | MemoryError):
            # one sentence naming the file, not the engine's traceback
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if committed:
                where = f"after line {committed:,} ({first}); the lines before are stored"
                then = "run the same command again to resume"
            else:
                where, then = f"before storing anything ({first})", "nothing was stored"
            raise ImportStopped(f"{spec.source}: the import stopped {where}: {then}") from exc
        raise
    final = store.finish_import(
        record.import_id,
        "complete",
        media=media,
        message="; ".join(notes) or None,
    )
    resumed_from = record.position if record.resumed else 0
    final.resumed = record.resumed
    return ImportResult(
        final,
        importer.platform,
        group_id,
        notes,
        new_events,
        resumed_from,
        settings.timezone,
        tuple(sorted(registered)),
    )


def _register_groups(
    store: Store,
    importer: Importer,
    settings: ImportSettings,
    batch: Batch,
    known: set[tuple[str, str]],
) -> set[tuple[str, str]]:
    """Groups first seen in this batch, registered before any of their events is stored.

    Exports of several groups (a Telegram account, a Slack workspace, a roster) name
    each group as they go (``importer.group_names``); a one-group export's group takes
    the export's name. Each group is checked against the timezone its earlier imports
    used.
    """
    if batch.events.num_rows == 0:
        return set()
    seen = _group_pairs(batch.events) - known
    groups = _stored_groups(store, settings.community) if seen else {}
    for platform, group_id in sorted(seen):
        stored = groups.get((platform, group_id))
        timezone = _group_timezone(settings, stored).timezone
        _same_timezone(replace(settings, timezone=timezone), stored)
        if group_id in importer.group_names:
            name = importer.group_names[group_id]
        elif group_id in (settings.group, importer.group_name):
            name = group_id if group_id == settings.group else importer.group_name
        else:
            name = stored.name if stored else group_id
        store.upsert_group(settings.community, platform, group_id, name, timezone)
    return seen


def _group_pairs(events: pa.Table) -> set[tuple[str, str]]:
    """The (platform, group id) pairs of a batch's events: one pair when each column holds
    one value (a one-group export: a comparison per row), else grouped."""
    platform, group = events.column("platform"), events.column("group_id")
    if platform.null_count == 0 and group.null_count == 0:
        first_platform, first_group = platform[0], group[0]
        if (
            pc.all(pc.equal(platform, first_platform)).as_py()
            and pc.all(pc.equal(group, first_group)).as_py()
        ):
            return {(first_platform.as_py(), first_group.as_py())}
    pairs = events.select(["platform", "group_id"]).group_by(["platform", "group_id"])
    return {(row["platform"], row["group_id"]) for row in pairs.aggregate([]).to_pylist()}


def _privacy(
    store: Store, settings: ImportSettings, forgotten: ForgottenFilter
) -> Callable[[Batch], Batch]:
    """What happens to a batch before it is stored: pseudonyms, then forgotten members."""
    pseudonyms = Pseudonymizer(privacy_key(store)) if settings.pseudonymize else None

    def protect(batch: Batch) -> Batch:
        events = batch.events
        rejects = batch.rejects
        if pseudonyms is not None:
            events = pseudonyms.apply(events)
            rejects = [replace(r, raw=WITHHELD) for r in rejects]
        return replace(batch, events=forgotten.apply(events), rejects=rejects)

    return protect


def _not_forgotten(
    forgotten: ForgottenFilter, platform: str, pairs: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The identity links an import found, without those to or from an identity the
    store was told to forget (a link would give the forgotten id a name again)."""
    if not forgotten.forgotten or not pairs:
        return pairs
    gone = forgotten.is_forgotten
    return [(a, b) for a, b in pairs if not gone(platform, a) and not gone(platform, b)]


def _after(batch: Batch, committed: int) -> Batch:
    """The part of a batch past the committed position (all of it, usually).

    A batch wholly past it (every batch of a run after its first commit) is returned
    as it is: filtering would copy every column of it for nothing.
    """
    if committed <= 0:
        return batch
    keep = pc.greater(batch.events.column("source_line"), committed)
    if (
        keep.null_count == 0
        and pc.all(keep).as_py()
        and all(r.line > committed for r in batch.rejects)
    ):
        return batch
    return Batch(
        events=batch.events.filter(keep),
        rejects=[r for r in batch.rejects if r.line > committed],
        position=batch.position,
        records_read=batch.records_read,
        bytes_read=batch.bytes_read,
    )
