"""The check-in engine (打卡): one check-in per member per day, streaks, bonuses, freezes.

A check-in is a ``check_in`` event (platforms with a native check-in) or a message
whose text is one of ``checkins.keywords`` (``签到``, ``check in``, ``/checkin``),
compared without case and surrounding spaces and optionally followed by a non-word
character and more text (``签到！第 3 天``, ``/checkin@mybot``; but not ``签到了`` or
``check inside``). The day is the calendar day in the group's timezone (playbook
``groups[].timezone``), so a check-in at 23:59 and another at 00:01 local time are two
days, whatever UTC says. A group the playbook does not list is not run: nobody checks
in there.

A message that moderation or screening deleted or held (their action is fed back
before this engine sees the message) checks nobody in.

A member checks in at most once per group and day; later check-ins that day are ignored
silently (no nagging). Consecutive days make a streak. A missed day is covered by a
*streak freeze* while the member has freezes left for that day's month
(``freezes_per_month``, per member, group and calendar month; a gap is covered whole or
not at all); otherwise the streak starts again at 1. Each accepted check-in is one
``award_points`` action (details ``action = "check_in"``, ``base``, ``bonus``,
``streak``, ``best``, ``freezes_used``), even with 0 points, so the log shows every
check-in and the scoring engine — which keeps the points ledger, levels and badges —
credits it when the runner feeds the action back. ``base`` is
``points.actions.check_in.points`` (clipped to its ``daily_cap``); ``bonus`` is
``checkins.streak_bonus[n]`` when the streak reaches exactly ``n`` days.

Also here, shared with the scoring engine: :class:`LocalDays` (cached local calendar
days of one timezone) and :class:`CheckInMatcher`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, ClassVar, Final, NamedTuple
from zoneinfo import ZoneInfo

from shequn.engines.base import NO_DEADLINE, Action, EngineEvent, NativeEngine, taken_fields
from shequn.playbook.model import Playbook

#: actions after which a message earns nothing and checks nobody in
DELETED: Final = frozenset({"delete_message", "hold_message"})


class Day(NamedTuple):
    """One local calendar day: its ordinal, week (Monday's ordinal) and month ids."""

    ordinal: int
    week: int
    month: int
    #: UTC epoch seconds of its first second and of the next day's
    start: int
    end: int


def month_id(d: date) -> int:
    return d.year * 12 + d.month - 1


class LocalDays:
    """Calendar days of one timezone, cached (events come in time order, so a day's
    bounds are computed about once)."""

    __slots__ = ("_other", "today", "zone", "zone_name")

    def __init__(self, zone_name: str) -> None:
        self.zone_name = zone_name
        self.zone = ZoneInfo(zone_name)
        #: the last two days asked for (today's awards and a leaderboard's week between)
        #: (``today``: the day asked for last, read directly by scoring's hot path)
        self.today = self._other = Day(0, 0, 0, 0, 0)

    def day(self, ts: int) -> Day:
        day = self.today
        if day.start <= ts < day.end:
            return day
        other = self._other
        if other.start <= ts < other.end:
            self.today, self._other = other, day
            return other
        self._other = day
        local = datetime.fromtimestamp(ts, self.zone).date()
        start = self.start_of(local.toordinal())
        end = self.start_of(local.toordinal() + 1)
        if not start <= ts < end:  # a zone that skips midnight: keep it exact, uncached
            start, end = ts, ts + 1
        ordinal = local.toordinal()
        day = Day(ordinal, ordinal - local.weekday(), month_id(local), start, end)
        self.today = day
        return day

    def start_of(self, ordinal: int) -> int:
        """UTC epoch seconds of local midnight on day ``ordinal``."""
        midnight = datetime.combine(date.fromordinal(ordinal), time(), self.zone)
        return int(midnight.timestamp())


def group_zones(playbook: Playbook) -> dict[str, str]:
    """``platform/group_id`` → IANA timezone, for the groups the playbook lists."""
    return {f"{g.platform}/{g.id}": g.timezone for g in playbook.groups}


class CheckInMatcher:
    """Recognises check-in keywords and commands in message texts."""

    __slots__ = ("first", "keywords")

    def __init__(self, keywords: list[str]) -> None:
        cleaned = {k.strip().casefold() for k in keywords if k.strip()}
        self.keywords = sorted(cleaned, key=lambda k: (-len(k), k))
        #: the first characters a check-in can start with (a cheap test before ``match``)
        self.first = {k[0] for k in self.keywords} | {k[0].upper() for k in self.keywords}

    def match(self, text: str | None) -> str | None:
        """The keyword ``text`` checks in with, or None."""
        if not text:
            return None
        stripped = text.strip()
        if not stripped or stripped[0].casefold() not in self.first:
            return None
        folded = stripped.casefold()
        for keyword in self.keywords:
            if folded.startswith(keyword):
                if len(folded) == len(keyword):
                    return keyword
                following = folded[len(keyword)]
                if not (following.isalnum() or following == "_"):
                    return keyword
        return None


class Streak:
    """One member's check-ins in one group."""

    __slots__ = ("best", "freeze_month", "freezes_used", "last_day", "streak", "total")

    def __init__(self) -> None:
        self.last_day = -1
        self.streak = 0
        self.best = 0
        #: the latest month a freeze was used in, and how many were used in it
        self.freeze_month = -1
        self.freezes_used = 0
        self.total = 0


@dataclass(slots=True)
class CheckInState:
    #: group → member → streak
    groups: dict[str, dict[str, Streak]] = field(default_factory=dict)
    #: keys of messages an engine deleted or held before we saw them (no check-in)
    suppressed: set[str] = field(default_factory=set)
    #: never a deadline (keeps_due: the runner reads this instead of next_deadline)
    due: int = NO_DEADLINE


class CheckInEngine(NativeEngine):
    """Check-ins and streaks (see module docstring); no deadlines: freezes are applied
    when the member next checks in."""

    name: ClassVar[str] = "checkins"
    #: the event kinds it takes (it has no deadlines)
    kinds: ClassVar[frozenset[str]] = frozenset({"message_posted", "check_in", "action_taken"})

    def __init__(self, playbook: Playbook) -> None:
        config = playbook.checkins
        self.enabled = config.enabled
        self.matcher = CheckInMatcher(config.keywords)
        self.freezes_per_month = config.freezes_per_month
        self.bonus = {int(days): points for days, points in config.streak_bonus.items()}
        rule = playbook.points.actions.get("check_in")
        base = rule.points if rule is not None else 0
        if rule is not None and rule.daily_cap is not None:
            base = min(base, rule.daily_cap)
        self.base = max(base, 0)
        self._zones = group_zones(playbook)
        self._calendars: dict[str, LocalDays] = {}

    def calendar(self, group: str) -> LocalDays:
        calendar = self._calendars.get(group)
        if calendar is None:
            calendar = LocalDays(self._zones[group])
            self._calendars[group] = calendar
        return calendar

    def start(self) -> CheckInState:
        return CheckInState()

    def next_deadline(self, state: CheckInState) -> int | None:
        return None

    @staticmethod
    def reads_feedback(engine: str, kind: str) -> bool:
        """Deletions and holds: a deleted message checks nobody in."""
        return kind in DELETED

    def snapshot(self, state: CheckInState) -> dict[str, Any]:
        """Every member's current and best streak and check-ins, per group."""
        return {
            "streaks": {
                group: {
                    member: {"streak": s.streak, "best": s.best, "check_ins": s.total}
                    for member, s in sorted(members.items())
                }
                for group, members in sorted(state.groups.items())
            }
        }

    def advance(self, state: CheckInState, event: EngineEvent, out: list[Action]) -> int:
        if not self.enabled or event.member is None or event.is_bot:
            return state.due
        kind = event.kind
        if kind == "message_posted":
            if state.suppressed:  # deletions are fed back just before their message
                deleted = event.key in state.suppressed
                state.suppressed.clear()
                if deleted:
                    return state.due
            text = event.text
            if not text:
                return state.due
            # CheckInMatcher.match's cheap test (the first character) first: most
            # messages are no check-in. ``first`` holds each keyword's (casefolded) first
            # character and its upper case, so a printable ASCII character other than a
            # space is in it exactly when its casefold is: no new string for most texts
            first = text[0]
            if first not in self.matcher.first:
                if "!" <= first <= "~":
                    return state.due
                if text.lstrip()[:1].casefold() not in self.matcher.first:
                    return state.due
            keyword = self.matcher.match(text)
            if keyword is None:
                return state.due
            how = f'with the keyword "{keyword}"'
        elif kind == "check_in":
            how = "with the platform's check-in"
        else:
            if kind == "action_taken":
                action = event.action
                if action is not None:
                    if action.kind in DELETED:
                        self._suppress(state, taken_fields(event))
                elif event.extra and (
                    '"delete_message"' in event.extra or '"hold_message"' in event.extra
                ):
                    self._suppress(state, taken_fields(event))
            return state.due
        out.extend(self._check_in(state, event, how))
        return state.due

    def _suppress(self, state: CheckInState, extra: dict[str, Any] | None) -> None:
        """A message deleted or held (by moderation or screening) does not check in."""
        if extra is None or extra.get("action") not in DELETED:
            return
        details = extra.get("details")
        target = details.get("event") if isinstance(details, dict) else None
        target = target if isinstance(target, str) else extra.get("cause")
        if isinstance(target, str):
            state.suppressed.add(target)

    def _check_in(self, state: CheckInState, event: EngineEvent, how: str) -> list[Action]:
        group, member = event.group, event.member
        assert member is not None
        members = state.groups.get(group)
        if members is None:
            if group not in self._zones:
                return []  # a group the playbook does not list is not run
            members = state.groups[group] = {}
        record = members.get(member)
        if record is None:
            record = members[member] = Streak()
        calendar = self.calendar(group)
        today = calendar.day(event.ts)
        if today.ordinal <= record.last_day:
            return []  # already checked in today (or an older day, out of order)
        covered: list[date] = []
        if record.last_day >= 0 and today.ordinal - record.last_day > 1:
            covered = self._freeze(record, record.last_day + 1, today.ordinal)
            record.streak = record.streak + 1 if covered else 1
        else:
            record.streak += 1
        record.last_day = today.ordinal
        record.best = max(record.best, record.streak)
        record.total += 1
        bonus = self.bonus.get(record.streak, 0)
        points = self.base + bonus
        day_text = date.fromordinal(today.ordinal).isoformat()
        parts = [
            f"{member} checked in {how} on {day_text} "
            f"(the group's day in {calendar.zone_name}): day {record.streak} of the streak"
        ]
        if covered:
            left = (
                self.freezes_per_month - record.freezes_used
                if record.freeze_month == today.month
                else self.freezes_per_month
            )
            days = ", ".join(d.isoformat() for d in covered)
            plural = "freeze" if len(covered) == 1 else "freezes"
            parts.append(
                f", {len(covered)} streak {plural} covered {days} ({left} left this month)"
            )
        elif record.streak == 1 and record.total > 1:
            parts.append(" (the earlier streak broke: a day was missed with no freeze left)")
        parts.append(f"; {self.base} points for the check-in")
        if bonus:
            parts.append(f" plus a {bonus}-point bonus for reaching a {record.streak}-day streak")
        parts.append(".")
        return [
            Action(
                kind="award_points",
                group=group,
                member=member,
                ts=event.ts,
                engine=self.name,
                explanation="".join(parts),
                rule="check_in",
                cause=event.key,
                details={
                    "points": points,
                    "action": "check_in",
                    "base": self.base,
                    "bonus": bonus,
                    "streak": record.streak,
                    "best": record.best,
                    "freezes_used": len(covered),
                    "day": day_text,
                },
            )
        ]

    def _freeze(self, record: Streak, first: int, stop: int) -> list[date]:
        """Cover the missed days ``first .. stop-1`` with freezes, all or none."""
        allowance = self.freezes_per_month
        gap = stop - first
        if allowance == 0 or gap > allowance * (gap // 28 + 2):
            return []
        month, used = record.freeze_month, record.freezes_used
        covered = []
        for ordinal in range(first, stop):
            day = date.fromordinal(ordinal)
            this_month = month_id(day)
            if this_month != month:
                month, used = this_month, 0
            if used >= allowance:
                return []
            used += 1
            covered.append(day)
        record.freeze_month, record.freezes_used = month, used
        return covered


__all__ = [
    "CheckInEngine",
    "CheckInMatcher",
    "CheckInState",
    "Day",
    "LocalDays",
    "Streak",
    "group_zones",
]
