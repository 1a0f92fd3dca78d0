"""Time each registered metric alone on an existing store (where the report's time goes).

python bench/metric_times.py STORE.duckdb
"""

from __future__ import annotations

import sys
import time

from shequn.analytics.context import build_context
from shequn.analytics.runner import load_metrics, run_metrics
from shequn.analytics.source import duckdb_log


def main() -> None:
    start = time.perf_counter()
    context = build_context(duckdb_log(sys.argv[1]))
    print(f"{'context':32}{time.perf_counter() - start:8.2f} s")
    for name in load_metrics():
        began = time.perf_counter()
        rows = run_metrics(context, [name])[name].num_rows
        print(f"{name:32}{time.perf_counter() - began:8.2f} s {rows:>10,} rows")
    print(f"{'total':32}{time.perf_counter() - start:8.2f} s")


if __name__ == "__main__":
    main()
