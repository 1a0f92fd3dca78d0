"""What every metric starts from: the events in scope, each with its member and local time.

A metric never looks at raw identities: ``member`` is the linked member key
(``identity_links``, else ``platform:identity``), ``actor`` the same for
``by_member_id``, ``group`` is ``platform/group_id``. ``local_ts`` is the event's
time on its group's clock (the timezone set at import), computed by a range join
on the group's UTC-offset periods — the same on every engine, DST included.
Building a context runs two small queries (the groups, the time span); metrics
built on it compose expressions. Intermediate tables several metrics share (the
resolved events themselves, the messages with their parents, member facts …) are
materialised once per context by :meth:`Context.shared` — a temporary table on DuckDB,
a cached DataFrame on Spark — so a report run computes each of them once instead of
once per metric that reads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar, cast
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
from ibis.expr import types as ir

from shequn.analytics.source import Log, arrow, materialize

T = TypeVar("T")

#: event kinds that make someone a member of a group (besides posting)
MEMBERSHIP_KINDS: Final = ("member_joined", "member_listed")
EXIT_KINDS: Final = ("member_left", "member_removed")
#: event columns no metric reads, left out of the materialised events: writing a column
#: into the shared tables' file costs more than computing the events (its compression:
#: at 1M messages ≈ 0.1 s CPU for a column of one repeated value, 0.3 s for a column of
#: identities). The raw identities are read as ``member`` and ``actor``, null exactly
#: when they are; ``group`` stands for platform and group; the community is the
#: scope's. (``source_line`` is read: it orders a minute's messages as the export
#: wrote them.)
UNUSED_COLUMNS: Final = (
    "schema_version", "ts_raw", "import_id", "community", "platform", "group_id",
    "member_id", "by_member_id", "forwarded_from", "amount", "currency", "extra", "topic_id",
)  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """Which part of the log to analyse."""

    community: str | None = None
    #: ``platform/group_id`` keys; empty: every group
    groups: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Settings:
    """The operator's knobs (each explained in the report)."""

    #: a member silent longer than this is a lurker
    lurker_days: int = 30
    #: recommended posting windows hold at most this many hours a day in total
    window_hours: int = 4
    #: a question counts as answered by a reply within this many hours
    answer_hours: int = 24
    #: weeks of stability shown for the posting windows
    stability_weeks: int = 8


@dataclass(frozen=True)
class Context:
    """The scoped, resolved event table and the facts metrics need about the period."""

    log: Log
    scope: Scope
    settings: Settings
    #: first and last instant (UTC) of the analysed period
    start: datetime
    end: datetime
    #: platform/group_id → timezone
    timezones: dict[str, str]
    #: the scoped events with member, actor, group and local time (an expression)
    resolved: ir.Table = field(repr=False)
    #: materialise shared tables (False: every metric is one self-contained expression)
    materialized: bool = True
    #: shared tables by name, and the seconds each took to materialise
    tables: dict[str, ir.Table] = field(default_factory=dict, repr=False, compare=False)
    timings: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    #: Python values derived metrics share (see :meth:`computed`)
    values: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: the clock of ``timings`` (bench/metric_times.py counts CPU seconds)
    clock: Callable[[], float] = field(default=time.perf_counter, repr=False, compare=False)

    def shared(
        self, name: str, build: Callable[[], ir.Table], uncompressed: tuple[str, ...] = ()
    ) -> ir.Table:
        """The table ``build()`` returns, computed once per context.

        Several metrics read the same intermediate tables; as one expression each, the
        engine would recompute them in every metric (and Ibis repeats a sub-plan at
        every use inside one query). Materialised once, later metrics read the stored
        rows. ``name`` identifies the table within the context; ``uncompressed`` names
        columns of hashes stored as they are (:func:`~shequn.analytics.source.materialize`).
        """
        table = self.tables.get(name)
        if table is None:
            began = self.clock()
            table = build()
            if self.materialized:
                table = materialize(self.log, table, uncompressed)
            self.timings[name] = self.clock() - began
            self.tables[name] = table
        return table

    def computed(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, once per context: for Python-side work two derived metrics
        share (the topic terms of the sample)."""
        if name not in self.values:
            began = self.clock()
            self.values[name] = compute()
            self.timings[name] = self.clock() - began
        return cast(T, self.values[name])

    @property
    def events(self) -> ir.Table:
        """The scoped events, each with ``member``, ``actor``, ``group`` and ``local_ts``."""
        return self.shared(
            "events", lambda: self.resolved.drop(*UNUSED_COLUMNS), uncompressed=("key",)
        )

    @property
    def messages(self) -> ir.Table:
        """Posts written by members or bots (the ``messages`` of ``stats``)."""
        return self.events.filter(self.events.kind == "message_posted")


def build_context(
    log: Log,
    scope: Scope | None = None,
    settings: Settings | None = None,
    materialized: bool = True,
) -> Context:
    """Resolve members, groups and local times for ``scope`` of ``log``."""
    scope = scope or Scope()
    settings = settings or Settings()
    raw = _filtered(log, scope)
    groups = arrow(
        raw.group_by(["platform", "group_id"]).aggregate(
            first=raw.ts.min(), last=raw.ts.max(), n=raw.count()
        )
    ).to_pylist()
    zones = {
        f"{g['platform']}/{g['group_id']}": g["timezone"]
        for g in arrow(log.groups.select("platform", "group_id", "timezone")).to_pylist()
    }
    timezones = {
        f"{g['platform']}/{g['group_id']}": zones.get(f"{g['platform']}/{g['group_id']}", "UTC")
        for g in groups
    }
    firsts = [g["first"] for g in groups if g["first"] is not None]
    lasts = [g["last"] for g in groups if g["last"] is not None]
    start = scope.since or (min(firsts) if firsts else datetime(1970, 1, 1))
    end = scope.until or ((max(lasts) + timedelta(seconds=1)) if lasts else start)
    events = _resolved(log, raw, timezones, start, end)
    return Context(log, scope, settings, start, end, timezones, events, materialized)


def _filtered(log: Log, scope: Scope) -> ir.Table:
    e = log.events
    if scope.community is not None:
        e = e.filter(e.community == scope.community)
    if scope.since is not None:
        e = e.filter(e.ts >= scope.since)
    if scope.until is not None:
        e = e.filter(e.ts < scope.until)
    if scope.groups:
        key = e.platform.concat("/", e.group_id)
        e = e.filter(key.isin(list(scope.groups)))
    return e


def _resolved(
    log: Log, raw: ir.Table, timezones: dict[str, str], start: datetime, end: datetime
) -> ir.Table:
    links = log.links.select(
        link_platform=log.links.platform,
        link_identity=log.links.identity,
        member_key=log.links.member_key,
    )
    by_links = links.select(
        by_platform="link_platform", by_identity="link_identity", actor_key="member_key"
    )
    e = raw.left_join(
        links, [raw.platform == links.link_platform, raw.member_id == links.link_identity]
    ).drop("link_platform", "link_identity")
    e = e.left_join(
        by_links, [e.platform == by_links.by_platform, e.by_member_id == by_links.by_identity]
    ).drop("by_platform", "by_identity")
    e = e.mutate(
        member=ibis.coalesce(e.member_key, e.platform.concat(":", e.member_id)),
        actor=ibis.coalesce(e.actor_key, e.platform.concat(":", e.by_member_id)),
        group=e.platform.concat("/", e.group_id),
    ).drop("member_key", "actor_key")
    periods = ibis.memtable(
        pa.table(
            _offset_periods(timezones, start, end),
            schema=pa.schema(
                [
                    ("tz_group", pa.string()),
                    ("valid_from", pa.timestamp("us")),
                    ("valid_until", pa.timestamp("us")),
                    ("offset_seconds", pa.int64()),
                ]
            ),
        )
    )
    joined = e.join(
        periods,
        [e.group == periods.tz_group, e.ts >= periods.valid_from, e.ts < periods.valid_until],
        how="left",
    )
    local = joined.ts + ibis.coalesce(joined.offset_seconds, 0).as_interval("s")
    return joined.mutate(local_ts=local).drop(
        "tz_group", "valid_from", "valid_until", "offset_seconds"
    )


def _offset_periods(
    timezones: dict[str, str], start: datetime, end: datetime
) -> dict[str, list[object]]:
    """Per group, the UTC periods with one UTC offset (split at DST changes)."""
    out: dict[str, list[object]] = {
        "tz_group": [],
        "valid_from": [],
        "valid_until": [],
        "offset_seconds": [],
    }
    lo = datetime(1970, 1, 1)
    hi = datetime(2200, 1, 1)
    for group, name in sorted(timezones.items()):
        zone = ZoneInfo(name)
        cuts = [lo]
        offsets = []
        hour = (start - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        stop = end + timedelta(days=2)
        previous = _offset(zone, hour)
        offsets.append(previous)
        while hour < stop:
            hour += timedelta(hours=1)
            current = _offset(zone, hour)
            if current != previous:
                cuts.append(hour)
                offsets.append(current)
                previous = current
        cuts.append(hi)
        for i, seconds in enumerate(offsets):
            out["tz_group"].append(group)
            out["valid_from"].append(cuts[i])
            out["valid_until"].append(cuts[i + 1])
            out["offset_seconds"].append(seconds)
    return out


def _offset(zone: ZoneInfo, utc_naive: datetime) -> int:
    delta = utc_naive.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0
