"""A report killed with SIGTERM leaves no spill folder (its scratch database can be
hundreds of MB)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import Hostile
from shequn.tempfiles import SIGTERM_STATUS


def test_a_report_killed_with_sigterm_leaves_no_spill_folder(
    tmp_path: Path, hostile: Hostile
) -> None:
    """``shequn report`` killed mid-run (SIGTERM) removes its spill folder and scratch file."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "shequn.cli", "--store", str(hostile.store), "report",
         "--out", str(tmp_path / "report.html")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    spill: list[Path] = []
    while not spill and process.poll() is None and time.monotonic() < deadline:
        spill = list(tmp_path.glob("shequn-duckdb-*"))
        time.sleep(0.02)
    assert spill, "the report never made its spill folder"
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=120)
    assert code in (SIGTERM_STATUS, 0)  # 0: it finished first, and cleaned up as usual
    assert not any(tmp_path.glob("shequn-duckdb-*"))
