"""How a WhatsApp export writes its timestamps, decided once for the whole file.

Two layouts exist:

* Android ``31/12/23, 21:05 - Name: text`` (12-hour: ``12/31/23, 9:05 PM - …``, with a
  U+202F narrow no-break space before PM in newer versions; Chinese writes
  ``2023/12/31 下午9:05 - …``; Indonesian ``31/12/23 21.05 - …``);
* iOS ``[31.12.23, 21:05:09] Name: text``, media and system lines prefixed by U+200E.

The date order (day-first, month-first, year-first) cannot be read from one line:
``05/06/23`` is valid both ways. It is decided from the *whole file* (:class:`DateEvidence`):

1. a first field of 4 digits means year-first;
2. else the field that somewhere exceeds 12 is the day (if only one does);
3. else (every field ≤ 12: the file is ambiguous) the order in which the file's dates
   run forward more often wins — exports are chronological, so the wrong order makes
   dates jump back and forth;
4. a complete tie (e.g. one date only) is resolved by ``--date-order`` when given,
   else day-first, the more common convention worldwide; the import says so.

If both fields exceed 12 on different lines, the order with fewer violations wins
and the violating lines are rejected as malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from shequn.errors import ConfigError

ANDROID: Final = "android"
IOS: Final = "ios"

_DATE = r"([0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{1,4})"
_TIME = r"([0-9]{1,2}[:.][0-9]{2}(?:[:.][0-9]{2})?)"
_SP = "[ \u00a0\u202f]"
# Words before (上午) or after (PM, p. m., a.m.) the time, never digits.
_PRE = r"((?:上午|下午|中午|凌晨|早上|晚上|午前|午後)?)"
_POST_ANDROID = "((?:" + _SP + r"?[^0-9 \-\[\]][^\-\[\]]{0,7}?)?)"
_POST_IOS = "((?:" + _SP + r"?[^0-9 \]][^\]]{0,7}?)?)"
_LEAD = "[\u200e\u200f\ufeff]*"

#: group 1 = whole stamp as written, 2 = date, 3 = pre, 4 = time, 5 = post, 6 = rest
ANDROID_HEADER: Final = (
    "^" + _LEAD + "(" + _DATE + ",?" + _SP + _PRE + _TIME + _POST_ANDROID + ")" + " - (.*)$"
)
IOS_HEADER: Final = (
    "^" + _LEAD + r"\[(" + _DATE + ",?" + _SP + _PRE + _TIME + _POST_IOS + r")\] (.*)$"
)
HEADERS: Final = {ANDROID: ANDROID_HEADER, IOS: IOS_HEADER}

# The same headers without the rest of the line: cheaper to test, same lines match.
_DATE_NC = r"[0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{1,4}"
_TIME_NC = r"[0-9]{1,2}[:.][0-9]{2}(?:[:.][0-9]{2})?"
_PRE_NC = "(?:上午|下午|中午|凌晨|早上|晚上|午前|午後)?"
_POST_ANDROID_NC = "(?:" + _SP + r"?[^0-9 \-\[\]][^\-\[\]]{0,7}?)?"
_POST_IOS_NC = "(?:" + _SP + r"?[^0-9 \]][^\]]{0,7}?)?"
HEADER_PREFIXES: Final = {
    ANDROID: "^" + _LEAD + _DATE_NC + ",?" + _SP + _PRE_NC + _TIME_NC + _POST_ANDROID_NC + " - ",
    IOS: "^" + _LEAD + r"\[" + _DATE_NC + ",?" + _SP + _PRE_NC + _TIME_NC + _POST_IOS_NC + r"\] ",
}

#: a stamp as written, split: 1-3 date fields, 4 word before the time, 5 hour, 6 minute,
#: 7 second, 8 word after the time
STAMP_PARTS: Final = {
    layout: "^([0-9]{1,4})[./-]([0-9]{1,2})[./-]([0-9]{1,4}),?"
    + _SP
    + _PRE
    + r"([0-9]{1,2})[:.]([0-9]{2})(?:[:.]([0-9]{2}))?"
    + post
    + "$"
    for layout, post in ((ANDROID, _POST_ANDROID), (IOS, _POST_IOS))
}

DATE_PARTS: Final = r"^([0-9]{1,4})[./-]([0-9]{1,2})[./-]([0-9]{1,4})$"

#: a stamp with a 24-hour time and no word around it, one separator in the date:
#: 1-3 date fields, 2 date separator, 5 comma or not, 6 space, 8 time separator, 10 seconds
_PLAIN_STAMP: Final = re.compile(
    r"^([0-9]{1,4})([./-])([0-9]{1,2})\2([0-9]{1,4})(,?)([ \u00a0\u202f])"
    r"([0-9]{1,2})([:.])([0-9]{2})(?:\8([0-9]{2}))?$"
)


def plain_stamp_format(stamp: str, date_order: str) -> str | None:
    """The ``strptime`` format of stamps written like ``stamp`` in ``date_order``, when it
    is a plain 24-hour stamp (``31/12/23, 21:05``, ``[31.12.23, 21:05:09]``'s inside,
    ``2023-12-31 21.05``), else None.

    Reading a stamp with one format costs a tenth of splitting it with
    :data:`STAMP_PARTS`; the parser reads a file's stamps with the format of its first
    and splits only those the format does not read (12-hour clocks, other writings).
    """
    m = _PLAIN_STAMP.match(stamp)
    if m is None:
        return None
    first, date_sep, _, third, comma, space, _, time_sep, _, seconds = m.groups()
    year = "%Y" if len(first if date_order == "ymd" else third) == 4 else "%y"
    fields = {"dmy": ("%d", "%m", year), "mdy": ("%m", "%d", year), "ymd": (year, "%m", "%d")}
    clock = time_sep.join(("%H", "%M", "%S") if seconds else ("%H", "%M"))
    return date_sep.join(fields[date_order]) + comma + space + clock


DATE_ORDERS: Final = ("dmy", "mdy", "ymd")

PM_WORDS: Final = ("pm", "p", "nachm", "下午", "晚上", "中午", "午後", "sore", "malam", "вечера")
AM_WORDS: Final = ("am", "a", "vorm", "上午", "凌晨", "早上", "午前", "pagi", "утра")


def normalise_ampm_sql(expr: str) -> str:
    """SQL turning 'p. m.', 'PM', ' pm' … into 'pm' / 'am' / '' ."""
    word = f"regexp_replace(lower({expr}), '[ .\u00a0\u202f]', '', 'g')"
    pm = ", ".join(f"'{w}'" for w in PM_WORDS)
    am = ", ".join(f"'{w}'" for w in AM_WORDS)
    return f"(CASE WHEN {word} IN ({pm}) THEN 'pm' WHEN {word} IN ({am}) THEN 'am' ELSE '' END)"


def sniff_layout(head: str) -> tuple[str | None, int]:
    """The layout most header lines of ``head`` follow, and how many matched."""
    lines = head.split("\n")[:2000]
    best: tuple[str | None, int] = (None, 0)
    for layout, pattern in HEADERS.items():
        compiled = re.compile(pattern)
        hits = sum(1 for line in lines if compiled.match(line.rstrip("\r")))
        if hits > best[1]:
            best = (layout, hits)
    return best


@dataclass
class DateEvidence:
    """Everything the file's dates say about their order, accumulated chunk by chunk."""

    lines: int = 0
    year_first: int = 0
    first_over_12: int = 0
    second_over_12: int = 0
    backwards_dmy: int = 0
    backwards_mdy: int = 0
    twelve_hour: int = 0

    def add(self, other: DateEvidence) -> None:
        self.lines += other.lines
        self.year_first += other.year_first
        self.first_over_12 += other.first_over_12
        self.second_over_12 += other.second_over_12
        self.backwards_dmy += other.backwards_dmy
        self.backwards_mdy += other.backwards_mdy
        self.twelve_hour += other.twelve_hour  # 12-hour clocks, reported in the import note

    def ambiguous(self) -> bool:
        """No date says which field is the day: only the time order can tell."""
        return self.lines > 0 and not (
            self.year_first > self.lines / 2 or self.first_over_12 or self.second_over_12
        )

    def decide(self, hint: str | None = None) -> tuple[str, str]:
        """The date order and a sentence saying how it was decided."""
        if hint is not None and hint not in DATE_ORDERS:
            raise ConfigError("--date-order", f"{hint!r} is not one of {', '.join(DATE_ORDERS)}")
        if self.year_first > self.lines / 2:
            return "ymd", "year-first: the dates start with a 4-digit year"
        if self.first_over_12 and not self.second_over_12:
            return "dmy", "day-first: the first date field exceeds 12"
        if self.second_over_12 and not self.first_over_12:
            return "mdy", "month-first: the second date field exceeds 12"
        if self.first_over_12 and self.second_over_12:
            order = "dmy" if self.first_over_12 >= self.second_over_12 else "mdy"
            bad = min(self.first_over_12, self.second_over_12)
            return order, (
                f"{'day' if order == 'dmy' else 'month'}-first by majority; "
                f"{bad} lines contradict it and are rejected"
            )
        if hint is not None:
            return hint, f"{hint}: given by --date-order (the file's dates are ambiguous)"
        if self.backwards_dmy != self.backwards_mdy:
            order = "dmy" if self.backwards_dmy < self.backwards_mdy else "mdy"
            return order, (
                f"ambiguous dates; {order} keeps them in time order "
                f"({min(self.backwards_dmy, self.backwards_mdy)} vs "
                f"{max(self.backwards_dmy, self.backwards_mdy)} backward steps)"
            )
        return (
            "dmy",
            "ambiguous dates with no evidence either way; assumed day-first "
            "(pass --date-order mdy if wrong)",
        )
