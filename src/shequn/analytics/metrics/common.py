"""Building blocks several metrics share (still expressions; nothing executes)."""

from __future__ import annotations

from typing import Final

import ibis
from ibis.expr import types as ir

#: the group key of rows that cover every group in scope together
ALL_GROUPS: Final = "*"


def with_all_groups(table: ir.Table, group: str = "group") -> ir.Table:
    """``table`` plus the same rows with the group replaced by :data:`ALL_GROUPS`.

    Metrics aggregate after this, so each group gets its rows and the community as a
    whole gets one more set, where a member active in two groups counts once.
    """
    everything = table.mutate(**{group: ibis.literal(ALL_GROUPS)})
    return table.union(everything.select(table.columns))


def week_of(ts: ir.TimestampValue) -> ir.TimestampValue:
    """Monday 00:00 of the (local) week ``ts`` falls in."""
    return ts.truncate("W")


def day_of(ts: ir.TimestampValue) -> ir.TimestampValue:
    return ts.truncate("D")
