"""Memory of the EM behind kols.ranking (inferred_draw.drawn_by_group) on an existing store.

Materialises ``conversation.links`` and the mentions first, then runs ``drawn_by_group``
alone with a thread sampling the process's RSS every 50 ms, and prints the peak of each
phase (the reads, the arrays, the candidate pairs, the EM rounds), the step's CPU seconds
and a sha256 of every group's drawn answers (equal digests: the same estimate, to compare
an old tree with a new one on ``PYTHONPATH``). At 10M messages this step held the report's
peak memory (bench/RESULTS.md).

python bench/em_memory.py STORE.duckdb [COMMUNITY]
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from shequn.analytics.context import Scope, build_context
from shequn.analytics.metrics import inferred_draw as em
from shequn.analytics.metrics.conversation import mention_rows, message_links
from shequn.analytics.source import duckdb_log

phase = ["before"]
peaks: dict[str, int] = {}


def rss_mb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def sample() -> None:
    while True:
        now, label = rss_mb(), phase[0]
        peaks[label] = max(peaks.get(label, 0), now)
        time.sleep(0.05)


def labelled(owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` so the samples taken while it runs carry ``label``."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outer = phase[0]
        phase[0] = label
        try:
            return original(*args, **kwargs)
        finally:
            phase[0] = f"{outer} (after {label})"

    setattr(owner, name, wrapper)


def main() -> None:
    log = duckdb_log(sys.argv[1])
    ctx = build_context(log, Scope(community=sys.argv[2] if len(sys.argv) > 2 else None))
    began = time.process_time()
    message_links(ctx)
    mention_rows(ctx)
    print(f"links and mentions: {time.process_time() - began:.1f} s CPU, rss {rss_mb()} MB")
    labelled(em, "_arrays", "arrays")
    labelled(em, "_per_group", "per group")
    labelled(em, "estimate", "estimate")
    labelled(em.CandidatePairs, "__init__", "candidate pairs")
    threading.Thread(target=sample, daemon=True).start()
    phase[0] = "reads"
    began = time.process_time()
    drawn = em.drawn_by_group(ctx)
    seconds = time.process_time() - began
    time.sleep(0.2)
    for label, peak in peaks.items():
        print(f"  {label:52} peak {peak:7,} MB")
    rows = {group: sorted(values.items()) for group, values in drawn.items()}
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    members = sum(len(values) for values in drawn.values())
    print(f"drawn_by_group: {seconds:.1f} s CPU, {members:,} members, digest {digest}")


if __name__ == "__main__":
    main()
