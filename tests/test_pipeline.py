"""read_ahead: items flow in order, errors reach the caller, consumed items are let go."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Iterator

import pytest

from shequn.pipeline import read_ahead


class Item:
    """Something weakly referencable, like a batch."""

    def __init__(self, number: int) -> None:
        self.number = number


def test_items_come_in_order_and_errors_reach_the_caller() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("broken export")

    got: list[int] = []
    with pytest.raises(ValueError, match="broken export"):
        for item in read_ahead(failing()):
            got.append(item)
    assert got == [1, 2]


def test_a_consumed_item_is_not_held_while_the_next_one_is_made() -> None:
    """An import's peak counts every batch still referenced: the one the store finished
    must be free while the parser makes the next (the producer's loop variable and the
    consumer side's used to keep it alive)."""
    refs: list[weakref.ref[Item]] = []
    consumer_done = [threading.Event() for _ in range(4)]
    freed: list[bool] = []

    def items() -> Iterator[Item]:
        for number in range(4):
            if number:
                consumer_done[number - 1].wait(10)
                deadline = time.monotonic() + 5
                while refs[number - 1]() is not None and time.monotonic() < deadline:
                    gc.collect()
                    time.sleep(0.01)
                freed.append(refs[number - 1]() is None)
            item = Item(number)
            refs.append(weakref.ref(item))
            yield item
            del item

    for item in read_ahead(items(), depth=1):
        number = item.number
        del item
        consumer_done[number].set()
    assert freed == [True, True, True]
