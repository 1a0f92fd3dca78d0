"""The whole report with graph.centrality in a forked child (B) and without (S), alternated.

Runs ``shequn report --community COMMUNITY --out …`` on an existing store in fresh
processes, S = the same code with the child off (``runner.can_fork`` replaced), and prints
each run's wall seconds, CPU seconds (the process and its children), max RSS of the
report's process and its process tree's peak (:class:`measure.TreeMemory`: the PSS of
the report and its forked children summed), with the load average.

    python bench/report_child.py STORE.duckdb [ROUNDS] [SB|BS] [COMMUNITY]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from measure import TreeMemory

#: the CLI, with the forked child off when the first argument is S
CODE = """
import sys
import shequn.analytics.runner as runner
if sys.argv[1] == "S":
    runner.can_fork = lambda: False
sys.argv = ["shequn", *sys.argv[2:]]
from shequn.cli import app
app()
"""


def run(mode: str, store: str, community: str) -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    start = time.perf_counter()
    out = f"/tmp/report-child-{mode}.html"
    command = [sys.executable, "-c", CODE, mode, "--store", store]
    command += ["report", "--community", community, "--out", out]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    with TreeMemory(process.pid) as tree:
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(errors.decode(errors="replace")[-3000:])
    cpu = usage.ru_utime + usage.ru_stime
    return (
        f"{mode} wall {time.perf_counter() - start:7.1f} s  CPU {cpu:7.1f} s"
        f"  max RSS {usage.ru_maxrss / 1024:6.0f} MB  tree {tree.peak_mb:6.0f} MB  load {load}"
    )


def main() -> None:
    store = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    first = sys.argv[3] if len(sys.argv) > 3 else "SB"
    community = sys.argv[4] if len(sys.argv) > 4 else "c"
    for i in range(rounds):
        for mode in first if i % 2 == 0 else first[::-1]:
            print(run(mode, store, community), flush=True)


if __name__ == "__main__":
    main()
