"""Local times to UTC an hour at a time give what DuckDB's ``timezone()`` gives each time.

The parser shifts a local time by its hour's offset and converts the times of an hour
holding a zone transition one by one (:class:`~shequn.importers.whatsapp.parser.UtcClock`);
every time must come out as ``timezone()`` reads it, the skipped and repeated times of a
DST change included.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from shequn.importers.base import ImportSettings
from shequn.importers.whatsapp import WhatsAppImporter
from shequn.importers.whatsapp.parser import UtcClock

_SECOND = 1_000_000


def _micros(day: str) -> int:
    return int(np.datetime64(day, "us").astype(np.int64))


def _per_time(con: duckdb.DuckDBPyConnection, zone: str, local: pa.ChunkedArray) -> pa.Array:
    con.register("local_times", pa.table({"t": local}))
    found = con.sql(f"SELECT timezone('{zone}', t)::TIMESTAMP AS u FROM local_times")
    return found.to_arrow_table().column("u").combine_chunks()


@pytest.mark.parametrize(
    ("zone", "days"),
    [
        ("Europe/Berlin", ["2023-03-26", "2023-10-29"]),  # 02:00-03:00 skipped, repeated
        ("Australia/Lord_Howe", ["2023-04-02", "2023-10-01"]),  # half-hour DST changes
        ("America/St_Johns", ["2023-03-12", "2023-11-05"]),  # a -03:30 zone
        ("Asia/Shanghai", ["1901-01-01", "1940-06-01"]),  # LMT +08:05:43, old DST
    ],
)
def test_every_second_of_a_transition_day(zone: str, days: list[str]) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    clock = UtcClock(con, zone)
    for day in days:
        start = _micros(day) - 86_400 * _SECOND
        values = np.arange(start, start + 3 * 86_400 * _SECOND, _SECOND)
        local = pa.chunked_array([pa.array(values, pa.int64()).cast(pa.timestamp("us"))])
        assert clock(local).equals(_per_time(con, zone, local))


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Pacific/Chatham", "America/Sao_Paulo"])
def test_times_in_any_order_years_and_nulls(zone: str) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    clock = UtcClock(con, zone)
    draw = np.random.default_rng(3)
    seconds = draw.integers(_micros("1800-01-01"), _micros("2200-01-01"), 30_000) // _SECOND
    for values in (np.sort(seconds), seconds):  # forward, as exports run, and shuffled
        missing = draw.random(len(values)) < 0.01
        times = pa.array(values * _SECOND, pa.int64(), mask=missing).cast(pa.timestamp("us"))
        local = pa.chunked_array([times[:10_000], times[10_000:]])
        assert clock(local).equals(_per_time(con, zone, local))
    empty = pa.chunked_array([], pa.timestamp("us"))
    assert clock(empty).equals(pa.array([], pa.timestamp("us")))


def test_an_export_across_dst_reads_skipped_and_repeated_times_as_before(tmp_path: Path) -> None:
    lines = [
        "25/03/23, 23:59 - Ann: before",
        "26/03/23, 01:59 - Ann: last winter minute",
        "26/03/23, 02:30 - Ann: a time the clocks skipped",
        "26/03/23, 03:00 - Ann: summer",
        "29/10/23, 01:59 - Ann: summer still",
        "29/10/23, 02:30 - Ann: written twice that night",
        "29/10/23, 03:00 - Ann: winter",
    ]
    export = tmp_path / "WhatsApp Chat with DST.txt"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = ImportSettings(timezone="Europe/Berlin", commit_every=3)
    events = [e for b in WhatsAppImporter(export).batches(settings) for e in b.events.to_pylist()]
    assert [e["ts"] for e in sorted(events, key=lambda e: e["source_line"])] == [
        datetime(2023, 3, 25, 22, 59),
        datetime(2023, 3, 26, 0, 59),
        datetime(2023, 3, 26, 1, 30),  # read with the winter offset
        datetime(2023, 3, 26, 1, 0),
        datetime(2023, 10, 28, 23, 59),
        datetime(2023, 10, 29, 1, 30),  # the later of its two readings (decision 0003)
        datetime(2023, 10, 29, 2, 0),
    ]
