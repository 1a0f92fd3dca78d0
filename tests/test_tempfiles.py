"""Temporary folders do not outlive their process: removed at exit, on SIGTERM, and — when
a process was killed outright — by the next process that makes one."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from shequn.tempfiles import SIGTERM_STATUS, sigterm_exits

#: a process that makes a private folder, says where, then waits to be killed
WAITER = """
import sys, time
from shequn.tempfiles import private_folder, sigterm_exits
folder = private_folder("shequn-test-")
with sigterm_exits():
    print(folder, flush=True)
    time.sleep(60)
"""


def start_waiter(tmp: Path) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen(
        [sys.executable, "-c", WAITER],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert process.stdout is not None
    folder = Path(process.stdout.readline().strip())
    process.stdout.close()  # it prints nothing more
    assert folder.is_dir() and folder.parent == tmp
    return process, folder


def test_sigterm_removes_the_folder(tmp_path: Path) -> None:
    process, folder = start_waiter(tmp_path)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == SIGTERM_STATUS
    assert not folder.exists()


def test_a_killed_process_folder_is_removed_by_the_next(tmp_path: Path) -> None:
    process, orphan = start_waiter(tmp_path)
    process.kill()  # SIGKILL: nothing of the process runs
    process.wait(timeout=30)
    assert orphan.exists()
    alive, kept = start_waiter(tmp_path)  # its private_folder sweeps the dead one's
    try:
        assert not orphan.exists()
        assert kept.exists()
        other_live = tmp_path / f"shequn-test-{os.getpid()}-abc"  # this process: alive
        other_live.mkdir()
        survivor, _ = start_waiter(tmp_path)
        survivor.kill()
        survivor.wait(timeout=30)
        assert other_live.exists() and kept.exists()  # live processes' folders stay
    finally:
        alive.kill()
        alive.wait(timeout=30)


def test_sigterm_during_a_duckdb_query_still_exits_as_sigterm() -> None:
    """DuckDB runs the signal handler while it works and raises its own "Query
    interrupted" instead of the handler's SystemExit: the block still ends in
    SystemExit(SIGTERM_STATUS), not in an error that exits 1."""
    con = duckdb.connect()
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    with pytest.raises(SystemExit) as exited, sigterm_exits():
        timer.start()
        try:  # minutes of work: only the signal ends it
            con.execute("SELECT sum(i * i) FROM range(20000000000) t(i)").fetchall()
        finally:
            timer.cancel()
    assert exited.value.code == SIGTERM_STATUS
    assert "interrupted" in str(exited.value.__cause__)


def test_sigterm_a_library_swallowed_still_ends_the_block() -> None:
    reached_end = False
    with pytest.raises(SystemExit) as exited, sigterm_exits():
        with contextlib.suppress(SystemExit):  # a library that catches everything
            os.kill(os.getpid(), signal.SIGTERM)
        reached_end = True
    assert reached_end and exited.value.code == SIGTERM_STATUS
