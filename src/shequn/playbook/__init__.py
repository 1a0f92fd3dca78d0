"""The playbook: the operator's intent in one TOML file per community (DESIGN.md §2).

``load_playbook(path)`` validates a file into a :class:`Playbook` or raises
:class:`~shequn.errors.PlaybookError` naming file, line and field;
``starting_playbook`` writes the commented template; ``clone_playbook`` copies a
proven setup onto new groups; ``playbook_schema`` is the published JSON Schema.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from string import Template
from typing import Any, Final

from shequn.playbook.clone import clone_playbook
from shequn.playbook.loader import load_playbook, parse_playbook
from shequn.playbook.model import Playbook

__all__ = [
    "Playbook",
    "StartingGroup",
    "clone_playbook",
    "load_playbook",
    "parse_playbook",
    "playbook_schema",
    "schema_text",
    "starting_playbook",
]


#: platforms where nothing can ask a newcomer screening questions before they post
UNSCREENABLE: Final = frozenset({"whatsapp"})
SCREENING_OFF_NOTE: Final = (
    "# Off: WhatsApp groups have no bot that could ask a newcomer these questions\n"
    "# (use the app's own join approval); turn it on for groups on other platforms.\n"
)


@dataclass(frozen=True)
class StartingGroup:
    """A group the starting playbook runs (from the store, or given on the command line)."""

    platform: str
    id: str
    name: str
    timezone: str


def starting_playbook(
    community: str = "makers",
    platform: str = "telegram",
    group: str = "-1001234567890",
    timezone: str = "Asia/Shanghai",
    *,
    groups: Sequence[StartingGroup] = (),
    cap: int = 500,
) -> str:
    """The commented template, filled in for a community and its groups.

    ``groups`` (e.g. the community's groups as the store holds them) replace the one
    group given by ``platform``, ``group`` and ``timezone``.
    """
    chosen = list(groups) or [StartingGroup(platform, group, group, timezone)]
    blocks = "\n".join(
        "[[groups]]\n"
        f"platform = {_toml(g.platform)}\n"
        f"id = {_toml(g.id)}\n"
        f"name = {_toml(g.name)}\n"
        f"cap = {cap}\n"
        f"timezone = {_toml(g.timezone)}\n"
        for g in chosen
    )
    # WhatsApp groups have no bot that could ask a newcomer questions before they post
    askable = any(g.platform not in UNSCREENABLE for g in chosen)
    note = "" if askable else SCREENING_OFF_NOTE
    template = files("shequn.playbook").joinpath("template.toml").read_text(encoding="utf-8")
    return Template(template).substitute(
        community=community,
        platform=chosen[0].platform,
        groups=blocks,
        screening="true" if askable else "false",
        screening_note=note,
    )


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def playbook_schema() -> dict[str, Any]:
    """The JSON Schema of a playbook (what ``docs/playbook.schema.json`` holds)."""
    schema = Playbook.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/shequn/shequn/docs/playbook.schema.json"
    return schema


def schema_text() -> str:
    return json.dumps(playbook_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
