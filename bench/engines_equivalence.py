"""Check that a speed-up of the engines changed nothing: old and new code, action by action.

Replays the same synthesised logs through the engines of two source trees (each in its
own process, ``PYTHONPATH`` pointing at it) keeping every action, and compares

- every action, in order: when it was caused, its key, kind, group, member, time,
  engine, rule, cause, explanation and ``extra`` (the details as recorded);
- the runner's counts (events, ticks, actions, fed-back actions);
- each engine's ``snapshot`` and a dump of its whole end state (every attribute of
  every object reachable from it, sets sorted; the calendars' caches and the seen-key
  sets the engines kept before the runner took duplicates over are left out).

Cases: ``bench`` (the benchmark's playbook and log), ``cap150`` (the same with caps of
150, so metabolism removes members) and ``variant`` (captcha, held messages, queued
time-outs, metabolism without warning, nickname and forward rules, renames, edits,
rosters, check-in events, the team's own actions, join decisions, redemptions,
images and mentions, linked members, and 1 % of the events delivered twice).

    git archive main src | tar -x -C /tmp/base-engines
    python bench/engines_equivalence.py --base /tmp/base-engines/src      # 60,000 events
    python bench/engines_equivalence.py --base /tmp/base-engines/src --events 20000 --case variant

Exit status 1 if anything differs; the first differences are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CASES = ("bench", "cap150", "variant")

VARIANT_RULES = """
[[rules]]
id = "nick"
kind = "nickname"
pattern = "\\\\|"
description = "Name | City"
penalty = [{ at = 1, action = "notice" }, { at = 2, action = "remove" }]

[[rules]]
id = "no-forwards"
kind = "forwarded_promotion"
penalty = [{ at = 1, action = "warn" }, { at = 3, action = "mute", duration = "2h" }]

[[rewards]]
id = "mug"
name = "Mug"
cost = 30

[[team.members]]
member = "telegram:mod-1"
role = "moderator"
"""


def _playbook(case: str, groups: int) -> str:
    from engines import playbook_text  # bench/engines.py

    text = playbook_text(groups)
    if case == "bench":
        return text
    text = text.replace("cap = 500", "cap = 150")
    if case == "cap150":
        return text
    text = text.replace("captcha = false", "captcha = true")
    text = text.replace('before_passing = "delete"', 'before_passing = "hold"')
    text = text.replace('on_timeout = "reject"', 'on_timeout = "queue"')
    text = text.replace("notify_first = true", "notify_first = false")
    text = text.replace("protected = []", 'protected = ["telegram:u3", "telegram:u1001"]')
    text = text.replace("stock = 50", "stock = 3")
    return text + VARIANT_RULES


def _variant_table(table: Any, seed: int) -> Any:
    """The bench's log with other kinds of events mixed in (seeded)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed + 7)
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    n = table.num_rows
    kinds, texts, extra = cols["kind"], cols["text"], cols["extra"]
    by, names = cols["by_member_id"], cols["member_name"]
    attach, mentions, join = cols["attachment_kind"], cols["mentions"], cols["join_method"]
    roll = rng.random(n)
    pick = rng.integers(0, 1_000_000, n)
    team_actions = ("warn", "mute", "remove", "award_points", "deduct_points", "redeem", "notice")
    for i in range(n):
        r = roll[i]
        k = kinds[i]
        if k == "message_posted":
            if r < 0.02:
                kinds[i] = "message_edited"
            elif r < 0.03:
                texts[i] = "/redeem sticker-pack" if pick[i] % 3 else "/redeem mug"
            elif r < 0.035:
                texts[i] = "/redeem nothing-like-this"
            elif r < 0.04:
                texts[i] = f"{pick[i] % 9000 + 1000}"  # a captcha code, mostly wrong
            elif r < 0.05:
                attach[i] = "image"
            elif r < 0.06:
                mentions[i] = [f"u{pick[i] % 500}"]
            elif r < 0.065:
                texts[i] = "I want to build a robot arm this year"
            elif r < 0.07:
                kinds[i] = "check_in"
                texts[i] = None
            elif r < 0.075:
                kinds[i] = "action_taken"
                what = team_actions[pick[i] % len(team_actions)]
                details: dict[str, Any] = {}
                if what == "mute":
                    details = {"until": int(cols["ts"][i].timestamp()) + 3600}
                elif what in ("award_points", "deduct_points"):
                    details = {"points": int(pick[i] % 40) + 1}
                elif what == "redeem":
                    details = {"reward": "mug"}
                extra[i] = json.dumps({"action": what, "engine": "team", "details": details})
                texts[i] = f"the team's {what}"
                by[i] = "mod-1"
            elif r < 0.078:
                kinds[i] = "join_decided"
                extra[i] = json.dumps({"decision": "approve" if pick[i] % 2 else "reject"})
                texts[i] = None
                by[i] = "mod-1"
        elif k == "member_joined":
            names[i] = f"Member {pick[i] % 97} | Shanghai" if pick[i] % 4 else "spam account"
            if r < 0.3:
                kinds[i] = "member_renamed"
                texts[i] = "Renamed | Berlin" if pick[i] % 2 else "no city"
            elif r < 0.4:
                kinds[i] = "member_listed"
            elif r < 0.5:
                join[i] = "added"
                by[i] = f"u{pick[i] % 1000}"
        elif k == "join_requested":
            answer = "I want to build a robot arm" if pick[i] % 3 else "no"
            extra[i] = json.dumps({"answers": [answer]})
    cols["member_name"] = names
    # redeliveries: 1 % of the events again (same key and fields), right after the
    # original or up to 50 events later but within a day (a webhook retried): inside
    # every engine's old dedup horizon (2 days), where the runner's (3 days) agrees
    order: list[int] = []
    later: dict[int, list[int]] = {}
    stamps = cols["ts"]
    for i in range(n):
        order.append(i)
        if roll[i] > 0.99:
            at = min(i + int(pick[i] % 51), n - 1)
            while at > i and (stamps[at] - stamps[i]).total_seconds() >= 86_400:
                at -= 1
            later.setdefault(at, []).append(i)
        order.extend(later.pop(i, []))
    cols = {name: [column[i] for i in order] for name, column in cols.items()}
    arrays = [pa.array(cols[f.name], f.type) for f in table.schema]
    return pa.Table.from_arrays(arrays, schema=table.schema)


def _canon(value: Any, seen: set[int]) -> Any:
    """A JSON-able picture of ``value``: objects by their attributes, sets sorted."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        items = [(repr(_canon(k, seen)), _canon(v, seen)) for k, v in value.items()]
        return {"dict": sorted(items, key=lambda kv: kv[0])}
    if isinstance(value, set | frozenset):
        return {"set": sorted(repr(_canon(v, seen)) for v in value)}
    if isinstance(value, list | tuple | deque):
        return [_canon(v, seen) for v in value]
    if id(value) in seen:
        return {"ref": type(value).__name__}
    seen.add(id(value))
    if type(value).__module__.startswith(("zoneinfo", "datetime")):
        return str(value)
    names: list[str] = []
    for cls in type(value).__mro__:
        names += [s for s in getattr(cls, "__slots__", ()) if s not in names]
        # a compiled (mypyc) class: no __slots__ nor __dict__, its attributes listed here
        attrs = getattr(cls, "__mypyc_attrs__", ())
        names += [s for s in attrs if not s.startswith("__") and s not in names]
    names += [k for k in getattr(value, "__dict__", {}) if k not in names]
    out = {"type": type(value).__name__}
    for name in sorted(names):
        if hasattr(value, name):
            out[name] = _canon(getattr(value, name), seen)
    if isinstance(getattr(value, "in_week", None), int):
        out.update(_period_points(value, seen))
    return out


def _period_points(value: Any, seen: set[int]) -> dict[str, Any]:
    """Scoring's ``PeriodPoints`` (session 8: the latest week and month as counters) as
    the one dict per period a tree from before holds."""
    weeks, months = dict(value.weeks), dict(value.months)
    if value.week >= 0:
        weeks[value.week] = value.in_week
    if value.month >= 0:
        months[value.month] = value.in_month
    return {"weeks": _canon(weeks, seen), "months": _canon(months, seen)}


#: the counters _period_points folds into the dicts
COUNTERS = ("week", "in_week", "month", "in_month")


#: attributes that cache what can be recomputed (their content depends on the order
#: of questions asked, not on the events): left out of the state comparison
CACHES = ("_day", "today", "_other")
#: the engines' own seen-key sets, which the runner's one set replaced (engcore, issue 6):
#: left out so that a tree from before that change compares with one after it
MOVED = ("seen", "recent")


#: attributes a later tree added that only repeat what the state holds (since eng2,
#: issue 6: each engine's next deadline kept on its state as ``due`` for the runner —
#: the earliest entry of its heap, checked by tests/engines/test_keeps_due.py), by the
#: state types that did not have them before: left out
ADDED = {"due": ("ModerationState", "ScreeningState", "MetabolismState", "CheckInState")}


def _drop_caches(value: Any) -> Any:
    if isinstance(value, dict):
        kind = value.get("type")
        return {
            k: _drop_caches(v)
            for k, v in value.items()
            if k not in CACHES + MOVED + COUNTERS and kind not in ADDED.get(k, ())
        }
    if isinstance(value, list | tuple):
        return [_drop_caches(v) for v in value]
    return value


def dump(case: str, events: int, seed: int, out: Path) -> None:
    """Replay one case with the code on ``sys.path``; write what it did to ``out``."""
    import shequn.engines.runner as runner_module
    from engines import COMMUNITY, synthesize  # bench/engines.py
    from shequn.engines.registry import load_engines
    from shequn.engines.runner import Runner, engine_events
    from shequn.playbook import parse_playbook

    book = parse_playbook(_playbook(case, 20), f"{case} playbook")
    table = synthesize(events, 20, 20_000, 365, seed)
    links: dict[str, str] = {}
    if case == "variant":
        table = _variant_table(table, seed)
        links = {f"telegram:u{m}": f"telegram:u{m + 1}" for m in range(5, 400, 37)}
    engines, _ = load_engines(book)
    runner = Runner(COMMUNITY, engines, keep_from_us=None)
    begin = time.process_time()
    runner.feed_all(engine_events(table, links))
    runner.finish(int(table.column("ts")[-1].value) // 1_000_000 + 14 * 86_400)
    seconds = time.process_time() - begin
    with out.open("w", encoding="utf-8") as f:
        c = runner.counts
        counts = {"events": c.events, "ticks": c.ticks, "actions": c.actions}
        counts["feedback"] = c.feedback
        f.write(json.dumps({"counts": counts, "seconds": seconds, "src": runner_module.__file__}))
        f.write("\n")
        for t in runner.taken:
            a = t.action
            row = [t.at_us, t.key, a.kind, a.group, a.member, a.ts, a.engine, a.rule]
            row += [a.cause, a.explanation, t.extra]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.write(json.dumps({"snapshots": runner.snapshots()}, sort_keys=True) + "\n")
        for engine, state in zip(runner.engines, runner.states, strict=True):
            picture = _drop_caches(_canon(state, set()))
            f.write(json.dumps({"state": engine.name, "value": picture}, sort_keys=True) + "\n")


def _run(src: str, case: str, events: int, seed: int, out: Path) -> None:
    env = dict(os.environ, PYTHONPATH=src)
    cmd = [sys.executable, __file__, "--dump", case, "--events", str(events)]
    cmd += ["--seed", str(seed), "--out", str(out)]
    subprocess.run(cmd, env=env, check=True)


def compare(base: str, new: str, cases: list[str], events: int, seed: int) -> bool:
    same = True
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            old_file, new_file = Path(tmp) / f"old-{case}", Path(tmp) / f"new-{case}"
            _run(base, case, events, seed, old_file)
            _run(new, case, events, seed, new_file)
            old_lines = old_file.read_text(encoding="utf-8").splitlines()
            new_lines = new_file.read_text(encoding="utf-8").splitlines()
            old_head, new_head = json.loads(old_lines[0]), json.loads(new_lines[0])
            print(
                f"{case}: {events:,} events, counts old {old_head['counts']} "
                f"new {new_head['counts']}; {old_head['seconds']:.1f} s → "
                f"{new_head['seconds']:.1f} s CPU (keeping every action)"
            )
            diffs = [
                (i, o, n)
                for i, (o, n) in enumerate(zip(old_lines[1:], new_lines[1:], strict=False), 1)
                if o != n
            ]
            if old_head["counts"] != new_head["counts"] or len(old_lines) != len(new_lines):
                print(f"  DIFFERENT: counts, or {len(old_lines)} vs {len(new_lines)} lines")
                same = False
            if diffs:
                same = False
                print(f"  DIFFERENT: {len(diffs)} lines, the first:")
                for i, o, n in diffs[:3]:
                    print(f"  line {i}\n    old {o[:600]}\n    new {n[:600]}")
            elif len(old_lines) == len(new_lines):
                print(f"  identical: {len(old_lines) - 1:,} actions, snapshots and end states")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", help="the old code's src directory")
    parser.add_argument("--new", default=str(HERE.parent / "src"), help="the new code's src")
    parser.add_argument("--case", choices=CASES, action="append", help="default: all")
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dump", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump(args.dump, args.events, args.seed, args.out)
        return
    if not args.base:
        parser.error("--base is required (the old code's src directory)")
    cases = args.case or list(CASES)
    sys.exit(0 if compare(args.base, args.new, cases, args.events, args.seed) else 1)


if __name__ == "__main__":
    main()
