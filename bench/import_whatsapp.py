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
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
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


def export_of(messages: int, seed: int) -> Path:
    target = simulate("whatsapp", messages, seed, "--format", "whatsapp")
    return next(p for p in target.iterdir() if p.suffix == ".txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=["shequn", "all"], default="all")
    args = parser.parse_args()

    export = export_of(args.messages, args.seed)
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
        floor, peer = results["store only"], results["whatstk"]
        bound = rate(floor) / rate(peer)
        print(
            f"storing alone (no parsing at all) runs at {bound:.1f}x whatstk's throughput: "
            "no parser that stores into the embedded store can exceed that"
        )
    if args.only == "shequn":
        print(f"peak memory {'under' if ours['peak_mb'] < 2048 else 'OVER'} 2 GB")


if __name__ == "__main__":
    main()
