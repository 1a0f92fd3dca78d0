"""What leaving unlisted groups alone changes: old code against new, action by action.

The ``bench`` and ``variant`` cases of ``engines_equivalence.py`` list every group of
their log. Here their playbooks drop groups g18 and g19 (the events stay in the log),
each tree replays them in its own process (``PYTHONPATH`` pointing at it), and the
actions are compared by key:

- actions only the old code made, per engine, kind and whether in an unlisted group;
- actions only the new code made, and actions (same key) whose content changed;
- for the weekly leaderboards that changed, that each group's own standings are equal
  and the group honour is the old one without the unlisted groups;
- for any other change, which fields of the details differ.

    git archive main src | tar -x -C /tmp/base-engines   (and build it: scripts/build-compiled)
    python bench/engines_unlisted.py --base /tmp/base-engines/src
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
UNLISTED = ("g18", "g19")
KEYS = {f"telegram/{g}" for g in UNLISTED}


def dump(case: str, events: int, out: Path) -> None:
    """Replay ``case`` without the unlisted groups in its playbook; write every action."""
    from engines import COMMUNITY, synthesize  # bench/engines.py
    from engines_equivalence import _playbook, _variant_table
    from shequn.engines.registry import load_engines
    from shequn.engines.runner import Runner, engine_events
    from shequn.playbook import parse_playbook

    text = _playbook(case, 20)
    for g in UNLISTED:
        block = rf'\n\[\[groups\]\]\nplatform = "telegram"\nid = "{g}"\n'
        block += r'cap = \d+\ntimezone = "[^"]+"\n'
        text, n = re.subn(block, "\n", text)
        assert n == 1, g
    book = parse_playbook(text, f"{case} without {', '.join(UNLISTED)}")
    table = synthesize(events, 20, 20_000, 365, 1)
    links: dict[str, str] = {}
    if case == "variant":
        table = _variant_table(table, 1)
        links = {f"telegram:u{m}": f"telegram:u{m + 1}" for m in range(5, 400, 37)}
    engines, _ = load_engines(book)
    runner = Runner(COMMUNITY, engines, keep_from_us=None)
    runner.feed_all(engine_events(table, links))
    runner.finish(int(table.column("ts")[-1].value) // 1_000_000 + 14 * 86_400)
    c = runner.counts
    with out.open("w", encoding="utf-8") as f:
        f.write(json.dumps([c.events, c.ticks, c.actions, c.feedback]) + "\n")
        for t in runner.taken:
            a = t.action
            row = [t.key, a.kind, a.group, a.member, a.engine, a.explanation, t.extra]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _load(path: Path) -> tuple[Any, dict[str, list[Any]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return json.loads(lines[0]), {row[0]: row for row in map(json.loads, lines[1:])}


def _where(row: list[Any]) -> str:
    return "unlisted" if row[2] in KEYS else "listed"


def compare(base: str, new: str, case: str, events: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for label, src in (("old", base), ("new", new)):
            files[label] = Path(tmp) / label
            cmd = [sys.executable, __file__, "--dump", case, "--events", str(events)]
            cmd += ["--out", str(files[label])]
            subprocess.run(cmd, env=dict(os.environ, PYTHONPATH=src), check=True)
        (old_counts, old), (new_counts, new_rows) = _load(files["old"]), _load(files["new"])
    print(f"{case}: events, ticks, actions, fed back: old {old_counts}, new {new_counts}")
    gone = Counter((r[4], r[1], _where(r)) for k, r in old.items() if k not in new_rows)
    added = Counter((r[4], r[1], _where(r)) for k, r in new_rows.items() if k not in old)
    print(f"  only old: {sorted(gone.items())}")
    print(f"  only new: {sorted(added.items())}")
    changed: Counter[tuple[str, ...]] = Counter()
    for key, o in old.items():
        n = new_rows.get(key)
        if n is None or n == o:
            continue
        before, after = json.loads(o[6])["details"], json.loads(n[6])["details"]
        if n[4] == "scoring" and n[1] == "post_message":
            assert before["standings"] == after["standings"], key
            honour = [g[1] for g in before["groups"] if g[1] not in KEYS]
            now = [g[1] for g in after["groups"]]
            assert now[: len(honour)] == honour[: len(now)] and not set(now) & KEYS, key
            changed[("scoring", "post_message", "group honour only")] += 1
            continue
        fields = ",".join(sorted(f for f in {*before, *after} if before.get(f) != after.get(f)))
        changed[(n[4], n[1], _where(n), fields)] += 1
    print(f"  changed: {sorted(changed.items())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", help="the old code's src directory")
    parser.add_argument("--new", default=str(HERE.parent / "src"), help="the new code's src")
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--dump", choices=("bench", "variant"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump(args.dump, args.events, args.out)
        return
    if not args.base:
        parser.error("--base is required (the old code's src directory)")
    for case in ("bench", "variant"):
        compare(args.base, args.new, case, args.events)


if __name__ == "__main__":
    main()
