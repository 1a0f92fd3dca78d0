"""Adapters carry actions out (DESIGN.md §4). For now there is one: the console.

An adapter is one method, ``carry_out(action)``, called once per *recorded* action,
after it was stored: it performs the action on the platform (a connector, later) or
shows it (the console). It raises :class:`~shequn.errors.ShequnError` when it cannot;
the action stays recorded, so nothing is silently dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, TextIO

from shequn.engines.base import Action


class Adapter(Protocol):
    """Carries actions out on a platform (or shows them)."""

    def carry_out(self, action: Action) -> None:
        """Perform (or show) one recorded action."""
        ...


def describe(action: Action, *, verb: str = "") -> str:
    """One line an operator reads: when, where, what, to whom, and why."""
    when = datetime.fromtimestamp(action.ts, UTC).strftime("%Y-%m-%d %H:%M")
    who = action.member or "-"
    rule = f" [{action.engine}/{action.rule}]" if action.rule else f" [{action.engine}]"
    return f"{verb}{when} {action.group} {action.kind} {who}{rule}: {action.explanation}"


class ConsoleAdapter:
    """Prints each action as one line (the only adapter until connectors exist)."""

    def __init__(self, stream: TextIO, *, verb: str = "") -> None:
        self.stream = stream
        self.verb = verb

    def carry_out(self, action: Action) -> None:
        self.stream.write(describe(action, verb=self.verb) + "\n")
