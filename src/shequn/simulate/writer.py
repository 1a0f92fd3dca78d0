"""What every platform's export writer provides, and where the writers are listed.

A writer turns one platform-neutral :class:`~shequn.simulate.community.Community` into
one platform's export, in the layout the platform (or its common exporter) really
writes, and streams the events an importer must recover into a
:class:`~shequn.simulate.truth.TruthWriter`. ``simulate_export`` does the rest
(truth.json, the summary), so adding a platform is adding a writer module and one
line to :data:`WRITERS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from shequn.simulate.community import Community
from shequn.simulate.truth import TruthWriter


@dataclass(frozen=True)
class ExportResult:
    """What a writer produced and counted."""

    #: the path an importer is given: a file, a folder or a zip
    export_path: Path
    group_name: str
    exporter_name: str
    #: per member: primary identity, every identity written, every name form written
    member_ids: tuple[str, ...]
    member_all_ids: tuple[tuple[str, ...], ...]
    member_names: tuple[tuple[str, ...], ...]
    #: how the export was written, for truth.json's "export" object
    export: dict[str, Any]
    #: counts the truth rows cannot give (lines, media omitted …), see ``event_counts``
    line_counts: dict[str, int] = field(default_factory=dict)
    replies_received: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    #: the export's time step in seconds (60 where it writes no seconds)
    resolution: int = 1
    #: bytes of the export's main text or JSON, before zipping
    text_bytes: int = 0
    #: the main chat file's name (inside the zip or folder)
    chat_file: str = ""
    media_files: tuple[str, ...] = ()


class ExportWriter(Protocol):
    """``Writer(community, options).write(out, truth) -> ExportResult``."""

    def __init__(self, community: Community, options: Mapping[str, Any]) -> None: ...

    def write(self, out: Path, truth: TruthWriter) -> ExportResult: ...


#: format name → "module:Class" of its writer
WRITERS: Final = {
    "whatsapp": "shequn.simulate.whatsapp:WhatsAppExportWriter",
    "slack": "shequn.simulate.slack:SlackExportWriter",
    "telegram": "shequn.simulate.telegram:TelegramExportWriter",
    "wechat": "shequn.simulate.wechat:WeChatExportWriter",
    "discord": "shequn.simulate.discord:DiscordExportWriter",
}


def writer_class(format: str) -> type[ExportWriter]:
    """The writer class registered for ``format`` (KeyError if none)."""
    module, _, name = WRITERS[format].partition(":")
    cls: type[ExportWriter] = getattr(import_module(module), name)
    return cls
