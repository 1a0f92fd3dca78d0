"""CPU seconds of a WhatsApp export's parse alone (no store), by phase.

Runs ``WhatsAppImporter.batches`` over one export in this process and prints the CPU
seconds of the whole parse and of its phases (system-line reader, mentions, occurrence
numbering), the number of system-line candidates, wall, peak RSS and the load:

    PYTHONPATH=<tree>/src python bench/whatsapp_parse_phases.py EXPORT.txt

Run it with the old and the new tree alternately to compare.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shequn
from shequn.importers.base import ImportSettings
from shequn.importers.whatsapp import WhatsAppImporter, system_events
from shequn.importers.whatsapp import parser as whatsapp_parser

PHASES: dict[str, float] = {}
CANDIDATES = [0]


def timed(cls: type, name: str, label: str) -> None:
    """Add the CPU seconds of every call of ``cls.name`` to ``PHASES[label]``."""
    inner: Callable[..., Any] = getattr(cls, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if label == "system.read":
            CANDIDATES[0] += args[1].num_rows
        start = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            PHASES[label] = PHASES.get(label, 0.0) + time.process_time() - start

    setattr(cls, name, wrapper)


def main() -> None:
    timed(system_events.SystemLineReader, "read", "system.read")
    timed(whatsapp_parser.ChunkParser, "parse", "parse")
    timed(whatsapp_parser.ChunkParser, "_resolve_mentions", "mentions")
    timed(whatsapp_parser.ChunkParser, "_number_occurrences", "occurrences")
    cpu, wall = time.process_time(), time.perf_counter()
    events = 0
    importer = WhatsAppImporter(Path(sys.argv[1]))
    for batch in importer.batches(ImportSettings(community="c", timezone="Asia/Shanghai")):
        events += batch.events.num_rows
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"{Path(shequn.__file__).parents[1]}: events {events:,}, candidates "
        f"{CANDIDATES[0]:,}, CPU {time.process_time() - cpu:.2f} s, wall "
        f"{time.perf_counter() - wall:.2f} s, peak {peak} MB, load {os.getloadavg()[0]:.1f}"
    )
    print("  " + ", ".join(f"{k} {v:.2f} s" for k, v in PHASES.items()))


if __name__ == "__main__":
    main()
