"""Rule matchers for the moderation engine, and small helpers its siblings share.

Each matcher answers one question cheaply — "does this message break the rule, and
how?" — and returns a *finding* (the words an explanation quotes: ``a link to bit.ly,
a banned domain``) or ``None``. The moderation engine does the rest (counting, the
penalty ladder, exemptions, the per-member state flood and repeat read). Matchers are
built once from the playbook, regexes precompiled; the banned words and patterns of all
rules form one :class:`Lexicon`, so a message is scanned once however many rules there are.

Text is matched after :func:`normalize`: NFKC (full-width ``ｗｗｗ`` → ``www``), zero-width
characters removed (``加\\u200b微信`` → ``加微信``), lower case. Banned words are
substrings; Latin words must stand alone (``ad`` does not match ``read``), words with
Chinese (or any non-ASCII) characters match anywhere — Chinese has no word boundaries.

The helpers at the end (who is on the team, time in words) are shared by
the screening, moderation and metabolism engines.
"""

from __future__ import annotations

import importlib
import re
import string
import unicodedata
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from shequn.playbook.model import (
    FloodRule,
    ForwardRule,
    LinksRule,
    NicknameRule,
    Playbook,
    RepeatRule,
    Rule,
    WordsRule,
)

DAY: Final = 86_400

# --- text -----------------------------------------------------------------------------

_ZERO_WIDTH: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"))


#: finds a zero-width character (a set's ``isdisjoint(text)`` made a string per character)
_ZERO_WIDTH_FOUND: Final = re.compile("[" + "".join(map(chr, _ZERO_WIDTH)) + "]").search

#: NFKC of the full-width ASCII forms (U+FF01–U+FF5E) and of the ideographic space: one
#: ASCII character each, so replacing them changes no text's NFKD (ASCII characters are
#: starters: the canonical order moves nothing), hence not its NFKC
_FULL_WIDTH: Final = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def normalize(text: str) -> tuple[str, str]:
    """``(clean, low)``: NFKC without zero-width characters, and that in lower case.

    Chinese text that is not NFKC is so mostly for its full-width punctuation (？，！):
    with those replaced, a text whose NFKC quick check then passes is its own NFKC (see
    ``_FULL_WIDTH``) — a table lookup per character instead of CPython's decomposition
    and recomposition, eight times dearer. Anything else goes through ``normalize``.
    """
    if text.isascii():
        return text, text.lower()
    if _ZERO_WIDTH_FOUND(text) is not None:
        text = text.translate(_ZERO_WIDTH)
    if not unicodedata.is_normalized("NFKC", text):
        narrow = text.translate(_FULL_WIDTH)
        if unicodedata.is_normalized("NFKC", narrow):
            text = narrow
        else:
            text = unicodedata.normalize("NFKC", text)
    return text, text.lower()


#: top-level domains a bare ``name.tld`` (no scheme, no path) is taken as a link for
_TLD_WORDS: Final = (
    "com net org cn io ly me co cc info xyz top vip app dev link site online shop ru de uk "
    "us tk ml ga cf gq to gg tv biz club live pro store fun icu asia hk tw jp kr in"
)
_BARE_TLDS: Final = frozenset(_TLD_WORDS.split())
_LINK: Final = re.compile(
    r"(?:https?://|www\.)([a-z0-9.-]+)"  # scheme or www.
    r"|(?<![a-z0-9@.-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,})(/|(?![a-z0-9.-]))"
)


#: what every link has: a dot before two letters (a sentence's full stop has none)
_MAYBE_LINK: Final = re.compile(r"\.[a-z]{2}")


def link_domains(low: str) -> list[str]:
    """The domains linked in lower-cased text: URLs, ``www.``, ``host/path``, ``host.com``."""
    if "." not in low or _MAYBE_LINK.search(low) is None:
        return []
    found: list[str] = []
    for m in _LINK.finditer(low):
        host = m.group(1)
        if host is None:
            host = m.group(2)
            if m.group(3) != "/" and host.rsplit(".", 1)[-1] not in _BARE_TLDS:
                continue  # "node.js", "e.g.": not links
        host = host.strip(".-")
        if host.startswith("www."):
            host = host[4:]
        if host and host not in found:
            found.append(host)
    return found


def _in_domains(host: str, domains: frozenset[str]) -> bool:
    if host in domains:
        return True
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(1, len(parts) - 1))


# --- matchers -------------------------------------------------------------------------


class LinksMatcher:
    """Banned domains, domains outside the allowed list, links from young members."""

    __slots__ = ("allowed", "banned", "min_age", "min_days")

    def __init__(self, rule: LinksRule) -> None:
        self.allowed = frozenset(d.lower().removeprefix("www.") for d in rule.allowed_domains)
        self.banned = frozenset(d.lower().removeprefix("www.") for d in rule.banned_domains)
        self.min_days = rule.min_member_days
        self.min_age = rule.min_member_days * DAY

    def check(self, domains: list[str], age: int | None) -> str | None:
        """``age``: seconds since the member joined; ``None`` if present before the log."""
        for host in domains:
            if _in_domains(host, self.banned):
                return f"a link to {host}, a banned domain"
        for host in domains:
            if self.allowed and _in_domains(host, self.allowed):
                continue
            if self.allowed:
                return f"a link to {host}, which is not on the allowed list"
            if age is not None and age < self.min_age:
                return (
                    f"a link to {host} from a member who joined {duration_words(age)} ago "
                    f"(links need {self.min_days} day{'s' if self.min_days != 1 else ''} "
                    "in the group)"
                )
        return None


def _word_regex(word: str) -> str:
    low = normalize(word)[1].strip()
    escaped = re.escape(low)
    if not low.isascii():
        return escaped  # Chinese: a substring, no word boundaries
    head = r"(?<![a-z0-9])" if low[:1].isalnum() else ""
    tail = r"(?![a-z0-9])" if low[-1:].isalnum() else ""
    return head + escaped + tail


class WordsMatcher:
    """A banned-words rule: its words and patterns are found by the shared :class:`Lexicon`."""

    __slots__ = ("patterns", "words")

    def __init__(self, rule: WordsRule) -> None:
        self.words = tuple(rule.words)
        self.patterns = tuple(rule.patterns)


_TOKEN: Final = re.compile(r"[a-z0-9]+")


class Lexicon:
    """Every rule's banned words and patterns, so that one pass over a message finds them.

    A word in Latin letters is looked up by its first ``[a-z0-9]+`` token among the
    message's tokens, then confirmed by its own regex (standing alone); a word with
    Chinese (any non-ASCII) characters is looked up by its first such character among
    the message's characters, then confirmed as a substring. A message with none of
    the keys costs two set intersections. Each distinct pattern is searched once, for
    all the rules that list it.
    """

    __slots__ = (
        "any_pattern",
        "any_word",
        "by_char",
        "by_token",
        "chars",
        "loose",
        "pattern_hints",
        "patterns",
        "tokens",
        "word_anchors",
    )

    def __init__(self, rules: list[tuple[int, WordsMatcher]]) -> None:
        """``rules``: (rule index, matcher) pairs."""
        by_token: dict[str, list[tuple[str, re.Pattern[str], int]]] = {}
        by_char: dict[str, list[tuple[str, int]]] = {}
        loose: list[tuple[str, re.Pattern[str], int]] = []
        patterns: dict[str, list[int]] = {}
        for index, matcher in rules:
            for pattern in matcher.patterns:
                patterns.setdefault(pattern, []).append(index)
            for word in matcher.words:
                low = " ".join(normalize(word)[1].split())
                if not low:
                    continue
                if not low.isascii():
                    first = next(c for c in low if not c.isascii())
                    by_char.setdefault(first, []).append((low, index))
                    continue
                regex = re.compile(_word_regex(low))
                tokens = _TOKEN.findall(low)
                if tokens:
                    by_token.setdefault(tokens[0], []).append((low, regex, index))
                else:
                    loose.append((low, regex, index))
        self.by_token = by_token
        self.by_char = by_char
        self.tokens = frozenset(by_token)
        self.chars = frozenset(by_char)
        self.loose = tuple(loose)
        self.patterns = tuple((re.compile(p), tuple(ix)) for p, ix in patterns.items())
        # every word as a plain substring (no word boundaries: a superset, and cheap)
        words = {word for entries in by_token.values() for word, _, _ in entries}
        words |= {word for entries in by_char.values() for word, _ in entries}
        words |= {word for word, _, _ in loose}
        self.any_word = re.compile("|".join(re.escape(w) for w in sorted(words))) if words else None
        # what each word begins with: a text holding none of them holds no word, and a
        # few substring tests cost less than the alternation's search (≈ 3,500
        # instructions a message); a long list of words keeps the search alone
        anchors = _fewest_needles(w[:ANCHOR_LENGTH] for w in sorted(words))
        self.word_anchors = anchors if len(anchors) <= MAX_ANCHORS else None
        self.any_pattern = _any_of(list(patterns))
        # what each pattern's every match contains: a text holding none of them skips
        # the patterns' search (a case-insensitive alternation is slow in ``re``)
        hints = [required_text(p) for p in patterns]
        self.pattern_hints: tuple[str, ...] | None = (
            _fewest_needles(h for h in hints if h is not None)
            if hints and None not in hints
            else None
        )

    def find(self, clean: str, low: str) -> dict[int, str]:
        """Rule index → what it found: the first banned word, else a banned pattern's match.

        ``clean, low = normalize(text)`` (``low`` must be ``clean.lower()``)."""
        # one search each for "any word" and "any pattern" first: most messages hit none
        words = self.any_word
        anchors = self.word_anchors
        if words is not None and (
            (anchors is not None and not _holds_any(low, anchors)) or words.search(low) is None
        ):
            if not self.patterns:
                return _NOTHING
            hints = self.pattern_hints
            if hints is not None:
                for hint in hints:
                    if hint in low:
                        break
                else:
                    return _NOTHING  # no pattern's required text: none can match
            anyp = self.any_pattern
            if anyp is not None and anyp.search(clean) is None:
                return _NOTHING
            return self._patterns(clean, {})
        found: dict[int, str] = {}
        if self.tokens:
            keys = self.tokens.intersection(_TOKEN.findall(low))
            if keys:
                for key in sorted(keys):
                    for word, regex, index in self.by_token[key]:
                        if index not in found and regex.search(low) is not None:
                            found[index] = f"the banned word “{word}”"
        if self.chars and not low.isascii():
            keys = self.chars.intersection(low)
            if keys:
                for key in sorted(keys):
                    for word, index in self.by_char[key]:
                        if index not in found and word in low:
                            found[index] = f"the banned word “{word}”"
        for word, regex, index in self.loose:
            if index not in found and regex.search(low) is not None:
                found[index] = f"the banned word “{word}”"
        return self._patterns(clean, found)

    def _patterns(self, clean: str, found: dict[int, str]) -> dict[int, str]:
        """Add what the banned patterns find to ``found`` (rules with a word keep it)."""
        for pattern, indexes in self.patterns:
            if (m := pattern.search(clean)) is not None:
                what = f"“{m.group(0)[:40]}”, which matches the banned pattern {pattern.pattern}"
                for index in indexes:
                    if index not in found:
                        found[index] = what
        return found


#: how many characters of each banned word the lexicon's first test looks for
ANCHOR_LENGTH: Final = 2
#: more distinct word beginnings than this: the lexicon tests with its regex alone
MAX_ANCHORS: Final = 8


def _fewest_needles(needles: Iterable[str]) -> tuple[str, ...]:
    """``needles`` without repeats and without those containing another: a text holds
    one of the result exactly when it holds one of ``needles`` (first seen order)."""
    distinct = list(dict.fromkeys(needles))
    kept: list[str] = []
    for needle in sorted(distinct, key=len):
        if not any(other in needle for other in kept):
            kept.append(needle)
    return tuple(n for n in distinct if n in kept)


def _holds_any(text: str, needles: tuple[str, ...]) -> bool:
    return any(needle in text for needle in needles)


#: ASCII characters that a case-insensitive pattern matches in their own two cases only
#: (``i``, ``k`` and ``s`` also match ``ı``/``İ``, ``K`` and ``ſ``; tested over all of
#: Unicode): a run of them in a pattern is found, lower-cased, in the lower-cased text
_FOLD_SAFE: Final = frozenset(
    string.ascii_letters + string.digits + string.punctuation + " "
) - frozenset("iksIKS")


def required_text(pattern: str) -> str | None:
    """The longest run of characters that every match of ``pattern`` contains, lower
    case (so ``text.lower()`` holds it wherever the pattern matches ``text``, with or
    without ``(?i)``), or ``None`` if no such run is found.

    Read from the pattern's parse tree (``re._parser``, the standard library's own
    parser): literal characters in sequence at the top level, or in a group there;
    anything else (a class, a repeat, an alternation, an anchor) ends a run.
    """
    try:
        parser: Any = importlib.import_module("re._parser")  # not in typeshed
        constants: Any = importlib.import_module("re._constants")
        items = list(parser.parse(pattern))
        literal, group = constants.LITERAL, constants.SUBPATTERN
    except (ImportError, AttributeError, re.error, TypeError, ValueError):
        return None
    best = run = ""
    stack = [iter(items)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        op, av = item
        if op is group and av[3] is not None:  # (group, add flags, del flags, items)
            stack.append(iter(list(av[3])))
            continue
        if op is literal and chr(av) in _FOLD_SAFE:
            run += chr(av).lower()
            continue
        best = max(best, run, key=len)
        run = ""
    best = max(best, run, key=len)
    return best or None


#: what Lexicon.find returns when nothing is found (callers only read it)
_NOTHING: Final[dict[int, str]] = {}
#: a pattern's leading global flags, which a combined pattern scopes to its branch
_LEADING_FLAGS: Final = re.compile(r"\(\?([imsx]+)\)")
#: what would change meaning inside a combined pattern: back-references, conditionals
_GROUP_REFS: Final = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")


def _any_of(patterns: list[str]) -> re.Pattern[str] | None:
    """One regex that matches where any of ``patterns`` would (a pre-filter: it finds
    something exactly when one of them does), or ``None`` if they cannot be combined
    safely; then each is searched on its own."""
    if not patterns:
        return None
    branches = []
    for pattern in patterns:
        if _GROUP_REFS.search(pattern) is not None:
            return None
        flags = _LEADING_FLAGS.match(pattern)
        if flags is not None:
            pattern = f"(?{flags.group(1)}:{pattern[flags.end() :]})"
        elif pattern.startswith("(?") and pattern[2:3].isalpha():
            return None  # other global flags (a, L, u): not scoped to a branch
        branches.append(f"(?:{pattern})")
    try:
        return re.compile("|".join(branches))
    except re.error:
        return None  # e.g. a group name used by two patterns


class ForwardMatcher:
    """A forwarded message that carries one of the keywords (any forward if none)."""

    __slots__ = ("keywords",)

    def __init__(self, rule: ForwardRule) -> None:
        self.keywords = tuple(normalize(k)[1] for k in rule.keywords if k.strip())

    def check(self, forwarded_from: str, low: str) -> str | None:
        if not self.keywords:
            return f"a message forwarded from {forwarded_from}"
        for keyword in self.keywords:
            if keyword in low:
                return f"a promotion (“{keyword}”) forwarded from {forwarded_from}"
        return None


class FloodMatcher:
    """More than ``messages`` messages within ``within`` seconds; one burst counts once.

    The member's recent message times are one deque shared by every flood rule (as long
    as the largest rule needs); a rule's burst is over when it fires, so it counts only
    messages after its last firing (``since``).
    """

    __slots__ = ("messages", "within")

    def __init__(self, rule: FloodRule) -> None:
        self.messages = rule.messages
        self.within = rule.within

    def check(self, stamps: deque[int], ts: int, since: int) -> str | None:
        """``stamps``: the member's message times, oldest first, ``ts`` the last."""
        n = self.messages
        if len(stamps) <= n:
            return None
        first = stamps[-n - 1]  # the (n+1)-th most recent message
        if ts - first >= self.within or first <= since:
            return None
        return (
            f"{n + 1} messages within {duration_words(max(ts - first, 1))} "
            f"(the limit is {n} in {duration_words(self.within)})"
        )


class RepeatMatcher:
    """The same text ``times`` times within ``within`` seconds; one burst counts once.

    The member's recent texts (lower case, spaces squeezed) with their times are one
    dict shared by every repeat rule; a rule counts only copies after its last firing
    for that text (``since``).
    """

    __slots__ = ("times", "within")

    def __init__(self, rule: RepeatRule) -> None:
        self.times = rule.times
        self.within = rule.within

    def check(self, stamps: list[int], text: str, ts: int, since: int) -> str | None:
        """``stamps``: the times ``text`` was posted, oldest first, ``ts`` the last."""
        n = self.times
        if len(stamps) < n:
            return None
        first = stamps[-n]  # the n-th most recent copy
        if ts - first >= self.within or first <= since:
            return None
        shown = text if len(text) <= 30 else text[:29] + "…"
        return f"the same message (“{shown}”) {n} times within {duration_words(self.within)}"


class NicknameMatcher:
    """The member's display name must match the pattern (``re.search``)."""

    __slots__ = ("description", "pattern")

    def __init__(self, rule: NicknameRule) -> None:
        self.pattern = re.compile(rule.pattern)
        self.description = rule.description

    def check(self, name: str) -> str | None:
        if self.pattern.search(name) is not None:
            return None
        wanted = self.description or f"the pattern {self.pattern.pattern}"
        return f"the nickname “{name}”, which does not follow the required format ({wanted})"


Matcher = (
    LinksMatcher | WordsMatcher | ForwardMatcher | FloodMatcher | RepeatMatcher | NicknameMatcher
)


def matcher_for(rule: Rule) -> Matcher:
    if isinstance(rule, LinksRule):
        return LinksMatcher(rule)
    if isinstance(rule, WordsRule):
        return WordsMatcher(rule)
    if isinstance(rule, ForwardRule):
        return ForwardMatcher(rule)
    if isinstance(rule, FloodRule):
        return FloodMatcher(rule)
    if isinstance(rule, RepeatRule):
        return RepeatMatcher(rule)
    return NicknameMatcher(rule)


# --- shared helpers -------------------------------------------------------------------


def group_key(platform: str, group_id: str) -> str:
    return f"{platform}/{group_id}"


def group_zones(playbook: Playbook) -> dict[str, ZoneInfo]:
    return {group_key(g.platform, g.id): ZoneInfo(g.timezone) for g in playbook.groups}


def team_roles(playbook: Playbook) -> dict[str, frozenset[str]]:
    roles: dict[str, set[str]] = {}
    for m in playbook.team.members:
        roles.setdefault(m.member, set()).add(m.role)
    return {k: frozenset(v) for k, v in roles.items()}


def tagged(playbook: Playbook, tags: Iterable[str]) -> frozenset[str]:
    return frozenset(m for tag in tags for m in playbook.tags.get(tag, ()))


def duration_words(seconds: int) -> str:
    """``90`` → ``1 min 30 s``, ``86400`` → ``24 h``, ``604800`` → ``7 d``."""
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        m, s = divmod(seconds, 60)
        return f"{m} min" + (f" {s} s" if s else "")
    if seconds < 2 * DAY:
        h, rest = divmod(seconds, 3600)
        return f"{h} h" + (f" {rest // 60} min" if rest >= 60 else "")
    d, rest = divmod(seconds, DAY)
    return f"{d} d" + (f" {rest // 3600} h" if rest >= 3600 else "")


#: "00" … "99", as clock writes hours, minutes, months and days
_TWO_DIGITS: Final = tuple(f"{n:02d}" for n in range(100))


def clock(ts: int, zone: ZoneInfo, now: int | None = None) -> str:
    """Local time: ``10:02`` on the day of ``now``, else ``2026-03-01 10:02``."""
    local = datetime.fromtimestamp(ts, zone)
    # formatted by hand: ``strftime`` (through the C library) and even ``:02d`` cost
    # far more than reading two digits from a table (same text: tested)
    hm = f"{_TWO_DIGITS[local.hour]}:{_TWO_DIGITS[local.minute]}"
    if now is not None and datetime.fromtimestamp(now, zone).date() == local.date():
        return hm
    return f"{local.year}-{_TWO_DIGITS[local.month]}-{_TWO_DIGITS[local.day]} {hm}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
