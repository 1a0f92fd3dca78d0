"""Scoring's ``award_points`` action, written when first read (:class:`PointsAward`).

Its own module, never compiled (docs/decisions/0005-compiled-engines.md): its
``explanation`` and ``details`` are properties over the base class's fields, which
mypyc's native classes do not allow; a plain Python class keeps them. :class:`Action`
is one too (engines/action.py), so compiled code reads its fields by name and finds
these.
"""

from __future__ import annotations

from typing import Any

from shequn.engines.action import Action


class PointsAward(Action):
    """An ``award_points`` action whose explanation and details are written the first
    time they are read (when the runner keeps or feeds it back, or someone prints it).

    A replay makes an award for most messages, and a run whose cursor is at the end keeps
    none of them: formatting each one's explanation and details was a fifth of scoring's
    time per message. What the words need is kept as a tuple instead; the words and the
    details are exactly those an eager :class:`Action` would carry.
    """

    __slots__ = ("_details", "_facts", "_why")
    _why: str | None
    _details: dict[str, Any] | None

    def __init__(
        self,
        group: str,
        member: str,
        ts: int,
        action: str,
        cause: str,
        facts: tuple[int, int, int, int, int | None, str, str, str],
    ) -> None:
        # set per award, not as class attributes: those would hide the base class's
        # slots of the same names, and copy and pickle restore slots by setting them
        self.kind = "award_points"
        self.engine = "scoring"
        self.group = group
        self.member = member
        self.ts = ts
        self.rule = action
        self.cause = cause
        #: points, total, balance, today's total, daily cap, why, group name, rule text
        self._facts = facts
        # written when first read: None until then (an unset slot read raised an
        # AttributeError to find out, ten times the cost of these two stores)
        self._why = None
        self._details = None

    @property
    def explanation(self) -> str:
        why = self._why
        if why is None:
            points, total, _, today, cap, reason, where, rule_text = self._facts
            so_far = f"today {today} of {cap}, " if cap is not None else ""
            why = (
                f"{self.member} earned {'1 point' if points == 1 else f'{points} points'} in "
                f"{where} for {reason} {rule_text}; {so_far}{total} in all."
            )
            self._why = why
        return why

    @explanation.setter
    def explanation(self, value: str) -> None:
        self._why = value

    @property
    def details(self) -> dict[str, Any]:
        details = self._details
        if details is None:
            points, total, balance, today, cap = self._facts[:5]
            details = {
                "points": points,
                "action": self.rule,
                "total": total,
                "balance": balance,
                "today": today,
                "daily_cap": cap,
            }
            self._details = details
        return details

    @details.setter
    def details(self, value: dict[str, Any]) -> None:
        self._details = value

    def __eq__(self, other: object) -> bool:
        """Equal to any :class:`Action` with the same fields (an eager twin included)."""
        if not isinstance(other, Action):
            return NotImplemented
        return _fields(self) == _fields(other)


def _fields(action: Action) -> tuple[Any, ...]:
    return (
        action.kind,
        action.group,
        action.member,
        action.ts,
        action.engine,
        action.explanation,
        action.rule,
        action.cause,
        action.details,
    )
