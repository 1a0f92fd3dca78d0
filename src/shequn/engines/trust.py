"""Trust levels (Discourse-like): probation for newcomers, earned, lost on penalties.

A member's level in a group is the highest playbook level whose ``min_days`` (days
present since joining, or since their last penalty) and ``min_messages`` (accepted
messages — posted with no rule firing and not deleted — since then) they meet. What a
level ``may`` do (links, images, mentions, forwards) is cumulative: a level may what
every level below it may. A capability no level names is not governed.

Members present before the log starts (their join was never seen) are grandfathered at
the highest level; a penalty (with ``lose_on_penalty``) drops anyone to the lowest
level and restarts the count. The moderation engine keeps the per-member numbers and
asks this policy what they mean.
"""

from __future__ import annotations

from typing import Final

from shequn.engines.rules import DAY
from shequn.playbook.model import Trust, TrustLevel

CAPABILITIES: Final = ("links", "images", "mentions", "forwards")
#: attachment kinds that count as images (``media``: the export hid which kind)
IMAGE_KINDS: Final = frozenset({"image", "video", "gif", "media"})

_WORDS: Final = {
    "links": "links",
    "images": "images",
    "mentions": "mentions",
    "forwards": "forwards",
}


class TrustPolicy:
    """The playbook's trust levels, precomputed for the hot path."""

    __slots__ = ("enabled", "gate", "levels", "lose_on_penalty", "lowest", "needed", "top")

    def __init__(self, trust: Trust) -> None:
        self.levels: tuple[TrustLevel, ...] = tuple(trust.levels)
        self.enabled = bool(self.levels)
        self.lose_on_penalty = trust.lose_on_penalty
        self.lowest = self.levels[0].level if self.levels else 0
        self.top = self.levels[-1].level if self.levels else 0
        #: capability → the lowest level that may use it (absent: not governed)
        self.needed: dict[str, TrustLevel] = {}
        for level in self.levels:
            for cap in level.may:
                self.needed.setdefault(cap, level)
        #: level → (seconds present, accepted messages) below which no higher level can
        #: be earned (the least any higher level asks): the hot path's test before
        #: :meth:`level_for`
        self.gate: dict[int, tuple[int, int]] = {}
        for level in self.levels:
            above = [up for up in self.levels if up.level > level.level]
            if above:
                days = min(up.min_days for up in above) * DAY
                self.gate[level.level] = (days, min(up.min_messages for up in above))

    def level_for(self, present: int, accepted: int) -> int:
        """The level earned after ``present`` seconds and ``accepted`` messages."""
        earned = self.lowest
        for level in self.levels:
            if present >= level.min_days * DAY and accepted >= level.min_messages:
                earned = level.level
        return earned

    def name(self, number: int) -> str:
        for level in self.levels:
            if level.level == number:
                return f"level {number} ({level.name})"
        return f"level {number}"

    def blocked(self, level: int, caps: list[str]) -> TrustLevel | None:
        """The level needed for the first of ``caps`` that ``level`` may not use."""
        for cap in caps:
            need = self.needed.get(cap)
            if need is not None and need.level > level:
                return need
        return None

    def why_blocked(
        self, cap: str, need: TrustLevel, level: int, present: int, accepted: int
    ) -> str:
        """The notice a newcomer reads when their message was deleted."""
        earn = []
        if need.min_days:
            earn.append(f"{need.min_days} days in the group")
        if need.min_messages:
            earn.append(f"{need.min_messages} accepted messages")
        how = " and ".join(earn) or "the team's approval"
        return (
            f"Your message was deleted: {_WORDS[cap]} are for members at trust "
            f"{self.name(need.level)} and up, reached after {how}; you are at "
            f"{self.name(level)} with {present // DAY} days in the group and {accepted} "
            "accepted messages (messages that broke no rule)."
        )
