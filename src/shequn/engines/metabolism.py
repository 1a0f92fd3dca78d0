"""The metabolism engine (新陈代谢): when a group is nearly full, the long-silent make room.

Inputs
    ``member_joined`` / ``member_listed`` (a roster: the member is there, ``ts`` their
    join or the roster's time) / ``member_left`` / ``member_removed`` and removals
    decided by the other engines or a human (``action_taken`` ``remove``, or ``reject``
    of someone in the group; a human's only from a team member with ``remove`` —
    ``approve`` for a ``reject`` — in that group, team.py) track who is in each group;
    ``message_posted`` tracks when each member last spoke (a member who posts without a
    join on record was there before the log started); ticks end grace periods.

When
    a group with a ``cap`` holds ``at_share`` of it (checked on each join, after a roster,
    and when a grace period ends): the members silent longest are chosen until it would
    hold ``down_to_share`` (once started it goes on, a member saved by posting making
    room for the next, until the group is down to that share). Never chosen: the team,
    bots, members tagged with ``protect_tags``, members inside their first
    ``protect_new_days`` days, and (``protect_top_kols > 0``) the analytics' top-ranked
    KOLs, given to the engine as ``kols`` (best first).

Actions
    with ``notify_first``: ``warn_inactive`` (privately; details ``grace_until``), and when
    the ``grace`` ends without a message from them, ``remove`` — only as many as the group
    still needs (others may have left meanwhile); one message in the grace period saves
    a member. Without it: ``remove`` at once. At most ``max_per_run`` warnings or removals
    per evaluation; the next join or grace end evaluates again.

State
    per group: members with their join time and last message; the warned with their
    grace deadline; a heap of deadlines (grace ends, re-checks when a newcomer's
    protection lapses while the group is still too full).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Final
from zoneinfo import ZoneInfo

from shequn.engines.base import NO_DEADLINE, TICK, Action, EngineEvent, NativeEngine, taken_fields
from shequn.engines.rules import (
    DAY,
    clock,
    duration_words,
    group_key,
    group_zones,
    ordinal,
    tagged,
    team_roles,
)
from shequn.engines.team import NEEDS, TeamPermissions, human
from shequn.playbook.model import Playbook

ENGINE: Final = "metabolism"
#: a re-check entry in the deadline heap (no member)
_RECHECK: Final = ""


class Presence:
    """One member in one group: when they joined and last posted (``None``: unknown)."""

    __slots__ = ("joined", "last")

    def __init__(self, joined: int | None, last: int | None = None) -> None:
        self.joined = joined
        self.last = last


@dataclass
class MetabolismState:
    #: group → member → presence
    members: dict[str, dict[str, Presence]] = field(default_factory=dict)
    #: members known to have left (a later message does not bring them back)
    departed: set[tuple[str, str]] = field(default_factory=set)
    bots: set[str] = field(default_factory=set)
    #: (group, member) → (warned at, grace until)
    warned: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    #: (when, group, member or "" for a re-check)
    deadlines: list[tuple[int, str, str]] = field(default_factory=list)
    #: the earliest of ``deadlines`` (NO_DEADLINE: none), read by the runner (keeps_due)
    due: int = NO_DEADLINE
    #: group → when a re-check is scheduled
    rechecks: dict[str, int] = field(default_factory=dict)
    #: groups that reached ``at_share`` and are not yet down to ``down_to_share``
    active: set[str] = field(default_factory=set)


class MetabolismEngine(NativeEngine):
    """Makes room in full groups (see the module docstring).

    ``kols``: the analytics' KOL ranking, best first (member keys); the first
    ``metabolism.protect_top_kols`` of them are never removed. Optional — until the
    analytics provide it, only tags protect KOLs.
    """

    name: ClassVar[str] = ENGINE
    #: the event kinds it takes (ticks and others only when a grace period ends)
    kinds: ClassVar[frozenset[str]] = frozenset(
        {
            "message_posted",
            "member_joined",
            "member_listed",
            "member_left",
            "member_removed",
            "action_taken",
        }
    )

    def __init__(self, playbook: Playbook, kols: Sequence[str] = ()) -> None:
        m = playbook.metabolism
        self.settings = m
        self.zones = group_zones(playbook)
        self.caps = {
            group_key(g.platform, g.id): g.cap
            for g in playbook.groups
            if g.cap is not None and m.enabled
        }
        self.protected = (
            frozenset(team_roles(playbook))
            | tagged(playbook, m.protect_tags)
            | frozenset(kols[: m.protect_top_kols])
        )
        self.new_seconds = m.protect_new_days * DAY
        #: who may remove where: a human's removal counts only from them
        self.permissions = TeamPermissions(playbook)

    # --- the contract -------------------------------------------------------------------

    def start(self) -> MetabolismState:
        return MetabolismState()

    def next_deadline(self, state: MetabolismState) -> int | None:
        return state.deadlines[0][0] if state.deadlines else None

    @staticmethod
    def reads_feedback(engine: str, kind: str) -> bool:
        """Removals by the other engines (a rejection may remove too)."""
        return engine != ENGINE and kind in ("remove", "reject")

    def advance(self, state: MetabolismState, event: EngineEvent, out: list[Action]) -> int:
        group = event.group
        if group not in self.caps:
            return state.due
        if state.due <= event.ts:
            self._deadlines(state, event, out)
        kind = event.kind
        member = event.member
        if kind == TICK or member is None:
            return state.due
        members = state.members.get(group)
        if members is None:
            members = state.members[group] = {}
        if kind == "message_posted":
            presence = members.get(member)
            if presence is None:
                if (group, member) in state.departed:
                    return state.due
                presence = members[member] = Presence(None)
                if event.is_bot:
                    state.bots.add(member)
            presence.last = event.ts
            if state.warned:
                state.warned.pop((group, member), None)  # one message saves them
        elif kind == "member_joined":
            members[member] = Presence(event.ts)
            state.departed.discard((group, member))
            if event.is_bot:
                state.bots.add(member)
            self._evaluate(state, event, out)
        elif kind == "member_listed":
            if member not in members:
                members[member] = Presence(event.ts)
                state.departed.discard((group, member))
                if event.is_bot:
                    state.bots.add(member)
                self._schedule(state, group, event.ts)
        elif kind in ("member_left", "member_removed"):
            self._gone(state, group, member)
        elif kind == "action_taken":
            self._action_taken(state, event)
        return state.due

    # --- membership ---------------------------------------------------------------------

    @staticmethod
    def _gone(state: MetabolismState, group: str, member: str) -> None:
        members = state.members.get(group)
        if members is not None:
            members.pop(member, None)
        state.departed.add((group, member))
        state.warned.pop((group, member), None)

    def _action_taken(self, state: MetabolismState, ev: EngineEvent) -> None:
        extra = ev.extra
        if ev.action is None and (
            not extra or ('"remove"' not in extra and '"reject"' not in extra)
        ):
            return  # only removals change who is in the group
        taken = taken_fields(ev)
        if taken is None or taken.get("engine") == ENGINE:
            return
        action = taken.get("action")
        details = taken.get("details")
        removed = action == "remove" or (
            action == "reject" and isinstance(details, dict) and details.get("remove") is True
        )
        if removed and ev.member is not None:
            if human(ev) and not self.permissions.allows(ev.group, ev.actor, NEEDS[str(action)]):
                return  # a removal not honoured (moderation's notice says why)
            self._gone(state, ev.group, ev.member)

    def _schedule(self, state: MetabolismState, group: str, when: int) -> None:
        scheduled = state.rechecks.get(group)
        if scheduled is not None and scheduled <= when:
            return
        state.rechecks[group] = when
        heapq.heappush(state.deadlines, (when, group, _RECHECK))
        state.due = state.deadlines[0][0]

    # --- deciding -----------------------------------------------------------------------

    def _deadlines(self, state: MetabolismState, ev: EngineEvent, out: list[Action]) -> None:
        heap = state.deadlines
        expired: dict[str, list[str]] = {}
        recheck: set[str] = set()
        while heap and heap[0][0] <= ev.ts:
            when, group, member = heapq.heappop(heap)
            state.due = heap[0][0] if heap else NO_DEADLINE
            if member == _RECHECK:
                if state.rechecks.get(group) == when:
                    del state.rechecks[group]
                    recheck.add(group)
                continue
            warned = state.warned.get((group, member))
            if warned is not None and warned[1] == when:
                expired.setdefault(group, []).append(member)
        for group in sorted(expired.keys() | recheck):
            tev = EngineEvent(ev.key, TICK, group, ev.ts)
            if group in expired:
                self._remove_expired(state, tev, expired[group], out)
            self._evaluate(state, tev, out)

    def _limits(self, group: str) -> tuple[int, int, int]:
        cap = self.caps[group]
        start = math.ceil(self.settings.at_share * cap - 1e-9)
        target = math.floor(self.settings.down_to_share * cap + 1e-9)
        return cap, start, target

    def _silence(self, presence: Presence) -> int:
        """The sort key: when they last spoke (or joined, if they never did)."""
        if presence.last is not None:
            return presence.last
        return -1 if presence.joined is None else presence.joined

    def _removable(self, state: MetabolismState, group: str, member: str, now: int) -> bool:
        if member in self.protected or member in state.bots:
            return False
        presence = state.members[group][member]
        return presence.joined is None or now - presence.joined >= self.new_seconds

    def _evaluate(self, state: MetabolismState, ev: EngineEvent, out: list[Action]) -> None:
        group = ev.group
        members = state.members.get(group)
        if not members:
            return
        cap, start, target = self._limits(group)
        count = len(members)
        if count >= start:
            state.active.add(group)
        elif group not in state.active:
            return
        if count <= target:
            state.active.discard(group)
            return
        s = self.settings
        now = ev.ts
        waiting = sum(1 for (g, _) in state.warned if g == group) if state.warned else 0
        need = count - target - (waiting if s.notify_first else 0)
        if need <= 0:
            return
        chosen: list[tuple[int, str]] = []
        lapse: int | None = None
        for member, presence in members.items():
            if (group, member) in state.warned:
                continue
            if self._removable(state, group, member, now):
                chosen.append((self._silence(presence), member))
            elif (
                presence.joined is not None
                and member not in self.protected
                and member not in state.bots
            ):
                ends = presence.joined + self.new_seconds
                lapse = ends if lapse is None else min(lapse, ends)
        take = min(need, s.max_per_run)
        picked = heapq.nsmallest(take, chosen)
        if len(chosen) < need and lapse is not None:
            self._schedule(state, group, lapse)
        fullness = f"{count}/{cap} ({count / cap:.0%}; metabolism starts at {s.at_share:.0%})"
        zone = self.zones[group]
        for rank, (_, member) in enumerate(picked, 1):
            silent = _silent_words(members[member], now, zone)
            mev = EngineEvent(ev.key, ev.kind, group, now, member)
            if s.notify_first:
                until = now + s.grace
                state.warned[(group, member)] = (now, until)
                heapq.heappush(state.deadlines, (until, group, member))
                state.due = state.deadlines[0][0]
                text = (
                    f"This group is nearly full and you have been {silent}. Post a message "
                    f"before {clock(until, zone)} to keep your place."
                )
                why = (
                    f"warned of removal: {silent}, the {_nth(rank)} removable "
                    f"member of a group at {fullness}; one message within the "
                    f"{duration_words(s.grace)} grace period (until {clock(until, zone)}) "
                    "keeps them in."
                )
                out.append(_act("warn_inactive", mev, why, {"grace_until": until, "text": text}))
            else:
                why = (
                    f"removed to make room: {silent}, the {_nth(rank)} "
                    f"removable member of a group at {fullness}; not warned first "
                    "(metabolism.notify_first = false)."
                )
                self._remove(state, mev, why, out)
        if len(members) <= target:
            state.active.discard(group)

    def _remove_expired(
        self, state: MetabolismState, ev: EngineEvent, expired: list[str], out: list[Action]
    ) -> None:
        group = ev.group
        members = state.members.get(group, {})
        cap, _, target = self._limits(group)
        count = len(members)
        need = min(count - target, self.settings.max_per_run)
        ranked = sorted(
            (self._silence(members[m]), m)
            for m in expired
            if m in members and self._removable(state, group, m, ev.ts)
        )
        zone = self.zones[group]
        for i, (_, member) in enumerate(ranked):
            warned_at, _until = state.warned.pop((group, member))
            if i >= need:
                continue  # the group has room again: released
            silent = _silent_words(members[member], ev.ts, zone)
            why = (
                f"removed to make room: {silent}; warned at {clock(warned_at, zone)} in a group "
                f"at {count}/{cap} and did not post within the "
                f"{duration_words(self.settings.grace)} grace period."
            )
            self._remove(state, EngineEvent(ev.key, TICK, group, ev.ts, member), why, out)
        for member in expired:  # protected meanwhile (e.g. tagged), or gone
            state.warned.pop((group, member), None)

    def _remove(self, state: MetabolismState, ev: EngineEvent, why: str, out: list[Action]) -> None:
        assert ev.member is not None
        out.append(_act("remove", ev, why, {"block_rejoin": False, "reason": "metabolism"}))
        self._gone(state, ev.group, ev.member)


def _act(kind: str, ev: EngineEvent, why: str, details: dict[str, object]) -> Action:
    return Action(kind, ev.group, ev.member, ev.ts, ENGINE, why, None, ev.key, dict(details))


def _silent_words(presence: Presence, now: int, zone: ZoneInfo) -> str:
    if presence.last is not None:
        day = datetime.fromtimestamp(presence.last, zone).strftime("%Y-%m-%d")
        return f"silent since {day} ({duration_words(now - presence.last)})"
    if presence.joined is not None:
        day = datetime.fromtimestamp(presence.joined, zone).strftime("%Y-%m-%d")
        return f"silent since joining on {day} ({duration_words(now - presence.joined)})"
    return "silent since before the log began"


def _nth(rank: int) -> str:
    return "longest-silent" if rank == 1 else f"{ordinal(rank)} longest-silent"
