"""Where the report's time goes: the whole metric set once on an existing store, each
metric's CPU seconds (this process, DuckDB's threads included; in the order the runner
runs them), and the shared tables the context materialised on the way (their time is
inside the first metric that needed them, and nested tables inside theirs). CPU
seconds, because the machine is shared: wall time says more about the load than the
code.

python bench/metric_times.py STORE.duckdb
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time

from shequn.analytics.context import build_context
from shequn.analytics.runner import run_metrics
from shequn.analytics.source import duckdb_log


def main() -> None:
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    start = time.perf_counter()
    cpu = time.process_time()
    context = build_context(duckdb_log(sys.argv[1]))
    context = dataclasses.replace(context, clock=time.process_time)
    print(f"{'context':36}{time.process_time() - cpu:8.2f} s CPU")
    timings: dict[str, float] = {}
    results = run_metrics(context, timings=timings, clock=time.process_time)
    for name, seconds in timings.items():
        print(f"{name:36}{seconds:8.2f} s CPU {results[name].num_rows:>10,} rows")
    print("shared tables (inside the metric that first needed them):")
    for name, seconds in context.timings.items():
        print(f"  {name:34}{seconds:8.2f} s CPU")
    print(f"{'total':36}{time.perf_counter() - start:8.2f} s wall, ", end="")
    print(f"{time.process_time() - cpu:.1f} s CPU of this process")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
