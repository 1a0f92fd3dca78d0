"""Text from the chats made safe to print on a terminal.

Names, group titles, file names and messages come from other people: a terminal escape
in one (``ESC [2J`` clears the screen, ``ESC ]0;…`` retitles the window, U+009B is an
8-bit CSI) or a bidi override (U+202E reverses what follows) would drive the operator's
terminal instead of being read. Every such character is written out instead.
"""

from __future__ import annotations

import re
from typing import Final

#: characters that drive a terminal or reorder what it shows: C0 and C1 controls, DEL, the
#: bidirectional embeddings, overrides and isolates (a newline too: one in a name could
#: forge a line of output)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character written out (``\\x1b``, ``\\u202e``)."""
    return _CONTROL.sub(_written_out, text)


def _written_out(found: re.Match[str]) -> str:
    code = ord(found[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
