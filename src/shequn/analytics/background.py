"""A derived metric computed in a forked process while the engine computes the others.

Why: on two cores the report leaves one idle for long stretches — igraph's Leiden and
PageRank run on one thread, and so does much of the SQL metrics' Python side — while
``graph.centrality`` needs nothing but ``conversation.edges``, known early in the run. A
forked child computes it from the edges it inherited (no copy: the pages are shared
until written) while this process goes on; the child hands back one Arrow table in an
unnamed file and leaves with ``os._exit``, touching none of the engine's connections or
threads. Where the child fails in any way (an exception, a signal, the OOM killer), the
metric is computed again here, so its error, if it has one, is raised where it would
have been without the child.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, Final

import pyarrow as pa
import pyarrow.ipc as ipc

#: prctl(2) option: the signal a process gets when its parent ends (linux/prctl.h)
PR_SET_PDEATHSIG: Final = 1


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether a child can run beside this process: ``fork`` exists and two CPUs are ours."""
    return hasattr(os, "fork") and usable_cpus() >= 2


def fork_child(work: Callable[[], None]) -> int:
    """A forked child that runs ``work`` and leaves with ``os._exit`` — 0 when ``work``
    returned, 1 when it raised — never returning into the caller's code; its pid.

    The child is killed when this process ends (:func:`_end_with`) and runs its OpenMP
    regions on one thread (:func:`_openmp_runtimes`). Raises ``OSError`` when the system
    refuses the fork (EAGAIN, ENOMEM).
    """
    prctl, parent, openmp = _prctl(), os.getpid(), _openmp_runtimes()
    with warnings.catch_warnings():
        # Python 3.12+ warns when a process with threads (DuckDB's, py4j's) forks: the
        # child runs NumPy, igraph and Arrow only, on memory it inherited, and leaves
        # with os._exit, so it takes none of those threads' locks
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        _end_with(parent, prctl)
        for runtime in openmp:
            runtime.omp_set_num_threads(1)
        work()
        status = 0
    finally:
        os._exit(status)


class Background:
    """``compute()`` started in a forked child by :meth:`start`; :meth:`result` waits for
    its table (or computes it here when the child did not deliver one)."""

    def __init__(self, compute: Callable[[], pa.Table]) -> None:
        self.compute = compute
        self.pid: int | None = None
        self.fd: int | None = None
        #: the child's CPU seconds (user + system) once it has been reaped
        self.child_seconds = 0.0
        #: whether the table came from the child (False: computed here)
        self.from_child = False

    def start(self) -> Background:
        """Fork the child; the output file is made before, so the child opens nothing.
        Where no child can be made (no room for a file or a process), :meth:`result`
        computes the table here."""
        try:
            fd, path = tempfile.mkstemp(prefix="shequn-background-")
        except OSError:
            return self
        os.unlink(path)
        try:
            self.pid = fork_child(partial(self._write, fd))
        except OSError:  # EAGAIN, ENOMEM
            os.close(fd)
            return self
        self.fd = fd
        return self

    def _write(self, fd: int) -> None:
        """In the child: the table, written to the file made before the fork."""
        table = self.compute()
        with os.fdopen(os.dup(fd), "wb") as out, ipc.new_file(out, table.schema) as writer:
            writer.write_table(table)

    def result(self) -> pa.Table:
        """The child's table once it has ended well, else ``compute()`` run here."""
        table = self._collect()
        if table is None:
            table = self.compute()
        return table

    def cancel(self) -> None:
        """End the child (if it runs) and close its file: when the run stops early."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()
        self._close()

    def _collect(self) -> pa.Table | None:
        if self.pid is None or self.fd is None:
            return None
        ended_well = self._reap()
        try:
            if not ended_well:
                return None
            os.lseek(self.fd, 0, os.SEEK_SET)  # the child's writes moved the shared offset
            with os.fdopen(os.dup(self.fd), "rb") as file:
                table = ipc.open_file(pa.py_buffer(file.read())).read_all()
            self.from_child = True
            return table
        finally:
            self._close()

    def _reap(self) -> bool:
        assert self.pid is not None
        pid, self.pid = self.pid, None
        _, status, usage = os.wait4(pid, 0)
        self.child_seconds = usage.ru_utime + usage.ru_stime
        return os.waitstatus_to_exitcode(status) == 0

    def _close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _end_with(parent: int, prctl: Callable[..., int] | None) -> None:
    """In a forked child: be killed when the process that forked it ends, however it ends.

    A report killed outright (SIGKILL, the OOM killer, SIGTERM where no handler turns it
    into an exit) runs no cleanup: its children would go on computing, minutes of CPU at
    100,000 members, for no one. On Linux the kernel sends SIGKILL to the child when its
    parent ends (``PR_SET_PDEATHSIG``); a parent gone before that was set is seen by its
    pid. ``prctl`` is looked up before the fork (:func:`_prctl`).
    """
    if prctl is None:
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


@contextlib.contextmanager
def openmp_threads(count: int) -> Iterator[None]:
    """GNU OpenMP regions (igraph's PageRank) run on ``count`` threads inside the block.

    PageRank's sums, split between threads, round differently for each number of them
    (≈ 1e-16 relative): on one thread a member's PageRank is the same in any process on
    any machine, and the ranks that order by it are too.
    """
    runtimes = _openmp_runtimes()
    before = [runtime.omp_get_max_threads() for runtime in runtimes]
    for runtime in runtimes:
        runtime.omp_set_num_threads(count)
    try:
        yield
    finally:
        for runtime, threads in zip(runtimes, before, strict=True):
            runtime.omp_set_num_threads(threads)


def _openmp_runtimes() -> list[Any]:
    """Each GNU OpenMP runtime loaded in this process (igraph's), as a ``ctypes`` library.

    Looked up before a fork too: a child must run its OpenMP regions on one thread, as
    the parent's OpenMP worker threads, once started, are not in the child (fork copies
    one thread) and a region of two threads there waits for them forever.
    """
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "libgomp" in line}
    except OSError:  # not Linux: no GNU OpenMP to mind
        return []
    import ctypes

    runtimes = []
    for path in sorted(paths):
        try:
            runtime = ctypes.CDLL(path)
            runtime.omp_set_num_threads, runtime.omp_get_max_threads  # noqa: B018
        except (OSError, AttributeError):
            continue
        runtimes.append(runtime)
    return runtimes


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` on Linux, else None (looked up before the fork: no ``dlopen`` in a
    child forked from threads)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl
