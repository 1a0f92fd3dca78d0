"""What the import benchmarks share: simulated exports, and timing a tool in a fresh process.

Every tool runs in its own process so that one's imports, caches and memory cannot help
or hurt another; the script it runs times its own work and prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

#: imports ``argv[1]`` into a new embedded store at ``argv[2]``, timed around ``run_import``;
#: pandas is imported before the timer, as the peers' imports do: pyarrow imports it on its
#: first ``pa.array`` call (0.5 s of CPU), which would otherwise land inside the import
SHEQUN_SCRIPT = """
import json, sys, time
import pandas
from pathlib import Path
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.store import open_store
start = time.perf_counter()
with open_store(sys.argv[2]) as store:
    result = run_import(store, Path(sys.argv[1]), ImportSettings(timezone="Asia/Shanghai"))
    messages = store.stats()["messages"]
seconds = time.perf_counter() - start
print(json.dumps({"messages": messages, "seconds": seconds, "events": result.new_events}))
"""


class TreeMemory:
    """The peak of a process tree's memory while the ``with`` body runs: the sum of the
    PSS of the process and its descendants (a page shared by n of them counts 1/n in
    each), sampled every ``interval`` seconds (Linux). One process's max RSS misses what
    its forked children hold beside it; their RSS summed counts shared pages twice."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval = pid, interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            total = sum(_pss_kb(pid) for pid in _tree(self.pid))
            self.peak_mb = max(self.peak_mb, total / 1024)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (``/proc/PID/task/TID/children``)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except OSError:  # ended meanwhile
            continue
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:  # ended meanwhile
        pass
    return 0


def measure(command: list[str]) -> tuple[str, float, float]:
    """Stdout, wall seconds and the child's max RSS (MB), like /usr/bin/time.

    Stderr goes to a file, not a second pipe: a tool whose progress bar fills a pipe
    nobody reads yet (chat-miner's, under load) would block forever.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert process.stdout is not None
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        errors.seek(0)
        stderr = errors.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command[:3])} failed:\n{stderr[-3000:]}")
    return stdout, wall, usage.ru_maxrss / 1024


def run_script(script: str, *args: str) -> dict[str, float]:
    """Run a timing script in a fresh interpreter: its JSON report, peak MB, process seconds."""
    stdout, wall, peak = measure([sys.executable, "-c", script, *args])
    report = json.loads(stdout.strip().splitlines()[-1])
    return {**report, "peak_mb": peak, "process_seconds": wall}


def simulate(name: str, messages: int, seed: int, *options: str) -> Path:
    """``shequn simulate`` into ``out/<name>-<messages>-<seed>`` once; later runs reuse it."""
    target = OUT / f"{name}-{messages}-{seed}"
    if not (target / "truth.json").exists():
        subprocess.run(
            [
                sys.executable, "-m", "shequn.cli", "simulate", *options,
                "--members", str(max(300, messages // 500)), "--messages", str(messages),
                "--days", "365", "--seed", str(seed), "--out", str(target),
            ],
            check=True,
        )  # fmt: skip
    return target


def rate(result: dict[str, float]) -> float:
    """Messages per second."""
    return result["messages"] / result["seconds"]


def print_table(
    results: dict[str, dict[str, float]], label: str, width: int, events: bool = False
) -> None:
    """One row per run: messages (and events), seconds, msg/s, peak MB, process seconds."""
    counts = f"{'messages':>12}" + (f"{'events':>12}" if events else "")
    print(f"\n{label:<{width}}{counts}{'seconds':>10}{'msg/s':>12}{'peak MB':>10}{'process s':>11}")
    for name, r in results.items():
        counts = f"{int(r['messages']):>12,}" + (f"{int(r['events']):>12,}" if events else "")
        print(
            f"{name:<{width}}{counts}{r['seconds']:>10.2f}{rate(r):>12,.0f}"
            f"{r['peak_mb']:>10.0f}{r['process_seconds']:>11.2f}"
        )
