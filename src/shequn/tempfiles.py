"""Temporary folders that do not outlive their process.

A report's DuckDB spill folder holds its scratch database (hundreds of MB at 10M
messages). ``atexit`` removes it at a normal exit; :func:`sigterm_exits` makes a
``kill`` (SIGTERM) a normal exit; and a folder a killed process (SIGKILL, a crash) left
behind is removed by the next process that makes one, as its name carries the pid.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

#: the exit status of a process ended by SIGTERM, as shells report it
SIGTERM_STATUS = 128 + signal.SIGTERM


def private_folder(prefix: str) -> Path:
    """A new folder ``<tmp>/<prefix><pid>-<random>``, removed when this process exits;
    first removes the folders of that prefix whose process is gone."""
    remove_orphans(prefix)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def remove_orphans(prefix: str) -> list[Path]:
    """Remove this user's ``<prefix><pid>-*`` folders whose pid runs no process."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid_text = folder.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or _running(int(pid_text)):
            continue
        try:
            if folder.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


@contextmanager
def sigterm_exits() -> Iterator[None]:
    """Within the block, SIGTERM raises SystemExit, so ``finally`` blocks and ``atexit``
    clean up as at a normal exit (the default action ends the process on the spot).

    A library running at that moment may swallow the SystemExit: DuckDB checks for
    signals while it works and turns the handler's exception into its own "query
    interrupted" error (which the CLI would report as a failure and exit 1), or into
    nothing. Either way the block ends in SystemExit(SIGTERM_STATUS) once a SIGTERM
    came."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def leave(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        raise SystemExit(SIGTERM_STATUS)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    except BaseException as exc:
        if received and not (isinstance(exc, SystemExit) and exc.code == SIGTERM_STATUS):
            raise SystemExit(SIGTERM_STATUS) from exc
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if received:
        raise SystemExit(SIGTERM_STATUS)
