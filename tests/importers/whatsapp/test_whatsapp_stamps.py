"""Stamps read with the file's plain format give what splitting them gives.

The parser reads a stamp with one ``strptime`` format (the first stamp's, when it is a
plain 24-hour one) and splits only the stamps that format does not read; the two paths
must agree on every stamp a WhatsApp header can hold, valid or not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shequn.importers.base import ImportSettings
from shequn.importers.whatsapp import WhatsAppImporter
from shequn.importers.whatsapp import parser as whatsapp_parser
from shequn.importers.whatsapp.layout import plain_stamp_format


@pytest.mark.parametrize(
    ("stamp", "order", "expected"),
    [
        ("31/12/23, 21:05", "dmy", "%d/%m/%y, %H:%M"),
        ("12/31/2023, 21:05", "mdy", "%m/%d/%Y, %H:%M"),
        ("31.12.23, 21:05:09", "dmy", "%d.%m.%y, %H:%M:%S"),
        ("2023-12-31 21.05", "ymd", "%Y-%m-%d %H.%M"),
        ("1/2/24,\u202f9:05", "mdy", "%m/%d/%y,\u202f%H:%M"),
        ("12/31/23, 9:05 PM", "mdy", None),  # a word after the time
        ("2023/12/31 下午9:05", "ymd", None),  # a word before it
        ("31/12-23, 21:05", "dmy", None),  # two separators
    ],
)
def test_plain_stamp_format(stamp: str, order: str, expected: str | None) -> None:
    assert plain_stamp_format(stamp, order) == expected


def _rows(path: Path) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    importer = WhatsAppImporter(path)
    rows: list[dict[str, Any]] = []
    rejects: list[tuple[int, str]] = []
    for batch in importer.batches(ImportSettings(timezone="Europe/Berlin", commit_every=7)):
        rows.extend(batch.events.select(["key", "ts", "ts_raw", "source_line"]).to_pylist())
        rejects.extend((r.line, r.reason) for r in batch.rejects)
    rows.sort(key=lambda r: (r["source_line"], r["key"]))
    return rows, sorted(rejects)


_day = st.one_of(st.integers(1, 31), st.sampled_from([0, 32])).map(str)
_month = st.one_of(st.integers(1, 12), st.sampled_from([0, 13]))
_year = st.one_of(
    st.integers(0, 99).map(lambda n: f"{n:02d}"),  # two-digit: 69 is 2069 to WhatsApp
    st.sampled_from(["1999", "2000", "2023", "2068", "2069", "2100", "123", "7"]),
)
_line = st.tuples(
    _day, _month, _year, st.integers(0, 25), st.integers(0, 61), st.booleans(),
    st.sampled_from(["", "", "", " PM", " am"]), st.booleans(),
)  # fmt: skip


@settings(max_examples=30, deadline=None)
# a two-digit year past 68: 2069 to WhatsApp, 1969 to strptime's %y
@example("dmy", "/", ",", False, False, [("1", 2, "69", 10, 0, False, "", False)])
# 12-hour and seconds where the family has none; an impossible hour and day
@example(
    "mdy",
    ".",
    "",
    True,
    True,
    [("5", 3, "24", 9, 5, False, " PM", True), ("32", 3, "24", 24, 0, True, "", False)],
)
@given(
    order=st.sampled_from(["dmy", "mdy", "ymd"]),
    sep=st.sampled_from(["/", ".", "-"]),
    comma=st.sampled_from([",", ""]),
    seconds=st.booleans(),
    ios=st.booleans(),
    lines=st.lists(_line, min_size=1, max_size=30),
)
def test_the_plain_format_reads_what_the_split_reads(
    tmp_path_factory: pytest.TempPathFactory,
    order: str,
    sep: str,
    comma: str,
    seconds: bool,
    ios: bool,
    lines: list[tuple[str, int, str, int, int, bool, str, bool]],
) -> None:
    """Stamps of one family (date order, separators, seconds or not), most plain and
    valid, some with impossible fields, 12-hour words or another writing of the month,
    read both ways: the same events (key, time, stamp, line) and the same rejects."""
    written = []
    first = ("31", 12, "23", 21, 5, seconds, "", False)
    for n, (day, month, year, hour, minute, with_seconds, word, padded) in enumerate(
        [first, *lines]
    ):
        fields = {"d": day, "m": f"{month:02d}" if padded else str(month), "y": year}
        clock = f"{hour}:{minute:02d}" + (f":{minute % 60:02d}" if with_seconds else "")
        stamp = sep.join(fields[f] for f in order) + f"{comma} {clock}{word}"
        written.append(f"[{stamp}] Ann: hi {n}" if ios else f"{stamp} - Ann: hi {n}")
    path = tmp_path_factory.mktemp("stamps") / "WhatsApp Chat with Stamps.txt"
    path.write_text("\n".join(written) + "\n", encoding="utf-8")
    formats: list[str | None] = []

    def recorded(stamp: str, decided: str) -> str | None:
        formats.append(plain_stamp_format(stamp, decided))
        return formats[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(whatsapp_parser, "plain_stamp_format", recorded)
        fast = _rows(path)
    assert formats and formats[0] is not None  # the first stamp is plain: the format reads
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(whatsapp_parser, "plain_stamp_format", lambda stamp, decided: None)
        split = _rows(path)
    assert fast == split
