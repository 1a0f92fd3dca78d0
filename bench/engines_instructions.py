"""The replay's instruction count: a machine-independent figure for the engines' speed.

Runs the benchmark's replay (bench/engines.py: its log generator and playbook; the
conversion, the runner and the five engines, as ``shequn run`` does it with the cursor at
the log's last event) over a small log, to be counted under callgrind with collection on
inside ``Runner.feed_all`` only (setup, imports and the log's synthesis not counted):

    valgrind --tool=callgrind --toggle-collect='CPyDef_runner___Runner___feed_all' \\
        --callgrind-out-file=cg.out .venv/bin/python bench/engines_instructions.py
    callgrind_annotate --inclusive=yes cg.out | grep CPyDef_ | head -30

(compiled engines: the symbol is mypyc's; in pure Python collect with
``--toggle-collect='*feed_all*'``). Default: 20,000 events over 8 days, the 1M
benchmark's density. ``--keep`` keeps every action (a first run). The load of the
machine does not move the count, so two trees compare run against run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engines import COMMUNITY, playbook_text, synthesize
from shequn.engines.registry import load_engines
from shequn.engines.runner import Runner, engine_events
from shequn.playbook import parse_playbook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep every action")
    args = parser.parse_args()
    table = synthesize(args.events, 20, 20_000, args.days, 1)
    engines = load_engines(parse_playbook(playbook_text(20), "bench"))[0]
    cursor = int(table.column("ts")[-1].value)
    runner = Runner(COMMUNITY, engines, keep_from_us=None if args.keep else cursor)
    runner.feed_all(engine_events(table, {}))
    runner.finish(cursor // 1_000_000)
    print(runner.counts)


if __name__ == "__main__":
    main()
