"""The metric set: every metric registered once, with the words the report shows for it.

Two kinds:

:class:`Metric`
    ``build(ctx) -> ibis.Table`` composes an expression over the context's events and
    never executes; the runner executes it on whichever engine holds the log
    (DuckDB or Spark), so the same function is the same number everywhere. A metric
    whose result repeats a few strings in millions of rows may return them as codes
    instead (:class:`~shequn.analytics.source.Coded`: the expression of the rows with
    integers, and the expressions of the codes' values).
:class:`Derived`
    ``compute(ctx, inputs) -> pyarrow.Table`` for what SQL cannot do well — graph
    algorithms (PageRank, betweenness), choosing posting windows — over the *small*
    results of metrics (an edge list, a 7×24 grid), never over raw events.

Every result is ordered by ``order_by`` (a total order, ties broken by member or group
key) so that two engines' results can be compared row for row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

import pyarrow as pa

if TYPE_CHECKING:
    from ibis.expr import types as ir

    from shequn.analytics.context import Context
    from shequn.analytics.source import Coded


@dataclass(frozen=True)
class Metric:
    """A metric computed by the engine."""

    name: str
    title: str
    #: what the number means and how it is computed, for the report's tooltips
    explain: str
    build: Callable[[Context], ir.Table | Coded]
    order_by: tuple[str, ...]
    #: string columns come back dictionary-encoded (read batch by batch): for a result of
    #: millions of rows repeating a few thousand member keys (``conversation.edges``: ten
    #: million rows at 10M messages, 2 GB as strings, a third of that encoded)
    dictionary: bool = False


@dataclass(frozen=True)
class Derived:
    """A metric computed in Python (or a graph library) from other metrics' results."""

    name: str
    title: str
    explain: str
    inputs: tuple[str, ...]
    compute: Callable[[Context, Mapping[str, pa.Table]], pa.Table]
    order_by: tuple[str, ...]
    #: ``compute`` reads nothing but its inputs (not the context's engine): the runner may
    #: run it in a forked process as soon as they are known (:mod:`.background`)
    background: bool = False


METRICS: Final[dict[str, Metric | Derived]] = {}


#: an engine metric's function (:attr:`Metric.build`)
Build = TypeVar("Build", bound="Callable[[Context], ir.Table | Coded]")


def metric(
    name: str, title: str, explain: str, order_by: tuple[str, ...], *, dictionary: bool = False
) -> Callable[[Build], Build]:
    """Register an engine metric (decorator); ``dictionary``: see :attr:`Metric.dictionary`."""

    def register(build: Build) -> Build:
        if name in METRICS:
            raise ValueError(f"metric {name!r} registered twice")
        METRICS[name] = Metric(name, title, explain, build, order_by, dictionary)
        return build

    return register


def derived(
    name: str,
    title: str,
    explain: str,
    inputs: tuple[str, ...],
    order_by: tuple[str, ...],
    *,
    background: bool = False,
) -> Callable[
    [Callable[[Context, Mapping[str, pa.Table]], pa.Table]],
    Callable[[Context, Mapping[str, pa.Table]], pa.Table],
]:
    """Register a derived metric (decorator); ``background``: see :attr:`Derived.background`."""

    def register(
        compute: Callable[[Context, Mapping[str, pa.Table]], pa.Table],
    ) -> Callable[[Context, Mapping[str, pa.Table]], pa.Table]:
        if name in METRICS:
            raise ValueError(f"metric {name!r} registered twice")
        METRICS[name] = Derived(name, title, explain, inputs, compute, order_by, background)
        return compute

    return register
