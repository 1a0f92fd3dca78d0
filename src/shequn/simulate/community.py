"""A synthetic community, independent of any platform: who is in it, when, and who says what.

Writers (``whatsapp.py``; later Telegram, Discord, Slack, WeChat) turn one
:class:`Community` into one platform's export. Everything here is seeded and
vectorised: the same :class:`CommunityConfig` gives the same community, and ten
million messages are numpy arrays, never Python objects.

The model
---------
members     ``N`` people, each with one :class:`Role`. Member 0 creates the group, member 1
            is the *exporter* (the phone the export is taken from; a helper who never
            leaves). At creation the creator adds the exporter, the other managers and the
            seed members ("initial" members).
joins       everyone else joins later, more in the group's first weeks and on campaign days,
            either via the invite link (``referred_by`` = the member whose link share
            brought them — not visible in an export) or added by a present member
            (``invited_by``; sometimes several at once). A new member's inviter is often a
            recent newcomer, so invitations cascade; one forced chain of six "added"
            invitations guarantees a visible cascade of depth ≥ 5.
churn       about 6 % of later members leave and 2.5 % are removed (lurkers more often) by a
            manager or the exporter; founders, the exporter and the chain never leave.
activity    heavy-tailed: each role has a base rate times a log-normal factor, chatty
            followers and helpers get five times more; most lurkers never post and a
            third of them post once or twice. A member's share of messages is their rate
            times the group's rhythm mass over the time they are in the group.
rhythm      per-minute intensity = hour-of-day weight (:data:`HOUR_WEIGHTS`, peaks 12–13 h and
            20–23 h, quiet 2–6 h) × weekday weight (weekends busier) × a per-day factor.
messages    ``M`` messages (text, media, deleted), sorted by time. Each may reply to one of the
            64 messages before it, chosen with a pull that makes KOLs the most replied-to
            per message, and is then written a log-normal delay (median 75 s) after the
            message it answers: replies come in bursts right after what draws them, as
            in a live chat. Some replies @mention the replied-to member.

Time
----
All times are *local wall-clock seconds* since midnight of ``start`` in the group's
timezone, which is what exports write. :class:`LocalClock` turns them into UTC. Hours a
DST change makes missing or ambiguous get no events, so every local time written has
exactly one UTC instant.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from enum import IntEnum, StrEnum
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from shequn.events import AttachmentKind
from shequn.simulate.content import TextPool, build_text_pool

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

DAY: Final = 86_400
#: messages per block; writers process one block at a time (bounded memory)
BLOCK_SIZE: Final = 1 << 17
#: a reply is drawn to answer one of this many messages before it (in the stream of
#: messages placed by the rhythm alone, before replies are timed after their targets)
MAX_REPLY_LAG: Final = 64
#: after replies are timed, a reply is at most this many messages after its target
#: (farther ones are no longer replies), so a writer finds every target in the block
#: before or its own
MAX_REPLY_DISTANCE: Final = BLOCK_SIZE


class Role(StrEnum):
    """A member's role in the group's structure (DOMAIN.md, "Roles and structure")."""

    MANAGER = "manager"
    KOL = "kol"
    HELPER = "helper"
    FOLLOWER = "follower"
    CONNECTOR = "connector"
    CONTRIBUTOR = "contributor"
    SEED = "seed"
    LURKER = "lurker"


ROLES: Final = tuple(Role)
_R = {role: i for i, role in enumerate(ROLES)}


def _per_role(values: dict[Role, float]) -> F64:
    return np.asarray([values[r] for r in ROLES], dtype=np.float64)


#: share of members per role (and minimum count); the rest are lurkers
ROLE_SHARES: Final = (
    (Role.SEED, 0.05, 2),
    (Role.KOL, 0.03, 1),
    (Role.CONNECTOR, 0.03, 1),
    (Role.CONTRIBUTOR, 0.06, 1),
    (Role.FOLLOWER, 0.10, 1),
    (Role.MANAGER, 0.03, 1),
    (Role.HELPER, 0.04, 1),
)
#: base posting rate per role
ACTIVITY: Final = _per_role(
    {
        Role.MANAGER: 4.0,
        Role.KOL: 5.0,
        Role.HELPER: 6.0,
        Role.FOLLOWER: 1.0,
        Role.CONNECTOR: 1.5,
        Role.CONTRIBUTOR: 3.0,
        Role.SEED: 4.0,
        Role.LURKER: 0.0,
    }
)
#: how likely a member is to be the one who brings in a newcomer
INVITE_PULL: Final = _per_role(
    {
        Role.MANAGER: 0.5,
        Role.KOL: 0.6,
        Role.HELPER: 0.4,
        Role.FOLLOWER: 0.15,
        Role.CONNECTOR: 1.0,
        Role.CONTRIBUTOR: 0.25,
        Role.SEED: 0.4,
        Role.LURKER: 0.05,
    }
)
#: how strongly a member's messages draw replies
REPLY_PULL: Final = _per_role(
    {
        Role.MANAGER: 2.5,
        Role.KOL: 12.0,
        Role.HELPER: 1.5,
        Role.FOLLOWER: 1.0,
        Role.CONNECTOR: 1.2,
        Role.CONTRIBUTOR: 2.0,
        Role.SEED: 1.5,
        Role.LURKER: 1.0,
    }
)

#: relative message volume per local hour 0–23
HOUR_WEIGHTS: Final = np.asarray(
    [1.2, 0.6, 0.15, 0.08, 0.06, 0.1, 0.3, 0.8, 1.4, 1.8, 1.9, 2.2,
     3.6, 3.3, 1.8, 1.7, 1.7, 1.9, 2.2, 2.6, 3.7, 4.2, 3.9, 3.1],
    dtype=np.float64,
)  # fmt: skip
#: hours whose weight is at least 3 (12–13 h, 20–23 h)
PEAK_HOURS: Final = tuple(int(h) for h in np.flatnonzero(HOUR_WEIGHTS >= 3.0))
QUIET_HOURS: Final = (2, 3, 4, 5)
#: relative volume Monday … Sunday
WEEKDAY_WEIGHTS: Final = np.asarray([1.0, 0.95, 1.0, 1.05, 1.1, 1.5, 1.4], dtype=np.float64)

REPLY_SHARE: Final = 0.35
MENTION_SHARE: Final = 0.35
#: a reply is written this long after the message it answers: log-normal with this
#: median (seconds) and σ — 43 % within a minute, 88 % within five, 0.4 % after 30
REPLY_DELAY_MEDIAN: Final = 75.0
REPLY_DELAY_SIGMA: Final = 1.2
#: ... and never later than this (seconds)
MAX_REPLY_DELAY: Final = 6 * 3600


class MessageKind(IntEnum):
    """What a message carries, platform-neutral."""

    TEXT = 0
    MEDIA = 1
    DELETED = 2


KIND_SHARES: Final = (0.915, 0.07, 0.015)
MEDIA_KINDS: Final = (
    AttachmentKind.IMAGE,
    AttachmentKind.STICKER,
    AttachmentKind.VIDEO,
    AttachmentKind.VOICE,
    AttachmentKind.GIF,
    AttachmentKind.DOCUMENT,
    AttachmentKind.CONTACT,
)
MEDIA_SHARES: Final = (0.55, 0.12, 0.10, 0.12, 0.04, 0.05, 0.02)


class JoinMethodCode(IntEnum):
    FOUNDER = 0
    ADDED = 1
    LINK = 2


class ExitKind(IntEnum):
    STAYS = 0
    LEFT = 1
    REMOVED = 2


class ActionKind(StrEnum):
    """Group events every platform has in some form."""

    CREATED = "created"
    ADDED = "added"
    JOINED_LINK = "joined_link"
    LEFT = "left"
    REMOVED = "removed"
    RENAMED = "renamed"
    DESCRIPTION_CHANGED = "description_changed"
    ICON_CHANGED = "icon_changed"
    ICON_DELETED = "icon_deleted"


@dataclass(frozen=True)
class GroupAction:
    """One group event at local time ``ts``: ``actor`` did it to ``members``."""

    ts: int
    kind: ActionKind
    actor: int | None
    members: tuple[int, ...] = ()
    subject: str | None = None
    old_subject: str | None = None


GROUP_NAMES: Final = (
    "Shanghai Makers 🛠",
    "Sourdough Circle 🍞",
    "Night Runners 🏃",
    "深圳读书会 📚",
    "Bookworms Club",
    "Photo Walks 📷",
    "Founders Friday",
    "Python 学习群",
    "Weekend Hikers ⛰",
    "Board Games Night 🎲",
    "Plant Swap 🌱",
    "Makers & Tinkerers",
)

_FIRST: Final = (
    "Alice", "Bob", "Carol", "Dan", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Ken",
    "Lena", "Mallory", "Nina", "Oscar", "Peggy", "Quinn", "Rupert", "Sybil", "Trent", "Uma",
    "Victor", "Wendy", "Xavier", "Yara", "Zoe", "Ahmed", "Fatima", "Priya", "Ravi", "Sofia",
    "Mateo", "Lucas", "Hannah", "Jonas", "Lea", "Yuki", "Hiro", "Ana", "João", "Chloé",
    "Björn", "Olga", "Dmitri", "Amara", "Kwame", "Lin", "Mei", "Wei", "Sanjay",
)  # fmt: skip
_LAST: Final = (
    "Smith", "Müller", "García", "Silva", "Rossi", "Kowalski", "Nguyen", "Kim", "Ivanova",
    "O'Brien", "Schmidt", "Dubois", "Santos", "Khan", "Patel", "Tanaka", "Jensen", "Novak",
    "Costa", "Haddad", "Wang", "Li", "Chen", "Zhang", "Okafor", "Fischer", "Lopez", "Sato",
    "Weber", "Ali",
)  # fmt: skip
_SINGLE: Final = (
    "王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴霞", "徐明", "孙悦",
    "Lily 🌸", "Max ⚽", "Mama Bear 🐻", "Coach K 🏀", "Mo", "JJ", "Bea",
)  # fmt: skip
#: names given to two seed members so every export shows them
COLON_NAME: Final = "Dr: Who"
TILDE_NAME: Final = "Maria"

#: phone formats: prefix and how the 7 unique digits are grouped
_PHONE_FORMATS: Final = (
    "+49 170 {a}{b}",
    "+86 138 {a} {b}",
    "+1 (415) {a}-{b}",
    "+44 77 {a} {b}",
    "+55 11 9{a}-{b}",
)


@dataclass(frozen=True)
class CommunityConfig:
    """What to simulate. ``start`` is the local date the period begins."""

    members: int
    messages: int
    days: int
    seed: int
    start: date
    timezone: str


@dataclass(frozen=True)
class LocalClock:
    """Local wall-clock seconds since ``start`` midnight ⇄ UTC, per local hour."""

    start: date
    days: int
    tz: ZoneInfo
    #: ``start`` midnight read as if it were UTC, in epoch seconds
    base_epoch: int
    #: UTC offset (seconds) of each local hour since start
    offset: I64
    #: False for hours that a DST change makes missing or ambiguous
    usable: Bools

    @classmethod
    def build(cls, start: date, days: int, tz: ZoneInfo) -> LocalClock:
        hours = days * 24
        offset = np.zeros(hours, dtype=np.int64)
        usable = np.ones(hours, dtype=np.bool_)
        midnight = datetime.combine(start, dtime())

        def off(dt: datetime, fold: int) -> int:
            delta = dt.replace(tzinfo=tz, fold=fold).utcoffset()
            return int(delta.total_seconds()) if delta is not None else 0

        for d in range(days):
            d0 = midnight + timedelta(days=d)
            probes = {off(d0 + timedelta(hours=h), f) for h in (0, 12, 24) for f in (0, 1)}
            if len(probes) == 1:
                offset[d * 24 : d * 24 + 24] = probes.pop()
                continue
            for h in range(24):
                x = d0 + timedelta(hours=h)
                y = x + timedelta(minutes=59, seconds=59)
                seen = {off(x, 0), off(x, 1), off(y, 0), off(y, 1)}
                offset[d * 24 + h] = off(x, 0)
                usable[d * 24 + h] = len(seen) == 1
        return cls(start, days, tz, calendar.timegm(midnight.timetuple()), offset, usable)

    def to_utc_seconds(self, local_s: I64) -> I64:
        """Epoch seconds (UTC) of local times."""
        hour = np.minimum(local_s // 3600, len(self.offset) - 1)
        out: I64 = self.base_epoch + local_s - self.offset[hour]
        return out

    def utc_iso(self, local_s: int) -> str:
        """ISO 8601 UTC text of one local time, e.g. ``2024-01-01T01:05:09Z``."""
        epoch = int(self.to_utc_seconds(np.asarray([local_s], dtype=np.int64))[0])
        return datetime.fromtimestamp(epoch, tz=ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")

    def local(self, local_s: int) -> datetime:
        """The naive local datetime of a local time."""
        return datetime.combine(self.start, dtime()) + timedelta(seconds=int(local_s))


class RhythmSampler:
    """Draws local times with a per-minute intensity (inverse-CDF, vectorised)."""

    def __init__(self, minute_weights: F64) -> None:
        self.weights = minute_weights
        self.cum = np.concatenate([[0.0], np.cumsum(minute_weights)])

    def mass(self, lo: I64, hi: I64) -> F64:
        """Intensity mass of the local-second intervals [lo, hi)."""
        return np.maximum(self._lam(hi) - self._lam(lo), 0.0)

    def _lam(self, s: I64) -> F64:
        m = np.minimum(s // 60, len(self.weights) - 1)
        frac = np.minimum((s - m * 60) / 60.0, 1.0)
        out: F64 = self.cum[m] + frac * self.weights[m]
        return out

    def sample(self, rng: np.random.Generator, lo: I64, hi: I64) -> I64:
        """One local second per interval [lo, hi), drawn by intensity."""
        a = self._lam(lo)
        b = self._lam(hi)
        u = a + rng.random(len(lo)) * (b - a)
        m = np.searchsorted(self.cum, u, side="right") - 1
        m = np.clip(m, 0, len(self.weights) - 1)
        w = self.weights[m]
        within = np.where(w > 0, (u - self.cum[m]) / np.where(w > 0, w, 1.0), 0.0)
        s = m * 60 + np.clip((within * 60).astype(np.int64), 0, 59)
        out: I64 = np.clip(s, lo, np.maximum(hi - 1, lo))
        return out


@dataclass(frozen=True)
class MessageBlock:
    """Messages ``start`` … ``start + len(ts) - 1`` with everything a writer needs."""

    start: int
    ts: I64
    author: I32
    kind: I8
    #: index into :data:`MEDIA_KINDS` for media messages, else -1
    media: I8
    #: index into the community's :class:`TextPool` for text messages, else -1
    body: I32
    #: global index of the message replied to, else -1
    reply_to: I64
    #: member @mentioned at the start of the text, else -1
    mention: I32


@dataclass(frozen=True)
class Community:
    """A simulated group: members (arrays indexed by member), actions and messages."""

    config: CommunityConfig
    clock: LocalClock
    pool: TextPool
    #: subject history, first at creation, last = the group's name now
    subjects: tuple[str, ...]
    names: tuple[str, ...]
    phones: tuple[str, ...]
    role: I8
    activity: F64
    creator: int
    exporter: int
    #: members present from creation (the creator and those the creator added)
    initial: I64
    created_at: int
    #: when the creation's adds are done; nobody posts before
    settled_at: int
    end: int
    join_s: I64
    exit_s: I64
    exit_kind: I8
    removed_by: I32
    join_method: I8
    invited_by: I32
    referred_by: I32
    #: depth in the invite tree (creator 0) over invited_by ∪ referred_by
    depth: I32
    #: depth counting only consecutive "added" edges (what an export shows)
    visible_depth: I32
    actions: tuple[GroupAction, ...]
    #: messages sorted by time
    msg_ts: I64
    msg_author: I32
    msg_kind: I8
    #: global index of the message each message replies to, else -1 (always earlier in
    #: time, by another member, never a deleted message)
    reply_to: I64
    #: global positions whose text is fixed (sorted) and the text index there
    forced_pos: I64
    forced_body: I32
    #: positions k where messages k and k+1 are the same member saying "ok" at the same second
    duplicate_pairs: I64
    message_counts: I64

    @property
    def n_members(self) -> int:
        return len(self.names)

    @property
    def n_messages(self) -> int:
        return len(self.msg_ts)

    @property
    def n_blocks(self) -> int:
        return -(-self.n_messages // BLOCK_SIZE)

    def blocks(self) -> Iterator[MessageBlock]:
        """All messages, one :data:`BLOCK_SIZE` block at a time."""
        for b in range(self.n_blocks):
            yield self.block(b)

    def block(self, b: int) -> MessageBlock:
        """Block ``b``; its random content depends only on the seed and ``b``."""
        a = b * BLOCK_SIZE
        e = min(self.n_messages, a + BLOCK_SIZE)
        n = e - a
        rng = np.random.default_rng(np.random.SeedSequence([self.config.seed, 0xB10C, b]))
        kind = self.msg_kind[a:e]
        author = self.msg_author[a:e]
        is_text = kind == MessageKind.TEXT

        body = self.pool.sample(rng, n)
        lo, hi = np.searchsorted(self.forced_pos, [a, e])
        body[self.forced_pos[lo:hi] - a] = self.forced_body[lo:hi]
        body[~is_text] = -1

        media = np.full(n, -1, dtype=np.int8)
        is_media = kind == MessageKind.MEDIA
        cum = np.cumsum(MEDIA_SHARES)
        picks = np.searchsorted(cum, rng.random(int(is_media.sum())) * cum[-1], side="right")
        media[is_media] = np.minimum(picks, len(MEDIA_KINDS) - 1)

        reply_to = self.reply_to[a:e]
        mentions = (reply_to >= 0) & is_text & (rng.random(n) < MENTION_SHARE)
        mentions[self.forced_pos[lo:hi] - a] = False
        mention = np.where(mentions, self.msg_author[np.maximum(reply_to, 0)], -1)
        return MessageBlock(
            start=a,
            ts=self.msg_ts[a:e],
            author=author,
            kind=kind,
            media=media,
            body=body,
            reply_to=reply_to.copy(),
            mention=mention.astype(np.int32),
        )


def build_community(config: CommunityConfig) -> Community:
    """Simulate a community (deterministic for a config). Raises ValueError on bad sizes."""
    if config.members < 10:
        raise ValueError("members must be at least 10")
    if config.messages < 0:
        raise ValueError("messages must be ≥ 0")
    if config.days < 1:
        raise ValueError("days must be ≥ 1")
    # spawned children do not depend on how many are spawned: streams added later
    # leave the earlier ones (and what they draw) unchanged
    streams = np.random.SeedSequence(config.seed).spawn(10)
    rngs = [np.random.default_rng(s) for s in streams]
    r_roles, r_names, r_joins, r_tree, r_churn, r_counts, r_times, r_kinds, r_admin = rngs[:9]
    r_replies = rngs[9]

    n = config.members
    end = config.days * DAY
    clock = LocalClock.build(config.start, config.days, ZoneInfo(config.timezone))
    weekday0 = config.start.weekday()
    weekdays = (weekday0 + np.arange(config.days)) % 7
    day_msg = WEEKDAY_WEIGHTS[weekdays] * r_times.lognormal(0.0, 0.25, config.days)
    campaign = r_times.choice(config.days, size=min(3, config.days), replace=False)
    day_msg[campaign] *= 2.5
    growth = np.exp(-np.arange(config.days) / max(1.0, 0.4 * config.days)) + 0.3
    day_join = WEEKDAY_WEIGHTS[weekdays] * growth
    day_join[campaign] *= 4.0
    msg_sampler = RhythmSampler(_minute_weights(day_msg, clock.usable))
    join_sampler = RhythmSampler(_minute_weights(day_join, clock.usable))

    role = _assign_roles(r_roles, n)
    creator, exporter = 0, 1
    activity = ACTIVITY[role] * r_roles.lognormal(0.0, 0.9, n)
    chatty = np.isin(role, [_R[Role.FOLLOWER], _R[Role.HELPER]]) & (r_roles.random(n) < 0.2)
    activity[chatty] *= 5.0
    activity[exporter] = ACTIVITY[_R[Role.HELPER]]
    is_lurker = role == _R[Role.LURKER]
    rare = is_lurker & (r_roles.random(n) < 1 / 3)

    # --- creation and the initial members -------------------------------------------------
    created_at = 9 * 3600 + int(r_joins.integers(0, 5400))
    while not clock.usable[min(created_at // 3600, len(clock.usable) - 1)]:
        created_at += 3600
    names_count = 1 + int(r_admin.integers(2, 4)) if config.days >= 3 else 1
    subject_idx = r_admin.choice(len(GROUP_NAMES), size=names_count, replace=False)
    subjects = tuple(GROUP_NAMES[i] for i in subject_idx)

    join_s = np.full(n, end, dtype=np.int64)
    join_method = np.full(n, JoinMethodCode.FOUNDER, dtype=np.int8)
    invited_by = np.full(n, -1, dtype=np.int32)
    referred_by = np.full(n, -1, dtype=np.int32)
    exit_s = np.full(n, end, dtype=np.int64)
    exit_kind = np.full(n, ExitKind.STAYS, dtype=np.int8)
    removed_by = np.full(n, -1, dtype=np.int32)
    actions: list[GroupAction] = [
        GroupAction(created_at, ActionKind.CREATED, creator, (), subjects[0], None)
    ]
    join_s[creator] = created_at
    is_initial = np.isin(role, [_R[Role.MANAGER], _R[Role.SEED]])
    is_initial[[creator, exporter]] = True
    others = [int(m) for m in r_joins.permutation(np.flatnonzero(is_initial)) if m > exporter]
    t = created_at + int(r_joins.integers(20, 60))
    batches = [[exporter]]
    while others:
        k = int(r_joins.integers(2, 5))
        batches.append(others[:k])
        others = others[k:]
    for batch in batches:
        actions.append(GroupAction(t, ActionKind.ADDED, creator, tuple(batch)))
        join_s[batch] = t
        join_method[batch] = JoinMethodCode.ADDED
        invited_by[batch] = creator
        t += int(r_joins.integers(5, 40))
    settled_at = t
    initial = np.flatnonzero(is_initial).astype(np.int64)

    # --- later joins: times, the forced chain, churn, then who invited whom ----------------
    rest = r_joins.permutation(np.flatnonzero(~is_initial)).astype(np.int64)
    lo = settled_at + 600
    hi = max(lo + 3600, created_at + int(0.85 * (end - created_at)))
    hi = min(hi, end - 60)
    times = np.sort(join_sampler.sample(r_joins, np.full(len(rest), lo), np.full(len(rest), hi)))
    join_s[rest] = times
    chain: list[int] = []
    if len(rest) >= 6:
        spots = np.unique(np.round(np.linspace(0, max(5, int(0.6 * len(rest)) - 1), 6)))
        chain = [int(rest[int(i)]) for i in spots]
    chain_set = set(chain)

    candidates = np.asarray([m for m in rest if int(m) not in chain_set], dtype=np.int64)
    candidates = candidates[join_s[candidates] + DAY < end - 3600]  # in the group a day or more
    if len(candidates) >= 2 and config.days >= 3:
        # lurkers are removed more often ("metabolism"); leaving is anyone's choice
        pick_w = np.where(role[candidates] == _R[Role.LURKER], 4.0, 1.0)
        n_removed = min(len(candidates) // 2, max(1, round(0.025 * len(rest))))
        removed = r_churn.choice(candidates, n_removed, replace=False, p=pick_w / pick_w.sum())
        stay = np.setdiff1d(candidates, removed)
        n_left = min(len(stay), max(1, round(0.06 * len(rest))))
        left = r_churn.choice(stay, n_left, replace=False)
        for group, how in ((removed, ExitKind.REMOVED), (left, ExitKind.LEFT)):
            c_lo = join_s[group] + DAY
            exit_s[group] = msg_sampler.sample(r_churn, c_lo, np.full(len(group), end - 3600))
            exit_kind[group] = how

    order = _build_invite_tree(
        r_tree, role, rest, chain, join_s, exit_s, join_method, invited_by, referred_by,
        creator, exporter, initial, actions, settled_at,
    )  # fmt: skip

    managers = [int(m) for m in np.flatnonzero(role == _R[Role.MANAGER])]
    leavers = sorted(np.flatnonzero(exit_kind != ExitKind.STAYS), key=lambda m: exit_s[m])
    first_removal = True
    for m in leavers:
        if exit_kind[m] == ExitKind.LEFT:
            actions.append(GroupAction(int(exit_s[m]), ActionKind.LEFT, None, (int(m),)))
            continue
        actor = exporter if first_removal else managers[int(r_churn.integers(len(managers)))]
        first_removal = False
        removed_by[m] = actor
        actions.append(GroupAction(int(exit_s[m]), ActionKind.REMOVED, actor, (int(m),)))

    actions.extend(_admin_actions(r_admin, msg_sampler, subjects, settled_at, end, managers,
                                  exporter, config.days))  # fmt: skip
    actions.sort(key=lambda a: a.ts)  # stable: creation order breaks ties

    depth, visible_depth = _depths(n, creator, order, join_method, invited_by, referred_by)

    # --- messages --------------------------------------------------------------------------
    active_from = np.maximum(join_s, settled_at)
    counts = _message_counts(r_counts, config.messages, activity, rare, active_from, exit_s,
                             msg_sampler, initial)  # fmt: skip
    names = _names(r_names, n, counts, role)
    phones = _phones(r_names, n)
    author = np.repeat(np.arange(n, dtype=np.int32), counts)
    key = np.empty(len(author), dtype=np.int64)
    step = 1 << 20
    for a in range(0, len(author), step):
        who = author[a : a + step]
        key[a : a + step] = msg_sampler.sample(r_times, active_from[who], exit_s[who])
    # sort by (time, author) in place: one int64 key, no copies of ten million rows
    key *= n
    key += author
    del author
    key.sort()
    msg_author = (key % n).astype(np.int32)
    key //= n
    msg_ts, msg_author, reply_to = _timed_replies(
        r_replies, msg_ts=key, msg_author=msg_author, role=role, active_from=active_from,
        exit_s=exit_s, usable=clock.usable,
    )  # fmt: skip
    del key

    pool = build_text_pool()
    msg_kind, forced_pos, forced_body, pairs = _kinds_and_quirks(
        r_kinds, pool, msg_ts, msg_author, exporter, counts, reply_to
    )
    # nobody answers a message that is shown as deleted
    reply_to[(reply_to >= 0) & (msg_kind[np.maximum(reply_to, 0)] == MessageKind.DELETED)] = -1
    return Community(
        config=config,
        clock=clock,
        pool=pool,
        subjects=subjects,
        names=names,
        phones=phones,
        role=role,
        activity=activity,
        creator=creator,
        exporter=exporter,
        initial=initial,
        created_at=created_at,
        settled_at=settled_at,
        end=end,
        join_s=join_s,
        exit_s=exit_s,
        exit_kind=exit_kind,
        removed_by=removed_by,
        join_method=join_method,
        invited_by=invited_by,
        referred_by=referred_by,
        depth=depth,
        visible_depth=visible_depth,
        actions=tuple(actions),
        msg_ts=msg_ts,
        msg_author=msg_author,
        msg_kind=msg_kind,
        reply_to=reply_to,
        forced_pos=forced_pos,
        forced_body=forced_body,
        duplicate_pairs=pairs,
        message_counts=np.bincount(msg_author, minlength=n).astype(np.int64),
    )


def _timed_replies(
    rng: np.random.Generator,
    *,
    msg_ts: I64,
    msg_author: I32,
    role: I8,
    active_from: I64,
    exit_s: I64,
    usable: Bools,
) -> tuple[I64, I32, I64]:
    """Pick which messages answer which, then time every reply after its target.

    Messages placed by the rhythm alone (sorted ``msg_ts``, ``msg_author``) are the
    starting point. Each wants to reply with :data:`REPLY_SHARE`; it picks one of four
    candidates among the :data:`MAX_REPLY_LAG` messages before it (nearer ones likelier)
    with probability ∝ the candidate author's :data:`REPLY_PULL` — never its own. A reply
    is then moved to its target's time plus a log-normal delay (:data:`REPLY_DELAY_MEDIAN`),
    so a message that draws replies is followed by them within minutes, as in a live
    chat; chains (replies to replies) follow their parent's new time. A reply that would
    fall outside its author's membership or in an hour a DST change makes unusable keeps
    its first time and is no reply. Returns the messages sorted again by (time, author)
    and ``reply_to`` (global index of the target, else -1) in that order. ``msg_ts`` is
    overwritten (ten million messages: no copies of whole columns that can be avoided).
    """
    m = len(msg_ts)
    picked: list[tuple[I64, I64, I32]] = []
    for a in range(0, m, BLOCK_SIZE):
        e = min(m, a + BLOCK_SIZE)
        k = e - a
        author = msg_author[a:e]
        wants = rng.random(k) < REPLY_SHARE
        lags = np.minimum(rng.geometric(0.25, size=(k, 4)), MAX_REPLY_LAG)
        cand = np.arange(a, e, dtype=np.int64)[:, None] - lags
        valid = cand >= 0
        safe = np.where(valid, cand, 0)
        t_author = msg_author[safe]
        valid &= t_author != author[:, None]
        valid &= msg_ts[safe] >= active_from[author][:, None]
        score = np.log(REPLY_PULL[role[t_author]]) + rng.gumbel(size=(k, 4))
        score[~valid] = -np.inf
        best = np.argmax(score, axis=1)
        rows = np.arange(k)
        chosen = np.flatnonzero(wants & valid[rows, best])
        wait = rng.lognormal(np.log(REPLY_DELAY_MEDIAN), REPLY_DELAY_SIGMA, k)[chosen]
        picked.append(
            (
                a + chosen.astype(np.int64),
                cand[chosen, best[chosen]],
                np.clip(np.rint(wait), 1, MAX_REPLY_DELAY).astype(np.int32),
            )
        )
    replies = np.concatenate([p[0] for p in picked]) if picked else np.zeros(0, np.int64)
    targets = np.concatenate([p[1] for p in picked]) if picked else np.zeros(0, np.int64)
    delay = np.concatenate([p[2] for p in picked]) if picked else np.zeros(0, np.int32)
    del picked

    hours = len(usable)
    first = msg_ts[replies]
    while True:
        while True:  # targets come before their replies: this ends after the longest chain
            moved = msg_ts[targets] + delay
            if np.array_equal(moved, msg_ts[replies]):
                break
            msg_ts[replies] = moved
        who = msg_author[replies]
        ok = (moved >= active_from[who]) & (moved < exit_s[who])
        ok &= usable[np.minimum(moved // 3600, hours - 1)]
        if ok.all():
            break
        msg_ts[replies] = first  # start again without the replies that cannot be
        replies, targets, delay, first = replies[ok], targets[ok], delay[ok], first[ok]
    del moved, who, ok, first, delay

    # sort again by (time, author) and follow every target to its new position
    n = int(msg_author.max()) + 1 if m else 1
    msg_ts *= n
    msg_ts += msg_author
    order = np.argsort(msg_ts, kind="stable")
    key = msg_ts[order]
    new_author = (key % n).astype(np.int32)
    key //= n
    position = np.empty(m, dtype=np.int64)
    for a in range(0, m, BLOCK_SIZE):
        e = min(m, a + BLOCK_SIZE)
        position[order[a:e]] = np.arange(a, e, dtype=np.int64)
    del order
    reply_to = np.full(m, -1, dtype=np.int64)
    here, there = position[replies], position[targets]
    del position
    near = here - there <= MAX_REPLY_DISTANCE
    reply_to[here[near]] = there[near]
    return key, new_author, reply_to


def _minute_weights(day_factor: F64, usable_hours: Bools) -> F64:
    per_hour = day_factor[:, None] * HOUR_WEIGHTS[None, :]
    per_hour = per_hour.reshape(-1) * usable_hours
    return np.repeat(per_hour / 60.0, 60)


def _assign_roles(rng: np.random.Generator, n: int) -> I8:
    role = np.full(n, _R[Role.LURKER], dtype=np.int8)
    role[0] = _R[Role.MANAGER]
    role[1] = _R[Role.HELPER]
    pending: list[int] = []
    free = n - 2
    for r, share, minimum in ROLE_SHARES:
        want = max(minimum, round(share * n)) - (r in (Role.MANAGER, Role.HELPER))
        take = max(0, min(want, free - len(pending)))
        pending.extend([_R[r]] * take)
    pending.extend([_R[Role.LURKER]] * (free - len(pending)))
    role[2:] = rng.permutation(np.asarray(pending, dtype=np.int8))
    return role


def _build_invite_tree(
    rng: np.random.Generator,
    role: I8,
    rest: I64,
    chain: list[int],
    join_s: I64,
    exit_s: I64,
    join_method: I8,
    invited_by: I32,
    referred_by: I32,
    creator: int,
    exporter: int,
    initial: I64,
    actions: list[GroupAction],
    settled_at: int,
) -> list[int]:
    """Decide who brought in each later member; returns members in join order."""
    chain_parent = dict(zip(chain, [creator, *chain[:-1]], strict=True))
    joined = [int(m) for m in initial]
    order = list(joined)
    pull = INVITE_PULL[role] / INVITE_PULL.max()
    added_actions: list[int] = []
    i = 0
    while i < len(rest):
        m = int(rest[i])
        t = int(join_s[m])
        if m in chain_parent:
            parent, link = chain_parent[m], False
        else:
            parent = _pick_parent(rng, joined, exit_s, pull, t, creator)
            link = bool(rng.random() < 0.5)
        if link:
            join_method[m] = JoinMethodCode.LINK
            referred_by[m] = parent
            actions.append(GroupAction(t, ActionKind.JOINED_LINK, None, (m,)))
            joined.append(m)
            order.append(m)
            i += 1
            continue
        batch = [m]
        if m not in chain_parent and rng.random() < 0.3:
            extra = int(rng.integers(1, 4))
            j = i + 1
            while len(batch) <= extra and j < len(rest) and int(rest[j]) not in chain_parent:
                batch.append(int(rest[j]))
                j += 1
        join_s[batch] = t
        join_method[batch] = JoinMethodCode.ADDED
        invited_by[batch] = parent
        if m not in chain_parent:
            added_actions.append(len(actions))
        actions.append(GroupAction(t, ActionKind.ADDED, parent, tuple(batch)))
        joined.extend(batch)
        order.extend(batch)
        i += len(batch)
    if added_actions and not any(
        a.kind == ActionKind.ADDED and a.actor == exporter and a.ts > settled_at for a in actions
    ):
        k = added_actions[len(added_actions) // 3]
        action = actions[k]
        actions[k] = GroupAction(action.ts, action.kind, exporter, action.members)
        invited_by[list(action.members)] = exporter
    return order


def _pick_parent(
    rng: np.random.Generator,
    joined: list[int],
    exit_s: I64,
    pull: F64,
    t: int,
    creator: int,
) -> int:
    """A present member: often a recent newcomer (cascades), else by invite pull."""
    if rng.random() < 0.45:
        recent = [p for p in joined[-12:] if exit_s[p] > t]
        if recent:
            return recent[int(rng.integers(len(recent)))]
    for _ in range(64):
        p = joined[int(rng.integers(len(joined)))]
        if exit_s[p] > t and rng.random() < pull[p]:
            return p
    return creator


def _depths(
    n: int,
    creator: int,
    order: list[int],
    join_method: I8,
    invited_by: I32,
    referred_by: I32,
) -> tuple[I32, I32]:
    depth = np.zeros(n, dtype=np.int32)
    visible = np.zeros(n, dtype=np.int32)
    for m in order:
        if m == creator:
            continue
        if join_method[m] == JoinMethodCode.ADDED:
            p = int(invited_by[m])
            depth[m] = depth[p] + 1
            visible[m] = visible[p] + 1
        else:
            depth[m] = depth[int(referred_by[m])] + 1
    return depth, visible


def _admin_actions(
    rng: np.random.Generator,
    sampler: RhythmSampler,
    subjects: tuple[str, ...],
    settled_at: int,
    end: int,
    managers: list[int],
    exporter: int,
    days: int,
) -> list[GroupAction]:
    """Renames, description and icon changes; the exporter does the first of each kind."""
    lo, hi = settled_at + 60, end - 60
    per_kind = {
        ActionKind.RENAMED: len(subjects) - 1,
        ActionKind.DESCRIPTION_CHANGED: 2 if days >= 3 else 1,
        ActionKind.ICON_CHANGED: 2 if days >= 3 else 1,
        ActionKind.ICON_DELETED: 1,
    }
    out: list[GroupAction] = []
    for kind, count in per_kind.items():
        if count <= 0:
            continue
        times = np.sort(sampler.sample(rng, np.full(count, lo), np.full(count, hi)))
        for i, t in enumerate(times):
            actor = exporter if i == 0 else managers[int(rng.integers(len(managers)))]
            if kind == ActionKind.RENAMED:
                out.append(GroupAction(int(t), kind, actor, (), subjects[i + 1], subjects[i]))
            else:
                out.append(GroupAction(int(t), kind, actor))
    return out


def _message_counts(
    rng: np.random.Generator,
    total: int,
    activity: F64,
    rare: Bools,
    active_from: I64,
    exit_s: I64,
    sampler: RhythmSampler,
    initial: I64,
) -> I64:
    """Messages per member: a multinomial over rate × rhythm mass; rare lurkers post 1–2."""
    n = len(activity)
    mass = sampler.mass(active_from, exit_s)
    counts = np.zeros(n, dtype=np.int64)
    rare_idx = np.flatnonzero(rare & (mass > 0))
    rare_counts = rng.integers(1, 3, size=len(rare_idx))
    budget = total - int(rare_counts.sum())
    if budget < total // 2:
        rare_idx, rare_counts, budget = rare_idx[:0], rare_counts[:0], total
    weights = activity * mass
    weights[rare_idx] = 0.0
    if weights.sum() <= 0:
        weights = mass + 1e-12
    counts += rng.multinomial(budget, weights / weights.sum())
    counts[rare_idx] = rare_counts
    if total >= 200:  # founders (seeds, managers, the exporter) post from day one
        for m in initial:
            need = 3 - int(counts[m])
            if need > 0:
                counts[m] += need
                counts[int(np.argmax(counts))] -= need
    return counts


def _names(rng: np.random.Generator, n: int, counts: I64, role: I8) -> tuple[str, ...]:
    pool = [*_SINGLE, *(f"{f} {s}" for f in _FIRST for s in _LAST)]
    head = [pool[int(i)] for i in rng.permutation(len(pool))]
    names = [head[i % len(head)] + (f" {i // len(head) + 1}" if i >= len(head) else "")
             for i in range(n)]  # fmt: skip
    seeds = np.flatnonzero(role == _R[Role.SEED])
    seeds = seeds[np.argsort(-counts[seeds], kind="stable")]
    if len(seeds) >= 2:
        names[int(seeds[0])] = COLON_NAME
        names[int(seeds[1])] = TILDE_NAME
    return tuple(names)


def _phones(rng: np.random.Generator, n: int) -> tuple[str, ...]:
    digits = rng.choice(10_000_000, size=n, replace=False)
    fmt = rng.integers(len(_PHONE_FORMATS), size=n)
    out = []
    for d, f in zip(digits, fmt, strict=True):
        s = f"{int(d):07d}"
        out.append(_PHONE_FORMATS[int(f)].format(a=s[:3], b=s[3:]))
    return tuple(out)


def _kinds_and_quirks(
    rng: np.random.Generator,
    pool: TextPool,
    msg_ts: I64,
    msg_author: I32,
    exporter: int,
    counts: I64,
    reply_to: I64,
) -> tuple[I8, I64, I32, I64]:
    """Kinds per message, plus the forced texts and "ok"/"ok" pairs every export shows.

    The second message of a pair takes the first one's author and time, so it is never a
    reply nor replied to (that could make a member answer themselves).
    """
    m = len(msg_ts)
    in_reply = reply_to >= 0
    in_reply[reply_to[reply_to >= 0]] = True
    cum = np.cumsum(KIND_SHARES)
    kind = np.minimum(np.searchsorted(cum, rng.random(m) * cum[-1], side="right"), 2)
    kind = kind.astype(np.int8)
    forced: dict[int, int] = {}
    pairs: list[int] = []
    if m >= 200:
        taken: set[int] = set()
        mine = np.flatnonzero(msg_author == exporter)
        if len(mine):
            k = int(mine[int(rng.integers(len(mine)))])
            kind[k] = MessageKind.DELETED
            taken.add(k)
        theirs = np.flatnonzero(msg_author != exporter)
        if len(theirs):
            k = int(theirs[int(rng.integers(len(theirs)))])
            kind[k] = MessageKind.DELETED
            taken.add(k)
        n_pairs = min(200, max(2, m // 5000))
        for _ in range(100 * n_pairs):
            if len(pairs) == n_pairs:
                break
            k = int(rng.integers(m - 1))
            # the overwritten author must keep enough messages; pairs never touch
            if counts[msg_author[k + 1]] <= 5 or taken & {k - 1, k, k + 1, k + 2}:
                continue
            if in_reply[k + 1]:
                continue
            pairs.append(k)
            taken.update((k, k + 1))
        for k in pairs:
            msg_author[k + 1] = msg_author[k]
            msg_ts[k + 1] = msg_ts[k]
            kind[k] = kind[k + 1] = MessageKind.TEXT
            forced[k] = forced[k + 1] = pool.ok
        for body in pool.must_appear:
            if body == pool.ok:
                continue
            while True:
                k = int(rng.integers(m))
                if k not in taken:
                    break
            taken.add(k)
            kind[k] = MessageKind.TEXT
            forced[k] = body
    pos = np.asarray(sorted(forced), dtype=np.int64)
    bodies = np.asarray([forced[int(k)] for k in pos], dtype=np.int32)
    return kind, pos, bodies, np.asarray(sorted(pairs), dtype=np.int64)
