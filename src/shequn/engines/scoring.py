"""The scoring engine: points, levels, badges, leaderboards and rewards (积分 / 等级 / 勋章).

Everything is kept per group and member (a member's standing in a group is earned
there, as on a MEE6 server); the community-wide views sum over groups. Days are
calendar days in the group's timezone (``groups[].timezone``); weeks are ISO weeks
(Monday first) and months calendar months in that timezone. A group the playbook does
not list is not run: nothing in it earns, costs or redeems points, and no leaderboard
is posted there (as screening, moderation and metabolism leave it alone).

Points per action (``points.actions``), each with ``points``, an optional
``daily_cap`` (points per member, group and day), a ``cooldown`` (seconds between two
awards for the same action) and ``min_length``:

``message``            a ``message_posted`` of at least ``min_length`` non-space
                       characters, not a command (``/…``) and not a check-in keyword,
                       at most once per ``cooldown``;
``answer``             a message that replies to someone else's question — a message by
                       another (non-bot) member whose text ends in ``?`` or ``？`` —
                       once per question and member; it earns the message points too;
``reply_reacted``      a reply of the member received its first reaction from another
                       member (``reaction_added`` with ``reply_to`` = the reply's id);
``reaction_received``  one per other member reacting to one of the member's messages;
``invite_stays``       to the inviter (``member_joined`` with ``actor``) when the invitee
                       is still in the group ``stays_days`` later (a deadline, fired by the
                       first event or tick at or after it; cancelled by the invitee's
                       ``member_left``/``member_removed`` or a ``reject``/``remove`` action
                       for them; once per invitee and group);
``check_in``           credited from the check-in engine's ``award_points`` actions
                       (fed back as ``action_taken``), see ``checkins.py``.

Bots never earn, and reactions by bots earn nobody anything. A message deleted or held
by moderation or screening (their action is fed back before scoring sees the message)
earns nothing. Messages are remembered
for reactions and replies for 7–14 days of log time (two rotating generations).

Deductions: a penalty comes back as ``action_taken`` with ``extra.action`` in
``points.deductions`` (``warn``, ``notice``, ``mute``, ``remove``) from any engine but
metabolism and screening (making room and entry screening are not penalties); the
member loses that many points and as many spendable points. Points never go below 0.
``award_points``/``deduct_points`` recorded by others (a team member, the check-in
engine) are credited / debited as they say.

A human's action (a stored ``action_taken``, not fed back, whatever engine it names:
team.human) counts only
when its ``actor`` holds the permission in that group (team.py): ``award`` to award or
deduct points, ``redeem`` to redeem for a member, ``warn`` / ``mute`` / ``remove`` (and
``approve`` for a ``reject``) for a penalty to cost points or a removal to cancel an
invitation. Otherwise it changes nothing; a refused award, deduction or redemption is
a ``notice`` to the actor saying why (a refused penalty: moderation's notice does).

Two numbers per member: **points** (earned minus deducted) set the level and the
leaderboards; **balance** (points minus what was spent on rewards, also lowered by
deductions) pays for rewards, so redeeming a reward never costs a level.

Levels follow points both ways: the level is always the highest whose threshold the
points reach. Rising is a ``level_up`` action, falling after a deduction a
``level_down`` (details of both ``{"level", "points", "previous"}``).

Badges (``grant_badge``, each once per member and group): ``first_message`` (messages of
any length, ≥ ``at``), ``messages`` (messages that qualified for message points,
whether or not the daily cap had run out), ``answers``, ``invites`` (invitations that
stayed), ``streak`` (best check-in streak), ``points`` (current points).

Rewards: ``/redeem <reward-id>`` as a message (or an ``action_taken`` with ``extra``
``{"action": "redeem", "reward": id}``, e.g. recorded by a team member with the
``redeem`` permission) spends the reward's ``cost`` from the balance and one of its
``stock`` (``None``: unlimited): a ``deduct_points`` action with details ``{"points",
"action": "redeem", "reward", "balance", "stock_left"}``. A refusal (unknown reward,
out of stock, balance too low) is a ``notice`` saying why. Commands earn no points.

Leaderboards are pure functions over the state (:func:`leaderboard`); when the
playbook's leaderboards include ``week`` and ``per_group``, the engine also posts each
group's weekly leaderboard (``post_message``) when its week ends, if anyone gained.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Final, Literal, NamedTuple

from shequn.engines.awards import PointsAward
from shequn.engines.base import NO_DEADLINE, Action, EngineEvent, NativeEngine, taken_fields
from shequn.engines.checkins import CheckInMatcher, LocalDays, group_zones
from shequn.engines.team import NEEDS, REFUSED, TeamPermissions, human
from shequn.playbook.model import Badge, Playbook, PointRule

Period = Literal["week", "month", "all"]

#: messages are remembered (for reactions, replies, answers) for one to two of these
MESSAGE_MEMORY: Final = 7 * 86_400
#: action_taken from these engines are not penalties (no deductions)
NOT_PENALTIES: Final = frozenset({"metabolism", "screening", "scoring", "checkins"})
NEVER: Final = NO_DEADLINE
REDEEM: Final = "/redeem"
#: how the runner's JSON of our own fed-back actions starts (a cheap test before parsing)
OWN: Final = '", "engine": "scoring", "rule": '
#: other engines' actions read whatever the playbook says (penalties: ``deductions``)
_READS: Final = frozenset(
    {
        "remove",
        "reject",
        "delete_message",
        "hold_message",
        "award_points",
        "deduct_points",
        "redeem",
    }
)


def _duration(seconds: int) -> str:
    for size, unit in ((86_400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _points(n: int) -> str:
    return f"{n} point" if n in (1, -1) else f"{n} points"


class Earning:
    """One ``points.actions`` rule as the engine reads it, per message: plain fields. A
    pydantic model's attribute costs ≈ 300 instructions a read under compiled code (its
    ``__getattr__`` hook), a native class's field a few (docs/decisions/0005)."""

    __slots__ = ("cooldown", "daily_cap", "min_length", "points", "stays_days")

    def __init__(self, rule: PointRule) -> None:
        self.points: int = rule.points
        self.daily_cap: int | None = rule.daily_cap
        self.cooldown: int = rule.cooldown
        self.min_length: int = rule.min_length
        self.stays_days: int = rule.stays_days


class BadgeRule:
    """One playbook badge as the engine reads it: plain fields (see :class:`Earning`)."""

    __slots__ = ("at", "condition", "id", "name")

    def __init__(self, badge: Badge) -> None:
        self.id: str = badge.id
        self.name: str = badge.name
        self.condition: str = badge.condition
        self.at: int = badge.at


class PeriodPoints:
    """Net points per week (Monday's day ordinal) and per month (year*12 + month-1).

    The latest week and month an award went to are two plain counters (``in_week``,
    ``in_month``); the others are in ``weeks`` and ``months``, a week never in both.
    Nearly every award goes to the week and month of the one before, and was four dict
    reads and writes (member and group, week and month) with their boxed ints.
    """

    __slots__ = ("in_month", "in_week", "month", "months", "week", "weeks")

    def __init__(self) -> None:
        self.week = -1
        self.in_week = 0
        self.month = -1
        self.in_month = 0
        self.weeks: dict[int, int] = {}
        self.months: dict[int, int] = {}

    def add(self, week: int, month: int, points: int) -> None:
        if week != self.week:
            self._to_week(week)
        self.in_week += points
        if month != self.month:
            self._to_month(month)
        self.in_month += points

    def _to_week(self, week: int) -> None:
        if self.week >= 0:
            self.weeks[self.week] = self.in_week
        self.in_week = self.weeks.pop(week, 0)
        self.week = week

    def _to_month(self, month: int) -> None:
        if self.month >= 0:
            self.months[self.month] = self.in_month
        self.in_month = self.months.pop(month, 0)
        self.month = month

    def in_week_of(self, week: int) -> int:
        return self.in_week if week == self.week else self.weeks.get(week, 0)

    def in_month_of(self, month: int) -> int:
        return self.in_month if month == self.month else self.months.get(month, 0)


class MemberScore(PeriodPoints):
    """One member's standing in one group."""

    __slots__ = (
        "answers",
        "badges",
        "balance",
        "day",
        "earned",
        "invites",
        "last_award",
        "level",
        "messages",
        "points",
        "posted",
        "spent",
        "streak",
    )

    def __init__(self) -> None:
        super().__init__()
        #: earned minus deducted, never below 0: levels and leaderboards
        self.points = 0
        #: what rewards can be paid with
        self.balance = 0
        self.spent = 0
        #: index into the playbook's levels
        self.level = 0
        #: the local day ``earned`` counts (points per action that day, for daily caps)
        self.day = -1
        self.earned: dict[str, int] = {}
        #: action → ts of its last award (cooldowns)
        self.last_award: dict[str, int] = {}
        self.posted = 0
        self.messages = 0
        self.answers = 0
        self.invites = 0
        self.streak = 0
        self.badges: list[str] = []


class GroupScore(PeriodPoints):
    """One group's members and its own totals (group honour)."""

    __slots__ = ("calendar", "members", "name", "points")

    def __init__(self, calendar: LocalDays, name: str) -> None:
        super().__init__()
        self.calendar = calendar
        #: how explanations name the group (its playbook name)
        self.name = name
        self.members: dict[str, MemberScore] = {}
        self.points = 0


class Message:
    """A remembered message: who wrote it and what it can still earn them."""

    __slots__ = ("answerers", "author", "question", "reactors", "reply", "reply_rewarded")

    def __init__(self, author: str, reply: bool, question: bool) -> None:
        self.author = author
        self.reply = reply
        self.question = question
        self.reply_rewarded = False
        self.reactors: set[str] | None = None
        self.answerers: set[str] | None = None


class Invitation(NamedTuple):
    due: int
    group: str
    invitee: str
    inviter: str
    joined: int
    cause: str


@dataclass(slots=True)
class ScoringState:
    groups: dict[str, GroupScore] = field(default_factory=dict)
    #: group → message id (platform id, else event key) → message (or, until something
    #: refers to it, just its ``(author, reply, question)``); two generations
    messages: dict[str, dict[str, Message | tuple[str, bool, bool]]] = field(default_factory=dict)
    old_messages: dict[str, dict[str, Message | tuple[str, bool, bool]]] = field(
        default_factory=dict
    )
    message_generation: int = 0
    bots: set[str] = field(default_factory=set)
    #: (group, invitee) → the pending invitation; the heap orders them by due time
    invitations: dict[tuple[str, str], Invitation] = field(default_factory=dict)
    invitation_heap: list[Invitation] = field(default_factory=list)
    #: (group, invitee) pairs already rewarded (an invitee counts once per group)
    rewarded_invitees: set[tuple[str, str]] = field(default_factory=set)
    #: group → (week id, when it ends): weeks whose leaderboard is still to be posted
    open_weeks: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: reward id → stock left (unlimited rewards are absent)
    stock: dict[str, int] = field(default_factory=dict)
    #: the earliest deadline (invitations, weekly posts), NEVER if none
    due: int = NEVER
    #: keys of messages an engine deleted or held before we saw them: they earn nothing
    suppressed: set[str] = field(default_factory=set)


class Standing(NamedTuple):
    rank: int
    #: a member key, or a ``platform/group_id`` between groups
    name: str
    points: int


def _by_points(row: tuple[str, int]) -> tuple[int, str]:
    return -row[1], row[0]


def _period_points(
    tally: PeriodPoints, total: int, period: Period, day_week: int, day_month: int
) -> int:
    if period == "all":
        return total
    if period == "week":
        return tally.in_week_of(day_week)
    return tally.in_month_of(day_month)


def _ranked(rows: list[tuple[str, int]], size: int | None) -> list[Standing]:
    rows = [r for r in rows if r[1] > 0]
    rows.sort(key=_by_points)
    standings: list[Standing] = []
    for position, (name, points) in enumerate(rows[:size] if size is not None else rows, 1):
        rank = standings[-1].rank if standings and standings[-1].points == points else position
        standings.append(Standing(rank, name, points))
    return standings


def leaderboard(
    state: ScoringState,
    period: Period,
    at_ts: int,
    group: str | None = None,
    size: int | None = None,
) -> list[Standing]:
    """The ranking for the ``period`` (week, month or all time) that contains ``at_ts``.

    With ``group``: its members by the net points they gained in that period there.
    Without: the groups by their members' total (group honour), each group's week or
    month taken in its own timezone. Only positive gains are listed; ties share a rank
    (1, 2, 2, 4) and are listed by name.
    """
    if group is not None:
        scores = state.groups.get(group)
        if scores is None:
            return []
        day = scores.calendar.day(at_ts)
        members = scores.members.items()
        if period == "week":  # _period_points, inlined: a weekly post reads every member
            week = day.week
            rows = [(member, s.in_week_of(week)) for member, s in members]
        elif period == "month":
            month = day.month
            rows = [(member, s.in_month_of(month)) for member, s in members]
        else:
            rows = [(member, s.points) for member, s in members]
        return _ranked(rows, size)
    rows = []
    for name, scores in state.groups.items():
        day = scores.calendar.day(at_ts)
        rows.append(
            (
                name,
                _period_points(scores, scores.points, period, day.week, day.month),
            )
        )
    return _ranked(rows, size)


def community_leaderboard(
    state: ScoringState, period: Period, at_ts: int, size: int | None = None
) -> list[Standing]:
    """Members ranked by their gains summed over all groups (each group's own calendar)."""
    totals: dict[str, int] = {}
    for scores in state.groups.values():
        day = scores.calendar.day(at_ts)
        for member, s in scores.members.items():
            gained = _period_points(s, s.points, period, day.week, day.month)
            totals[member] = totals.get(member, 0) + gained
    return _ranked(list(totals.items()), size)


def member_score(state: ScoringState, group: str, member: str) -> MemberScore | None:
    scores = state.groups.get(group)
    return None if scores is None else scores.members.get(member)


class ScoringEngine(NativeEngine):
    """Points, levels, badges, leaderboards and rewards (see module docstring)."""

    name: ClassVar[str] = "scoring"
    #: the event kinds it takes (ticks and others only when a deadline is due)
    kinds: ClassVar[frozenset[str]] = frozenset(
        {
            "message_posted",
            "reaction_added",
            "action_taken",
            "member_joined",
            "member_left",
            "member_removed",
        }
    )

    def __init__(self, playbook: Playbook) -> None:
        actions = playbook.points.actions
        self.rules: dict[str, Earning] = {k: Earning(v) for k, v in actions.items() if v.points > 0}
        self.message_rule = self.rules.get("message")
        self.answer_rule = self.rules.get("answer")
        self.reply_rule = self.rules.get("reply_reacted")
        self.reaction_rule = self.rules.get("reaction_received")
        self.invite_rule = self.rules.get("invite_stays")
        self.deductions = {k: v for k, v in playbook.points.deductions.items() if v > 0}
        self.levels = list(playbook.levels)
        self.thresholds = [level.threshold for level in self.levels]
        self.badges: dict[str, list[BadgeRule]] = {}
        for badge in sorted(playbook.badges, key=lambda b: (b.at, b.id)):
            self.badges.setdefault(badge.condition, []).append(BadgeRule(badge))
        self.rewards = {r.id: r for r in playbook.rewards}
        self.reward_names = {r.name.casefold(): r for r in playbook.rewards}
        self.checkin_matcher = (
            CheckInMatcher(playbook.checkins.keywords) if (playbook.checkins.enabled) else None
        )
        boards = playbook.leaderboards
        self.post_weekly = "week" in boards.periods and boards.per_group
        self.post_between = boards.between_groups and len(playbook.groups) > 1
        self.board_size = boards.size
        self._zones = group_zones(playbook)
        #: who may award, deduct and redeem where, computed once (read on a human's action)
        self._permissions = TeamPermissions(playbook)
        self._names = {f"{g.platform}/{g.id}": g.name or g.id for g in playbook.groups}
        self._rule_text = {action: _rule_text(action, rule) for action, rule in self.rules.items()}
        #: badges are looked at only while a count can still reach one
        self._max_at = {c: max(b.at for b in badges) for c, badges in self.badges.items()}
        points_badges = self.badges.get("points")
        self._points_badge_from = points_badges[0].at if points_badges else NEVER
        #: granted in order of ``at``: a member with the last points badge has them all
        self._last_points_badge = points_badges[-1].id if points_badges else ""
        #: a count below a condition's lowest ``at`` reaches no badge: not looked at
        self._min_at = {c: min(b.at for b in badges) for c, badges in self.badges.items()}
        self._first_message_badges = self._max_at.get("first_message", 0)
        self._messages_badges = self._max_at.get("messages", 0)
        self._messages_badges_from = self._min_at.get("messages", 0)

    # -- the Engine protocol -------------------------------------------------------

    def _action(
        self,
        event: EngineEvent,
        *,
        kind: str,
        group: str,
        member: str | None,
        explanation: str,
        rule: str,
        details: dict[str, Any],
    ) -> Action:
        """An action of this engine, caused by ``event`` at its time (positional: a
        call with keywords costs Action's Python ``__init__`` a dict of them)."""
        return Action(
            kind, group, member, event.ts, self.name, explanation, rule, event.key, details
        )

    def start(self) -> ScoringState:
        return ScoringState(
            stock={r.id: r.stock for r in self.rewards.values() if r.stock is not None}
        )

    def next_deadline(self, state: ScoringState) -> int | None:
        return None if state.due == NEVER else state.due

    def reads_feedback(self, engine: str, kind: str) -> bool:
        """Other engines' deletions, removals, points and the penalties that cost points."""
        if engine == self.name:
            return False
        if kind in _READS:
            return True
        return kind in self.deductions and engine not in NOT_PENALTIES

    def snapshot(self, state: ScoringState) -> dict[str, Any]:
        """Points, balances, levels and badges per group and member; stock per reward."""
        groups = sorted(state.groups.items())
        levels = self.levels

        def per_member(value: Any) -> dict[str, dict[str, Any]]:
            return {
                group: {member: value(s) for member, s in sorted(scores.members.items())}
                for group, scores in groups
            }

        return {
            "points": per_member(lambda s: s.points),
            "balance": per_member(lambda s: s.balance),
            "levels": per_member(lambda s: levels[s.level].name) if levels else {},
            "badges": per_member(lambda s: sorted(s.badges)),
            "stock": dict(sorted(state.stock.items())),
        }

    def advance(self, state: ScoringState, event: EngineEvent, out: list[Action]) -> int:
        kind = event.kind
        if kind == "action_taken" and (
            (event.action is not None and event.action.engine == self.name)
            or (event.extra is not None and OWN in event.extra)
        ):
            return state.due  # our own actions, fed back (the runner's JSON; else parsed below)
        if event.ts >= state.due:
            self._deadlines(state, event, out)
        if kind == "message_posted":
            self._message(state, event, out)
        elif kind == "reaction_added":
            self._reaction(state, event, out)
        elif kind == "action_taken":
            self._action_taken(state, event, out)
        elif kind == "member_joined":
            self._joined(state, event)
        elif (kind == "member_left" or kind == "member_removed") and event.member is not None:
            state.invitations.pop((event.group, event.member), None)
        return state.due

    # -- bookkeeping ---------------------------------------------------------------

    def _group(self, state: ScoringState, group: str) -> GroupScore:
        """A listed group's scores (callers have turned unlisted groups away)."""
        scores = state.groups.get(group)
        if scores is None:
            zone = LocalDays(self._zones[group])
            scores = state.groups[group] = GroupScore(zone, self._names.get(group, group))
        return scores

    def _listed(self, state: ScoringState, group: str) -> GroupScore | None:
        """The group's scores, or None for a group the playbook does not list (not run:
        no credits, deductions or rewards there). The lookup of the group's scores is
        the check: only a group seen for the first time is looked for in the playbook."""
        scores = state.groups.get(group)
        if scores is None and group in self._zones:
            scores = self._group(state, group)
        return scores

    def _member(self, scores: GroupScore, member: str) -> MemberScore:
        record = scores.members.get(member)
        if record is None:
            record = scores.members[member] = MemberScore()
        return record

    def _rotate(self, state: ScoringState, generation: int) -> None:
        """Forget the messages of two generations ago."""
        adjacent = generation == state.message_generation + 1
        state.old_messages = state.messages if adjacent else {}
        state.messages = {}
        state.message_generation = generation

    def _recall(self, state: ScoringState, group: str, msg_id: str) -> Message | None:
        messages = state.messages.get(group)
        found = messages.get(msg_id) if messages is not None else None
        if found is None:
            messages = state.old_messages.get(group)
            if messages is not None:
                found = messages.get(msg_id)
        if type(found) is tuple:  # remembered cheaply; a reaction or reply needs the object
            assert messages is not None
            found = messages[msg_id] = Message(*found)
        return found  # type: ignore[return-value]

    # -- earning -------------------------------------------------------------------

    def _award(
        self,
        state: ScoringState,
        scores: GroupScore,
        group: str,
        member: str,
        record: MemberScore,
        action: str,
        rule: Earning,
        event: EngineEvent,
        why: str,
        out: list[Action],
    ) -> None:
        """Award ``rule.points`` for ``action`` within the daily cap (cooldown: caller)."""
        ts = event.ts
        day = scores.calendar.today  # LocalDays.day(ts), its cached case inlined
        if not day.start <= ts < day.end:
            day = scores.calendar.day(ts)
        if record.day != day.ordinal:
            record.day = day.ordinal
            record.earned = {}
        earned = record.earned.get(action, 0)
        points = rule.points
        cap = rule.daily_cap
        if cap is not None and earned + points > cap:
            points = cap - earned
            if points <= 0:
                return
        record.earned[action] = earned + points
        record.last_award[action] = ts
        # _credit, inlined for the positive points of an award (every award passes here)
        week, month = day.week, day.month
        total = record.points = record.points + points
        # PeriodPoints.add, inlined for the usual case: the week and month of the last award
        if week == record.week and month == record.month:
            record.in_week += points
            record.in_month += points
        else:
            record.add(week, month, points)
        scores.points += points
        if week == scores.week and month == scores.month:
            scores.in_week += points
            scores.in_month += points
        else:
            scores.add(week, month, points)
        record.balance += points
        if self.post_weekly and group not in state.open_weeks:
            end = scores.calendar.start_of(week + 7)
            state.open_weeks[group] = (week, end)
            state.due = min(state.due, end)
        out.append(
            PointsAward(
                group,
                member,
                ts,
                action,
                event.key,
                (
                    points,
                    total,
                    record.balance,
                    earned + points,
                    cap,
                    why,
                    scores.name,
                    self._rule_text[action],
                ),
            )
        )
        if self.thresholds:  # _after_change, inlined (every award passes here)
            level = bisect_right(self.thresholds, total) - 1
            if level != record.level:
                out.append(self._level_action(group, member, record, level, event))
                record.level = level
        if total >= self._points_badge_from and self._last_points_badge not in record.badges:
            self._badges(group, member, record, "points", total, event, out)

    def _credit(
        self,
        state: ScoringState,
        scores: GroupScore,
        group: str,
        record: MemberScore,
        points: int,
        week: int,
        month: int,
    ) -> None:
        """Add ``points`` (negative: a deduction already clipped at 0) to every ledger."""
        record.points += points
        record.add(week, month, points)
        scores.points += points
        scores.add(week, month, points)
        if points > 0:
            record.balance += points
        if self.post_weekly and group not in state.open_weeks:
            end = scores.calendar.start_of(week + 7)
            state.open_weeks[group] = (week, end)
            state.due = min(state.due, end)

    def _after_change(
        self, group: str, member: str, record: MemberScore, event: EngineEvent, out: list[Action]
    ) -> None:
        """Level and points badges after the points changed."""
        if self.thresholds:
            level = bisect_right(self.thresholds, record.points) - 1
            if level != record.level:
                out.append(self._level_action(group, member, record, level, event))
                record.level = level
        if record.points >= self._points_badge_from:
            self._badges(group, member, record, "points", record.points, event, out)

    def _level_action(
        self, group: str, member: str, record: MemberScore, level: int, event: EngineEvent
    ) -> Action:
        new, old = self.levels[level], self.levels[record.level]
        where = self._names.get(group, group)
        # quoted beforehand: compiled, an f-string with a ``!r`` is built by str.format
        new_name, old_name = repr(new.name), repr(old.name)
        if level > record.level:
            skipped = level - record.level - 1
            also = f", passing {skipped} more level{'s' if skipped > 1 else ''}" if skipped else ""
            return self._action(
                event,
                kind="level_up",
                group=group,
                member=member,
                explanation=(
                    f"{member} reached level {new_name} in {where} with "
                    f"{_points(record.points)} (threshold {new.threshold}, up from "
                    f"{old_name}{also})."
                ),
                rule=new.name,
                details={"level": new.name, "points": record.points, "previous": old.name},
            )
        return self._action(
            event,
            kind="level_down",
            group=group,
            member=member,
            explanation=(
                f"{member} fell from level {old_name} to {new_name} in {where}: a "
                f"deduction left {_points(record.points)}, below {old_name}'s threshold "
                f"of {old.threshold}."
            ),
            rule=new.name,
            details={"level": new.name, "points": record.points, "previous": old.name},
        )

    def _badges(
        self,
        group: str,
        member: str,
        record: MemberScore,
        condition: str,
        value: int,
        event: EngineEvent,
        out: list[Action],
    ) -> None:
        for badge in self.badges[condition]:
            if value < badge.at:
                break
            if badge.id in record.badges:
                continue
            record.badges.append(badge.id)
            quoted = repr(badge.name)  # not ``!r``: see _level_action
            out.append(
                self._action(
                    event,
                    kind="grant_badge",
                    group=group,
                    member=member,
                    explanation=(
                        f"{member} earned the badge {quoted} ({badge.id}) in "
                        f"{self._names.get(group, group)}: {_BADGE_WORDS[condition](value)}, "
                        f"reaching its condition {condition} ≥ {badge.at}."
                    ),
                    rule=badge.id,
                    details={
                        "badge": badge.id,
                        "name": badge.name,
                        "condition": condition,
                        "value": value,
                    },
                )
            )

    def _count(
        self,
        group: str,
        member: str,
        record: MemberScore,
        condition: str,
        value: int,
        event: EngineEvent,
        out: list[Action],
    ) -> None:
        if value <= self._max_at.get(condition, 0):
            self._badges(group, member, record, condition, value, event, out)

    # -- events --------------------------------------------------------------------

    def _message(self, state: ScoringState, event: EngineEvent, out: list[Action]) -> None:
        member = event.member
        if member is None:
            return
        if event.is_bot:
            state.bots.add(member)
            return
        if state.suppressed:  # deletions are fed back just before their message
            deleted = event.key in state.suppressed
            state.suppressed.clear()
            if deleted:
                return  # deleted or held by moderation or screening: it earns nothing
        group = event.group
        text = event.text
        stripped = text.strip() if text else ""
        ts = event.ts
        if ts // MESSAGE_MEMORY > state.message_generation:
            self._rotate(state, ts // MESSAGE_MEMORY)
        messages = state.messages.get(group)
        if messages is None:
            # a group's first message of a generation: the one place a message asks
            # whether the playbook lists its group (an unlisted group is not run, and
            # none of its messages is remembered, so its reactions find nothing either)
            if group not in self._zones:
                return
            messages = state.messages[group] = {}
        reply_to = event.reply_to
        # what a Message holds, as a tuple until a reaction or an answer refers to it
        messages[event.platform_id or event.key] = (
            member,
            reply_to is not None,
            stripped.endswith(("?", "？")),
        )
        first = stripped[:1]
        if first == "/":
            if stripped.startswith(REDEEM) and (
                len(stripped) == len(REDEEM) or not stripped[len(REDEEM)].isalnum()
            ):
                self._redeem(state, event, member, stripped[len(REDEEM) :], out)
            return
        matcher = self.checkin_matcher
        if matcher is not None and first in matcher.first and matcher.match(stripped):
            return
        scores = state.groups.get(group) or self._group(state, group)
        record = scores.members.get(member) or self._member(scores, member)
        posted = record.posted = record.posted + 1
        if posted <= self._first_message_badges:  # _count, inlined
            self._badges(group, member, record, "first_message", posted, event, out)
        rule = self.message_rule
        # _long_enough, inlined (every message passes here); in a printable text the
        # only whitespace is " " (checked over all of Unicode), so it is counted, not split
        least = 0 if rule is None else rule.min_length
        size = len(stripped)
        if rule is not None and (
            least <= 0
            or (
                size >= least
                and (
                    size >= 4 * least + 64
                    or (
                        size - stripped.count(" ")
                        if stripped.isprintable()
                        else len("".join(stripped.split()))
                    )
                    >= least
                )
            )
        ):
            last = record.last_award.get("message")
            if last is None or ts - last >= rule.cooldown:
                record.messages += 1
                record.last_award["message"] = ts
                self._award(
                    state, scores, group, member, record, "message", rule, event, "a message", out
                )
                if self._messages_badges_from <= record.messages <= self._messages_badges:
                    self._badges(group, member, record, "messages", record.messages, event, out)
        if reply_to is not None:
            self._answer(state, scores, event, member, record, stripped, out)

    def _answer(
        self,
        state: ScoringState,
        scores: GroupScore,
        event: EngineEvent,
        member: str,
        record: MemberScore,
        text: str,
        out: list[Action],
    ) -> None:
        rule = self.answer_rule
        if rule is None or event.reply_to is None:
            return
        question = self._recall(state, event.group, event.reply_to)
        if question is None or not question.question or question.author == member:
            return
        if question.answerers is None:
            question.answerers = set()
        elif member in question.answerers:
            return
        if not _long_enough(text, rule.min_length):
            return
        last = record.last_award.get("answer")
        if last is not None and event.ts - last < rule.cooldown:
            return
        question.answerers.add(member)
        record.answers += 1
        record.last_award["answer"] = event.ts
        self._award(
            state,
            scores,
            event.group,
            member,
            record,
            "answer",
            rule,
            event,
            f"answering a question by {question.author}",
            out,
        )
        self._count(event.group, member, record, "answers", record.answers, event, out)

    def _reaction(self, state: ScoringState, event: EngineEvent, out: list[Action]) -> None:
        reactor = event.member
        if event.reply_to is None or reactor is None or event.is_bot or reactor in state.bots:
            return
        msg = self._recall(state, event.group, event.reply_to)
        if msg is None or msg.author == reactor or msg.author in state.bots:
            return
        if msg.reactors is None:
            msg.reactors = set()
        elif reactor in msg.reactors:
            return
        msg.reactors.add(reactor)
        author = msg.author
        scores = self._group(state, event.group)
        record = self._member(scores, author)
        rule = self.reaction_rule
        if rule is not None:
            last = record.last_award.get("reaction_received")
            if last is None or event.ts - last >= rule.cooldown:
                self._award(
                    state,
                    scores,
                    event.group,
                    author,
                    record,
                    "reaction_received",
                    rule,
                    event,
                    f"a reaction by {reactor}",
                    out,
                )
        rule = self.reply_rule
        if rule is not None and msg.reply and not msg.reply_rewarded:
            last = record.last_award.get("reply_reacted")
            if last is None or event.ts - last >= rule.cooldown:
                msg.reply_rewarded = True
                self._award(
                    state,
                    scores,
                    event.group,
                    author,
                    record,
                    "reply_reacted",
                    rule,
                    event,
                    f"a reply that {reactor} reacted to",
                    out,
                )

    def _joined(self, state: ScoringState, event: EngineEvent) -> None:
        rule = self.invite_rule
        invitee, inviter = event.member, event.actor
        if rule is None or invitee is None or inviter is None or inviter == invitee:
            return
        if event.is_bot:
            state.bots.add(invitee)
            return
        if event.group not in self._zones:
            return  # a group the playbook does not list: no invitation points there
        pair = (event.group, invitee)
        if pair in state.invitations or pair in state.rewarded_invitees:
            return
        due = event.ts + rule.stays_days * 86_400
        invitation = Invitation(due, event.group, invitee, inviter, event.ts, event.key)
        state.invitations[pair] = invitation
        heapq.heappush(state.invitation_heap, invitation)
        state.due = min(state.due, due)

    def _deadlines(self, state: ScoringState, event: EngineEvent, out: list[Action]) -> None:
        ts = event.ts
        heap = state.invitation_heap
        while heap and heap[0].due <= ts:
            invitation = heapq.heappop(heap)
            pair = (invitation.group, invitation.invitee)
            if state.invitations.get(pair) is not invitation:
                continue  # cancelled: the invitee left before the deadline
            del state.invitations[pair]
            state.rewarded_invitees.add(pair)
            self._invitation_stayed(state, invitation, event, out)
        for group, (week, end) in sorted(state.open_weeks.items()):
            if end <= ts:
                del state.open_weeks[group]
                self._post_week(state, group, week, event, out)
        due = heap[0].due if heap else NEVER
        for _, end in state.open_weeks.values():
            due = min(due, end)
        state.due = due

    def _invitation_stayed(
        self, state: ScoringState, invitation: Invitation, event: EngineEvent, out: list[Action]
    ) -> None:
        rule = self.invite_rule
        inviter = invitation.inviter
        if rule is None or inviter in state.bots:
            return
        group = invitation.group
        scores = self._group(state, group)
        record = self._member(scores, inviter)
        record.invites += 1
        joined = date.fromordinal(scores.calendar.day(invitation.joined).ordinal).isoformat()
        self._award(
            state,
            scores,
            group,
            inviter,
            record,
            "invite_stays",
            rule,
            event,
            f"inviting {invitation.invitee}, who joined on {joined} and is still in "
            f"the group {rule.stays_days} days later",
            out,
        )
        self._count(group, inviter, record, "invites", record.invites, event, out)

    def _post_week(
        self, state: ScoringState, group: str, week: int, event: EngineEvent, out: list[Action]
    ) -> None:
        scores = state.groups[group]
        # the middle of the week: other groups' weeks overlapping it most
        middle = (scores.calendar.start_of(week) + scores.calendar.start_of(week + 7)) // 2
        standings = leaderboard(state, "week", middle, group, self.board_size)
        if not standings:
            return
        monday, sunday = date.fromordinal(week), date.fromordinal(week + 6)
        where = self._names.get(group, group)
        lines = [f"Leaderboard of {where}, week {monday.isoformat()} – {sunday.isoformat()}:"]
        lines += [f"{s.rank}. {s.name} — {_points(s.points)}" for s in standings]
        honour: list[Standing] = []
        if self.post_between:
            honour = leaderboard(state, "week", middle, None, self.board_size)
            if len(honour) > 1:
                lines.append("Group honour this week:")
                lines += [
                    f"{s.rank}. {self._names.get(s.name, s.name)} — {_points(s.points)}"
                    for s in honour
                ]
        out.append(
            self._action(
                event,
                kind="post_message",
                group=group,
                member=None,
                explanation=(
                    f"The weekly leaderboard of {where} for {monday.isoformat()} – "
                    f"{sunday.isoformat()} ({scores.calendar.zone_name}), top "
                    f"{self.board_size} by points gained that week "
                    f"(leaderboards.periods includes week)."
                ),
                rule="leaderboards",
                details={
                    "text": "\n".join(lines),
                    "period": "week",
                    "from": monday.isoformat(),
                    "to": sunday.isoformat(),
                    "standings": [[s.rank, s.name, s.points] for s in standings],
                    "groups": [[s.rank, s.name, s.points] for s in honour],
                },
            )
        )

    # -- actions fed back: deductions, credits from others, redemptions -------------

    def _action_taken(self, state: ScoringState, event: EngineEvent, out: list[Action]) -> None:
        member = event.member
        if member is None:
            return
        extra = taken_fields(event)
        if extra is None:
            return
        engine = extra.get("engine")
        if engine == self.name:
            return
        action = extra.get("action")
        details = extra.get("details")
        if not isinstance(details, dict):
            details = {}
        if isinstance(action, str) and human(event):
            need = NEEDS.get(action)  # a human's action: on the team, allowed, here?
            if need is not None:
                refused = self._permissions.refusal(event.group, event.actor, need)
                if refused is not None:
                    if need == "award" or need == "redeem":  # penalties: moderation says why
                        self._refuse(event, member, action, details, extra, refused, out)
                    return
        if action == "remove" or action == "reject":
            # an invitee removed or turned away by screening did not stay
            state.invitations.pop((event.group, member), None)
        if action == "delete_message" or action == "hold_message":
            target = details.get("event", extra.get("cause"))
            if isinstance(target, str):
                state.suppressed.add(target)  # the message comes next (engines run in order)
        elif action == "award_points":
            if member not in state.bots:
                self._credited(state, event, member, engine, details, out)
        elif action == "deduct_points":
            points = details.get("points")
            if isinstance(points, int) and points > 0:
                self._deduct(
                    state, event, member, points, f"a deduction by {engine or 'the team'}", out
                )
        elif action == "redeem":
            reward = extra.get("reward", details.get("reward"))
            self._redeem(state, event, member, f" {reward}" if isinstance(reward, str) else "", out)
        elif (
            isinstance(action, str)
            and action in self.deductions
            and engine not in NOT_PENALTIES
            and extra.get("rule") != REFUSED  # a refusal's notice is no penalty
        ):
            rule = extra.get("rule")
            what = f"the {action} under rule {rule}" if rule else f"the {action}"
            reason = (event.text or "").strip()
            if reason:
                what += f" ({reason.rstrip('.')})"
            self._deduct(
                state,
                event,
                member,
                self.deductions[action],
                f"{what}; points.deductions.{action} = {self.deductions[action]}",
                out,
            )

    def _refuse(
        self,
        event: EngineEvent,
        member: str,
        action: str,
        details: dict[str, Any],
        extra: dict[str, Any],
        refused: str,
        out: list[Action],
    ) -> None:
        """Points awarded, deducted or spent by someone without the permission in this
        group change nothing; a ``notice`` to them says why."""
        points = details.get("points")
        if action == "redeem":
            reward = extra.get("reward", details.get("reward"))
            what = (
                f"the redemption of {reward} for {member}" if reward else f"{member}'s redemption"
            )
        else:
            amount = _points(points) if isinstance(points, int) else "points"
            what = (
                f"the award of {amount} to {member}"
                if action == "award_points"
                else f"the deduction of {amount} from {member}"
            )
        out.append(
            self._action(
                event,
                kind="notice",
                group=event.group,
                member=event.actor,
                explanation=f"not honoured: {refused}; {what} is ignored.",
                rule=REFUSED,
                details={
                    "text": f"Not applied: {what}. {refused[0].upper()}{refused[1:]}.",
                    "refused": "permission",
                    "permission": NEEDS[action],
                    "action": action,
                    "about": member,
                },
            )
        )

    def _credited(
        self,
        state: ScoringState,
        event: EngineEvent,
        member: str,
        engine: object,
        details: dict[str, Any],
        out: list[Action],
    ) -> None:
        points = details.get("points")
        if not isinstance(points, int) or isinstance(points, bool) or points < 0:
            return
        group = event.group
        scores = self._listed(state, group)
        if scores is None:
            return
        record = self._member(scores, member)
        day = scores.calendar.day(event.ts)
        if record.day != day.ordinal:
            record.day = day.ordinal
            record.earned = {}
        action = details.get("action")
        if action == "check_in":
            base, bonus = details.get("base"), details.get("bonus")
            if isinstance(base, int) and isinstance(bonus, int):
                record.earned["check_in"] = record.earned.get("check_in", 0) + base
                record.earned["streak_bonus"] = record.earned.get("streak_bonus", 0) + bonus
        else:
            key = f"credited:{engine}"
            record.earned[key] = record.earned.get(key, 0) + points
        if points:
            self._credit(state, scores, group, record, points, day.week, day.month)
            self._after_change(group, member, record, event, out)
        streak = details.get("streak")
        if action == "check_in" and isinstance(streak, int) and streak > record.streak:
            record.streak = streak
            self._count(group, member, record, "streak", streak, event, out)

    def _deduct(
        self,
        state: ScoringState,
        event: EngineEvent,
        member: str,
        amount: int,
        why: str,
        out: list[Action],
    ) -> None:
        group = event.group
        scores = self._listed(state, group)
        if scores is None:
            return
        record = self._member(scores, member)
        taken = min(amount, record.points)
        spendable = min(amount, record.balance)
        if taken == 0 and spendable == 0:
            return
        day = scores.calendar.day(event.ts)
        if taken:
            self._credit(state, scores, group, record, -taken, day.week, day.month)
        record.balance -= spendable
        short = f" (only {taken} were left)" if taken < amount else ""
        out.append(
            self._action(
                event,
                kind="deduct_points",
                group=group,
                member=member,
                explanation=(
                    f"{member} lost {_points(taken)}{short} in "
                    f"{self._names.get(group, group)} for {why}; {record.points} left, "
                    f"{record.balance} to spend."
                ),
                rule="deductions",
                details={
                    "points": taken,
                    "action": "deduction",
                    "total": record.points,
                    "balance": record.balance,
                },
            )
        )
        self._after_change(group, member, record, event, out)

    def _redeem(
        self,
        state: ScoringState,
        event: EngineEvent,
        member: str,
        argument: str,
        out: list[Action],
    ) -> None:
        group = event.group
        where = self._names.get(group, group)
        if argument.startswith("@"):  # /redeem@somebot sticker-pack
            parts = argument.split(None, 1)
            argument = parts[1] if len(parts) > 1 else ""
        wanted = argument.strip()
        reward = self.rewards.get(wanted.casefold()) or self.reward_names.get(wanted.casefold())
        scores = self._listed(state, group)
        if scores is None:
            return
        record = self._member(scores, member)

        def refuse(reason: str, code: str) -> None:
            out.append(
                self._action(
                    event,
                    kind="notice",
                    group=group,
                    member=member,
                    explanation=f"{member} could not redeem {wanted or 'a reward'} in {where}: "
                    f"{reason}",
                    rule="rewards",
                    details={
                        "action": "redeem",
                        "refused": code,
                        "reward": wanted,
                        "balance": record.balance,
                    },
                )
            )

        if reward is None:
            catalogue = ", ".join(
                f"{r.id} ({r.cost} points)"
                for r in sorted(self.rewards.values(), key=lambda r: r.id)
            )
            refuse(
                f"there is no such reward; write /redeem followed by one of: {catalogue}."
                if catalogue
                else "this community offers no rewards.",
                "unknown",
            )
            return
        left = state.stock.get(reward.id)
        if left is not None and left <= 0:
            refuse(f"{reward.name!r} is out of stock.", "out_of_stock")
            return
        if record.balance < reward.cost:
            refuse(
                f"{reward.name!r} costs {reward.cost} points and {member} has "
                f"{record.balance} to spend ({reward.cost - record.balance} more needed).",
                "balance",
            )
            return
        if left is not None:
            state.stock[reward.id] = left - 1
        record.balance -= reward.cost
        record.spent += reward.cost
        stock_text = f"; {left - 1} left in stock" if left is not None else ""
        out.append(
            self._action(
                event,
                kind="deduct_points",
                group=group,
                member=member,
                explanation=(
                    f"{member} redeemed {reward.name!r} ({reward.id}) in {where} for "
                    f"{reward.cost} points; {record.balance} left to spend (their "
                    f"{record.points} points and level are unchanged){stock_text}. "
                    f"The team hands the reward over."
                ),
                rule=reward.id,
                details={
                    "points": reward.cost,
                    "action": "redeem",
                    "reward": reward.id,
                    "balance": record.balance,
                    "stock_left": None if left is None else left - 1,
                },
            )
        )


def _rule_text(action: str, rule: Earning) -> str:
    """``(points.message: 1 point, up to 20 a day, at most once per 1 min)``."""
    limits = f", up to {rule.daily_cap} a day" if rule.daily_cap is not None else ""
    if rule.cooldown:
        limits += f", at most once per {_duration(rule.cooldown)}"
    if rule.min_length:
        limits += f", at least {rule.min_length} characters"
    return f"(points.{action}: {_points(rule.points)}{limits})"


def _long_enough(text: str, min_length: int) -> bool:
    """At least ``min_length`` non-space characters."""
    if min_length <= 0:
        return True
    if len(text) < min_length:
        return False
    if len(text) >= 4 * min_length + 64:
        return True
    return len("".join(text.split())) >= min_length


def _count_words(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


#: a badge's condition in words (typed, so that compiled f-strings that use it are
#: joined directly, not through ``str.format`` per piece)
_BADGE_WORDS: Final[dict[str, Callable[[int], str]]] = {
    "first_message": lambda n: (
        "their first message" if n == 1 else _count_words(n, "message", "messages")
    ),
    "messages": lambda n: _count_words(n, "message", "messages") + " that counted for points",
    "answers": lambda n: _count_words(n, "answer", "answers") + " to questions",
    "invites": lambda n: _count_words(n, "invitation that stayed", "invitations that stayed"),
    "streak": lambda n: f"a {n}-day check-in streak",
    "points": _points,
}
