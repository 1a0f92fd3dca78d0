"""Text from the chats made safe to print on a terminal.

Names, group titles, file names and messages come from other people: a terminal escape
in one (``ESC [2J`` clears the screen, ``ESC ]0;…`` retitles the window, U+009B is an
8-bit CSI) or a bidi override (U+202E reverses what follows) would drive the operator's
terminal instead of being read. Every such character is written out instead.

JSON output (``--json``) is read by scripts and by eyes on a terminal alike: there the
same characters are written as JSON escapes (``\u202e``), which every JSON reader turns
back into the character — the document means the same, the terminal stays the operator's.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

#: DEL, the C1 controls, the bidirectional embeddings, overrides and isolates: what
#: drives a terminal or reorders what it shows, beside the C0 controls
_BEYOND_C0: Final = r"\x7f-\x9f\u202a-\u202e\u2066-\u2069"
#: characters that drive a terminal or reorder what it shows: C0 controls and the rest
#: (a newline too: one in a name could forge a line of output)
_CONTROL: Final = re.compile(rf"[\x00-\x1f{_BEYOND_C0}]")


def printable(text: str) -> str:
    """``text`` with every control character written out (``\\x1b``, ``\\u202e``)."""
    return _CONTROL.sub(_written_out, text)


def _written_out(found: re.Match[str]) -> str:
    code = ord(found[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


#: what ``json.dumps(..., ensure_ascii=False)`` leaves raw of :data:`_CONTROL` (it escapes
#: the C0 controls itself), and the line and paragraph separators some viewers break on
_JSON_RAW: Final = re.compile(rf"[{_BEYOND_C0}\u2028\u2029]")


def json_text(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **options)`` made safe for a terminal."""
    return json_safe(json.dumps(value, ensure_ascii=False, **options))


def json_safe(text: str) -> str:
    """JSON text with the characters of :data:`_JSON_RAW` written as ``\\uXXXX`` escapes
    (they can only stand inside its strings, where an escape means the same)."""
    return _JSON_RAW.sub(_json_escape, text)


def _json_escape(found: re.Match[str]) -> str:
    return f"\\u{ord(found[0]):04x}"
