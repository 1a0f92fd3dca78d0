"""Where the report's time and memory go: the whole metric set once on an existing store,
each metric's CPU seconds (this process and its forked helpers, DuckDB's threads
included; in the order the runner runs them) and the peak memory (RSS) while it ran,
the shared tables the context materialised on the way (their time is inside the first
metric that needed them, and nested tables inside theirs), DuckDB's own memory and
spill folder, then the rest of ``shequn report --out report.html``: the explorer data,
the JSON document (cut to the page's rows, as the CLI builds it for a page) and the
page, each with its CPU seconds and peak RSS. CPU seconds, because the machine is
shared: wall time says more about the load than the code. The peak of each step is the
process's high-water mark reset before the step (Linux: ``/proc/self/clear_refs``), so a
step's figure is its own, not the largest so far. The metrics run one after another
(``background=False``): the report overlaps ``graph.centrality`` with the others in a
forked child (bench/report.py measures that, its process tree's memory included).

python bench/metric_times.py STORE.duckdb [COMMUNITY]
"""

from __future__ import annotations

import dataclasses
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
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
from shequn.report.html import PAGE_ROWS, write_html
from shequn.report.masking import displayed

T = TypeVar("T")


#: the largest step peak so far (resetting the high-water mark resets ru_maxrss too)
_overall = [0.0]


def peak_mb() -> float:
    """The process's peak RSS since the start, MB."""
    return max(_overall[0], step_peak_mb())


def step_peak_mb() -> float:
    """The peak RSS since the last :func:`reset_peak`, MB (Linux), else the overall peak."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    _overall[0] = max(_overall[0], peak)
    return peak


def cpu_seconds() -> float:
    """CPU seconds of this process and of its reaped children: graph.centrality runs
    sampled betweenness in forked helpers, which ``time.process_time`` would not count."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    """Start a new high-water mark at the current RSS (Linux; elsewhere a no-op)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass


class PeakClock:
    """A CPU clock that also notes the peak RSS between two readings: the runner reads
    its clock before and after each metric, so every second reading is a metric's peak."""

    def __init__(self) -> None:
        self.peaks: list[float] = []

    def __call__(self) -> float:
        self.peaks.append(step_peak_mb())
        reset_peak()
        return cpu_seconds()


def step(name: str, work: Callable[[], T]) -> T:
    reset_peak()
    began = cpu_seconds()
    value = work()
    seconds = cpu_seconds() - began
    print(f"{name:36}{seconds:8.2f} s CPU  peak {step_peak_mb():7,.0f} MB  rss {rss_mb():7,.0f} MB")
    return value


def folder_mb(folder: str) -> float:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 1e6


def main() -> None:
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    start = time.perf_counter()
    cpu = cpu_seconds()
    scope = Scope(community=sys.argv[2] if len(sys.argv) > 2 else None)
    log = duckdb_log(sys.argv[1])
    con = log.backend.con  # type: ignore[attr-defined]
    spill = str(con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0])
    context = build_context(log, scope)
    context = dataclasses.replace(context, clock=cpu_seconds)
    print(f"{'context':36}{cpu_seconds() - cpu:8.2f} s CPU")
    timings: dict[str, float] = {}
    names = runnable(load_metrics(), list(load_metrics()))
    clock = PeakClock()
    # each metric in turn: graph.centrality in a forked child would overlap the others
    results = run_metrics(context, names, timings=timings, clock=clock, background=False)
    peaks = clock.peaks[1::2]
    for (name, seconds), peak in zip(timings.items(), peaks, strict=True):
        rows = results[name].num_rows
        print(f"{name:36}{seconds:8.2f} s CPU {rows:>10,} rows  peak {peak:7,.0f} MB")
    print("shared tables (inside the metric that first needed them):")
    for name, seconds in context.timings.items():
        print(f"  {name:34}{seconds:8.2f} s CPU")
    print(f"{'metrics':36}{cpu_seconds() - cpu:8.2f} s CPU  peak {peak_mb():7,.0f} MB")
    held = sum(table.nbytes for table in results.values()) / 1e6
    print(f"{'result tables (Arrow)':36}{held:8.0f} MB")
    duck = con.execute(
        "SELECT sum(memory_usage_bytes), sum(temporary_storage_bytes) FROM duckdb_memory()"
    ).fetchall()[0]
    print(
        f"{'DuckDB now':36}{duck[0] / 1e6:8.0f} MB in memory, {duck[1] / 1e6:,.0f} MB "
        f"temporary; spill folder {folder_mb(spill):,.0f} MB; process rss {rss_mb():,.0f} MB"
    )
    shown = step("masking", lambda: displayed(results))
    explorer = step("explorer data", lambda: explorer_data(context))
    meta = ctx_meta(context)
    report = step(
        "document", lambda: assemble(meta, shown, metric_infos(), explorer, row_limit=PAGE_ROWS)
    )
    page = Path(spill) / "report.html"  # the private folder goes at exit
    step("HTML page", lambda: write_html(report, page))
    print(f"{'page size':36}{page.stat().st_size / 1e6:8.1f} MB")
    print(f"{'total':36}{time.perf_counter() - start:8.2f} s wall, ", end="")
    print(f"{cpu_seconds() - cpu:.1f} s CPU with its helpers, peak {peak_mb():,.0f} MB")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
