"""Synthetic communities written as real platform exports, with their ground truth.

``simulate_export`` builds a seeded community (:mod:`.community`, platform-neutral),
writes it in one platform's export layout (:mod:`.whatsapp`) and writes what an
importer must recover from it (:mod:`.truth`): ``truth.json`` and
``truth_events.parquet``. The same seed and options give byte-identical files.

Example::

    summary = simulate_export(members=300, messages=20_000, days=120, seed=7, out=Path("x"))
    summary.export_path  # x/WhatsApp Chat with Founders Friday.txt
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shequn.errors import ConfigError
from shequn.simulate.community import CommunityConfig, build_community
from shequn.simulate.truth import TruthWriter, event_counts, truth_document, write_truth_json
from shequn.simulate.writer import WRITERS, writer_class

__all__ = ["FORMATS", "SimulationSummary", "simulate_export"]

#: formats with a writer (see :mod:`.writer`)
FORMATS: tuple[str, ...] = tuple(WRITERS)
TRUTH_JSON = "truth.json"
TRUTH_EVENTS = "truth_events.parquet"


@dataclass(frozen=True)
class SimulationSummary:
    """What :func:`simulate_export` wrote and what it contains."""

    out: Path
    #: the file an importer reads: the chat ``.txt`` or the ``.zip``
    export_path: Path
    #: the chat text's name (inside the zip when zipped)
    chat_file: str
    truth_path: Path
    events_path: Path
    #: media files inside the zip
    media_files: tuple[str, ...]
    group_name: str
    exporter: str
    members: int
    messages: int
    system_lines: int
    lines: int
    joins: int
    leaves: int
    removals: int
    deleted: int
    media_omitted: int
    attachments: int
    events: int
    #: size of the chat text in bytes (before zipping)
    text_bytes: int

    def __str__(self) -> str:
        return (
            f"{self.export_path} ({self.messages} messages, {self.system_lines} system lines, "
            f"{self.members} members, {self.lines} lines) + {self.truth_path.name}, "
            f"{self.events_path.name} ({self.events} events)"
        )

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written."""
        return (self.export_path, self.truth_path, self.events_path)


def simulate_export(
    *,
    format: str = "whatsapp",
    variant: str = "",
    members: int = 300,
    messages: int = 20_000,
    days: int = 90,
    seed: int = 0,
    out: Path | str,
    timezone: str = "Asia/Shanghai",
    language: str = "en",
    layout: str = "android",
    clock: str = "24h",
    date_order: str = "dmy",
    crlf: bool = False,
    bom: bool = False,
    zip: bool = False,
    start: str | date = "2024-01-01",
) -> SimulationSummary:
    """Simulate a group and write its export plus ``truth.json`` and ``truth_events.parquet``.

    Raises :class:`~shequn.errors.ConfigError` naming the option for a bad value. Every
    quirk (multi-line posts, deleted and media lines, bidi and ``~`` names, out-of-order
    times, …) is guaranteed from about ``messages=2000`` and ``members=20``.
    """
    if format not in FORMATS:
        raise ConfigError("format", f"{format!r} has no simulator yet (have: {', '.join(FORMATS)})")
    if members < 10:
        raise ConfigError("members", "a simulated group needs at least 10 members")
    if messages < 0:
        raise ConfigError("messages", "must be 0 or more")
    if days < 1:
        raise ConfigError("days", "must be 1 or more")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError("timezone", f"unknown time zone {timezone!r}") from exc
    try:
        start_date = start if isinstance(start, date) else date.fromisoformat(start)
    except ValueError as exc:
        raise ConfigError("start", f"{start!r} is not a date like 2024-01-01") from exc
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    community = build_community(
        CommunityConfig(members, messages, days, seed, start_date, timezone)
    )
    options = {
        "variant": variant,
        "layout": layout,
        "clock": clock,
        "date_order": date_order,
        "language": language,
        "crlf": crlf,
        "bom": bom,
        "zip": zip,
    }
    writer = writer_class(format)(community, options)
    events_path = folder / TRUTH_EVENTS
    with TruthWriter(events_path) as truth:
        result = writer.write(folder, truth)
    counts = event_counts(truth, result.line_counts)
    document = truth_document(
        community,
        platform=format,
        group_name=result.group_name,
        exporter_name=result.exporter_name,
        export=result.export,
        member_ids=result.member_ids,
        member_all_ids=result.member_all_ids,
        member_names=result.member_names,
        replies_received=result.replies_received,
        counts=counts,
        resolution=result.resolution,
    )
    truth_path = folder / TRUTH_JSON
    write_truth_json(truth_path, document)
    return SimulationSummary(
        out=folder,
        export_path=result.export_path,
        chat_file=result.chat_file,
        truth_path=truth_path,
        events_path=events_path,
        media_files=result.media_files,
        group_name=result.group_name,
        exporter=result.exporter_name,
        members=members,
        messages=counts["messages"],
        system_lines=counts["system_lines"],
        lines=counts["lines"],
        joins=counts["joins"],
        leaves=counts["leaves"],
        removals=counts["removals"],
        deleted=counts["deleted"],
        media_omitted=counts["media_omitted"],
        attachments=counts["attachments"],
        events=counts["events"],
        text_bytes=result.text_bytes,
    )
