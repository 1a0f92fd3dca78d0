"""Benchmark: importing a Telegram Desktop export (JSON and HTML) with shequn.

Simulates one export per format (default 1,000,000 messages), then imports each with
``run_import`` into a fresh embedded DuckDB store, each in its own fresh process, and
prints messages per second and peak memory (the process's max RSS, from
``os.wait4``/``getrusage``). The timing is around ``run_import`` (interpreter start and
imports excluded); the process's whole wall time is printed too.

    python bench/import_telegram.py                       # 1M messages, JSON and HTML
    python bench/import_telegram.py --messages 200000 --only json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

SHEQUN_SCRIPT = """
import json, sys, time
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


def measure(command: list[str]) -> tuple[str, float, float]:
    """Wall seconds and the child's max RSS (MB), like /usr/bin/time."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    stdout = process.stdout.read()
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command[:3])} failed:\n{stderr[-3000:]}")
    return stdout, wall, usage.ru_maxrss / 1024


def simulate(messages: int, seed: int, variant: str) -> Path:
    target = OUT / f"telegram-{variant}-{messages}-{seed}"
    if not (target / "truth.json").exists():
        subprocess.run(
            [
                sys.executable, "-m", "shequn.cli", "simulate", "--format", "telegram",
                "--variant", variant, "--members", str(max(300, messages // 500)),
                "--messages", str(messages), "--days", "365", "--seed", str(seed),
                "--out", str(target),
            ],
            check=True,
        )  # fmt: skip
    return next(p for p in target.iterdir() if p.is_dir())


def folder_size(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=["json", "html", "all"], default="all")
    args = parser.parse_args()
    variants = ["json", "html"] if args.only == "all" else [args.only]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    results: dict[str, dict[str, float]] = {}
    for variant in variants:
        export = simulate(args.messages, args.seed, variant)
        print(f"{variant}: {export} ({args.messages:,} messages, {folder_size(export):.0f} MB)")
        with tempfile.TemporaryDirectory() as tmp:
            store = Path(tmp) / "bench.duckdb"
            command = [sys.executable, "-c", SHEQUN_SCRIPT, str(export), str(store)]
            stdout, wall, peak = measure(command)
        report = json.loads(stdout.strip().splitlines()[-1])
        results[variant] = {**report, "peak_mb": peak, "process_seconds": wall}
    header = (
        f"{'format':<8}{'messages':>12}{'events':>12}{'seconds':>10}{'msg/s':>12}{'peak MB':>10}"
    )
    print(f"\n{header}{'process s':>11}")
    for variant, r in results.items():
        rate = r["messages"] / r["seconds"]
        print(
            f"{variant:<8}{int(r['messages']):>12,}{int(r['events']):>12,}{r['seconds']:>10.2f}"
            f"{rate:>12,.0f}{r['peak_mb']:>10.0f}{r['process_seconds']:>11.2f}"
        )


if __name__ == "__main__":
    main()
