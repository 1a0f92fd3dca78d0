"""Replicating a proven group (复制): the same playbook, onto new groups.

The source file is edited, not regenerated, so its comments and layout survive; only
the ``groups`` (and, if asked, the ``community``) change. Each new group takes the
size cap and timezone of the source's first group unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import tomlkit

from shequn.errors import ConfigError
from shequn.playbook.loader import parse_playbook

_TRIVIA = (tomlkit.items.Comment, tomlkit.items.Whitespace)


def clone_playbook(
    text: str,
    groups: Sequence[str],
    *,
    community: str | None = None,
    name: str = "playbook.toml",
) -> str:
    """``text`` with its groups replaced by ``groups`` (each ``platform:id``)."""
    source = parse_playbook(text, name)
    if not groups:
        raise ConfigError("--group", "name at least one new group as platform:id")
    first = source.groups[0]
    document = tomlkit.parse(text)
    # the comments and blank lines after the last group's fields (what introduces the
    # next table) belong to that group's table in tomlkit: carry them over
    old_groups = document.get("groups")
    trailing: list[tomlkit.items.Item] = []
    if isinstance(old_groups, tomlkit.items.AoT) and len(old_groups):
        body = old_groups[-1].value.body
        while body and body[-1][0] is None and isinstance(body[-1][1], _TRIVIA):
            trailing.insert(0, body.pop()[1])
    new_groups = tomlkit.aot()
    for ref in groups:
        platform, sep, group_id = ref.partition(":")
        if not sep or not group_id:
            raise ConfigError("--group", f"{ref!r} is not platform:id (e.g. telegram:-1001234)")
        table = tomlkit.table()
        table.add("platform", platform)
        table.add("id", group_id)
        table.add("name", group_id)
        if first.cap is not None:
            table.add("cap", first.cap)
        table.add("timezone", first.timezone)
        new_groups.append(table)
    for item in trailing:
        new_groups[-1].append(None, item)
    document["groups"] = new_groups
    if community is not None:
        document["community"] = community
    cloned = tomlkit.dumps(document)
    parse_playbook(cloned, name)  # the copy must be as valid as its source
    return cloned
