"""Benchmark: importing a Telegram Desktop export (JSON and HTML) with shequn.

Simulates one export per format (default 1,000,000 messages), then imports each with
``run_import`` into a fresh embedded DuckDB store, each in its own fresh process, and
prints messages per second and peak memory (the process's max RSS, from
``os.wait4``/``getrusage``). The timing is around ``run_import`` (interpreter start and
imports excluded); the process's whole wall time is printed too.

With ``--baseline REV`` the same exports are also imported by the code of commit ``REV``
(its ``src`` unpacked with ``git archive``, put first on ``PYTHONPATH``), in turns
whose order alternates so that a change of load hits both alike; each run also prints
its CPU seconds, which a shared machine's load inflates far less than wall time.

    python bench/import_telegram.py                       # 1M messages, JSON and HTML
    python bench/import_telegram.py --messages 200000 --only json
    python bench/import_telegram.py --baseline 81c9741 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from measure import HERE, SHEQUN_SCRIPT, print_table, run_script, simulate


def export_of(messages: int, seed: int, variant: str) -> Path:
    target = simulate(
        f"telegram-{variant}", messages, seed, "--format", "telegram", "--variant", variant
    )
    return next(p for p in target.iterdir() if p.is_dir())


def folder_size(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def unpack_src(rev: str, into: Path) -> Path:
    """The ``src`` tree of commit ``rev``, for ``PYTHONPATH``."""
    archive = subprocess.run(
        ["git", "archive", rev, "src"], cwd=HERE.parent, check=True, capture_output=True
    ).stdout
    tar = into / "src.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as tf:
        tf.extractall(into, filter="data")
    return into / "src"


def timed_import(src: Path | None, export: Path) -> dict[str, float]:
    """One import in a fresh process (``src`` first on its path): its report, CPU seconds."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-c", SHEQUN_SCRIPT, str(export), str(Path(tmp) / "b.duckdb")]
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        stdout, _ = process.communicate()
        wall = time.perf_counter() - start
        if process.returncode != 0:
            sys.exit(f"import with {src or 'this checkout'} failed")
    # communicate() reaped the child: its CPU is in our children's times
    report = json.loads(stdout.strip().splitlines()[-1])
    return {**report, "process_seconds": wall}


def side_by_side(export: Path, baseline: str, baseline_src: Path, rounds: int) -> None:
    """Baseline and this checkout in turns (ABBA…): seconds, CPU seconds, events, load."""
    trees: list[tuple[str, Path | None]] = [(baseline, baseline_src), ("this checkout", None)]
    print(f"{'round':<7}{'code':<16}{'events':>12}{'seconds':>10}{'CPU s':>9}{'load 1m':>9}")
    for turn in range(rounds):
        for name, src in trees if turn % 2 == 0 else trees[::-1]:
            before = os.times()
            result = timed_import(src, export)
            after = os.times()
            cpu = (after.children_user - before.children_user) + (
                after.children_system - before.children_system
            )
            print(
                f"{turn:<7}{name:<16}{int(result['events']):>12,}{result['seconds']:>10.2f}"
                f"{cpu:>9.2f}{os.getloadavg()[0]:>9.1f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=["json", "html", "all"], default="all")
    parser.add_argument("--baseline", metavar="REV", help="also import with commit REV's code")
    parser.add_argument("--rounds", type=int, default=2, help="turns of each with --baseline")
    args = parser.parse_args()
    variants = ["json", "html"] if args.only == "all" else [args.only]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as old:
        baseline_src = unpack_src(args.baseline, Path(old)) if args.baseline else None
        for variant in variants:
            export = export_of(args.messages, args.seed, variant)
            print(f"{variant}: {export} ({args.messages:,} messages, {folder_size(export):.0f} MB)")
            if args.baseline and baseline_src is not None:
                side_by_side(export, args.baseline, baseline_src, args.rounds)
                continue
            with tempfile.TemporaryDirectory() as tmp:
                store = Path(tmp) / "bench.duckdb"
                results[variant] = run_script(SHEQUN_SCRIPT, str(export), str(store))
    if results:
        print_table(results, "format", 8, events=True)


if __name__ == "__main__":
    main()
