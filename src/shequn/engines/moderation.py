"""The moderation engine: the playbook's rules with their penalty ladders, and trust levels.

Inputs
    ``message_posted`` (every rule but nickname; trust), ``message_edited`` (links and
    banned words: an edit must not smuggle in what a post could not), ``member_joined``
    / ``member_listed`` / ``member_renamed`` (nickname; trust starts on joining),
    ``member_left`` / ``member_removed``, ``action_taken`` (screening's restrict and
    unrestrict; penalties decided elsewhere, e.g. by a human, cost trust) and ticks
    (mutes end). A human's ``warn`` / ``notice`` / ``mute`` / ``remove`` (a stored
    ``action_taken``, not fed back, whatever engine it names) counts only when its ``actor``
    may give it in that group (``team.permissions``, the group's ``team``: team.py);
    otherwise it is ignored, and a ``notice`` to the actor (``rule``
    ``team.permissions``) says why.

State (per ``(group, member)`` and ``(group, member, rule)``)
    when the member joined, their trust level and accepted-message count, mute end,
    whether screening still restricts them, their recent message times and texts (one
    deque and one small dict for all flood and repeat rules), and the violations of each
    rule with the penalty each drew.

Counting
    A violation of a rule counts with the member's other violations of *that* rule in
    the rule's ``window`` before it; after ``warnings_expire_after`` without a violation
    the earlier ones are forgotten. At the n-th violation the ladder's highest step with
    ``at <= n`` is taken (a ladder never steps back: the 3rd of ``warn@1, notice@2,
    mute@4`` is a notice again). Members with an ``exempt_roles`` role or an
    ``exempt_tags`` tag are not judged by that rule; the team is never on probation.
    Bots' messages are not judged.

Actions
    ``delete_message`` (content rules: links, banned words, forwarded promotions,
    repeats; a flood is punished, its messages stay), ``warn`` / ``notice`` / ``mute``
    (``until``) / ``remove`` (``block_rejoin``), ``unmute`` when a mute ends,
    ``trust_changed`` (``level``) up when earned and down on penalties, and
    ``delete_message`` + ``notice`` for a link, image, mention or forward below the
    needed trust level. Every explanation names the rule, the count, the window and the
    penalties before it.
"""

from __future__ import annotations

import heapq
import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from shequn.engines.base import NO_DEADLINE, TICK, Action, EngineEvent, NativeEngine, taken_fields
from shequn.engines.rules import (
    DAY,
    FloodMatcher,
    ForwardMatcher,
    Lexicon,
    LinksMatcher,
    NicknameMatcher,
    RepeatMatcher,
    WordsMatcher,
    clock,
    duration_words,
    group_zones,
    link_domains,
    matcher_for,
    normalize,
    ordinal,
    tagged,
    team_roles,
)
from shequn.engines.team import NEEDS, REFUSED, TeamPermissions, human
from shequn.engines.trust import IMAGE_KINDS, TrustPolicy
from shequn.playbook.model import PenaltyStep, Playbook, Rule

ENGINE: Final = "moderation"
_NONE: Final[list[str]] = []
#: the actions fed back that moderation reads (a cheap test before parsing JSON)
_RELEVANT: Final = re.compile(
    r'"action":\s*"(?:restrict|unrestrict|approve|reject|warn|notice|mute|remove)"'
)
#: recent texts kept per member for the repeat rules (halved when full)
_KEEP_TEXTS: Final = 64
#: penalties that cost trust when another engine (or a human) decided them
_PENALTIES: Final = frozenset({"warn", "notice", "mute", "remove"})
#: engines whose actions are not penalties even when they remove someone
_NOT_PENALTIES: Final = frozenset({ENGINE, "screening", "metabolism", "scoring", "checkins"})
#: screening's actions that start or end a newcomer's restriction
_SCREENING: Final = frozenset({"restrict", "unrestrict", "approve", "reject"})


class MemberState:
    """What moderation knows about one member in one group."""

    __slots__ = (
        "accepted",
        "banned",
        "fired",
        "held_by",
        "joined",
        "level",
        "muted_until",
        "removed_by",
        "restricted",
        "since",
        "stamps",
        "texts",
    )

    def __init__(self, level: int) -> None:
        #: when they joined (``None``: present before the log started)
        self.joined: int | None = None
        #: trust: the level, when earning it (re)started (``None``: grandfathered) and
        #: the messages accepted since
        self.level = level
        self.since: int | None = None
        self.accepted = 0
        self.muted_until = 0
        self.restricted = False
        #: why moderation removed them (until they join again)
        self.removed_by: str | None = None
        #: the rule behind the current mute or removal (``None``: decided elsewhere)
        self.held_by: str | None = None
        #: ``(rule, ts)`` of a removal with ``block_rejoin``
        self.banned: tuple[str, int] | None = None
        #: recent message times (flood rules) and texts → times (repeat rules)
        self.stamps: deque[int] | None = None
        self.texts: dict[str, list[int]] | None = None
        #: (rule index, text or "") → when that rule last fired (its burst is over)
        self.fired: dict[tuple[int, str], int] | None = None


@dataclass
class ModerationState:
    members: dict[tuple[str, str], MemberState] = field(default_factory=dict)
    #: (group, member, rule) → [(ts, penalty action or None)], oldest first
    violations: dict[tuple[str, str, str], list[tuple[int, str | None]]] = field(
        default_factory=dict
    )
    #: (until, group, member): mutes to lift (stale entries are skipped)
    unmutes: list[tuple[int, str, str]] = field(default_factory=list)
    #: the earliest of ``unmutes`` (NO_DEADLINE: none), read by the runner (keeps_due)
    due: int = NO_DEADLINE


_VERBS: Final = {"warn": "warned", "notice": "sent a notice", "remove": "removed"}
#: a penalty as a noun ("the mute of telegram:bob is ignored")
_NOUNS: Final = {"warn": "warning", "notice": "notice", "mute": "mute", "remove": "removal"}


class CompiledRule:
    """One playbook rule, ready for the hot path."""

    __slots__ = (
        "deletes",
        "description",
        "exempt",
        "expire",
        "id",
        "index",
        "ladder",
        "last_step",
        "matcher",
        "steps",
        "window",
    )

    def __init__(self, index: int, rule: Rule, exempt: frozenset[str]) -> None:
        self.index = index
        self.id = rule.id
        self.description = rule.description
        self.matcher = matcher_for(rule)
        self.exempt = exempt
        self.window = rule.window
        self.expire = rule.warnings_expire_after
        self.deletes = not isinstance(self.matcher, FloodMatcher | NicknameMatcher)
        top = rule.penalty[-1].at
        ladder: list[PenaltyStep | None] = [None] * (top + 1)
        for step in rule.penalty:
            for n in range(step.at, top + 1):
                ladder[n] = step
        self.ladder = tuple(ladder)
        self.last_step = rule.penalty[-1]
        self.steps = tuple(rule.penalty)

    def step_at(self, count: int) -> PenaltyStep | None:
        return self.ladder[count] if count < len(self.ladder) else self.last_step


class ModerationEngine(NativeEngine):
    """Rules, penalty ladders and trust levels (see the module docstring)."""

    name: ClassVar[str] = ENGINE
    #: the event kinds it takes (ticks and others only when a mute ends)
    kinds: ClassVar[frozenset[str]] = frozenset(
        {
            "message_posted",
            "message_edited",
            "action_taken",
            "member_joined",
            "member_listed",
            "member_renamed",
            "member_left",
            "member_removed",
        }
    )

    def __init__(self, playbook: Playbook) -> None:
        self.zones = group_zones(playbook)
        roles = team_roles(playbook)
        self.team = frozenset(roles)
        #: who may warn, mute and remove where, computed once (read on a human's action)
        self.permissions = TeamPermissions(playbook)
        self.trust = TrustPolicy(playbook.trust)
        rules: list[CompiledRule] = []
        for i, rule in enumerate(playbook.rules):
            exempt_roles = set(rule.exempt_roles)
            exempt = {m for m, r in roles.items() if r & exempt_roles}
            exempt |= tagged(playbook, rule.exempt_tags)
            rules.append(CompiledRule(i, rule, frozenset(exempt)))
        self.rules = tuple(rules)
        self.links_rules = tuple(
            (r, r.matcher) for r in rules if isinstance(r.matcher, LinksMatcher)
        )
        self.words_rules = tuple(
            (r, r.matcher) for r in rules if isinstance(r.matcher, WordsMatcher)
        )
        self.forward_rules = tuple(
            (r, r.matcher) for r in rules if isinstance(r.matcher, ForwardMatcher)
        )
        self.flood_rules = tuple(
            (r, r.matcher) for r in rules if isinstance(r.matcher, FloodMatcher)
        )
        self.repeat_rules = tuple(
            (r, r.matcher) for r in rules if isinstance(r.matcher, RepeatMatcher)
        )
        self.nickname_rules = tuple(
            (r, r.matcher) for r in rules if isinstance(r.matcher, NicknameMatcher)
        )
        self.lexicon = Lexicon([(r.index, m) for r, m in self.words_rules])
        self.need_domains = bool(self.links_rules) or "links" in self.trust.needed
        self.reads_text = bool(
            self.need_domains or self.words_rules or self.repeat_rules or self.forward_rules
        )
        #: flood: how many message times to keep, and the fewest any rule needs to fire
        self.flood_keep = max((m.messages + 1 for _, m in self.flood_rules), default=1)
        self.flood_least = min((m.messages for _, m in self.flood_rules), default=0)
        self.flood_longest = max((m.within for _, m in self.flood_rules), default=0)
        #: repeat: how long a text's times are kept
        self.repeat_keep = max((m.within for _, m in self.repeat_rules), default=0)
        self.repeat_least = min((m.times for _, m in self.repeat_rules), default=0)

    # --- the contract -------------------------------------------------------------------

    def start(self) -> ModerationState:
        return ModerationState()

    def next_deadline(self, state: ModerationState) -> int | None:
        return state.unmutes[0][0] if state.unmutes else None

    @staticmethod
    def reads_feedback(engine: str, kind: str) -> bool:
        """Screening's restrictions and decisions; penalties decided elsewhere."""
        if engine == "screening":
            return kind in _SCREENING
        return engine not in _NOT_PENALTIES and kind in _PENALTIES

    def advance(self, state: ModerationState, event: EngineEvent, out: list[Action]) -> int:
        if event.group not in self.zones:
            return state.due
        if state.due <= event.ts:
            self._lift_mutes(state, event, out)
        kind = event.kind
        if kind == "message_posted":
            self._message(state, event, out, False)
        elif kind == TICK:
            pass
        elif kind == "message_edited":
            self._message(state, event, out, True)
        elif kind == "action_taken":
            self._action_taken(state, event, out)
        elif kind in ("member_joined", "member_listed", "member_renamed"):
            self._member(state, event, out)
        elif kind in ("member_left", "member_removed") and event.member is not None:
            ms = state.members.get((event.group, event.member))
            if ms is not None:
                ms.restricted = False
        return state.due

    # --- messages -----------------------------------------------------------------------

    def _message(
        self, state: ModerationState, ev: EngineEvent, out: list[Action], edited: bool
    ) -> None:
        member = ev.member
        if member is None or ev.is_bot:
            return
        key = (ev.group, member)
        ms = state.members.get(key)
        if ms is None:
            ms = state.members[key] = MemberState(self.trust.top)
        if ms.restricted:
            return  # screening decides what happens to a pending newcomer's messages
        ts = ev.ts
        if ms.muted_until > ts or ms.removed_by is not None:
            if ms.muted_until > ts:
                why = f"muted until {clock(ms.muted_until, self.zones[ev.group], ts)}"
                why += f" by rule {ms.held_by}" if ms.held_by is not None else ""
            else:
                why = str(ms.removed_by)
            out.append(self._delete(ev, f"deleted: posted while {why}.", ms.held_by))
            return
        text = ev.text
        if text and self.reads_text:
            # normalize(text), its ASCII case inlined; link_domains wants a dot
            clean, low = (text, text.lower()) if text.isascii() else normalize(text)
            domains = link_domains(low) if self.need_domains and "." in low else _NONE
        else:
            clean = low = ""
            domains = _NONE
        fired: list[tuple[CompiledRule, str]] = []
        if domains:
            age = None if ms.joined is None else ts - ms.joined
            for rule, links in self.links_rules:
                finding = None if member in rule.exempt else links.check(domains, age)
                if finding is not None:
                    fired.append((rule, finding))
        if low and self.words_rules:
            words = self.lexicon.find(clean, low)
            if words:
                rules = self.rules
                for index in sorted(words):
                    if member not in rules[index].exempt:
                        fired.append((rules[index], words[index]))
        if not edited:
            if ev.forwarded_from is not None:
                for rule, forward in self.forward_rules:
                    if member in rule.exempt:
                        continue
                    if (finding := forward.check(ev.forwarded_from, low)) is not None:
                        fired.append((rule, finding))
            if self.flood_rules:  # _flood's cheap part inlined: most messages end here
                stamps = ms.stamps
                if stamps is None:
                    stamps = ms.stamps = deque(maxlen=self.flood_keep)
                stamps.append(ts)
                least = self.flood_least
                if len(stamps) > least and ts - stamps[-least - 1] < self.flood_longest:
                    self._flood(ms, member, ts, stamps, fired)
            if low and self.repeat_rules:
                self._repeat(ms, member, low, ts, fired)
        deleted = False
        if fired:
            if len(fired) > 1:
                fired.sort(key=lambda f: f[0].index)
            for rule, finding in fired:
                if rule.deletes and not deleted:
                    why = f"deleted: {finding} breaks rule {rule.id}"
                    why += f" ({rule.description})." if rule.description else "."
                    out.append(self._delete(ev, why, rule.id))
                    deleted = True
                self._violation(state, ev, ms, rule, finding, out)
        trust = self.trust
        if not trust.enabled or member in self.team:
            if not fired and not edited:
                ms.accepted += 1
            return
        # _earned's own first tests, inlined: most members have nothing left to earn now
        level = ms.level
        since = ms.since
        if since is not None and level < trust.top:
            gate = trust.gate.get(level)
            if gate is not None and ts - since >= gate[0] and ms.accepted >= gate[1]:
                level = self._earned(ev, ms, out)
        if not deleted and (
            domains or ev.attachment_kind or ev.mentions or ev.forwarded_from is not None
        ):
            caps = []
            if domains:
                caps.append("links")
            if ev.attachment_kind in IMAGE_KINDS:
                caps.append("images")
            if ev.mentions:
                caps.append("mentions")
            if ev.forwarded_from is not None:
                caps.append("forwards")
            if caps and (need := trust.blocked(level, caps)) is not None:
                cap = next(c for c in caps if trust.needed.get(c) is need)
                present = 0 if ms.since is None else ts - ms.since
                notice = trust.why_blocked(cap, need, level, present, ms.accepted)
                out.append(
                    self._delete(
                        ev, f"deleted: {cap} below the needed trust level. " + notice, None
                    )
                )
                out.append(self._act("notice", ev, notice, None, {"text": notice}))
                deleted = True
        if not fired and not deleted and not edited:
            ms.accepted += 1
            if since is not None and ms.level < trust.top:
                gate = trust.gate.get(ms.level)
                if gate is not None and ts - since >= gate[0] and ms.accepted >= gate[1]:
                    self._earned(ev, ms, out)

    def _flood(
        self,
        ms: MemberState,
        member: str,
        ts: int,
        stamps: deque[int],
        fired: list[tuple[CompiledRule, str]],
    ) -> None:
        """The flood rules, once ``ts`` is in ``stamps`` and enough messages fall within
        the longest rule's window for one to fire (the caller checks)."""
        for rule, flood in self.flood_rules:
            if member in rule.exempt:
                continue
            since = -1 if ms.fired is None else ms.fired.get((rule.index, ""), -1)
            if (finding := flood.check(stamps, ts, since)) is not None:
                if ms.fired is None:
                    ms.fired = {}
                ms.fired[(rule.index, "")] = ts
                fired.append((rule, finding))

    def _repeat(
        self,
        ms: MemberState,
        member: str,
        low: str,
        ts: int,
        fired: list[tuple[CompiledRule, str]],
    ) -> None:
        # " ".join(low.split()): in a printable text the only whitespace is " " (over
        # all of Unicode), so one without runs or ends of spaces is its own normal form
        if low.isprintable() and "  " not in low and low[0] != " " and low[-1] != " ":
            text = low
        else:
            text = " ".join(low.split())
            if not text:
                return
        texts = ms.texts
        if texts is None:
            texts = ms.texts = {}
        stamps = texts.get(text)
        if stamps is None:
            if len(texts) >= _KEEP_TEXTS:
                keep = self.repeat_keep
                kept = [(k, v) for k, v in texts.items() if ts - v[-1] < keep]
                texts = ms.texts = dict(kept[-_KEEP_TEXTS // 2 :])
            texts[text] = [ts]
            return  # a first copy repeats nothing
        if ts - stamps[0] >= self.repeat_keep:
            if len(stamps) == 1:  # the common case: one earlier copy, too old to count
                stamps.clear()
            else:
                stamps[:] = [t for t in stamps if ts - t < self.repeat_keep]
        stamps.append(ts)
        if len(stamps) < self.repeat_least:
            return
        for rule, repeat in self.repeat_rules:
            if member in rule.exempt:
                continue
            since = -1 if ms.fired is None else ms.fired.get((rule.index, text), -1)
            if (finding := repeat.check(stamps, text, ts, since)) is not None:
                if ms.fired is None:
                    ms.fired = {}
                ms.fired[(rule.index, text)] = ts
                fired.append((rule, finding))

    def _earned(self, ev: EngineEvent, ms: MemberState, out: list[Action]) -> int:
        """The member's trust level now, raised (with ``trust_changed``) if earned."""
        if ms.since is None or ms.level >= self.trust.top:
            return ms.level
        present = ev.ts - ms.since
        level = self.trust.level_for(present, ms.accepted)
        if level > ms.level:
            ms.level = level
            may = sorted(cap for cap, need in self.trust.needed.items() if need.level <= level)
            why = (
                f"trust raised to {self.trust.name(level)}: {present // DAY} days in the group "
                f"and {ms.accepted} accepted messages"
                + (f"; may now post {', '.join(may)}." if may else ".")
            )
            out.append(self._act("trust_changed", ev, why, None, {"level": level}))
        return ms.level

    # --- violations and the ladder ------------------------------------------------------

    def _violation(
        self,
        state: ModerationState,
        ev: EngineEvent,
        ms: MemberState,
        rule: CompiledRule,
        finding: str,
        out: list[Action],
    ) -> None:
        member = ev.member
        assert member is not None
        ts = ev.ts
        vkey = (ev.group, member, rule.id)
        history = state.violations.get(vkey)
        if history is None:
            history = state.violations[vkey] = []
        expired = ""
        if history:
            if ts - history[-1][0] >= rule.expire:
                expired = (
                    f"; earlier warnings expired after {duration_words(rule.expire)} "
                    "without a violation"
                )
                history.clear()
            else:
                floor = ts - rule.window
                drop = 0
                while drop < len(history) and history[drop][0] <= floor:
                    drop += 1
                if drop:
                    del history[:drop]
        count = len(history) + 1
        step = rule.step_at(count)
        zone = self.zones[ev.group]
        before = [f"{a} at {clock(t, zone, ts)}" for t, a in history if a is not None]
        history.append((ts, None if step is None else step.action))
        what = (
            f"{ordinal(count)} violation of rule {rule.id} within "
            f"{duration_words(rule.window)}: {finding}"
        )
        after = f", after {', '.join(before)}" if before else ""
        if step is None:
            return  # below the ladder's first step: counted, not punished
        action = step.action
        details: dict[str, Any] = {"count": count, "window": rule.window}
        if action == "mute":
            assert step.duration is not None
            until = max(ts + step.duration, ms.muted_until)
            ms.muted_until = until
            ms.held_by = rule.id
            heapq.heappush(state.unmutes, (until, ev.group, member))
            state.due = state.unmutes[0][0]
            details["until"] = until
            verb = f"muted for {duration_words(step.duration)}"
        elif action == "remove":
            details["block_rejoin"] = step.block_rejoin
            verb = "removed" + (" (may not rejoin)" if step.block_rejoin else "")
            ms.removed_by = f"removed at {clock(ts, zone)} by rule {rule.id}"
            ms.held_by = rule.id
            if step.block_rejoin:
                ms.banned = (rule.id, ts)
        else:
            verb = _VERBS[action]
        why = f"{verb}: {what}{after}{expired}."
        if action in ("warn", "notice", "mute"):
            details["text"] = self._to_member(rule, finding, count, verb)
        out.append(self._act(action, ev, why, rule.id, details))
        self._lose_trust(ev, ms, f"the {action} by rule {rule.id}", out)

    @staticmethod
    def _to_member(rule: CompiledRule, finding: str, count: int, verb: str) -> str:
        """What the member reads: the rule, what broke it, and what comes next."""
        name = f"{rule.id} ({rule.description})" if rule.description else rule.id
        text = (
            f"Rule {name}: {finding}. You have been {verb}; this is your "
            f"{ordinal(count)} time within {duration_words(rule.window)}."
        )
        later = next((s for s in rule.steps if s.at > count), None)
        if later is not None:
            then = {
                "warn": "a warning",
                "notice": "a notice",
                "mute": "a mute",
                "remove": "removal",
            }[later.action]
            text += f" At the {ordinal(later.at)}: {then}."
        return text

    def _lose_trust(self, ev: EngineEvent, ms: MemberState, cause: str, out: list[Action]) -> None:
        trust = self.trust
        if not trust.enabled or not trust.lose_on_penalty or ev.member in self.team:
            return
        old = ms.level
        ms.level, ms.since, ms.accepted = trust.lowest, ev.ts, 0
        if old != trust.lowest:
            first = trust.levels[1] if len(trust.levels) > 1 else trust.levels[0]
            why = (
                f"trust lowered from {trust.name(old)} to {trust.name(trust.lowest)} after "
                f"{cause} at {clock(ev.ts, self.zones[ev.group])}; it is earned again after "
                f"{first.min_days} days and {first.min_messages} accepted messages."
            )
            out.append(self._act("trust_changed", ev, why, None, {"level": trust.lowest}))

    def _lift_mutes(self, state: ModerationState, ev: EngineEvent, out: list[Action]) -> None:
        heap = state.unmutes
        while heap and heap[0][0] <= ev.ts:
            until, group, member = heapq.heappop(heap)
            state.due = heap[0][0] if heap else NO_DEADLINE
            ms = state.members.get((group, member))
            if ms is None or ms.muted_until != until:
                continue  # extended, or already lifted
            ms.muted_until = 0
            why = f"unmuted: the mute ended at {clock(until, self.zones[group], ev.ts)}."
            out.append(Action("unmute", group, member, ev.ts, ENGINE, why, None, ev.key))

    # --- members ------------------------------------------------------------------------

    def _member(self, state: ModerationState, ev: EngineEvent, out: list[Action]) -> None:
        member = ev.member
        if member is None or ev.is_bot:
            return
        key = (ev.group, member)
        ms = state.members.get(key)
        kind = ev.kind
        if ms is None:
            ms = state.members[key] = MemberState(self.trust.top)
            if kind != "member_renamed":
                ms.joined = ms.since = ev.ts
                ms.level = self.trust.lowest
        elif kind == "member_joined":
            ms.joined = ms.since = ev.ts
            ms.level, ms.accepted = self.trust.lowest, 0
            ms.removed_by = None
            if ms.banned is not None and member not in self.team:
                banned_by, when = ms.banned
                why = (
                    f"removed again: rejoined after being removed at "
                    f"{clock(when, self.zones[ev.group], ev.ts)} by rule {banned_by}, "
                    "which blocks rejoining."
                )
                out.append(self._act("remove", ev, why, banned_by, {"block_rejoin": True}))
                return
        if not self.nickname_rules:
            return
        # a rename's text is the new name; else the event's own name (or one in extra)
        renamed = kind == "member_renamed"
        name = ev.text if renamed else ev.member_name or _name_from_extra(ev.extra)
        if not name:
            return
        for rule, nickname in self.nickname_rules:
            if member not in rule.exempt and (finding := nickname.check(name)) is not None:
                self._violation(state, ev, ms, rule, finding, out)

    def _action_taken(self, state: ModerationState, ev: EngineEvent, out: list[Action]) -> None:
        member = ev.member
        if member is None:
            return
        if ev.action is None and (not ev.extra or _RELEVANT.search(ev.extra) is None):
            return  # points, badges, notices of other engines: not moderation's business
        taken = taken_fields(ev)
        if taken is None:
            return
        action, engine = taken.get("action"), taken.get("engine")
        if action in _PENALTIES and human(ev):
            # a human's penalty (whatever engine it names): only from a team member
            # allowed to give it, here
            refused = self.permissions.refusal(ev.group, ev.actor, NEEDS[action])
            if refused is not None:
                why = f"not honoured: {refused}; the {_NOUNS[action]} of {member} is ignored."
                text = f"Your {_NOUNS[action]} of {member} was not applied: {refused}."
                told = {
                    "text": text,
                    "refused": "permission",
                    "permission": NEEDS[action],
                    "about": member,
                }
                out.append(
                    Action("notice", ev.group, ev.actor, ev.ts, ENGINE, why, REFUSED, ev.key, told)
                )
                return
        if engine == ENGINE:
            return
        key = (ev.group, member)
        ms = state.members.get(key)
        if ms is None:
            ms = state.members[key] = MemberState(self.trust.top)
        if engine == "screening":
            if action == "restrict":
                ms.restricted = True
            elif action in ("unrestrict", "approve", "reject"):
                ms.restricted = False
            return
        if engine in _NOT_PENALTIES or action not in _PENALTIES:
            return
        details = taken.get("details")
        if action == "mute" and isinstance(details, dict):
            until = details.get("until")
            if isinstance(until, int) and until > ms.muted_until:
                ms.muted_until = until
                ms.held_by = None
                heapq.heappush(state.unmutes, (until, ev.group, member))
                state.due = state.unmutes[0][0]
        if action == "remove":
            ms.removed_by = f"removed at {clock(ev.ts, self.zones[ev.group])} by {engine}"
            ms.held_by = None
        self._lose_trust(ev, ms, f"the {action} by {engine or 'the team'}", out)

    # --- actions ------------------------------------------------------------------------

    @staticmethod
    def _act(
        kind: str, ev: EngineEvent, why: str, rule: str | None, details: dict[str, Any]
    ) -> Action:
        return Action(kind, ev.group, ev.member, ev.ts, ENGINE, why, rule, ev.key, details)

    @staticmethod
    def _delete(ev: EngineEvent, why: str, rule: str | None) -> Action:
        details = {"event": ev.key, "message": ev.platform_id}
        return Action(
            "delete_message", ev.group, ev.member, ev.ts, ENGINE, why, rule, ev.key, details
        )


def _name_from_extra(extra: str | None) -> str | None:
    """A display name a connector put in ``extra`` (``member_name``/``name``) of an event
    whose ``member_name`` is empty."""
    if not extra or "name" not in extra:
        return None
    try:
        data = json.loads(extra)
    except ValueError:
        return None
    if isinstance(data, dict):
        for field_name in ("member_name", "name"):
            value = data.get(field_name)
            if isinstance(value, str) and value:
                return value
    return None
