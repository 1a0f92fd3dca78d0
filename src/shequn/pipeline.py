"""Overlapping the stages of a long job (read, parse, store) on separate threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Empty, Queue
from typing import Final, TypeVar

T = TypeVar("T")

_DONE: Final = object()


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Produce the next items in a thread while the caller works on the current one.

    Reading, parsing and storing all run in native code that releases the GIL, so the
    stages overlap on separate cores; ``depth`` bounds how many items wait in memory.
    An exception in the producer is raised in the caller.
    """
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put(item)
                # not kept while the next item is made: the consumer may be done with it
                del item
        except BaseException as exc:  # handed to the consumer, re-raised there
            queue.put(exc)
            return
        queue.put(_DONE)

    worker = threading.Thread(target=produce, name="shequn-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
            del item  # nor here while waiting for the next one
    finally:
        stop.set()
        while worker.is_alive():
            try:
                queue.get_nowait()
            except Empty:
                worker.join(timeout=0.05)
