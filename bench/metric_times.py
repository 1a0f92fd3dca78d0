"""Where the report's time goes: the whole metric set once on an existing store, each
metric's CPU seconds (this process, DuckDB's threads included; in the order the runner
runs them), the shared tables the context materialised on the way (their time is inside
the first metric that needed them, and nested tables inside theirs), then the rest of
``shequn report --out report.html``: the explorer data, the JSON document (cut to the
page's rows, as the CLI builds it for a page) and the page, each with the process's
peak memory after it. CPU seconds, because the machine is shared: wall time says more
about the load than the code.

python bench/metric_times.py STORE.duckdb [COMMUNITY]
"""

from __future__ import annotations

import dataclasses
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from shequn.analytics.context import Scope, build_context
from shequn.analytics.runner import load_metrics, run_metrics
from shequn.analytics.source import duckdb_log
from shequn.report.collect import (
    assemble,
    ctx_meta,
    explorer_data,
    metric_infos,
    runnable,
)
from shequn.report.html import PAGE_ROWS, render_html
from shequn.report.masking import displayed

T = TypeVar("T")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(name: str, work: Callable[[], T]) -> T:
    began = time.process_time()
    value = work()
    print(f"{name:36}{time.process_time() - began:8.2f} s CPU  peak {peak_mb():6,.0f} MB")
    return value


def main() -> None:
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    start = time.perf_counter()
    cpu = time.process_time()
    scope = Scope(community=sys.argv[2] if len(sys.argv) > 2 else None)
    context = build_context(duckdb_log(sys.argv[1]), scope)
    context = dataclasses.replace(context, clock=time.process_time)
    print(f"{'context':36}{time.process_time() - cpu:8.2f} s CPU")
    timings: dict[str, float] = {}
    names = runnable(load_metrics(), list(load_metrics()))
    results = run_metrics(context, names, timings=timings, clock=time.process_time)
    for name, seconds in timings.items():
        print(f"{name:36}{seconds:8.2f} s CPU {results[name].num_rows:>10,} rows")
    print("shared tables (inside the metric that first needed them):")
    for name, seconds in context.timings.items():
        print(f"  {name:34}{seconds:8.2f} s CPU")
    print(f"{'metrics':36}{time.process_time() - cpu:8.2f} s CPU  peak {peak_mb():6,.0f} MB")
    shown = step("masking", lambda: displayed(results))
    explorer = step("explorer data", lambda: explorer_data(context))
    meta = ctx_meta(context)
    report = step(
        "document", lambda: assemble(meta, shown, metric_infos(), explorer, row_limit=PAGE_ROWS)
    )
    page = step("HTML page", lambda: render_html(report))
    print(f"{'page size':36}{len(page.encode()) / 1e6:8.1f} MB")
    print(f"{'total':36}{time.perf_counter() - start:8.2f} s wall, ", end="")
    print(f"{time.process_time() - cpu:.1f} s CPU of this process, peak {peak_mb():,.0f} MB")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
