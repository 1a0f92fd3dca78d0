"""Building blocks several metrics share (still expressions; nothing executes)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Final
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
from ibis.expr import types as ir

from shequn.analytics.context import Context

#: the group key of rows that cover every group in scope together
ALL_GROUPS: Final = "*"


def with_all_groups(
    table: ir.Table, group: str = "group", everyone: ir.Value | None = None
) -> ir.Table:
    """``table`` plus the same rows with the group replaced by :data:`ALL_GROUPS` (or by
    ``everyone``, where the group column holds codes instead of names).

    Metrics aggregate after this, so each group gets its rows and the community as a
    whole gets one more set, where a member active in two groups counts once.
    """
    label = ibis.literal(ALL_GROUPS) if everyone is None else everyone
    everything = table.mutate(**{group: label})
    return table.union(everything.select(table.columns))


def per_group_and_all(
    ctx: Context,
    rows: ir.Table,
    aggregate: Callable[[ir.Table], ir.Table],
    everyone: ir.Value | None = None,
) -> ir.Table:
    """``aggregate`` of ``rows`` (with a ``group`` column) per group, and again over every
    group as :data:`ALL_GROUPS` (or ``everyone``: :func:`with_all_groups`):
    :func:`with_all_groups` then ``aggregate``, except in a context of one group, where
    ``*``'s rows are the group's: there the rows are aggregated once and each result row
    written twice — by unnesting two labels, not as a union of two copies, so the
    aggregate is computed once."""
    if len(ctx.timezones) > 1:
        return aggregate(with_all_groups(rows, everyone=everyone))
    per = aggregate(rows)
    both = per.mutate(in_all_groups=ibis.literal([False, True], "array<boolean>").unnest())
    label = ibis.literal(ALL_GROUPS) if everyone is None else everyone
    group = ibis.ifelse(both.in_all_groups, label, both.group)
    return both.select(*[group.name(c) if c == "group" else both[c] for c in per.columns])


def week_of(ts: ir.TimestampValue) -> ir.TimestampValue:
    """Monday 00:00 of the (local) week ``ts`` falls in."""
    return ts.truncate("W")


def period_ends(ctx: Context) -> ir.Table:
    """Per group (and ``*``): ``last_local``, the end of the period on the group's clock,
    and ``complete_until``, before which a local week counts as complete (for ``*`` the
    earliest of the groups' ends, so a complete week is complete everywhere)."""
    end = ctx.end if ctx.end.tzinfo is not None else ctx.end.replace(tzinfo=UTC)
    ends = {
        group: end.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        for group, zone in sorted(ctx.timezones.items())
    }
    if not ends:
        ends = {ALL_GROUPS: end.replace(tzinfo=None)}
    groups = list(ends)
    last = [ends[g] for g in groups]
    complete = list(last)
    groups.append(ALL_GROUPS)
    last.append(max(ends.values()))
    complete.append(min(ends.values()))
    return ibis.memtable(
        pa.table(
            {
                "end_group": pa.array(groups, pa.string()),
                "last_local": pa.array(last, pa.timestamp("us")),
                "complete_until": pa.array(complete, pa.timestamp("us")),
            }
        )
    )
