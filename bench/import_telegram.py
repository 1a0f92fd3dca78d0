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
import os
import sys
import tempfile
from pathlib import Path

from measure import SHEQUN_SCRIPT, print_table, run_script, simulate


def export_of(messages: int, seed: int, variant: str) -> Path:
    target = simulate(
        f"telegram-{variant}", messages, seed, "--format", "telegram", "--variant", variant
    )
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
        export = export_of(args.messages, args.seed, variant)
        print(f"{variant}: {export} ({args.messages:,} messages, {folder_size(export):.0f} MB)")
        with tempfile.TemporaryDirectory() as tmp:
            store = Path(tmp) / "bench.duckdb"
            results[variant] = run_script(SHEQUN_SCRIPT, str(export), str(store))
    print_table(results, "format", 8, events=True)


if __name__ == "__main__":
    main()
