"""Topics: what a group talks about each week, and what it suddenly talks about more.

Text processing is Python, so the engine only hands over a bounded sample: the latest
:data:`SAMPLE_SIZE` messages with text per group (by time, then event key — the same rows
on every engine). On a large log that is the latest weeks only; earlier weeks have no
terms, and the earliest week of the sample may be cut.

A message becomes *terms*: URLs, @mentions (the names of the sample's authors and the
mentioned identities, WeChat's ``@name`` + U+2005, then any ``@word``), numbers, emoji and
punctuation are removed; Chinese runs are segmented with jieba, other text is split into
words (letters, with inner ``-`` or ``'``) and case-folded; terms shorter than two
characters and stop words are dropped. The stop-word lists (``stopwords/en.txt``:
Snowball English; ``stopwords/zh.txt``: HIT Chinese; each with a few chat fillers) are
applied together, whatever the message's language. A term counts once per message.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Final

import ibis
import pyarrow as pa
from ibis.expr import types as ir

from shequn.analytics.context import Context
from shequn.analytics.metrics.common import ALL_GROUPS, week_of
from shequn.analytics.registry import derived, metric
from shequn.analytics.source import arrow

#: messages per group handed to the text processing (the latest ones)
SAMPLE_SIZE: Final = 20_000
#: terms listed per group and week
TOP_TERMS: Final = 20
#: emerging terms listed per group and week
EMERGING_TERMS: Final = 10
#: an emerging term is in at least this many of the week's messages
EMERGING_MIN_COUNT: Final = 3
#: weeks before this one an emerging term is compared with
EMERGING_WEEKS: Final = 4
#: stop-word lists shipped in ``stopwords/`` (language code → file)
LANGUAGES: Final = ("en", "zh")

_URL: Final = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_WECHAT_MENTION: Final = re.compile(r"@[^@\u2005\n]{1,40}\u2005")
_ANY_MENTION: Final = re.compile(r"@\S+")
_CJK: Final = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: a Chinese run, or a word of letters (inner - or ') not glued to digits or other letters
_TOKEN: Final = re.compile(
    rf"(?P<cjk>[{_CJK}]+)"
    rf"|(?<![^\W{_CJK}])(?P<word>[^\W\d_{_CJK}]+(?:[-'’][^\W\d_{_CJK}]+)*)(?![^\W{_CJK}])"
)
_MIN_LENGTH: Final = 2


@cache
def stop_words() -> frozenset[str]:
    """Every shipped list, together (lines after ``#`` are comments)."""
    folder = resources.files("shequn.analytics.metrics").joinpath("stopwords")
    words: set[str] = set()
    for language in LANGUAGES:
        text = folder.joinpath(f"{language}.txt").read_text(encoding="utf-8")
        for line in text.splitlines():
            word = line.split("#", 1)[0].strip().casefold()
            if word:
                words.add(word)
    return frozenset(words)


@cache
def _jieba() -> Any:
    """jieba, quiet: it logs "Building prefix dict" to stderr and caches in the temp dir."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


class Names:
    """Names to strip after ``@``, longest first.

    Replacing ``@`` + a name that the text does not hold changes nothing, so going
    through every name in order is the same as going, each time, to the next name in
    order that the text holds — found by looking up, after each ``@`` of the text, the
    text's next characters of each length a name has (a few dozen lookups, where trying
    names by their first character tried thousands at 100,000 members).
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.ordered = sorted({n for n in names if n}, key=len, reverse=True)
        self.place = {name: i for i, name in enumerate(self.ordered)}
        self.lengths = sorted({len(name) for name in self.ordered})

    def strip(self, text: str) -> str:
        """``text`` with every ``@`` + name replaced by a space, longest names first."""
        done = -1
        while "@" in text:
            following = self._next(text, done)
            if following is None:
                break
            text = text.replace("@" + self.ordered[following], " ")
            done = following
        return text

    def _next(self, text: str, done: int) -> int | None:
        """The first name in order after place ``done`` that follows an ``@`` of ``text``."""
        best: int | None = None
        at = text.find("@")
        while at != -1:
            for length in self.lengths:
                if at + 1 + length > len(text):
                    break
                i = self.place.get(text[at + 1 : at + 1 + length])
                if i is not None and i > done and (best is None or i < best):
                    best = i
            at = text.find("@", at + 1)
        return best


def terms(text: str, names: Iterable[str] | Names = ()) -> list[str]:
    """The distinct terms of one message, in order of first appearance."""
    text = _URL.sub(" ", text)
    text = _WECHAT_MENTION.sub(" ", text)
    text = (names if isinstance(names, Names) else Names(names)).strip(text)
    text = _ANY_MENTION.sub(" ", text)
    stop = stop_words()
    out: dict[str, None] = {}
    for match in _TOKEN.finditer(text):
        if match["cjk"] is not None:
            pieces = _jieba().lcut(match["cjk"])
        else:
            word = match["word"].casefold().replace("’", "'")
            pieces = [word[:-2] if word.endswith("'s") else word]
        for piece in pieces:
            if len(piece) >= _MIN_LENGTH and piece not in stop:
                out.setdefault(piece, None)
    return list(out)


@metric(
    "topics.sample",
    "Messages for the topic terms",
    f"The latest {SAMPLE_SIZE:,} messages with text per group (by time, then event key; "
    "bots left out), with their local week, author name and mentions — the text the "
    "topic terms are computed from. On large logs this covers the latest weeks only.",
    ("group", "ts", "key"),
)
def sample(ctx: Context) -> ir.Table:
    m = ctx.messages
    texts = _recent(m.filter(m.text.notnull() & ~m.is_bot))
    latest = ibis.window(group_by="group", order_by=[ibis.desc("ts"), ibis.desc("key")])
    ranked = texts.mutate(n=ibis.row_number().over(latest))
    kept = ranked.filter(ranked.n < SAMPLE_SIZE)
    return kept.select(
        "group",
        week=week_of(kept.local_ts),
        ts=kept.ts,
        key=kept.key,
        member_name=kept.member_name,
        mentions=kept.mentions,
        text=kept.text,
    )


def _recent(texts: ir.Table) -> ir.Table:
    """``texts`` from the day (UTC) on which each group's latest :data:`SAMPLE_SIZE`
    begin: the days after it hold fewer than that, so the sample is the same as from
    every row, but the window that ranks them sorts a few days, not the whole log (ten
    million rows with their text at 10M messages).

    The days are found first, in a query of their own over the times alone, and the
    rows are then read from the earliest of them on: as one query the engine held every
    text in scope to read them twice (at 10M messages 9M texts, ≈ 10 s CPU), and a
    constant bound lets it skip the older parts of the table unread.
    """
    day = texts.ts.truncate("D")
    per_day = texts.group_by(["group", day.name("day")]).aggregate(n=texts.count())
    later = ibis.window(group_by="group", order_by=ibis.desc("day"), preceding=None, following=0)
    per_day = per_day.mutate(through=per_day.n.sum().over(later))
    # a day is needed while the days after it hold fewer than SAMPLE_SIZE messages
    needed = per_day.filter(per_day.through - per_day.n < SAMPLE_SIZE)
    found = arrow(needed.group_by("group").aggregate(since=needed.day.min()))
    if found.num_rows == 0:
        return texts
    since = ibis.memtable(
        pa.table(
            {
                "since_group": found["group"].cast(pa.string()),
                "since": found["since"].cast(pa.timestamp("us")),
            }
        )
    )
    first = min(found["since"].cast(pa.timestamp("us")).to_pylist())
    texts = texts.filter(texts.ts >= ibis.literal(first, "timestamp"))
    recent = texts.join(since, texts.group == since.since_group)
    return recent.filter(recent.ts >= recent.since).drop("since_group", "since")


WeeklyTerms = tuple[dict[tuple[str, datetime], Counter[str]], Counter[Any]]


def _weekly_terms(ctx: Context, results: Mapping[str, pa.Table]) -> WeeklyTerms:
    """:func:`weekly_terms` of the sample, computed once per context (both topic
    metrics read it)."""
    return ctx.computed("topics.weekly_terms", lambda: weekly_terms(results["topics.sample"]))


def weekly_terms(table: pa.Table) -> WeeklyTerms:
    """Per (group, week), ``*`` included: messages containing each term, and messages."""
    rows = table.to_pylist()
    names: dict[str, set[str]] = {}
    for row in rows:
        known = names.setdefault(row["group"], set())
        if row["member_name"]:
            known.add(row["member_name"])
        known.update(row["mentions"] or ())
    strippers = {group: Names(known) for group, known in names.items()}
    counts: dict[tuple[str, datetime], Counter[str]] = {}
    messages: Counter[Any] = Counter()
    for row in rows:
        found = terms(row["text"], strippers[row["group"]])
        for group in (row["group"], ALL_GROUPS):
            at = (group, row["week"])
            messages[at] += 1
            counts.setdefault(at, Counter()).update(found)
    return counts, messages


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


@derived(
    "topics.terms",
    "Top terms",
    f"Per group and local week, the {TOP_TERMS} terms in most of the week's sampled "
    "messages (ties by term): count = messages containing the term, share = count / the "
    "week's messages. URLs, mentions, numbers, emoji and stop words (English, Chinese) are "
    "removed; Chinese is segmented with jieba.",
    ("topics.sample",),
    ("group", "week", "rank"),
)
def top_terms(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    counts, messages = _weekly_terms(ctx, results)
    out: dict[str, list[Any]] = {name: [] for name in _TERMS.names}
    for at in sorted(counts):
        for rank, (term, n) in enumerate(_ranked(counts[at])[:TOP_TERMS], start=1):
            out["group"].append(at[0])
            out["week"].append(at[1])
            out["rank"].append(rank)
            out["term"].append(term)
            out["count"].append(n)
            out["messages"].append(messages[at])
            out["share"].append(n / messages[at])
    return pa.table(out, schema=_TERMS)


_TERMS: Final = pa.schema(
    [
        ("group", pa.string()),
        ("week", pa.timestamp("us")),
        ("rank", pa.int64()),
        ("term", pa.string()),
        ("count", pa.int64()),
        ("messages", pa.int64()),
        ("share", pa.float64()),
    ]
)


@derived(
    "topics.emerging",
    "Emerging terms",
    f"Per group and local week, up to {EMERGING_TERMS} terms whose share of messages rose "
    f"most against the {EMERGING_WEEKS} weeks before (their messages pooled): in at least "
    f"{EMERGING_MIN_COUNT} of the week's messages, rise = share − previous share > 0, "
    "ranked by rise, then count, then term. Weeks with no sampled messages in the 4 weeks "
    "before have none.",
    ("topics.sample",),
    ("group", "week", "rank"),
)
def emerging(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    counts, messages = _weekly_terms(ctx, results)
    out: dict[str, list[Any]] = {name: [] for name in _EMERGING.names}
    for group, week in sorted(counts):
        before: Counter[str] = Counter()
        earlier = 0
        for k in range(1, EMERGING_WEEKS + 1):
            at = (group, week - timedelta(weeks=k))
            before.update(counts.get(at, Counter()))
            earlier += messages.get(at, 0)
        if earlier == 0:
            continue
        now = messages[(group, week)]
        rising = []
        for term, n in counts[(group, week)].items():
            if n < EMERGING_MIN_COUNT:
                continue
            share, previous = n / now, before[term] / earlier
            if share > previous:
                rising.append((share - previous, n, term, share, previous))
        rising.sort(key=lambda r: (-r[0], -r[1], r[2]))
        for rank, (rise, n, term, share, previous) in enumerate(rising[:EMERGING_TERMS], 1):
            out["group"].append(group)
            out["week"].append(week)
            out["rank"].append(rank)
            out["term"].append(term)
            out["count"].append(n)
            out["share"].append(share)
            out["previous_share"].append(previous)
            out["rise"].append(rise)
    return pa.table(out, schema=_EMERGING)


_EMERGING: Final = pa.schema(
    [
        ("group", pa.string()),
        ("week", pa.timestamp("us")),
        ("rank", pa.int64()),
        ("term", pa.string()),
        ("count", pa.int64()),
        ("share", pa.float64()),
        ("previous_share", pa.float64()),
        ("rise", pa.float64()),
    ]
)
