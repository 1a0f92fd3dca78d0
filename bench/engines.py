"""Benchmark: replaying 1,000,000 events through the engines (issue: ≥ 100,000 events/s).

Synthesises a community's log (seeded): 20 groups, 20,000 members, a year of events —
messages (plain, questions, replies, links, banned words, floods, repeats, forwards,
check-in keywords), reactions, join requests with answers, joins and leaves — stores it
in a temporary DuckDB store through the import path, then replays it with a playbook of
20 rules, points, levels, badges, leaderboards and check-ins, as ``shequn run`` does.

Printed: the seconds of each part (reading the store, converting Arrow rows to
EngineEvents, the runner), events per second on one core for the replay (conversion +
runner) as ``shequn run`` does it with its cursor at the end (every action made, none
kept) and for the runner alone, then the same replay keeping the last 30 days' actions
(``shequn replay --since 30d``: those keyed and turned into JSON) and keeping every
action (a first ``shequn run`` over the whole log), and per engine (an instrumented
run: each engine's own step time over the events, ticks and fed-back actions it is
given).

    python bench/engines.py                       # 1M events
    python bench/engines.py --events 200000 --no-per-engine --no-keep-all

Old code against new, side by side (the only comparison that means something on a
shared machine): ``--base SRC`` stores the log once, then replays it (as ``shequn run``,
conversion + runner) with the code under ``SRC`` and with this tree in turn, each in a
fresh process, ``--rounds`` times, and prints every round's CPU and wall seconds, the
load, and the ratio of the best CPU times:

    git archive main src | tar -x -C /tmp/base-engines
    python bench/engines.py --base /tmp/base-engines/src --rounds 3

The log's texts come from a pool of 25 (plain messages, rule hits, check-in keywords):
the engines cache nothing per text, so this makes no part cheaper than real chat text.
One core only: see docs/engines/runner.md on why the runner does not shard by group.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from shequn.engines.base import Action, Engine, EngineEvent
from shequn.engines.registry import load_engines
from shequn.engines.runner import Runner, engine_events, read_log
from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION
from shequn.playbook import parse_playbook, starting_playbook
from shequn.store import ImportSpec, open_store

HERE = Path(__file__).resolve().parent

T0 = 1_700_000_000
COMMUNITY = "bench"
PLATFORM = "telegram"

PLAIN = [
    "good morning everyone",
    "has anyone tried the new firmware on the printer",
    "I finished the shelf, photos later",
    "thanks, that helped a lot",
    "who is coming on saturday?",
    "what glue do you use for PLA?",
    "the meetup is at 7pm in the usual place",
    "我今天把电路板焊好了",
    "有人知道哪里买铝型材吗？",
    "谢谢大家的帮助",
    "ok",
    "lol",
    "nice work!",
    "I would recommend a 0.4 mm nozzle for that",
    "does the laser cutter take 6 mm plywood?",
    "see you there",
]
RULE_HITS = [
    "cheap followers at https://bit.ly/abc123",
    "加微信 领取 免费 资料",
    "free crypto giveaway, dm me",
    "whatsapp +8613800000000 for 代购",
    "check out https://example.com/my-shop now",
    "刷单 兼职 日结",
]
CHECK_INS = ["签到", "/checkin", "check in"]

EXTRA_RULES = """
[[rules]]
id = "links-{n}"
kind = "links"
banned_domains = ["spam{n}.example", "bad{n}.test"]
min_member_days = 1
penalty = [{{ at = 1, action = "warn" }}, {{ at = 3, action = "mute", duration = "1h" }}]

[[rules]]
id = "words-{n}"
kind = "banned_words"
words = ["banned{n}", "违禁{n}", "scam{n}"]
patterns = ["(?i)buy\\\\s+now\\\\s+{n}"]
penalty = [
  {{ at = 1, action = "warn" }},
  {{ at = 2, action = "mute", duration = "10m" }},
  {{ at = 5, action = "remove" }},
]

[[rules]]
id = "forwards-{n}"
kind = "forwarded_promotion"
keywords = ["discount{n}", "优惠{n}"]
penalty = [{{ at = 1, action = "notice" }}, {{ at = 2, action = "warn" }}]

[[rules]]
id = "flood-{n}"
kind = "flood"
messages = {flood}
within = "1m"
penalty = [{{ at = 1, action = "mute", duration = "5m" }}]
"""


def playbook_text(groups: int) -> str:
    """The starting playbook (4 rules) + 16 more = 20 rules, over ``groups`` groups."""
    text = starting_playbook(COMMUNITY, PLATFORM, "g0", "Asia/Shanghai")
    for g in range(1, groups):
        text += f'\n[[groups]]\nplatform = "{PLATFORM}"\nid = "g{g}"\ncap = 500\n'
        text += f'timezone = "{"Europe/Berlin" if g % 2 else "Asia/Shanghai"}"\n'
    for n in range(4):
        text += EXTRA_RULES.format(n=n, flood=10 + n)
    text += '\n[[badges]]\nid = "chatty"\nname = "Chatty"\ncondition = "messages"\nat = 100\n'
    text += '\n[[badges]]\nid = "first"\nname = "First words"\ncondition = "first_message"\n'
    return text


def synthesize(events: int, groups: int, members: int, days: int, seed: int) -> pa.Table:
    """A seeded log in EVENT_SCHEMA, in time order."""
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.integers(0, days * 86_400, events)) + T0
    group = rng.integers(0, groups, events)
    per_group = members // groups
    # a few talk a lot (Zipf-like), most rarely
    member = group * per_group + np.minimum(rng.zipf(1.6, events) - 1, per_group - 1)
    roll = rng.random(events)
    kinds = np.full(events, "message_posted", dtype=object)
    kinds[roll < 0.08] = "reaction_added"
    kinds[(roll >= 0.08) & (roll < 0.095)] = "member_joined"
    kinds[(roll >= 0.095) & (roll < 0.10)] = "member_left"
    kinds[(roll >= 0.10) & (roll < 0.11)] = "join_requested"
    texts = np.array(PLAIN, dtype=object)[rng.integers(0, len(PLAIN), events)]
    pick = rng.random(events)
    hits = np.array(RULE_HITS, dtype=object)[rng.integers(0, len(RULE_HITS), events)]
    texts = np.where(pick < 0.01, hits, texts)
    checks = np.array(CHECK_INS, dtype=object)[rng.integers(0, len(CHECK_INS), events)]
    texts = np.where((pick >= 0.01) & (pick < 0.04), checks, texts)
    is_message = kinds == "message_posted"
    texts = np.where(is_message, texts, None)
    ids = np.array([f"m{i}" for i in range(events)], dtype=object)
    back = np.maximum(np.arange(events) - rng.integers(1, 200, events), 0)
    replies = np.where(is_message & (rng.random(events) < 0.15), ids[back], None)
    replies = np.where(kinds == "reaction_added", ids[back], replies)
    forwards = np.where(is_message & (rng.random(events) < 0.01), "channel:deals", None)
    join_method = np.where(kinds == "member_joined", "invite_link", None)
    member_ids = np.array([f"u{m}" for m in member], dtype=object)
    inviter = np.where(
        (kinds == "member_joined") & (rng.random(events) < 0.5), member_ids[back], None
    )
    columns: dict[str, Any] = {
        "key": [f"{seed}-{i:08d}" for i in range(events)],
        "schema_version": np.full(events, SCHEMA_VERSION, dtype=np.int16),
        "kind": kinds.tolist(),
        "platform": [PLATFORM] * events,
        "community": [COMMUNITY] * events,
        "group_id": [f"g{g}" for g in group],
        "ts": pa.array(ts * 1_000_000, pa.int64()).cast(pa.timestamp("us")),
        "platform_id": ids.tolist(),
        "member_id": member_ids.tolist(),
        "by_member_id": inviter.tolist(),
        "text": texts.tolist(),
        "reply_to": replies.tolist(),
        "forwarded_from": forwards.tolist(),
        "is_bot": np.zeros(events, dtype=bool),
        "join_method": join_method.tolist(),
        "import_id": np.ones(events, dtype=np.int64),
        "source_line": np.arange(1, events + 1, dtype=np.int64),
    }
    arrays = [
        pa.array(columns[f.name], f.type) if f.name in columns else pa.nulls(events, f.type)
        for f in EVENT_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


#: the engine core's modules (shequn.compiled.MODULES; listed here too, so that a tree
#: from before the compiled core can be measured)
ENGINE_MODULES = [
    "base",
    "dedup",
    "rules",
    "trust",
    "moderation",
    "screening",
    "metabolism",
    "checkins",
    "scoring",
    "runner",
]


def engines_running() -> str:
    """Whether the engine modules imported from ``sys.path`` run compiled (mypyc
    extensions) or as Python source, with where the runner and scoring came from."""
    files = {}
    for name in ENGINE_MODULES:
        module = importlib.import_module(f"shequn.engines.{name}")
        files[name] = getattr(module, "__file__", None) or "?"
    on = [n for n, f in files.items() if f.endswith(tuple(EXTENSION_SUFFIXES))]
    kind = "compiled (mypyc)" if len(on) == len(files) else "pure Python" if not on else "MIXED"
    shown = ", ".join(Path(files[n]).name for n in ("runner", "scoring"))
    return f"engines: {kind} — {shown} in {Path(files['runner']).parent.parent.parent}"


class Timed:
    """An engine whose step and next_deadline time is summed (the per-engine figures)."""

    name: ClassVar[str] = "timed"

    def __init__(self, engine: Engine[Any]) -> None:
        self.engine = engine
        self.label = engine.name
        self.seconds = 0.0
        self.steps = 0
        # routed as the engine itself is (the runner reads these with getattr)
        self.kinds = getattr(engine, "kinds", None)
        self.keeps_due = getattr(engine, "keeps_due", False)
        reads = getattr(engine, "reads_feedback", None)
        if reads is not None:
            self.reads_feedback = reads

    def start(self) -> Any:
        return self.engine.start()

    def next_deadline(self, state: Any) -> int | None:
        begin = time.perf_counter()
        due = self.engine.next_deadline(state)
        self.seconds += time.perf_counter() - begin
        return due

    def step(self, state: Any, event: EngineEvent) -> tuple[Any, list[Action]]:
        begin = time.perf_counter()
        result = self.engine.step(state, event)
        self.seconds += time.perf_counter() - begin
        self.steps += 1
        return result


def replay(
    table: pa.Table,
    links: dict[str, str],
    engines: list[Any],
    keep: bool = False,
    keep_days: int = 0,
) -> tuple[Runner, float, float]:
    """The replay as ``shequn run`` does it: (runner, wall seconds, CPU seconds).

    ``keep``: every action is kept (a first run); else those of the last ``keep_days``
    (``shequn replay --since 30d`` keeps the window's); 0: none, the cursor at the log's
    last event, as ``shequn run`` sets it (run_community's ``before``).
    """
    cursor = int(table.column("ts")[-1].value) - keep_days * 86_400 * 1_000_000
    runner = Runner(COMMUNITY, engines, keep_from_us=None if keep else cursor)
    begin, cpu = time.perf_counter(), time.process_time()
    events: Iterator[tuple[EngineEvent, int]] = engine_events(table, links)
    runner.feed_all(events)
    last = int(table.column("ts")[-1].value) // 1_000_000
    runner.finish(last)
    return runner, time.perf_counter() - begin, time.process_time() - cpu


def _replay_file(path: Path, playbook: str) -> None:
    """One side of ``--base``: replay the stored log in ``path`` with the code on
    ``sys.path``; print the CPU and wall seconds and the counts as JSON."""
    import shequn

    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    book = parse_playbook(playbook, "bench playbook")
    runner, wall_s, cpu_s = replay(table, {}, load_engines(book)[0])
    c = runner.counts
    counts = {"events": c.events, "ticks": c.ticks, "actions": c.actions, "fed": c.feedback}
    out = {"cpu": cpu_s, "wall": wall_s, "counts": counts, "src": shequn.__file__}
    print(json.dumps({**out, "engines": engines_running()}))


def side_by_side(log: pa.Table, playbook: str, base: str, rounds: int) -> None:
    """Replay ``log`` with the old tree and this one alternately, each in its own process."""
    new = str(HERE.parent / "src")
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, log.schema) as writer:
            writer.write_table(log)
        (Path(tmp) / "playbook.toml").write_text(playbook, encoding="utf-8")
        for r in range(1, rounds + 1):
            for label, src in (("old", base), ("new", new)):
                load = os.getloadavg()[0]
                cmd = [sys.executable, __file__, "--replay-file", str(path)]
                cmd += ["--playbook-file", str(Path(tmp) / "playbook.toml")]
                env = dict(os.environ, PYTHONPATH=src)
                done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
                out = json.loads(done.stdout.strip().splitlines()[-1])
                best[label] = min(best.get(label, out["cpu"]), out["cpu"])
                n = log.num_rows
                print(
                    f"round {r} {label}: {out['cpu']:.2f} s CPU ({out['wall']:.2f} s wall, load "
                    f"{load:.1f}) — {n / out['cpu']:,.0f} events/s on one core; {out['counts']}"
                )
                print(f"  {out['engines']}")
    n = log.num_rows
    print(
        f"best of {rounds}: old {n / best['old']:,.0f} events/s, new {n / best['new']:,.0f} "
        f"events/s — new/old {best['old'] / best['new']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-per-engine", action="store_true", help="Skip the timed run.")
    parser.add_argument(
        "--no-keep-all", action="store_true", help="Skip the replay that keeps every action."
    )
    parser.add_argument("--base", help="the old code's src: replay old and new side by side")
    parser.add_argument("--rounds", type=int, default=3, help="with --base: old/new pairs")
    parser.add_argument("--replay-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--playbook-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay_file is not None:
        _replay_file(args.replay_file, args.playbook_file.read_text(encoding="utf-8"))
        return

    book = parse_playbook(playbook_text(args.groups), "bench playbook")
    if not args.base:
        print(engines_running())
    print(
        f"playbook: {len(book.rules)} rules, {len(book.points.actions)} point actions, "
        f"{len(book.levels)} levels, {len(book.badges)} badges, check-ins "
        f"{'on' if book.checkins.enabled else 'off'}, {len(book.groups)} groups"
    )
    begin = time.perf_counter()
    table = synthesize(args.events, args.groups, args.members, args.days, args.seed)
    print(f"synthesised {table.num_rows:,} events in {time.perf_counter() - begin:.1f} s")
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "bench.duckdb") as store:
        record = store.begin_import(
            ImportSpec(COMMUNITY, PLATFORM, "g0", "bench", f"bench-{args.seed}-{args.events}")
        )
        for start in range(0, table.num_rows, 100_000):
            chunk = table.slice(start, 100_000)
            store.write_batch(record.import_id, chunk, [], start + chunk.num_rows, chunk.num_rows)
        store.finish_import(record.import_id, "complete")
        begin = time.perf_counter()
        log = read_log(store, COMMUNITY)
        read_s = time.perf_counter() - begin
    n = log.table.num_rows
    if args.base:
        assert not log.links  # the side-by-side replay passes no member links
        side_by_side(log.table, playbook_text(args.groups), args.base, args.rounds)
        return
    begin = time.process_time()
    for _ in engine_events(log.table, log.links):
        pass
    convert_s = time.process_time() - begin
    engines, notes = load_engines(book)
    for note in notes:
        print(f"note: {note}")
    runner, wall_s, replay_s = replay(log.table, log.links, engines)
    c = runner.counts
    print("times are CPU seconds of this process (one core), unless said otherwise")
    print(f"read from the store: {read_s:.2f} s wall ({n / read_s:,.0f} events/s)")
    print(f"Arrow rows → EngineEvents: {convert_s:.2f} s ({n / convert_s:,.0f} events/s)")
    print(
        f"replay (conversion + runner + {len(engines)} engines): {replay_s:.2f} s "
        f"({wall_s:.2f} s wall) — {n / replay_s:,.0f} events/s on one core; "
        f"without the conversion {n / max(replay_s - convert_s, 1e-9):,.0f} events/s"
    )
    print(
        f"  {c.events:,} events, {c.ticks:,} ticks, {c.actions:,} actions "
        f"({c.feedback:,} fed back to an engine that reads them or had a deadline due)"
    )
    if not args.no_keep_all:
        kept, _, keep_s = replay(log.table, log.links, load_engines(book)[0], keep_days=30)
        print(
            f"replay keeping the last 30 days' actions, as shequn replay --since 30d "
            f"({len(kept.taken):,} keyed, as JSON): {keep_s:.2f} s "
            f"— {n / keep_s:,.0f} events/s on one core"
        )
        kept, _, keep_s = replay(log.table, log.links, load_engines(book)[0], keep=True)
        print(
            f"replay keeping every action ({len(kept.taken):,} keyed, as JSON): {keep_s:.2f} s "
            f"— {n / keep_s:,.0f} events/s on one core"
        )
    if not args.no_per_engine:
        # each engine's share of an instrumented run (wall clock around every call),
        # applied to the clean run's CPU time: the engine's own events per second
        timed = [Timed(engine) for engine in load_engines(book)[0]]
        _, timed_wall, _ = replay(log.table, log.links, timed)  # type: ignore[arg-type]
        print(f"per engine (share of an instrumented run of {timed_wall:.1f} s wall):")
        for t in timed:
            share = t.seconds / timed_wall
            print(
                f"  {t.label:<11} {share:6.1%}  ≈ {n / (share * replay_s):>10,.0f} events/s "
                f"({t.steps:,} steps: events, ticks and fed-back actions)"
            )
        rest = 1 - sum(t.seconds for t in timed) / timed_wall
        print(f"  {'the rest':<11} {rest:6.1%}  (conversion, runner, ticks, keys)")
    target = 100_000
    verdict = "met" if n / replay_s >= target else "NOT met"
    print(f"target ≥ {target:,} events/s on one core: {verdict}")


if __name__ == "__main__":
    main()
