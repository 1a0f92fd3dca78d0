"""The playbook: the operator's intent in one TOML file per community (DESIGN.md §2).

``load_playbook(path)`` validates a file into a :class:`Playbook` or raises
:class:`~shequn.errors.PlaybookError` naming file, line and field;
``starting_playbook`` writes the commented template; ``clone_playbook`` copies a
proven setup onto new groups; ``playbook_schema`` is the published JSON Schema.
"""

from __future__ import annotations

import json
from importlib.resources import files
from string import Template
from typing import Any

from shequn.playbook.clone import clone_playbook
from shequn.playbook.loader import load_playbook, parse_playbook
from shequn.playbook.model import Playbook

__all__ = [
    "Playbook",
    "clone_playbook",
    "load_playbook",
    "parse_playbook",
    "playbook_schema",
    "schema_text",
    "starting_playbook",
]


def starting_playbook(
    community: str = "makers",
    platform: str = "telegram",
    group: str = "-1001234567890",
    timezone: str = "Asia/Shanghai",
) -> str:
    """The commented template, filled in for one community and group."""
    template = files("shequn.playbook").joinpath("template.toml").read_text(encoding="utf-8")
    return Template(template).substitute(
        community=community, platform=platform, group=group, timezone=timezone
    )


def playbook_schema() -> dict[str, Any]:
    """The JSON Schema of a playbook (what ``docs/playbook.schema.json`` holds)."""
    schema = Playbook.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/shequn/shequn/docs/playbook.schema.json"
    return schema


def schema_text() -> str:
    return json.dumps(playbook_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
