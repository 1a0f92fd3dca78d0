"""Small SQL-text helpers shared by the WhatsApp parser and survey."""

from __future__ import annotations

from typing import Final

#: marks that may precede a line's timestamp (LRM, RLM, BOM)
LEAD_CHARS: Final = "\u200e\u200f\ufeff"
LRM: Final = "\u200e"


def sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def escape_re(text: str) -> str:
    """``text`` as a literal inside an RE2 pattern inside a SQL string literal."""
    escaped = "".join("\\" + ch if ch in r".^$*+?()[]{}|\-" else ch for ch in text)
    return escaped.replace("'", "''")
