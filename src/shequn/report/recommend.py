"""A short list of things to do, each read off one metric's numbers.

Every rule looks at a result only if that metric is in the report, and says which
metric it read (``metric``), so the page can point at the numbers behind it. Rules work
on the small result tables and on the explorer's aggregated counts, never on events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import numpy as np
import pyarrow as pa

from shequn.analytics.metrics.common import ALL_GROUPS

#: hours in the recommended posting window when ``hours.windows`` is not available
POST_WINDOW_HOURS: Final = 2
#: weeks of recent history the posting window is read from
RECENT_WEEKS: Final = 4
#: a drop of active members this large (vs. the average of the weeks before) is flagged
ACTIVE_DROP: Final = 0.25
#: a lurker share at or above this is flagged (seeds: ~70 % of a group lurks)
LURKER_SHARE: Final = 0.7
#: the top 10 % of posters writing at least this share of messages is flagged
TOP10_SHARE: Final = 0.5
#: ... when at least this many members post
MIN_POSTERS: Final = 20
#: a health score below this, or this many points below the weeks before, is flagged
HEALTH_LOW: Final = 50
HEALTH_DROP: Final = 15
#: roles a group should have; a role found in some group but missing in another is flagged
KEY_ROLES: Final = ("manager", "kol", "connector", "helper", "contributor", "seed")

SEVERITY_ORDER: Final = {"action": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Recommendation:
    """One thing to do or to know, with the metric it comes from."""

    severity: str
    group: str
    text: str
    metric: str

    def as_json(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "group": self.group,
            "text": self.text,
            "metric": self.metric,
        }


def recommend(
    results: Mapping[str, pa.Table],
    explorer: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
    period_end: str | None = None,
) -> list[Recommendation]:
    """Every rule whose metric is present, most urgent first.

    Weekly rules judge the latest week the period does not end inside
    (``activity.weekly``'s ``complete`` flags, else weeks ending by ``period_end``).
    """
    settings = settings or {}
    partial = partial_weeks(results.get("activity.weekly"))
    if partial is None:
        weekly = ("conversation.response", "health.weekly")
        partial = ended_weeks(
            [r for n in weekly for r in _rows(results.get(n), "week")], period_end
        )
    out: list[Recommendation] = []
    out += _unanswered(results.get("conversation.response"), partial)
    out += _role_gaps(results.get("roles.gaps"), results.get("roles.members"))
    out += _posting_windows(results.get("hours.windows"), explorer)
    out += _activity(results.get("activity.weekly"), partial)
    out += _lurkers(results.get("lurkers.summary"), int(settings.get("lurker_days", 30)))
    out += _concentration(results.get("activity.concentration"))
    out += _k_factor(results.get("growth.k_factor"))
    out += _health(results.get("health.weekly"), partial)
    return sorted(out, key=lambda r: SEVERITY_ORDER.get(r.severity, 9))


def partial_weeks(weekly: pa.Table | None) -> set[str] | None:
    """The weeks (ISO dates) ``activity.weekly`` marks incomplete; None without it."""
    if weekly is None or "complete" not in weekly.column_names:
        return None
    return {_day(r["week"]) for r in _rows(weekly, "week", "complete") if r["complete"] is False}


def ended_weeks(rows: list[dict[str, Any]], period_end: str | None) -> set[str]:
    """Without ``activity.weekly``: the weeks (ISO dates) that end after ``period_end``."""
    if not period_end:
        return set()
    end = datetime.fromisoformat(period_end[:19])
    weeks = {_day(r["week"]) for r in rows if r.get("week") is not None}
    return {w for w in weeks if datetime.fromisoformat(w) + timedelta(days=7) > end}


def _settled(rows: list[dict[str, Any]], partial: set[str]) -> list[dict[str, Any]]:
    """Rows of weeks the period does not end inside."""
    return [r for r in rows if _day(r["week"]) not in partial]


def _rows(table: pa.Table | None, *needed: str) -> list[dict[str, Any]]:
    if table is None or not set(needed) <= set(table.column_names):
        return []
    return list(table.to_pylist())


def _real_groups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of each real group; the community's ``*`` row only when it is one group."""
    real = [r for r in rows if r["group"] != ALL_GROUPS]
    groups = {r["group"] for r in real}
    return real if len(groups) > 1 else [r for r in rows if r["group"] == ALL_GROUPS] or real


def _label(group: str) -> str:
    return "the community" if group == ALL_GROUPS else f"group {group.split('/', 1)[-1]}"


def _unanswered(table: pa.Table | None, partial: set[str]) -> list[Recommendation]:
    """Questions left unanswered in each group's latest settled week."""
    rows = _settled(_real_groups(_rows(table, "group", "week", "unanswered", "questions")), partial)
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["group"] not in latest or row["week"] > latest[row["group"]]["week"]:
            latest[row["group"]] = row
    out = []
    for group, row in sorted(latest.items()):
        n = int(row["unanswered"] or 0)
        if n > 0:
            out.append(
                Recommendation(
                    "action",
                    group,
                    f"{n} question{'s' if n != 1 else ''} unanswered in the week of "
                    f"{_day(row['week'])} in {_label(group)} "
                    f"(of {int(row['questions'] or 0)} asked): answer them or ask a "
                    "contributor to.",
                    "conversation.response",
                )
            )
    return out


def _role_gaps(gaps: pa.Table | None, members: pa.Table | None) -> list[Recommendation]:
    """Each gap ``roles.gaps`` found ("no connector" …) in each real group; without that
    metric, a key role present in some group and missing in another."""
    rows = _real_groups(_rows(gaps, "group", "gap", "explanation"))
    if gaps is not None and "gap" in gaps.column_names:
        return [
            Recommendation(
                "action",
                row["group"],
                f"{row['gap'][0].upper()}{row['gap'][1:]} in {_label(row['group'])}: "
                f"{row['explanation']}",
                "roles.gaps",
            )
            for row in rows
            if row["gap"] != "none"
        ]
    roster = [r for r in _rows(members, "group", "member", "role") if r["group"] != ALL_GROUPS]
    present: dict[str, set[str]] = {}
    for row in roster:
        present.setdefault(row["group"], set()).add(str(row["role"]))
    if len(present) < 2:
        return []
    anywhere = set().union(*present.values())
    return [
        Recommendation("action", group, f"No {role} in {_label(group)}.", "roles.members")
        for group, roles in sorted(present.items())
        for role in KEY_ROLES
        if role in anywhere and role not in roles
    ]


def _posting_windows(table: pa.Table | None, explorer: Mapping[str, Any]) -> list[Recommendation]:
    rows = _real_groups(_rows(table, "group", "windows"))
    if rows:
        return [
            Recommendation(
                "action",
                row["group"],
                f"Post in {row['windows']} in {_label(row['group'])} (its local time)"
                + (
                    f": {row['share']:.0%} of its messages are written then."
                    if isinstance(row.get("share"), float)
                    else "."
                ),
                "hours.windows",
            )
            for row in rows
            if row["windows"]
        ]
    return _windows_from_explorer(explorer)


def _windows_from_explorer(explorer: Mapping[str, Any]) -> list[Recommendation]:
    """The busiest ``POST_WINDOW_HOURS`` hours of the day over the recent weeks."""
    cube = explorer.get("cube") or {}
    weeks = explorer.get("weeks") or []
    groups = explorer.get("groups") or []
    if not weeks or not len(cube.get("n", ())):
        return []
    everyone = groups.index(ALL_GROUPS) if ALL_GROUPS in groups else -1
    by_hour = _messages_by_hour(cube, len(weeks) - RECENT_WEEKS, everyone)
    wanted = [i for i, key in enumerate(groups) if key != ALL_GROUPS]
    if len(wanted) < 2:
        wanted = [groups.index(ALL_GROUPS)] if ALL_GROUPS in groups else wanted
    out = []
    for g in wanted:
        hours = by_hour.get(g)
        if not hours or sum(hours) == 0:
            continue
        total = sum(hours)
        start = max(
            range(24),
            key=lambda s: (sum(hours[(s + i) % 24] for i in range(POST_WINDOW_HOURS)), -s),
        )
        share = sum(hours[(start + i) % 24] for i in range(POST_WINDOW_HOURS)) / total
        out.append(
            Recommendation(
                "action",
                groups[g],
                f"Post between {start:02d}:00 and {(start + POST_WINDOW_HOURS) % 24:02d}:00 "
                f"in {_label(groups[g])} (its local time): {share:.0%} of the last "
                f"{min(RECENT_WEEKS, len(weeks))} weeks' messages were written then.",
                "",
            )
        )
    return out


def _messages_by_hour(cube: Mapping[str, Any], recent: int, everyone: int) -> dict[int, list[int]]:
    """Per group index, messages per hour of the day in the weeks from ``recent`` on,
    from the cube's columns (lists or NumPy arrays); ``everyone`` is their sum (the cube
    has no rows of its own for all groups)."""
    columns = {k: np.asarray(cube[k], dtype=np.int64) for k in ("g", "w", "h", "n")}
    kept = columns["w"] >= recent
    g, h, n = (columns[k][kept] for k in ("g", "h", "n"))
    by_hour: dict[int, list[int]] = {}
    for group in np.unique(g).tolist():
        by_hour[group] = _hours(h[g == group], n[g == group])
    if len(n):
        every = _hours(h, n)
        mine = by_hour.get(everyone, [0] * 24)
        by_hour[everyone] = [a + b for a, b in zip(mine, every, strict=True)]
    return by_hour


def _hours(hour: np.ndarray, messages: np.ndarray) -> list[int]:
    counts = np.zeros(24, dtype=np.int64)
    np.add.at(counts, hour, messages)
    return [int(c) for c in counts]


def _activity(table: pa.Table | None, partial: set[str]) -> list[Recommendation]:
    """A drop of active members, or more members stopping than starting, last week."""
    rows = _settled(
        _rows(table, "group", "week", "active_members", "new_members", "churned"), partial
    )
    by_group: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_group.setdefault(row["group"], []).append(row)
    out = []
    several = len(by_group) > 2
    for group, weeks in sorted(by_group.items()):
        if several and group == ALL_GROUPS:
            continue
        weeks = sorted(weeks, key=lambda r: r["week"])
        if len(weeks) < 2:
            continue
        current, before = weeks[-1], weeks[-5:-1]
        average = sum(r["active_members"] for r in before) / len(before)
        if average and current["active_members"] <= (1 - ACTIVE_DROP) * average:
            out.append(
                Recommendation(
                    "warning",
                    group,
                    f"Active members in {_label(group)} fell to {current['active_members']} "
                    f"in the week of {_day(current['week'])}, from {average:.0f} a week "
                    "before: start a discussion, reach out to the members who went quiet.",
                    "activity.weekly",
                )
            )
        started = current["new_members"] + current.get("reactivated", 0)
        if current["churned"] > started and current["churned"] >= 5:
            out.append(
                Recommendation(
                    "warning",
                    group,
                    f"{current['churned']} members of {_label(group)} stopped posting in the "
                    f"week of {_day(current['week'])}, while {started} started or came back.",
                    "activity.weekly",
                )
            )
    return out


def _lurkers(table: pa.Table | None, days: int) -> list[Recommendation]:
    rows = _real_groups(_rows(table, "group", "members_known", "lurkers", "lurker_share"))
    return [
        Recommendation(
            "warning",
            row["group"],
            f"{row['lurker_share']:.0%} of {_label(row['group'])}'s {row['members_known']} "
            f"known members have not posted in {days} days: welcome them by name, ask "
            "an easy question, or clear long-silent ones before the group is full.",
            "lurkers.summary",
        )
        for row in rows
        if row.get("countable", True)
        and row["lurker_share"] is not None
        and row["lurker_share"] >= LURKER_SHARE
    ]


def _concentration(table: pa.Table | None) -> list[Recommendation]:
    rows = _real_groups(_rows(table, "group", "posting_members", "top10_share"))
    return [
        Recommendation(
            "info",
            row["group"],
            f"In {_label(row['group'])} the top 10 % of posters write "
            f"{row['top10_share']:.0%} of the messages: draw others in (questions to "
            "newcomers, turns at hosting).",
            "activity.concentration",
        )
        for row in rows
        if row["posting_members"] >= MIN_POSTERS
        and row["top10_share"] is not None
        and row["top10_share"] >= TOP10_SHARE
    ]


def _k_factor(table: pa.Table | None) -> list[Recommendation]:
    """The viral coefficient over the last ``RECENT_WEEKS`` weeks with members."""
    rows = _real_groups(_rows(table, "group", "week", "k"))
    # a group whose export never names an inviter has no measurable K
    invites = {r["group"] for r in rows if r.get("invited", 1)}
    by_group: dict[str, list[float]] = {}
    for row in sorted(rows, key=lambda r: r["week"]):
        if row["k"] is not None and row["group"] in invites:
            by_group.setdefault(row["group"], []).append(float(row["k"]))
    out = []
    for group, ks in sorted(by_group.items()):
        recent = ks[-RECENT_WEEKS:]
        k = sum(recent) / len(recent)
        if k < 1:
            out.append(
                Recommendation(
                    "info",
                    group,
                    f"Each member of {_label(group)} brought in {k:.2f} new members a week "
                    f"over the last {len(recent)} weeks: growth depends on outside "
                    "acquisition (try give-one-get-one invitations).",
                    "growth.k_factor",
                )
            )
    return out


def _health(table: pa.Table | None, partial: set[str]) -> list[Recommendation]:
    """A weak or falling health score in the last complete week."""
    rows = _settled(_real_groups(_rows(table, "group", "week", "score")), partial)
    by_group: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["week"]):
        if row["score"] is not None:
            by_group.setdefault(row["group"], []).append(row)
    out = []
    for group, weeks in sorted(by_group.items()):
        current, before = weeks[-1], weeks[-5:-1]
        average = sum(r["score"] for r in before) / len(before) if before else current["score"]
        if current["score"] < HEALTH_LOW or current["score"] <= average - HEALTH_DROP:
            out.append(
                Recommendation(
                    "warning",
                    group,
                    f"Health of {_label(group)} was {current['score']:.0f}/100 in the week of "
                    f"{_day(current['week'])} (average before: {average:.0f}): see the "
                    "Health tab for the component that fell.",
                    "health.weekly",
                )
            )
    return out


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)[:10]
