"""Measure sharding the replay by group across processes (issue 6): speed and what differs.

Not how ``shequn run`` works (one process, one runner: docs/engines/runner.md): this
asks what the whole machine would reach if each process replayed the events of its
own groups (group index modulo the number of shards), and which results would change.

Synthesises the benchmark's log (bench/engines.py, seeded), then

1. replays it whole in one process, keeping every action (the reference);
2. replays it in ``--shards`` processes started together, each keeping every action of
   its groups, and compares: actions matched by their record key, then the fields of
   the matched ones; the unmatched and differing ones are counted by engine and kind;
3. with ``--speed``, times the replay as ``shequn run`` does it (cursor at the end, no
   action kept): one process over the whole log, then the shards in parallel (wall
   seconds from the start of the first to the end of the last, and each one's CPU).

    python bench/engines_shard.py --events 200000 --days 73
    python bench/engines_shard.py --events 1000000 --speed --no-compare
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from engines import COMMUNITY, playbook_text, synthesize  # noqa: E402
from shequn.engines.registry import load_engines  # noqa: E402
from shequn.engines.runner import Runner, engine_events  # noqa: E402
from shequn.playbook import parse_playbook  # noqa: E402


def _replay(path: Path, shard: int, shards: int, keep: bool, out: Path | None) -> None:
    """One process: replay the groups of ``shard`` (all when ``shards`` is 1)."""
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    begin_wall, begin_cpu = time.perf_counter(), time.process_time()
    if shards > 1:
        index = pc.cast(pc.utf8_slice_codeunits(table.column("group_id"), 1), pa.int64())
        table = table.filter(pc.equal(pc.bit_wise_and(index, shards - 1), shard))
    engines = load_engines(parse_playbook(playbook_text(20), "bench playbook"))[0]
    cursor = int(table.column("ts")[-1].value)  # the last event's, as shequn run sets it
    runner = Runner(COMMUNITY, engines, keep_from_us=None if keep else cursor)
    runner.feed_all(engine_events(table, {}))
    runner.finish(int(table.column("ts")[-1].value) // 1_000_000)
    result: dict[str, Any] = {
        "events": table.num_rows,
        "cpu": time.process_time() - begin_cpu,
        "wall": time.perf_counter() - begin_wall,
        "actions": runner.counts.actions,
    }
    if out is not None:
        with out.open("w", encoding="utf-8") as f:
            for t in runner.taken:
                a = t.action
                row = [t.key, a.kind, a.engine, a.group, a.member, a.ts, a.cause, a.explanation]
                f.write(json.dumps([*row, t.extra], ensure_ascii=False) + "\n")
    print(json.dumps(result))


def _processes(path: Path, shards: int, keep: bool, tmp: Path) -> tuple[float, list[Any]]:
    """Run ``shards`` processes at once; (wall seconds of all, each one's result)."""
    begin = time.perf_counter()
    procs = []
    for shard in range(shards):
        cmd = [sys.executable, __file__, "--one", str(path), str(shard), str(shards)]
        if keep:
            cmd += ["--keep", str(tmp / f"shard-{shard}-of-{shards}.jsonl")]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=os.environ))
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return time.perf_counter() - begin, results


def _rows(path: Path) -> dict[str, list[Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {row[0]: row for row in map(json.loads, lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=73)
    parser.add_argument("--shards", type=int, default=2, help="a power of two")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--keep", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        path, shard, shards = args.one
        _replay(Path(path), int(shard), int(shards), args.keep is not None, args.keep)
        return
    table = synthesize(args.events, 20, 20_000, args.days, 1)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "log.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
        n = table.num_rows
        print(f"{n:,} events over {args.days} days, {args.shards} shards; load {os.getloadavg()}")
        if not args.no_compare:
            _processes(path, 1, True, tmp)
            _processes(path, args.shards, True, tmp)
            whole = _rows(tmp / "shard-0-of-1.jsonl")
            parts: dict[str, list[Any]] = {}
            for shard in range(args.shards):
                parts.update(_rows(tmp / f"shard-{shard}-of-{args.shards}.jsonl"))
            only_whole = Counter((r[2], r[1]) for k, r in whole.items() if k not in parts)
            only_parts = Counter((r[2], r[1]) for k, r in parts.items() if k not in whole)
            differ = Counter((r[2], r[1]) for k, r in whole.items() if k in parts and parts[k] != r)
            print(f"actions: one process {len(whole):,}, shards {len(parts):,}")
            print(f"  only in one process (engine, kind): {dict(only_whole)}")
            print(f"  only in the shards: {dict(only_parts)}")
            print(f"  same key, other fields: {dict(differ)}")
            for k, r in whole.items():
                if k in parts and parts[k] != r:
                    print(f"  e.g. one process {r}\n       shards      {parts[k]}")
                    break
        if args.speed:
            wall1, (one,) = _processes(path, 1, False, tmp)
            wall, results = _processes(path, args.shards, False, tmp)
            print(
                f"one process: {one['cpu']:.2f} s CPU, {wall1:.2f} s wall — "
                f"{n / one['cpu']:,.0f} events/s per core, {n / wall1:,.0f} events/s wall"
            )
            cpus = ", ".join(f"{r['cpu']:.2f}" for r in results)
            print(
                f"{args.shards} shards at once: {wall:.2f} s wall ({cpus} s CPU) — "
                f"{n / wall:,.0f} events/s for the machine; actions "
                f"{sum(r['actions'] for r in results):,} vs {one['actions']:,}"
            )


if __name__ == "__main__":
    main()
