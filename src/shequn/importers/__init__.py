"""Importers: one module per platform behind one contract (see :mod:`.base`).

Built-in platforms are listed in :data:`BUILTIN_IMPORTERS`; third-party ones register
in the ``shequn.importers`` entry-point group; ``open_export``
asks each one whether it recognises a path, so users never have to say the format.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Final, cast

from shequn.errors import ImportFormatError
from shequn.importers.base import Batch, Importer, ImportSettings

__all__ = ["Batch", "ImportSettings", "Importer", "importer_classes", "open_export"]


#: the importers shipped with shequn, in the order they are asked to recognise a path
BUILTIN_IMPORTERS: Final = {
    "whatsapp": "shequn.importers.whatsapp:WhatsAppImporter",
    "slack": "shequn.importers.slack:SlackImporter",
    "wechat": "shequn.importers.wechat:WeChatImporter",
    "telegram": "shequn.importers.telegram:TelegramImporter",
    "discord": "shequn.importers.discord:DiscordImporter",
    "roster": "shequn.importers.roster:RosterImporter",
}


def importer_classes() -> dict[str, type[Importer]]:
    """Every installed importer by platform name (built-ins first)."""
    found: dict[str, type[Importer]] = {}
    for platform, target in BUILTIN_IMPORTERS.items():
        module, _, name = target.partition(":")
        found[platform] = cast(type[Importer], getattr(import_module(module), name))
    for entry in entry_points(group="shequn.importers"):
        if entry.name not in found:
            found[entry.name] = cast(type[Importer], entry.load())
    return found


def open_export(path: Path, platform: str | None = None) -> Importer:
    """The importer for ``path``: the named platform's, or the first that recognises it."""
    classes = importer_classes()
    if not path.exists():
        raise ImportFormatError("no such file or folder", path=path)
    if platform is not None:
        if platform not in classes:
            raise ImportFormatError(
                f"unknown platform {platform!r}; known: {', '.join(sorted(classes))}", path=path
            )
        return classes[platform](path)  # type: ignore[call-arg]
    for cls in classes.values():
        if cls.sniff(path):
            return cls(path)  # type: ignore[call-arg]
    supported = "(supported: " + ", ".join(sorted(classes)) + ")"
    for cls in classes.values():
        # an importer may say why a file that looks like its platform's is not read
        explain = getattr(cls, "refusal", None)
        why = explain(path) if callable(explain) else None
        if why:
            raise ImportFormatError(why, path=path)
    raise ImportFormatError(f"is not a chat export shequn recognises {supported}", path=path)
