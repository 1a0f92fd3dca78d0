"""The playbook: how a community is run, as validated data (DESIGN.md §2).

One file per community says what it is for (positioning), which groups it runs and
their size caps, who runs them (team) and how: screening of newcomers, trust levels,
rules with penalty ladders, metabolism (making room in full groups), points, levels,
badges, leaderboards, rewards and check-ins. Engines read only this model; the JSON
Schema published in ``docs/playbook.schema.json`` is generated from it.

Times are durations written as ``10m``, ``24h``, ``7d``; members are written as
``platform:identity`` (``telegram:user42``), as ``shequn members`` shows them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shequn.playbook.durations import Duration

Platform = Literal["whatsapp", "telegram", "discord", "slack", "wechat", "wecom", "qq"]
TeamRole = Literal["owner", "operator", "moderator"]
Permission = Literal[
    "approve", "warn", "mute", "remove", "broadcast", "award", "edit_playbook", "redeem"
]
PenaltyAction = Literal["warn", "notice", "mute", "remove"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
MemberRef = Annotated[str, Field(pattern=r"^[a-z]+:.+$")]

DEFAULT_PERMISSIONS: dict[TeamRole, list[Permission]] = {
    "owner": ["approve", "warn", "mute", "remove", "broadcast", "award", "edit_playbook", "redeem"],
    "operator": ["approve", "warn", "mute", "remove", "broadcast", "award", "redeem"],
    "moderator": ["approve", "warn", "mute", "remove"],
}


class FieldProblem(ValueError):
    """A check across fields that knows which field is wrong: ``path`` (after the
    location pydantic gives the validator) lets the loader name its line and field."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


class Strict(BaseModel):
    """Unknown fields are errors: a typo must not silently disable a rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
    return value


class Positioning(Strict):
    """What the community is for; shown in the welcome and in the report."""

    purpose: str = ""
    audience: str = ""
    topics: list[str] = []
    goals: list[str] = []


class Group(Strict):
    """One group the playbook runs."""

    platform: Platform
    id: str = Field(min_length=1)
    name: str = ""
    #: the platform's (or the operator's) size limit, e.g. 200 or 500
    cap: int | None = Field(default=None, gt=0)
    timezone: str = "UTC"
    #: team members (from ``team``) who run this group; empty: the whole team
    team: list[MemberRef] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA timezone like Asia/Shanghai") from None
        return value


class TeamMember(Strict):
    member: MemberRef
    role: TeamRole
    name: str = ""


class Team(Strict):
    """Who runs the community and what each role may do."""

    members: list[TeamMember] = []
    #: role → what it may do; a role left out keeps its default (DEFAULT_PERMISSIONS)
    permissions: dict[TeamRole, list[Permission]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_PERMISSIONS.items()}
    )

    @field_validator("permissions")
    @classmethod
    def _defaults_kept(
        cls, value: dict[TeamRole, list[Permission]]
    ) -> dict[TeamRole, list[Permission]]:
        """Narrowing one role (``moderator = ["warn"]``) must not strip the others."""
        return {**{k: list(v) for k, v in DEFAULT_PERMISSIONS.items()}, **value}


class Question(Strict):
    ask: str = Field(min_length=1)
    #: accepted answers (compared without case and surrounding spaces)
    accept: list[str] = []
    #: or a regular expression the answer must match
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return None if value is None else _regex(value)

    @model_validator(mode="after")
    def _answerable(self) -> Question:
        if not self.accept and self.pattern is None:
            raise ValueError("a question needs accepted answers or a pattern")
        return self


class Screening(Strict):
    """The entry ritual: questions, captcha or task, welcome; newcomers wait restricted."""

    enabled: bool = False
    questions: list[Question] = []
    captcha: bool = False
    task: str | None = None
    time_limit: Duration = 600
    #: auto: decide from the answers; queue: a human decides
    decision: Literal["auto", "queue"] = "auto"
    on_timeout: Literal["reject", "queue"] = "reject"
    welcome: str = ""
    #: what a newcomer posts before passing is held for review or deleted
    before_passing: Literal["hold", "delete"] = "delete"
    #: a failed applicant's join traces (join notice, messages) are cleaned up
    clean_failed: bool = True
    screen_invitees: bool = True


class TrustLevel(Strict):
    level: int = Field(ge=0)
    name: str
    min_days: int = Field(default=0, ge=0)
    min_messages: int = Field(default=0, ge=0)
    may: list[Literal["links", "images", "mentions", "forwards"]] = []


class Trust(Strict):
    """Probation for newcomers, earned automatically, lost on penalties (Discourse-like)."""

    levels: list[TrustLevel] = []
    lose_on_penalty: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> Trust:
        for i in range(1, len(self.levels)):
            if self.levels[i].level <= self.levels[i - 1].level:
                raise FieldProblem(
                    ("levels", i, "level"),
                    "trust levels must be numbered in increasing order, each once",
                )
        return self


class PenaltyStep(Strict):
    """At the ``at``-th violation within the rule's window, do ``action``."""

    at: int = Field(gt=0)
    action: PenaltyAction
    duration: Duration | None = None
    block_rejoin: bool = False

    @model_validator(mode="after")
    def _mute_has_duration(self) -> PenaltyStep:
        if self.action == "mute" and self.duration is None:
            raise ValueError("a mute needs a duration, e.g. duration = '7d'")
        return self


class RuleBase(Strict):
    id: Slug
    description: str = ""
    penalty: list[PenaltyStep] = Field(min_length=1)
    #: violations are counted per member over this window
    window: Duration = 86_400
    #: a warning is forgotten after this long without violations
    warnings_expire_after: Duration = 604_800
    exempt_roles: list[TeamRole] = ["owner", "operator", "moderator"]
    exempt_tags: list[str] = []

    @field_validator("penalty")
    @classmethod
    def _ladder(cls, steps: list[PenaltyStep]) -> list[PenaltyStep]:
        for i in range(1, len(steps)):
            if steps[i].at <= steps[i - 1].at:
                raise FieldProblem(
                    (i, "at"), "penalty steps must have increasing 'at' counts, each once"
                )
        return steps


class LinksRule(RuleBase):
    kind: Literal["links"]
    allowed_domains: list[str] = []
    banned_domains: list[str] = []
    #: links from members who joined less than this many days ago are violations
    min_member_days: int = Field(default=0, ge=0)


class WordsRule(RuleBase):
    kind: Literal["banned_words"]
    words: list[str] = []
    patterns: list[str] = []

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, values: list[str]) -> list[str]:
        return [_regex(v) for v in values]


class FloodRule(RuleBase):
    kind: Literal["flood"]
    messages: int = Field(gt=1)
    within: Duration


class RepeatRule(RuleBase):
    kind: Literal["repeat"]
    times: int = Field(gt=1)
    within: Duration


class ForwardRule(RuleBase):
    kind: Literal["forwarded_promotion"]
    #: words that mark a forwarded message as a promotion (any forward if empty)
    keywords: list[str] = []


class NicknameRule(RuleBase):
    kind: Literal["nickname"]
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _regex(value)


Rule = Annotated[
    LinksRule | WordsRule | FloodRule | RepeatRule | ForwardRule | NicknameRule,
    Field(discriminator="kind"),
]


class Metabolism(Strict):
    """Making room in a full group: the silent longest go first, warned and given grace."""

    enabled: bool = False
    #: start when a group holds this share of its cap
    at_share: float = Field(default=0.95, gt=0, le=1)
    #: remove until the group holds this share
    down_to_share: float = Field(default=0.9, gt=0, le=1)
    max_per_run: int = Field(default=20, gt=0)
    protect_new_days: int = Field(default=14, ge=0)
    protect_tags: list[str] = ["protected", "kol"]
    #: never remove the analytics' top-ranked KOLs (0: off)
    protect_top_kols: int = Field(default=0, ge=0)
    notify_first: bool = True
    grace: Duration = 259_200

    @model_validator(mode="after")
    def _shares(self) -> Metabolism:
        if self.down_to_share > self.at_share:
            raise FieldProblem(("down_to_share",), "down_to_share must not exceed at_share")
        return self


PointAction = Literal[
    "message", "reply_reacted", "answer", "check_in", "invite_stays", "reaction_received"
]


class PointRule(Strict):
    points: int
    daily_cap: int | None = Field(default=None, ge=0)
    cooldown: Duration = 0
    min_length: int = Field(default=0, ge=0)
    #: invitations count once the invitee stayed this many days
    stays_days: int = Field(default=0, ge=0)


class Points(Strict):
    """Points per action (MEE6's 15–25 XP at most once a minute is what players know)."""

    actions: dict[PointAction, PointRule] = {}
    deductions: dict[PenaltyAction, int] = {}


class Level(Strict):
    name: str
    threshold: int = Field(ge=0)


class Badge(Strict):
    id: Slug
    name: str
    condition: Literal["streak", "first_message", "answers", "invites", "messages", "points"]
    at: int = Field(default=1, gt=0)


class Leaderboards(Strict):
    periods: list[Literal["week", "month", "all"]] = ["week", "month", "all"]
    per_group: bool = True
    between_groups: bool = True
    size: int = Field(default=10, gt=0)


class Reward(Strict):
    id: Slug
    name: str
    cost: int = Field(gt=0)
    stock: int | None = Field(default=None, ge=0)


class CheckIns(Strict):
    """One check-in per member per day in the group's timezone; streaks earn bonuses."""

    enabled: bool = False
    keywords: list[str] = ["签到", "check in", "/checkin"]
    #: streak length (days) → bonus points
    streak_bonus: dict[str, int] = {}
    freezes_per_month: int = Field(default=1, ge=0)

    @field_validator("streak_bonus")
    @classmethod
    def _days(cls, value: dict[str, int]) -> dict[str, int]:
        for key in value:
            if not key.isdigit() or int(key) < 1:
                raise ValueError(f"streak length {key!r} must be a whole number of days")
        return value


class Playbook(Strict):
    """Everything the engines need to run one community."""

    version: Literal[1] = 1
    community: str = Field(min_length=1)
    positioning: Positioning = Positioning()
    groups: list[Group] = Field(min_length=1)
    team: Team = Team()
    #: tag → members, e.g. protected = ["telegram:user42"], kol = […]
    tags: dict[str, list[MemberRef]] = {}
    screening: Screening = Screening()
    trust: Trust = Trust()
    rules: list[Rule] = []
    metabolism: Metabolism = Metabolism()
    points: Points = Points()
    levels: list[Level] = []
    badges: list[Badge] = []
    leaderboards: Leaderboards = Leaderboards()
    rewards: list[Reward] = []
    checkins: CheckIns = CheckIns()

    @field_validator("badges", "rewards")
    @classmethod
    def _unique_ids(cls, value: list[Any]) -> list[Any]:
        """A member holds a badge (redeems a reward) by its id: one id, one meaning."""
        seen: set[str] = set()
        for i, item in enumerate(value):
            if item.id in seen:
                kind = "badges" if isinstance(item, Badge) else "rewards"
                raise FieldProblem((i, "id"), f"two {kind} share the id {item.id!r}")
            seen.add(item.id)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Playbook:
        seen: set[tuple[str, str]] = set()
        for i, group in enumerate(self.groups):
            if (group.platform, group.id) in seen:
                raise FieldProblem(
                    ("groups", i, "id"), f"group {group.platform}:{group.id} is listed twice"
                )
            seen.add((group.platform, group.id))
        ids: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.id in ids:
                raise FieldProblem(("rules", i, "id"), f"two rules share the id {rule.id!r}")
            ids.add(rule.id)
        for i, level in enumerate(self.levels):
            if (i == 0 and level.threshold != 0) or (
                i > 0 and level.threshold <= self.levels[i - 1].threshold
            ):
                raise FieldProblem(
                    ("levels", i, "threshold"), "level thresholds must start at 0 and increase"
                )
        team = {m.member for m in self.team.members}
        for i, group in enumerate(self.groups):
            for j, member in enumerate(group.team):
                if member not in team:
                    raise FieldProblem(
                        ("groups", i, "team", j),
                        f"group {group.id} names {member} who is not in team",
                    )
        return self
