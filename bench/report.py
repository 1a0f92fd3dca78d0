"""Benchmark: the full report (every metric, the HTML written) at 1M and 10M messages.

For each size, simulates a WhatsApp community of 100,000 members (the same community at
every size, so 10M is 10× the messages of 1M, not also 10× the members; ``--members 0``:
the earlier rule, 1 % of the messages — 10,000 members at 1M), imports it into a new
embedded store (timed, not part of the report figure), then runs ``shequn report --out
report.html`` in a fresh process and prints its seconds, CPU seconds and peak memory
(max RSS of the report's process, and its process tree's peak: the sum of the PSS of it
and its forked helpers, measure.TreeMemory). In the same run, on the same 1M-message
export, it times the ``chat-analytics`` CLI (npm package, installed into ``bench/node/``
on first use) and prints the ratio of end-to-end times: shequn's import + report against
chat-analytics.

    python bench/report.py                    # 1M and 10M, and chat-analytics at 1M
    python bench/report.py --sizes 1000000    # 1M only
    python bench/report.py --members 0        # 10,000 members at 1M (the earlier bench)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import TreeMemory

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
NODE = HERE / "node"
CHAT_ANALYTICS = "chat-analytics@1.1.2"


def measure(
    command: list[str], env: dict[str, str] | None = None
) -> tuple[float, float, float, float]:
    """Wall seconds, CPU seconds (the child's and its children's), its peak RSS and its
    process tree's peak memory (:class:`TreeMemory`: forked helpers included), in MB;
    exits on failure."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stderr is not None
    with TreeMemory(process.pid) as tree:
        stderr = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command[:4])} failed:\n{stderr[-3000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, tree.peak_mb


#: members of the simulated community at every size (0: 1 % of the messages)
MEMBERS = 100_000


def simulate(messages: int, members: int = MEMBERS) -> Path:
    if members == 0:
        members = 100_000 if messages >= 10_000_000 else max(1_000, messages // 100)
    target = OUT / f"report-whatsapp-{messages}-{members}"
    if not (target / "truth.json").exists():
        subprocess.run(
            [
                *SHEQUN,
                "simulate",
                "--members",
                str(members),
                "--messages",
                str(messages),
                "--days",
                "365",
                "--seed",
                "1",
                "--out",
                str(target),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return next(p for p in target.iterdir() if p.suffix == ".txt")


SHEQUN = [sys.executable, "-m", "shequn.cli"]


def chat_analytics() -> list[str]:
    """The chat-analytics CLI, installed from the npm registry on first use."""
    cli = NODE / "node_modules" / "chat-analytics" / "dist" / "lib" / "CLI.js"
    if not cli.exists():
        if shutil.which("npm") is None:
            sys.exit("npm is needed for the chat-analytics comparison")
        NODE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--prefix", str(NODE), CHAT_ANALYTICS], check=True
        )
    return ["node", str(cli)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--members", type=int, default=MEMBERS, help="0: 1 %% of the messages")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, {load()}")
    rows = []
    end_to_end: dict[int, float] = {}
    for size in args.sizes:
        export = simulate(size, args.members)
        with tempfile.TemporaryDirectory() as tmp:
            store = str(Path(tmp) / "bench.duckdb")
            common = ["--store", store]
            imported, _, import_peak, _ = measure(
                [*SHEQUN, *common, "import", str(export), "--timezone", "Asia/Shanghai"]
            )
            html = Path(tmp) / "report.html"
            reported, cpu, report_peak, report_tree = measure(
                [*SHEQUN, *common, "report", "--out", str(html)]
            )
            size_mb = html.stat().st_size / 1e6
        rows.append((size, imported, import_peak, reported, cpu, report_peak, report_tree, size_mb))
        print(f"{size:,}: import {imported:.1f} s, report {reported:.1f} s, {load()}", flush=True)
        end_to_end[size] = imported + reported
    header = f"{'messages':>12}{'import s':>10}{'import MB':>11}{'report s':>10}{'CPU s':>8}"
    print(f"\n{header}{'report MB':>11}{'tree MB':>9}{'html MB':>9}")
    for size, imported, import_peak, reported, cpu, report_peak, report_tree, size_mb in rows:
        print(
            f"{size:>12,}{imported:>10.1f}{import_peak:>11.0f}{reported:>10.1f}{cpu:>8.1f}"
            f"{report_peak:>11.0f}{report_tree:>9.0f}{size_mb:>9.1f}"
        )
    if len(rows) > 1:
        small, big = rows[0], rows[-1]
        # CPU seconds: on a shared machine wall time measures the load
        growth = (big[4] / small[4]) / (big[0] / small[0])
        print(f"report CPU growth {small[0]:,} → {big[0]:,}: {growth:.2f}× linear (≤ 1 is linear)")
    if 1_000_000 in end_to_end:
        export = simulate(1_000_000, args.members)
        with tempfile.TemporaryDirectory() as tmp:
            seconds, _, peak, _ = measure(
                [
                    *chat_analytics(),
                    "-p",
                    "whatsapp",
                    "-i",
                    str(export),
                    "-o",
                    str(Path(tmp) / "ca.html"),
                ]
            )
        ratio = seconds / end_to_end[1_000_000]
        print(
            f"chat-analytics {CHAT_ANALYTICS} at 1M: {seconds:.1f} s, {peak:.0f} MB; "
            f"shequn import + report {end_to_end[1_000_000]:.1f} s → {ratio:.1f}× faster"
        )
    print(load())


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
