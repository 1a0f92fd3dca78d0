"""The screening engine: the entry ritual (入群仪式) — questions, captcha or task, welcome.

Inputs
    ``member_joined`` (a newcomer is restricted and asked), ``join_requested`` (an
    application; ``extra`` may carry ``{"answers": [...]}``, a list in question order,
    ``{question: answer}`` or ``[{"question", "answer"}]``), ``message_posted`` by a
    pending applicant (their answer — and held or deleted, per ``before_passing``),
    ``join_decided`` (a human's decision: ``extra`` ``{"decision": "approve"|"reject"}``
    or the text ``approve``/``reject``), ``member_left`` / ``member_removed`` and ticks
    (time limits).

Steps, in order
    the captcha (a 4-digit code derived from the join's event key, to type back; wrong
    codes may be retried until the time limit), each question (``accept``: equal
    without case and surrounding spaces; ``pattern``: the whole answer must match), the
    task (the next message is the submission). Then ``decision = "auto"`` approves when
    every answer is accepted and rejects otherwise; ``"queue"`` waits for a human's
    ``join_decided``. At the time limit ``on_timeout`` rejects or queues.

Who decides
    a ``join_decided`` is honoured only when its ``actor`` may ``approve`` in that group
    (``team.permissions``; a group's ``team`` list, the owner everywhere: team.py).
    Otherwise nothing changes — a queued request stays queued, an applicant goes on
    with screening, an early approval lets nobody in unscreened — and a ``notice`` to
    the actor (``rule`` ``team.permissions``; to the team when no actor is named) says
    why: "not honoured: telegram:x may not decide join requests in Makers (not on the
    team); telegram:new's request stays queued."

Who is screened
    everyone who joins or applies, except the team, bots, members let in by an approved
    join request, members listed in a roster (already there), and — with
    ``screen_invitees = false`` — members added or invited by another member.

Actions
    ``restrict`` on joining, ``notice`` (the prompts, privately), ``hold_message`` or
    ``delete_message`` for what they post before passing, ``approve`` + ``unrestrict`` +
    ``release_message`` for each held message but the captcha codes (answers, the task,
    what they wrote while queued: now shown; they earn no points, having been posted
    before the member passed) + ``post_message`` (the welcome: the playbook's
    ``welcome``, its positioning — purpose, audience, topics, goals — and the rules) on
    passing, ``reject`` (details
    ``clean``, ``remove`` when they are in the group) on failing, with
    ``delete_message`` for their held messages and the join notice when
    ``clean_failed``.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from shequn.engines.base import NO_DEADLINE, TICK, Action, EngineEvent, NativeEngine
from shequn.engines.rules import (
    clock,
    duration_words,
    group_zones,
    normalize,
    team_roles,
)
from shequn.engines.team import REFUSED, TeamPermissions
from shequn.playbook.model import Playbook, Positioning, Question

ENGINE: Final = "screening"


class Applicant:
    """One pending newcomer (or applicant) in one group."""

    __slots__ = (
        "answers",
        "captcha",
        "codes",
        "deadline",
        "in_group",
        "join_trace",
        "messages",
        "prefilled",
        "queued",
        "restricted",
        "since",
        "step",
        "token",
    )

    def __init__(self, ev: EngineEvent, in_group: bool, deadline: int, captcha: str) -> None:
        self.since = ev.ts
        self.deadline = deadline
        self.in_group = in_group
        self.restricted = False
        #: the event that started it (its key names deadlines; stale ones are skipped)
        self.token = ev.key
        #: the join notice, cleaned up if they fail: (event key, platform id)
        self.join_trace = (ev.key, ev.platform_id) if in_group else None
        self.captcha = captcha
        self.step = 0
        #: (question or "task", answer, accepted)
        self.answers: list[tuple[str, str, bool]] = []
        #: answers a join request carried, taken when their question comes
        self.prefilled: list[str] = []
        #: held messages (event key, platform id), cleaned up if they fail
        self.messages: list[tuple[str, str | None]] = []
        #: the keys of those that were captcha attempts: not released when they pass
        self.codes: set[str] = set()
        self.queued = False


@dataclass
class ScreeningState:
    pending: dict[tuple[str, str], Applicant] = field(default_factory=dict)
    #: (deadline, group, member, token): time limits (stale entries are skipped)
    deadlines: list[tuple[int, str, str, str]] = field(default_factory=list)
    #: the earliest of ``deadlines`` (NO_DEADLINE: none), read by the runner (keeps_due)
    due: int = NO_DEADLINE
    #: join requests approved, whose member_joined must not be screened again
    approved: set[tuple[str, str]] = field(default_factory=set)


class ScreeningEngine(NativeEngine):
    """Questions, captcha, task and welcome for newcomers (see the module docstring)."""

    name: ClassVar[str] = ENGINE
    #: the event kinds it takes (ticks and others only when a time limit is due)
    kinds: ClassVar[frozenset[str]] = frozenset(
        {
            "message_posted",
            "member_joined",
            "join_requested",
            "join_decided",
            "member_left",
            "member_removed",
        }
    )

    def __init__(self, playbook: Playbook) -> None:
        s = playbook.screening
        self.enabled = s.enabled
        self.settings = s
        self.zones = group_zones(playbook)
        self.team = frozenset(team_roles(playbook))
        #: who may decide join requests where (``approve``), computed once
        self.permissions = TeamPermissions(playbook)
        self.questions = tuple(s.questions)
        self.patterns = tuple(
            None if q.pattern is None else re.compile(q.pattern, re.S) for q in s.questions
        )
        self.accepted = tuple(frozenset(_norm(a) for a in q.accept) for q in s.questions)
        #: the steps: "captcha", then question indexes, then "task"
        steps: list[str | int] = ["captcha"] if s.captcha else []
        steps += list(range(len(s.questions)))
        if s.task:
            steps.append("task")
        self.steps = tuple(steps)
        rules = [f"• {r.description or r.id}" for r in playbook.rules]
        parts = [s.welcome.strip(), positioning_text(playbook.positioning)]
        if rules:
            parts.append("Rules:\n" + "\n".join(rules))
        #: the welcome with the positioning and the rules, built once
        self.welcome = "\n\n".join(part for part in parts if part)
        self.welcome_why = (
            "welcome with the group's positioning and rules, on passing screening."
            if parts[1]
            else "welcome with the group rules, on passing screening."
        )

    # --- the contract -------------------------------------------------------------------

    def start(self) -> ScreeningState:
        return ScreeningState()

    def next_deadline(self, state: ScreeningState) -> int | None:
        return state.deadlines[0][0] if state.deadlines else None

    @staticmethod
    def reads_feedback(engine: str, kind: str) -> bool:
        """Screening acts on no other engine's action."""
        return False

    def advance(self, state: ScreeningState, event: EngineEvent, out: list[Action]) -> int:
        if not self.enabled or event.group not in self.zones:
            return state.due
        if state.due <= event.ts:
            self._timeouts(state, event, out)
        kind = event.kind
        member = event.member
        if kind == TICK or member is None:
            return state.due
        if kind == "message_posted":  # most messages: nobody is pending
            applicant = state.pending.get((event.group, member)) if state.pending else None
            if applicant is not None:
                self._message(state, event, applicant, out)
            return state.due
        key = (event.group, member)
        if kind == "member_joined":
            self._joined(state, event, out)
        elif kind == "join_requested":
            if key not in state.pending and self._screened(event):
                self._begin(state, event, in_group=False, out=out)
        elif kind == "join_decided":
            self._decided(state, event, out)
        elif kind in ("member_left", "member_removed"):
            applicant = state.pending.pop(key, None)
            if applicant is not None:
                why = f"cleaned up: left before passing screening ({kind.replace('_', ' ')})"
                self._clean(event, applicant, why, out)
        return state.due

    # --- starting ---------------------------------------------------------------------

    def _screened(self, ev: EngineEvent) -> bool:
        if ev.member in self.team or ev.is_bot:
            return False
        invited = ev.join_method == "added" or (ev.actor is not None and ev.actor != ev.member)
        return self.settings.screen_invitees or not invited

    def _joined(self, state: ScreeningState, ev: EngineEvent, out: list[Action]) -> None:
        assert ev.member is not None
        key = (ev.group, ev.member)
        if key in state.approved:
            state.approved.discard(key)
            return
        if ev.join_method == "request_approved" or not self._screened(ev):
            return
        applicant = state.pending.get(key)
        if applicant is not None:
            if not applicant.in_group:  # applied, now let in before deciding: restrict
                applicant.in_group = True
                applicant.join_trace = (ev.key, ev.platform_id)
                out.append(self._restrict(ev, applicant))
            return
        self._begin(state, ev, in_group=True, out=out)

    def _begin(
        self, state: ScreeningState, ev: EngineEvent, *, in_group: bool, out: list[Action]
    ) -> None:
        assert ev.member is not None
        s = self.settings
        code = (
            f"{int(hashlib.md5(ev.key.encode()).hexdigest()[:8], 16) % 9000 + 1000}"
            if s.captcha
            else ""
        )
        applicant = Applicant(ev, in_group, ev.ts + s.time_limit, code)
        state.pending[(ev.group, ev.member)] = applicant
        heapq.heappush(state.deadlines, (applicant.deadline, ev.group, ev.member, applicant.token))
        state.due = state.deadlines[0][0]
        if in_group and (self.steps or s.decision == "queue"):
            out.append(self._restrict(ev, applicant))  # nothing to ask: no need
        if ev.kind == "join_requested":
            applicant.prefilled = _answers(ev.extra, self.questions)
        self._next(state, ev, applicant, out)

    def _restrict(self, ev: EngineEvent, applicant: Applicant) -> Action:
        applicant.restricted = True
        ask = self._what_is_asked()
        why = (
            f"restricted until screening is passed: joined at "
            f"{clock(ev.ts, self.zones[ev.group])} and must {ask} within "
            f"{duration_words(self.settings.time_limit)}."
        )
        return self._act(
            "restrict", ev, why, {"until_passed": True, "deadline": applicant.deadline}
        )

    def _what_is_asked(self) -> str:
        parts = []
        if self.settings.captcha:
            parts.append("type a captcha code")
        if self.questions:
            n = len(self.questions)
            parts.append(f"answer {n} question{'s' if n > 1 else ''}")
        if self.settings.task:
            parts.append("finish a task")
        if not parts:
            return "wait for the team's decision"
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]

    # --- answering ----------------------------------------------------------------------

    def _message(
        self, state: ScreeningState, ev: EngineEvent, applicant: Applicant, out: list[Action]
    ) -> None:
        s = self.settings
        if applicant.in_group:
            why = "posted before passing screening"
            if s.before_passing == "hold":
                applicant.messages.append((ev.key, ev.platform_id))
                out.append(
                    self._act(
                        "hold_message",
                        ev,
                        f"held for review: {why}.",
                        {"event": ev.key, "message": ev.platform_id},
                    )
                )
            else:
                out.append(
                    self._act(
                        "delete_message",
                        ev,
                        f"deleted: {why}.",
                        {"event": ev.key, "message": ev.platform_id},
                    )
                )
        if applicant.queued or applicant.step >= len(self.steps):
            return
        text = (ev.text or "").strip()
        if self.steps[applicant.step] == "captcha":
            applicant.codes.add(ev.key)
            if _norm(text) != applicant.captcha:
                why = f"captcha not matched; asked again for the code {applicant.captcha}."
                out.append(
                    self._notice(
                        ev, why, f"That was not the code. Please type {applicant.captcha}."
                    )
                )
                return
            applicant.step += 1
        elif self.steps[applicant.step] == "task":
            if not text and ev.attachment_kind is None:
                return
            applicant.answers.append(("task", text, True))
            applicant.step += 1
        else:
            self._take_answer(applicant, text)
        self._next(state, ev, applicant, out)

    def _take_answer(self, applicant: Applicant, answer: str) -> None:
        index = self.steps[applicant.step]
        assert isinstance(index, int)
        pattern = self.patterns[index]
        ok = _norm(answer) in self.accepted[index] or (
            pattern is not None and pattern.fullmatch(answer.strip()) is not None
        )
        applicant.answers.append((self.questions[index].ask, answer, ok))
        applicant.step += 1

    def _next(
        self, state: ScreeningState, ev: EngineEvent, applicant: Applicant, out: list[Action]
    ) -> None:
        """Ask the next step, or decide when none is left."""
        while applicant.step < len(self.steps):
            index = self.steps[applicant.step]
            if not isinstance(index, int) or index >= len(applicant.prefilled):
                break
            self._take_answer(applicant, applicant.prefilled[index])
        if applicant.step < len(self.steps):
            step = self.steps[applicant.step]
            left = duration_words(max(applicant.deadline - ev.ts, 0))
            if step == "captcha":
                prompt = f"To join, please type this code within {left}: {applicant.captcha}"
                why = "asked for the captcha code."
            elif step == "task":
                prompt = f"Your task (within {left}): {self.settings.task}"
                why = "asked to finish the screening task."
            else:
                assert isinstance(step, int)
                n = len(self.questions)
                prompt = (
                    f"Question {step + 1} of {n} (answer within {left}): {self.questions[step].ask}"
                )
                why = f"asked screening question {step + 1} of {n}."
            out.append(self._notice(ev, why, prompt))
            return
        if self.settings.decision == "queue":
            self._queue(ev, applicant, "answered everything", out)
            return
        wrong = [(ask, answer) for ask, answer, ok in applicant.answers if not ok]
        if wrong:
            ask, answer = wrong[0]
            shown = answer if len(answer) <= 40 else answer[:39] + "…"
            reason = f"the answer to “{ask}” (“{shown}”) is not accepted"
            if len(wrong) > 1:
                reason += f", nor {len(wrong) - 1} other answer{'s' if len(wrong) > 2 else ''}"
            self._fail(state, ev, applicant, reason, out)
        else:
            self._pass(state, ev, applicant, self._passed_reason(ev, applicant), None, out)

    def _passed_reason(self, ev: EngineEvent, applicant: Applicant) -> str:
        done = []
        if self.settings.captcha:
            done.append("typed the captcha")
        if self.questions:
            n = len(self.questions)
            done.append(
                f"answered all {n} questions acceptably"
                if n > 1
                else "answered the question acceptably"
            )
        if self.settings.task:
            done.append("submitted the task")
        if not done:
            return "screening asks no captcha, questions or task"
        since = "joining" if applicant.in_group else "asking to join"
        return f"{' and '.join(done)}, {duration_words(ev.ts - applicant.since)} after {since}"

    # --- deciding -----------------------------------------------------------------------

    def _pass(
        self,
        state: ScreeningState,
        ev: EngineEvent,
        applicant: Applicant,
        reason: str,
        by: str | None,
        out: list[Action],
    ) -> None:
        assert ev.member is not None
        key = (ev.group, ev.member)
        state.pending.pop(key, None)
        if not applicant.in_group:
            state.approved.add(key)
        details: dict[str, Any] = {"answers": _shown(applicant)}
        if by is not None:
            details["by"] = by
        out.append(self._act("approve", ev, f"approved: {reason}.", details))
        if applicant.restricted:
            out.append(
                self._act("unrestrict", ev, f"unrestricted: passed screening ({reason}).", {})
            )
        for held, pid in applicant.messages:  # held ones (before_passing = "hold")
            if held not in applicant.codes:
                why = "released a held message: its writer passed screening."
                out.append(self._act("release_message", ev, why, {"event": held, "message": pid}))
        if self.welcome:
            out.append(
                self._act(
                    "post_message",
                    ev,
                    self.welcome_why,
                    {"text": self.welcome, "mention": ev.member},
                )
            )

    def _fail(
        self,
        state: ScreeningState,
        ev: EngineEvent,
        applicant: Applicant,
        reason: str,
        out: list[Action],
    ) -> None:
        assert ev.member is not None
        state.pending.pop((ev.group, ev.member), None)
        clean = self.settings.clean_failed
        traces = self._traces(applicant) if clean else []
        cleaned = ""
        if traces:
            held = len(traces) - (applicant.join_trace is not None)
            parts = (["the join notice"] if applicant.join_trace is not None else []) + (
                [f"{held} held message{'s' if held != 1 else ''}"] if held else []
            )
            cleaned = "; cleaning up " + " and ".join(parts)
        why = f"rejected: {reason}{cleaned}."
        details = {"clean": clean, "remove": applicant.in_group, "answers": _shown(applicant)}
        out.append(self._act("reject", ev, why, details))
        self._clean(ev, applicant, "cleaned up after a failed screening", out)

    def _clean(self, ev: EngineEvent, applicant: Applicant, why: str, out: list[Action]) -> None:
        if not self.settings.clean_failed:
            return
        for key, pid in self._traces(applicant):
            what = "the join notice" if (key, pid) == applicant.join_trace else "a held message"
            out.append(
                self._act(
                    "delete_message", ev, f"deleted {what}: {why}.", {"event": key, "message": pid}
                )
            )

    @staticmethod
    def _traces(applicant: Applicant) -> list[tuple[str, str | None]]:
        found = [applicant.join_trace] if applicant.join_trace is not None else []
        return found + applicant.messages

    def _queue(self, ev: EngineEvent, applicant: Applicant, reason: str, out: list[Action]) -> None:
        applicant.queued = True
        why = f"queued for the team's decision: {reason}."
        out.append(self._notice(ev, why, "Thank you — the team will review your application soon."))

    def _decided(self, state: ScreeningState, ev: EngineEvent, out: list[Action]) -> None:
        assert ev.member is not None
        decision = _decision(ev)
        if decision is None:
            return
        key = (ev.group, ev.member)
        applicant = state.pending.get(key)
        refused = self.permissions.refusal(ev.group, ev.actor, "approve")
        if refused is not None:
            self._refuse(ev, applicant, decision, refused, out)
            return
        by = ev.actor
        if applicant is None:
            if decision == "approve":
                state.approved.add(key)
            return
        if decision == "approve":
            self._pass(state, ev, applicant, f"decided by {by}", by, out)
        else:
            self._fail(state, ev, applicant, f"decided by {by}", out)

    @staticmethod
    def _refuse(
        ev: EngineEvent, applicant: Applicant | None, decision: str, refused: str, out: list[Action]
    ) -> None:
        """A join decision by someone without ``approve`` in this group changes nothing;
        a ``notice`` to them (to the team when no actor is named) says why."""
        noun = "approval" if decision == "approve" else "rejection"
        if applicant is None:
            left = f"the {noun} of {ev.member} is ignored"
        elif applicant.queued:
            left = f"{ev.member}'s request stays queued"
        else:
            left = f"{ev.member} goes on with screening"
        why = f"not honoured: {refused}; {left}."
        details = {
            "text": f"Your {noun} of {ev.member} was not applied: {refused}.",
            "refused": "permission",
            "permission": "approve",
            "decision": decision,
            "about": ev.member,
        }
        out.append(
            Action("notice", ev.group, ev.actor, ev.ts, ENGINE, why, REFUSED, ev.key, details)
        )

    def _timeouts(self, state: ScreeningState, ev: EngineEvent, out: list[Action]) -> None:
        heap = state.deadlines
        while heap and heap[0][0] <= ev.ts:
            _, group, member, token = heapq.heappop(heap)
            state.due = heap[0][0] if heap else NO_DEADLINE
            applicant = state.pending.get((group, member))
            if applicant is None or applicant.token != token or applicant.queued:
                continue
            tev = EngineEvent(ev.key, TICK, group, ev.ts, member)
            done = sum(1 for s in self.steps[: applicant.step] if isinstance(s, int))
            reason = (
                f"did not finish screening within {duration_words(self.settings.time_limit)} "
                f"of {'joining' if applicant.in_group else 'asking to join'} at "
                f"{clock(applicant.since, self.zones[group], ev.ts)}"
                f" (answered {done} of {len(self.questions)} questions)"
            )
            if self.settings.on_timeout == "queue":
                self._queue(tev, applicant, reason, out)
            else:
                self._fail(state, tev, applicant, reason, out)

    # --- actions ------------------------------------------------------------------------

    @staticmethod
    def _act(kind: str, ev: EngineEvent, why: str, details: dict[str, Any]) -> Action:
        return Action(kind, ev.group, ev.member, ev.ts, ENGINE, why, None, ev.key, details)

    def _notice(self, ev: EngineEvent, why: str, text: str) -> Action:
        return self._act("notice", ev, f"screening: {why}", {"text": text})


def positioning_text(positioning: Positioning) -> str:
    """The playbook's positioning as the welcome shows it: what the group is for, who it
    is for, its topics and goals, one line each (empty when the playbook has none)."""
    lines = []
    purpose, audience = positioning.purpose.strip(), positioning.audience.strip()
    topics = [t.strip() for t in positioning.topics if t.strip()]
    goals = [g.strip() for g in positioning.goals if g.strip()]
    if purpose:
        lines.append(f"What this group is for: {purpose}")
    if audience:
        lines.append(f"Who it is for: {audience}")
    if topics:
        lines.append(f"Topics: {', '.join(topics)}")
    if goals:
        lines.append(f"Goals: {'; '.join(goals)}")
    return "\n".join(lines)


def _shown(applicant: Applicant) -> list[dict[str, Any]]:
    return [{"question": q, "answer": a, "accepted": ok} for q, a, ok in applicant.answers]


def _norm(text: str) -> str:
    return " ".join(normalize(text)[1].split())


def _decision(ev: EngineEvent) -> str | None:
    raw: object = None
    if ev.extra:
        try:
            data = json.loads(ev.extra)
        except ValueError:
            data = None
        if isinstance(data, dict):
            raw = data.get("decision")
    if raw is None:
        raw = ev.text
    if not isinstance(raw, str):
        return None
    word = raw.strip().lower()
    if word in ("approve", "approved", "accept", "accepted", "yes"):
        return "approve"
    if word in ("reject", "rejected", "decline", "declined", "deny", "denied", "no"):
        return "reject"
    return None


def _answers(extra: str | None, questions: tuple[Question, ...]) -> list[str]:
    """The answers a join request carries, in question order (see the module docstring)."""
    if not extra or "answers" not in extra:
        return []
    try:
        data = json.loads(extra)
    except ValueError:
        return []
    raw = data.get("answers") if isinstance(data, dict) else None
    if isinstance(raw, dict):
        found = []
        for q in questions:
            if q.ask not in raw:
                break
            found.append(str(raw[q.ask]))
        return found
    if isinstance(raw, list):
        found = []
        for item in raw:
            if isinstance(item, dict):
                item = item.get("answer", "")
            found.append(str(item))
        return found
    return []
