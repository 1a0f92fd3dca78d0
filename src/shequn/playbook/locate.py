"""Which line of a TOML file holds a field, so errors can say ``playbook.toml:42``.

``tomllib`` gives values without positions, so the text is scanned once: table
headers (``[screening]``, ``[[rules]]``, ``[[rules.penalty]]`` — array entries
counted per parent) and ``key = value`` lines give each path its line. Fields inside
an array written one entry per line (a penalty ladder) resolve to their entry's line;
other inline values to the line of their key; a path the scan cannot place resolves
to its nearest placed parent.
"""

from __future__ import annotations

import re
from typing import Final

Path = tuple[str | int, ...]

_HEADER: Final = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY: Final = re.compile(
    r'^\s*((?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+))*)\s*='
)
_MULTILINE: Final = re.compile(r'("""|\'\'\')')
_INLINE_KEY: Final = re.compile(r"[{,]\s*([A-Za-z0-9_-]+)\s*=")


def _parts(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', dotted)]


def line_index(text: str) -> dict[Path, int]:
    """Every path the scan can place, with its 1-based line."""
    lines: dict[Path, int] = {}
    counts: dict[Path, int] = {}
    table: Path = ()
    in_string: str | None = None
    #: a multi-line array being read, and how many of its entries were seen
    array: Path | None = None
    entries = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            keys = _parts(header.group(2))
            path: Path = ()
            for i, name in enumerate(keys):
                path = (*_resolve(path, counts), name)
                if i == len(keys) - 1 and header.group(1) == "[[":
                    counts[path] = counts.get(path, -1) + 1
                    lines.setdefault(path, number)
                    path = (*path, counts[path])
            lines[path] = number
            table = path
            continue
        if array is not None:
            stripped = line.strip()
            if stripped.startswith("]"):
                array = None
            elif stripped.startswith("{"):
                element = (*array, entries)
                entries += 1
                lines.setdefault(element, number)
                for inner in _INLINE_KEY.findall(stripped):
                    lines.setdefault((*element, inner), number)
            continue
        assignment = _KEY.match(line)
        if assignment:
            path = (*table, *_parts(assignment.group(1)))
            lines.setdefault(path, number)
            rest = line[assignment.end() :].split("#")[0].strip()
            if rest == "[":
                array, entries = path, 0
            quotes = _MULTILINE.findall(line)
            if len(quotes) % 2 == 1:
                in_string = quotes[-1]
    return lines


def _resolve(path: Path, counts: dict[Path, int]) -> Path:
    """A header inside an array of tables refers to its latest entry."""
    return (*path, counts[path]) if path in counts else path


def line_of(index: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, or of its nearest placed parent."""
    for end in range(len(path), 0, -1):
        if path[:end] in index:
            return index[path[:end]]
    return None


def dotted(path: Path) -> str:
    """``("rules", 2, "penalty")`` → ``rules[2].penalty``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
