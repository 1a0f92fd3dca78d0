"""Benchmark: importing a WhatsApp export, shequn against whatstk and chat-miner.

Simulates one export (default 1,000,000 messages), then runs each tool on the same
file in its own fresh process, one after the other in this one run, and prints
messages per second, peak memory (max RSS of the process) and the ratios. Every tool is
timed around its work call, its interpreter start and imports excluded alike:
shequn's is ``run_import`` (parse + store into a new embedded DuckDB file, end to
end), the peers' is their parse. The process's whole wall time is printed too, and
a "store only" row: the same events written into a new store without any parsing —
the bound on any import into the embedded store.
A missing peer fails the benchmark.

    python bench/import_whatsapp.py                     # 1M messages, all three tools
    python bench/import_whatsapp.py --messages 10000000 --only shequn   # the 10M run
    python bench/import_whatsapp.py --only shequn --baseline 1a80b1d --rounds 3

With ``--baseline REV`` shequn's import also runs with the code of commit ``REV``
(``git archive`` on ``PYTHONPATH``), in turns with this checkout (ABBA…), each in a
fresh process: seconds around ``run_import``, the process's CPU seconds and peak MB.
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

from measure import SHEQUN_SCRIPT, print_table, rate, run_script, simulate

# The floor under any parser that stores into the embedded store: the events shequn's
# import produced, read back into memory (not timed) and only *written* again — the
# same write_batch calls (100k events per transaction) and the closing checkpoint.
STORE_ONLY_SCRIPT = """
import json, sys, time
from shequn.store import open_store
from shequn.store.base import ImportSpec
with open_store(sys.argv[1]) as source:
    events = source.events()
    messages = source.stats()["messages"]
start = time.perf_counter()
with open_store(sys.argv[2]) as store:
    spec = ImportSpec("c", "whatsapp", "g", "bench", "floor", {})
    record = store.begin_import(spec)
    for offset in range(0, events.num_rows, 100_000):
        batch = events.slice(offset, 100_000)
        store.write_batch(record.import_id, batch, [], offset + batch.num_rows, batch.num_rows)
    store.finish_import(record.import_id, "complete")
seconds = time.perf_counter() - start
print(json.dumps({"messages": messages, "seconds": seconds}))
"""

PEER_SCRIPTS = {
    "whatstk": """
import json, sys, time
from whatstk import WhatsAppChat
start = time.perf_counter()
chat = WhatsAppChat.from_source(sys.argv[1], max_size=None)
print(json.dumps({"messages": len(chat.df), "seconds": time.perf_counter() - start}))
""",
    "chat-miner": """
import json, logging, sys, time
logging.disable(logging.CRITICAL)
from chatminer.chatparsers import WhatsAppParser
start = time.perf_counter()
parser = WhatsAppParser(sys.argv[1])
parser.parse_file()
frame = parser.parsed_messages.get_df()
print(json.dumps({"messages": len(frame), "seconds": time.perf_counter() - start}))
""",
}


def unpack_src(rev: str, into: Path) -> Path:
    """The ``src`` tree of commit ``rev``, for ``PYTHONPATH``."""
    archive = subprocess.run(
        ["git", "archive", rev, "src"], cwd=Path(__file__).parents[1], check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    tar = into / "src.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as tf:
        tf.extractall(into, filter="data")
    return into / "src"


def timed_import(src: Path | None, export: Path) -> tuple[float, float, float]:
    """One import in a fresh process, ``src`` first on its path: seconds around
    ``run_import``, the process's CPU seconds (user + system) and its peak MB."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-c", SHEQUN_SCRIPT, str(export), str(Path(tmp) / "b.duckdb")]
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"import with {src or 'this checkout'} failed")
    report = json.loads(stdout.strip().splitlines()[-1])
    return report["seconds"], usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def side_by_side(export: Path, baseline: str, rounds: int) -> None:
    """The baseline and this checkout in turns (ABBA…), with the ratio of the means."""
    with tempfile.TemporaryDirectory() as tmp:
        trees: list[tuple[str, Path | None]] = [
            (baseline, unpack_src(baseline, Path(tmp))),
            ("this checkout", None),
        ]
        print(f"{'round':<7}{'code':<16}{'seconds':>9}{'CPU s':>8}{'peak MB':>9}{'load 1m':>9}")
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in trees}
        for turn in range(rounds):
            for name, src in trees if turn % 2 == 0 else trees[::-1]:
                seconds, cpu, peak = timed_import(src, export)
                runs[name].append((seconds, cpu, peak))
                print(
                    f"{turn:<7}{name:<16}{seconds:>9.2f}{cpu:>8.2f}{peak:>9.0f}"
                    f"{os.getloadavg()[0]:>9.1f}",
                    flush=True,
                )
                time.sleep(1)
    old, new = runs[baseline], runs["this checkout"]
    for index, label in enumerate(("seconds", "CPU seconds", "peak MB")):
        mean_old = sum(r[index] for r in old) / len(old)
        mean_new = sum(r[index] for r in new) / len(new)
        print(f"{label}: {mean_old:.2f} -> {mean_new:.2f} (new/old {mean_new / mean_old:.2f})")


def export_of(messages: int, seed: int) -> Path:
    target = simulate("whatsapp", messages, seed, "--format", "whatsapp")
    return next(p for p in target.iterdir() if p.suffix == ".txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=["shequn", "all"], default="all")
    parser.add_argument("--baseline", metavar="REV", help="shequn also with commit REV's code")
    parser.add_argument("--rounds", type=int, default=2, help="turns of each with --baseline")
    args = parser.parse_args()

    export = export_of(args.messages, args.seed)
    if args.baseline:
        side_by_side(export, args.baseline, args.rounds)
        return
    size = export.stat().st_size / 1e6
    print(
        f"export: {export.name} ({args.messages:,} messages, {size:.0f} MB), "
        f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}"
    )
    results: dict[str, dict[str, float]] = {}

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "bench.duckdb"
        results["shequn"] = run_script(SHEQUN_SCRIPT, str(export), str(store))
        if args.only == "all":
            again = Path(tmp) / "floor.duckdb"
            results["store only"] = run_script(STORE_ONLY_SCRIPT, str(store), str(again))

    if args.only == "all":
        for peer, script in PEER_SCRIPTS.items():
            results[peer] = run_script(script, str(export))

    print_table(results, "tool", 12)
    ours = results["shequn"]
    for peer in (p for p in results if p not in ("shequn", "store only")):
        theirs = results[peer]
        speed = rate(ours) / rate(theirs)
        memory = ours["peak_mb"] / theirs["peak_mb"]
        print(f"shequn vs {peer}: {speed:.1f}x the throughput, {memory:.2f}x the peak memory")
    if "store only" in results and "whatstk" in results:
        floor, whatstk = results["store only"], results["whatstk"]
        bound = rate(floor) / rate(whatstk)
        print(
            f"storing alone (no parsing at all) runs at {bound:.1f}x whatstk's throughput: "
            "no parser that stores into the embedded store can exceed that"
        )
    if args.only == "shequn":
        print(f"peak memory {'under' if ours['peak_mb'] < 2048 else 'OVER'} 2 GB")


if __name__ == "__main__":
    main()
