"""Reading a playbook file: TOML in, a validated :class:`Playbook` out, or every problem
with its file, line and field ("playbook.toml:42 rules[2].penalty[0].action: 'mutee' is
not one of warn, notice, mute, remove")."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Final, get_args

from pydantic import ValidationError

from shequn.errors import PlaybookError
from shequn.playbook.locate import dotted, line_index, line_of
from shequn.playbook.model import FieldProblem, Playbook, Rule

#: the ``kind`` values of rules, which pydantic puts into error locations
_RULE_KINDS: Final = {
    member.model_fields["kind"].annotation.__args__[0] for member in get_args(get_args(Rule)[0])
}
_TOML_AT: Final = re.compile(r"\(at line (\d+), column \d+\)")


def load_playbook(path: str | Path) -> Playbook:
    """The playbook in ``path``; :class:`PlaybookError` lists everything wrong with it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError(str(path), [(None, "", f"cannot read: {exc}")]) from None
    return parse_playbook(text, str(path))


def parse_playbook(text: str, name: str = "playbook.toml") -> Playbook:
    """Validate playbook text; ``name`` is what errors call the file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_AT.search(str(exc))
        message = _TOML_AT.sub("", str(exc)).strip()
        raise PlaybookError(
            name, [(int(found.group(1)) if found else None, "", f"not valid TOML: {message}")]
        ) from None
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        index = line_index(text)
        problems = []
        for error in exc.errors():
            location = _location(error["loc"])
            if error["type"] == "union_tag_invalid":
                location = (*location, "kind")
            problem = (error.get("ctx") or {}).get("error")
            if isinstance(problem, FieldProblem):
                location = (*location, *problem.path)
            problems.append((line_of(index, location), dotted(location), _message(error)))
        problems.sort(key=lambda p: (p[0] is None, p[0] or 0))
        raise PlaybookError(name, problems) from None


def _location(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(part, str) and part in _RULE_KINDS and i > 0 and isinstance(loc[i - 1], int):
            continue  # the union member pydantic tried, not a field
        if part == "[key]":
            continue  # a table's key that is not allowed: the key itself is the field
        out.append(part)
    return tuple(out)


def _message(error: Any) -> str:
    kind = error["type"]
    given = error.get("input")
    context = error.get("ctx") or {}
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        return f"{given!r} is not one of {', '.join(expected)}"
    if kind == "union_tag_invalid":
        tags = re.findall(r"'([^']*)'", str(context.get("expected_tags", "")))
        return f"{context.get('tag')!r} is not a rule kind ({', '.join(tags)})"
    if kind == "union_tag_not_found":
        return "a rule needs a kind (links, banned_words, flood, repeat, …)"
    if kind == "extra_forbidden":
        return "unknown field (a typo?)"
    if kind == "missing":
        return "is required"
    return str(error["msg"]).removeprefix("Value error, ")
