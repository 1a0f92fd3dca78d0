"""Which text encoding a CSV is in: exporters write UTF-8, Excel re-saves it as GBK.

WeChatMsg writes ``utf-8-sig`` (a BOM), PyWxDump plain UTF-8; a file opened and saved
again in a Chinese Excel is GBK (really GB18030's subset) without any marker. The order
of evidence: a byte-order mark, then strict UTF-8 over the first bytes, then
charset-normalizer's best guess, where every GB encoding is read as GB18030 (their
superset). Only the last step is a guess, and :class:`Encoding` says so.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Final

from charset_normalizer import from_bytes

#: bytes read to decide
SAMPLE_BYTES: Final = 256 << 10

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_GB: Final = frozenset({"gb2312", "gbk", "gb18030", "hz", "cp936"})


@dataclass(frozen=True)
class Encoding:
    """A codec name, whether it was guessed, and how to treat bad bytes."""

    name: str
    guessed: bool = False

    @property
    def errors(self) -> str:
        """Guessed encodings replace undecodable bytes instead of stopping the import."""
        return "replace" if self.guessed else "strict"

    @property
    def label(self) -> str:
        return {"utf-8-sig": "UTF-8 with BOM", "gb18030": "GB18030/GBK"}.get(
            self.name, self.name.upper()
        )


def detect(sample: bytes, *, complete: bool = False) -> Encoding:
    """The encoding of a file whose first bytes are ``sample`` (all of it if ``complete``)."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return Encoding(name)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return Encoding("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample).best()
    name = best.encoding.lower().replace("_", "") if best is not None else "gb18030"
    if name in _GB or best is None:
        return Encoding("gb18030", guessed=True)
    return Encoding(codecs.lookup(best.encoding).name, guessed=True)
