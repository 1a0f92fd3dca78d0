"""Helpers for the simulator tests: simulate a group and read every output back."""

from __future__ import annotations

import itertools
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from shequn.simulate import SimulationSummary, simulate_export

#: the group the realism tests measure
GROUP = {"members": 300, "messages": 20_000, "days": 120, "seed": 7}


@dataclass
class Sim:
    """A simulated export, read back: its text, truth.json and truth rows."""

    summary: SimulationSummary
    raw: bytes
    text: str
    lines: list[str]
    truth: dict[str, Any]
    rows: list[dict[str, Any]]
    options: dict[str, Any]

    @property
    def posted(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["kind"] == "message_posted"]

    def role_of(self) -> dict[str, str]:
        """Every identity a member was written as → their role."""
        return {i: m["role"] for m in self.truth["members"] for i in m["ids"]}

    def header(self) -> re.Pattern[str]:
        """The header of a message or system line in this export's layout."""
        ios = self.options.get("layout") == "ios"
        date = r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}"
        clock = r"\d{1,2}:\d{2}" + (r":\d{2}" if ios else "") + r"(?:[ \u202f][AP]M)?"
        if ios:
            return re.compile(rf"^\u200e?\[{date}, {clock}\] ")
        return re.compile(rf"^{date}, {clock} - ")


def simulate(out: Path, **options: Any) -> Sim:
    summary = simulate_export(out=out, **options)
    path = summary.export_path
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            raw = zf.read(summary.chat_file)
    else:
        raw = path.read_bytes()
    text = raw.decode("utf-8").removeprefix("\ufeff")
    eol = "\r\n" if options.get("crlf") else "\n"
    lines = text.split(eol)
    assert lines[-1] == ""
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    rows = pq.read_table(summary.events_path).to_pylist()
    return Sim(summary, raw, text, lines[:-1], truth, rows, options)


SYSTEM_KINDS = (
    "system_notice",
    "group_created",
    "member_joined",
    "member_left",
    "member_removed",
    "group_renamed",
    "group_description_changed",
    "group_icon_changed",
    "member_number_changed",
    "security_notice",
)


def missing_quirks(sim: Sim) -> list[str]:
    """The required quirks an export lacks (empty when every one is there)."""
    header = sim.header()
    text = sim.text
    kinds = Counter(r["kind"] for r in sim.rows)
    joins = Counter(r["line"] for r in sim.rows if r["kind"] == "member_joined")
    continuation = [line for line in sim.lines if not header.match(line)]
    authors = Counter(
        line[m.end() :].split(": ", 1)[0]
        for line in sim.lines
        if (m := header.match(line)) and ": " in line[m.end() :]
    )
    me = sim.truth["exporter"]["id"]
    stamps = [r["ts_utc"] for r in sim.posted]
    checks = {
        "encryption notice first": sim.rows[0]["kind"] == "system_notice",
        "creation second": sim.rows[1]["kind"] == "group_created",
        "multi-line message": any(r["text"] and "\n" in r["text"] for r in sim.posted),
        "date-like continuation": any(re.match(r"^\d{1,4}/\d{1,2}", c) for c in continuation),
        "media omitted": sim.truth["counts"]["media_omitted"] > 0,
        "attachment": "(file attached)" in text or "\u200e<attached: " in text,
        "deleted (others)": "This message was deleted" in text,
        "deleted (you)": "You deleted this message" in text,
        "every system kind": all(kinds[k] for k in SYSTEM_KINDS),
        "several added in one line": max(joins.values()) >= 2,
        "name with ': '": "Dr: Who: " in text,
        "phone number in bidi marks": any(a.startswith("\u202a+") for a in authors),
        "'~ ' used inconsistently": authors["~ Maria"] > 0 and authors["Maria"] > 0,
        "out-of-order timestamp": any(b < a for a, b in itertools.pairwise(stamps)),
        "emoji": "🎉" in text,
        "Chinese": "谢谢" in text or "今天" in text,
        "URL": "https://" in text,
        "@mention": any(r["mentions"] for r in sim.posted),
        "hostile": "<script>alert(1)</script>" in text,
        "same minute, same author, same text": any(
            a == b and a.endswith(": ok") for a, b in itertools.pairwise(sim.lines)
        ),
        "you (member)": any(r["member"] == me and r["member_name"] is None for r in sim.rows),
        "you (actor)": any(r["by_member"] == me for r in sim.rows),
    }
    return [name for name, ok in checks.items() if not ok]
