"""Who a name in a system line is: WeChat's system lines name people, not wxids.

"\"Alice\"邀请\"Bob、Carol\"加入了群聊" carries display names only. The same export's
messages pair every poster's wxid (``Sender``) with their names (``NickName``,
``Remark``), so a name seen with exactly one wxid resolves to it. A name seen with
two wxids, or never seen (a member who never posted), falls back to
:func:`shequn.identity.identity_of` of the name, which is stable across imports.
"""

from __future__ import annotations

from typing import Final

from shequn.identity import identity_of

#: how exports say "the exporter" in system lines
YOU: Final = "\x00you"


class NameBook:
    """Names seen in one chat → the wxids written with them."""

    def __init__(self) -> None:
        self._ids: dict[str, set[str]] = {}
        self.exporter: str | None = None
        self.senders: set[str] = set()
        #: wxid → the name to show (PyWxDump rows carry no names)
        self.display: dict[str, str] = {}
        self._names: dict[str, set[str]] = {}

    def add(self, wxid: str, *names: str) -> None:
        """Record that ``wxid`` was written with each of ``names``."""
        if not wxid:
            return
        for name in {wxid, *names}:
            key = name.strip()
            if key:
                self._ids.setdefault(key, set()).add(wxid)
                self._names.setdefault(wxid, set()).add(key)

    def names_of(self, wxid: str) -> list[str]:
        """Every name written with ``wxid`` (sorted), the wxid itself included."""
        return sorted(self._names.get(wxid, {wxid}))

    def knows(self, name: str) -> bool:
        return name.strip() in self._ids

    def resolve(self, name: str, extra: dict[str, str] | None = None) -> str:
        """The wxid a name stands for where unambiguous, else ``identity_of(name)``."""
        if name == YOU:
            return self.exporter or "你"
        key = name.strip()
        if extra and key in extra:
            return extra[key]
        ids = self._ids.get(key)
        if ids is not None and len(ids) == 1:
            return next(iter(ids))
        return identity_of(key)

    def ambiguous(self) -> list[str]:
        """Names written with more than one wxid (they resolve to the name)."""
        return sorted(n for n, ids in self._ids.items() if len(ids) > 1)

    def split(self, text: str, separators: tuple[str, ...] = ("、",)) -> list[str]:
        """Split a name list, keeping known names that contain a separator whole.

        "卓桓、Zhuohuan、Bob" is three names unless "卓桓、Zhuohuan" is a name this chat
        knows; the longest known run wins, unknown pieces stand alone.
        """
        parts: list[str] = [text]
        seps: list[str] = []
        for sep in separators:
            new_parts: list[str] = []
            new_seps: list[str] = []
            for i, part in enumerate(parts):
                pieces = part.split(sep)
                new_parts.extend(pieces)
                new_seps.extend([sep] * (len(pieces) - 1))
                if i < len(seps):
                    new_seps.append(seps[i])
            parts, seps = new_parts, new_seps
        out: list[str] = []
        i = 0
        while i < len(parts):
            take = 1
            for j in range(len(parts), i + 1, -1):
                joined = parts[i]
                for k in range(i + 1, j):
                    joined += seps[k - 1] + parts[k]
                if self.knows(joined):
                    take = j - i
                    break
            joined = parts[i]
            for k in range(i + 1, i + take):
                joined += seps[k - 1] + parts[k]
            out.append(joined.strip())
            i += take
        return [name for name in out if name]
